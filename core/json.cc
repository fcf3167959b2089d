#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace veto {

void JsonWriter::Newline() {
  if (indent_ <= 0) return;
  out_.push_back('\n');
  out_.append(counts_.size() * indent_, ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!counts_.empty()) {
    if (counts_.back()++ > 0) out_.push_back(',');
    Newline();
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  counts_.push_back(0);
}

void JsonWriter::EndObject() {
  bool had = !counts_.empty() && counts_.back() > 0;
  counts_.pop_back();
  if (had) Newline();
  out_.push_back('}');
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  counts_.push_back(0);
}

void JsonWriter::EndArray() {
  bool had = !counts_.empty() && counts_.back() > 0;
  counts_.pop_back();
  if (had) Newline();
  out_.push_back(']');
}

void JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendQuoted(key, &out_);
  out_.push_back(':');
  if (indent_ > 0) out_.push_back(' ');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendQuoted(s, &out_);
}

void JsonWriter::Number(double v) {
  BeforeValue();
  if (!std::isfinite(v)) {
    out_.append("null");
    return;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.6g", v);
  out_.append(buf, n);
}

void JsonWriter::Int(int64_t v) {
  BeforeValue();
  out_.append(std::to_string(v));
}

void JsonWriter::Bool(bool v) {
  BeforeValue();
  out_.append(v ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (b(i + 1) & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 ||
        (b(i + 3) & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

void JsonWriter::AppendQuoted(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      size_t j = i + 1;
      while (j < s.size()) {
        unsigned char d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out->append(s.data() + i, j - i);
      i = j;
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); ++i; continue;
      case '\\': out->append("\\\\"); ++i; continue;
      case '\n': out->append("\\n"); ++i; continue;
      case '\r': out->append("\\r"); ++i; continue;
      case '\t': out->append("\\t"); ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not UTF-8
      ++i;
    } else {
      out->append(s.data() + i, len);
      i += len;
    }
  }
  out->push_back('"');
}

namespace {

// kPlain.v[c]: c is written as it is (printable ASCII other than '"' and '\\').
struct PlainByteTable {
  bool v[256];
  constexpr PlainByteTable() : v() {
    for (int c = 0x20; c < 0x80; ++c) v[c] = c != '"' && c != '\\';
  }
};
constexpr PlainByteTable kPlain;

}  // namespace

namespace {

// True if none of the 8 bytes of x needs an escape (each is printable ASCII other than '"'
// and '\\'). SWAR: the classic exact tests for "some byte is zero" and "some byte < n".
inline bool Plain8(uint64_t x) {
  constexpr uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - k01) & ~v & k80; };
  const uint64_t bad = (x & k80) | ((x - 0x20 * k01) & ~x & k80) | has_zero(x ^ ('"' * k01)) |
                       has_zero(x ^ ('\\' * k01));
  return bad == 0;
}

}  // namespace

char* JsonWriter::WriteQuoted(std::string_view s, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  const char* const data = s.data();
  const size_t n = s.size();
  if (n >= 8 && n <= 16) {
    // Short strings (ids, phone numbers, rule names): two overlapping 8-byte words.
    uint64_t a, b;
    std::memcpy(&a, data, 8);
    std::memcpy(&b, data + n - 8, 8);
    if (Plain8(a) && Plain8(b)) {
      std::memcpy(p, &a, 8);
      std::memcpy(p + n - 8, &b, 8);
      p += n;
      *p++ = '"';
      return p;
    }
  }
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    // 16 bytes at a time while they need no escape: as signed bytes, controls (< 0x20) and
    // non-ASCII (negative) both compare below 0x20. Stored whole; the caller's bound leaves
    // room (a plain byte is written as one byte, the bound allows six).
    while (i + 16 <= n) {
      const unsigned mask = JsonStringStops16(data + i);
      std::memcpy(p, data + i, 16);
      if (mask != 0) {
        const unsigned k = static_cast<unsigned>(__builtin_ctz(mask));
        p += k;
        i += k;
        break;
      }
      p += 16;
      i += 16;
    }
#endif
    // Then (short strings, the tail) one plain byte at a time.
    while (i < n && kPlain.v[static_cast<unsigned char>(data[i])]) *p++ = data[i++];
    if (i >= n) break;
    const unsigned char c = static_cast<unsigned char>(data[i]);
    switch (c) {
      case '"': *p++ = '\\'; *p++ = '"'; ++i; continue;
      case '\\': *p++ = '\\'; *p++ = '\\'; ++i; continue;
      case '\n': *p++ = '\\'; *p++ = 'n'; ++i; continue;
      case '\r': *p++ = '\\'; *p++ = 'r'; ++i; continue;
      case '\t': *p++ = '\\'; *p++ = 't'; ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      std::memcpy(p, "\\u00", 4);
      p[4] = kHex[c >> 4];
      p[5] = kHex[c & 15];
      p += 6;
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      std::memcpy(p, "\xEF\xBF\xBD", 3);  // U+FFFD for a byte that is not UTF-8
      p += 3;
      ++i;
    } else {
      std::memcpy(p, data + i, len);
      p += len;
      i += len;
    }
  }
  *p++ = '"';
  return p;
}

}  // namespace veto
