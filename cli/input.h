// veto/cli/input.h — where messages come from on the command line: files, directories
// (recursively, in sorted order), tar archives (.tar, .tar.gz, .tgz; read in place, not
// unpacked), and "-" for standard input.
//
//   absl::Status s = ForEachMessage("corpus.tar.gz", [](const InputMessage& m) {
//     ... m.name, m.bytes ...
//     return absl::OkStatus();   // an error stops the walk and is returned
//   });
//
// Thread-safety: the callback runs on the calling thread, one message at a time.
#ifndef VETO_CLI_INPUT_H_
#define VETO_CLI_INPUT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace veto::cli {

struct InputMessage {
  std::string name;   // file path, or "archive.tar.gz:member/path"
  std::string bytes;  // at most max_bytes + 1 bytes (one more tells the parser it was cut)
};

using MessageCallback = std::function<absl::Status(const InputMessage&)>;

// Calls `fn` for each message under `path`. Errors: NotFound for a missing path,
// InvalidArgument for an unreadable archive (with libarchive's reason), or whatever `fn`
// returns. Archive members that are not regular files are skipped.
absl::Status ForEachMessage(std::string_view path, const MessageCallback& fn,
                            size_t max_bytes = 64u << 20);

// True if `path` names a tar archive by its extension.
bool IsArchivePath(std::string_view path);

}  // namespace veto::cli

#endif  // VETO_CLI_INPUT_H_
