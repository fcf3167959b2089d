// veto/rules/loader.h — reads SpamAssassin-syntax rule files into a RuleSet.
//
// Follows SpamAssassin 4.0.1's configuration parser (../shared/docs/spamassassin-semantics.md
// §1): comment stripping (`#` not after `\`), if/ifplugin/else/endif with plugin(), can(),
// has() and version tests, require_version, include, loadplugin, later definitions replacing
// earlier ones (an invalid later regex keeps the earlier definition), tflags replacing,
// score with one or four values and relative "(n)" values, default scores (1, T_ 0.01, nice
// negated), priority, describe, and ReplaceTags (§6) expanded at the end.
//
//   LoadOptions options;                       // plugins default to Debian's loaded set
//   RuleSet set;
//   absl::Status s = LoadRules({"/usr/share/spamassassin", "local.cf"}, options, &set);
//   for (const RuleError& e : set.errors) std::cerr << e.ToString() << "\n";
//
// Every bad line is reported (all at once, in set.errors) and skipped; the rest loads. The
// returned status is an error only when a named path cannot be read at all.
//
// Thread-safety: LoadRules is reentrant.
#ifndef VETO_RULES_LOADER_H_
#define VETO_RULES_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rules/rule.h"

namespace veto::rules {

struct LoadOptions {
  // Plugin classes treated as loaded before any file is read (then `loadplugin` lines add
  // more). Empty: Debian 4.0.1's default set (§1.4), the ones /etc/spamassassin/*.pre loads.
  std::vector<std::string> plugins;
  // Directories: which files to read, in byte-wise name order (§1.1).
  std::vector<std::string> extensions = {".pre", ".cf"};
};

// Reads each path in order: a file, or a directory whose matching files are read in name
// order (not recursively). A file already read is skipped.
absl::Status LoadRules(const std::vector<std::string>& paths, const LoadOptions& options,
                       RuleSet* out);

// Loads rules from a string (tests, `--rule` snippets); `name` is used in error locations.
void LoadRulesFromString(std::string_view text, std::string_view name, const LoadOptions& options,
                         RuleSet* out);

// Debian's SpamAssassin 4.0.1 default plugin set (loaded by /etc/spamassassin/*.pre).
const std::vector<std::string>& DefaultPlugins();

}  // namespace veto::rules

#endif  // VETO_RULES_LOADER_H_
