// Fuzzes the configuration loader: TOML parsing, the schema walk, policy validation. Inputs
// that mention `include` are skipped so the fuzzer never walks the real file system.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find("include") != std::string_view::npos) return 0;
  absl::StatusOr<veto::config::Config> c =
      veto::config::ParseConfig(text, "/nonexistent-veto-fuzz/fuzz.toml");
  if (!c.ok() && c.status().message().empty()) __builtin_trap();  // errors must say something
  return 0;
}
