// veto/config/paths.h — where veto finds its bundled files and its cache.
#ifndef VETO_CONFIG_PATHS_H_
#define VETO_CONFIG_PATHS_H_

#include <string>

namespace veto::config {

// The bundled rules (rules/default/): $VETO_RULES_DIR, else the build-time source path.
std::string DefaultRulesDir();

// The bundled models (classifiers/models/): $VETO_MODELS_DIR, else the build-time path.
std::string DefaultModelsDir();

// The shipped configuration file (config/veto.toml).
std::string DefaultConfigFile();

// The rule cache: $VETO_CACHE_DIR, else $XDG_CACHE_HOME/veto, else $HOME/.cache/veto, else ""
// (no cache).
std::string DefaultCacheDir();

}  // namespace veto::config

#endif  // VETO_CONFIG_PATHS_H_
