#include "mobile/feed.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/json.h"
#include "core/json_line.h"
#include "core/strings.h"
#include "core/utf8.h"

namespace veto::mobile {
namespace {

class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      const ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR) continue;
      return absl::InternalError(Cat("read error: ", std::strerror(errno)));
    }
  }

 private:
  int fd_;
  bool owned_;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view s) : s_(s) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::min(n, s_.size());
    std::memcpy(buf, s_.data(), k);
    s_.remove_prefix(k);
    return k;
  }

 private:
  std::string_view s_;
};

struct FieldName {
  std::string_view name;
  FeedField field;
};
constexpr FieldName kFieldNames[] = {
    {"id", FeedField::kId},
    {"message_id", FeedField::kId},
    {"sender", FeedField::kSender},
    {"from", FeedField::kSender},
    {"originator", FeedField::kSender},
    {"source_addr", FeedField::kSender},
    {"recipient", FeedField::kRecipient},
    {"to", FeedField::kRecipient},
    {"destination_addr", FeedField::kRecipient},
    {"time", FeedField::kTime},
    {"timestamp", FeedField::kTime},
    {"text", FeedField::kText},
    {"message", FeedField::kText},
    {"body", FeedField::kText},
    {"sms", FeedField::kText},
    {"payload", FeedField::kPayload},
    {"short_message", FeedField::kPayload},
    {"data_coding", FeedField::kDataCoding},
    {"udhi", FeedField::kUdhi},
    {"udh", FeedField::kUdh},
    {"ref", FeedField::kRef},
    {"concat.ref", FeedField::kRef},
    {"total", FeedField::kTotal},
    {"concat.total", FeedField::kTotal},
    {"seq", FeedField::kSeq},
    {"concat.seq", FeedField::kSeq},
    {"label", FeedField::kLabel},
    {"class", FeedField::kLabel},
    {"reporter", FeedField::kReporter},
};

// The length of the valid UTF-8 prefix of s (s.size() when all of it is valid); ASCII is
// stepped over 16 bytes at a time.
size_t ValidUtf8Prefix(std::string_view s) {
  const char* const data = s.data();
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    while (i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(v));
      if (mask != 0) {
        i += static_cast<size_t>(__builtin_ctz(mask));
        break;
      }
      i += 16;
    }
    if (i >= n) break;
#endif
    if (static_cast<uint8_t>(data[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = ValidUtf8Length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

// Copies `s` as valid UTF-8 (invalid bytes → U+FFFD). Returns true if something was replaced.
bool SanitizeUtf8(std::string_view s, std::string* out) {
  size_t i = ValidUtf8Prefix(s);
  if (i == s.size()) {
    out->assign(s);
    return false;
  }
  out->clear();
  out->reserve(s.size() + 2);
  out->append(s.data(), i);
  bool replaced = false;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const size_t n = ValidUtf8Length(s, i);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");
      replaced = true;
      ++i;
      continue;
    }
    out->append(s.substr(i, n));
    i += n;
  }
  return replaced;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
bool TruncateUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return false;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
  return true;
}

absl::Status ParseCount(std::string_view what, std::string_view v, uint32_t max, uint32_t* out) {
  long long n = 0;
  if (!ParseInt(v, &n) || n < 0 || n > max) {
    return absl::InvalidArgumentError(
        Cat("bad ", what, " \"", v.substr(0, 32), "\" (expected 0..", max, ")"));
  }
  *out = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// The line layer shared by all formats: fixed blocks, lines of bounded length.

class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> src, size_t block, size_t max_line)
      : src_(std::move(src)), block_(std::max<size_t>(block, 4096)), max_line_(max_line) {}

  enum Status { kLine, kTooLong, kEof };

  // The next line without its "\n" (and a final "\r"). The view lives until the next call.
  Status NextLine(std::string_view* line) {
    while (true) {
      const size_t avail = end_ - begin_;
      const char* start = buf_.data() + begin_;
      const void* nl = avail ? std::memchr(start, '\n', avail) : nullptr;
      if (nl != nullptr) {
        const size_t len = static_cast<const char*>(nl) - start;
        begin_ += len + 1;
        if (skipping_) {
          skipping_ = false;
          continue;  // the tail of a too-long line, already reported
        }
        if (len > max_line_) return kTooLong;
        *line = std::string_view(start, len);
        if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
        return kLine;
      }
      if (!skipping_ && avail > max_line_) {
        // No newline within the limit: report now and skip to the next newline.
        skipping_ = true;
        begin_ = end_ = 0;
        return kTooLong;
      }
      if (skipping_) begin_ = end_ = 0;
      if (eof_) {
        if (avail == 0 || skipping_) {
          skipping_ = false;
          return kEof;
        }
        *line = std::string_view(start, avail);
        begin_ = end_;
        if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
        return kLine;
      }
      Fill();
    }
  }

  const absl::Status& status() const { return status_; }

 private:
  void Fill() {
    // Move the partial line to the front, then read one block after it.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    // kSlack bytes after the data stay readable: FlatJsonLine reads 16 at a time.
    if (buf_.size() < end_ + block_ + kSlack) buf_.resize(end_ + block_ + kSlack);
    absl::StatusOr<size_t> n = src_->Read(buf_.data() + end_, block_);
    if (!n.ok()) {
      status_ = n.status();
      eof_ = true;
      return;
    }
    if (*n == 0) eof_ = true;
    end_ += *n;
  }

  static constexpr size_t kSlack = 16;
  std::unique_ptr<ByteSource> src_;
  size_t block_;
  size_t max_line_;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  bool skipping_ = false;
  absl::Status status_;
};

