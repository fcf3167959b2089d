// GSM 03.38 tables from 3GPP TS 23.038 §6.2.1 (default alphabet) and §6.2.1.1 (extension
// table). Hand-written rather than iconv: glibc's iconv has no GSM 03.38 converter, and the
// tables are 128 + 10 entries.
#include "mobile/gsm.h"

#include <array>
#include <cstring>

#include "core/strings.h"

namespace veto::mobile {
namespace {

constexpr std::array<uint16_t, 128> kGsmBasic = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,  // 0x00
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,  // 0x08
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,  // 0x10
    0x03A3, 0x0398, 0x039E, 0x001B, 0x00C6, 0x00E6, 0x00DF, 0x00C9,  // 0x18 (0x1B: escape)
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,  // 0x20
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,  // 0x28
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,  // 0x30
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,  // 0x38
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,  // 0x40
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,  // 0x48
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,  // 0x50
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,  // 0x58
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,  // 0x60
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,  // 0x68
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,  // 0x70
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,  // 0x78
};

// The extension table: code after 0x1B → code point; 0 = not in the table.
constexpr uint16_t GsmExtension(uint8_t c) {
  switch (c) {
    case 0x0A: return 0x000C;  // form feed (page break)
    case 0x14: return 0x005E;  // ^
    case 0x28: return 0x007B;  // {
    case 0x29: return 0x007D;  // }
    case 0x2F: return 0x005C;  // backslash
    case 0x3C: return 0x005B;  // [
    case 0x3D: return 0x007E;  // ~
    case 0x3E: return 0x005D;  // ]
    case 0x40: return 0x007C;  // |
    case 0x65: return 0x20AC;  // €
    default: return 0;
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses the UDH at the start of `octets` (first octet = UDHL). Returns the UDH's total size
// (UDHL + 1), or an error if it does not fit.
absl::StatusOr<size_t> ParseUdh(std::string_view octets, DecodedPayload* out) {
  if (octets.empty()) return absl::InvalidArgumentError("payload: UDH indicator set but no UDH");
  const size_t udhl = static_cast<uint8_t>(octets[0]);
  if (udhl + 1 > octets.size()) {
    return absl::InvalidArgumentError(Cat("payload: UDH length ", udhl, " exceeds the payload (",
                                          octets.size() - 1, " octets follow)"));
  }
  size_t i = 1;
  const size_t end = udhl + 1;
  while (i < end) {
    if (i + 2 > end) {
      out->bad_udh = true;
      break;
    }
    const uint8_t iei = static_cast<uint8_t>(octets[i]);
    const size_t len = static_cast<uint8_t>(octets[i + 1]);
    i += 2;
    if (i + len > end) {
      out->bad_udh = true;
      break;
    }
    const auto* v = reinterpret_cast<const uint8_t*>(octets.data() + i);
    if (iei == 0x00 || iei == 0x08) {
      ConcatInfo c;
      bool ok = false;
      if (iei == 0x00 && len == 3) {
        c = {.ref = v[0], .total = v[1], .seq = v[2]};
        ok = true;
      } else if (iei == 0x08 && len == 4) {
        c = {.ref = (uint32_t{v[0]} << 8) | v[1], .total = v[2], .seq = v[3]};
        ok = true;
      }
      if (ok && c.valid()) {
        out->concat = c;
      } else {
        out->bad_udh = true;
      }
    }
    i += len;
  }
  return end;
}

void DecodeUtf16Be(std::string_view b, DecodedPayload* out) {
  std::string& s = out->text;
  s.reserve(s.size() + b.size() * 3 / 2);
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    uint32_t u = (uint32_t{static_cast<uint8_t>(b[i])} << 8) | static_cast<uint8_t>(b[i + 1]);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 3 < b.size()) {
        uint32_t lo =
            (uint32_t{static_cast<uint8_t>(b[i + 2])} << 8) | static_cast<uint8_t>(b[i + 3]);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          AppendUtf8(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), &s);
          i += 2;
          continue;
        }
      }
      u = kReplacement;
      out->replaced = true;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      u = kReplacement;
      out->replaced = true;
    } else if (u == 0) {
      // NUL padding some SMSCs append: dropped.
      continue;
    }
    AppendUtf8(u, &s);
  }
}

}  // namespace

