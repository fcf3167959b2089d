// veto/mobile/gsm.h — SMS payload decoding: GSM 03.38 7-bit (with the extension table),
// UCS-2/UTF-16 and the other SMPP data codings, and the User Data Header (concatenation).
//
// Feeds carry an SMS either as UTF-8 text or as the payload the network saw: hex octets
// plus an SMPP `data_coding` (SMPP 3.4 §5.2.19, which follows GSM 03.38 §4). This turns such
// a payload into UTF-8 and pulls the concatenation reference out of the UDH:
//
//   absl::StatusOr<DecodedPayload> d = DecodeHexPayload("C8329BFD06", DataCoding::kGsm7Packed);
//   d->text;          // "Hello"
//   d = DecodeHexPayload("050003A70201" "0048", DataCoding::kUcs2, /*udhi=*/true);
//   d->concat;        // {ref 0xA7, total 2, seq 1}; d->text == "H"
//
// Decoding never fails on the content of a well-formed payload: bytes that map to nothing
// become U+FFFD (or '?' for unknown GSM codes) and `replaced` is set. It fails (InvalidArgument,
// with a specific message) on bad hex, an odd UCS-2 length, a UDH longer than the payload,
// and data codings that do not carry text (binary, or ones veto does not decode).
//
// Thread-safety: pure functions.
#ifndef VETO_MOBILE_GSM_H_
#define VETO_MOBILE_GSM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace veto::mobile {

// How the payload octets encode text. The numeric values of the SMPP codings are theirs.
enum class DataCoding : int {
  kGsm7 = 0,          // SMPP 0: SMSC default alphabet, one septet per octet (unpacked)
  kAscii = 1,         // SMPP 1: IA5 / ASCII
  kBinary = 2,        // SMPP 2 and 4: octets, no text
  kLatin1 = 3,        // SMPP 3: ISO-8859-1
  kUcs2 = 8,          // SMPP 8: UCS-2 (decoded as UTF-16BE: surrogate pairs are accepted)
  kGsm7Packed = 256,  // GSM 03.38 septets packed 8 per 7 octets, as in the air interface
};

// Maps an SMPP data_coding octet (0..255) to a DataCoding. Also understands the GSM 03.38
// "data coding/message class" group 0xF0..0xFF (bit 2: 8-bit data, else GSM 7-bit) and the
// general group 0x00..0x3F without compression (bits 3..2: 00 GSM 7, 01 8-bit, 10 UCS-2) for
// values SMPP leaves unassigned. Errors: InvalidArgument "unsupported data_coding N (...)".
absl::StatusOr<DataCoding> DataCodingFromSmpp(int value);

// Parses "gsm7", "gsm7-packed", "ascii", "latin1", "ucs2", "binary" or a number 0..255.
absl::StatusOr<DataCoding> DataCodingFromName(std::string_view name);

// A concatenated-SMS part, from the UDH (IEI 0x00: 8-bit reference; IEI 0x08: 16-bit).
struct ConcatInfo {
  uint32_t ref = 0;
  uint32_t total = 0;  // 0: not a part of a concatenated message
  uint32_t seq = 0;    // 1-based
  bool valid() const { return total >= 1 && seq >= 1 && seq <= total; }
};

struct DecodedPayload {
  std::string text;  // UTF-8
  std::optional<ConcatInfo> concat;
  bool replaced = false;  // some code could not be mapped (U+FFFD / '?')
  bool bad_udh = false;   // a UDH element was malformed (ignored; text still decoded)
};

// Decodes raw payload octets. `udhi`: the first octet is a UDH length and a UDH follows.
absl::StatusOr<DecodedPayload> DecodePayload(std::string_view octets, DataCoding coding,
                                             bool udhi = false);

// Same, from hex ("48656C6C6F", case-insensitive, optional spaces between octets).
// Errors: "payload: invalid hex digit 'x' at offset N", "payload: odd number of hex digits".
absl::StatusOr<DecodedPayload> DecodeHexPayload(std::string_view hex, DataCoding coding,
                                                bool udhi = false);

// Hex to octets (the same rules and errors as DecodeHexPayload).
absl::StatusOr<std::string> HexToBytes(std::string_view hex);

// GSM 7-bit septets (one per element of `septets`, values 0..127) to UTF-8, with the
// extension table after 0x1B. Unknown extension codes fall back to the basic table, as
// GSM 03.38 §6.2.1.1 prescribes. Sets *replaced if an escape ended the text.
std::string GsmSeptetsToUtf8(std::string_view septets, bool* replaced = nullptr);

// Unpacks `octets` into septets (LSB first). `skip_septets` drops that many leading septets
// (the UDH and its fill bits). A final septet made only of padding (a 0 where the last octet
// had exactly 1 spare bit... i.e. 8n/7 rounding) is dropped.
std::string UnpackSeptets(std::string_view octets, size_t skip_septets = 0);

// Encodes UTF-8 into unpacked GSM septets if every character has a GSM 7-bit form (tests and
// benchmarks build payloads with it). nullopt otherwise.
std::optional<std::string> Utf8ToGsmSeptets(std::string_view utf8);

// Packs septets 8 per 7 octets.
std::string PackSeptets(std::string_view septets);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_GSM_H_
