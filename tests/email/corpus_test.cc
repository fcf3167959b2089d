// Every message of the SpamAssassin dev corpus (../shared/corpora/email/, read straight from the
// .tar.gz files) parses with an OK status into a valid message. Reports how many have an
// empty body and why, and which flags fire how often. Skips when the corpus is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/input.h"
#include "email/parser.h"

namespace veto::email {
namespace {

const char* const kTarballs[] = {"spamassassin_dev_ham.tar.gz", "spamassassin_dev_spam.tar.gz"};

std::string CorpusDir() { return std::string(VETO_SHARED_DIR) + "/corpora/email"; }

bool BodyIsEmpty(const Message& m) {
  // body_elements[0] is the Subject; anything after it with a non-space byte is body text.
  for (size_t i = 1; i < m.body_elements.size(); ++i) {
    for (char c : m.body_elements[i]) {
      if (c != ' ' && c != '\n') return false;
    }
  }
  return true;
}

TEST(EmailCorpusTest, EveryMessageParses) {
  for (const char* t : kTarballs) {
    if (!std::filesystem::exists(CorpusDir() + "/" + t)) {
      GTEST_SKIP() << "corpus not found at " << CorpusDir() << " (../shared/corpora is "
                   << "beside the checkout on development machines and in CI)";
    }
  }
  size_t total = 0, empty_body = 0, bytes = 0, uris = 0;
  std::map<std::string, size_t> flag_counts;
  std::vector<std::string> empty_names;
  for (const char* t : kTarballs) {
    absl::Status s = cli::ForEachMessage(CorpusDir() + "/" + t, [&](const cli::InputMessage& in) {
      absl::StatusOr<std::unique_ptr<Message>> m = ParseMessage(in.bytes);
      EXPECT_TRUE(m.ok()) << in.name << ": " << m.status();
      if (!m.ok()) return absl::OkStatus();
      const Message& msg = **m;
      ++total;
      bytes += in.bytes.size();
      uris += msg.uris.size();
      EXPECT_FALSE(msg.body_elements.empty()) << in.name;
      EXPECT_FALSE(msg.parts.empty()) << in.name;
      EXPECT_NE(msg.FirstHeader("From"), nullptr) << in.name;
      if (BodyIsEmpty(msg)) {
        ++empty_body;
        empty_names.push_back(in.name);
      }
      for (std::string_view f : msg.flags.Names()) ++flag_counts[std::string(f)];
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(total, 3250u);
  std::printf("corpus: %zu messages, %.1f MB, %zu URIs, %zu with empty body\n", total,
              bytes / 1e6, uris, empty_body);
  for (const std::string& n : empty_names) std::printf("  empty body: %s\n", n.c_str());
  for (const auto& [flag, n] : flag_counts) std::printf("  flag %-24s %zu\n", flag.c_str(), n);
  // Near zero is expected; every one listed above must be explainable (see email/README.md).
  EXPECT_LE(empty_body, 10u);
}

}  // namespace
}  // namespace veto::email
