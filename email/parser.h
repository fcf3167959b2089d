// veto/email/parser.h — raw RFC 5322 / MIME bytes to a normalised core::Message.
//
// The first stage of the email flow (DESIGN.md §1): headers unfolded and decoded, the MIME
// tree split, transfer encodings and charsets decoded to UTF-8, HTML rendered to text, URLs
// collected, and the fields rules match on (`body`, `rawbody`, `full`, `uris`, the normalised
// body) built the way SpamAssassin 4.0.1 builds them
// (../shared/docs/spamassassin-semantics.md §2-§4), so imported rules behave as they do there.
//
//   ParseOptions options;                 // limits; defaults are sane for a mail server
//   absl::StatusOr<std::unique_ptr<Message>> m = ParseMessage(raw, options);
//   if (!m.ok()) ...                      // only for unusable options or internal errors
//   (*m)->flags.Has(MessageFlag::kLimitParts);  // which limits were hit, what looked odd
//
// Hostile input never fails the parse: it gives a truncated-but-valid Message whose flags say
// which limit was hit or what was malformed. Memory is bounded by the limits below.
//
// Thread-safety: ParseMessage is reentrant; call it from any number of threads.
#ifndef VETO_EMAIL_PARSER_H_
#define VETO_EMAIL_PARSER_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/message.h"

namespace veto::email {

struct ParseOptions {
  // Input beyond this many bytes is ignored (kLimitMessageSize).
  size_t max_message_bytes = 64u << 20;
  // Header fields kept per part (kLimitHeaderCount).
  size_t max_headers = 1000;
  // Header name / raw value length; longer ones are truncated (kLimitHeaderLength).
  // SpamAssassin's values: 256 and 8192.
  size_t max_header_name_bytes = 256;
  size_t max_header_value_bytes = 8192;
  // MIME parts in the whole tree (kLimitParts).
  size_t max_parts = 1000;
  // message/rfc822 and multipart nesting depth (kLimitDepth). Capped at 100 internally.
  size_t max_depth = 20;
  // Sum of transfer-decoded bytes over all parts (kLimitDecodedSize).
  size_t max_decoded_bytes = 64u << 20;
  // Rendered text per part, in characters (SpamAssassin's body_part_scan_size).
  size_t body_part_scan_chars = 50000;
  // Decoded bytes per part in `rawbody` (SpamAssassin's rawbody_part_scan_size).
  size_t rawbody_part_scan_bytes = 500000;
  // Distinct URIs kept (kLimitUris).
  size_t max_uris = 10000;
};

// Parses `raw` (one message, CRLF or LF line ends, an mbox "From " first line tolerated) into
// a Message that owns a copy of the bytes. Fails only with InvalidArgument for options that
// make no sense (a zero limit).
absl::StatusOr<std::unique_ptr<Message>> ParseMessage(std::string_view raw,
                                                      const ParseOptions& options = {});

// Builds the derived text fields (body elements, normalised body, uris) of a Message whose
// `body` text was set directly (the SMS path: mobile/ sets body to "\n" + text).
void FinishPlainTextMessage(Message* message, const ParseOptions& options = {});

}  // namespace veto::email

#endif  // VETO_EMAIL_PARSER_H_
