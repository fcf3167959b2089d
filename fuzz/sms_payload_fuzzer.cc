// Fuzzes SMS payload decoding (GSM 03.38 packed/unpacked with the extension table, UCS-2,
// Latin-1, ASCII, the UDH), hex decoding, the JSON line reader and the intelligence import.
// The first byte picks the data coding and the UDH indicator.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/json_line.h"
#include "mobile/gsm.h"
#include "mobile/signals.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace veto::mobile;
  static const DataCoding kCodings[] = {DataCoding::kGsm7, DataCoding::kGsm7Packed,
                                        DataCoding::kAscii, DataCoding::kLatin1,
                                        DataCoding::kUcs2, DataCoding::kBinary};
  const DataCoding coding = kCodings[data[0] % 6];
  const bool udhi = (data[0] & 0x80) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto d = DecodePayload(rest, coding, udhi);
  if (d.ok() && d->concat && !d->concat->valid()) __builtin_trap();
  auto h = DecodeHexPayload(rest, coding, udhi);
  if (!h.ok() && h.status().message().empty()) __builtin_trap();
  (void)DataCodingFromName(rest.substr(0, 16));
  std::vector<veto::JsonField> fields;
  (void)veto::ParseJsonLine(rest, &fields);
  static Intelligence* intel = new Intelligence(1000, 86400);
  (void)intel->ImportLine(rest, 0.5, 1000);
  (void)SimHash(rest);
  return 0;
}
