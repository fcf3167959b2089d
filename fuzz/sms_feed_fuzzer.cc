// Fuzzes the SMS feed readers (TSV, CSV with and without a header, JSONL), reassembly, the
// Message build and signal feature extraction. The first byte picks the format and options.
// Invariants: every record is valid UTF-8 text, the reader's counts add up, reassembly
// accounts for every record, nothing grows without bound (small record limits).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mobile/feed.h"
#include "mobile/reassembly.h"
#include "mobile/signals.h"
#include "mobile/sms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace veto::mobile;
  const uint8_t sel = data[0];
  std::string_view feed(reinterpret_cast<const char*>(data + 1), size - 1);
  FeedOptions o;
  o.format = static_cast<FeedFormat>(sel % 3);
  o.csv.header = (sel & 4) != 0;
  if (sel & 8) o.csv.columns = {{"text", "2"}, {"sender", "1"}};
  o.max_record_bytes = 4096;
  o.max_text_bytes = 1024;
  o.read_block_bytes = 4096;
  auto r = FeedReader::FromSource(StringByteSource(feed), o);
  if (!r.ok()) return 0;
  ReassemblyOptions ro;
  ro.max_groups = 8;
  ro.max_bytes = 4096;
  Reassembler re(ro);
  std::vector<SmsRecord> ready;
  SmsRecord rec;
  FeedError err;
  uint64_t records = 0, errors = 0, dup = 0;
  while (true) {
    FeedReader::Result res = (*r)->Next(&rec, &err);
    if (res == FeedReader::kEnd) break;
    if (res == FeedReader::kError) {
      if (err.message.empty()) __builtin_trap();
      ++errors;
      continue;
    }
    ++records;
    if (rec.text.size() > o.max_text_bytes) __builtin_trap();
    if (!re.Add(std::move(rec), &ready).ok()) ++dup;
  }
  re.Flush(&ready);
  if (records != (*r)->records() || errors != (*r)->errors()) __builtin_trap();
  uint64_t accounted = 0;
  for (const SmsRecord& m : ready) {
    accounted += m.part_lines.empty() ? 1 : m.part_lines.size();
    auto msg = BuildMessage(m);
    MessageFeatures f = ExtractFeatures(*msg);
    (void)f;
  }
  if (accounted + dup != records) __builtin_trap();
  if (re.waiting_bytes() != 0) __builtin_trap();
  return 0;
}
