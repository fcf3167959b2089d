#include "rules/meta.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace veto::rules {
namespace {

// Evaluates `expr` with named operand values (missing names are 0).
double Eval(const std::string& expr, std::map<std::string, double> vars) {
  std::vector<std::string> names;
  auto resolve = [&](std::string_view n) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return static_cast<int>(i);
    }
    names.emplace_back(n);
    return static_cast<int>(names.size() - 1);
  };
  absl::StatusOr<MetaExpression> e = MetaExpression::Parse(expr, resolve);
  EXPECT_TRUE(e.ok()) << expr << ": " << e.status();
  if (!e.ok()) return -999;
  std::vector<double> values(names.size() + 1, 0);
  for (size_t i = 0; i < names.size(); ++i) values[i] = vars[names[i]];
  return e->Evaluate(values.data());
}

TEST(MetaTest, PerlSemantics) {
  // && and || return an operand (§5).
  EXPECT_EQ(Eval("(0 || X)", {{"X", 3}}), 3);
  EXPECT_EQ(Eval("A && X", {{"A", 1}, {"X", 3}}), 3);
  EXPECT_EQ(Eval("A && X", {{"A", 0}, {"X", 3}}), 0);
  // ! gives 1 or 0 and binds tighter than +.
  EXPECT_EQ(Eval("!X + 2", {{"X", 5}}), 2);
  EXPECT_EQ(Eval("!X + 2", {}), 3);
  EXPECT_EQ(Eval("1 ^ 3", {}), 2);
  EXPECT_DOUBLE_EQ(Eval("A / 4", {{"A", 1}}), 0.25);
  EXPECT_EQ(Eval("S ? 5 : 0", {{"S", 1}}), 5);
  EXPECT_EQ(Eval("S ? 5 : 7", {}), 7);
  EXPECT_EQ(Eval("(A + B + C) > 1", {{"A", 1}, {"C", 1}}), 1);
  EXPECT_EQ(Eval("(A + B + C) > 1", {{"A", 1}}), 0);
  EXPECT_EQ(Eval("A >= 2 && B <= 1 && C == 0 && D != 1", {{"A", 2}, {"B", 1}}), 1);
  EXPECT_EQ(Eval("2 * 3 + 4", {}), 10);
  EXPECT_EQ(Eval("2 + 3 * 4", {}), 14);
  EXPECT_EQ(Eval("- A + 5", {{"A", 2}}), 3);
  // `and` / `or` are rule names, not operators.
  EXPECT_EQ(Eval("and + or", {{"and", 1}, {"or", 2}}), 3);
  // Comparison binds tighter than ==, == tighter than ^, ^ tighter than &&.
  EXPECT_EQ(Eval("1 < 2 == 1", {}), 1);
}

TEST(MetaTest, RejectsForbiddenAndBrokenExpressions) {
  auto resolve = [](std::string_view) { return 0; };
  for (const char* bad : {"A $ B", "@A", "A % 2", "A; B", "{A}", "A::B", "A -> B", "A ** 2",
                          "(A", "A +", "A B", "A ? B", "", "A / 0", "A / B"}) {
    EXPECT_FALSE(MetaExpression::Parse(bad, resolve).ok()) << bad;
  }
  std::string deep(500, '(');
  deep += "A" + std::string(500, ')');
  EXPECT_FALSE(MetaExpression::Parse(deep, resolve).ok());
}

TEST(MetaTest, OperandsInOrderOfAppearance) {
  std::vector<std::string> names;
  auto resolve = [&](std::string_view n) {
    names.emplace_back(n);
    return static_cast<int>(names.size() - 1);
  };
  auto e = MetaExpression::Parse("B && (A || B)", resolve);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->operands().size(), 3u);  // the resolver decides identity; here B appears twice
}

TEST(MetaTest, RulesMatchingExpansion) {
  std::vector<std::string> names = {"FOO_2", "FOO_1", "BAR", "FOO_X1", "SELF_FOO"};
  EXPECT_EQ(ExpandRulesMatching("rules_matching(FOO_?) > 1", names, "SELF"),
            "(FOO_1 + FOO_2) > 1");
  EXPECT_EQ(ExpandRulesMatching("rules_matching(*FOO*)", names, "SELF_FOO"),
            "(FOO_1 + FOO_2 + FOO_X1)");
  EXPECT_EQ(ExpandRulesMatching("rules_matching(NONE*)", names, "X"), "(0)");
}

}  // namespace
}  // namespace veto::rules
