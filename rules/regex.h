// veto/rules/regex.h — SpamAssassin's Perl regexes, made ready for Hyperscan and PCRE2.
//
// A rule's regex arrives as written in a .cf file ("/foo\s+bar/i", "m{x}s", "m,a|b,").
// ParsePerlRegex splits it into pattern and modifiers exactly as SpamAssassin 4.0.1 does
// (../shared/docs/spamassassin-semantics.md §7.1). TranslateForHyperscan then rewrites it for
// Hyperscan with SpamAssassin's implicit semantics (§7.2: /aa — ASCII \d \s \w \b, POSIX
// classes; bytes, not characters; Perl's Latin-1 case folding under /i for bytes 0xC0-0xFE),
// and decides whether Hyperscan can match it exactly or only as a prefilter whose hits must
// be confirmed with PCRE2 (lookaround, backreferences, possessive and atomic groups, ...).
//
//   absl::StatusOr<PerlRegex> re = ParsePerlRegex("/\\bfree\\s+money\\b/i");
//   absl::StatusOr<HyperscanPattern> hs = TranslateForHyperscan(*re);
//   // hs->expression, hs->flags go to hs_compile_multi; if hs->prefilter, confirm with:
//   absl::StatusOr<std::unique_ptr<ConfirmRegex>> pc = ConfirmRegex::Compile(*re);
//   (*pc)->Matches(text);          // Perl semantics, bounded by match/depth limits
//   (*pc)->CountMatches(text, 10); // non-overlapping global matches (tflags multiple)
//
// Thread-safety: PerlRegex / HyperscanPattern are values. A ConfirmRegex is immutable after
// Compile and may be shared by threads; its match data is per call (or per thread).
#ifndef VETO_RULES_REGEX_H_
#define VETO_RULES_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace veto::rules {

struct PerlRegex {
  std::string pattern;    // between the delimiters, unescaped delimiter kept as written
  std::string modifiers;  // the letters after the closing delimiter, e.g. "i", "ms"
};

// Splits "/re/flags", "m{re}flags", "m(re)", "m<re>", "m[re]", "mXreX" (X any non-word,
// non-backslash character), "qr..." likewise. Errors (InvalidArgument, with a short reason):
// unknown delimiter, unterminated pattern, an unescaped end delimiter inside the pattern
// (for end delimiters other than } ) ]), the modifier "e", other invalid modifiers, `(?{`.
absl::StatusOr<PerlRegex> ParsePerlRegex(std::string_view text);

struct HyperscanPattern {
  std::string expression;  // for hs_compile_multi
  unsigned flags = 0;      // HS_FLAG_* (CASELESS, DOTALL, MULTILINE, UTF8, UCP, PREFILTER, ...)
                           // SINGLEMATCH / SOM are left to the caller
  bool prefilter = false;  // Hyperscan over-approximates: confirm each hit with PCRE2
  std::string why_prefilter;  // e.g. "lookahead", "backreference"
  // `expression` is not the pattern but its literal gate (regex_analysis.h): an alternation
  // of literals every match contains, matched caselessly; prefilter is set (confirm a hit).
  bool gated = false;
  // When gated: how many gate literals (matches of `expression`, counted by their end offsets)
  // a text must contain before it is confirmed; more than 1 when the whole pattern is a group
  // repeated that often ((?:...){3} needs three).
  size_t gate_count = 1;
  double cost = 0;  // AnalyzeExpression's static compile-cost estimate of the pattern
  // The shortest literal every match of `expression` contains (AnalyzeExpression's gate), 0
  // when none is known: Hyperscan decomposes patterns around such literals, while patterns
  // without one become automata it merges with each other, at a compile cost that grows fast
  // with their number, so the engine keeps those in small databases.
  size_t literal_length = 0;
  // Not set by TranslateForHyperscan: the engine's RE2 form of a bare pattern (re2_set.h,
  // Re2Expression), empty if it has none, and RE2's program size for it.
  std::string re2_expression;
  int re2_program = 0;
  // Not set by TranslateForHyperscan either: for a prefilter or gated pattern, the RE2 form of
  // its exact translation (TranslateExactly), which confirms its hits instead of PCRE2.
  std::string re2_exact;
  int re2_exact_program = 0;  // RE2's program size for re2_exact (its DFA budget)
};

// Patterns whose static cost (AnalyzeExpression) is above this are not given to Hyperscan
// as they are: they run behind their literal gate when they have one of at least
// kMinGateLength bytes, else as a prefilter with large repeats widened. Deterministic, so the
// same rules compile the same way on a loaded and an idle machine.
inline constexpr double kExpensiveCost = 2000;
inline constexpr size_t kMinGateLength = 2;
// Patterns whose static cost is above this get their alternations of UTF-8 look-alike letters
// folded into runs of high bytes (FoldRunsExpression) and run as a prefilter: Hyperscan
// compiles those shapes 10-50x faster folded, and PCRE2 confirms the (rare) hits.
inline constexpr double kFoldCost = 250;

// Rewrites a parsed Perl regex for Hyperscan (see the file comment). Fails with
// InvalidArgument (and a reason) for patterns neither Hyperscan nor PCRE2 can run the same
// way. Checks the result with hs_expression_info; a pattern Hyperscan refuses in exact mode
// but accepts with HS_FLAG_PREFILTER is returned with prefilter = true; an expensive one
// (kExpensiveCost) or one Hyperscan refuses in any form is returned gated when it has a
// literal gate.
absl::StatusOr<HyperscanPattern> TranslateForHyperscan(const PerlRegex& re);

// The translation in Hyperscan's syntax and flags whatever Hyperscan would make of it (no cost
// checks, no prefilter relaxations, not checked by Hyperscan): for another engine that reads
// the same syntax (re2_set.h's Re2Expression). Fails when the syntax can only over-approximate
// the regex (e.g. recursion).
absl::StatusOr<HyperscanPattern> TranslateExactly(const PerlRegex& re);

// A PCRE2 (JIT where available) compilation of the same regex with SpamAssassin's semantics,
// used to confirm prefilter hits and to count `multiple` hits the way Perl's //g does.
class ConfirmRegex {
 public:
  // Match limits bound the work per call (catastrophic backtracking gives "no match" and
  // bumps limit_hits(), never a hang).
  static absl::StatusOr<std::unique_ptr<ConfirmRegex>> Compile(const PerlRegex& re,
                                                              uint32_t match_limit = 100000,
                                                              uint32_t depth_limit = 5000);
  virtual ~ConfirmRegex() = default;

  virtual bool Matches(std::string_view text) const = 0;
  // Non-overlapping leftmost matches, restarting after each, at most `max` (0 = no limit). As
  // in Perl's //g, after an empty match the next match may not be empty at the same place
  // (it is searched from there, so a non-empty match at that offset still counts).
  virtual size_t CountMatches(std::string_view text, size_t max = 0) const = 0;
  // How many calls stopped on a match or depth limit (a pathological pattern or input).
  virtual size_t limit_hits() const = 0;

  // The same, compiled on first use (thread-safe), for a regex already known to compile
  // (TranslateForHyperscan checked it): a warm start then compiles none of the hundreds of
  // confirm patterns, only the few a message needs. Should the compile fail after all, the
  // regex matches nothing and every call counts as a limit hit.
  static std::unique_ptr<ConfirmRegex> CompileLazily(const PerlRegex& re,
                                                     uint32_t match_limit = 100000,
                                                     uint32_t depth_limit = 5000);
};

}  // namespace veto::rules

#endif  // VETO_RULES_REGEX_H_
