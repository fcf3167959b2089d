#include "config/paths.h"

#include <cstdlib>

namespace veto::config {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

std::string DefaultRulesDir() {
  if (std::string v = Env("VETO_RULES_DIR"); !v.empty()) return v;
  return VETO_SOURCE_DIR "/rules/default";
}

std::string DefaultModelsDir() {
  if (std::string v = Env("VETO_MODELS_DIR"); !v.empty()) return v;
  return VETO_SOURCE_DIR "/classifiers/models";
}

std::string DefaultConfigFile() { return VETO_SOURCE_DIR "/config/veto.toml"; }

std::string DefaultCacheDir() {
  if (std::string v = Env("VETO_CACHE_DIR"); !v.empty()) return v;
  if (std::string v = Env("XDG_CACHE_HOME"); !v.empty()) return v + "/veto";
  if (std::string v = Env("HOME"); !v.empty()) return v + "/.cache/veto";
  return "";
}

}  // namespace veto::config
