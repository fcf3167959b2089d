// veto/core/utf8.h — UTF-8 validation shared by the readers of untrusted text.
//
//   size_t n = ValidUtf8Length(s, i);  // 1-4: a valid sequence starts at s[i]; 0: invalid
//
// Thread-safety: pure function.
#ifndef VETO_CORE_UTF8_H_
#define VETO_CORE_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace veto {

// Length of the valid UTF-8 sequence starting at s[i] (i < s.size()), or 0 if none does:
// RFC 3629 — no overlong forms, no surrogates (U+D800-DFFF), nothing above U+10FFFF, no
// truncated sequence.
inline size_t ValidUtf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return n;
}

}  // namespace veto

#endif  // VETO_CORE_UTF8_H_
