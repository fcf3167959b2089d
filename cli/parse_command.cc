// `veto parse`: print the normalised form of messages as JSON.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/input.h"
#include "core/message_json.h"
#include "email/parser.h"

namespace veto::cli {
namespace {

constexpr char kUsage[] =
    "usage: veto parse [--compact] [--full] [--decoded] PATH...\n"
    "\n"
    "Prints each message as veto normalises it, as JSON: headers (raw and decoded), the MIME\n"
    "part tree, body (what `body` rules match, Subject first), body_elements, the normalised\n"
    "body, rawbody_elements, URIs and flags (anomalies and limits hit).\n"
    "\n"
    "PATH is a file, a directory (read recursively), a tar archive (.tar, .tar.gz, .tgz) of\n"
    "messages, or - for standard input.\n"
    "\n"
    "  --compact   one JSON object per line (JSON Lines) instead of indented JSON\n"
    "  --full      include the raw message text (`full`)\n"
    "  --decoded   include each leaf part's transfer-decoded content\n"
    "\n"
    "Exit status: 0 all messages parsed, 1 an input could not be read, 2 usage error.\n";

}  // namespace

int ParseCommand(const std::vector<std::string>& args) {
  MessageJsonOptions json;
  std::vector<std::string> paths;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--compact") {
      json.indent = 0;
    } else if (a == "--full") {
      json.include_full = true;
    } else if (a == "--decoded") {
      json.include_decoded = true;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "veto parse: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  email::ParseOptions options;
  int rc = 0;
  for (const std::string& path : paths) {
    absl::Status s = ForEachMessage(
        path,
        [&](const InputMessage& in) -> absl::Status {
          absl::StatusOr<std::unique_ptr<Message>> m = email::ParseMessage(in.bytes, options);
          if (!m.ok()) {
            std::fprintf(stderr, "veto parse: %s: %s\n", in.name.c_str(),
                         std::string(m.status().message()).c_str());
            rc = 1;
            return absl::OkStatus();
          }
          MessageJsonOptions o = json;
          o.source = in.name;
          std::string out = MessageToJson(**m, o);
          std::fwrite(out.data(), 1, out.size(), stdout);
          return absl::OkStatus();
        },
        options.max_message_bytes);
    if (!s.ok()) {
      std::fprintf(stderr, "veto parse: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace veto::cli