absl::StatusOr<DataCoding> DataCodingFromSmpp(int value) {
  switch (value) {
    case 0: return DataCoding::kGsm7;
    case 1: return DataCoding::kAscii;
    case 2:
    case 4: return DataCoding::kBinary;
    case 3: return DataCoding::kLatin1;
    case 8: return DataCoding::kUcs2;
    default: break;
  }
  if (value < 0 || value > 255) {
    return absl::InvalidArgumentError(Cat("unsupported data_coding ", value, " (expected 0..255)"));
  }
  if ((value & 0xF0) == 0xF0) {
    return (value & 0x04) ? DataCoding::kBinary : DataCoding::kGsm7;
  }
  if (value >= 0x10 && value <= 0x3F && !(value & 0x20)) {
    // General data coding group with a message class (bit 4), no compression (bit 5).
    switch ((value >> 2) & 0x03) {
      case 0: return DataCoding::kGsm7;
      case 1: return DataCoding::kBinary;
      case 2: return DataCoding::kUcs2;
      default: break;
    }
  }
  return absl::InvalidArgumentError(
      Cat("unsupported data_coding ", value,
          " (veto decodes 0 gsm7, 1 ascii, 3 latin1, 8 ucs2, 2/4 binary, 0xF0-0xFF)"));
}

absl::StatusOr<DataCoding> DataCodingFromName(std::string_view name) {
  std::string n = AsciiLower(StripWhitespace(name));
  if (n == "gsm7" || n == "gsm" || n == "default") return DataCoding::kGsm7;
  if (n == "gsm7-packed" || n == "gsm7_packed" || n == "packed") return DataCoding::kGsm7Packed;
  if (n == "ascii" || n == "ia5") return DataCoding::kAscii;
  if (n == "latin1" || n == "iso-8859-1") return DataCoding::kLatin1;
  if (n == "ucs2" || n == "ucs-2" || n == "utf-16be" || n == "utf16") return DataCoding::kUcs2;
  if (n == "binary") return DataCoding::kBinary;
  long long v = 0;
  if (ParseInt(n, &v)) return DataCodingFromSmpp(static_cast<int>(v));
  return absl::InvalidArgumentError(
      Cat("unknown data_coding \"", name,
          "\" (expected gsm7, gsm7-packed, ascii, latin1, ucs2, binary or 0..255)"));
}

absl::StatusOr<std::string> HexToBytes(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if (c == ' ' && hi < 0) continue;
    const int v = HexValue(c);
    if (v < 0) {
      std::string shown = (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F)
                              ? std::string(1, c)
                              : Cat("\\x", "0123456789abcdef"[static_cast<uint8_t>(c) >> 4],
                                    "0123456789abcdef"[c & 0xF]);
      return absl::InvalidArgumentError(
          Cat("payload: invalid hex digit '", shown, "' at offset ", i));
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) return absl::InvalidArgumentError("payload: odd number of hex digits");
  return out;
}

std::string GsmSeptetsToUtf8(std::string_view septets, bool* replaced) {
  std::string out;
  out.reserve(septets.size() + septets.size() / 4);
  for (size_t i = 0; i < septets.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(septets[i]) & 0x7F;
    if (c == 0x1B) {
      if (i + 1 >= septets.size()) {
        // An escape with nothing after it: nothing to show.
        if (replaced) *replaced = true;
        break;
      }
      const uint8_t next = static_cast<uint8_t>(septets[++i]) & 0x7F;
      if (const uint16_t e = GsmExtension(next); e != 0) {
        AppendUtf8(e, &out);
      } else if (next == 0x1B) {
        // Reserved for a further extension table: shown as a space (TS 23.038 note).
        out.push_back(' ');
      } else {
        AppendUtf8(kGsmBasic[next], &out);
      }
      continue;
    }
    AppendUtf8(kGsmBasic[c], &out);
  }
  return out;
}

std::string UnpackSeptets(std::string_view octets, size_t skip_septets) {
  const size_t bits = octets.size() * 8;
  size_t n = bits / 7;
  std::string out;
  if (n <= skip_septets) return out;
  out.reserve(n - skip_septets);
  for (size_t k = skip_septets; k < n; ++k) {
    const size_t bit = k * 7;
    const size_t byte = bit / 8;
    const unsigned shift = bit % 8;
    unsigned v = static_cast<uint8_t>(octets[byte]) >> shift;
    if (shift > 1 && byte + 1 < octets.size()) {
      v |= static_cast<unsigned>(static_cast<uint8_t>(octets[byte + 1])) << (8 - shift);
    }
    out.push_back(static_cast<char>(v & 0x7F));
  }
  // 7 fill bits after the last real septet (7 octets' worth of 8 septets, less one): they
  // read as a trailing '@' (0x00) or, where the sender padded with CR as TS 23.038 suggests,
  // a CR. Neither is text.
  if (bits % 7 == 0 && !out.empty() && (out.back() == 0x00 || out.back() == 0x0D) &&
      (n % 8) == 0) {
    out.pop_back();
  }
  return out;
}

