// Tests for rules/regex.h: SpamAssassin regex parsing, the Hyperscan translation and the PCRE2
// confirmation, against Perl's behaviour (tests/data/rules/regex_cases.tsv holds cases whose
// expected results were computed by Perl 5.36 through SpamAssassin 4.0.1's compile_regexp) and
// against each other (Hyperscan and PCRE2 must agree on exact patterns).
#include "rules/regex.h"
#include "rules/regex_analysis.h"
#include "tests/rules/hs_pattern.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace veto::rules {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers.

// Parse + translate + confirm, as the rule compiler does it.
struct Compiled {
  PerlRegex re;
  HyperscanPattern hs;
  std::unique_ptr<ConfirmRegex> pc;
  std::unique_ptr<HsPattern> db;
};

std::unique_ptr<Compiled> MustCompile(std::string_view text) {
  auto out = std::make_unique<Compiled>();
  absl::StatusOr<PerlRegex> re = ParsePerlRegex(text);
  EXPECT_TRUE(re.ok()) << text << ": " << re.status();
  if (!re.ok()) return nullptr;
  out->re = *re;
  absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
  EXPECT_TRUE(hs.ok()) << text << ": " << hs.status();
  if (!hs.ok()) return nullptr;
  out->hs = *hs;
  absl::StatusOr<std::unique_ptr<ConfirmRegex>> pc = ConfirmRegex::Compile(*re);
  EXPECT_TRUE(pc.ok()) << text << ": " << pc.status();
  if (!pc.ok()) return nullptr;
  out->pc = std::move(*pc);
  out->db = std::make_unique<HsPattern>(out->hs);
  EXPECT_EQ(out->db->error(), "") << text << " -> " << out->hs.expression;
  if (!out->db->error().empty()) return nullptr;
  return out;
}

