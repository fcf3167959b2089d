// veto/mobile/feed.h — streaming SMS feed readers: TSV, CSV (RFC 4180), JSON Lines.
//
// A feed is read as a stream in fixed-size blocks, so memory stays bounded whatever its size
// (one record is at most FeedOptions::max_record_bytes). Every record either becomes an
// SmsRecord or a FeedError naming its line; the reader then goes on with the next record.
// Nothing is skipped silently: blank lines (and a CSV header) are counted too.
//
//   absl::StatusOr<std::unique_ptr<FeedReader>> r = FeedReader::Open("feed.tsv", options);
//   SmsRecord rec;
//   FeedError err;
//   while (true) {
//     FeedReader::Result res = (*r)->Next(&rec, &err);
//     if (res == FeedReader::kEnd) break;
//     if (res == FeedReader::kError) { fprintf(stderr, "%s:%llu: %s\n", ...); continue; }
//     ... rec ...
//   }
//   if (!(*r)->io_status().ok()) ...   // a read error ended the feed early
//
// ## Formats
//
// TSV — `label<TAB>text`, as the SMS Spam Collection; a line without a TAB is text only. With
//   a TAB, the first field must be a label (spam/ham/1/0); the rest of the line is the text.
//
// CSV — RFC 4180: comma-separated, fields in double quotes may hold commas, newlines and ""
//   for a quote; CRLF or LF line ends. By default the first record is a header naming the
//   columns; names are matched case-insensitively against the field names below (and their
//   aliases). `CsvOptions::columns` maps fields explicitly, by header name or 1-based column
//   number (`text=Message`, `sender=2`); without a header every field must be mapped by number
//   (default: label=1, text=2).
//
// JSONL — one object per line with these keys (all optional except text or payload):
//   id          string or number           the feed's message id
//   sender      string   (alias: from)     MSISDN, short code or alphanumeric sender ID
//   recipient   string   (alias: to)       MSISDN or short code
//   time        string or number (alias: timestamp)  Unix seconds or RFC 3339
//   text        string   (alias: message, body)      UTF-8 text
//   payload     string                     hex octets, decoded per data_coding (instead of text)
//   data_coding number or string           SMPP data_coding (0 gsm7, 3 latin1, 8 ucs2, ...) or a
//                                          name (gsm7, gsm7-packed, ascii, latin1, ucs2); default 0
//   udhi        bool                       the payload starts with a User Data Header
//   udh         string                     hex UDH (with its length octet), given separately
//   ref, total, seq  numbers (or "concat": {"ref":..,"total":..,"seq":..})  concatenation
//   label       string or bool             spam / ham
//   reporter    string                     report feeds: who reported the message
// Unknown keys are ignored (so producers can add fields). The same names work as CSV headers.
//
// Thread-safety: a FeedReader is used by one thread.
#ifndef VETO_MOBILE_FEED_H_
#define VETO_MOBILE_FEED_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/json_line.h"
#include "mobile/sms.h"

namespace veto::mobile {

enum class FeedFormat : uint8_t { kTsv, kCsv, kJsonl };
std::string_view FeedFormatName(FeedFormat f);
// "tsv", "csv", "jsonl" (or "json"). Errors: `unknown feed format "x" (expected tsv, csv or jsonl)`.
absl::StatusOr<FeedFormat> FeedFormatFromName(std::string_view name);
// From a file name's extension (.tsv/.txt → tsv, .csv, .jsonl/.ndjson/.json); tsv otherwise.
FeedFormat GuessFeedFormat(std::string_view path);

struct CsvOptions {
  bool header = true;   // the first record names the columns
  char delimiter = ',';
  // field name → header name or 1-based column number, e.g. {"text", "Message"}, {"sender", "2"}.
  std::vector<std::pair<std::string, std::string>> columns;
};

struct FeedOptions {
  FeedFormat format = FeedFormat::kTsv;
  size_t max_record_bytes = 64 * 1024;  // longer records are errors (skipped to the next line)
  size_t max_text_bytes = 16 * 1024;    // longer texts are truncated (flag text_truncated)
  CsvOptions csv;
  size_t read_block_bytes = 1 << 20;
};

struct FeedError {
  uint64_t line = 0;  // 1-based; the record's first line
  std::string message;
};

// Where feed bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; returns the count, 0 at the end, or an error.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};
// A file descriptor (not closed unless `owned`).
std::unique_ptr<ByteSource> FdByteSource(int fd, bool owned);
// A string that outlives the source.
std::unique_ptr<ByteSource> StringByteSource(std::string_view data);

class FeedReader {
 public:
  enum Result { kRecord, kError, kEnd };

  // Opens `path` ("-": standard input). Errors: NotFound / PermissionDenied "PATH: reason";
  // InvalidArgument for bad CsvOptions (unknown field name, column 0).
  static absl::StatusOr<std::unique_ptr<FeedReader>> Open(const std::string& path,
                                                          const FeedOptions& options);
  static absl::StatusOr<std::unique_ptr<FeedReader>> FromSource(std::unique_ptr<ByteSource> src,
                                                                const FeedOptions& options);

  // The next record or error; kEnd when the input is exhausted (or a read failed:
  // io_status()). `*record` is overwritten entirely.
  virtual Result Next(SmsRecord* record, FeedError* error) = 0;

  virtual ~FeedReader() = default;

  const absl::Status& io_status() const { return io_status_; }
  uint64_t lines() const { return lines_; }              // lines consumed so far
  uint64_t records() const { return records_; }          // kRecord results
  uint64_t errors() const { return errors_; }            // kError results
  uint64_t blank_lines() const { return blank_lines_; }  // empty lines, not records
  uint64_t header_lines() const { return header_lines_; }

 protected:
  absl::Status io_status_;
  uint64_t lines_ = 0;
  uint64_t records_ = 0;
  uint64_t errors_ = 0;
  uint64_t blank_lines_ = 0;
  uint64_t header_lines_ = 0;
};

// The field names a feed can carry, for CSV headers, JSONL keys and --column flags.
enum class FeedField : uint8_t {
  kId, kSender, kRecipient, kTime, kText, kPayload, kDataCoding, kUdhi, kUdh, kRef, kTotal,
  kSeq, kLabel, kReporter, kCount_
};
// "sender" or an alias ("from") → the field; nullopt if unknown.
std::optional<FeedField> FeedFieldFromName(std::string_view name);

// A record's fields as found (not yet validated). Used by the readers and the Redis consumer.
struct RawFields {
  std::string_view value[static_cast<size_t>(FeedField::kCount_)];
  bool present[static_cast<size_t>(FeedField::kCount_)] = {};
  void Set(FeedField f, std::string_view v) {
    value[static_cast<size_t>(f)] = v;
    present[static_cast<size_t>(f)] = true;
  }
};

// Validates and converts raw fields into `out` (normalising identities, parsing time and
// label, decoding the payload, turning invalid UTF-8 into U+FFFD). `out->line` is kept.
// Errors: one specific message (e.g. `bad time "x" (...)`, `no text or payload`).
absl::Status AssembleRecord(const RawFields& raw, const FeedOptions& options, SmsRecord* out);

// Maps JSON fields (ParseJsonLine) onto RawFields (views into `fields`).
absl::Status JsonFieldsToRaw(const std::vector<JsonField>& fields, RawFields* raw);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_FEED_H_
