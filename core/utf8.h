// veto/core/utf8.h — UTF-8 decoding and validation shared by the readers of untrusted text.
//
//   size_t len;
//   char32_t cp = DecodeUtf8(p, end, &len);  // kIllFormedUtf8: skip len bytes (one U+FFFD)
//   size_t n = ValidUtf8Length(s, i);        // 1-4: a valid sequence starts at s[i]; 0: invalid
//
// Thread-safety: pure functions.
#ifndef VETO_CORE_UTF8_H_
#define VETO_CORE_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace veto {

// What DecodeUtf8 returns for an ill-formed sequence (not a code point).
constexpr char32_t kIllFormedUtf8 = 0xFFFFFFFF;

// Decodes the code point at p (p < end) per RFC 3629 — no overlong forms, no surrogates
// (U+D800-DFFF), nothing above U+10FFFF, no truncated sequence — or returns kIllFormedUtf8.
// *len gets the bytes consumed: for ill-formed input the maximal subpart (Unicode §3.9), so a
// truncated "E2 82" is one replacement, not two.
inline char32_t DecodeUtf8(const uint8_t* p, const uint8_t* end, size_t* len) {
  const uint8_t c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  size_t need;
  char32_t cp;
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    *len = 1;
    return kIllFormedUtf8;
  }
  for (size_t i = 1; i <= need; ++i) {
    if (p + i >= end || p[i] < lo || p[i] > hi) {
      *len = i;
      return kIllFormedUtf8;
    }
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  *len = need + 1;
  return cp;
}

// Length of the valid UTF-8 sequence starting at s[i] (i < s.size()), or 0 if none does.
inline size_t ValidUtf8Length(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t len = 0;
  return DecodeUtf8(p + i, p + s.size(), &len) == kIllFormedUtf8 ? 0 : len;
}

}  // namespace veto

#endif  // VETO_CORE_UTF8_H_