// "\n", "\r", "\t", "\\" and "\xNN" as in the fixture file.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'n') {
      out += '\n';
    } else if (c == 'r') {
      out += '\r';
    } else if (c == 't') {
      out += '\t';
    } else if (c == 'x' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string DataPath(std::string_view name) {
  return std::string(VETO_SOURCE_DIR) + "/tests/data/rules/" + std::string(name);
}

// ---------------------------------------------------------------------------------------------
// ParsePerlRegex (§7.1).

TEST(ParsePerlRegexTest, DelimiterForms) {
  struct Case {
    const char* text;
    const char* pattern;
    const char* modifiers;
  };
  const Case kCases[] = {
      {"/foo/", "foo", ""},
      {"/foo\\s+bar/i", "foo\\s+bar", "i"},
      {"/a\\/b/ms", "a\\/b", "ms"},
      {"m{x{2}}s", "x{2}", "s"},
      {"m(a(b)c)", "a(b)c", ""},
      {"m<a>i", "a", "i"},
      {"m[[a]]", "[a]", ""},
      {"m,a\\,b,i", "a\\,b", "i"},
      {"m;a|b;", "a|b", ""},
      {"m|x|", "x", ""},
      {"m%x%", "x", ""},
      {"m'x'", "x", ""},
      {"m~x~", "x", ""},
      {"m!x!", "x", ""},
      {"m#x#", "x", ""},
      {"m x ", "x", ""},
      {"m/x/", "x", ""},
      {"qr/x/i", "x", "i"},
      {"qr{a}", "a", ""},
      {"//", "", ""},
      {"m{a}}", "a}", ""},               // symmetric end delimiters are not checked inside
      {"/a\\\\\\/b/", "a\\\\\\/b", ""},  // \\ then \/
      {"/x/aa", "x", "aa"},
      {"/x/msixpn", "x", "msixpn"},
      {"/x/xx", "x", "xx"},
      {"/x/d", "x", "d"},
      {"/x/a", "x", "a"},  // valid Perl; the translator refuses it
  };
  for (const Case& c : kCases) {
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(c.text);
    ASSERT_TRUE(re.ok()) << c.text << ": " << re.status();
    EXPECT_EQ(re->pattern, c.pattern) << c.text;
    EXPECT_EQ(re->modifiers, c.modifiers) << c.text;
  }
}

TEST(ParsePerlRegexTest, Errors) {
  struct Case {
    const char* text;
    const char* reason;  // a substring of the error message
  };
  const Case kCases[] = {
      {"foo", "missing regexp delimiters"},
      {"", "missing regexp delimiters"},
      {"m", "missing regexp delimiters"},
      {"mxax", "missing regexp delimiters"},
      {"q/a/", "missing regexp delimiters"},
      {"M/a/", "missing regexp delimiters"},
      {"m\\a\\", "backslash delimiter not allowed"},
      {"/foo", "invalid end delimiter/mods"},
      {"/foo/ ", "invalid end delimiter/mods"},
      {"/foo/I", "invalid end delimiter/mods"},
      {"m{foo", "invalid end delimiter/mods"},
      {"/foo/e", "modifier 'e'"},
      {"/foo/ie", "modifier 'e'"},
      {"/a/b/", "unquoted delimiter '/'"},
      {"/a\\\\/b/", "unquoted delimiter '/'"},
      {"m<a>b>", "unquoted delimiter '>'"},
      {"m,a,b,", "unquoted delimiter ','"},
      {"/[/]/", "unquoted delimiter '/'"},
      {"/a(?{ 1 })/", "eval (?{}) found"},
      {"/a(??{ 1 })/", "eval (?{}) found"},
      {"/a/o", "useless modifier 'o'"},
      {"/a/g", "useless modifier 'g'"},
      {"/a/gc", "useless modifier 'g'"},
      {"/a/b", "unknown modifier 'b'"},
      {"/a/r", "unknown modifier 'r'"},
      {"/a/aaa", "'a' may appear at most twice"},
      {"/a/du", "mutually exclusive"},
      {"/a/ll", "may not appear twice"},
  };
  for (const Case& c : kCases) {
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(c.text);
    ASSERT_FALSE(re.ok()) << c.text << " parsed as " << re->pattern << " / " << re->modifiers;
    EXPECT_EQ(re.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(std::string(re.status().message()).find(c.reason), std::string::npos)
        << c.text << ": " << re.status();
  }
}

// ---------------------------------------------------------------------------------------------
// TranslateForHyperscan.

HyperscanPattern MustTranslate(std::string_view text) {
  absl::StatusOr<PerlRegex> re = ParsePerlRegex(text);
  EXPECT_TRUE(re.ok()) << text << ": " << re.status();
  if (!re.ok()) return {};
  absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
  EXPECT_TRUE(hs.ok()) << text << ": " << hs.status();
  return hs.ok() ? *hs : HyperscanPattern{};
}

TEST(TranslateTest, ModifiersBecomeFlags) {
  EXPECT_EQ(MustTranslate("/a/").flags, 0u);
  EXPECT_EQ(MustTranslate("/a/i").flags, unsigned{HS_FLAG_CASELESS});
  EXPECT_EQ(MustTranslate("/a/s").flags, unsigned{HS_FLAG_DOTALL});
  EXPECT_EQ(MustTranslate("/a/m").flags, unsigned{HS_FLAG_MULTILINE});
  EXPECT_EQ(MustTranslate("/a/msi").flags,
            unsigned{HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE});
  // Never UTF-8 / UCP: subjects are bytes, \w is ASCII.
  for (const char* text : {"/\\w+/i", "/\\x{263a}/", "/[\\x{100}-\\x{2000}]/i", "/./s"}) {
    HyperscanPattern hs = MustTranslate(text);
    EXPECT_EQ(hs.flags & (HS_FLAG_UTF8 | HS_FLAG_UCP), 0u) << text;
  }
  // Modifiers with no matching effect are accepted; /x leaves no flag behind.
  EXPECT_EQ(MustTranslate("/a/aap").flags, 0u);
  EXPECT_EQ(MustTranslate("/a b/x").flags, 0u);
}

TEST(TranslateTest, ExtendedModeDropsWhitespaceAndComments) {
  HyperscanPattern hs = MustTranslate("/ f o o   # a comment\\# still comment/x");
  EXPECT_EQ(hs.expression, "foo");
  // Escaped space and class members stay; /xx drops blanks in classes too.
  auto c = MustCompile("/a\\ b [ ]c/x");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->db->Matches("a b c"));
  EXPECT_TRUE(c->pc->Matches("a b c"));
  EXPECT_FALSE(c->pc->Matches("ab c"));
  auto xx = MustCompile("/a[ b ]c/xx");
  ASSERT_NE(xx, nullptr);
  EXPECT_TRUE(xx->pc->Matches("abc"));
  EXPECT_FALSE(xx->pc->Matches("a c"));
  EXPECT_FALSE(xx->db->Matches("a c"));
  // Inline (?x) scopes: outside the group, spaces count.
  auto inl = MustCompile("/a (?x: b c ) d/");
  ASSERT_NE(inl, nullptr);
  EXPECT_TRUE(inl->db->Matches("a bc d"));
  EXPECT_TRUE(inl->pc->Matches("a bc d"));
  EXPECT_FALSE(inl->pc->Matches("abcd"));
}

TEST(TranslateTest, CodePointsBecomeUtf8Bytes) {
  // Deliberate deviation from Perl on byte strings (where \x{263a} can never match): a code
  // point above 0xFF is its UTF-8 encoding, since texts carry UTF-8.
  HyperscanPattern smile = MustTranslate("/\\x{263a}+/");
  EXPECT_EQ(smile.expression, "(?:\\xe2\\x98\\xba)+");
  EXPECT_FALSE(smile.prefilter);
  struct Case {
    const char* regex;
    const char* subject;
    bool match;
  };
  const Case kCases[] = {
      {"/^\\x{263a}{2}$/", "\xe2\x98\xba\xe2\x98\xba", true},
      {"/^\\x{263a}{2}$/", "\xe2\x98\xba\xba", false},
      {"/\\N{U+263A}/", "x\xe2\x98\xbay", true},
      {"/\\o{23072}/", "\xe2\x98\xba", true},
      {"/\\x{e4}/", "\xe4", true},  // <= 0xFF: the byte itself
      {"/\\x{e4}/", "\xc3\xa4", false},
      {"/[\\x{430}-\\x{44f}]{3}/", "\xd0\xb0\xd0\xb1\xd1\x8f", true},  // Cyrillic a, b, ya
      {"/[\\x{430}-\\x{44f}]/", "\xd0\x90", false},
      {"/[\\x{430}-\\x{44f}]/i", "\xd0\x90", true},  // А under /i
      {"/\\x{410}/i", "\xd0\xb0", true},
      {"/[a\\x{100}-\\x{10ffff}]/", "\xf0\x9f\x98\x80", true},
      {"/[a\\x{100}-\\x{10ffff}]/", "a", true},
      {"/[a\\x{100}-\\x{10ffff}]/", "\xc3\xa4", false},
      {"/^[^\\x{100}]$/", "\xc4", true},  // a negated class consumes one byte
      {"/\\400/", "\xc4\x80", true},      // octal above 0377 is U+0100
  };
  for (const Case& c : kCases) {
    auto compiled = MustCompile(c.regex);
    ASSERT_NE(compiled, nullptr) << c.regex;
    EXPECT_EQ(compiled->pc->Matches(c.subject), c.match) << c.regex << " (PCRE2)";
    EXPECT_EQ(compiled->db->Matches(c.subject), c.match)
        << c.regex << " (Hyperscan: " << compiled->hs.expression << ")";
  }
}

TEST(TranslateTest, OctalAndControlEscapes) {
  EXPECT_EQ(MustTranslate("/\\223/").expression, "\\x93");
  EXPECT_EQ(MustTranslate("/\\101\\102/").expression, "AB");
  EXPECT_EQ(MustTranslate("/\\e\\cA\\0/").expression, "\\x1b\\x01\\x00");
  EXPECT_EQ(MustTranslate("/\\x{41}\\x4/").expression, "A\\x04");
  // A NUL in the pattern must not cut Hyperscan's C string.
  auto nul = MustCompile("/a\\0b/");
  ASSERT_NE(nul, nullptr);
  EXPECT_TRUE(nul->db->Matches(std::string("a\0b", 3)));
  EXPECT_FALSE(nul->db->Matches("a"));
  EXPECT_TRUE(nul->pc->Matches(std::string("xa\0b", 4)));
}

TEST(TranslateTest, Latin1CaseFoldingUnderI) {
  // §7.2: /i folds the Latin-1 pairs C0-DE <-> E0-FE except D7/F7, in both engines.
  for (int upper = 0xC0; upper <= 0xDE; ++upper) {
    std::string lower(1, static_cast<char>(upper + 32));
    char regex[32];
    std::snprintf(regex, sizeof regex, "/\\x%02x/i", upper);
    auto c = MustCompile(regex);
    ASSERT_NE(c, nullptr);
    bool expect = upper != 0xD7;
    EXPECT_EQ(c->db->Matches(lower), expect) << regex << " -> " << c->hs.expression;
    EXPECT_EQ(c->pc->Matches(lower), expect) << regex;
  }
  auto range = MustCompile("/^[\\xc0-\\xdf]+$/i");
  ASSERT_NE(range, nullptr);
  EXPECT_TRUE(range->db->Matches("\xe5\xe0\xdf"));
  EXPECT_TRUE(range->pc->Matches("\xe5\xe0\xdf"));
  EXPECT_FALSE(range->pc->Matches("\xf7"));
  // Without /i, or under /d, no Latin-1 folding.
  for (const char* regex : {"/\\xe4/", "/\\xe4/di", "/(?^i:\\xe4)/"}) {
    auto c = MustCompile(regex);
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->db->Matches("\xc4")) << regex;
    EXPECT_FALSE(c->pc->Matches("\xc4")) << regex;
    EXPECT_TRUE(c->pc->Matches("\xe4")) << regex;
  }
  // Raw 8-bit bytes in the source fold too (UTF-8 lead bytes: \xc3 also matches \xe3).
  auto raw = MustCompile("/caf\xc3\xa9/i");
  ASSERT_NE(raw, nullptr);
  EXPECT_TRUE(raw->db->Matches("CAF\xe3\xa9"));
  EXPECT_TRUE(raw->pc->Matches("CAF\xe3\xa9"));
  // Back-references fold like Perl's too (PCRE2 runs with Latin-1 case tables).
  auto backref = MustCompile("/(\\xc4)\\1/i");
  ASSERT_NE(backref, nullptr);
  EXPECT_TRUE(backref->pc->Matches("\xc4\xe4"));
  // No multi-character or cross-range folds under /aa.
  auto sharp_s = MustCompile("/\\xdf/i");
  ASSERT_NE(sharp_s, nullptr);
  EXPECT_FALSE(sharp_s->pc->Matches("ss"));
  EXPECT_FALSE(sharp_s->db->Matches("ss"));
}

