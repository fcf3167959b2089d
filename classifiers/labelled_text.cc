#include "classifiers/labelled_text.h"

#include <cctype>
#include <cstdint>

#include "core/strings.h"

namespace veto::classifiers {
namespace {

constexpr size_t kMaxJsonDepth = 32;

struct Sink {
  std::vector<FeedError>* errors;
  size_t max_errors;
  size_t count = 0;
  void Error(size_t line, std::string msg) {
    ++count;
    if (errors->size() < max_errors) errors->push_back({line, std::move(msg)});
  }
};

std::string_view Label(std::string_view s) { return s.substr(0, 20); }

void ParseTsv(std::string_view data, std::vector<LabelledText>* out, Sink* sink) {
  size_t line_no = 0, pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (StripWhitespace(line).empty()) continue;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      sink->Error(line_no, "expected label<TAB>text (no tab)");
      continue;
    }
    LabelledText t;
    if (!ParseLabel(line.substr(0, tab), &t.spam)) {
      sink->Error(line_no, Cat("unknown label '", Label(line.substr(0, tab)),
                               "' (expected spam or ham)"));
      continue;
    }
    t.text = std::string(line.substr(tab + 1));
    t.line = line_no;
    out->push_back(std::move(t));
  }
}

// RFC 4180 records; each record's fields are appended to `fields`.
void ParseCsv(std::string_view data, std::vector<LabelledText>* out, Sink* sink) {
  size_t pos = 0, line_no = 1;
  bool first_record = true;
  std::vector<std::string> fields;
  while (pos < data.size()) {
    size_t record_line = line_no;
    fields.clear();
    std::string field;
    bool bad = false;
    // One record.
    for (;;) {
      field.clear();
      if (pos < data.size() && data[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < data.size()) {
          char c = data[pos++];
          if (c == '"') {
            if (pos < data.size() && data[pos] == '"') {
              field.push_back('"');
              ++pos;
            } else {
              closed = true;
              break;
            }
          } else {
            if (c == '\n') ++line_no;
            field.push_back(c);
          }
        }
        if (!closed) {
          sink->Error(record_line, "unterminated quoted field");
          pos = data.size();
          bad = true;
          break;
        }
        // Anything between the closing quote and the separator is kept, as most readers do.
        while (pos < data.size() && data[pos] != ',' && data[pos] != '\n') {
          if (data[pos] != '\r') field.push_back(data[pos]);
          ++pos;
        }
      } else {
        while (pos < data.size() && data[pos] != ',' && data[pos] != '\n') field.push_back(data[pos++]);
        if (!field.empty() && field.back() == '\r') field.pop_back();
      }
      fields.push_back(field);
      if (pos < data.size() && data[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < data.size() && data[pos] == '\n') {
        ++pos;
        ++line_no;
      }
      break;
    }
    if (bad) break;
    bool was_first = first_record;
    first_record = false;
    if (fields.size() == 1 && StripWhitespace(fields[0]).empty()) continue;
    LabelledText t;
    if (!ParseLabel(fields[0], &t.spam)) {
      if (was_first) continue;  // a header row
      sink->Error(record_line, Cat("unknown label '", Label(fields[0]), "' (expected spam or ham)"));
      continue;
    }
    if (fields.size() < 2) {
      sink->Error(record_line, "expected label,text (one field)");
      continue;
    }
    t.text = std::move(fields[1]);
    t.line = record_line;
    out->push_back(std::move(t));
  }
}

// A minimal JSON reader for one line: enough to pull string/number/bool members out of an
// object and to skip any other value.
class Json {
 public:
  explicit Json(std::string_view s) : s_(s) {}
  std::string error;

  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool AtEnd() {
    Ws();
    return i_ == s_.size();
  }
  bool Consume(char c) {
    Ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Fail(std::string msg) {
    if (error.empty()) error = Cat(msg, " at column ", i_ + 1);
    return false;
  }
  bool Hex4(uint32_t* v) {
    if (s_.size() - i_ < 4) return Fail("truncated \\u escape");
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= c - '0';
      else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
      else return Fail("bad \\u escape");
    }
    return true;
  }
  bool String(std::string* out) {
    Ws();
    if (i_ >= s_.size() || s_[i_] != '"') return Fail("expected a string");
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_).starts_with("\\u")) {
            i_ += 2;
            uint32_t lo;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              AppendUtf8(0xFFFD, out);
              cp = lo >= 0xD800 && lo < 0xE000 ? 0xFFFD : lo;
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          AppendUtf8(cp, out);
          break;
        }
        default: return Fail("bad escape");
      }
    }
    return Fail("unterminated string");
  }
  // A scalar as text (numbers, true/false/null) or a string; skips arrays/objects.
  bool Value(std::string* scalar, bool* is_string, size_t depth) {
    Ws();
    if (depth > kMaxJsonDepth) return Fail("nesting too deep");
    if (i_ >= s_.size()) return Fail("expected a value");
    char c = s_[i_];
    *is_string = false;
    if (c == '"') {
      *is_string = true;
      return String(scalar);
    }
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      if (Consume(close)) return true;
      for (;;) {
        std::string tmp;
        bool str;
        if (c == '{') {
          if (!String(&tmp) || !Consume(':')) return Fail("bad object member");
          tmp.clear();
        }
        if (!Value(&tmp, &str, depth + 1)) return false;
        if (Consume(',')) continue;
        if (Consume(close)) return true;
        return Fail("expected , or closing bracket");
      }
    }
    size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.')) {
      ++i_;
    }
    if (b == i_) return Fail("unexpected character");
    *scalar = std::string(s_.substr(b, i_ - b));
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

