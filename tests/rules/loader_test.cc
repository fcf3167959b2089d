#include "rules/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace veto::rules {
namespace {

using ::testing::HasSubstr;

RuleSet Load(const std::string& text) {
  RuleSet set;
  LoadRulesFromString(text, "test.cf", LoadOptions{}, &set);
  return set;
}

std::vector<std::string> Errors(const RuleSet& set) {
  std::vector<std::string> out;
  for (const RuleError& e : set.errors) out.push_back(e.ToString());
  return out;
}

TEST(LoaderTest, RuleTypesAndAttributes) {
  RuleSet s = Load(R"(
body     BODY_A   /free\s+money/i
rawbody  RAW_A    m{<b>}
full     FULL_A   m,^X-Foo,m
uri      URI_A    /\.example\.com/
header   HDR_A    Subject =~ /viagra/i
header   HDR_B    From:addr !~ /\@example\.org$/ [if-unset: unset@x]
header   HDR_C    exists:X-Mailer
meta     META_A   BODY_A && (HDR_A || URI_A)
mimeheader MH_A   Content-Type =~ /html/
body     EVAL_A   eval:check_body_length('100')
score    BODY_A   2.5
score    HDR_A    1 2 3 4
describe BODY_A   Talks about free money
tflags   BODY_A   multiple maxhits=5
priority META_A   -10
)");
  EXPECT_TRUE(s.errors.empty()) << testing::PrintToString(Errors(s));
  ASSERT_EQ(s.rules.size(), 10u);
  const Rule* a = s.Find("BODY_A");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->type, RuleType::kBody);
  EXPECT_EQ(a->regex.pattern, "free\\s+money");
  EXPECT_EQ(a->regex.modifiers, "i");
  EXPECT_EQ(a->scores[0], 2.5);
  EXPECT_TRUE(a->multiple);
  EXPECT_EQ(a->maxhits, 5u);
  EXPECT_EQ(a->description, "Talks about free money");
  EXPECT_EQ(s.Find("HDR_A")->scores[2], 3);
  const Rule* b = s.Find("HDR_B");
  EXPECT_TRUE(b->header.negate);
  EXPECT_TRUE(b->header.addr);
  EXPECT_EQ(b->header.name, "From");
  EXPECT_EQ(b->header.if_unset, "unset@x");
  EXPECT_TRUE(s.Find("HDR_C")->header.exists);
  EXPECT_EQ(s.Find("META_A")->meta, "BODY_A && (HDR_A || URI_A)");
  EXPECT_EQ(s.Find("META_A")->priority, -10);
  EXPECT_EQ(s.Find("MH_A")->type, RuleType::kMimeHeader);
  EXPECT_EQ(s.Find("EVAL_A")->type, RuleType::kEval);
  EXPECT_EQ(s.Find("EVAL_A")->eval_call, "check_body_length('100')");
  EXPECT_EQ(s.Find("URI_A")->scores[0], 1.0);  // default score
}

TEST(LoaderTest, DefaultScoresAndNice) {
  RuleSet s = Load("body T_TEST /x/\nbody NICE /y/\ntflags NICE nice\nbody __SUB /z/\n");
  EXPECT_EQ(s.Find("T_TEST")->scores[0], 0.01);
  EXPECT_EQ(s.Find("NICE")->scores[0], -1.0);
  EXPECT_EQ(s.Find("__SUB")->scores[0], 1.0);
}

TEST(LoaderTest, CommentsAndEscapedHash) {
  RuleSet s = Load("body A /foo\\#bar/ # a comment\nbody B /#a/\n");
  EXPECT_EQ(s.Find("A")->regex.pattern, "foo#bar");
  // "/#a/" becomes "/" after comment stripping: an error, and B is not defined (§1.2).
  EXPECT_EQ(s.Find("B"), nullptr);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].rule, "B");
  EXPECT_EQ(s.errors[0].line, 2);
}

TEST(LoaderTest, LaterDefinitionReplacesInvalidKeepsEarlier) {
  RuleSet s = Load("body A /one/\nbody A /two/\nbody A /bad\nheader A Subject =~ /s/\n"
                   "tflags A multiple\ntflags A nice\n");
  const Rule* a = s.Find("A");
  EXPECT_EQ(a->type, RuleType::kHeader);
  EXPECT_EQ(a->regex.pattern, "s");
  EXPECT_EQ(a->tflags, "nice");  // tflags replaces (§1.6)
  EXPECT_FALSE(a->multiple);
  EXPECT_EQ(s.errors.size(), 1u);
}

TEST(LoaderTest, RelativeScores) {
  RuleSet s = Load("body A /a/\nscore A 1 2 3 4\nscore A (1)\nscore B (1)\n");
  EXPECT_EQ(s.Find("A")->scores[0], 2);
  EXPECT_EQ(s.Find("A")->scores[3], 5);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_THAT(s.errors[0].message, HasSubstr("relative score without a previous score"));
}