TEST(TranslateTest, AnchorsFollowPerl) {
  struct Case {
    const char* regex;
    const char* subject;
    bool match;
  };
  const Case kCases[] = {
      {"/a$/", "a", true},        {"/a$/", "a\n", true},     {"/a$/", "a\r\n", false},
      {"/a$/", "a\n\n", false},   {"/a$/m", "a\nb", true},   {"/a\\Z/", "a\n", true},
      {"/a\\Z/", "a\r\n", false}, {"/a\\z/", "a\n", false},  {"/a\\z/", "a", true},
      {"/\\Aa/", "ba", false},    {"/^b/", "a\nb", false},   {"/^b/m", "a\nb", true},
      {"/^$/m", "a\n", false},    {"/^$/m", "a\n\nb", true}, {"/^$/", "\n", true},
  };
  for (const Case& c : kCases) {
    auto compiled = MustCompile(c.regex);
    ASSERT_NE(compiled, nullptr);
    EXPECT_FALSE(compiled->hs.prefilter) << c.regex;
    EXPECT_EQ(compiled->db->Matches(c.subject), c.match) << c.regex << " (Hyperscan)";
    EXPECT_EQ(compiled->pc->Matches(c.subject), c.match) << c.regex << " (PCRE2)";
  }
}

TEST(TranslateTest, WordBoundaryAndClassesAreAscii) {
  struct Case {
    const char* regex;
    const char* subject;
    bool match;
  };
  const Case kCases[] = {
      {"/\\bx\\b/", "\xe9x\xe9", true},  // é is a non-word byte
      {"/\\bx/", "ax", false},
      {"/\\Bx/", "\xe9x", false},
      {"/\\w/", "\xe9", false},
      {"/\\w/", "\xc3\xa9", false},
      {"/\\d/", "\xb2", false},
      {"/\\s/", "\x0b", true},  // Perl 5.18+ \s includes VT
      {"/\\s/", "\xa0", false},
      {"/\\s/", "\x85", false},
      {"/\\h/", "\xa0", true},  // \h and \v are not limited by /a
      {"/\\v/", "\x85", true},
      {"/[[:alpha:]]/", "\xe9", false},
      {"/[[:space:]]/", "\x0b", true},
      {"/./", "\n", false},
      {"/./", "\xff", true},
      {"/./s", "\n", true},
  };
  for (const Case& c : kCases) {
    auto compiled = MustCompile(c.regex);
    ASSERT_NE(compiled, nullptr);
    EXPECT_EQ(compiled->db->Matches(c.subject), c.match)
        << c.regex << " (Hyperscan: " << compiled->hs.expression << ")";
    EXPECT_EQ(compiled->pc->Matches(c.subject), c.match) << c.regex << " (PCRE2)";
  }
}

TEST(TranslateTest, EmptyMatchesNeedAllowEmpty) {
  // Header rules on missing headers match the empty string (§3.6).
  for (const char* regex : {"/^$/", "/^\\s*$/", "//", "/a*/", "/(?:foo)?/"}) {
    HyperscanPattern hs = MustTranslate(regex);
    EXPECT_NE(hs.flags & HS_FLAG_ALLOWEMPTY, 0u) << regex;
    auto c = MustCompile(regex);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->db->Matches("")) << regex;
    EXPECT_TRUE(c->pc->Matches("")) << regex;
  }
  EXPECT_EQ(MustTranslate("/a+/").flags & HS_FLAG_ALLOWEMPTY, 0u);
  auto c = MustCompile("/^$/");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->db->Matches("a"));
  EXPECT_TRUE(c->db->Matches("\n"));
}

TEST(TranslateTest, PrefilterForUnsupportedConstructs) {
  struct Case {
    const char* regex;
    const char* why;
    const char* maybe;    // a subject Hyperscan's prefilter must report
    const char* confirm;  // ... which PCRE2 confirms
    bool confirmed;
  };
  const Case kCases[] = {
      {"/foo(?=bar)/", "lookahead", "foobar", "foobar", true},
      {"/foo(?!bar)/", "lookahead", "foobaz", "foobar", false},
      {"/(?<=ab)c/", "lookbehind", "abc", "abc", true},
      {"/(?<!x)y/", "lookbehind", "ay", "xy", false},
      {"/(\\w)\\1/", "backreference", "aa", "ab", false},
      {"/(?<n>\\w)\\k<n>/", "backreference", "bb", "bb", true},
      {"/a++b/", "possessive", "aab", "aab", true},
      {"/a{1,3}+a/", "possessive", "aaa", "aaa", false},
      {"/(?>a+)b/", "atomic", "aab", "aab", true},
      {"/(?>a+)a/", "atomic", "aa", "aa", false},
      {"/x\\R/", "atomic", "x\r\n", "x\r\n", true},
      {"/(x)?(?(1)a|b)/", "conditional", "xa", "xc", false},
      {"/a\\Kb/", "\\K", "ab", "ab", true},
  };
  for (const Case& c : kCases) {
    auto compiled = MustCompile(c.regex);
    ASSERT_NE(compiled, nullptr) << c.regex;
    EXPECT_TRUE(compiled->hs.prefilter) << c.regex;
    EXPECT_NE(compiled->hs.flags & HS_FLAG_PREFILTER, 0u) << c.regex;
    EXPECT_NE(compiled->hs.why_prefilter.find(c.why), std::string::npos)
        << c.regex << ": " << compiled->hs.why_prefilter;
    EXPECT_TRUE(compiled->db->Matches(c.maybe)) << c.regex;
    EXPECT_EQ(compiled->pc->Matches(c.confirm), c.confirmed) << c.regex;
  }
}

