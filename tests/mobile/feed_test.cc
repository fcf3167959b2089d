#include "mobile/feed.h"

#include <fstream>
#include <string>
#include <vector>

#include "core/json_line.h"
#include "gtest/gtest.h"
#include "mobile/reassembly.h"

namespace veto::mobile {
namespace {

struct ReadAll {
  std::vector<SmsRecord> records;
  std::vector<FeedError> errors;
  uint64_t blank = 0, header = 0, lines = 0;
  absl::Status io;
};

ReadAll Read(std::string_view data, FeedOptions o) {
  o.read_block_bytes = 4096;
  absl::StatusOr<std::unique_ptr<FeedReader>> r = FeedReader::FromSource(StringByteSource(data), o);
  EXPECT_TRUE(r.ok()) << r.status();
  ReadAll out;
  if (!r.ok()) return out;
  SmsRecord rec;
  FeedError err;
  while (true) {
    FeedReader::Result res = (*r)->Next(&rec, &err);
    if (res == FeedReader::kEnd) break;
    if (res == FeedReader::kRecord) out.records.push_back(rec);
    if (res == FeedReader::kError) out.errors.push_back(err);
  }
  out.blank = (*r)->blank_lines();
  out.header = (*r)->header_lines();
  out.lines = (*r)->lines();
  out.io = (*r)->io_status();
  // Accounting: every line is a record, an error, a blank, a header, or inside a CSV record.
  EXPECT_EQ((*r)->records(), out.records.size());
  EXPECT_EQ((*r)->errors(), out.errors.size());
  return out;
}

TEST(Tsv, LabelsAndPlainText) {
  ReadAll a = Read("ham\tOk lar...\nspam\tFree entry in 2 a wkly comp\n\nJust text\r\n", {});
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0].label, Label::kHam);
  EXPECT_EQ(a.records[0].text, "Ok lar...");
  EXPECT_EQ(a.records[0].line, 1u);
  EXPECT_EQ(a.records[1].label, Label::kSpam);
  EXPECT_EQ(a.records[2].label, Label::kNone);
  EXPECT_EQ(a.records[2].text, "Just text");
  EXPECT_EQ(a.records[2].line, 4u);
  EXPECT_EQ(a.blank, 1u);
}

TEST(Tsv, NastyLines) {
  FeedOptions o;
  o.max_record_bytes = 100;
  std::string data = "hamm\tbad label\n";                 // line 1: error
  data += "spam\t" + std::string(300, 'x') + "\n";         // line 2: too long
  data += "ham\tok\n";                                     // line 3
  data += std::string("ham\tinvalid \xff utf8\n");         // line 4: replaced
  data += std::string(250, 'y');                           // line 5: too long, no newline
  ReadAll a = Read(data, o);
  ASSERT_EQ(a.errors.size(), 3u);
  EXPECT_EQ(a.errors[0].line, 1u);
  EXPECT_NE(a.errors[0].message.find("unknown label \"hamm\""), std::string::npos);
  EXPECT_EQ(a.errors[1].line, 2u);
  EXPECT_NE(a.errors[1].message.find("longer than 100 bytes"), std::string::npos);
  EXPECT_EQ(a.errors[2].line, 5u);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].line, 3u);
  EXPECT_EQ(a.records[1].text, "invalid \xEF\xBF\xBD utf8");
  EXPECT_TRUE(a.records[1].flags & kSmsReplacedChars);
}

TEST(Tsv, LongLinesAcrossBlockBoundaries) {
  // Lines longer than the read block but within the record limit are read whole.
  FeedOptions o;
  std::string text(10000, 'a');
  ReadAll a = Read("ham\t" + text + "\nspam\tb\n", o);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].text, text);
}

