// veto/rules/meta.h — SpamAssassin meta-rule expressions with Perl's evaluation semantics
// (../shared/docs/spamassassin-semantics.md §5): `&&`/`||` return an operand, `!` and
// comparisons give 1 or 0, `^` is integer XOR, `/` floating division, `?:` works, and
// Perl's precedence. The same language evaluates `if` conditions in rule files.
//
//   absl::StatusOr<MetaExpression> e = MetaExpression::Parse(
//       "(A + B + C) > 1 && !D", [&](std::string_view name) { return IdOf(name); });
//   double v = e->Evaluate(values.data());   // values[id] = the rule's value (hits, 0, ...)
//   bool hit = v != 0;
//
// Thread-safety: immutable after Parse; Evaluate may run on many threads at once.
#ifndef VETO_RULES_META_H_
#define VETO_RULES_META_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace veto::rules {

class MetaExpression {
 public:
  // Maps an operand name to an index into the value array given to Evaluate.
  using Resolver = std::function<int(std::string_view name)>;

  // Parses `text`. Errors (InvalidArgument): characters SpamAssassin forbids in metas
  // ($ @ % ; { } :: -> **), syntax errors, nesting deeper than 200, and expressions that fail
  // when every operand is 0 (division by zero).
  static absl::StatusOr<MetaExpression> Parse(std::string_view text, const Resolver& resolve);

  // The value with operands taken from `values`; 0 for a run-time error (division by zero),
  // as a Perl `die` inside SpamAssassin's eval makes the rule not hit.
  double Evaluate(const double* values) const;

  // Distinct operand indices, in order of first appearance.
  const std::vector<int>& operands() const { return operands_; }

 private:
  enum class Op : uint8_t {
    kConst, kVar, kNot, kNeg, kMul, kDiv, kAdd, kSub, kLt, kGt, kLe, kGe, kEq, kNe, kXor,
    kAnd, kOr, kCond,
  };
  struct Node {
    Op op;
    int a = -1, b = -1, c = -1;  // child node indices
    double value = 0;            // kConst
    int var = -1;                // kVar
  };
  double Eval(int node, const double* values, bool* error) const;

  friend class MetaParser;
  std::vector<Node> nodes_;
  int root_ = -1;
  std::vector<int> operands_;
};

// Replaces each rules_matching(GLOB) with "(R1 + R2 + ...)" over `names` (sorted, without
// `self`), or "(0)" when nothing matches. `*` matches any run, `?` one character.
std::string ExpandRulesMatching(std::string_view expr, const std::vector<std::string>& names,
                                std::string_view self);

}  // namespace veto::rules

#endif  // VETO_RULES_META_H_