TEST(TranslateTest, PrefilterRelaxations) {
  // "Embedded" anchors (^ after consuming items, $ before them) are refused by Hyperscan even
  // as a prefilter; they are dropped from the prefilter.
  auto embedded = MustCompile("/^Message-Id:.*?^Received:/msi");
  ASSERT_NE(embedded, nullptr);
  EXPECT_TRUE(embedded->hs.prefilter);
  EXPECT_EQ(embedded->hs.why_prefilter, "embedded anchor");
  std::string text = "Message-Id: <x@y>\nFrom: a\nReceived: from z\n";
  EXPECT_TRUE(embedded->db->Matches(text));
  EXPECT_TRUE(embedded->pc->Matches(text));
  EXPECT_FALSE(embedded->pc->Matches("Message-Id: <x@y> Received: no"));
  // Large bounded repeats are widened in prefilter mode (the stock __SPOOFED_URL compiled for
  // 23 s in Hyperscan's prefilter mode as written).
  HyperscanPattern wide = MustTranslate("/(?=x)a[^>]{0,2048}b(?:c[^<]{1,1024}){0,99}/");
  EXPECT_TRUE(wide.prefilter);
  EXPECT_EQ(wide.expression.find("2048"), std::string::npos) << wide.expression;
  EXPECT_EQ(wide.expression.find("{0,99}"), std::string::npos) << wide.expression;
  // Patterns Hyperscan could run exactly are widened too when a bounded repeat reaches 32
  // (it compiles [^>]{1,1000} about 100 times slower than [^>]+), and PCRE2 confirms; shorter
  // repeats stay exact.
  HyperscanPattern exact = MustTranslate("/a[^>]{0,2048}b/");
  EXPECT_TRUE(exact.prefilter);
  EXPECT_EQ(exact.why_prefilter, "bounded repeats widened");
  EXPECT_EQ(exact.expression.find("{0,2048}"), std::string::npos) << exact.expression;
  HyperscanPattern short_repeat = MustTranslate("/a[^>]{0,31}b/");
  EXPECT_FALSE(short_repeat.prefilter);
  EXPECT_NE(short_repeat.expression.find("{0,31}"), std::string::npos) << short_repeat.expression;
  // Bounded repeats of groups are widened in prefilter mode whatever their size (Hyperscan
  // unrolls them copy by copy); repeats of one class below 32 stay.
  HyperscanPattern group = MustTranslate("/(?=x)your\\s(?:\\w{1,15}\\s){0,10}share/");
  EXPECT_TRUE(group.prefilter);
  EXPECT_EQ(group.expression.find("{0,10}"), std::string::npos) << group.expression;
  EXPECT_NE(group.expression.find("{1,15}"), std::string::npos) << group.expression;
  auto g = MustCompile("/(?=y)your\\s(?:\\w{1,15}\\s){0,2}share/");
  ASSERT_NE(g, nullptr);
  for (const char* text : {"your big share", "your a b share", "your a b c share", "you share"}) {
    // The prefilter is a superset of what PCRE2 confirms.
    if (g->pc->Matches(text)) {
      EXPECT_TRUE(g->db->Matches(text)) << text;
    }
  }
  EXPECT_TRUE(g->pc->Matches("your a b share"));
  EXPECT_FALSE(g->pc->Matches("your a b c share"));
  EXPECT_TRUE(g->db->Matches("your a b c share"));  // widened: confirmed by PCRE2 only
  // A small exact pattern keeps its group repeat (no widening below kFoldCost).
  HyperscanPattern small = MustTranslate("/(?:ab){2,3}c/");
  EXPECT_FALSE(small.prefilter);
}

TEST(TranslateTest, RejectedPatterns) {
  struct Case {
    const char* regex;
    const char* reason;
  };
  const Case kCases[] = {
      {"/\\y/", "unrecognized escape \\y"},
      {"/\\Qa\\E/", "unrecognized escape \\Q"},
      {"/a**/", "nested quantifiers"},
      {"/a{2}{3}/", "nested quantifiers"},
      {"/*a/", "quantifier follows nothing"},
      {"/(?i)*/", "quantifier follows nothing"},
      {"/\\b*/", "zero-length"},
      {"/a{/", "unescaped left brace"},
      {"/%{GB_TO_ADDR}/", "unescaped left brace"},  // capture templates (§7.5) are not Perl
      {"/a{3,1}/", "n > m"},
      {"/a{65535}/", "65534"},
      {"/\\1/", "nonexistent group"},
      {"/(a)\\2/", "nonexistent group"},
      {"/\\k<x>/", "nonexistent named group"},
      {"/[z-a]/", "invalid [] range"},
      {"/[\\d-z]/", "false [] range"},
      {"/[[:foo:]]/", "POSIX class [:foo:] unknown"},
      {"/[a/", "unmatched ["},
      {"/(a/", "missing )"},
      {"/a)/", "unmatched )"},
      {"/\\p{L}/", "\\p"},
      {"/\\N{LATIN SMALL LETTER A}/", "named characters"},
      {"/(?|a)/", "branch reset"},
      {"/a/a", "/a (single)"},
      {"/a/u", "/l and /u"},
      {"/(?u:a)/", "/l and /u"},
      {"/\\N{U+e4}/d", "/d"},
      {"/\\xg/", "non-hex"},
      {"/\\08/", "non-octal"},
      {"/(*FAIL)/", "unsupported (*FAIL)"},
      {"/a\\bb/", "never match"},  // Hyperscan refuses what can never match
  };
  for (const Case& c : kCases) {
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(c.regex);
    ASSERT_TRUE(re.ok()) << c.regex << ": " << re.status();
    absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
    ASSERT_FALSE(hs.ok()) << c.regex << " -> " << hs->expression;
    EXPECT_EQ(hs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(hs.status().message()).find(c.reason), std::string::npos)
        << c.regex << ": " << hs.status();
  }
}

// ---------------------------------------------------------------------------------------------
// Both engines against Perl: the fixture.

TEST(PerlCasesTest, BothEnginesAgreeWithPerl) {
  std::ifstream in(DataPath("regex_cases.tsv"));
  ASSERT_TRUE(in) << DataPath("regex_cases.tsv");
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '\t');) f.push_back(field);
    ASSERT_EQ(f.size(), 4u) << line;
    std::string subject = Unescape(f[1]);
    bool match = f[2] == "1";
    size_t count = std::stoul(f[3]);
    auto c = MustCompile(f[0]);
    ASSERT_NE(c, nullptr) << f[0];
    ++cases;
    EXPECT_EQ(c->pc->Matches(subject), match) << f[0] << " on \"" << f[1] << "\" (PCRE2)";
    EXPECT_EQ(c->pc->CountMatches(subject), count) << f[0] << " on \"" << f[1] << "\" (//g)";
    bool hs = c->db->Matches(subject);
    if (c->hs.prefilter) {
      if (match) {
        EXPECT_TRUE(hs) << f[0] << " on \"" << f[1] << "\" (prefilter)";
      }
    } else {
      EXPECT_EQ(hs, match) << f[0] << " on \"" << f[1] << "\" (Hyperscan: " << c->hs.expression
                           << ")";
    }
    EXPECT_EQ(c->pc->limit_hits(), 0u) << f[0];
  }
  EXPECT_GT(cases, 130);
}

// ---------------------------------------------------------------------------------------------
// Hyperscan against PCRE2.

