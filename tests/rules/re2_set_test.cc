// Tests for rules/re2_set.h: RE2 forms of Hyperscan translations must match exactly the texts
// Hyperscan matches (exact patterns) or at least the texts PCRE2 matches (prefilters), on a
// table of nasty texts, on the stock SpamAssassin set's bare patterns over the dev corpus, and
// when the set's DFA runs out of memory.
#include "rules/re2_set.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli/input.h"
#include "email/parser.h"
#include "gtest/gtest.h"
#include "rules/loader.h"
#include "rules/regex.h"
#include "tests/rules/hs_pattern.h"

namespace veto::rules {
namespace {

bool Re2Matches(const std::string& expression, std::string_view text) {
  Re2Set set;
  EXPECT_TRUE(set.Add(expression).ok()) << expression;
  EXPECT_TRUE(set.Compile().ok());
  std::vector<int> hits;
  set.Match(text, &hits);
  return !hits.empty();
}

// A Perl regex translated for Hyperscan, with its RE2 form if it has one.
struct Forms {
  HyperscanPattern hs;
  std::unique_ptr<ConfirmRegex> pcre;
  std::unique_ptr<HsPattern> db;
  std::string re2;  // empty: no RE2 form
};

Forms Translate(std::string_view perl) {
  Forms f;
  absl::StatusOr<PerlRegex> re = ParsePerlRegex(perl);
  EXPECT_TRUE(re.ok()) << perl;
  if (!re.ok()) return f;
  absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
  EXPECT_TRUE(hs.ok()) << perl << ": " << hs.status();
  if (!hs.ok()) return f;
  f.hs = *hs;
  f.pcre = *ConfirmRegex::Compile(*re);
  f.db = std::make_unique<HsPattern>(f.hs);
  if (absl::StatusOr<std::string> e = Re2Expression(hs->expression, hs->flags); e.ok()) f.re2 = *e;
  return f;
}

// Texts where RE2's defaults differ from Perl's and Hyperscan's: \v, a final newline, Latin-1
// letters under /i, word boundaries next to high bytes, newlines under `.`.
const char* const kSubjects[] = {
    "",         "\n",          "a",          "a\n",        "a\nb",        "a\n\n",
    "A",        "\x0b",        "x\x0by",     "x y",        "x\ty",        "\xe9",
    "\xc9",     "\xe9t\xe9",   "\xc9" "T\xc9",  "\xe9" "foo",    "foo\xe9",     "FOO",
    "foo bar",  "o\nb",        "o\rb",       "ab",         "AB",          "Ab",
    "aB",       "free money",  "FREE\x0bMONEY", "\xff\xfe", "123-4567",   "$1,000,000",
    "[a]",      "a\r\n",       "\nfoo",      "bar\nfoo\n", "__",          "\xd7\xf7",
};

const char* const kExactPatterns[] = {
    "/\\s/",          "/x\\sy/",          "/x\\Sy/",          "/[\\s]/",        "/[^\\s]{2}/",
    "/\\xe9/i",       "/\\xe9t\\xe9/i",   "/[\\xe0-\\xff]/i", "/[^a]/i",        "/[^\\xe9]+$/i",
    "/a$/",           "/a\\Z/",           "/(?:a|b)$/",       "/a$/m",          "/^a/",
    "/o.b/",          "/o.b/s",           "/(?:(?i)a)b/",     "/a(?i:b)/",      "/a(?i)b|c/",
    "/\\bfoo\\b/",    "/\\w+\\W/",        "/foo\\z/",         "/\\Afoo/",       "/\\d{3}-\\d{4}/",
    "/\\$\\d{1,3}(?:,\\d{3})+/", "/free\\s+money/i", "/[a-z]{3,}/", "/_+/",    "/\\[a\\]/",
};

TEST(Re2ExpressionTest, ExactFormsMatchWhatHyperscanMatches) {
  int with_form = 0;
  for (const char* pattern : kExactPatterns) {
    Forms f = Translate(pattern);
    ASSERT_NE(f.db, nullptr) << pattern;
    ASSERT_EQ(f.db->error(), "") << pattern;
    ASSERT_FALSE(f.hs.prefilter) << pattern;
    if (f.re2.empty()) continue;
    ++with_form;
    for (const char* subject : kSubjects) {
      EXPECT_EQ(Re2Matches(f.re2, subject), f.db->Matches(subject))
          << pattern << " -> " << f.hs.expression << " -> " << f.re2 << " on \"" << subject
          << "\"";
      // And Perl (PCRE2) agrees with both.
      EXPECT_EQ(f.pcre->Matches(subject), f.db->Matches(subject)) << pattern << " " << subject;
    }
  }
  // Only the `$`-with-items-after shapes may lack a form here.
  EXPECT_GE(with_form, 29);
}

TEST(Re2ExpressionTest, PrefilterFormsMatchAtLeastWhatThePatternMatches) {
  const char* const kPrefilters[] = {
      "/(?=.*free)money/i", "/(?<!\\w)ab/", "/(\\w)\\1{2}/", "/\\d++x/",     "/(?>\\s+)y/",
      "/a(?!b)/",           "/(?<=x)\\sy/", "/^(a)\\1$/m",   "/foo$(?!x)/", "/(?:a(?=b))+/",
  };
  int with_form = 0;
  for (const char* pattern : kPrefilters) {
    Forms f = Translate(pattern);
    ASSERT_TRUE(f.hs.prefilter) << pattern;
    if (f.re2.empty()) continue;
    ++with_form;
    for (const char* subject : kSubjects) {
      if (f.pcre->Matches(subject)) {
        EXPECT_TRUE(Re2Matches(f.re2, subject))
            << pattern << " -> " << f.re2 << " missed \"" << subject << "\"";
      }
    }
  }
  EXPECT_GE(with_form, 8);
}

TEST(Re2ExpressionTest, RefusesWhatRe2ReadsDifferently) {
  struct Case {
    const char* expression;
    unsigned flags;
  };
  const Case kRefused[] = {
      {"a$b", 0},                       // `$` before a final newline, then more
      {"(?:a$|b)c", 0},                 //
      {"^a", HS_FLAG_MULTILINE},        // multi-line ^ after a final newline
      {"(?=a)b", 0},                    // lookaround in an exact pattern
      {"(a)\\1", 0},                    // back-reference
      {"a*+b", 0},                      // possessive
      {"\\x{263a}", HS_FLAG_UTF8},      // UTF-8 mode
      {"a*", 0},                        // matches the empty text
      {"a", HS_FLAG_ALLOWEMPTY},        //
      {"x{1001}", 0},                   // RE2's repeat limit
      {"\\h", 0},                       // escapes RE2 reads differently or not at all
      {"\\v", 0},
      {"[[:alpha:]]", 0},
      {"(?<name>a)", 0},
      {"(a", 0},
  };
  for (const Case& c : kRefused) {
    EXPECT_FALSE(Re2Expression(c.expression, c.flags).ok()) << c.expression;
  }
  EXPECT_TRUE(Re2Expression("(?:a|b$)", 0).ok());
  EXPECT_TRUE(Re2Expression("^a", HS_FLAG_MULTILINE | HS_FLAG_PREFILTER).ok());
  EXPECT_TRUE(Re2Expression("a$b", HS_FLAG_PREFILTER).ok());
}

// RE2 20220601 objects in Latin-1 mode miss matches when an alternation's branches share a
// literal prefix with a high byte (found by re2_form_fuzzer); everything here runs on sets.
TEST(Re2SetTest, FactoredHighBytePrefixesStillMatch) {
  const std::string text = "x\xe3\x90\xe3\xe3" "a";
  for (const char* e : {"\\xe3\\xe3|\\xe3\\x90", "q?\\xe3\\xe3|\\xe3\\x90", "(?:\\xe3\\x90\\xe3|\\xe3\\xe3\\xe3)"}) {
    bool hit = false;
    EXPECT_TRUE(Re2Regex(e, 0).Matches(text, &hit)) << e;
    EXPECT_TRUE(hit) << e;
    EXPECT_TRUE(Re2Matches(e, text)) << e;
    Re2Set tiny(8 << 10);  // pattern by pattern
    ASSERT_TRUE(tiny.Add(e).ok());
    (void)tiny.Compile();
    std::vector<int> hits;
    tiny.Match(text, &hits);
    EXPECT_EQ(hits, std::vector<int>{0}) << e;
  }
}

// Patterns too large together for a tiny memory budget: the set matches them one by one, with
// the same results as a set with room.
TEST(Re2SetTest, OutOfMemoryFallsBackToEachPatternAlone) {
  std::vector<std::string> patterns;
  for (char c = 'a'; c <= 'h'; ++c)
    patterns.push_back(std::string("[") + c + "-q][^u-z]{12}" + static_cast<char>(c + 1));
  Re2Set small(8 << 10), roomy;
  for (const std::string& p : patterns) {
    ASSERT_TRUE(small.Add(p).ok());
    ASSERT_TRUE(roomy.Add(p).ok());
  }
  EXPECT_EQ(small.Compile().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(roomy.Compile().ok());
  std::mt19937 rng(7);
  std::string text;
  for (int i = 0; i < 20000; ++i) text += static_cast<char>('a' + rng() % 26);
  std::vector<int> a, b;
  small.Match(text, &a);
  roomy.Match(text, &b);
  std::sort(b.begin(), b.end());  // a set reports in any order
  EXPECT_GT(small.fallbacks(), 0u);
  EXPECT_EQ(roomy.fallbacks(), 0u);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
}

// The stock set's bare patterns (the ones the engine puts on RE2 sets) against Hyperscan, on
// the dev corpus's body and rawbody texts and on variants of them.
TEST(Re2ExpressionTest, StockBarePatternsAgreeWithHyperscanOnTheCorpus) {
  const std::string stock = "/usr/share/spamassassin";
  const std::string corpus =
      std::string(VETO_SHARED_DIR) + "/corpora/email/spamassassin_dev_spam.tar.gz";
  if (!std::filesystem::exists(stock + "/72_active.cf"))
    GTEST_SKIP() << stock << " is absent (Debian package spamassassin)";
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << corpus << " is absent";
  RuleSet set;
  ASSERT_TRUE(LoadRules({stock}, {}, &set).ok());
  std::vector<std::string> texts;
  ASSERT_TRUE(cli::ForEachMessage(corpus, [&](const cli::InputMessage& m) {
                auto parsed = email::ParseMessage(m.bytes);
                if (parsed.ok() && texts.size() < 6000) {
                  for (std::string_view t : (*parsed)->body_elements) texts.emplace_back(t);
                  for (std::string_view t : (*parsed)->rawbody_elements) texts.emplace_back(t);
                }
                return absl::OkStatus();
              }).ok());
  // Variants: a final newline, vertical tabs for spaces, upper case (Latin-1 letters too).
  size_t n = texts.size();
  for (size_t i = 0; i < n; i += 3) {
    std::string nl = texts[i] + "\n", vt = texts[i], up = texts[i];
    for (char& c : vt) c = c == ' ' ? '\x0b' : c;
    for (char& c : up) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u >= 'a' && u <= 'z') || (u >= 0xe0 && u <= 0xfe && u != 0xf7))
        c = static_cast<char>(u - 32);
    }
    texts.push_back(nl);
    texts.push_back(vt);
    texts.push_back(up);
  }
  int exact = 0, prefilter = 0;
  for (const Rule& r : set.rules) {
    if (r.type != RuleType::kBody && r.type != RuleType::kRawBody && r.type != RuleType::kFull &&
        r.type != RuleType::kUri)
      continue;
    absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(r.regex);
    if (!hs.ok() || hs->gated || hs->literal_length >= 3) continue;
    absl::StatusOr<std::string> re2 = Re2Expression(hs->expression, hs->flags);
    if (!re2.ok()) continue;
    Re2Set one;
    ASSERT_TRUE(one.Add(*re2).ok()) << r.name;
    ASSERT_TRUE(one.Compile().ok());
    if (hs->prefilter) {
      ++prefilter;
      auto pcre = ConfirmRegex::Compile(r.regex);
      ASSERT_TRUE(pcre.ok()) << r.name;
      for (const std::string& t : texts) {
        std::vector<int> hits;
        one.Match(t, &hits);
        if ((*pcre)->Matches(t)) {
          ASSERT_FALSE(hits.empty()) << r.name << " -> " << *re2 << " on " << t;
        }
      }
      continue;
    }
    ++exact;
    HsPattern db(*hs);
    ASSERT_EQ(db.error(), "") << r.name;
    for (const std::string& t : texts) {
      std::vector<int> hits;
      one.Match(t, &hits);
      ASSERT_EQ(!hits.empty(), db.Matches(t)) << r.name << " -> " << *re2 << " on " << t;
    }
  }
  // The stock set: 74 bare patterns with an exact RE2 form, 87 with a prefilter form.
  EXPECT_GE(exact, 60);
  EXPECT_GE(prefilter, 20);