TEST(Csv, HeaderMappingAndQuotes) {
  FeedOptions o;
  o.format = FeedFormat::kCsv;
  const std::string data =
      "id,From,To,time,Message,label\r\n"
      "1,+447700900123,+447700900999,2024-05-01T10:00:00Z,\"Hello, \"\"world\"\"\",ham\r\n"
      "2,PROMO,07700900111,1714557600,\"line one\nline two\",spam\r\n"
      "3,7726,+447700900999,,plain,\r\n";
  ReadAll a = Read(data, o);
  ASSERT_TRUE(a.errors.empty()) << a.errors[0].message;
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.header, 1u);
  EXPECT_EQ(a.records[0].id, "1");
  EXPECT_EQ(a.records[0].sender, "+447700900123");
  EXPECT_EQ(a.records[0].text, "Hello, \"world\"");
  EXPECT_EQ(a.records[0].timestamp_unix, 1714557600);
  EXPECT_EQ(a.records[1].sender, "promo");
  EXPECT_EQ(a.records[1].text, "line one\nline two");
  EXPECT_EQ(a.records[1].line, 3u);
  EXPECT_EQ(a.records[2].line, 5u);
  EXPECT_EQ(a.records[2].sender, "7726");
  EXPECT_FALSE(a.records[2].has_time);
}

TEST(Csv, ExplicitColumnsByNameAndNumber) {
  FeedOptions o;
  o.format = FeedFormat::kCsv;
  o.csv.columns = {{"text", "sms body"}, {"sender", "1"}};
  ReadAll a = Read("who,sms body\n+15551230000,hi there\n", o);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].text, "hi there");
  EXPECT_EQ(a.records[0].sender, "+15551230000");

  o.csv.header = false;
  o.csv.columns = {{"text", "2"}, {"label", "1"}};
  a = Read("spam,\"win, now\"\n", o);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].text, "win, now");
  EXPECT_EQ(a.records[0].label, Label::kSpam);
}

TEST(Csv, BadMappings) {
  FeedOptions o;
  o.format = FeedFormat::kCsv;
  o.csv.columns = {{"txet", "1"}};
  absl::StatusOr<std::unique_ptr<FeedReader>> r = FeedReader::FromSource(StringByteSource(""), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("unknown field \"txet\""), std::string::npos);
  o.csv.columns = {{"text", "0"}};
  EXPECT_FALSE(FeedReader::FromSource(StringByteSource(""), o).ok());
  // A header without a text column stops the feed with a clear io_status.
  o.csv.columns.clear();
  ReadAll a = Read("a,b\n1,2\n", o);
  EXPECT_FALSE(a.io.ok());
  EXPECT_NE(std::string(a.io.message()).find("names no text column"), std::string::npos);
}

TEST(Csv, NastyRecords) {
  FeedOptions o;
  o.format = FeedFormat::kCsv;
  o.max_record_bytes = 200;
  std::string data = "label,text\n";
  data += "ham,\"closed\"junk\n";                 // line 2: char after closing quote
  data += "ham,bare \" quote\n";                  // line 3: quote in unquoted field
  data += "ham\n";                                // line 4: too few fields
  data += "spam,fine\n";                          // line 5
  data += "ham,\"" + std::string(300, 'z') + "\"\n";  // line 6: too long
  data += "ham,\"never closed\n";                 // line 7: unterminated at EOF
  ReadAll a = Read(data, o);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].line, 5u);
  ASSERT_EQ(a.errors.size(), 5u);
  EXPECT_EQ(a.errors[0].line, 2u);
  EXPECT_NE(a.errors[0].message.find("after a closing quote"), std::string::npos);
  EXPECT_EQ(a.errors[1].line, 3u);
  EXPECT_EQ(a.errors[2].line, 4u);
  EXPECT_NE(a.errors[2].message.find("expected at least 2 fields"), std::string::npos);
  EXPECT_EQ(a.errors[3].line, 6u);
  EXPECT_EQ(a.errors[4].line, 7u);
  EXPECT_NE(a.errors[4].message.find("unterminated"), std::string::npos);
}

TEST(Jsonl, SchemaAndPayloads) {
  FeedOptions o;
  o.format = FeedFormat::kJsonl;
  const std::string data =
      R"({"id":17,"sender":"+44 7700 900123","recipient":"+447700900999","time":"2024-05-01T12:00:00+02:00","text":"caf\u00e9 \ud83d\ude00","label":"spam"})"
      "\n"
      R"({"id":"b","sender":"Bank","payload":"00480069","data_coding":8,"udh":"050003070201"})"
      "\n"
      R"({"text":"x","concat":{"ref":7,"total":2,"seq":2},"extra":[1,{"a":2}],"n":null})"
      "\n";
  ReadAll a = Read(data, o);
  ASSERT_TRUE(a.errors.empty()) << a.errors[0].message;
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0].id, "17");
  EXPECT_EQ(a.records[0].sender, "+447700900123");
  EXPECT_EQ(a.records[0].text, "café 😀");
  EXPECT_EQ(a.records[0].timestamp_unix, 1714557600);
  EXPECT_EQ(a.records[0].utc_offset_seconds, 7200);
  EXPECT_EQ(a.records[1].text, "Hi");
  EXPECT_EQ(a.records[1].sender, "bank");
  EXPECT_EQ(a.records[1].concat.total, 2u);
  EXPECT_EQ(a.records[1].concat.seq, 1u);
  EXPECT_EQ(a.records[2].concat.ref, 7u);
  EXPECT_EQ(a.records[2].concat.seq, 2u);
}