TEST(LoaderTest, Conditionals) {
  RuleSet s = Load(R"(
ifplugin Mail::SpamAssassin::Plugin::MIMEHeader
body IN_LOADED /a/
endif
ifplugin Mail::SpamAssassin::Plugin::TextCat
body IN_UNLOADED /b/
else
body IN_ELSE /c/
endif
if (version >= 3.004000)
body VERSION_OK /d/
endif
if can(Mail::SpamAssassin::Conf::feature_bug6558_free)
body FEATURE /e/
endif
if !plugin(Mail::SpamAssassin::Plugin::Bayes)
body NO_BAYES /f/
endif
if plugin(Mail::SpamAssassin::Plugin::Dmarc)
body DMARC_ALIAS /g/
endif
ifplugin Mail::SpamAssassin::Plugin::TextCat
if (version >= 1)
body NESTED_SKIPPED /h/
else
body NESTED_ELSE_SKIPPED /i/
endif
endif
)");
  EXPECT_TRUE(s.errors.empty()) << testing::PrintToString(Errors(s));
  EXPECT_NE(s.Find("IN_LOADED"), nullptr);
  EXPECT_EQ(s.Find("IN_UNLOADED"), nullptr);
  EXPECT_NE(s.Find("IN_ELSE"), nullptr);
  EXPECT_NE(s.Find("VERSION_OK"), nullptr);
  EXPECT_NE(s.Find("FEATURE"), nullptr);
  EXPECT_EQ(s.Find("NO_BAYES"), nullptr);
  EXPECT_NE(s.Find("DMARC_ALIAS"), nullptr);
  EXPECT_EQ(s.Find("NESTED_SKIPPED"), nullptr);
  EXPECT_EQ(s.Find("NESTED_ELSE_SKIPPED"), nullptr);
}

TEST(LoaderTest, ReplaceTags) {
  // The stock example (§6): inter between adjacent tags only, post after every tag.
  RuleSet s = Load(R"(
replace_tag V (?:[vV]|\\\/)
replace_tag I [iIl1]
replace_tag A [aA@]
replace_inter W2 \W{0,2}
replace_post P3 {1,3}
header __SUBJ_FUZZY Subject =~ /<inter W2><post P3>(?!viagra)<V><I><A>/i
replace_rules __SUBJ_FUZZY
)");
  EXPECT_TRUE(s.errors.empty()) << testing::PrintToString(Errors(s));
  EXPECT_EQ(s.Find("__SUBJ_FUZZY")->regex.pattern,
            "(?!viagra)(?:[vV]|\\\\\\/){1,3}\\W{0,2}[iIl1]{1,3}\\W{0,2}[aA@]{1,3}");
}

TEST(LoaderTest, BadLinesReportedAllAtOnce) {
  RuleSet s = Load(
      "body bad-name /x/\nbody NODEF\nheader H1 Subject ~~ /x/\nheader H2 Subject:bogus =~ /x/\n"
      "score S 1 2\npriority P high\nheader H3 exists:\nbody OK /fine/\n");
  std::vector<std::string> e = Errors(s);
  ASSERT_EQ(e.size(), 7u) << testing::PrintToString(e);
  EXPECT_EQ(e[0], "test.cf:1: bad-name: body: invalid rule name");
  EXPECT_EQ(e[1], "test.cf:2: NODEF: body: missing definition");
  EXPECT_EQ(e[2], "test.cf:3: H1: header: expected 'Header =~ /regex/' or exists:Header");
  EXPECT_EQ(e[3], "test.cf:4: H2: header: unknown header modifier 'bogus'");
  EXPECT_EQ(e[4], "test.cf:5: S: score: expected 1 or 4 values (got 2)");
  EXPECT_EQ(e[5], "test.cf:6: P: priority: not an integer (got 'high')");
  EXPECT_EQ(e[6], "test.cf:7: H3: header: exists: needs a header name");
  EXPECT_NE(s.Find("OK"), nullptr);
}

TEST(LoaderTest, StockRuleSetLoads) {
  const char* dir = "/usr/share/spamassassin";
  if (!std::filesystem::exists(std::string(dir) + "/50_scores.cf")) {
    GTEST_SKIP() << dir << " not installed (Debian package spamassassin)";
  }
  RuleSet s;
  ASSERT_TRUE(LoadRules({dir}, LoadOptions{}, &s).ok());
  EXPECT_GT(s.rules.size(), 2000u);
  for (const RuleError& e : s.errors) ADD_FAILURE() << e.ToString();
  size_t metas = 0;
  for (const Rule& r : s.rules) metas += r.type == RuleType::kMeta;
  EXPECT_GT(metas, 800u);
  // ReplaceTags expanded the FUZZY rules.
  const Rule* fuzzy = s.Find("__SUBJECT_FUZZY_VPILL");
  ASSERT_NE(fuzzy, nullptr);
  EXPECT_EQ(fuzzy->regex.pattern.find("<V>"), std::string::npos) << fuzzy->regex.pattern;
}

}  // namespace
}  // namespace veto::rules
