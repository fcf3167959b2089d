// veto/core/message.h — the message every stage sees.
//
// A Message is the normalised form of one email or one SMS. Normalisers (email/, mobile/)
// build it; rules/, classifiers/ and policy/ read it. Every text field is UTF-8 and is a
// std::string_view into storage the Message owns (its Arena or the raw input copy), so
// fields cost no copies on the hot path and stay valid exactly as long as the Message.
//
//   absl::StatusOr<std::unique_ptr<Message>> m = email::ParseMessage(raw);
//   for (const Header& h : (*m)->Headers()) ...          // top-level headers, in order
//   const Header* subject = (*m)->LastHeader("Subject");  // case-insensitive
//   for (std::string_view element : (*m)->body_elements) // what `body` rules match
//
// Thread-safety: a Message is built by one thread and then only read; reading from several
// threads at once is safe.
#ifndef VETO_CORE_MESSAGE_H_
#define VETO_CORE_MESSAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"

namespace veto {

// Anomalies and limits noticed while normalising. A flag never means "spam": it says what the
// normaliser saw or had to cut, so rules and operators can act on it.
enum class MessageFlag : uint32_t {
  kMboxFromLine = 0,       // an mbox "From " line preceded the headers (removed)
  kCrlf,                   // CRLF line ends (first or last line), normalised to LF
  kEightBitHeaders,        // raw 8-bit bytes in header values
  kMalformedHeader,        // a header line that is not "name: value"
  kEncodedWordError,       // an RFC 2047 word that could not be decoded (kept as text)
  kMissingBoundary,        // multipart without a usable boundary parameter
  kMissingFinalBoundary,   // multipart whose closing boundary never came
  kBadBase64,              // junk characters or missing padding in base64
  kBadQuotedPrintable,     // malformed =XX sequences in quoted-printable
  kUnknownEncoding,        // Content-Transfer-Encoding not understood (body kept raw)
  kUnknownCharset,         // declared charset unknown to iconv (a fallback was used)
  kCharsetGuessed,         // 8-bit text without (usable) charset label: charset guessed
  kInvalidBytesReplaced,   // invalid bytes replaced with U+FFFD during conversion
  kHtmlInvisibleText,      // HTML text hidden by display:none / visibility:hidden
  kHtmlTinyFont,           // HTML text in a zero or tiny font
  kHtmlColorMatch,         // HTML text in the same colour as its background
  kUrlObfuscated,          // an obfuscated URL (hxxp, [.], spaces around dots) was found
  kIdnHost,                // a URL host with non-ASCII or punycode labels
  kLimitMessageSize,       // input larger than the size limit: truncated
  kLimitHeaderCount,       // more headers than allowed: the rest ignored
  kLimitHeaderLength,      // a header name or value over the length limit: truncated
  kLimitParts,             // more MIME parts than allowed: the rest not split out
  kLimitDepth,             // nesting deeper than allowed: deeper parts kept as leaves
  kLimitDecodedSize,       // decoded content over the limit: truncated
  kLimitUris,              // more URIs than allowed: the rest ignored
  kCount_,                 // number of flags (not a flag)
};

// Stable lower_snake_case name of a flag, as printed in JSON and logs.
std::string_view FlagName(MessageFlag flag);

class Flags {
 public:
  void Set(MessageFlag f) { bits_ |= uint64_t{1} << static_cast<uint32_t>(f); }
  bool Has(MessageFlag f) const { return bits_ & (uint64_t{1} << static_cast<uint32_t>(f)); }
  void Merge(Flags other) { bits_ |= other.bits_; }
  bool empty() const { return bits_ == 0; }
  uint64_t bits() const { return bits_; }
  // Names of the set flags, in enum order.
  std::vector<std::string_view> Names() const;

 private:
  uint64_t bits_ = 0;
};

// One header field, in message order; duplicates are kept as separate entries.
struct Header {
  std::string_view name;   // as written, whitespace before the colon removed
  std::string_view raw;    // everything after the colon, folds kept, without the final newline
  std::string_view value;  // unfolded, trimmed, RFC 2047-decoded, UTF-8
};

// One node of the MIME tree. Parts live in Message::parts; index 0 is the message itself.
struct MimePart {
  int parent = -1;              // index of the enclosing part, -1 for the root
  int depth = 0;                // nesting depth (root 0)
  std::vector<int> children;    // indices of child parts, in order
  uint32_t header_begin = 0;    // this part's headers: Message::all_headers[begin, end)
  uint32_t header_end = 0;

