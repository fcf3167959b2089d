// `veto sms` end to end through the real binary: replay, report → export → import, --state.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/strings.h"
#include "gtest/gtest.h"
#include "tests/run_command.h"

namespace veto {
namespace {

namespace fs = std::filesystem;

using Result = testutil::CommandResult;

// The veto binary with `args`, stdout and stderr together.
Result Veto(const std::string& args) {
  return testutil::RunCommand(Cat(VETO_BIN, " ", args));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SmsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veto-sms-cli-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/lab.toml") << "[operator.consent]\ndefault = true\n[rules]\ncache_dir = \""
                                      << VETO_RULE_CACHE << "\"\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SmsCli, ReplaySampleFeeds) {
  for (const char* f : {"sample.tsv", "sample.csv", "sample.jsonl"}) {
    Result r = Veto(Cat("sms replay --config ", dir_, "/lab.toml --no-progress --out ", dir_,
                       "/v.jsonl ", VETO_SOURCE_DIR, "/tests/data/sms/", f));
    EXPECT_EQ(r.status, 0) << f << "\n" << r.out;
    EXPECT_NE(r.out.find("replay: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" 0 errors"), std::string::npos) << f << "\n" << r.out;
    const std::string v = ReadAll(dir_ + "/v.jsonl");
    EXPECT_NE(v.find("\"action\":"), std::string::npos) << v;
  }
  // A labelled feed gets the confusion matrix.
  Result r = Veto(Cat("sms replay --config ", dir_, "/lab.toml --no-progress --out /dev/null ",
                     VETO_SOURCE_DIR, "/tests/data/sms/sample.tsv"));
  EXPECT_NE(r.out.find("confusion:"), std::string::npos) << r.out;
}

TEST_F(SmsCli, UsageErrorsAndBadInput) {
  EXPECT_EQ(Veto("sms").status, 2);
  EXPECT_EQ(Veto("sms frobnicate").status, 2);
  EXPECT_EQ(Veto("sms replay").status, 2);
  EXPECT_EQ(Veto("sms replay --speed fast x.tsv").status, 2);
  EXPECT_EQ(Veto("sms replay --format xml x.tsv").status, 2);
  Result r = Veto("sms replay /nonexistent/feed.tsv");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("/nonexistent/feed.tsv: cannot open: No such file or directory"),
            std::string::npos) << r.out;
  std::ofstream(dir_ + "/bad.tsv") << "ham\tok\nnope\tbad\n";
  r = Veto(Cat("sms replay --config ", dir_, "/lab.toml --no-progress --out /dev/null --strict ",
              dir_, "/bad.tsv"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("bad.tsv:2: unknown label \"nope\""), std::string::npos) << r.out;
  r = Veto(Cat("sms replay --config ", dir_, "/lab.toml --no-progress --out /dev/null ", dir_,
              "/bad.tsv"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("1 errors"), std::string::npos) << r.out;
}

TEST_F(SmsCli, ReportExportImportAndReplayWithState) {
  const std::string state = dir_ + "/intel.jsonl";
  Result r = Veto(Cat("sms report --state ", state, " --now 1714600000 ", VETO_SOURCE_DIR,
                     "/tests/data/sms/reports.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("report: 2 accepted, 1 duplicates"), std::string::npos) << r.out;
  r = Veto(Cat("sms export --state ", state, " --now 1714600000 --out ", dir_, "/share.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  const std::string shared = ReadAll(dir_ + "/share.jsonl");
  EXPECT_NE(shared.find("{\"kind\":\"sender\",\"key\":\"+447700900777\",\"weight\":2,"),
            std::string::npos) << shared;
  EXPECT_NE(shared.find("\"kind\":\"callback\""), std::string::npos) << shared;
  EXPECT_NE(shared.find("\"kind\":\"fingerprint\""), std::string::npos) << shared;
  // A peer imports it at half trust.
  const std::string peer = dir_ + "/peer.jsonl";
  r = Veto(Cat("sms import --state ", peer, " --trust 0.5 --now 1714600000 ", dir_,
              "/share.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(ReadAll(peer).find("\"key\":\"+447700900777\",\"weight\":1,"), std::string::npos)
      << ReadAll(peer);
  // A bad line is reported with its line number.
  std::ofstream(dir_ + "/junk.jsonl") << ReadAll(dir_ + "/share.jsonl") << "{\"kind\":\"x\"}\n";
  r = Veto(Cat("sms import --state ", dir_, "/other.jsonl --now 1714600000 ", dir_,
              "/junk.jsonl"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("junk.jsonl:"), std::string::npos) << r.out;
  // The reported sender now scores in a replay that loads the state.
  std::ofstream(dir_ + "/feed.jsonl")
      << R"({"sender":"+447700900777","recipient":"+447700900123","time":1714600100,"text":"hi"})"
      << "\n";
  r = Veto(Cat("sms replay --config ", dir_, "/lab.toml --no-progress --state ", peer,
              " --now 1714600100 ", dir_, "/feed.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"SMS_SENDER_REPORTED\":3"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace veto