class ReaderBase : public FeedReader {
 public:
  ReaderBase(std::unique_ptr<ByteSource> src, const FeedOptions& o)
      : options_(o), lines_in_(std::move(src), o.read_block_bytes, o.max_record_bytes) {}

 protected:
  // Next non-blank line, counting. Returns false at the end; sets *too_long for an over-long
  // line (counted as a line).
  bool NextLine(std::string_view* line, bool* too_long, bool count_blank = true) {
    while (true) {
      const LineReader::Status s = lines_in_.NextLine(line);
      if (s == LineReader::kEof) {
        io_status_ = lines_in_.status();
        return false;
      }
      ++lines_;
      *too_long = s == LineReader::kTooLong;
      if (!*too_long && count_blank && StripWhitespace(*line).empty()) {
        ++blank_lines_;
        continue;
      }
      return true;
    }
  }

  Result Error(uint64_t line, std::string message, FeedError* e) {
    e->line = line;
    e->message = std::move(message);
    ++errors_;
    return kError;
  }

  Result Finish(const RawFields& raw, uint64_t line, SmsRecord* r, FeedError* e) {
    // A fresh record, but the text keeps its memory (the replay hands records back to be
    // filled again; texts are the one field longer than a short-string buffer).
    std::string text = std::move(r->text);
    text.clear();
    *r = SmsRecord();
    r->text = std::move(text);
    r->line = line;
    absl::Status s = AssembleRecord(raw, options_, r);
    if (!s.ok()) return Error(line, std::string(s.message()), e);
    ++records_;
    return kRecord;
  }

  std::string TooLong() const {
    return Cat("record longer than ", options_.max_record_bytes, " bytes (skipped)");
  }

  FeedOptions options_;
  LineReader lines_in_;
};

class TsvReader : public ReaderBase {
 public:
  using ReaderBase::ReaderBase;
  Result Next(SmsRecord* r, FeedError* e) override {
    std::string_view line;
    bool too_long;
    if (!NextLine(&line, &too_long)) return kEnd;
    if (too_long) return Error(lines_, TooLong(), e);
    RawFields raw;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      raw.Set(FeedField::kText, line);
    } else {
      raw.Set(FeedField::kLabel, line.substr(0, tab));
      raw.Set(FeedField::kText, line.substr(tab + 1));
    }
    return Finish(raw, lines_, r, e);
  }
};

// The JSONL reader's fast path: a flat object (the usual feed line) read straight into
// RawFields, every value a view into the line. It takes only what it can read exactly as
// ParseJsonLine + JsonFieldsToRaw would: string values without escapes or control
// characters and with valid UTF-8, RFC 8259 numbers, true/false/null. Anything else (an
// escape, a nested object or array, a syntax error, a textual field that is not a string)
// returns false and the line goes through the general parser, which gives the same fields or
// the error message. The 16 bytes after the line must be readable (LineReader's slack).
class FlatJsonLine {
 public:
  explicit FlatJsonLine(std::string_view s) : s_(s) {}