  std::string_view content_type;     // lower-cased "type/subtype"; "text/plain" if absent
  std::string_view effective_type;   // as rendered: text/* -> text/plain, *.html -> text/html
  std::string_view charset;          // lower-cased declared charset, empty if none
  std::string_view transfer_encoding;  // lower-cased Content-Transfer-Encoding, empty if none
  std::string_view disposition;      // lower-cased disposition type, empty if none
  std::string_view filename;         // Content-Disposition filename= or Content-Type name=
  std::string_view boundary;         // multipart boundary, empty otherwise

  std::string_view raw_body;  // the part's body bytes as they appear in Message::full
  std::string_view decoded;   // after transfer decoding (bytes, no charset conversion)
  std::string_view text;      // text/plain and text/html leaves: UTF-8, HTML rendered

  bool is_multipart() const { return content_type.starts_with("multipart/"); }
  bool is_leaf() const { return children.empty() && !is_multipart(); }
};

// Where a URI was found.
enum class UriSource : uint8_t { kText, kHtmlLink, kHtmlResource, kHtmlForm, kHtmlOther };
std::string_view UriSourceName(UriSource source);

// One URL found in the message (text, Subject, or HTML attributes), de-duplicated by `url`.
struct Uri {
  std::string_view url;                // cleaned form: scheme added, percent-decoding of
                                       // printable ASCII, IDN hosts in punycode
  std::string_view raw;                // as found in the text or attribute
  std::string_view host;               // lower-case ASCII (punycode) host, empty if none
  std::string_view host_unicode;       // the host with punycode labels decoded
  std::string_view registered_domain;  // public-suffix registrable domain of host
  UriSource source = UriSource::kText;
  bool obfuscated = false;             // hxxp, [.], (dot), spaces around dots, ...
  bool schemeless = false;             // found without a scheme ("visit example.com")
};

// What the MTA told us (milter callbacks) or the SMS gateway supplied. Small and filled once
// per message, so these are owned strings.
struct Envelope {
  std::string client_ip;
  std::string client_host;
  std::string helo;
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string queue_id;
  std::string auth_user;
};

// SMS-specific fields; empty for email. The SMS text is also `body`.
struct SmsFields {
  std::string_view sender;     // normalised: E.164 "+CC...", short code, or alphanumeric ID
  std::string_view recipient;
  int64_t timestamp_unix = 0;  // seconds since the epoch, UTC; 0 if unknown
  int32_t utc_offset_seconds = 0;
  std::string_view text;       // UTF-8
};

enum class Channel : uint8_t { kEmail, kSms };

class Message {
 public:
  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  Arena& arena() { return arena_; }

  // Makes this an empty Message again (as if newly constructed) while keeping the memory it
  // has: vector capacities and the arena's first block. Every view it handed out dies. For
  // loops that build one message after another (the SMS replay) without allocating each time.
  void Reset();

  Channel channel = Channel::kEmail;
  Envelope envelope;
  SmsFields sms;

  // The input exactly as scanned by `full` rules: the raw bytes without an mbox "From " line.
  std::string_view full;

  // Headers of every part, grouped by part (MimePart::header_begin/end); the top-level
  // message's headers come first.
  std::vector<Header> all_headers;
  std::vector<MimePart> parts;  // parts[0] is the message itself, once parsed

  // Top-level headers, in order.
  std::vector<Header> Headers() const;
  // All top-level headers named `name` (ASCII case-insensitive), in order.
  std::vector<const Header*> GetHeaders(std::string_view name) const;
  // The first / last top-level header named `name`, or nullptr.
  const Header* FirstHeader(std::string_view name) const;
  const Header* LastHeader(std::string_view name) const;

  // `body`: the visible text of all text leaves (HTML rendered), whitespace-normalised as
  // SpamAssassin does, preceded by the decoded Subject and "\n". Paragraphs end in "\n".
  std::string_view body;
  // `body` cut into the elements rules match one at a time (paragraphs, at most ~2 KB each).
  // body_elements[0] is the Subject line.
  std::vector<std::string_view> body_elements;
  // `rawbody`: transfer-decoded text leaves (no charset conversion, HTML not rendered), in
  // chunks of 2-4 KB that never span parts.
  std::vector<std::string_view> rawbody_elements;
  // `body` in NFKC case-folded form with zero-width characters removed: for matching
  // obfuscated text. Same paragraph structure as `body`.
  std::string_view normalized_body;

  std::vector<Uri> uris;

  Flags flags;
  uint32_t header_count = 0;  // top-level headers kept

 private:
  Arena arena_;
};

// True if `a` and `b` are equal ignoring ASCII case. Inline: header lookups call it for
// every header of every message, mostly with names of another length.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]);
    const unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Different bytes are equal ignoring case only as the two cases of one ASCII letter.
    const unsigned char lx = x | 0x20;
    if (lx != (y | 0x20) || static_cast<unsigned char>(lx - 'a') > 25) return false;
  }
  return true;
}

}  // namespace veto

#endif  // VETO_CORE_MESSAGE_H_
