// veto/cli/rule_options.h — the configuration flags shared by `scan`, `compile`,
// `check-rules` and `check-config`: --config FILE, and the rule flags that override its
// [rules] section: --rules PATH (repeatable, in order), --no-default-rules, --score-set N,
// --cache-dir DIR, --no-cache.
#ifndef VETO_CLI_RULE_OPTIONS_H_
#define VETO_CLI_RULE_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"

namespace veto::cli {

struct RuleOptions {
  std::string config_file;          // --config FILE ("" = built-in defaults)
  std::vector<std::string> paths;   // --rules, in the order given (after the config's paths)
  std::optional<bool> default_rules;
  std::optional<int> score_set;
  std::optional<std::string> cache_dir;  // --cache-dir DIR; --no-cache = "none"

  // Consumes a flag at args[*i] (and its value); returns false if args[*i] is not one.
  // Sets *error for a flag with a bad or missing value.
  bool Consume(const std::vector<std::string>& args, size_t* i, std::string* error);

  // The configuration: --config FILE (or the defaults) with the rule flags applied.
  absl::StatusOr<config::Config> Load() const;
};

// Usage text for the flags above.
extern const char kRuleOptionsUsage[];

}  // namespace veto::cli

#endif  // VETO_CLI_RULE_OPTIONS_H_