  bool Read(RawFields* raw) {
    Ws();
    if (!Eat('{')) return false;
    Ws();
    if (Eat('}')) return End();
    while (true) {
      Ws();
      std::string_view key;
      if (!String(&key)) return false;
      Ws();
      if (!Eat(':')) return false;
      Ws();
      if (pos_ >= s_.size()) return false;
      const char c = s_[pos_];
      std::string_view value;
      bool is_string = false, is_null = false;
      if (c == '"') {
        if (!String(&value)) return false;
        is_string = true;
      } else if (c == 't') {
        if (!Word("true")) return false;
        value = "true";
      } else if (c == 'f') {
        if (!Word("false")) return false;
        value = "false";
      } else if (c == 'n') {
        if (!Word("null")) return false;
        is_null = true;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!Number(&value)) return false;
      } else {
        return false;  // '{', '[' or an error: the general parser
      }
      if (const std::optional<FeedField> f = Field(key); f && !is_null) {
        const bool textual = *f == FeedField::kText || *f == FeedField::kSender ||
                             *f == FeedField::kRecipient || *f == FeedField::kPayload ||
                             *f == FeedField::kUdh || *f == FeedField::kReporter;
        if (textual && !is_string) return false;  // an error: the general parser says which
        raw->Set(*f, value);
      }
      Ws();
      if (Eat(',')) continue;
      if (!Eat('}')) return false;
      return End();
    }
  }

 private:
  // key == literal as one fixed-size memcmp (the sizes are compared by the switch below).
  template <size_t N>
  static bool Is(std::string_view key, const char (&literal)[N]) {
    return std::memcmp(key.data(), literal, N - 1) == 0;
  }
  static std::optional<FeedField> Field(std::string_view key) {
    // The spellings of the schema first (one comparison each), then every alias and case.
    switch (key.size()) {
      case 2:
        if (Is(key, "id")) return FeedField::kId;
        break;
      case 4:
        if (Is(key, "text")) return FeedField::kText;
        if (Is(key, "time")) return FeedField::kTime;
        break;
      case 5:
        if (Is(key, "label")) return FeedField::kLabel;
        break;
      case 6:
        if (Is(key, "sender")) return FeedField::kSender;
        break;
      case 9:
        if (Is(key, "recipient")) return FeedField::kRecipient;
        break;
    }
    return FeedFieldFromName(key);
  }

  bool End() {
    Ws();
    return pos_ == s_.size();
  }
  void Ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  // At a '"': the string's bytes, if it has no escape, no control character and only valid
  // UTF-8 (then they are exactly what the general parser decodes). Reads 16 bytes at a time,
  // up to 15 past the line's end: LineReader keeps that much readable after every line.
  bool String(std::string_view* out) {
    if (!Eat('"')) return false;
    const size_t start = pos_;
    const char* const data = s_.data();
    const size_t n = s_.size();
    size_t i = pos_;
    while (true) {
      if (i >= n) return false;  // unterminated
#if defined(__SSE2__)
      const unsigned mask = JsonStringStops16(data + i);
      if (mask == 0) {
        i += 16;
        continue;
      }
      i += static_cast<size_t>(__builtin_ctz(mask));
      if (i >= n) return false;
#endif
      const unsigned char c = static_cast<unsigned char>(data[i]);
      if (c == '"') break;
      if (c == '\\' || c < 0x20) return false;
      if (c < 0x80) {
        ++i;
        continue;
      }
      const size_t len = ValidUtf8Length(s_, i);
      if (len == 0) return false;  // the general parser replaces it (and flags the record)
      i += len;
    }
    *out = s_.substr(start, i - start);
    pos_ = i + 1;
    return true;
  }
  bool Digits() {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }
  bool Number(std::string_view* out) {
    const size_t start = pos_;
    Eat('-');
    const size_t int_start = pos_;
    if (!Digits()) return false;
    if (s_[int_start] == '0' && pos_ - int_start > 1) return false;
    if (Eat('.') && !Digits()) return false;
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!Digits()) return false;
    }
    *out = s_.substr(start, pos_ - start);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