TEST(Jsonl, NastyLines) {
  FeedOptions o;
  o.format = FeedFormat::kJsonl;
  const char* lines[] = {
      R"({"text":"ok"})",                                   // 1 fine
      R"({"text":"unterminated)",                           // 2
      R"([1,2])",                                           // 3 not an object
      R"({"text":"a"} trailing)",                           // 4
      R"({"sender":"x"})",                                  // 5 no text
      R"({"text":"a","payload":"41"})",                     // 6 both
      R"({"payload":"4","data_coding":1})",                 // 7 odd hex
      R"({"payload":"41","data_coding":"utf-7"})",          // 8 coding
      R"({"text":"a","time":"yesterday"})",                 // 9 time
      R"({"text":"a","ref":1,"total":2})",                  // 10 partial concat
      R"({"text":"a","ref":1,"total":2,"seq":3})",          // 11 seq > total
      R"({"text":5})",                                      // 12 type
      R"({"text":"a","label":"maybe"})",                    // 13 label
      R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":1}}}}}}}}}}}}}}}}})",  // 14 depth
      R"({"text":"\x"})",                                   // 15 bad escape
      R"({"text":"a",})",                                   // 16 trailing comma
      R"({"text":01})",                                     // 17 leading zero
  };
  std::string data;
  for (const char* l : lines) data += std::string(l) + "\n";
  ReadAll a = Read(data, o);
  ASSERT_EQ(a.records.size(), 1u);
  ASSERT_EQ(a.errors.size(), std::size(lines) - 1);
  for (size_t i = 0; i < a.errors.size(); ++i) {
    EXPECT_EQ(a.errors[i].line, i + 2) << a.errors[i].message;
    EXPECT_FALSE(a.errors[i].message.empty());
  }
  EXPECT_NE(a.errors[12].message.find("nesting deeper than 16"), std::string::npos)
      << a.errors[12].message;
}

