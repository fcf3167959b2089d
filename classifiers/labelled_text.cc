#include "classifiers/labelled_text.h"

#include <cctype>
#include <cstdint>

#include "core/json_line.h"
#include "core/strings.h"

namespace veto::classifiers {
namespace {

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

// One JSON object per line (core/json_line.h, the reader mobile/'s feeds use): "label" (a
// string, a number or a boolean) and "text" (a string); other members are ignored.
void ParseJsonl(std::string_view data, std::vector<LabelledText>* out, Sink* sink) {
  size_t line_no = 0, pos = 0;
  std::vector<JsonField> fields;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line_no;
    if (StripWhitespace(line).empty()) continue;
    if (!StripWhitespace(line).starts_with("{")) {
      sink->Error(line_no, "expected a JSON object");
      continue;
    }
    absl::Status st = ParseJsonLine(line, &fields);
    if (!st.ok()) {
      sink->Error(line_no, Cat("bad JSON: ", st.message()));
      continue;
    }
    const JsonField* label = nullptr;
    const JsonField* text = nullptr;
    for (const JsonField& f : fields) {
      if (f.key == "label") label = &f;
      if (f.key == "text") text = &f;
    }
    if (label == nullptr || text == nullptr) {
      sink->Error(line_no, "expected \"label\" and \"text\" members");
      continue;
    }
    if (text->type != JsonField::kString) {
      sink->Error(line_no, "bad JSON: \"text\" is not a string");
      continue;
    }
    LabelledText t;
    bool label_ok = false;
    if (label->type == JsonField::kString || label->type == JsonField::kNumber) {
      label_ok = ParseLabel(label->value, &t.spam);
    } else if (label->type == JsonField::kBool) {
      t.spam = label->value == "true";
      label_ok = true;
    }
    if (!label_ok) {
      sink->Error(line_no, Cat("unknown label '", Label(label->value), "' (expected spam or ham)"));
      continue;
    }
    t.text = text->value;
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