class JsonlReader : public ReaderBase {
 public:
  using ReaderBase::ReaderBase;
  Result Next(SmsRecord* r, FeedError* e) override {
    std::string_view line;
    bool too_long;
    if (!NextLine(&line, &too_long)) return kEnd;
    if (too_long) return Error(lines_, TooLong(), e);
    {
      RawFields raw;
      if (FlatJsonLine(line).Read(&raw)) return Finish(raw, lines_, r, e);
    }
    bool replaced = false;
    absl::Status s = ParseJsonLine(line, &fields_, &replaced);
    if (!s.ok()) return Error(lines_, std::string(s.message()), e);
    RawFields raw;
    s = JsonFieldsToRaw(fields_, &raw);
    if (!s.ok()) return Error(lines_, std::string(s.message()), e);
    Result res = Finish(raw, lines_, r, e);
    if (res == kRecord && replaced) r->flags |= kSmsReplacedChars;
    return res;
  }

 private:
  std::vector<JsonField> fields_;
};

class CsvReader : public ReaderBase {
 public:
  CsvReader(std::unique_ptr<ByteSource> src, const FeedOptions& o)
      : ReaderBase(std::move(src), o) {}

  // Checks the explicit column options that do not need the header.
  absl::Status Init() {
    for (const auto& [field, column] : options_.csv.columns) {
      std::optional<FeedField> f = FeedFieldFromName(field);
      if (!f) {
        return absl::InvalidArgumentError(
            Cat("csv column mapping: unknown field \"", field,
                "\" (expected id, sender, recipient, time, text, payload, data_coding, udhi, "
                "udh, ref, total, seq, label, reporter)"));
      }
      long long n = 0;
      if (ParseInt(column, &n)) {
        if (n < 1 || n > 10000) {
          return absl::InvalidArgumentError(
              Cat("csv column mapping: ", field, "=", column, ": column numbers start at 1"));
        }
        index_[static_cast<size_t>(*f)] = static_cast<int>(n - 1);
      } else if (!options_.csv.header) {
        return absl::InvalidArgumentError(Cat("csv column mapping: ", field, "=", column,
                                              ": a name needs a header (or give a number)"));
      } else {
        by_name_.emplace_back(*f, AsciiLower(StripWhitespace(column)));
      }
    }
    if (!options_.csv.header && options_.csv.columns.empty()) {
      index_[static_cast<size_t>(FeedField::kLabel)] = 0;
      index_[static_cast<size_t>(FeedField::kText)] = 1;
    }
    return absl::OkStatus();
  }

  Result Next(SmsRecord* r, FeedError* e) override {
    while (true) {
      uint64_t start_line = 0;
      std::string error;
      const int got = ReadRecord(&start_line, &error);
      if (got == 0) return kEnd;
      if (got < 0) return Error(start_line, error, e);
      if (options_.csv.header && !have_header_) {
        ++header_lines_;
        absl::Status s = MapHeader();
        if (!s.ok()) {
          // Without a usable header nothing after it can be read: report and stop.
          io_status_ = absl::InvalidArgumentError(Cat("line ", start_line, ": ", s.message()));
          return kEnd;
        }
        have_header_ = true;
        continue;
      }
      RawFields raw;
      for (size_t f = 0; f < static_cast<size_t>(FeedField::kCount_); ++f) {
        const int i = index_[f];
        if (i >= 0 && static_cast<size_t>(i) < fields_.size()) {
          raw.Set(static_cast<FeedField>(f), fields_[i]);
        }
      }
      const int text_index = index_[static_cast<size_t>(FeedField::kText)];
      const int payload_index = index_[static_cast<size_t>(FeedField::kPayload)];
      const int need = std::max(text_index, payload_index);
      if (need >= 0 && fields_.size() <= static_cast<size_t>(need)) {
        return Error(start_line,
                     Cat("expected at least ", need + 1, " fields, got ", fields_.size()), e);
      }
      return Finish(raw, start_line, r, e);
    }
  }

