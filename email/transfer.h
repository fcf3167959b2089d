// veto/email/transfer.h — Content-Transfer-Encoding decoders (base64, quoted-printable).
//
// Both are tolerant, as mail clients are: they never fail, they decode what can be decoded
// and report what was wrong. Output is appended to `out` (bytes, no charset conversion).
//
//   std::string bytes;
//   TransferDecodeResult r = DecodeBase64(part_body, &bytes);
//   if (r.malformed) flags.Set(MessageFlag::kBadBase64);
//
// Thread-safety: pure functions.
#ifndef VETO_EMAIL_TRANSFER_H_
#define VETO_EMAIL_TRANSFER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace veto::email {

struct TransferDecodeResult {
  bool malformed = false;  // junk characters, bad padding, bad =XX escapes, ...
};

// base64 (RFC 2045 §6.8). Skips whitespace and characters outside the alphabet (counted as
// malformed unless whitespace), accepts missing padding, stops at a second "=" run followed by
// more data only if that data is not base64 (concatenated encodings are decoded as a whole
// stream, as most clients do). Stops appending once `out` would exceed `max_out` bytes
// (0 = no limit) and sets `truncated`.
TransferDecodeResult DecodeBase64(std::string_view in, std::string* out, size_t max_out = 0,
                                  bool* truncated = nullptr);

// quoted-printable (RFC 2045 §6.7). "=XX" (hex, either case) decodes to a byte, "=" at the end
// of a line is a soft break, trailing whitespace at line ends is removed; an invalid "="
// sequence is kept literally and marks the result malformed. CRLF becomes LF.
TransferDecodeResult DecodeQuotedPrintable(std::string_view in, std::string* out,
                                           size_t max_out = 0, bool* truncated = nullptr);

// RFC 2047 "Q" encoding of an encoded-word's text ("_" is a space, "=XX" a byte).
TransferDecodeResult DecodeQEncoding(std::string_view in, std::string* out);

}  // namespace veto::email

#endif  // VETO_EMAIL_TRANSFER_H_
