// veto/email/charset.h — charset conversion to UTF-8 (iconv) and RFC 2047 encoded-words.
//
// The conversion follows SpamAssassin 4.0.1's chain (../shared/docs/spamassassin-semantics.md
// §2.2 step 4), so rules see the text they expect:
//   1. pure ASCII: unchanged (fast path, no iconv);
//   2. valid UTF-8: taken as UTF-8, whatever the label says;
//   3. the declared charset, strictly (aliases resolved; ISO-8859-1 / latin1 / cp1252 use
//      Windows-1252; UTF-16/32 with BOM or endianness detection; GB2312 -> GBK/GB18030);
//   4. otherwise Windows-1252, with undefined bytes (81 8D 8F 90 9D) as U+FFFD.
// With no label, step 3 is skipped and the result is flagged `guessed` if 8-bit.
//
//   std::string utf8;
//   CharsetResult r = ConvertToUtf8(bytes, "koi8-r", &utf8);
//
// Thread-safety: thread-compatible functions; iconv descriptors are cached per thread.
#ifndef VETO_EMAIL_CHARSET_H_
#define VETO_EMAIL_CHARSET_H_

#include <string>
#include <string_view>

namespace veto::email {

struct CharsetResult {
  bool unknown_charset = false;  // the declared label is not known to iconv
  bool guessed = false;          // 8-bit input decoded without a usable declared charset
  bool replaced = false;         // invalid bytes were replaced by U+FFFD
};

// Appends the UTF-8 form of `in`, declared as `charset` (any case, may be empty), to `out`.
CharsetResult ConvertToUtf8(std::string_view in, std::string_view charset, std::string* out);

// True if `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Appends `value` with RFC 2047 encoded-words (=?charset?Q|B?text?=, any charset, with an
// optional *language suffix) decoded to UTF-8. Encoded-words are recognised anywhere, even
// inside a word (as SpamAssassin does); whitespace between two adjacent encoded-words is
// dropped. Raw 8-bit bytes outside encoded-words go through ConvertToUtf8 with no label.
// A malformed word is kept verbatim and sets `*malformed` (if not null).
void DecodeEncodedWords(std::string_view value, std::string* out, bool* malformed = nullptr);

}  // namespace veto::email

#endif  // VETO_EMAIL_CHARSET_H_