// The reader's fast path for flat lines must give what the general parser gives (the path
// every line took before): the same record, or the same error. Here each line goes through
// the reader and through ParseJsonLine + JsonFieldsToRaw + AssembleRecord directly.
TEST(Jsonl, FastPathEqualsTheGeneralParser) {
  FeedOptions o;
  o.format = FeedFormat::kJsonl;
  const std::vector<std::string> lines = {
      R"({"id":1,"sender":"+447700900123","recipient":"+447700900999","time":1714557600,"label":"spam","text":"WIN now"})",
      R"(  { "text" : "spaced" , "id" : "a b" }  )",
      R"({"text":"caf\u00e9 \"quoted\" \\ and\nnewline"})",
      "{\"text\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 valid\"}",
      "{\"text\":\"bad \xC3 byte\"}",
      "{\"text\":\"overlong \xC0\xAF\"}",
      "{\"text\":\"ctl \x01 char\"}",
      R"({"text":"a","sender":null,"unknown":[1,{"x":2}],"other":{"y":"z"}})",
      R"({"text":"a","concat":{"ref":7,"total":2,"seq":1}})",
      R"({"text":"a","ref":7,"total":2,"seq":2,"udhi":false})",
      R"({"TEXT":"upper case key","From":"+44 7700 900123","to":"7726"})",
      R"({"message":"alias","timestamp":"2024-05-01T12:34:56+02:00","class":"ham"})",
      R"({"text":"a","text":"second wins"})",
      R"({"text":"a","id":-1.5e+3})",
      R"({"text":"a","id":1.})",
      R"({"text":"a","id":-})",
      R"({"text":"a","id":01})",
      R"({"text":"a","id":1e})",
      R"({"text":true})",
      R"({"text":"a","sender":5})",
      R"({"text":"a","label":true})",
      R"({"text":"a","label":false})",
      R"({"text":"a","udhi":nul})",
      R"({"text":"a"}x)",
      R"({"text":"a",})",
      R"({"text":"a" "id":1})",
      R"({"text":"unterminated)",
      R"({})",
      R"({"text":"")",
      R"({"payload":"48656c6c6f","data_coding":3})",
      R"({"text":"a","label":"maybe"})",
      R"({"text":"a","time":"yesterday"})",
      R"(["text"])",
      R"("text")",
      R"({"te\u0078t":"escaped key"})",
      R"({"text":"a\/b"})",
      R"({"text":"0123456789abcdef0123456789abcdef","id":"0123456789abcdef0123456789abcde\""})",
  };
  for (const std::string& line : lines) {
    ReadAll a = Read(line + "\n", o);
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
      ASSERT_EQ(a.errors.size(), 1u) << line;
      EXPECT_EQ(a.errors[0].message, s.message()) << line;
      continue;
    }
    ASSERT_EQ(a.records.size(), 1u) << line;
    const SmsRecord& got = a.records[0];
    EXPECT_EQ(got.line, want.line) << line;
    EXPECT_EQ(got.id, want.id) << line;
    EXPECT_EQ(got.sender, want.sender) << line;
    EXPECT_EQ(got.recipient, want.recipient) << line;
    EXPECT_EQ(got.has_time, want.has_time) << line;
    EXPECT_EQ(got.timestamp_unix, want.timestamp_unix) << line;
    EXPECT_EQ(got.utc_offset_seconds, want.utc_offset_seconds) << line;
    EXPECT_EQ(got.text, want.text) << line;
    EXPECT_EQ(got.label, want.label) << line;
    EXPECT_EQ(got.flags, want.flags) << line;
    EXPECT_EQ(got.concat.ref, want.concat.ref) << line;
    EXPECT_EQ(got.concat.total, want.concat.total) << line;
    EXPECT_EQ(got.concat.seq, want.concat.seq) << line;
  }
}

TEST(Timestamp, Forms) {
  int64_t t;
  int32_t off;
  ASSERT_TRUE(ParseTimestamp("1714557600", &t, &off).ok());
  EXPECT_EQ(t, 1714557600);
  ASSERT_TRUE(ParseTimestamp(" 1714557600.75 ", &t, &off).ok());
  EXPECT_EQ(t, 1714557600);
  ASSERT_TRUE(ParseTimestamp("42", &t, &off).ok());
  EXPECT_EQ(t, 42);
  ASSERT_TRUE(ParseTimestamp("999999999999", &t, &off).ok());
  EXPECT_EQ(t, 999999999999);
  ASSERT_TRUE(ParseTimestamp("1000000000000", &t, &off).ok());  // 1e12: the limit
  EXPECT_EQ(t, 1000000000000);
  EXPECT_FALSE(ParseTimestamp("1000000000001", &t, &off).ok());
  ASSERT_TRUE(ParseTimestamp("2024-05-01T10:00:00Z", &t, &off).ok());
  EXPECT_EQ(t, 1714557600);
  ASSERT_TRUE(ParseTimestamp("2024-05-01 11:00:00.250+0100", &t, &off).ok());
  EXPECT_EQ(t, 1714557600);
  EXPECT_EQ(off, 3600);
  ASSERT_TRUE(ParseTimestamp("2024-05-01T05:30-04:30", &t, &off).ok());
  EXPECT_EQ(t, 1714557600);
  for (const char* bad : {"", "2024-13-01T00:00:00Z", "2024-05-01", "2024-05-01T10:00:00Q",
                          "1e400", "nan", "2024-05-01T25:00:00Z", "2024-05-01T10:00:00+99:00"}) {
    EXPECT_FALSE(ParseTimestamp(bad, &t, &off).ok()) << bad;
  }
}

