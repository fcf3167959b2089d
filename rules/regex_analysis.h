// veto/rules/regex_analysis.h — deterministic facts about a Hyperscan expression, used to
// decide how a pattern is run without timing anything.
//
// AnalyzeExpression reads an expression in the canonical form TranslateForHyperscan emits
// (escaped literals, bracket classes, (?:...) groups, lookaround, {n,m} repeats, inline i/m/s
// flags) and computes:
//
//   - `cost`: a static estimate of Hyperscan's compile work — the number of NFA positions once
//     bounded repeats are expanded ((?:ab){50} counts 100, x{1,90} counts 90), nested repeats
//     multiplied. Patterns whose compile takes hundreds of milliseconds (stock
//     __FILL_THIS_FORM_*, __TO_WAY_TOO_MANY, __COMMENT_GIBBERISH) are the ones with a large cost,
//     and unlike a wall-clock budget the decision does not depend on the machine's load.
//   - `gate`: required literals — a set of strings such that every match of the expression
//     contains at least one of them (lower-cased: match them caselessly). Empty when none is
//     known. Lookaround and anchors are ignored (a superset stays sound), a back-reference or
//     a wide class is "anything". A pattern Hyperscan should not run itself can then be gated:
//     Hyperscan matches the literals, and PCRE2 confirms only the texts that contain one.
//
//   ExpressionFacts f = AnalyzeExpression("\\bfree\\s+(?:money|cash)\\b");
//   // f.gate == {"money", "cash"} (or {"free"}: the set with the longest shortest string)
//
// Thread-safety: a pure function.
#ifndef VETO_RULES_REGEX_ANALYSIS_H_
#define VETO_RULES_REGEX_ANALYSIS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace veto::rules {

struct ExpressionFacts {
  double cost = 0;
  std::vector<std::string> gate;  // sorted, unique; empty: no required literal known
  size_t gate_min_length = 0;     // length of the shortest gate literal
  // How many non-overlapping gate literals every match contains: more than 1 when the whole
  // expression is one group repeated at least that often ((?:...){3} needs three).
  size_t gate_count = 1;
};

// Never fails: an unparseable expression gives a high cost and no gate.
ExpressionFacts AnalyzeExpression(std::string_view expression);

// A coarser expression matching a superset of what `expression` matches, for Hyperscan's
// prefilter mode (PCRE2 confirms every hit): an alternation whose branches are all fixed
// sequences of single bytes or byte classes (the UTF-8 look-alike letters of the stock FUZZY_*
// and ReplaceTags rules: "[Pp]|[\xce\xee]\xa1|\xf0\x9d\x90[\x8f\xa9]|...") becomes one
// sequence of classes per distinct length. Such expressions then compile in a fraction of
// the time, and some that were over Hyperscan's limits fit. Returns the input unchanged when
// it cannot parse it. With `hull_high_bytes`, coarser still: the bytes >= 0x80 of each class
// become one range (for patterns that are still too large).
std::string CoarsenExpression(std::string_view expression, bool hull_high_bytes = false);

// A coarser expression matching a superset of `expression`, for Hyperscan's prefilter mode:
// in every alternation, the branches that match only bounded runs of bytes >= 0x80 (UTF-8
// look-alike letters, "[\xd0\xf0]\x9d(?:\x90[\x97\xb1]|...)") become one branch "[\x80-\xff]+"
// (unbounded: bounded runs made Hyperscan build megabyte DFAs), and an alternation of three or
// more branches made only of digits, hex letters and 'x' (the numbers of "&#1013;"-style
// references) one bounded run of those bytes. ASCII branches stay exact, so on ASCII text the
// prefilter fires where the exact one did. Returns the input when nothing changes or it cannot
// be parsed.
std::string FoldRunsExpression(std::string_view expression);

// The gate as one Hyperscan expression: an alternation of escaped literals, `count` times in
// order ("A[\x00-\xff]*A" for 2).
std::string GateExpression(const std::vector<std::string>& gate, size_t count = 1);

}  // namespace veto::rules

#endif  // VETO_RULES_REGEX_ANALYSIS_H_
