#include "policy/content.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::EmailMsg;
using testing::MakeEmail;
using testing::MakeSms;

// Untrusted patterns: every one of these must be refused, with RE2's reason and the pattern.
TEST(CompileRegexTest, RejectsBadAndHugePatterns) {
  const RegexLimits limits{.max_mem = 1 << 20, .max_pattern_bytes = 255};
  struct Case {
    std::string pattern;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"(abc", "invalid regex: missing ): (abc (got \"(abc\")"},
      {"abc)", "invalid regex: unexpected ): abc) (got \"abc)\")"},
      {"(a)\\1", "invalid regex: invalid escape sequence: \\1 (got \"(a)\\\\1\")"},
      {"(?=lookahead)", "invalid regex: invalid perl operator: (?= (got \"(?=lookahead)\")"},
      {"(?<!x)y", "invalid regex: invalid perl operator: (?< (got \"(?<!x)y\")"},
      {"a{1001}", "invalid regex: invalid repetition size: {1001} (got \"a{1001}\")"},
      {"((a{100}){100}){100}",
       "invalid regex: invalid repetition size: {100} (got \"((a{100}){100}){100}\")"},
      {"[z-a]", "invalid regex: invalid character class range: z-a (got \"[z-a]\")"},
      {"\\pL{1000}", "regex too large for max_mem=1048576 (got \"\\\\pL{1000}\")"},
      {std::string(300, 'a'), "regex longer than 255 bytes (got 300 bytes)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex(c.pattern, limits);
    ASSERT_FALSE(re.ok()) << c.pattern;
    EXPECT_EQ(re.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(re.status().ToString(), "INVALID_ARGUMENT: " + c.error);
  }
}

TEST(CompileRegexTest, MemoryCapIsConfigurable) {
  const std::string p = "(\\pL|\\pN){200}";
  EXPECT_TRUE(CompileRegex(p, {.max_mem = 8 << 20}).ok());
  EXPECT_FALSE(CompileRegex(p, {.max_mem = 1 << 20}).ok());
}

TEST(CompileRegexTest, LinearOnPathologicalInput) {
  // (a+)+$ is exponential for a backtracking engine on "aaaa...b"; RE2 is linear.
  absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex("(a+)+$", {});
  ASSERT_TRUE(re.ok());
  const std::string text = std::string(100000, 'a') + "b";
  EXPECT_FALSE(RE2::PartialMatch(text, **re));
}

TEST(FoldPhraseTest, FoldsLikeTheNormalisedBody) {
  EXPECT_EQ(*FoldPhrase("Claim Your PRIZE"), "claim your prize");
  EXPECT_EQ(*FoldPhrase("  loan \t approved  "), "loan approved");
  EXPECT_EQ(*FoldPhrase("ＦＲＥＥ"), "free");    // NFKC
  EXPECT_EQ(*FoldPhrase("F\u200BREE"), "free");  // zero-width space removed
  EXPECT_EQ(*FoldPhrase("Straße"), "strasse");   // case folding
  EXPECT_EQ(FoldPhrase("   ").status().ToString(), "INVALID_ARGUMENT: empty phrase (got \"   \")");
  EXPECT_EQ(FoldPhrase("\xff\xfe").status().ToString(),
            "INVALID_ARGUMENT: not valid UTF-8 (got \"\\xff\\xfe\")");
}

TEST(FindBytesTest, AgreesWithStringViewFind) {
  // Every needle length and position around the 16-byte blocks, plus misses and overlaps.
  std::string hay;
  for (int i = 0; i < 70; ++i) hay.push_back(static_cast<char>('a' + (i * 7) % 26));
  for (size_t len = 0; len <= 20; ++len) {
    for (size_t pos = 0; pos + len <= hay.size(); ++pos) {
      const std::string_view needle = std::string_view(hay).substr(pos, len);
      ASSERT_EQ(FindBytes(hay, needle), std::string_view(hay).find(needle))
          << "len=" << len << " pos=" << pos;
    }
  }
  EXPECT_EQ(FindBytes("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "aab"), 28u);
  EXPECT_EQ(FindBytes("abc", "abcd"), std::string_view::npos);
  EXPECT_EQ(FindBytes("", "a"), std::string_view::npos);
  EXPECT_EQ(FindBytes("xyz", ""), 0u);
  EXPECT_EQ(FindBytes(std::string(40, 'x') + "loan approved", "loan approved"), 40u);
  EXPECT_EQ(FindBytes(std::string(40, 'x') + "loan approvex", "loan approved"),
            std::string_view::npos);
}

TEST(ContainsIgnoringAsciiCaseTest, Basics) {
  EXPECT_TRUE(ContainsIgnoringAsciiCase("Hello WORLD", "world"));
  EXPECT_TRUE(ContainsIgnoringAsciiCase("xxAbC", "abc"));
  EXPECT_FALSE(ContainsIgnoringAsciiCase("ab", "abc"));
  EXPECT_TRUE(ContainsIgnoringAsciiCase("anything", ""));
}

TEST(MessageTextTest, Fields) {
  auto email = MakeEmail({.subject = "Hello There", .body = "Body Text"});
  MessageText t(*email);
  EXPECT_EQ(t.Get(TextField::kText), "Hello There\nBody Text");
  EXPECT_EQ(t.Get(TextField::kSubject), "Hello There");
  EXPECT_EQ(t.Get(TextField::kNormalized), "hello there\nbody text");

  auto sms = MakeSms({.text = "Win NOW", .normalized = false});
  MessageText s(*sms);
  EXPECT_EQ(s.Get(TextField::kText), "Win NOW");
  EXPECT_EQ(s.Get(TextField::kSubject), "");
  EXPECT_EQ(s.Get(TextField::kNormalized), "Win NOW");  // falls back to the text
  EXPECT_EQ(s.folded(), "");
}

TEST(MessageTextTest, LowerAscii) {
  auto m = MakeSms({.text = "Hello WORLD [@`{] 0123456789 AZaz! ÄÖ Tail"});
  MessageText t(*m);
  bool ascii = true;
  EXPECT_EQ(t.LowerAscii(TextField::kText, &ascii), "hello world [@`{] 0123456789 azaz! ÄÖ tail");
  EXPECT_FALSE(ascii);
  for (size_t n = 0; n < 20; ++n) {  // every tail length
    auto plain = MakeSms({.text = std::string(n, 'Q') + "Z"});
    MessageText tp(*plain);
    EXPECT_EQ(tp.LowerAscii(TextField::kText, &ascii), std::string(n, 'q') + "z");
    EXPECT_TRUE(ascii);
  }
}

TEST(KeywordSetTest, FirstPhraseInListOrder) {
  absl::StatusOr<KeywordSet> k = KeywordSet::Build({"Loan Approved", "prize", "win"});
  ASSERT_TRUE(k.ok());
  auto m = MakeSms({.text = "You WIN a PRIZE: loan approved!"});
  MessageText t(*m);
  EXPECT_EQ(k->Find(t, TextField::kText), 0);
  auto m2 = MakeSms({.text = "nothing here"});
  MessageText t2(*m2);
  EXPECT_EQ(k->Find(t2, TextField::kText), -1);
}

TEST(KeywordSetTest, WithoutNormalisedBodyAsciiCaseInsensitive) {
  absl::StatusOr<KeywordSet> k = KeywordSet::Build({"Claim Now"});
  auto m = MakeSms({.text = "please CLAIM now", .normalized = false});
  MessageText t(*m);
  EXPECT_EQ(k->Find(t, TextField::kText), 0);
}

TEST(KeywordSetTest, SubjectField) {
  absl::StatusOr<KeywordSet> k = KeywordSet::Build({"invoice"});
  auto hit = MakeEmail({.subject = "Your INVOICE", .body = "hi"});
  auto miss = MakeEmail({.subject = "Hello", .body = "invoice attached"});
  MessageText th(*hit), tm(*miss);
  EXPECT_EQ(k->Find(th, TextField::kSubject), 0);
  EXPECT_EQ(k->Find(tm, TextField::kSubject), -1);
  EXPECT_EQ(k->Find(tm, TextField::kText), 0);
}

TEST(KeywordSetTest, LargeListUsesSetAndKeepsOrder) {
  std::vector<std::string> phrases;
  for (int i = 0; i < 200; ++i) phrases.push_back("phrase number " + std::to_string(i) + " end");
  absl::StatusOr<KeywordSet> k = KeywordSet::Build(phrases);
  ASSERT_TRUE(k.ok());
  auto m = MakeSms({.text = "xx PHRASE NUMBER 150 END yy phrase number 42 end"});
  MessageText t(*m);
  EXPECT_EQ(k->Find(t, TextField::kText), 42);  // the lowest index, not the first in the text
  auto none = MakeSms({.text = "phrase number 1000 end"});
  MessageText tn(*none);
  EXPECT_EQ(k->Find(tn, TextField::kText), -1);
  auto raw = MakeSms({.text = "PHRASE NUMBER 7 END", .normalized = false});
  MessageText tr(*raw);
  EXPECT_EQ(k->Find(tr, TextField::kText), 7);
}

std::vector<char> Candidates(const RegexPrefilter& f, const Message& m, TextField field) {
  RegexPrefilter::CandidateSet c;
  f.Candidates(MessageText(m), field, &c);
  return std::vector<char>(c.begin(), c.end());
}

TEST(RegexPrefilterTest, SkipsRegexesWhoseLiteralsAreAbsent) {
  RegexPrefilter f;
  ASSERT_TRUE(f.Add("(?i)\\b(bit\\.ly|tinyurl\\.com)/", {}));
  ASSERT_TRUE(f.Add("\\d{5}", {}));  // no literal: always a candidate
  ASSERT_TRUE(f.Add("casino.{0,20}bonus", {}));
  f.Compile();
  auto plain = MakeSms({.text = "Your parcel 12345 is waiting"});
  EXPECT_EQ(Candidates(f, *plain, TextField::kText), (std::vector<char>{0, 1, 0}));
  auto shortened = MakeSms({.text = "see BIT.LY/abc now"});
  EXPECT_EQ(Candidates(f, *shortened, TextField::kText), (std::vector<char>{1, 1, 0}));
  auto casino = MakeSms({.text = "CASINO big bonus"});
  EXPECT_EQ(Candidates(f, *casino, TextField::kText), (std::vector<char>{0, 1, 1}));
  // Non-ASCII text: no filtering (ASCII lower-casing could miss a case-folded match).
  auto unicode = MakeSms({.text = "caf\u00e9 TinyURL.com/x"});
  EXPECT_EQ(Candidates(f, *unicode, TextField::kText), (std::vector<char>{1, 1, 1}));
}

TEST(RegexPrefilterTest, EmptyFilter) {
  RegexPrefilter f;
  f.Compile();
  auto m = MakeSms({.text = "x"});
  EXPECT_TRUE(Candidates(f, *m, TextField::kText).empty());
}

TEST(KeywordSetTest, BuildReportsTheBadPhrase) {
  EXPECT_EQ(KeywordSet::Build({"ok", " "}).status().ToString(),
            "INVALID_ARGUMENT: [1]: empty phrase (got \" \")");
}

}  // namespace
}  // namespace veto::policy