 private:
  absl::Status MapHeader() {
    std::vector<std::string> names;
    for (const std::string& f : fields_) names.push_back(AsciiLower(StripWhitespace(f)));
    for (size_t i = 0; i < names.size(); ++i) {
      std::optional<FeedField> f = FeedFieldFromName(names[i]);
      if (f && index_[static_cast<size_t>(*f)] < 0) index_[static_cast<size_t>(*f)] = static_cast<int>(i);
    }
    for (const auto& [field, name] : by_name_) {
      bool found = false;
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == name) {
          index_[static_cast<size_t>(field)] = static_cast<int>(i);
          found = true;
          break;
        }
      }
      if (!found) {
        return absl::InvalidArgumentError(
            Cat("csv header has no column \"", name, "\" (columns: ", Join(names, ", "), ")"));
      }
    }
    if (index_[static_cast<size_t>(FeedField::kText)] < 0 &&
        index_[static_cast<size_t>(FeedField::kPayload)] < 0) {
      return absl::InvalidArgumentError(
          Cat("csv header names no text column (columns: ", Join(names, ", "),
              "; map one with --column text=NAME)"));
    }
    return absl::OkStatus();
  }

  // Reads one RFC 4180 record into fields_. Returns 1 for a record, 0 at the end, -1 for an
  // error (*error set; the rest of the record skipped).
  int ReadRecord(uint64_t* start_line, std::string* error) {
    fields_.clear();
    std::string_view line;
    bool too_long;
    if (!NextLine(&line, &too_long)) return 0;
    *start_line = lines_;
    if (too_long) {
      *error = TooLong();
      return -1;
    }
    std::string cur;
    bool in_quotes = false;
    bool after_quote = false;  // just closed a quoted field
    size_t record_bytes = 0;
    const char delim = options_.csv.delimiter;
    while (true) {
      record_bytes += line.size() + 1;
      for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (in_quotes) {
          if (c == '"') {
            if (i + 1 < line.size() && line[i + 1] == '"') {
              cur.push_back('"');
              ++i;
            } else {
              in_quotes = false;
              after_quote = true;
            }
          } else {
            cur.push_back(c);
          }
          continue;
        }
        if (c == delim) {
          fields_.push_back(std::move(cur));
          cur.clear();
          after_quote = false;
          continue;
        }
        if (after_quote) {
          *error = Cat("unexpected character after a closing quote (column ", fields_.size() + 1,
                       ")");
          return -1;
        }
        if (c == '"' && cur.empty()) {
          in_quotes = true;
          continue;
        }
        if (c == '"') {
          *error = Cat("quote inside an unquoted field (column ", fields_.size() + 1,
                       "; RFC 4180 needs the field quoted and the quote doubled)");
          return -1;
        }
        cur.push_back(c);
      }
      if (!in_quotes) break;
      // A quoted field continues on the next line.
      if (record_bytes > options_.max_record_bytes) {
        *error = TooLong();
        SkipRestOfQuoted();
        return -1;
      }
      bool tl;
      if (!NextLine(&line, &tl, /*count_blank=*/false)) {
        *error = "unterminated quoted field at the end of the feed";
        return -1;
      }
      if (tl) {
        *error = TooLong();
        return -1;
      }
      cur.push_back('\n');
    }
    fields_.push_back(std::move(cur));
    return 1;
  }

  void SkipRestOfQuoted() {
    // Best effort: the next line starts a new record. (A quote inside it may still be off;
    // the records after it are then reported one by one, none silently dropped.)
  }

  bool have_header_ = false;
  std::vector<std::string> fields_;
  std::vector<std::pair<FeedField, std::string>> by_name_;
  int index_[static_cast<size_t>(FeedField::kCount_)] = {-1, -1, -1, -1, -1, -1, -1,
                                                          -1, -1, -1, -1, -1, -1, -1};
};

}  // namespace

std::unique_ptr<ByteSource> FdByteSource(int fd, bool owned) {
  return std::make_unique<FdSource>(fd, owned);
}
std::unique_ptr<ByteSource> StringByteSource(std::string_view data) {
  return std::make_unique<StringSource>(data);
}

std::string_view FeedFormatName(FeedFormat f) {
  switch (f) {
    case FeedFormat::kTsv: return "tsv";
    case FeedFormat::kCsv: return "csv";
    case FeedFormat::kJsonl: return "jsonl";
  }
  return "tsv";
}

