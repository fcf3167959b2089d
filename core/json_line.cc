#include "core/json_line.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/strings.h"
#include "core/utf8.h"

namespace veto {
namespace {

constexpr int kMaxDepth = 16;

class Parser {
 public:
  Parser(std::string_view s, std::vector<JsonField>* out, bool* replaced)
      : s_(s), out_(out), replaced_(replaced) {}

  absl::Status Run() {
    SkipWs();
    if (pos_ >= s_.size() || s_[pos_] != '{') {
      return absl::InvalidArgumentError("not a JSON object");
    }
    std::string prefix;
    const bool ok = Object(&prefix, 1);
    out_->resize(used_);
    if (!ok) return error_;
    SkipWs();
    if (pos_ != s_.size()) return Fail("unexpected data after the object");
    return absl::OkStatus();
  }

 private:
  // The next output field: an element left by the previous line is reused (its strings keep
  // their capacity), so a reader parsing line after line allocates nothing per field.
  JsonField& NewField(std::string_view key, JsonField::Type type) {
    if (used_ == out_->size()) out_->emplace_back();
    JsonField& f = (*out_)[used_++];
    f.key.assign(key);
    f.type = type;
    f.value.clear();
    return f;
  }

  bool Failed(std::string_view what) {
    error_ = absl::InvalidArgumentError(Cat("invalid JSON at byte ", pos_, ": ", what));
    return false;
  }
  absl::Status Fail(std::string_view what) {
    Failed(what);
    return error_;
  }

  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Expect(char c) {
    SkipWs();
    if (pos_ >= s_.size() || s_[pos_] != c) {
      return Failed(Cat("expected '", c, "'"));
    }
    ++pos_;
    return true;
  }

  bool Hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return Failed("truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return Failed("invalid \\u escape");
      *v = (*v << 4) | static_cast<uint32_t>(d);
    }
    return true;
  }

  // At the opening quote.
  bool String(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return Failed("expected a string");
    ++pos_;
    while (true) {
      if (pos_ >= s_.size()) return Failed("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<uint8_t>(c) < 0x20) return Failed("control character in string");
      if (c == '\\') {
        if (++pos_ >= s_.size()) return Failed("unterminated string");
        const char e = s_[pos_++];
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
            uint32_t u = 0;
            if (!Hex4(&u)) return false;
            if (u >= 0xD800 && u <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' &&
                s_[pos_ + 1] == 'u') {
              const size_t save = pos_;
              pos_ += 2;
              uint32_t lo = 0;
              if (!Hex4(&lo)) return false;
              if (lo >= 0xDC00 && lo <= 0xDFFF) {
                AppendUtf8(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), out);
                break;
              }
              pos_ = save;
            }
            if (u >= 0xD800 && u <= 0xDFFF) {
              u = 0xFFFD;
              if (replaced_) *replaced_ = true;
            }
            AppendUtf8(u, out);
            break;
          }
          default:
            --pos_;
            return Failed("invalid escape");
        }
        continue;
      }
      // Copy a run of plain bytes, checking UTF-8.
      if (static_cast<uint8_t>(c) < 0x80) {
        // Printable ASCII other than '"' and '\\' needs no look: copy the whole run at once.
        size_t end = pos_ + 1;
#if defined(__SSE2__)
        // 16 bytes at a time: as signed bytes, controls (< 0x20) and non-ASCII (negative)
        // both compare below 0x20.
        while (end + 16 <= s_.size()) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_.data() + end));
          const __m128i stop = _mm_or_si128(
              _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
              _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                           _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
          const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
          if (mask != 0) {
            end += static_cast<size_t>(__builtin_ctz(mask));
            break;
          }
          end += 16;
        }
#endif
        while (end < s_.size()) {
          const uint8_t b = static_cast<uint8_t>(s_[end]);
          if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
          ++end;
        }
        out->append(s_.data() + pos_, end - pos_);
        pos_ = end;
        continue;
      }
      const size_t n = ValidUtf8Length(s_, pos_);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");
        if (replaced_) *replaced_ = true;
        ++pos_;
      } else {
        out->append(s_.substr(pos_, n));
        pos_ += n;
      }
    }
  }

  bool Number(std::string* out) {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    const size_t int_start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == int_start) return Failed("invalid number");
    if (s_[int_start] == '0' && pos_ - int_start > 1) return Failed("number with a leading zero");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      const size_t f = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == f) return Failed("invalid number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      const size_t e = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == e) return Failed("invalid number");
    }
    out->assign(s_.substr(start, pos_ - start));
    return true;
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Failed("invalid literal");
    pos_ += word.size();
    return true;
  }

  // Skips any value (used inside arrays).
  bool SkipValue(int depth) {
    SkipWs();
    if (pos_ >= s_.size()) return Failed("expected a value");
    std::string scratch;
    const char c = s_[pos_];
    if (c == '{') {
      std::string prefix = "\x01";  // fields of objects inside arrays are dropped
      const size_t n = used_;
      if (!Object(&prefix, depth + 1)) return false;
      used_ = n;
      return true;
    }
    if (c == '[') return Array(depth + 1);
    if (c == '"') return String(&scratch);
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number(&scratch);
  }

  bool Array(int depth) {
    if (depth > kMaxDepth) return Failed(Cat("nesting deeper than ", kMaxDepth));
    ++pos_;  // '['
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      if (!SkipValue(depth)) return false;
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return Expect(']');
    }
  }

  bool Object(std::string* prefix, int depth) {
    if (depth > kMaxDepth) return Failed(Cat("nesting deeper than ", kMaxDepth));
    ++pos_;  // '{'
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWs();
      std::string key;
      if (!String(&key)) return false;
      if (!Expect(':')) return false;
      SkipWs();
      if (pos_ >= s_.size()) return Failed("expected a value");
      std::string full = prefix->empty() ? key : Cat(*prefix, ".", key);
      const char c = s_[pos_];
      if (c == '{') {
        if (!Object(&full, depth + 1)) return false;
      } else if (c == '[') {
        if (!Array(depth + 1)) return false;
        NewField(full, JsonField::kArray);
      } else if (c == '"') {
        if (!String(&NewField(full, JsonField::kString).value)) return false;
      } else if (c == 't') {
        if (!Literal("true")) return false;
        NewField(full, JsonField::kBool).value = "true";
      } else if (c == 'f') {
        if (!Literal("false")) return false;
        NewField(full, JsonField::kBool).value = "false";
      } else if (c == 'n') {
        if (!Literal("null")) return false;
        NewField(full, JsonField::kNull);
      } else {
        if (!Number(&NewField(full, JsonField::kNumber).value)) return false;
      }
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return Expect('}');
    }
  }

  std::string_view s_;
  std::vector<JsonField>* out_;
  bool* replaced_;
  size_t pos_ = 0;
  size_t used_ = 0;  // fields of out_ filled so far
  absl::Status error_;
};

}  // namespace

absl::Status ParseJsonLine(std::string_view line, std::vector<JsonField>* fields,
                           bool* replaced) {
  return Parser(line, fields, replaced).Run();
}

}  // namespace veto
