#include "rules/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "email/parser.h"
#include "rules/loader.h"

namespace veto::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Compiled {
  RuleSet set;
  CompileReport report;
  std::shared_ptr<const CompiledRules> rules;
};

Compiled Build(const std::string& cf) {
  Compiled c;
  LoadRulesFromString(cf, "test.cf", LoadOptions{}, &c.set);
  EXPECT_TRUE(c.set.errors.empty()) << c.set.errors[0].ToString();
  auto r = CompiledRules::Compile(c.set, EngineOptions{}, &c.report);
  EXPECT_TRUE(r.ok()) << r.status();
  c.rules = *r;
  return c;
}

std::unique_ptr<Message> Parse(const std::string& raw) {
  auto m = email::ParseMessage(raw);
  EXPECT_TRUE(m.ok());
  return std::move(*m);
}

// All hits (including __ rules) as name -> value.
std::map<std::string, double> Hits(const Compiled& c, const std::string& raw) {
  auto m = Parse(raw);
  auto scratch = c.rules->NewScratch();
  std::map<std::string, double> out;
  for (auto& [name, v] : c.rules->AllHits(*m, scratch.get())) out[name] = v;
  return out;
}

std::vector<std::string> Reported(const Compiled& c, const std::string& raw, double* total) {
  auto m = Parse(raw);
  auto scratch = c.rules->NewScratch();
  Scores s;
  c.rules->Match(*m, scratch.get(), &s);
  *total = s.total;
  std::vector<std::string> out;
  for (const veto::Match& h : s.matches) out.emplace_back(h.id);
  return out;
}

const char kMail[] =
    "From: Sender <sender@example.org>\n"
    "To: a@example.com, B <b@example.net>\n"
    "Cc: c@example.com\n"
    "Subject: Win FREE money now\n"
    "Message-ID: <id1@example.org>\n"
    "X-Mailer: SpamTool 1.0\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>Hello friend, get free money today.</p><p>Money money money.</p>"
    "<a href=\"http://192.0.2.7/x\">link</a>\n";