TEST(DifferentialTest, HyperscanAgreesWithPcre2) {
  const char* const kPatterns[] = {
      "/\\bfree\\s+money\\b/i",
      "/^Subject: .{0,20}(?:viagra|cialis)/im",
      "/\\$\\d+(?:\\.\\d\\d)?\\b/",
      "/[A-Z]{5,}/",
      "/^[^\\s@]+@[^\\s@]+\\.[a-z]{2,}$/i",
      "/(?:\\xc3[\\xa0-\\xbf]){3}/",
      "/m[\\xe4a]dchen/i",
      "/\\xe9t\\xe9/i",
      "/^\\s*$/",
      "/^$/m",
      "/foo$/",
      "/foo\\Z/",
      "/foo\\z/",
      "/\\Afoo/",
      "/o.b/s",
      "/o.b/",
      "/(?i:FOO)bar/",
      "/a(?i)b|c/",
      "/\\d{3}-\\d{4}/",
      "/[[:punct:]]{3}/",
      "/[^[:alnum:]\\s]{2}/",
      "/\\w+\\@\\w+/",
      "/\\x{263a}|\\x{2639}/",
      "/[\\x{400}-\\x{4ff}]{2}/i",
      "/click\\s+here/i",
      "/(?:a|b|)c/",
      "/x{0}y/",
      "/\\b?z/",
      "/\\\\/",
      "/[\\\\\\]\\-^]/",
      "/a{,2}b/",
      // prefilter patterns
      "/(?=.*free)money/i",
      "/(?<!\\w)ab/",
      "/(\\w)\\1{2}/",
      "/\\d++x/",
      "/(?>\\s+)y/",
      "/^From:.*\\n(?:.*\\n)*^To:/m",
  };
  const char* const kSubjects[] = {
      "",
      "\n",
      "free money",
      "FREE   Money!",
      "freemoney",
      "Subject: cheap VIAGRA now",
      "Subject: x\nSubject: cialis",
      "costs $100.00 today",
      "HELLO WORLD",
      "user@example.com",
      "user@example.com\n",
      "\xc3\xa4\xc3\xb6\xc3\xbc",
      ("M\xc4"  // split so that \xc4 does not swallow the D
       "DCHEN"),
      "\xc9T\xc9",
      "   \t",
      "a\n\nb",
      "foo\n",
      "foo\r\n",
      "foo",
      "xfoo",
      "o\nb",
      "FOObar",
      "fooBAR",
      "C",
      "555-1234",
      "!!!",
      "#$ %",
      "\xe2\x98\xba",
      "\xd0\x96\xd0\xb6",
      "CLICK\tHERE",
      "c",
      "y",
      "z",
      "\\",
      "^",
      "aab",
      "free and more money",
      "xab",
      "aaa",
      "123x",
      "  y",
      "From: a\nX: b\nTo: c\n",
      "\xff\xfe\xc3",
  };
  int checked = 0;
  for (const char* pattern : kPatterns) {
    auto c = MustCompile(pattern);
    ASSERT_NE(c, nullptr) << pattern;
    for (const char* subject_cstr : kSubjects) {
      std::string_view subject = subject_cstr;
      bool pcre = c->pc->Matches(subject);
      bool hs = c->db->Matches(subject);
      if (c->hs.prefilter) {
        if (pcre) {
          EXPECT_TRUE(hs) << pattern << " on \"" << subject << "\": prefilter missed";
        }
      } else {
        EXPECT_EQ(hs, pcre) << pattern << " -> " << c->hs.expression << " on \"" << subject << "\"";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000);
}

// ---------------------------------------------------------------------------------------------
// ConfirmRegex under hostile input.

TEST(ConfirmRegexTest, CatastrophicBacktrackingIsBounded) {
  // Both the JIT and the interpreter path (an atomic group forces the interpreter).
  for (const char* regex : {"/(a+)+$/", "/(?>x|y)?(a+)+$/", "/(a|aa)+$/", "/(\\w+\\s?)+$/"}) {
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(regex);
    ASSERT_TRUE(re.ok());
    absl::StatusOr<std::unique_ptr<ConfirmRegex>> pc = ConfirmRegex::Compile(*re);
    ASSERT_TRUE(pc.ok()) << pc.status();
    std::string text(40, 'a');
    text += '!';
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE((*pc)->Matches(text)) << regex;
    EXPECT_EQ((*pc)->limit_hits(), 1u) << regex;
    EXPECT_EQ((*pc)->CountMatches(text), 0u) << regex;
    EXPECT_EQ((*pc)->limit_hits(), 2u) << regex;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 10.0) << regex;
    // An ordinary subject is unaffected.
    EXPECT_TRUE((*pc)->Matches("aaa")) << regex;
    EXPECT_EQ((*pc)->limit_hits(), 2u) << regex;
  }
}

// 3,000 random subjects per pair over `alphabet` (shorter than max_len; every `every`-th gets
// `extra` before or after it), on which each pair's first regex (rewritten by the engine) and
// second (the same regex written so that it is not) must agree, in Matches and CountMatches.
// Returns how many subjects were compared.
int ExpectSameMatches(const std::vector<std::pair<const char*, const char*>>& pairs,
                      uint32_t seed, std::string_view alphabet, size_t max_len, int every,
                      const std::string& extra, bool extra_first) {
  auto next = [&] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
  };
  int checked = 0;
  for (const auto& [rewritten, interpreted] : pairs) {
    auto a = ParsePerlRegex(rewritten);
    auto b = ParsePerlRegex(interpreted);
    EXPECT_TRUE(a.ok() && b.ok()) << rewritten;
    if (!a.ok() || !b.ok()) continue;
    auto pa = ConfirmRegex::Compile(*a);
    auto pb = ConfirmRegex::Compile(*b);
    EXPECT_TRUE(pa.ok() && pb.ok()) << rewritten;
    if (!pa.ok() || !pb.ok()) continue;
    for (int i = 0; i < 3000; ++i) {
      std::string subject;
      size_t len = next() % max_len;
      for (size_t k = 0; k < len; ++k) subject += alphabet[next() % alphabet.size()];
      if (i % every == 0) subject = extra_first ? extra + subject : subject + extra;
      EXPECT_EQ((*pa)->Matches(subject), (*pb)->Matches(subject))
          << rewritten << " on \"" << subject << "\"";
      EXPECT_EQ((*pa)->CountMatches(subject), (*pb)->CountMatches(subject))
          << rewritten << " on \"" << subject << "\"";
      ++checked;
    }
  }
  return checked;
}

// An atomic group around one greedy repeat of a single character or class runs as a possessive
// repeat on the JIT; it must match exactly what the interpreter's atomic group matches (the
// same group written so that it is not rewritten: "(?:X)" instead of "X").
TEST(ConfirmRegexTest, AtomicSingleRepeatMatchesLikeTheAtomicGroup) {
  const std::vector<std::pair<const char*, const char*>> kPairs = {
      {"/^(?>\\s{0,3})x/m", "/^(?>(?:\\s){0,3})x/m"},
      {"/(?>\\s{0,3})\\s/", "/(?>(?:\\s){0,3})\\s/"},
      {"/a(?>b*)b/", "/a(?>(?:b)*)b/"},
      {"/a(?>b+)c/", "/a(?>(?:b)+)c/"},
      {"/a(?>[b-d]{2,})d/i", "/a(?>(?:[b-d]){2,})d/i"},
      {"/a(?>[^x]?)y/", "/a(?>(?:[^x])?)y/"},
      {"/(?>\\d{2,4})5/", "/(?>(?:\\d){2,4})5/"},
      {"/(?>\\s{0,50})(?:your|full)\\s+name/im", "/(?>(?:\\s){0,50})(?:your|full)\\s+name/im"},
  };
  EXPECT_EQ(ExpectSameMatches(kPairs, 12345, "abcdxy5 \t\nBCD1234", 12, 7, "  \n   your  name\n",
                              /*extra_first=*/true),
            8 * 3000);
}

