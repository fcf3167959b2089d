// veto/core/json.h — a small streaming JSON writer for machine output (JSON Lines verdicts,
// `veto parse`). Strings are written as valid UTF-8: invalid bytes become U+FFFD, control
// characters are escaped.
//
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("id"); w.String("abc");
//   w.Key("score"); w.Number(5.5);
//   w.EndObject();
//   std::string line = w.Take();
//
// Thread-safety: none; one writer per output.
#ifndef VETO_CORE_JSON_H_
#define VETO_CORE_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace veto {

class JsonWriter {
 public:
  // `indent` > 0 pretty-prints with that many spaces per level; 0 writes one line.
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view s);
  void Number(double v);
  void Int(int64_t v);
  void Bool(bool v);
  void Null();

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Appends `s` as a quoted JSON string to `out`.
  static void AppendQuoted(std::string_view s, std::string* out);
  // The same bytes written at `p`, which must have room for QuotedBound(s.size()); returns
  // the end. For writers that size one buffer per record (the SMS verdicts).
  static char* WriteQuoted(std::string_view s, char* p);
  static constexpr size_t QuotedBound(size_t n) { return 6 * n + 2; }

 private:
  void BeforeValue();
  void Newline();

  std::string out_;
  int indent_;
  // Per open container: number of values written so far.
  std::vector<int> counts_;
  bool after_key_ = false;
};

#if defined(__SSE2__)
// Of the 16 bytes at p, a bit for each byte that ends a run of plain JSON string bytes: a
// control (< 0x20), a byte >= 0x80, '"' or '\\' (as signed bytes, controls and non-ASCII
// both compare below 0x20). The writer copies up to the first such byte unescaped; the JSONL
// reader's fast path reads a string up to it.
inline unsigned JsonStringStops16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i stop = _mm_or_si128(
      _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  return static_cast<unsigned>(_mm_movemask_epi8(stop));
}
#endif

}  // namespace veto

#endif  // VETO_CORE_JSON_H_