  // Prefilter and gated patterns whose exact translation has an RE2 form are confirmed by RE2
  // instead of PCRE2 (Re2Regex): the two must agree wherever PCRE2 finishes.
  int confirms = 0;
  for (const Rule& r : set.rules) {
    absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(r.regex);
    if (!hs.ok() || !hs->prefilter) continue;
    absl::StatusOr<HyperscanPattern> whole = TranslateExactly(r.regex);
    if (!whole.ok()) continue;
    int program = 0;
    absl::StatusOr<std::string> re2 = Re2Expression(whole->expression, whole->flags, &program);
    if (!re2.ok()) continue;
    ++confirms;
    auto pcre = ConfirmRegex::Compile(r.regex);
    ASSERT_TRUE(pcre.ok()) << r.name;
    Re2Regex confirm(*re2, program);
    for (const std::string& t : texts) {
      bool p = (*pcre)->Matches(t);
      if ((*pcre)->limit_hits() > 0) break;  // PCRE2 gave up: no verdict to compare with
      bool hit = false;
      ASSERT_TRUE(confirm.Matches(t, &hit)) << r.name;
      ASSERT_EQ(hit, p) << r.name << " -> " << *re2 << " on " << t;
    }
  }
  std::printf("stock patterns with an RE2 form: %d bare exact, %d bare prefilter, %d confirms\n",
              exact, prefilter, confirms);
  EXPECT_GE(confirms, 40);
}

}  // namespace
}  // namespace veto::rules