// Whether "(?:^|\s)REST" matches is answered on the JIT by "(?<!\S)REST"; it must agree with
// the interpreter on the same regex written so that it is not rewritten ("(?:^|(?:\s))"), and
// counting (//g) keeps the original regex.
TEST(ConfirmRegexTest, LeadingAnchorAlternationMatchesLikeTheInterpreter) {
  const std::vector<std::pair<const char*, const char*>> kPairs = {
      {"/(?:^|\\s)your\\s(?:pass|pwd)/i", "/(?:^|(?:\\s))your\\s(?:pass|pwd)/i"},
      {"/(?:^|\\W)(?=a)ab|cd/", "/(?:^|(?:\\W))(?=a)ab|cd/"},
      {"/(?:^|\\s)a+b?/m", "/(?:^|(?:\\s))a+b?/m"},
      {"/(?:^|\\W)(?!abc)[ab]{2}c/", "/(?:^|(?:\\W))(?!abc)[ab]{2}c/"},
      {"/(?:^|\\s)(?i)x(?-i)y/", "/(?:^|(?:\\s))(?i)x(?-i)y/"},
  };
  EXPECT_EQ(ExpectSameMatches(kPairs, 777, "abcdxyXYPpw ,\n", 14, 5, " your pass",
                              /*extra_first=*/false),
            5 * 3000);
}

std::string Alternation(int words) {
  std::string pattern = "/\\b(?:";
  for (int i = 0; i < words; ++i) {
    if (i > 0) pattern += '|';
    pattern += "word" + std::to_string(i * 7919 % 100000) + "x";
  }
  return pattern + ")\\b/i";
}

TEST(ConfirmRegexTest, HugeAlternation) {
  auto c = MustCompile(Alternation(300));  // 3.5 KB; Hyperscan needs ~1 s to compile it
  ASSERT_NE(c, nullptr);
  // Expensive for Hyperscan (static cost over kExpensiveCost): its 300 literals gate PCRE2.
  EXPECT_TRUE(c->hs.gated);
  EXPECT_TRUE(c->hs.prefilter);
  std::string hit = "some text WORD" + std::to_string(150 * 7919 % 100000) + "X here";
  EXPECT_TRUE(c->pc->Matches(hit));
  EXPECT_TRUE(c->db->Matches(hit));
  EXPECT_FALSE(c->pc->Matches("some text word12345y here"));
  EXPECT_FALSE(c->db->Matches("some text word12345y here"));
  // Beyond both engines' limits (Hyperscan: 16 K pattern characters; PCRE2 with Debian's
  // LINK_SIZE=2: 64 KB of compiled code): a clean error, not a crash.
  absl::StatusOr<PerlRegex> huge = ParsePerlRegex(Alternation(20000));
  ASSERT_TRUE(huge.ok());
  absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*huge);
  ASSERT_FALSE(hs.ok());
  EXPECT_NE(std::string(hs.status().message()).find("too large"), std::string::npos)
      << hs.status().message().substr(0, 200);
  EXPECT_FALSE(ConfirmRegex::Compile(*huge).ok());
}

TEST(ConfirmRegexTest, InvalidUtf8Subject) {
  const std::string kSubjects[] = {
      "\xff\xfe\xfd",        "\xc3", "\xe2\x98", "\xed\xa0\x80", std::string("\0\xc0\x80", 3),
      "\xf8\x88\x80\x80\x80"};
  for (const char* regex :
       {"/./", "/\\x{263a}/", "/[\\x{100}-\\x{10ffff}]/", "/\\W+/i", "/[\\xc0-\\xff]+/i"}) {
    auto c = MustCompile(regex);
    ASSERT_NE(c, nullptr);
    for (const std::string& s : kSubjects) {
      EXPECT_EQ(c->pc->Matches(s), c->db->Matches(s)) << regex;
      c->pc->CountMatches(s);
    }
  }
  auto dot = MustCompile("/^.{3}$/");
  ASSERT_NE(dot, nullptr);
  EXPECT_TRUE(dot->pc->Matches("\xff\xfe\xfd"));  // bytes, not characters
  EXPECT_TRUE(dot->db->Matches("\xff\xfe\xfd"));
  EXPECT_TRUE(dot->pc->Matches("\xe2\x98\xba"));  // one character, three bytes
}

TEST(ConfirmRegexTest, EmptyPatternMatchesEverywhere) {
  auto c = MustCompile("//");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->re.pattern, "");
  EXPECT_TRUE(c->pc->Matches(""));
  EXPECT_TRUE(c->pc->Matches("abc"));
  EXPECT_TRUE(c->db->Matches(""));
  EXPECT_EQ(c->pc->CountMatches("abc"), 4u);  // Perl: "" at 0, 1, 2, 3
  EXPECT_EQ(c->pc->CountMatches("abc", 2), 2u);
  EXPECT_EQ(c->pc->CountMatches(std::string_view()), 1u);
}

TEST(ConfirmRegexTest, CountMatchesFollowsPerlGlobalMatching) {
  struct Case {
    const char* regex;
    const char* subject;
    size_t max;
    size_t count;
  };
  const Case kCases[] = {
      {"/\\d+/", "1 22 333 4444", 0, 4},
      {"/\\d+/", "1 22 333 4444", 2, 2},
      {"/a*?/", "aaa", 0, 7},
      {"/(?:)|a/", "a", 0, 3},
      {"/aa/", "aaaaa", 0, 2},
      {"/^\\w/m", "ab\ncd\n", 0, 2},
      {"/(?<=a)b/", "abab", 0, 2},
      {"/\\bfoo/i", "Foo foo FOO xfoo", 0, 3},
  };
  for (const Case& c : kCases) {
    auto compiled = MustCompile(c.regex);
    ASSERT_NE(compiled, nullptr);
    EXPECT_EQ(compiled->pc->CountMatches(c.subject, c.max), c.count) << c.regex;
  }
}

TEST(ConfirmRegexTest, SharedAcrossThreads) {
  auto c = MustCompile("/(\\w+)\\s+\\1/i");  // prefilter pattern, JIT
  ASSERT_NE(c, nullptr);
  auto interp = MustCompile("/(?>a|ab)c|\\bfoo\\b/");  // interpreter
  ASSERT_NE(interp, nullptr);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!c->pc->Matches("this is is it")) ++wrong;
        if (c->pc->Matches("this was it")) ++wrong;
        if (c->pc->CountMatches("a a b b c d d", 0) != 3) ++wrong;
        if (!interp->pc->Matches("x foo y")) ++wrong;
        if (interp->pc->Matches("abc")) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(c->pc->limit_hits(), 0u);
}