TEST(EngineTest, EachRuleTypeHits) {
  Compiled c = Build(R"(
body     BODY_HIT     /free money/i
body     BODY_MISS    /nothing like this/
body     BODY_SUBJ    /^Win FREE/
rawbody  RAW_HIT      /<p>Hello/
full     FULL_HIT     /^X-Mailer: SpamTool/m
uri      URI_HIT      m{^http://192\.0\.2\.7/}
header   HDR_HIT      Subject =~ /free/i
header   HDR_NEG      Subject !~ /lottery/
header   HDR_NEG_MISS Subject !~ /money/
header   HDR_EXISTS   exists:X-Mailer
header   HDR_NOPE     exists:X-Nope
header   ADDR_HIT     To:addr =~ /^b\@example\.net$/m
header   NAME_HIT     From:name =~ /^Sender$/
header   TOCC_HIT     ToCc =~ /c\@example\.com/
header   MSGID_HIT    MESSAGEID =~ /id1\@/
header   ALL_HIT      ALL =~ /^X-Mailer: SpamTool/m
mimeheader MIME_HIT   Content-Type =~ /html/
)");
  std::map<std::string, double> h = Hits(c, kMail);
  for (const char* want : {"BODY_HIT", "BODY_SUBJ", "RAW_HIT", "FULL_HIT", "URI_HIT", "HDR_HIT",
                           "HDR_NEG", "HDR_EXISTS", "ADDR_HIT", "NAME_HIT", "TOCC_HIT",
                           "MSGID_HIT", "ALL_HIT", "MIME_HIT"}) {
    EXPECT_TRUE(h.contains(want)) << want;
  }
  for (const char* not_want : {"BODY_MISS", "HDR_NEG_MISS", "HDR_NOPE"}) {
    EXPECT_FALSE(h.contains(not_want)) << not_want;
  }
}

TEST(EngineTest, NosubjectSkipsTheSubjectElement) {
  Compiled c = Build("body WITH /Win FREE/\nbody WITHOUT /Win FREE/\ntflags WITHOUT nosubject\n");
  std::map<std::string, double> h = Hits(c, kMail);
  EXPECT_TRUE(h.contains("WITH"));
  EXPECT_FALSE(h.contains("WITHOUT"));
}

TEST(EngineTest, MultipleCountsLikePerlGlobalMatch) {
  Compiled c = Build(
      "body __MONEY /money/i\ntflags __MONEY multiple\n"
      "body __MONEY_CAP /money/i\ntflags __MONEY_CAP multiple maxhits=2\n"
      "meta MANY_MONEY __MONEY >= 4\nmeta CAP_OK __MONEY_CAP == 2\n");
  std::map<std::string, double> h = Hits(c, kMail);
  // Subject "money" + body "free money" + "Money money money" = 5.
  EXPECT_EQ(h["__MONEY"], 5);
  EXPECT_EQ(h["__MONEY_CAP"], 2);
  EXPECT_EQ(h["MANY_MONEY"], 1);
  EXPECT_EQ(h["CAP_OK"], 1);
}

TEST(EngineTest, MetaValuesAndReporting) {
  Compiled c = Build(R"(
body  __A   /free money/i
body  __B   /friend/
body  C     /today/
score C     0.5
meta  M_AND __A && __B
meta  M_SUM (__A + __B + C) > 2
meta  M_NOT !__A
meta  M_UNDEF __A && UNDEFINED_RULE
meta  M_OR  UNDEFINED_RULE || C
score M_AND 2
meta  M_NESTED M_AND && M_SUM
score M_NESTED 0
meta  T_META M_SUM
)");
  double total = 0;
  std::vector<std::string> r = Reported(c, kMail, &total);
  // __ rules are never reported; zero-score rules (M_NESTED) do not run; T_ rules get 0.01.
  EXPECT_THAT(r, UnorderedElementsAre("C", "M_AND", "M_SUM", "M_OR", "T_META"));
  EXPECT_DOUBLE_EQ(total, 0.5 + 2 + 1 + 1 + 0.01);
}

TEST(EngineTest, MissingHeaderMatchesEmptyAndIfUnset) {
  Compiled c = Build(R"(
header EMPTY_MISSING   X-Missing =~ /^$/
header NEG_MISSING     X-Missing !~ /foo/
header DOT_MISSING     X-Missing =~ /./
header UNSET_TEXT      X-Missing =~ /^fallback$/ [if-unset: fallback]
header NEG_ALONE       X-Absent !~ /foo/
header DOT_ALONE       X-Absent =~ /./
)");
  std::map<std::string, double> h = Hits(c, kMail);
  EXPECT_TRUE(h.contains("EMPTY_MISSING"));
  EXPECT_TRUE(h.contains("NEG_MISSING"));
  EXPECT_FALSE(h.contains("DOT_MISSING"));
  EXPECT_TRUE(h.contains("UNSET_TEXT"));
  // A group none of whose patterns can match "" is not scanned for a missing header; its
  // negated rules still hit.
  EXPECT_TRUE(h.contains("NEG_ALONE"));
  EXPECT_FALSE(h.contains("DOT_ALONE"));
}

TEST(EngineTest, HeaderJoiningAndDollar) {
  // Two headers join as "one\ntwo\n": /one$/ fails, /one$/m matches (§3.5).
  Compiled c = Build("header NO_M X-Multi =~ /one$/\nheader WITH_M X-Multi =~ /one$/m\n");
  std::map<std::string, double> h = Hits(c, "X-Multi: one\nX-Multi: two\n\nbody\n");
  EXPECT_FALSE(h.contains("NO_M"));
  EXPECT_TRUE(h.contains("WITH_M"));
}

TEST(EngineTest, XSpamHeadersAreInvisibleToHeaderRules) {
  Compiled c = Build("header XS exists:X-Spam-Flag\nheader XSALL ALL =~ /X-Spam-Flag/\n"
                     "full XSFULL /X-Spam-Flag/\n");
  std::map<std::string, double> h = Hits(c, "X-Spam-Flag: YES\nSubject: s\n\nb\n");
  EXPECT_FALSE(h.contains("XS"));
  EXPECT_FALSE(h.contains("XSALL"));
  EXPECT_TRUE(h.contains("XSFULL"));
}

TEST(EngineTest, PrefilteredRulesAreConfirmed) {
  Compiled c = Build(
      "body LOOKAHEAD_HIT /free(?= money)/i\nbody LOOKAHEAD_MISS /free(?! money)/i\n"
      "body BACKREF_HIT /(money) \\1/i\n");
  std::map<std::string, double> h = Hits(c, kMail);
  EXPECT_TRUE(h.contains("LOOKAHEAD_HIT"));
  EXPECT_FALSE(h.contains("LOOKAHEAD_MISS"));
  EXPECT_TRUE(h.contains("BACKREF_HIT"));
  EXPECT_GE(c.report.prefiltered, 2u);
}

TEST(EngineTest, NativeAndUnsupportedEvals) {
  Compiled c = Build(
      "body SHORT eval:check_body_length('1000')\nbody LONG eval:check_body_length('5')\n"
      "header TWO_TO eval:check_header_count_range('To', '1', '1')\n"
      "body UNKNOWN eval:check_something_else()\nmeta M_UNKNOWN !UNKNOWN\n");
  EXPECT_EQ(c.report.evals_native, 3u);
  EXPECT_EQ(c.report.evals_unsupported, 1u);
  std::map<std::string, double> h = Hits(c, kMail);
  EXPECT_TRUE(h.contains("SHORT"));
  EXPECT_FALSE(h.contains("LONG"));
  EXPECT_TRUE(h.contains("TWO_TO"));
  EXPECT_TRUE(h.contains("M_UNKNOWN"));  // unsupported evals are 0 in metas
}

TEST(EngineTest, BadPatternsAreReportedNotFatal) {
  RuleSet set;
  LoadRulesFromString("body GOOD /fine/\nbody BAD /(unclosed/\nmeta BADMETA GOOD +\n"
                      "meta CYCLE_A CYCLE_B\nmeta CYCLE_B CYCLE_A\n",
                      "t.cf", LoadOptions{}, &set);
  CompileReport report;
  auto r = CompiledRules::Compile(set, EngineOptions{}, &report);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> bad;
  for (const RuleError& e : report.problems) bad.push_back(e.rule);
  EXPECT_THAT(bad, UnorderedElementsAre("BAD", "BADMETA", "CYCLE_A", "CYCLE_B"));
  auto scratch = (*r)->NewScratch();
  auto m = Parse("Subject: x\n\nall fine here\n");
  Scores s;
  (*r)->Match(*m, scratch.get(), &s);
  ASSERT_EQ(s.matches.size(), 1u);
  EXPECT_EQ(s.matches[0].id, "GOOD");
}

TEST(EngineTest, HostilePatternsStayBounded) {
  // Catastrophic backtracking is PCRE2's problem only for prefiltered rules, and PCRE2 runs
  // with match limits; Hyperscan itself is linear.
  std::string alt;
  for (int i = 0; i < 2000; ++i) {
    if (i > 0) alt.push_back('|');
    alt.append("word");
    alt.append(std::to_string(i));
  }
  std::string cf = "body CATASTROPHIC /(a+)+\\1!z/\nbody HUGE_ALT /(?:";
  cf.append(alt);
  cf.append(")\\b/\nbody EMPTY_OK /x*/\nrawbody BINARY /\\xff\\xfe/\n");
  Compiled c = Build(cf);
  std::string body(30000, 'a');
  body += "!\nword1999 \xff\xfe\xc3\x28\n";
  std::map<std::string, double> h = Hits(c, "Subject: s\n\n" + body);
  EXPECT_FALSE(h.contains("CATASTROPHIC"));
  EXPECT_TRUE(h.contains("HUGE_ALT"));
  EXPECT_TRUE(h.contains("EMPTY_OK"));
  EXPECT_TRUE(h.contains("BINARY"));
}

TEST(EngineTest, ConfirmBudgetStopsPcreWorkAndSaysSo) {
  // Every paragraph makes Hyperscan's prefilter for NEVER fire and PCRE2 reject it; the one
  // rule that would hit is confirmed last.
  RuleSet set;
  LoadRulesFromString("body NEVER /free(?= nothing)/i\nbody LATE /last(?= paragraph)/\n",
                      "t.cf", LoadOptions{}, &set);
  std::string body;
  for (int i = 0; i < 50; ++i) body += "free money\n\n";
  body += "the last paragraph\n";
  auto m = Parse("Subject: s\n\n" + body);
  auto small = Parse("Subject: s\n\nthe last paragraph\n");
  for (uint32_t budget : {10u, 5000u}) {
    EngineOptions eo;
    eo.confirm_budget = budget;
    auto r = CompiledRules::Compile(set, eo);
    ASSERT_TRUE(r.ok()) << r.status();
    auto scratch = (*r)->NewScratch();
    Scores s;
    (*r)->Match(*m, scratch.get(), &s);
    std::vector<std::string> ids;
    for (const veto::Match& h : s.matches) ids.emplace_back(h.id);
    if (budget == 10) {
      EXPECT_THAT(ids, ElementsAre(std::string(kBudgetRule)));
      EXPECT_EQ(s.total, 0);
    } else {
      EXPECT_THAT(ids, ElementsAre("LATE"));
    }
    // The budget is per message: the next one starts afresh.
    Scores next;
    (*r)->Match(*small, scratch.get(), &next);
    ASSERT_EQ(next.matches.size(), 1u);
    EXPECT_EQ(next.matches[0].id, "LATE");
  }
}

TEST(EngineTest, SkippedConfirmsNeverMakeARuleHit) {
  // NEG_TO hits when To does not match its (prefiltered) pattern; here To matches it, and the
  // paragraphs before use up a budget of 10, so the header's confirm is skipped: NEG_TO must
  // stay silent (it would hit if a skipped confirm counted as "no match").
  RuleSet set;
  LoadRulesFromString("body NEVER /free(?= nothing)/i\n"
                      "header NEG_TO To !~ /\\@example(?=\\.com)/\n",
                      "t.cf", LoadOptions{}, &set);
  ASSERT_TRUE(set.errors.empty());
  std::string body;
  for (int i = 0; i < 50; ++i) body += "free money\n\n";
  auto m = Parse("To: a@example.com\nSubject: s\n\n" + body);
  auto other = Parse("To: a@example.org\nSubject: s\n\nhello\n");
  EngineOptions eo;
  eo.confirm_budget = 10;
  auto r = CompiledRules::Compile(set, eo);
  ASSERT_TRUE(r.ok()) << r.status();
  auto scratch = (*r)->NewScratch();
  Scores s;
  (*r)->Match(*m, scratch.get(), &s);
  std::vector<std::string> ids;
  for (const veto::Match& h : s.matches) ids.emplace_back(h.id);
  EXPECT_THAT(ids, ElementsAre(std::string(kBudgetRule)));
  // Within the budget the rule works both ways.
  Scores t;
  (*r)->Match(*other, scratch.get(), &t);
  ASSERT_EQ(t.matches.size(), 1u);
  EXPECT_EQ(t.matches[0].id, "NEG_TO");
}

// Bare patterns (no literal of 3 bytes) run on RE2 sets once a field has 8 of them with an
// RE2 form; fewer stay on Hyperscan. Hits are the same either way.
TEST(EngineTest, BarePatternsMoveToRe2SetsFromEight) {
  std::string few, many;
  for (int n = 1; n <= 8; ++n) {
    std::string rule = "body BARE_" + std::to_string(n) + " /[a-c]\\d{" + std::to_string(n) +
                       "}[x-z]/\nscore BARE_" + std::to_string(n) + " 1\n";
    if (n < 8) few += rule;
    many += rule;
  }
  const std::string mail = "Subject: s\n\nsee b12z and a1234567x\n";
  for (const std::string* cf : {&few, &many}) {
    Compiled c = Build(*cf);
    ASSERT_TRUE(c.rules) << *cf;
    EXPECT_EQ(c.report.re2, cf == &few ? 0u : 8u);
    auto h = Hits(c, mail);
    EXPECT_TRUE(h.contains("BARE_2"));
    EXPECT_TRUE(h.contains("BARE_7"));
    EXPECT_FALSE(h.contains("BARE_1"));
    EXPECT_FALSE(h.contains("BARE_3"));
  }
}

TEST(EngineTest, ScratchIsReusableAcrossMessages) {
  Compiled c = Build("body A /alpha/\nbody B /beta/\n");
  auto scratch = c.rules->NewScratch();
  for (int i = 0; i < 3; ++i) {
    auto m1 = Parse("Subject: 1\n\nalpha\n");
    auto hits1 = c.rules->AllHits(*m1, scratch.get());
    ASSERT_EQ(hits1.size(), 1u);
    EXPECT_EQ(hits1[0].first, "A");
    auto m2 = Parse("Subject: 2\n\nbeta\n");
    auto hits2 = c.rules->AllHits(*m2, scratch.get());
    ASSERT_EQ(hits2.size(), 1u);
    EXPECT_EQ(hits2[0].first, "B");
  }
}

}  // namespace
}  // namespace veto::rules

