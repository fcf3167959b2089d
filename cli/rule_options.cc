#include "cli/rule_options.h"

#include "core/strings.h"

namespace veto::cli {

const char kRuleOptionsUsage[] =
    "  --config FILE         configuration file (TOML; see config/veto.toml); default: none,\n"
    "                        every key at its default. The flags below override its [rules]\n"
    "  --rules PATH          load rule files (SpamAssassin syntax) from PATH: a file, or a\n"
    "                        directory whose .pre and .cf files are read in name order;\n"
    "                        repeatable, loaded in the order given, after the bundled rules\n"
    "                        and the config's rules.paths\n"
    "  --no-default-rules    leave out veto's bundled rules (rules/default/)\n"
    "  --score-set N         SpamAssassin score set 0-3 (default 0: no network, no Bayes)\n"
    "  --cache-dir DIR       where compiled rule databases are cached (default:\n"
    "                        $VETO_CACHE_DIR, else $XDG_CACHE_HOME/veto, else ~/.cache/veto);\n"
    "                        unchanged rules then load in milliseconds instead of compiling\n"
    "  --no-cache            compile without reading or writing the cache\n";

bool RuleOptions::Consume(const std::vector<std::string>& args, size_t* i, std::string* error) {
  const std::string& a = args[*i];
  auto value = [&](std::string* out) {
    if (*i + 1 >= args.size()) {
      *error = Cat(a, " needs a value");
      return false;
    }
    *out = args[++*i];
    return true;
  };
  if (a == "--config") {
    value(&config_file);
    return true;
  }
  if (a == "--rules") {
    std::string v;
    if (value(&v)) paths.push_back(v);
    return true;
  }
  if (a == "--cache-dir") {
    std::string v;
    if (value(&v)) cache_dir = v.empty() ? "none" : v;
    return true;
  }
  if (a == "--no-cache") {
    cache_dir = "none";
    return true;
  }
  if (a == "--no-default-rules") {
    default_rules = false;
    return true;
  }
  if (a == "--score-set") {
    std::string v;
    long long n = 0;
    if (value(&v)) {
      if (!ParseInt(v, &n) || n < 0 || n > 3) {
        *error = Cat("--score-set: expected 0, 1, 2 or 3 (got '", v, "')");
      } else {
        score_set = static_cast<int>(n);
      }
    }
    return true;
  }
  return false;
}

absl::StatusOr<config::Config> RuleOptions::Load() const {
  absl::StatusOr<config::Config> c = config::LoadConfig(config_file);
  if (!c.ok()) return c.status();
  config::RulesConfig& r = c->rules;
  r.paths.insert(r.paths.end(), paths.begin(), paths.end());
  if (default_rules) r.default_rules = *default_rules;
  if (score_set) r.score_set = *score_set;
  if (cache_dir) r.cache_dir = *cache_dir;
  return c;
}

}  // namespace veto::cli
