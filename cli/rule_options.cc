#include "cli/rule_options.h"

#include <cstdlib>

#include "core/strings.h"

namespace veto::cli {

const char kRuleOptionsUsage[] =
    "  --rules PATH          load rule files (SpamAssassin syntax) from PATH: a file, or a\n"
    "                        directory whose .pre and .cf files are read in name order;\n"
    "                        repeatable, loaded in the order given, after the bundled rules\n"
    "  --no-default-rules    leave out veto's bundled rules (rules/default/)\n"
    "  --score-set N         SpamAssassin score set 0-3 (default 0: no network, no Bayes)\n"
    "  --cache-dir DIR       where compiled rule databases are cached (default:\n"
    "                        $VETO_CACHE_DIR, else $XDG_CACHE_HOME/veto, else ~/.cache/veto);\n"
    "                        unchanged rules then load in milliseconds instead of compiling\n"
    "  --no-cache            compile without reading or writing the cache\n";

std::string DefaultCacheDir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
  };
  if (std::string v = env("VETO_CACHE_DIR"); !v.empty()) return v;
  if (std::string v = env("XDG_CACHE_HOME"); !v.empty()) return v + "/veto";
  if (std::string v = env("HOME"); !v.empty()) return v + "/.cache/veto";
  return "";
}

std::string DefaultRulesDir() {
  if (const char* env = std::getenv("VETO_RULES_DIR"); env != nullptr && *env != '\0') return env;
  return VETO_DEFAULT_RULES_DIR;
}

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
  if (a == "--rules") {
    std::string v;
    if (value(&v)) paths.push_back(v);
    return true;
  }
  if (a == "--cache-dir") {
    value(&cache_dir);
    return true;
  }
  if (a == "--no-cache") {
    cache_dir.clear();
    return true;
  }
  if (a == "--no-default-rules") {
    default_rules = false;
    return true;
  }
  if (a == "--score-set") {
    std::string v;
    long long n = 0;
    if (value(&v) && (!ParseInt(v, &n) || n < 0 || n > 3)) {
      *error = Cat("--score-set: expected 0, 1, 2 or 3 (got '", v, "')");
    }
    score_set = static_cast<int>(n);
    return true;
  }
  return false;
}

std::vector<std::string> RuleOptions::AllPaths() const {
  std::vector<std::string> out;
  if (default_rules) out.push_back(DefaultRulesDir());
  out.insert(out.end(), paths.begin(), paths.end());
  return out;
}

}  // namespace veto::cli