namespace veto::rules {
namespace {

TEST(EngineCacheTest, WarmLoadGivesSameDatabasesAndHits) {
  std::string dir = ::testing::TempDir() + "/veto-engine-cache-test";
  std::filesystem::remove_all(dir);
  RuleSet set;
  LoadRulesFromString(
      "body A /free money/i\nbody B /friend(?= get)/\nheader C Subject =~ /win/i\n"
      "body D /(?:" + std::string(20000, 'x') + ")/\n",
      "t.cf", LoadOptions{}, &set);
  EngineOptions eo;
  eo.cache_dir = dir;
  CompileReport cold, warm;
  auto r1 = CompiledRules::Compile(set, eo, &cold);
  auto r2 = CompiledRules::Compile(set, eo, &warm);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(cold.cache_hits, 0u);
  EXPECT_EQ(warm.cache_hits, warm.databases);
  EXPECT_EQ(warm.databases, cold.databases);
  EXPECT_EQ(warm.pcre_only, cold.pcre_only);  // D is too long for Hyperscan both times
  EXPECT_EQ(warm.prefiltered, cold.prefiltered);
  auto m = email::ParseMessage(kMail);
  ASSERT_TRUE(m.ok());
  auto s1 = (*r1)->NewScratch();
  auto s2 = (*r2)->NewScratch();
  EXPECT_EQ((*r1)->AllHits(**m, s1.get()), (*r2)->AllHits(**m, s2.get()));
  // A damaged cache file is ignored, not trusted.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::FILE* f = std::fopen(entry.path().c_str(), "wb");
    std::fputs("garbage", f);
    std::fclose(f);
  }
  CompileReport damaged;
  auto r3 = CompiledRules::Compile(set, eo, &damaged);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(damaged.cache_hits, 0u);
  auto s3 = (*r3)->NewScratch();
  EXPECT_EQ((*r1)->AllHits(**m, s1.get()), (*r3)->AllHits(**m, s3.get()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace veto::rules

namespace veto::rules {
namespace {

// The compile budget (EngineOptions::compile_budget_ms) with rules a user might bring:
// tests/data/rules/hostile_compile.cf. The budget is set low (10 ms; the default is 250) so
// the slow patterns take well under a second each; PLAIN compiles in about 1 ms.
class EngineBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/veto-engine-budget-test";
    std::filesystem::remove_all(dir_);
    LoadOptions lo;
    ASSERT_TRUE(
        LoadRules({std::string(VETO_SOURCE_DIR) + "/tests/data/rules/hostile_compile.cf"}, lo,
                  &set_)
            .ok());
    ASSERT_TRUE(set_.errors.empty());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // rule name -> note text, for the notes that name a rule.
  static std::map<std::string, std::string> Notes(const CompileReport& r) {
    std::map<std::string, std::string> out;
    for (const RuleError& e : r.notes) {
      if (!e.rule.empty()) out[e.rule] += e.message;
    }
    return out;
  }

  static std::map<std::string, double> HitsOf(const CompiledRules& rules, const std::string& raw) {
    auto m = email::ParseMessage(raw);
    EXPECT_TRUE(m.ok());
    auto scratch = rules.NewScratch();
    std::map<std::string, double> out;
    for (auto& [name, v] : rules.AllHits(**m, scratch.get())) out[name] = v;
    return out;
  }

  // The rules still match as written (PCRE2 confirms what Hyperscan no longer runs exactly).
  static void ExpectCorrectHits(const CompiledRules& rules) {
    auto h = HitsOf(rules, "Subject: s\n\nxx aaaaaa bbbbbbb yy\n");
    EXPECT_TRUE(h.contains("SLOW_BARE"));
    EXPECT_TRUE(h.contains("SLOW_BARE_RE2"));
    EXPECT_FALSE(h.contains("SLOW_GATED"));
    EXPECT_TRUE(h.contains("LOOKAHEAD_EVERYWHERE"));
    EXPECT_FALSE(h.contains("PLAIN"));
    h = HitsOf(rules, "Subject: s\n\nxx aaaaa bbbbbbb yy\n");  // one a too few
    EXPECT_FALSE(h.contains("SLOW_BARE"));
    EXPECT_FALSE(h.contains("SLOW_BARE_RE2"));
    h = HitsOf(rules, "Subject: s\n\nsend aaaaaabbbbbbb money\n");
    EXPECT_TRUE(h.contains("SLOW_GATED"));
    h = HitsOf(rules, "Subject: s\n\nsend aaaaaabbbbbbb" + std::string(40, '-') + "money\n");
    EXPECT_FALSE(h.contains("SLOW_GATED"));  // too far from the last b
    h = HitsOf(rules, "Subject: s\n\ncash money, Hello World\n");
    EXPECT_FALSE(h.contains("SLOW_GATED"));  // the gate literals alone are not a match
    EXPECT_FALSE(h.contains("SLOW_BARE"));
    EXPECT_FALSE(h.contains("SLOW_BARE_RE2"));
    EXPECT_TRUE(h.contains("PLAIN"));
  }

  std::string dir_;
  RuleSet set_;
};

TEST_F(EngineBudgetTest, SlowPatternsLeaveHyperscanAndAreReported) {
  EngineOptions eo;
  eo.compile_budget_ms = 10;
  eo.cache_dir = dir_;
  CompileReport cold;
  auto r1 = CompiledRules::Compile(set_, eo, &cold);
  ASSERT_TRUE(r1.ok()) << r1.status();
  std::map<std::string, std::string> notes = Notes(cold);
  EXPECT_THAT(notes["SLOW_BARE"], ::testing::HasSubstr("compile over budget"));
  EXPECT_THAT(notes["SLOW_BARE"], ::testing::HasSubstr("PCRE2 only"));
  EXPECT_THAT(notes["SLOW_GATED"], ::testing::HasSubstr("compile over budget"));
  EXPECT_THAT(notes["SLOW_GATED"], ::testing::HasSubstr("gated by 2 literals"));
  EXPECT_THAT(notes["LOOKAHEAD_EVERYWHERE"], ::testing::HasSubstr("probe texts"));
  EXPECT_FALSE(notes.contains("PLAIN"));
  // The same shape without the `$`: RE2 compiles it in microseconds, no budget involved.
  EXPECT_FALSE(notes.contains("SLOW_BARE_RE2"));
  EXPECT_EQ(cold.re2, 8u);  // SLOW_BARE_RE2 and BARE_1..7
  EXPECT_EQ(cold.pcre_only, 1u);
  ExpectCorrectHits(**r1);

  // A warm start replays the same decisions from the cache, compiling nothing.
  CompileReport warm;
  auto r2 = CompiledRules::Compile(set_, eo, &warm);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(warm.cache_hits, warm.databases);
  EXPECT_EQ(Notes(warm), notes);
  EXPECT_EQ(warm.pcre_only, cold.pcre_only);
  EXPECT_EQ(warm.prefiltered, cold.prefiltered);
  ExpectCorrectHits(**r2);

  // A reload that changes the databases (one more rule) misses the cache, but the slow
  // patterns, remembered in the cache directory, are off Hyperscan before it compiles.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/slow-patterns"));
  RuleSet more = set_;
  LoadRulesFromString("body EXTRA /extra rule/\n", "extra.cf", LoadOptions{}, &more);
  CompileReport reload;
  auto r3 = CompiledRules::Compile(more, eo, &reload);
  ASSERT_TRUE(r3.ok());
  std::map<std::string, std::string> reload_notes = Notes(reload);
  EXPECT_THAT(reload_notes["SLOW_BARE"], ::testing::HasSubstr("compile over budget"));
  EXPECT_THAT(reload_notes["SLOW_GATED"], ::testing::HasSubstr("gated by 2 literals"));
  ExpectCorrectHits(**r3);
}

TEST_F(EngineBudgetTest, DamagedCacheFilesAreNotTrusted) {
  EngineOptions eo;
  eo.compile_budget_ms = 10;
  eo.cache_dir = dir_;
  CompileReport cold;
  ASSERT_TRUE(CompiledRules::Compile(set_, eo, &cold).ok());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() == ".hsdb") files.push_back(entry.path());
  }
  ASSERT_FALSE(files.empty());
  for (const std::string& path : files) {
    std::string original;
    {
      std::ifstream in(path, std::ios::binary);
      original.assign(std::istreambuf_iterator<char>(in), {});
    }
    // Flip bytes across the header (the recorded moves and their checksum) and cut the file
    // short: each time the database is compiled again, or loaded intact, never misread.
    std::vector<std::string> damaged;
    for (size_t i = 0; i < std::min<size_t>(original.size(), 400); i += 13) {
      std::string d = original;
      d[i] = static_cast<char>(d[i] ^ 0x41);
      damaged.push_back(d);
    }
    damaged.push_back(original.substr(0, original.size() / 2));
    damaged.push_back(original.substr(0, 20));
    for (const std::string& d : damaged) {
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << d;
      }
      CompileReport report;
      auto r = CompiledRules::Compile(set_, eo, &report);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(report.pcre_only, cold.pcre_only);
      EXPECT_EQ(Notes(report), Notes(cold));
      ExpectCorrectHits(**r);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << original;
    }
  }
}

TEST_F(EngineBudgetTest, WithoutACacheTheCompileFinishesTheSameWay) {
  EngineOptions eo;
  eo.compile_budget_ms = 10;
  CompileReport report;
  auto r = CompiledRules::Compile(set_, eo, &report);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, std::string> notes = Notes(report);
  EXPECT_THAT(notes["SLOW_BARE"], ::testing::HasSubstr("PCRE2 only"));
  EXPECT_THAT(notes["SLOW_GATED"], ::testing::HasSubstr("gated by"));
  ExpectCorrectHits(**r);
}

TEST_F(EngineBudgetTest, NoBudgetKeepsEveryPatternInHyperscan) {
  EngineOptions eo;
  eo.compile_budget_ms = 0;
  CompileReport report;
  auto r = CompiledRules::Compile(set_, eo, &report);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(report.pcre_only, 0u);
  EXPECT_FALSE(Notes(report).contains("SLOW_BARE"));
  ExpectCorrectHits(**r);
}

}  // namespace
}  // namespace veto::rules