// ---------------------------------------------------------------------------------------------
// The stock rule set.

struct StockRule {
  std::string where;  // file:line
  std::string name;
  std::string regex;
  bool replace_tags = false;  // unexpanded ReplaceTags placeholders (§6)
  bool template_tag = false;  // %{NAME} capture template (§7.5)
};

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// §1.2: a '#' not preceded by a backslash starts a comment; then "\#" becomes "#".
std::string StripComment(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) break;
    out += line[i];
  }
  std::string unescaped;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\' && i + 1 < out.size() && out[i + 1] == '#') continue;
    unescaped += out[i];
  }
  return Trim(unescaped);
}

std::vector<StockRule> ExtractStockRules(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".cf") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  // First pass: ReplaceTags names and the rules they apply to.
  std::set<std::string> tags, replace_rules;
  std::vector<std::pair<std::string, std::vector<std::string>>> lines;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<std::string> content;
    for (std::string line; std::getline(in, line);) content.push_back(StripComment(line));
    for (const std::string& l : content) {
      std::stringstream ss(l);
      std::string key, value;
      ss >> key;
      if (key == "replace_tag" || key == "replace_inter" || key == "replace_post" ||
          key == "replace_pre") {
        ss >> value;
        tags.insert("<" + value + ">");
      } else if (key == "replace_rules") {
        while (ss >> value) replace_rules.insert(value);
      }
    }
    lines.emplace_back(file.filename().string(), std::move(content));
  }
  std::vector<StockRule> rules;
  static const std::set<std::string> kTypes = {"body", "rawbody", "header",
                                               "uri",  "full",    "mimeheader"};
  for (const auto& [file, content] : lines) {
    for (size_t n = 0; n < content.size(); ++n) {
      const std::string& l = content[n];
      std::stringstream ss(l);
      std::string type, name;
      ss >> type >> name;
      if (!kTypes.count(type) || name.empty()) continue;
      std::string rest;
      std::getline(ss, rest);
      rest = Trim(rest);
      if (rest.rfind("eval:", 0) == 0 || rest.rfind("exists:", 0) == 0 || rest.empty()) continue;
      if (type == "header" || type == "mimeheader") {
        size_t op = rest.find("=~");
        if (op == std::string::npos) op = rest.find("!~");
        if (op == std::string::npos) continue;
        rest = Trim(rest.substr(op + 2));
        size_t unset = rest.rfind("[if-unset:");
        if (unset != std::string::npos && rest.back() == ']') rest = Trim(rest.substr(0, unset));
      }
      StockRule rule{file + ":" + std::to_string(n + 1), name, rest};
      rule.replace_tags =
          replace_rules.count(name) > 0 || rest.find("<inter ") != std::string::npos ||
          rest.find("<post ") != std::string::npos || rest.find("<pre ") != std::string::npos;
      for (const std::string& tag : tags) {
        if (rest.find(tag) != std::string::npos) rule.replace_tags = true;
      }
      rule.template_tag = rest.find("%{") != std::string::npos;
      rules.push_back(std::move(rule));
    }
  }
  return rules;
}

