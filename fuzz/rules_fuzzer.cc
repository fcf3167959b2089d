// libFuzzer target: the rule-file parser (conditionals, ReplaceTags, scores, header specs,
// regex delimiters) and meta expressions, on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/loader.h"
#include "rules/meta.h"

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
  return 0;
}
