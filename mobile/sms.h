// veto/mobile/sms.h — one SMS as a feed gives it, and the Message the pipeline scans.
//
// Feed readers (feed.h) produce SmsRecords: owned, normalised strings, small enough to queue
// between threads. BuildMessage turns one into a core::Message (Channel::kSms): sender and
// recipient become the `From` and `To` headers (so rules can match them), the text becomes
// `body` and its derived fields (email::FinishPlainTextMessage: body elements, normalised
// body, URLs).
//
//   SmsRecord r;
//   r.sender = NormalizeSender("+44 7700 900123");   // "+447700900123"
//   r.text = "WINNER! Call 09061701461";
//   std::unique_ptr<Message> m = BuildMessage(r);
//
// Thread-safety: pure functions; an SmsRecord is plain data.
#ifndef VETO_MOBILE_SMS_H_
#define VETO_MOBILE_SMS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/message.h"
#include "email/parser.h"
#include "mobile/gsm.h"

namespace veto::mobile {

enum class Label : uint8_t { kNone = 0, kHam, kSpam };
std::string_view LabelName(Label l);  // "", "ham", "spam"

// "spam"/"ham" (any case), "1"/"0", "true"/"false", "" (none). Errors:
// `unknown label "x" (expected spam or ham)`.
absl::StatusOr<Label> ParseLabel(std::string_view s);

// Flags of a record (bit set).
enum SmsRecordFlag : uint32_t {
  kSmsReplacedChars = 1u << 0,      // the payload had codes with no character (U+FFFD / '?')
  kSmsBadUdh = 1u << 1,             // a UDH element was malformed and ignored
  kSmsIncomplete = 1u << 2,         // concatenated message with parts missing (timed out)
  kSmsInvalidSender = 1u << 3,      // the sender is none of MSISDN / short code / sender ID
  kSmsInvalidRecipient = 1u << 4,   // the recipient is not an MSISDN or short code
  kSmsTextTruncated = 1u << 5,      // the text exceeded max_text_bytes
};
std::vector<std::string_view> SmsFlagNames(uint32_t flags);

struct SmsRecord {
  uint64_t line = 0;              // 1-based line of the record's start in its feed
  std::string id;                 // from the feed; "" if none (verdicts then use the line)
  std::string sender;             // normalised (NormalizeSender)
  std::string recipient;          // normalised
  int64_t timestamp_unix = 0;     // seconds, UTC; meaningful only if has_time
  int32_t utc_offset_seconds = 0;
  bool has_time = false;
  std::string text;               // UTF-8
  Label label = Label::kNone;
  ConcatInfo concat;              // total == 0: a whole message
  uint32_t flags = 0;             // SmsRecordFlag bits
  std::vector<uint64_t> part_lines;  // reassembled: the line of each part present, in order
  std::string reporter;           // report feeds only: who reported it
};

// Normalises an SMS originator: E.164 MSISDN ("+447700900123"), short code ("7726") or
// alphanumeric sender ID (lower-cased). Unusable input is returned trimmed and lower-cased
// (at most 32 bytes) with *valid = false.
std::string NormalizeSender(std::string_view raw, bool* valid = nullptr);

// Parses a feed timestamp: Unix seconds ("1714563296", fractions allowed), or ISO 8601 /
// RFC 3339 "2024-05-01T12:34:56+02:00", "...Z", "2024-05-01 12:34:56" (no zone: UTC),
// fractional seconds allowed. Errors: `bad time "x" (expected Unix seconds or
// YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM])`.
absl::Status ParseTimestamp(std::string_view s, int64_t* unix_seconds, int32_t* utc_offset);

// Builds the Message for `r`. The Message owns copies of every string.
std::unique_ptr<Message> BuildMessage(const SmsRecord& r,
                                      const email::ParseOptions& options = {});
// The same into `m`, which is Reset first (its memory reused): for loops over many records.
void BuildMessageInto(const SmsRecord& r, const email::ParseOptions& options, Message* m);
// BuildMessageInto without copying the sender, recipient and text: the Message's views of
// them point into `r`, which must stay alive and unchanged while `m` is used (the replay
// evaluates a record's Message while the record sits in its batch).
void BuildMessageViewing(const SmsRecord& r, const email::ParseOptions& options, Message* m);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_SMS_H_