absl::StatusOr<FeedFormat> FeedFormatFromName(std::string_view name) {
  const std::string n = AsciiLower(name);
  if (n == "tsv") return FeedFormat::kTsv;
  if (n == "csv") return FeedFormat::kCsv;
  if (n == "jsonl" || n == "json" || n == "ndjson") return FeedFormat::kJsonl;
  return absl::InvalidArgumentError(
      Cat("unknown feed format \"", name, "\" (expected tsv, csv or jsonl)"));
}

FeedFormat GuessFeedFormat(std::string_view path) {
  const std::string p = AsciiLower(path);
  if (p.ends_with(".csv")) return FeedFormat::kCsv;
  if (p.ends_with(".jsonl") || p.ends_with(".ndjson") || p.ends_with(".json")) {
    return FeedFormat::kJsonl;
  }
  return FeedFormat::kTsv;
}

std::optional<FeedField> FeedFieldFromName(std::string_view name) {
  // Most feeds spell the names exactly: look for that first, without a lower-cased copy.
  for (const FieldName& f : kFieldNames) {
    if (f.name == name) return f.field;
  }
  const std::string n = AsciiLower(StripWhitespace(name));
  for (const FieldName& f : kFieldNames) {
    if (f.name == n) return f.field;
  }
  return std::nullopt;
}

absl::Status JsonFieldsToRaw(const std::vector<JsonField>& fields, RawFields* raw) {
  for (const JsonField& f : fields) {
    std::optional<FeedField> ff = FeedFieldFromName(f.key);
    if (!ff) continue;
    if (f.type == JsonField::kNull) continue;
    if (f.type == JsonField::kArray) {
      return absl::InvalidArgumentError(Cat("\"", f.key, "\": expected a string, got an array"));
    }
    const bool textual = *ff == FeedField::kText || *ff == FeedField::kSender ||
                         *ff == FeedField::kRecipient || *ff == FeedField::kPayload ||
                         *ff == FeedField::kUdh || *ff == FeedField::kReporter;
    if (textual && f.type != JsonField::kString) {
      return absl::InvalidArgumentError(Cat("\"", f.key, "\": expected a string"));
    }
    raw->Set(*ff, f.value);
  }
  return absl::OkStatus();
}