TEST(StockRulesTest, EveryStockRegexTranslates) {
  const std::filesystem::path dir = "/usr/share/spamassassin";
  if (!std::filesystem::exists(dir / "72_active.cf")) {
    GTEST_SKIP() << dir << " is absent (Debian package spamassassin 4.0.1 provides it)";
  }
  std::vector<StockRule> rules = ExtractStockRules(dir);
  ASSERT_GT(rules.size(), 1000u);

  size_t exact = 0, prefilter = 0, rejected = 0;
  size_t ordinary = 0, ordinary_usable = 0;
  std::map<std::string, int> why_prefilter, why_rejected, special_rejected;
  std::vector<std::string> rejected_list;
  size_t special = 0, special_usable = 0;
  auto start = std::chrono::steady_clock::now();
  for (const StockRule& rule : rules) {
    bool is_special = rule.replace_tags || rule.template_tag;
    (is_special ? special : ordinary)++;
    std::string error;
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(rule.regex);
    absl::StatusOr<HyperscanPattern> hs = absl::InternalError("not run");
    if (!re.ok()) {
      error = std::string(re.status().message());
    } else {
      hs = TranslateForHyperscan(*re);
      if (!hs.ok()) {
        error = std::string(hs.status().message());
      } else {
        absl::StatusOr<std::unique_ptr<ConfirmRegex>> pc = ConfirmRegex::Compile(*re);
        if (!pc.ok()) error = "PCRE2: " + std::string(pc.status().message());
      }
    }
    if (error.empty()) {
      (hs->prefilter ? prefilter : exact)++;
      if (hs->prefilter) why_prefilter[hs->why_prefilter]++;
      (is_special ? special_usable : ordinary_usable)++;
      continue;
    }
    ++rejected;
    std::string reason = error.substr(0, error.find(" at offset"));
    (is_special ? special_rejected : why_rejected)[reason]++;
    rejected_list.push_back(rule.where + " " + rule.name +
                            (is_special ? " [ReplaceTags/%{}]" : "") + ": " + reason);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("stock regex rules: %zu (%zu with unexpanded ReplaceTags or %%{} templates)\n",
              rules.size(), special);
  std::printf("  exact:     %zu (%.1f%%)\n", exact, 100.0 * exact / rules.size());
  std::printf("  prefilter: %zu (%.1f%%)\n", prefilter, 100.0 * prefilter / rules.size());
  for (const auto& [why, n] : why_prefilter) std::printf("    %4d  %s\n", n, why.c_str());
  std::printf("  rejected:  %zu (%.1f%%)\n", rejected, 100.0 * rejected / rules.size());
  for (const auto& [why, n] : why_rejected) std::printf("    %4d  %s\n", n, why.c_str());
  for (const auto& [why, n] : special_rejected) {
    std::printf("    %4d  %s  [ReplaceTags/template, before expansion]\n", n, why.c_str());
  }
  for (const std::string& r : rejected_list) std::printf("    %s\n", r.c_str());
  std::printf("  translate + confirm-compile time: %.1f s\n", seconds);

  EXPECT_GE(100 * (exact + prefilter), 97 * rules.size());
  // Ordinary rules (no placeholders) are all usable on the pinned package.
  EXPECT_GE(1000 * ordinary_usable, 995 * ordinary);
}

// AnalyzeExpression: the static cost and literal gate of canonical Hyperscan expressions.
TEST(AnalyzeExpressionTest, GatesAndCosts) {
  struct Case {
    const char* expression;
    std::vector<std::string> gate;  // expected; empty: none
  };
  const Case kCases[] = {
      // "free" followed by the first byte of \s+: longer than "free" alone.
      {"\\bfree\\s+(?:money|cash)\\b", {"free\t", "free\n", "free\v", "free\f", "free\r", "free "}},
      {"colou?r\\x20[Pp]ink", {"color pink", "colour pink"}},
      {"(?:abc|def)+x", {"abcx", "defx"}},   // the repeat's last copy is followed by x
      {"ad+res+e?", {"dres"}},              // a repeat's edges join the literals around it
      {"of+ice|ter+itory", {"fice", "ritory"}},
      {"x(?:ab)*y", {"x"}},                  // (?:ab)* may be empty: x and y stay apart
      {"(?=foo)bar", {"bar"}},               // lookaround is ignored
      {"(?:a|)bcd", {"bcd"}},               // "abcd" contains "bcd": redundant
      {"(?:abc)?", {}},                      // may match the empty string
      {"(\\w+)\\w\\1", {}},                   // a back-reference is anything
      {"[A-Za-z]+\\w", {}},                  // wide classes
      {"PRICE\\x24", {"price$"}},            // lower-cased: the gate is matched caselessly
      {"(?i)(?:x|y)(?:1|2)zz", {"x1zz", "x2zz", "y1zz", "y2zz"}},
  };
  for (const Case& c : kCases) {
    ExpressionFacts f = AnalyzeExpression(c.expression);
    EXPECT_EQ(f.gate, c.gate) << c.expression;
  }
  // Bounded repeats of a group multiply; of a single class they do not.
  EXPECT_GT(AnalyzeExpression("(?:ab[^\\,]{1,90}c){200}").cost, kExpensiveCost);
  EXPECT_LT(AnalyzeExpression("a[^>]{0,2048}b").cost, 100);
  // Anything unreadable is expensive and ungated, never a crash.
  for (const char* bad : {"(", "[a", "a{2", "(?<", "\\", "a)"}) {
    ExpressionFacts f = AnalyzeExpression(bad);
    EXPECT_TRUE(f.gate.empty()) << bad;
    EXPECT_GT(f.cost, kExpensiveCost) << bad;
  }
  EXPECT_EQ(GateExpression({"a.b", "c d"}), "a\\x2eb|c\\x20d");
  // A repeated group needs its literals that often, in order.
  ExpressionFacts three = AnalyzeExpression("(?:abc(?:de|fg)){3,5}");
  EXPECT_EQ(three.gate_count, 3u);
  EXPECT_EQ(GateExpression({"ab"}, 2), "(?:ab)[\\x00-\\xff]*(?:ab)");
  EXPECT_EQ(AnalyzeExpression("x(?:abc){3}").gate_count, 1u);
  // Hostile nesting: an error or "cannot read", never a stack overflow.
  std::string deep = std::string(100000, '(') + "a" + std::string(100000, ')');
  EXPECT_GT(AnalyzeExpression(deep).cost, kExpensiveCost);
  EXPECT_EQ(CoarsenExpression(deep), deep);
  absl::StatusOr<PerlRegex> re = ParsePerlRegex("/" + deep + "/");
  ASSERT_TRUE(re.ok());
  absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
  ASSERT_FALSE(hs.ok());
  EXPECT_NE(std::string(hs.status().message()).find("too deeply nested"), std::string::npos);
}

// CoarsenExpression: alternations of fixed byte sequences become one class per position.
TEST(AnalyzeExpressionTest, Coarsen) {
  EXPECT_EQ(CoarsenExpression("(?:[Pp]|[\\xce\\xee]\\xa1|\\xd0\\xa0)x"),
            "(?:[Pp]|[\\xce\\xd0\\xee][\\xa0\\xa1])x");
  EXPECT_EQ(CoarsenExpression("\\xf0\\x9d(?:\\x90[\\x8f\\xa9]|\\x91\\x83)"),
            "\\xf0\\x9d(?:[\\x90\\x91][\\x83\\x8f\\xa9])");
  // Nothing to gain, or not fixed sequences: unchanged.
  for (const char* same : {"abc", "a(?:b|cd)+", "(?:a.|bc)", "(?=x)(?:ab|c\\b)", "(", "a{2"}) {
    EXPECT_EQ(CoarsenExpression(same), same) << same;
  }
  // A superset: whatever the original matches, the coarse one matches.
  std::string coarse = CoarsenExpression("(?:ab|cd)(?:e|f)");
  EXPECT_EQ(coarse, "(?:[ac][bd])(?:[ef])");
}

// FoldRunsExpression: branches of UTF-8 look-alike letters become one run of high bytes,
// numeric-reference digits one bounded run; ASCII branches stay; the result is a superset.
TEST(AnalyzeExpressionTest, FoldRuns) {
  EXPECT_EQ(FoldRunsExpression(
                "(?:[Pp]|[\\xce\\xee]\\xa1|\\xf0\\x9d(?:\\x90[\\x8f\\xa9]|\\x91\\x83))x"),
            "(?:[Pp]|[\\x80-\\xff]+)x");
  EXPECT_EQ(FoldRunsExpression("&\\#(?:1(?:0[12]|13)|2(?:0[0-3]|3[2-5])|400);"),
            "\\&\\#(?:[124][0-5]{2})\\;");
  EXPECT_EQ(FoldRunsExpression("(?:1|22|x)"), "(?:[12x]2{0,1})");
  // One high branch, an empty branch, ASCII words, lookaround, unparseable: unchanged.
  for (const char* same : {"(?:a|\\xc3\\xa4)", "(?:\\xc3\\xa4|(?:\\xc3)?)", "a(?:b|cd)+",
                           "(?:abc|def|ghi)", "(?!\\xc3\\xa4|\\xc3\\xb6)x", "(", "a{2"}) {
    EXPECT_EQ(FoldRunsExpression(same), same) << same;
  }
  // Superset, checked with Hyperscan on random texts over the bytes the patterns use.
  const char* kPatterns[] = {
      "(?:[Pp]|[\\xce\\xee]\\xa1|\\xf0\\x9d(?:\\x90[\\x8f\\xa9]|\\x91\\x83)){1,2}\\W?(?:[Aa]|"
      "\\xc3[\\xa0-\\xa5]|\\xd0\\xb0)",
      "\\b(?:[Ee3]|&\\#(?:1(?:0[12]|13)|2(?:0[0-3]|3[2-5])|400);|\\xc3[\\xa8-\\xab])x",
      "(?:1|22|x)(?:\\xc3\\xa4|\\xc3\\xb6)+b",
  };
  const std::string kBytes = "Pp Aa3Eex12b&#;0\xce\xee\xa1\xf0\x9d\x90\x8f\xa9\x91\x83\xc3\xa0\xa8\xd0\xb0\xa4\xb6";
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
  };
  for (const char* pattern : kPatterns) {
    HyperscanPattern exact, folded;
    exact.expression = pattern;
    folded.expression = FoldRunsExpression(pattern);
    ASSERT_NE(folded.expression, exact.expression) << pattern;
    folded.flags = HS_FLAG_PREFILTER;
    HsPattern a(exact), b(folded);
    ASSERT_EQ(a.error(), "") << pattern;
    ASSERT_EQ(b.error(), "") << folded.expression;
    size_t hits = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string text;
      for (size_t n = next() % 12; n > 0; --n) text.push_back(kBytes[next() % kBytes.size()]);
      if (a.Matches(text)) {
        ++hits;
        EXPECT_TRUE(b.Matches(text)) << pattern << " on " << text;
      }
    }
    EXPECT_GT(hits, 0u) << pattern;
  }
}

}  // namespace
}  // namespace veto::rules
