// libFuzzer target: the rule-file parser (conditionals, ReplaceTags, scores, header specs,
// regex delimiters) and meta expressions, on arbitrary text; and the expression analysers
// (static cost and literal gate, coarsening) on the same text taken as an expression.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/loader.h"
#include "rules/meta.h"
#include "rules/regex_analysis.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  veto::rules::RuleSet set;
  veto::rules::LoadRulesFromString(text, "fuzz.cf", veto::rules::LoadOptions{}, &set);
  for (const veto::rules::Rule& r : set.rules) {
    if (r.type != veto::rules::RuleType::kMeta) continue;
    auto e = veto::rules::MetaExpression::Parse(r.meta, [](std::string_view) { return 0; });
    if (e.ok()) {
      double zero = 0;
      (void)e->Evaluate(&zero);
    }
  }
  (void)veto::rules::MetaExpression::Parse(text, [](std::string_view) { return 0; });
  veto::rules::ExpressionFacts facts = veto::rules::AnalyzeExpression(text);
  if (!facts.gate.empty()) (void)veto::rules::GateExpression(facts.gate, facts.gate_count);
  (void)veto::rules::CoarsenExpression(text);
  (void)veto::rules::CoarsenExpression(text, /*hull_high_bytes=*/true);
  return 0;
}
