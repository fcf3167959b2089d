// veto/cli/rule_options.h — the rule-loading flags shared by `scan`, `compile` and
// `check-rules`: --rules PATH (repeatable, in order), --no-default-rules, --score-set N.
#ifndef VETO_CLI_RULE_OPTIONS_H_
#define VETO_CLI_RULE_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/engine.h"
#include "rules/loader.h"

namespace veto::cli {

// $VETO_CACHE_DIR, else $XDG_CACHE_HOME/veto, else $HOME/.cache/veto, else "" (no cache).
std::string DefaultCacheDir();

struct RuleOptions {
  std::vector<std::string> paths;  // --rules, in the order given
  bool default_rules = true;       // rules/default/ first unless --no-default-rules
  int score_set = 0;
  std::string cache_dir = DefaultCacheDir();  // --cache-dir DIR; --no-cache clears it

  // Consumes a rule flag at args[*i] (and its value); returns false if args[*i] is not one.
  // Sets *error for a flag with a bad or missing value.
  bool Consume(const std::vector<std::string>& args, size_t* i, std::string* error);

  // The paths to load: the bundled rules (if on), then --rules paths.
  std::vector<std::string> AllPaths() const;
};

// Usage text for the flags above.
extern const char kRuleOptionsUsage[];

// The directory of veto's bundled rules.
std::string DefaultRulesDir();

}  // namespace veto::cli

#endif  // VETO_CLI_RULE_OPTIONS_H_
