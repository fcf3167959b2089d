// veto/email/unicode.h — Unicode normalisation for matching.
//
// NormalizeForMatch gives the "normalised" text field: NFKC with case folding (utf8proc),
// zero-width and other invisible format characters removed (U+200B-U+200F, U+2060-U+2064,
// U+FEFF, U+00AD soft hyphen, U+034F), so "ＦＲＥＥ" and "F​REE" both match "free".
// Pure ASCII takes a fast path (lower-casing only). Invalid UTF-8 bytes become U+FFFD.
//
// Thread-safety: pure function.
#ifndef VETO_EMAIL_UNICODE_H_
#define VETO_EMAIL_UNICODE_H_

#include <string>
#include <string_view>

namespace veto::email {

// Appends the normalised form of `utf8` to `out`. Newlines are preserved, so paragraph
// structure (and element boundaries computed from it) survives.
void NormalizeForMatch(std::string_view utf8, std::string* out);

}  // namespace veto::email

#endif  // VETO_EMAIL_UNICODE_H_