std::optional<std::string> Utf8ToGsmSeptets(std::string_view utf8) {
  std::string out;
  size_t i = 0;
  while (i < utf8.size()) {
    // Decode one UTF-8 code point.
    uint32_t cp = static_cast<uint8_t>(utf8[i]);
    size_t len = 1;
    if (cp >= 0xF0) {
      len = 4;
      cp &= 0x07;
    } else if (cp >= 0xE0) {
      len = 3;
      cp &= 0x0F;
    } else if (cp >= 0xC0) {
      len = 2;
      cp &= 0x1F;
    } else if (cp >= 0x80) {
      return std::nullopt;
    }
    if (i + len > utf8.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(utf8[i + k]) & 0x3F);
    i += len;
    bool found = false;
    for (uint32_t c = 0; c < 128; ++c) {
      if (c != 0x1B && kGsmBasic[c] == cp) {
        out.push_back(static_cast<char>(c));
        found = true;
        break;
      }
    }
    if (found) continue;
    for (uint32_t c = 0; c < 128; ++c) {
      if (GsmExtension(static_cast<uint8_t>(c)) == cp) {
        out.push_back(0x1B);
        out.push_back(static_cast<char>(c));
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return out;
}

std::string PackSeptets(std::string_view septets) {
  std::string out((septets.size() * 7 + 7) / 8, '\0');
  for (size_t k = 0; k < septets.size(); ++k) {
    const unsigned v = static_cast<uint8_t>(septets[k]) & 0x7F;
    const size_t bit = k * 7;
    const size_t byte = bit / 8;
    const unsigned shift = bit % 8;
    out[byte] = static_cast<char>(static_cast<uint8_t>(out[byte]) | ((v << shift) & 0xFF));
    if (shift > 1) {
      out[byte + 1] = static_cast<char>(static_cast<uint8_t>(out[byte + 1]) | (v >> (8 - shift)));
    }
  }
  return out;
}

absl::StatusOr<DecodedPayload> DecodePayload(std::string_view octets, DataCoding coding,
                                             bool udhi) {
  DecodedPayload out;
  size_t udh_size = 0;
  if (udhi) {
    absl::StatusOr<size_t> n = ParseUdh(octets, &out);
    if (!n.ok()) return n.status();
    udh_size = *n;
  }
  switch (coding) {
    case DataCoding::kGsm7:
      out.text = GsmSeptetsToUtf8(octets.substr(udh_size), &out.replaced);
      break;
    case DataCoding::kGsm7Packed: {
      // The text starts at the first septet boundary after the UDH (TS 23.040 §9.2.3.24).
      const size_t skip = (udh_size * 8 + 6) / 7;
      out.text = GsmSeptetsToUtf8(UnpackSeptets(octets, skip), &out.replaced);
      break;
    }
    case DataCoding::kAscii:
      for (char c : octets.substr(udh_size)) {
        if (static_cast<uint8_t>(c) >= 0x80) {
          AppendUtf8(kReplacement, &out.text);
          out.replaced = true;
        } else if (c != '\0') {
          out.text.push_back(c);
        }
      }
      break;
    case DataCoding::kLatin1:
      for (char c : octets.substr(udh_size)) {
        if (c != '\0') AppendUtf8(static_cast<uint8_t>(c), &out.text);
      }
      break;
    case DataCoding::kUcs2: {
      std::string_view b = octets.substr(udh_size);
      if (b.size() % 2 != 0) {
        return absl::InvalidArgumentError(
            Cat("payload: UCS-2 text of odd length (", b.size(), " octets)"));
      }
      DecodeUtf16Be(b, &out);
      break;
    }
    case DataCoding::kBinary:
      return absl::InvalidArgumentError("payload: binary data_coding carries no text");
  }
  return out;
}

absl::StatusOr<DecodedPayload> DecodeHexPayload(std::string_view hex, DataCoding coding,
                                                bool udhi) {
  absl::StatusOr<std::string> bytes = HexToBytes(hex);
  if (!bytes.ok()) return bytes.status();
  return DecodePayload(*bytes, coding, udhi);
}

}  // namespace veto::mobile
