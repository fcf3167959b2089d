// libFuzzer target: the whole email normalisation path (MIME, transfer and charset decoding,
// HTML rendering, URL extraction) plus JSON output, with small limits so the fuzzer reaches
// every limit branch quickly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/message_json.h"
#include "email/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  veto::email::ParseOptions small;
  small.max_parts = 50;
  small.max_depth = 8;
  small.max_headers = 100;
  small.max_decoded_bytes = 1 << 20;
  small.max_uris = 200;
  for (const veto::email::ParseOptions& o : {veto::email::ParseOptions{}, small}) {
    auto m = veto::email::ParseMessage(raw, o);
    if (!m.ok()) __builtin_trap();  // valid options never fail
    const veto::Message& msg = **m;
    if (msg.body_elements.empty()) __builtin_trap();
    (void)veto::MessageToJson(msg, {.indent = 0, .include_full = true, .include_decoded = true});
  }
  return 0;
}
