// Differential fuzzing of the JSONL reader's fast path (FlatJsonLine in mobile/feed.cc): one
// input line read by the FeedReader must give exactly what the general parser gives
// (ParseJsonLine + JsonFieldsToRaw + AssembleRecord, the path every line took before the fast
// path existed) — the same record field by field, or the same error message. Any difference
// traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_line.h"
#include "core/strings.h"
#include "mobile/feed.h"
#include "mobile/sms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veto::mobile;
  using veto::JsonField;
  using veto::ParseJsonLine;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  // One line: the reader splits at '\n' and strips one '\r' before it; a UTF-8 BOM at the
  // start of a feed is the reader's business, not the line parser's.
  if (line.find('\n') != std::string_view::npos || line.ends_with('\r') ||
      line.starts_with("\xEF\xBB\xBF") || veto::StripWhitespace(line).empty())  // blank: skipped
    return 0;
  FeedOptions o;
  o.format = FeedFormat::kJsonl;
  o.max_record_bytes = 1 << 16;
  o.max_text_bytes = 1 << 16;
  o.read_block_bytes = 4096;
  const std::string feed = std::string(line) + "\n";  // the source reads it in place
  auto r = FeedReader::FromSource(StringByteSource(feed), o);
  if (!r.ok()) __builtin_trap();
  std::vector<SmsRecord> records;
  std::vector<FeedError> errors;
  SmsRecord rec;
  FeedError err;
  while (true) {
    FeedReader::Result res = (*r)->Next(&rec, &err);
    if (res == FeedReader::kEnd) break;
    if (res == FeedReader::kRecord) records.push_back(rec);
    if (res == FeedReader::kError) errors.push_back(err);
  }

  std::vector<JsonField> fields;
  bool replaced = false;
  absl::Status s = ParseJsonLine(line, &fields, &replaced);
  RawFields raw;
  if (s.ok()) s = JsonFieldsToRaw(fields, &raw);
  SmsRecord want;
  want.line = 1;
  if (s.ok()) s = AssembleRecord(raw, o, &want);
  if (s.ok() && replaced) want.flags |= kSmsReplacedChars;
  if (!s.ok()) {
    if (errors.size() != 1 || !records.empty() || errors[0].message != s.message())
      __builtin_trap();
    return 0;
  }
  if (records.size() != 1 || !errors.empty()) __builtin_trap();
  const SmsRecord& got = records[0];
  if (got.line != want.line || got.id != want.id || got.sender != want.sender ||
      got.recipient != want.recipient || got.has_time != want.has_time ||
      got.timestamp_unix != want.timestamp_unix ||
      got.utc_offset_seconds != want.utc_offset_seconds || got.text != want.text ||
      got.label != want.label || got.flags != want.flags || got.concat.ref != want.concat.ref ||
      got.concat.total != want.concat.total || got.concat.seq != want.concat.seq ||
      got.reporter != want.reporter) {
    __builtin_trap();
  }
  return 0;
}