TEST(Reassembly, CompleteOutOfOrderAndDuplicates) {
  Reassembler r({});
  std::vector<SmsRecord> out;
  auto part = [](uint64_t line, uint32_t ref, uint32_t seq, uint32_t total, std::string text) {
    SmsRecord s;
    s.line = line;
    s.sender = "+447700900123";
    s.recipient = "+447700900999";
    s.concat = {.ref = ref, .total = total, .seq = seq};
    s.text = std::move(text);
    return s;
  };
  ASSERT_TRUE(r.Add(part(1, 5, 2, 3, "world"), &out).ok());
  ASSERT_TRUE(r.Add(part(2, 9, 1, 2, "other "), &out).ok());
  EXPECT_FALSE(r.Add(part(3, 5, 2, 3, "dup"), &out).ok());
  ASSERT_TRUE(r.Add(part(4, 5, 1, 3, "hello "), &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(r.Add(part(5, 5, 3, 3, "!"), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "hello world!");
  EXPECT_EQ(out[0].line, 1u);
  EXPECT_EQ(out[0].part_lines, (std::vector<uint64_t>{4, 1, 5}));
  EXPECT_FALSE(out[0].flags & kSmsIncomplete);
  r.Flush(&out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].text, "other ");
  EXPECT_TRUE(out[1].flags & kSmsIncomplete);
  EXPECT_EQ(r.stats().duplicate_parts, 1u);
  EXPECT_EQ(r.waiting_groups(), 0u);
  EXPECT_EQ(r.waiting_bytes(), 0u);
}

TEST(Reassembly, BoundsAndTimeouts) {
  ReassemblyOptions o;
  o.max_groups = 3;
  o.timeout_seconds = 60;
  o.max_age_records = 1000;
  Reassembler r(o);
  std::vector<SmsRecord> out;
  // 10 groups that never complete: at most 3 wait at any time, the rest come out incomplete.
  for (uint32_t i = 0; i < 10; ++i) {
    SmsRecord s;
    s.line = i + 1;
    s.concat = {.ref = i, .total = 2, .seq = 1};
    s.text = "part";
    ASSERT_TRUE(r.Add(std::move(s), &out).ok());
    EXPECT_LE(r.waiting_groups(), 3u);
  }
  EXPECT_EQ(out.size(), 7u);
  EXPECT_EQ(r.stats().evicted, 7u);
  r.Flush(&out);
  EXPECT_EQ(out.size(), 10u);  // every input accounted for
}

TEST(Reassembly, TimeoutByFeedTime) {
  ReassemblyOptions o;
  o.timeout_seconds = 60;
  Reassembler r(o);
  std::vector<SmsRecord> out;
  SmsRecord t;
  t.line = 1;
  t.has_time = true;
  t.timestamp_unix = 1000;
  t.concat = {.ref = 99, .total = 2, .seq = 1};
  t.text = "first half";
  ASSERT_TRUE(r.Add(std::move(t), &out).ok());
  SmsRecord soon;
  soon.line = 2;
  soon.has_time = true;
  soon.timestamp_unix = 1030;
  soon.text = "whole";
  ASSERT_TRUE(r.Add(std::move(soon), &out).ok());
  ASSERT_EQ(out.size(), 1u);  // within the timeout: still waiting
  SmsRecord later;
  later.line = 3;
  later.has_time = true;
  later.timestamp_unix = 1100;
  later.text = "whole";
  ASSERT_TRUE(r.Add(std::move(later), &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].line, 1u);
  EXPECT_TRUE(out[1].flags & kSmsIncomplete);
  EXPECT_EQ(r.stats().incomplete, 1u);
  EXPECT_EQ(r.stats().evicted, 0u);
}

TEST(Reassembly, ByteCapBoundsMemory) {
  ReassemblyOptions o;
  o.max_bytes = 1000;
  Reassembler r(o);
  std::vector<SmsRecord> out;
  for (uint32_t i = 0; i < 100; ++i) {
    SmsRecord s;
    s.line = i + 1;
    s.concat = {.ref = i, .total = 3, .seq = 1};
    s.text = std::string(150, 'x');
    ASSERT_TRUE(r.Add(std::move(s), &out).ok());
    EXPECT_LE(r.waiting_bytes(), 1000u);
  }
  r.Flush(&out);
  EXPECT_EQ(out.size(), 100u);
}

TEST(JsonLine, FlattensAndDecodes) {
  std::vector<JsonField> f;
  ASSERT_TRUE(ParseJsonLine(R"( {"a":"x\ty","b":{"c":-1.5e3,"d":true},"e":[]} )", &f).ok());
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].value, "x\ty");
  EXPECT_EQ(f[1].key, "b.c");
  EXPECT_EQ(f[1].value, "-1.5e3");
  EXPECT_EQ(f[2].key, "b.d");
  EXPECT_EQ(f[3].type, JsonField::kArray);
}

}  // namespace
}  // namespace veto::mobile