void ParseJsonl(std::string_view data, std::vector<LabelledText>* out, Sink* sink) {
  size_t line_no = 0, pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line_no;
    if (StripWhitespace(line).empty()) continue;
    Json j(line);
    if (!j.Consume('{')) {
      sink->Error(line_no, "expected a JSON object");
      continue;
    }
    std::string label, text;
    bool have_label = false, have_text = false, label_is_string = false, ok = true;
    if (!j.Consume('}')) {
      for (;;) {
        std::string key, value;
        bool is_string = false;
        if (!j.String(&key) || !j.Consume(':') || !j.Value(&value, &is_string, 1)) {
          ok = false;
          break;
        }
        if (key == "label") {
          label = std::move(value);
          have_label = true;
          label_is_string = is_string;
        } else if (key == "text") {
          if (!is_string) {
            j.Fail("\"text\" is not a string");
            ok = false;
            break;
          }
          text = std::move(value);
          have_text = true;
        }
        if (j.Consume(',')) continue;
        if (j.Consume('}')) break;
        j.Fail("expected , or }");
        ok = false;
        break;
      }
    }
    if (ok && !j.AtEnd()) {
      j.Fail("trailing characters after the object");
      ok = false;
    }
    if (!ok) {
      sink->Error(line_no, Cat("bad JSON: ", j.error));
      continue;
    }
    if (!have_label || !have_text) {
      sink->Error(line_no, "expected \"label\" and \"text\" members");
      continue;
    }
    LabelledText t;
    bool label_ok = ParseLabel(label, &t.spam);
    if (!label_ok && !label_is_string) {
      if (label == "true") t.spam = label_ok = true;
      else if (label == "false") label_ok = true;
    }
    if (!label_ok) {
      sink->Error(line_no, Cat("unknown label '", Label(label), "' (expected spam or ham)"));
      continue;
    }
    t.text = std::move(text);
    t.line = line_no;
    out->push_back(std::move(t));
  }
}

}  // namespace

bool ParseLabel(std::string_view s, bool* spam) {
  std::string l = AsciiLower(StripWhitespace(s));
  if (l == "spam" || l == "1") {
    *spam = true;
    return true;
  }
  if (l == "ham" || l == "0") {
    *spam = false;
    return true;
  }
  return false;
}

size_t ParseLabelledTexts(std::string_view data, FeedFormat format, std::vector<LabelledText>* out,
                          std::vector<FeedError>* errors, size_t max_errors) {
  Sink sink{errors, max_errors};
  switch (format) {
    case FeedFormat::kTsv: ParseTsv(data, out, &sink); break;
    case FeedFormat::kCsv: ParseCsv(data, out, &sink); break;
    case FeedFormat::kJsonl: ParseJsonl(data, out, &sink); break;
  }
  return sink.count;
}

bool ParseFeedFormat(std::string_view name, FeedFormat* format) {
  if (name == "tsv") *format = FeedFormat::kTsv;
  else if (name == "csv") *format = FeedFormat::kCsv;
  else if (name == "jsonl") *format = FeedFormat::kJsonl;
  else return false;
  return true;
}

bool FeedFormatFromPath(std::string_view path, FeedFormat* format) {
  std::string p = AsciiLower(path);
  if (p.ends_with(".tsv") || p.ends_with(".txt")) *format = FeedFormat::kTsv;
  else if (p.ends_with(".csv")) *format = FeedFormat::kCsv;
  else if (p.ends_with(".jsonl") || p.ends_with(".json") || p.ends_with(".ndjson")) *format = FeedFormat::kJsonl;
  else return false;
  return true;
}

}  // namespace veto::classifiers