absl::Status AssembleRecord(const RawFields& raw, const FeedOptions& options, SmsRecord* out) {
  auto has = [&](FeedField f) { return raw.present[static_cast<size_t>(f)]; };
  auto get = [&](FeedField f) { return raw.value[static_cast<size_t>(f)]; };

  if (has(FeedField::kId)) {
    std::string_view id = StripWhitespace(get(FeedField::kId));
    if (id.size() > 256) return absl::InvalidArgumentError("id longer than 256 bytes");
    SanitizeUtf8(id, &out->id);
  }
  if (has(FeedField::kLabel)) {
    absl::StatusOr<Label> l = ParseLabel(get(FeedField::kLabel));
    if (!l.ok()) return l.status();
    out->label = *l;
  }
  if (has(FeedField::kSender)) {
    bool valid = true;
    out->sender = NormalizeSender(get(FeedField::kSender), &valid);
    if (!valid) out->flags |= kSmsInvalidSender;
  }
  if (has(FeedField::kRecipient)) {
    bool valid = true;
    out->recipient = NormalizeSender(get(FeedField::kRecipient), &valid);
    if (!valid) out->flags |= kSmsInvalidRecipient;
  }
  if (has(FeedField::kReporter)) {
    std::string_view rep = StripWhitespace(get(FeedField::kReporter));
    SanitizeUtf8(rep.substr(0, 128), &out->reporter);
  }
  if (has(FeedField::kTime) && !StripWhitespace(get(FeedField::kTime)).empty()) {
    absl::Status s =
        ParseTimestamp(get(FeedField::kTime), &out->timestamp_unix, &out->utc_offset_seconds);
    if (!s.ok()) return s;
    out->has_time = true;
  }

  const bool has_text = has(FeedField::kText);
  const bool has_payload = has(FeedField::kPayload);
  if (has_text && has_payload) {
    return absl::InvalidArgumentError("both text and payload given (expected one)");
  }
  if (!has_text && !has_payload) return absl::InvalidArgumentError("no text or payload");
  if (has_text) {
    if (SanitizeUtf8(get(FeedField::kText), &out->text)) out->flags |= kSmsReplacedChars;
  } else {
    DataCoding coding = DataCoding::kGsm7;
    if (has(FeedField::kDataCoding)) {
      absl::StatusOr<DataCoding> c = DataCodingFromName(get(FeedField::kDataCoding));
      if (!c.ok()) return c.status();
      coding = *c;
    }
    bool udhi = false;
    if (has(FeedField::kUdhi)) {
      const std::string v = AsciiLower(StripWhitespace(get(FeedField::kUdhi)));
      if (v == "true" || v == "1" || v == "yes") {
        udhi = true;
      } else if (!(v == "false" || v == "0" || v == "no" || v.empty())) {
        return absl::InvalidArgumentError(
            Cat("bad udhi \"", v.substr(0, 16), "\" (expected true or false)"));
      }
    }
    absl::StatusOr<std::string> bytes = HexToBytes(get(FeedField::kPayload));
    if (!bytes.ok()) return bytes.status();
    if (has(FeedField::kUdh) && !get(FeedField::kUdh).empty()) {
      absl::StatusOr<std::string> udh = HexToBytes(get(FeedField::kUdh));
      if (!udh.ok()) {
        return absl::InvalidArgumentError(Cat("udh", udh.status().message().substr(7)));
      }
      *bytes = *udh + *bytes;
      udhi = true;
    }
    absl::StatusOr<DecodedPayload> d = DecodePayload(*bytes, coding, udhi);
    if (!d.ok()) return d.status();
    if (d->replaced) out->flags |= kSmsReplacedChars;
    if (d->bad_udh) out->flags |= kSmsBadUdh;
    if (d->concat) out->concat = *d->concat;
    if (SanitizeUtf8(d->text, &out->text)) out->flags |= kSmsReplacedChars;
  }
  if (TruncateUtf8(&out->text, options.max_text_bytes)) out->flags |= kSmsTextTruncated;

  const bool any_concat = has(FeedField::kRef) || has(FeedField::kTotal) || has(FeedField::kSeq);
  if (any_concat) {
    if (!(has(FeedField::kRef) && has(FeedField::kTotal) && has(FeedField::kSeq))) {
      return absl::InvalidArgumentError("concatenation needs all of ref, total and seq");
    }
    ConcatInfo c;
    absl::Status s = ParseCount("ref", get(FeedField::kRef), 65535, &c.ref);
    if (s.ok()) s = ParseCount("total", get(FeedField::kTotal), 255, &c.total);
    if (s.ok()) s = ParseCount("seq", get(FeedField::kSeq), 255, &c.seq);
    if (!s.ok()) return s;
    if (!c.valid()) {
      return absl::InvalidArgumentError(
          Cat("bad concatenation: seq ", c.seq, " of total ", c.total, " (expected 1..total)"));
    }
    out->concat = c;
  }
  if (out->concat.total == 1) out->concat = ConcatInfo();  // a "1 of 1" part is a message
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FeedReader>> FeedReader::FromSource(
    std::unique_ptr<ByteSource> src, const FeedOptions& options) {
  switch (options.format) {
    case FeedFormat::kTsv:
      return std::unique_ptr<FeedReader>(new TsvReader(std::move(src), options));
    case FeedFormat::kJsonl:
      return std::unique_ptr<FeedReader>(new JsonlReader(std::move(src), options));
    case FeedFormat::kCsv: {
      auto r = std::make_unique<CsvReader>(std::move(src), options);
      absl::Status s = r->Init();
      if (!s.ok()) return s;
      return std::unique_ptr<FeedReader>(std::move(r));
    }
  }
  return absl::InvalidArgumentError("unknown feed format");
}

absl::StatusOr<std::unique_ptr<FeedReader>> FeedReader::Open(const std::string& path,
                                                             const FeedOptions& options) {
  if (path == "-") return FromSource(FdByteSource(0, false), options);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = Cat(path, ": cannot open: ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  return FromSource(FdByteSource(fd, true), options);
}

}  // namespace veto::mobile
