#include "email/charset.h"

#include <errno.h>
#include <iconv.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "email/transfer.h"

namespace veto::email {
namespace {

// =============================================================================================
// ASCII and UTF-8 scanning

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
static_assert(std::endian::native == std::endian::little, "the first byte is the lowest");

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Length of the leading run of ASCII bytes, 16 bytes per step while the run lasts.
size_t AsciiPrefix(const char* p, size_t n) {
  size_t i = 0;
  while (i + 16 <= n && ((Load64(p + i) | Load64(p + i + 8)) & kHighBits) == 0) i += 16;
  while (i + 8 <= n) {
    const uint64_t high = Load64(p + i) & kHighBits;
    if (high != 0) return i + static_cast<size_t>(std::countr_zero(high) / 8);
    i += 8;
  }
  while (i < n && static_cast<uint8_t>(p[i]) < 0x80) ++i;
  return i;
}

size_t CountHighBytes(std::string_view s) {
  size_t count = 0;
  for (char c : s) count += static_cast<uint8_t>(c) >> 7;
  return count;
}

// Offset of the first byte that does not start a valid UTF-8 sequence (s.size() if none).
// Strict: no overlongs (C0, C1, E0 80-9F, F0 80-8F), no surrogates (ED A0-BF), nothing above
// U+10FFFF (F4 90+, F5-FF).
size_t Utf8ValidPrefix(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i += AsciiPrefix(s.data() + i, n - i);
      if (i >= n) break;
    }
    const uint8_t c = p[i];
    if (c < 0xC2) return i;
    if (c < 0xE0) {
      if (i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) return i;
      i += 2;
    } else if (c < 0xF0) {
      if (i + 2 >= n) return i;
      const uint8_t lo = c == 0xE0 ? 0xA0 : 0x80;
      const uint8_t hi = c == 0xED ? 0x9F : 0xBF;
      if (p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80) return i;
      i += 3;
    } else if (c < 0xF5) {
      if (i + 3 >= n) return i;
      const uint8_t lo = c == 0xF0 ? 0x90 : 0x80;
      const uint8_t hi = c == 0xF4 ? 0x8F : 0xBF;
      if (p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80 ||
          (p[i + 3] & 0xC0) != 0x80) {
        return i;
      }
      i += 4;
    } else {
      return i;
    }
  }
  return n;
}

// Decodes one code point of known-valid UTF-8 (iconv output) at s[*i], advancing *i.
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + *i;
  if (p[0] < 0x80) {
    *i += 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *i += 2;
    return (char32_t{p[0] & 0x1Fu} << 6) | (p[1] & 0x3Fu);
  }
  if (p[0] < 0xF0) {
    *i += 3;
    return (char32_t{p[0] & 0x0Fu} << 12) | (char32_t{p[1] & 0x3Fu} << 6) | (p[2] & 0x3Fu);
  }
  *i += 4;
  return (char32_t{p[0] & 0x07u} << 18) | (char32_t{p[1] & 0x3Fu} << 12) |
         (char32_t{p[2] & 0x3Fu} << 6) | (p[3] & 0x3Fu);
}

// =============================================================================================
// Windows-1252, built in: it is the fallback for every failed conversion and the decoder for
// the commonest labels, so it should not pay iconv's per-call overhead.

constexpr std::array<char16_t, 32> kCp1252C1 = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,  // 88-8F
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,  // 98-9F
};

struct Utf8Seq {
  uint8_t len;
  char bytes[3];
};

constexpr std::array<Utf8Seq, 128> MakeCp1252Utf8() {
  std::array<Utf8Seq, 128> t{};
  for (int b = 0x80; b < 0x100; ++b) {
    char32_t cp = b < 0xA0 ? kCp1252C1[b - 0x80] : static_cast<char32_t>(b);
    Utf8Seq& s = t[b - 0x80];
    if (cp < 0x800) {
      s = {2, {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F)), 0}};
    } else {
      s = {3,
           {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<char>(0x80 | (cp & 0x3F))}};
    }
  }
  return t;
}
constexpr std::array<Utf8Seq, 128> kCp1252Utf8 = MakeCp1252Utf8();

inline bool Cp1252Undefined(uint8_t b) {
  return b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D;
}

// Appends `in` decoded as Windows-1252 (undefined bytes become U+FFFD); returns whether any
// byte was undefined.
bool AppendCp1252(std::string_view in, std::string* out) {
  const size_t old = out->size();
  out->resize(old + in.size() * 3);
  char* o = out->data() + old;
  const char* p = in.data();
  const char* const end = p + in.size();
  bool replaced = false;
  while (p < end) {
    // ASCII eight bytes at a time; a block with an 8-bit byte is copied up to that byte. (The
    // 8-byte store always fits: three bytes were reserved per input byte.)
    while (end - p >= 8) {
      const uint64_t v = Load64(p);
      std::memcpy(o, &v, 8);
      const uint64_t high = v & kHighBits;
      if (high == 0) {
        o += 8;
        p += 8;
        continue;
      }
      const auto k = static_cast<size_t>(std::countr_zero(high) / 8);
      o += k;
      p += k;
      break;
    }
    if (p == end) break;
    const uint8_t c = static_cast<uint8_t>(*p++);
    if (c < 0x80) {
      *o++ = static_cast<char>(c);
      continue;
    }
    // Three bytes are always writable here: each input byte reserved three.
    const Utf8Seq& s = kCp1252Utf8[c - 0x80];
    std::memcpy(o, s.bytes, 3);
    o += s.len;
    replaced |= Cp1252Undefined(c);
  }
  out->resize(static_cast<size_t>(o - out->data()));
  return replaced;
}

// =============================================================================================
// Charset labels

enum class Kind : uint8_t {
  kNone,   // no label: us-ascii is assumed, as SpamAssassin does
  kAscii,  // us-ascii and aliases: same chain as no label
  kUtf8,
  kCp1252,  // windows-1252 and the ISO-8859-1 family (SpamAssassin decodes both as 1252)
  kUtf16,
  kUtf32,
  kIconv,    // anything iconv converts
  kUnknown,  // a label nobody knows: same chain as no label, flagged
};

enum class Endian : uint8_t { kAny, kLittle, kBig };

struct CharsetInfo {
  Kind kind;
  const char* iconv_names[2] = {nullptr, nullptr};  // strict attempts, in order
  bool east_asian = false;  // multi-byte: a few bad bytes get U+FFFD instead of cp1252
  bool seven_bit = false;   // written in ASCII bytes (UTF-7, ISO-2022-*): decode even if ASCII
  Endian endian = Endian::kAny;
};

constexpr CharsetInfo kNone{Kind::kNone};
constexpr CharsetInfo kAscii{Kind::kAscii};
constexpr CharsetInfo kUtf8{Kind::kUtf8};
constexpr CharsetInfo kCp1252{Kind::kCp1252};
constexpr CharsetInfo kUnknown{Kind::kUnknown};
constexpr CharsetInfo kUtf16{Kind::kUtf16};
constexpr CharsetInfo kUtf16Le{Kind::kUtf16, {}, false, false, Endian::kLittle};
constexpr CharsetInfo kUtf16Be{Kind::kUtf16, {}, false, false, Endian::kBig};
constexpr CharsetInfo kUtf32{Kind::kUtf32};
constexpr CharsetInfo kUtf32Le{Kind::kUtf32, {}, false, false, Endian::kLittle};
constexpr CharsetInfo kUtf32Be{Kind::kUtf32, {}, false, false, Endian::kBig};
constexpr CharsetInfo kUtf7{Kind::kIconv, {"UTF-7"}, false, true};
constexpr CharsetInfo kKoi8R{Kind::kIconv, {"KOI8-R"}};
constexpr CharsetInfo kKoi8U{Kind::kIconv, {"KOI8-U"}};
constexpr CharsetInfo kKoi8Ru{Kind::kIconv, {"KOI8-RU"}};
constexpr CharsetInfo kCp874{Kind::kIconv, {"CP874"}};
// GB2312 and GBK mail is routinely written by encoders that emit GBK/GB18030 characters, and
// GB18030 is a strict superset of both.
constexpr CharsetInfo kGb18030{Kind::kIconv, {"GB18030"}, true};
// Most "big5" mail comes from Windows (CP950 adds the euro sign and a few rows); HKSCS covers
// the Hong Kong additions.
constexpr CharsetInfo kBig5{Kind::kIconv, {"CP950", "BIG5-HKSCS"}, true};
constexpr CharsetInfo kBig5Hkscs{Kind::kIconv, {"BIG5-HKSCS", "CP950"}, true};
// CP932 rather than Shift_JIS: glibc's SHIFT_JIS maps 5C/7E to yen/overline and lacks the NEC
// and IBM rows that Windows mailers write.
constexpr CharsetInfo kCp932{Kind::kIconv, {"CP932"}, true};
constexpr CharsetInfo kEucJp{Kind::kIconv, {"EUC-JP-MS", "EUC-JP"}, true};
constexpr CharsetInfo kCp949{Kind::kIconv, {"CP949"}, true};
constexpr CharsetInfo kIso2022Jp{Kind::kIconv, {"ISO-2022-JP-2", "ISO-2022-JP-3"}, true, true};
constexpr CharsetInfo kIso2022Jp3{Kind::kIconv, {"ISO-2022-JP-3", "ISO-2022-JP-2"}, true, true};
constexpr CharsetInfo kIso2022Kr{Kind::kIconv, {"ISO-2022-KR"}, true, true};
constexpr CharsetInfo kIso2022Cn{Kind::kIconv, {"ISO-2022-CN-EXT"}, true, true};
// A label iconv may know under its own name (checked when first used).
constexpr CharsetInfo kPassThrough{Kind::kIconv};

constexpr std::array<CharsetInfo, 9> kWindows125x = {{
    {Kind::kIconv, {"CP1250"}},
    {Kind::kIconv, {"CP1251"}},
    {Kind::kCp1252},
    {Kind::kIconv, {"CP1253"}},
    {Kind::kIconv, {"CP1254"}},
    {Kind::kIconv, {"CP1255"}},
    {Kind::kIconv, {"CP1256"}},
    {Kind::kIconv, {"CP1257"}},
    {Kind::kIconv, {"CP1258"}},
}};

constexpr std::array<CharsetInfo, 17> kIso8859 = {{
    {Kind::kUnknown},
    {Kind::kCp1252},
    {Kind::kIconv, {"ISO-8859-2"}},
    {Kind::kIconv, {"ISO-8859-3"}},
    {Kind::kIconv, {"ISO-8859-4"}},
    {Kind::kIconv, {"ISO-8859-5"}},
    {Kind::kIconv, {"ISO-8859-6"}},
    {Kind::kIconv, {"ISO-8859-7"}},
    {Kind::kIconv, {"ISO-8859-8"}},
    {Kind::kIconv, {"ISO-8859-9"}},
    {Kind::kIconv, {"ISO-8859-10"}},
    {Kind::kIconv, {"ISO-8859-11"}},
    {Kind::kUnknown},  // there is no ISO-8859-12
    {Kind::kIconv, {"ISO-8859-13"}},
    {Kind::kIconv, {"ISO-8859-14"}},
    {Kind::kIconv, {"ISO-8859-15"}},
    {Kind::kIconv, {"ISO-8859-16"}},
}};

struct Alias {
  std::string_view name;
  const CharsetInfo* info;
};

// Lower-case, sorted (checked below) for binary search. ISO-8859-x, windows-125x/cpNNN and
// latinN spellings are parsed in ResolveLabel instead of listed.
constexpr Alias kAliases[] = {
    {"646", &kAscii},
    {"ansi_x3.4-1968", &kAscii},
    {"ansi_x3.4-1986", &kAscii},
    {"ascii", &kAscii},
    {"big-5", &kBig5},
    {"big5", &kBig5},
    {"big5-hkscs", &kBig5Hkscs},
    {"big5hkscs", &kBig5Hkscs},
    {"chinese", &kGb18030},
    {"cn-big5", &kBig5},
    {"cp367", &kAscii},
    {"cp65001", &kUtf8},
    {"cp819", &kCp1252},
    {"cp932", &kCp932},
    {"cp936", &kGb18030},
    {"cp949", &kCp949},
    {"cp950", &kBig5},
    {"csascii", &kAscii},
    {"csbig5", &kBig5},
    {"cseuckr", &kCp949},
    {"cseucpkdfmtjapanese", &kEucJp},
    {"csgb2312", &kGb18030},
    {"csiso2022cn", &kIso2022Cn},
    {"csiso2022jp", &kIso2022Jp},
    {"csiso2022jp2", &kIso2022Jp},
    {"csiso2022kr", &kIso2022Kr},
    {"csisolatin1", &kCp1252},
    {"cskoi8r", &kKoi8R},
    {"csksc56011987", &kCp949},
    {"csshiftjis", &kCp932},
    {"csunicode", &kUtf16},
    {"csunicode11utf7", &kUtf7},
    {"csutf16", &kUtf16},
    {"csutf16be", &kUtf16Be},
    {"csutf16le", &kUtf16Le},
    {"csutf32", &kUtf32},
    {"csutf8", &kUtf8},
    {"cswindows31j", &kCp932},
    {"default", &kUnknown},
    {"euc-cn", &kGb18030},
    {"euc-jp", &kEucJp},
    {"euc-jp-ms", &kEucJp},
    {"euc-kr", &kCp949},
    {"euccn", &kGb18030},
    {"eucjp", &kEucJp},
    {"euckr", &kCp949},
    {"gb18030", &kGb18030},
    {"gb2312", &kGb18030},
    {"gb_2312", &kGb18030},
    {"gb_2312-80", &kGb18030},
    {"gbk", &kGb18030},
    {"ibm367", &kAscii},
    {"ibm819", &kCp1252},
    {"iso-10646-ucs-2", &kUtf16},
    {"iso-10646-ucs-4", &kUtf32},
    {"iso-2022-cn", &kIso2022Cn},
    {"iso-2022-cn-ext", &kIso2022Cn},
    {"iso-2022-jp", &kIso2022Jp},
    {"iso-2022-jp-1", &kIso2022Jp},
    {"iso-2022-jp-2", &kIso2022Jp},
    {"iso-2022-jp-3", &kIso2022Jp3},
    {"iso-2022-kr", &kIso2022Kr},
    {"iso-ir-100", &kCp1252},
    {"iso-ir-149", &kCp949},
    {"iso-ir-58", &kGb18030},
    {"iso-ir-6", &kAscii},
    {"iso646-us", &kAscii},
    {"koi8", &kKoi8R},
    {"koi8-r", &kKoi8R},
    {"koi8-ru", &kKoi8Ru},
    {"koi8-u", &kKoi8U},
    {"koi8r", &kKoi8R},
    {"koi8u", &kKoi8U},
    {"korean", &kCp949},
    {"ks_c_5601", &kCp949},
    {"ks_c_5601-1987", &kCp949},
    {"ks_c_5601-1989", &kCp949},
    {"ksc5601", &kCp949},
    {"ksc_5601", &kCp949},
    {"ms932", &kCp932},
    {"ms936", &kGb18030},
    {"ms949", &kCp949},
    {"ms950", &kBig5},
    {"ms_kanji", &kCp932},
    {"none", &kUnknown},
    {"shift-jis", &kCp932},
    {"shift_jis", &kCp932},
    {"sjis", &kCp932},
    {"ucs-2", &kUtf16},
    {"ucs-2be", &kUtf16Be},
    {"ucs-2le", &kUtf16Le},
    {"ucs-4", &kUtf32},
    {"ucs-4be", &kUtf32Be},
    {"ucs-4le", &kUtf32Le},
    {"ucs2", &kUtf16},
    {"ucs4", &kUtf32},
    {"uhc", &kCp949},
    {"ujis", &kEucJp},
    {"unicode", &kUtf16},
    {"unicode-1-1-utf-7", &kUtf7},
    {"unicode-1-1-utf-8", &kUtf8},
    {"unicode-2-0-utf-7", &kUtf7},
    {"unicode-2-0-utf-8", &kUtf8},
    {"unicodefeff", &kUtf16Le},
    {"unicodefffe", &kUtf16Be},
    {"unknown", &kUnknown},
    {"unknown-8bit", &kUnknown},
    {"us", &kAscii},
    {"us-ascii", &kAscii},
    {"utf-16", &kUtf16},
    {"utf-16be", &kUtf16Be},
    {"utf-16le", &kUtf16Le},
    {"utf-32", &kUtf32},
    {"utf-32be", &kUtf32Be},
    {"utf-32le", &kUtf32Le},
    {"utf-7", &kUtf7},
    {"utf-8", &kUtf8},
    {"utf16", &kUtf16},
    {"utf16be", &kUtf16Be},
    {"utf16le", &kUtf16Le},
    {"utf32", &kUtf32},
    {"utf32be", &kUtf32Be},
    {"utf32le", &kUtf32Le},
    {"utf7", &kUtf7},
    {"utf8", &kUtf8},
    {"windows-31j", &kCp932},
    {"windows-874", &kCp874},
    {"windows-936", &kGb18030},
    {"windows-949", &kCp949},
    {"windows-950", &kBig5},
    {"x-big5", &kBig5},
    {"x-euc", &kEucJp},
    {"x-euc-cn", &kGb18030},
    {"x-euc-jp", &kEucJp},
    {"x-euc-kr", &kCp949},
    {"x-gbk", &kGb18030},
    {"x-ms-cp932", &kCp932},
    {"x-sjis", &kCp932},
    {"x-unicode-2-0-utf-7", &kUtf7},
    {"x-unicode20utf8", &kUtf8},
    {"x-unknown", &kUnknown},
    {"x-user-defined", &kUnknown},
    {"x-windows-874", &kCp874},
    {"x-windows-949", &kCp949},
    {"x-x-big5", &kBig5},
};

static_assert(std::is_sorted(std::begin(kAliases), std::end(kAliases),
                             [](const Alias& a, const Alias& b) { return a.name < b.name; }),
              "kAliases must stay sorted");

struct Label {
  const CharsetInfo* info = &kNone;
  // For kPassThrough (and cpNNN spellings): the iconv name to try.
  std::string iconv_name;
};

constexpr size_t kMaxLabel = 64;

inline bool IsLabelTrim(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'';
}

std::string_view TrimLabel(std::string_view s) {
  while (!s.empty() && IsLabelTrim(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsLabelTrim(s.back())) s.remove_suffix(1);
  return s;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// Parses a run of 1-5 decimal digits that must end `s`; -1 otherwise.
int ParseTrailingNumber(std::string_view s) {
  if (s.empty() || s.size() > 5) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// ISO-8859-N in the spellings seen in mail: iso-8859-2, iso8859-2, iso_8859-2, iso8859_2,
// iso88592, iso_8859-2:1987, 8859-2, and the Hebrew iso-8859-8-i / -e variants.
const CharsetInfo* ParseIso8859(std::string_view s) {
  if (ConsumePrefix(&s, "iso")) {
    if (!s.empty() && (s[0] == '-' || s[0] == '_' || s[0] == ' ')) s.remove_prefix(1);
  }
  if (!ConsumePrefix(&s, "8859")) return nullptr;
  if (!s.empty() && (s[0] == '-' || s[0] == '_')) s.remove_prefix(1);
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  const std::string_view rest = s.substr(digits);
  if (!rest.empty() && rest != "-i" && rest != "-e" && rest[0] != ':') return nullptr;
  int n = ParseTrailingNumber(s.substr(0, digits));
  if (n < 1 || n >= static_cast<int>(kIso8859.size())) return nullptr;
  return &kIso8859[static_cast<size_t>(n)];
}

// latin1..latin10 / l1..l10 (RFC 1345 names) to their ISO-8859 part.
const CharsetInfo* ParseLatin(std::string_view s) {
  if (!ConsumePrefix(&s, "latin") && !ConsumePrefix(&s, "iso-latin-") && !ConsumePrefix(&s, "l")) {
    return nullptr;
  }
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  static constexpr std::array<int, 11> kPart = {0, 1, 2, 3, 4, 9, 10, 13, 14, 15, 16};
  int n = ParseTrailingNumber(s);
  if (n < 1 || n > 10) return nullptr;
  return &kIso8859[static_cast<size_t>(kPart[static_cast<size_t>(n)])];
}

// windows-1251, cp1251, x-cp1251, win-1251, cp-866, ... Windows code pages other than 125x go
// to iconv as "CPNNN".
bool ParseCodePage(std::string_view s, Label* label) {
  if (!ConsumePrefix(&s, "windows-") && !ConsumePrefix(&s, "windows") &&
      !ConsumePrefix(&s, "x-cp") && !ConsumePrefix(&s, "cp-") && !ConsumePrefix(&s, "cp") &&
      !ConsumePrefix(&s, "win-") && !ConsumePrefix(&s, "ms-") && !ConsumePrefix(&s, "ibm")) {
    return false;
  }
  int n = ParseTrailingNumber(s);
  if (n < 0) return false;
  if (n >= 1250 && n <= 1258) {
    label->info = &kWindows125x[static_cast<size_t>(n - 1250)];
  } else {
    label->info = &kPassThrough;
    label->iconv_name = "CP" + std::string(s);
  }
  return true;
}

inline bool IsPassThroughChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
         c == ':' || c == '+';
}

Label ResolveLabel(std::string_view raw) {
  Label label;
  std::string_view s = TrimLabel(raw);
  // A stray parameter tail ("utf-8; format=flowed") or an RFC 2231 language ("utf-8*en").
  s = TrimLabel(s.substr(0, s.find_first_of(";*")));
  if (s.empty()) return label;
  if (s.size() > kMaxLabel) {
    label.info = &kUnknown;
    return label;
  }
  std::array<char, kMaxLabel> buf;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  const std::string_view name(buf.data(), s.size());

  const Alias* it = std::lower_bound(std::begin(kAliases), std::end(kAliases), name,
                                     [](const Alias& a, std::string_view n) { return a.name < n; });
  if (it != std::end(kAliases) && it->name == name) {
    label.info = it->info;
    return label;
  }
  if (const CharsetInfo* info = ParseIso8859(name)) {
    label.info = info;
    return label;
  }
  if (const CharsetInfo* info = ParseLatin(name)) {
    label.info = info;
    return label;
  }
  if (ParseCodePage(name, &label)) return label;
  // Anything else iconv may know (tis-620, cp866, macintosh, ...). Only plain name characters
  // are passed on, so a label cannot smuggle in "//TRANSLIT" or "//IGNORE".
  if (std::all_of(name.begin(), name.end(), IsPassThroughChar)) {
    label.info = &kPassThrough;
    label.iconv_name = std::string(name);
    return label;
  }
  label.info = &kUnknown;
  return label;
}

// =============================================================================================
// iconv

const iconv_t kNoIconv = reinterpret_cast<iconv_t>(-1);

// A few descriptors per thread: iconv_open loads and initialises a gconv module, which costs
// far more than converting a typical part. Names iconv rejects are remembered too, so a
// garbage label costs one failed open per thread, not one per message.
class IconvCache {
 public:
  IconvCache() { entries_.reserve(kMaxEntries); }
  ~IconvCache() {
    for (Entry& e : entries_) {
      if (e.cd != kNoIconv) iconv_close(e.cd);
    }
  }
  IconvCache(const IconvCache&) = delete;
  IconvCache& operator=(const IconvCache&) = delete;

  // A descriptor from `name` to UTF-8 in its initial state, or kNoIconv. Valid until the next
  // call (which may evict it).
  iconv_t Get(std::string_view name) {
    for (Entry& e : entries_) {
      if (e.name == name) {
        if (e.cd != kNoIconv) iconv(e.cd, nullptr, nullptr, nullptr, nullptr);
        return e.cd;
      }
    }
    Entry fresh{std::string(name), kNoIconv};
    fresh.cd = iconv_open("UTF-8", fresh.name.c_str());
    iconv_t cd = fresh.cd;
    if (entries_.size() < kMaxEntries) {
      entries_.push_back(std::move(fresh));
    } else {
      Entry& victim = entries_[next_victim_];
      next_victim_ = (next_victim_ + 1) % kMaxEntries;
      if (victim.cd != kNoIconv) iconv_close(victim.cd);
      victim = std::move(fresh);
    }
    return cd;
  }

 private:
  static constexpr size_t kMaxEntries = 24;
  struct Entry {
    std::string name;
    iconv_t cd;
  };
  std::vector<Entry> entries_;
  size_t next_victim_ = 0;
};

IconvCache& Iconvs() {
  thread_local IconvCache cache;
  return cache;
}

// UTF-8 output never exceeds 4 bytes per input byte for the encodings in use (one byte gives
// at most one BMP character, two bytes at most two, four bytes one astral character).
inline size_t OutputBound(size_t n) { return n * 4 + 16; }

enum class IconvStatus { kOk, kInvalid, kIncomplete, kError };

// Converts all of `in`, appending to `out`; on failure `out` is left as it was.
IconvStatus IconvStrict(iconv_t cd, std::string_view in, std::string* out) {
  const size_t old = out->size();
  const size_t cap = OutputBound(in.size());
  out->resize(old + cap);
  char* inp = const_cast<char*>(in.data());  // iconv's signature; the input is not written
  size_t inleft = in.size();
  char* outp = out->data() + old;
  size_t outleft = cap;
  IconvStatus status = IconvStatus::kOk;
  if (iconv(cd, &inp, &inleft, &outp, &outleft) == static_cast<size_t>(-1)) {
    status = errno == EILSEQ   ? IconvStatus::kInvalid
             : errno == EINVAL ? IconvStatus::kIncomplete
                               : IconvStatus::kError;
  } else if (iconv(cd, nullptr, nullptr, &outp, &outleft) == static_cast<size_t>(-1)) {
    status = IconvStatus::kError;
  }
  out->resize(status == IconvStatus::kOk ? static_cast<size_t>(outp - out->data()) : old);
  return status;
}

// Converts `in`, writing U+FFFD for each byte iconv rejects and going on after it. Gives up,
// leaving `out` as it was, once more than `max_bad` bytes were rejected.
bool IconvLenient(iconv_t cd, std::string_view in, size_t max_bad, std::string* out) {
  const size_t old = out->size();
  const size_t cap = OutputBound(in.size());
  out->resize(old + cap);
  char* inp = const_cast<char*>(in.data());
  size_t inleft = in.size();
  char* outp = out->data() + old;
  size_t outleft = cap;
  size_t bad = 0;
  bool ok = true;
  while (iconv(cd, &inp, &inleft, &outp, &outleft) == static_cast<size_t>(-1)) {
    if ((errno != EILSEQ && errno != EINVAL) || ++bad > max_bad || outleft < 3) {
      ok = false;
      break;
    }
    std::memcpy(outp, "\xEF\xBF\xBD", 3);
    outp += 3;
    outleft -= 3;
    ++inp;
    --inleft;
  }
  if (ok && iconv(cd, nullptr, nullptr, &outp, &outleft) == static_cast<size_t>(-1)) ok = false;
  out->resize(ok ? static_cast<size_t>(outp - out->data()) : old);
  return ok;
}

// The iconv names to try for `label`, in order.
std::array<std::string_view, 2> IconvNames(const Label& label) {
  if (!label.iconv_name.empty()) return {label.iconv_name, {}};
  std::array<std::string_view, 2> names{};
  for (size_t i = 0; i < 2; ++i) {
    if (label.info->iconv_names[i] != nullptr) names[i] = label.info->iconv_names[i];
  }
  return names;
}

// Strict conversion with the label's iconv names in turn.
bool ConvertDeclared(std::string_view in, const Label& label, std::string* out) {
  for (std::string_view name : IconvNames(label)) {
    if (name.empty()) continue;
    iconv_t cd = Iconvs().Get(name);
    if (cd == kNoIconv) continue;
    if (IconvStrict(cd, in, out) == IconvStatus::kOk) return true;
  }
  return false;
}

// =============================================================================================
// UTF-16 / UTF-32

// Pure printable ASCII is not UTF-16 whatever the label says: real UTF-16 text has NULs
// (Latin), C0-range high bytes (Cyrillic, Greek, Arabic, ... U+0100-U+1FFF) or 8-bit bytes.
bool LooksLikeAsciiText(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f')) {
      return false;
    }
  }
  return true;
}

// Without a BOM, the high byte of each unit is the one that is more often zero (Latin text)
// or below 0x20 (other alphabetic scripts). Ties go to big-endian, the RFC 2781 default.
Endian GuessUtf16Endian(std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), 8192) & ~size_t{1};
  size_t zero[2] = {0, 0};
  size_t low[2] = {0, 0};
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    zero[i & 1] += c == 0;
    low[i & 1] += c < 0x20;
  }
  if (zero[0] != zero[1]) return zero[0] > zero[1] ? Endian::kBig : Endian::kLittle;
  if (low[0] != low[1]) return low[0] > low[1] ? Endian::kBig : Endian::kLittle;
  return Endian::kBig;
}

Endian GuessUtf32Endian(std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), 8192) & ~size_t{3};
  size_t first_zero = 0;
  size_t last_zero = 0;
  for (size_t i = 0; i < n; i += 4) {
    first_zero += s[i] == 0;
    last_zero += s[i + 3] == 0;
  }
  return last_zero > first_zero ? Endian::kLittle : Endian::kBig;
}

bool ConvertWide(std::string_view in, const CharsetInfo& info, std::string* out,
                 CharsetResult* result) {
  const bool utf32 = info.kind == Kind::kUtf32;
  Endian endian = info.endian;
  std::string_view body = in;
  // A BOM overrides the label's byte order; it is not part of the text.
  if (utf32 && body.substr(0, 4) == std::string_view("\xFF\xFE\0\0", 4)) {
    endian = Endian::kLittle;
    body.remove_prefix(4);
  } else if (utf32 && body.substr(0, 4) == std::string_view("\0\0\xFE\xFF", 4)) {
    endian = Endian::kBig;
    body.remove_prefix(4);
  } else if (!utf32 && body.substr(0, 2) == "\xFF\xFE") {
    endian = Endian::kLittle;
    body.remove_prefix(2);
  } else if (!utf32 && body.substr(0, 2) == "\xFE\xFF") {
    endian = Endian::kBig;
    body.remove_prefix(2);
  } else {
    if (LooksLikeAsciiText(in)) return false;
    if (endian == Endian::kAny) endian = utf32 ? GuessUtf32Endian(in) : GuessUtf16Endian(in);
  }
  const char* name = utf32 ? (endian == Endian::kLittle ? "UTF-32LE" : "UTF-32BE")
                           : (endian == Endian::kLittle ? "UTF-16LE" : "UTF-16BE");
  iconv_t cd = Iconvs().Get(name);
  if (cd == kNoIconv) return false;
  if (IconvStrict(cd, body, out) == IconvStatus::kOk) return true;
  // An odd trailing byte or a lone surrogate: keep the rest of the text.
  cd = Iconvs().Get(name);
  if (IconvLenient(cd, body, 1 + body.size() / 8, out)) {
    result->replaced = true;
    return true;
  }
  return false;
}

// =============================================================================================
// Guessing East Asian encodings of unlabelled 8-bit text
//
// Without Encode::Detect SpamAssassin decodes such text as Windows-1252, which turns Chinese,
// Japanese and Korean mail into mojibake that no classifier can use. The guess is deliberately
// conservative. Each candidate must decode a sample strictly, and the characters it yields
// must look like its language:
//   Japanese: at least 10% kana (25% counting halfwidth katakana). Other encodings' bytes
//             almost never land on the kana rows (Shift_JIS 82/83, EUC-JP A4/A5).
//   Korean:   at least 80% Hangul syllables, and Chinese: at least 90% Hanzi or CJK
//             punctuation. Both also need 20% of their characters (and at least two) among the
//             language's most frequent ones: GB2312 bytes read as EUC-KR are all Hangul, and
//             Thai or Cyrillic bytes read as GBK are all Hanzi, but such random characters hit
//             the few hundred listed below only a few percent of the time, while real text
//             hits them 30-50% of the time.
// Japanese wins outright; otherwise the higher frequent-character share wins. Anything else
// (Latin, Cyrillic, Greek, Thai, ... in a legacy code page) fails, and the caller falls back
// to Windows-1252 as SpamAssassin does.

// The most frequent Chinese characters (simplified, then traditional forms that differ).
constexpr std::string_view kFrequentHanzi =
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年"
    "过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心"
    "她本前开但因只从想实日者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由"
    "问很最重并物手应向头文体新相见被利什二等产或己制身果加月话合回特代内信表化老给世位次度门任"
    "常先海通费请联系您免司服务提供优惠款价格元品售销网址电话购买卖钱"
    "這個們來為國說時會對發後裡麼經過動現樣還點開問體種東話見門無當實進機頭從於與長間關應總電"
    "數請聯繫費務優貸價購買賣錢網話號碼線";

// The most frequent Hangul syllables.
constexpr std::string_view kFrequentHangul =
    "이다는의에하고을가지로서기한리사니시어대도정수자인일요보있아나스해만국들상것전주제게면부를은"
    "으여구라적과원세습드위장성동비오우신무조료화연까모내문께트선실금공유경개방용회터소입할습저"
    "희님분객상담드립니";

// A bitset over a block of code points, filled from a UTF-8 list.
template <char32_t kFirst, char32_t kLast>
class CodePointSet {
 public:
  explicit CodePointSet(std::string_view utf8) {
    size_t i = 0;
    while (i < utf8.size()) {
      const char32_t cp = NextCodePoint(utf8, &i);
      if (cp >= kFirst && cp <= kLast) {
        bits_[(cp - kFirst) / 64] |= uint64_t{1} << ((cp - kFirst) % 64);
      }
    }
  }
  bool Contains(char32_t cp) const {
    if (cp < kFirst || cp > kLast) return false;
    return (bits_[(cp - kFirst) / 64] >> ((cp - kFirst) % 64)) & 1;
  }

 private:
  std::array<uint64_t, (kLast - kFirst + 64) / 64> bits_{};
};

struct CjkStats {
  size_t kana = 0;            // U+3040-U+30FF
  size_t halfwidth_kana = 0;  // U+FF61-U+FF9F
  size_t hangul = 0;          // U+AC00-U+D7A3
  size_t hangul_frequent = 0;
  size_t han = 0;  // CJK ideographs
  size_t han_frequent = 0;
  size_t neutral = 0;  // CJK punctuation, fullwidth forms, symbols all three languages use
  size_t other = 0;    // anything else non-ASCII (PUA, Latin-1, Cyrillic, ...)
  size_t total() const { return kana + halfwidth_kana + hangul + han + neutral + other; }
};

CjkStats Classify(std::string_view utf8) {
  using HanziSet = CodePointSet<0x4E00, 0x9FFF>;
  using HangulSet = CodePointSet<0xAC00, 0xD7A3>;
  static const HanziSet* const frequent_hanzi = new HanziSet(kFrequentHanzi);
  static const HangulSet* const frequent_hangul = new HangulSet(kFrequentHangul);
  CjkStats st;
  size_t i = 0;
  while (i < utf8.size()) {
    const char32_t cp = NextCodePoint(utf8, &i);
    if (cp < 0x80) continue;
    if (cp >= 0x3040 && cp <= 0x30FF) {
      ++st.kana;
    } else if (cp >= 0xFF61 && cp <= 0xFF9F) {
      ++st.halfwidth_kana;
    } else if (cp >= 0xAC00 && cp <= 0xD7A3) {
      ++st.hangul;
      st.hangul_frequent += frequent_hangul->Contains(cp);
    } else if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
               (cp >= 0xF900 && cp <= 0xFAFF)) {
      ++st.han;
      st.han_frequent += frequent_hanzi->Contains(cp);
    } else if ((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF01 && cp <= 0xFF5E) ||
               (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x2010 && cp <= 0x203B) ||
               (cp >= 0x2190 && cp <= 0x21FF) || (cp >= 0x2460 && cp <= 0x27BF) || cp == 0x00B7 ||
               cp == 0x00D7 || cp == 0x00F7) {
      ++st.neutral;
    } else {
      ++st.other;
    }
  }
  return st;
}

enum class Script { kJapanese, kKorean, kChinese };

constexpr size_t kMinCharacters = 4;
constexpr size_t kMinFrequent = 2;  // one hit among four characters is luck

// Returns how well `st` fits `script`: < 0 for not at all; Japanese returns 1 (decisive).
double Fit(const CjkStats& st, Script script) {
  const size_t total = st.total();
  if (total < kMinCharacters) return -1;
  switch (script) {
    case Script::kJapanese:
      if (st.other * 10 > total || st.hangul > 0 || st.kana * 10 < total ||
          (st.kana + st.halfwidth_kana) * 4 < total) {
        return -1;
      }
      return 1;
    case Script::kKorean:
      if ((st.other + st.halfwidth_kana) * 10 > total || st.hangul * 5 < total * 4 ||
          st.hangul_frequent < kMinFrequent || st.hangul_frequent * 5 < st.hangul) {
        return -1;
      }
      return static_cast<double>(st.hangul_frequent) / static_cast<double>(st.hangul);
    case Script::kChinese:
      if ((st.other + st.halfwidth_kana) * 10 > total || st.hangul > 0 || st.kana * 20 > total ||
          (st.han + st.neutral) * 10 < total * 9 || st.han < kMinCharacters ||
          st.han_frequent < kMinFrequent || st.han_frequent * 5 < st.han) {
        return -1;
      }
      return static_cast<double>(st.han_frequent) / static_cast<double>(st.han);
  }
  return -1;
}

struct Candidate {
  const char* iconv_name;
  Script script;
};

constexpr Candidate kCandidates[] = {
    {"CP932", Script::kJapanese},  {"EUC-JP-MS", Script::kJapanese}, {"CP949", Script::kKorean},
    {"GB18030", Script::kChinese}, {"CP950", Script::kChinese},
};

constexpr size_t kGuessSample = 4096;
constexpr size_t kGuessMinHighBytes = 2 * kMinCharacters;

// Decodes `sample` strictly; a sample cut short of the input may end inside a character.
bool DecodeSample(const char* iconv_name, std::string_view sample, bool cut, std::string* out) {
  iconv_t cd = Iconvs().Get(iconv_name);
  if (cd == kNoIconv) return false;
  const IconvStatus st = IconvStrict(cd, sample, out);
  if (st == IconvStatus::kOk) return true;
  if (st != IconvStatus::kIncomplete || !cut) return false;
  // Drop the incomplete tail (at most 3 bytes) and try again.
  for (size_t drop = 1; drop <= 3 && drop < sample.size(); ++drop) {
    cd = Iconvs().Get(iconv_name);
    if (IconvStrict(cd, sample.substr(0, sample.size() - drop), out) == IconvStatus::kOk) {
      return true;
    }
  }
  return false;
}

bool GuessCjk(std::string_view in, std::string* out, CharsetResult* result) {
  const size_t high = CountHighBytes(in);
  if (high < kGuessMinHighBytes) return false;
  const std::string_view sample = in.substr(0, kGuessSample);
  std::string decoded;
  const Candidate* best = nullptr;
  double best_fit = -1;
  for (const Candidate& c : kCandidates) {
    decoded.clear();
    if (!DecodeSample(c.iconv_name, sample, sample.size() < in.size(), &decoded)) continue;
    const double fit = Fit(Classify(decoded), c.script);
    if (fit > best_fit) {
      best = &c;
      best_fit = fit;
    }
    if (fit >= 1) break;
  }
  if (best == nullptr) return false;
  iconv_t cd = Iconvs().Get(best->iconv_name);
  if (IconvStrict(cd, in, out) == IconvStatus::kOk) return true;
  cd = Iconvs().Get(best->iconv_name);
  if (IconvLenient(cd, in, 1 + high / 16, out)) {
    result->replaced = true;
    return true;
  }
  return false;
}

// =============================================================================================
// RFC 2047 encoded-words

// Encoded text longer than this is not an encoded-word (RFC 2047 allows 75 characters for the
// whole word); the cap keeps a header full of "=?" linear.
constexpr size_t kMaxEncodedText = 8192;
constexpr size_t kMaxCharsetToken = 64;

struct EncodedWord {
  std::string_view charset;  // as written, without the *language suffix
  char encoding;             // 'B' or 'Q'
  std::string_view text;
  size_t end;  // offset just past "?="
};

enum class WordParse { kNotAWord, kMalformed, kOk };

// RFC 2047 token characters, plus '*' for the RFC 2231 language suffix.
inline bool IsCharsetChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-^_`{|}~.:").find(c) != std::string_view::npos;
}

// Parses an encoded-word starting at s[pos] == "=?". "=?" not followed by a charset token and
// '?' is ordinary text; once "=?charset?" is seen, anything but "Q?text?=" / "B?text?=" is a
// malformed word.
WordParse ParseEncodedWord(std::string_view s, size_t pos, EncodedWord* w) {
  const size_t n = s.size();
  size_t i = pos + 2;
  const size_t cs_start = i;
  while (i < n && i - cs_start <= kMaxCharsetToken && IsCharsetChar(s[i])) ++i;
  if (i == cs_start || i >= n || s[i] != '?' || i - cs_start > kMaxCharsetToken) {
    return WordParse::kNotAWord;
  }
  w->charset = s.substr(cs_start, i - cs_start);
  w->charset = w->charset.substr(0, w->charset.find('*'));
  ++i;
  if (i + 1 >= n || s[i + 1] != '?') return WordParse::kMalformed;
  const char enc = s[i];
  if (enc == 'b' || enc == 'B') {
    w->encoding = 'B';
  } else if (enc == 'q' || enc == 'Q') {
    w->encoding = 'Q';
  } else {
    return WordParse::kMalformed;
  }
  const size_t text_start = i + 2;
  const size_t limit = std::min(n - std::min(n, text_start), kMaxEncodedText + 1);
  const void* q = text_start < n ? std::memchr(s.data() + text_start, '?', limit) : nullptr;
  if (q == nullptr) return WordParse::kMalformed;
  const size_t qpos = static_cast<size_t>(static_cast<const char*>(q) - s.data());
  if (qpos - text_start > kMaxEncodedText || qpos + 1 >= n || s[qpos + 1] != '=') {
    return WordParse::kMalformed;
  }
  w->text = s.substr(text_start, qpos - text_start);
  w->end = qpos + 2;
  return WordParse::kOk;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

inline bool IsFoldSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void AppendRawText(std::string_view text, std::string* out) {
  if (text.empty()) return;
  if (AsciiPrefix(text.data(), text.size()) == text.size()) {
    out->append(text);
  } else {
    ConvertToUtf8(text, {}, out);
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) { return Utf8ValidPrefix(s) == s.size(); }

CharsetResult ConvertToUtf8(std::string_view in, std::string_view charset, std::string* out) {
  CharsetResult result;
  const Label label = ResolveLabel(charset);
  const CharsetInfo& info = *label.info;
  Kind kind = info.kind;
  // A label that names nothing iconv has is as good as none.
  if (!label.iconv_name.empty() && Iconvs().Get(label.iconv_name) == kNoIconv) {
    kind = Kind::kUnknown;
  }
  result.unknown_charset = kind == Kind::kUnknown;
  if (in.empty()) return result;

  // Encodings written with ASCII bytes must be decoded before the ASCII shortcut would keep
  // them as they are. (SpamAssassin keeps pure-ASCII parts unchanged whatever the label; for
  // UTF-7, ISO-2022-* and BOM-less UTF-16 that means raw escape sequences, so we decode.)
  if (kind == Kind::kUtf16 || kind == Kind::kUtf32) {
    if (ConvertWide(in, info, out, &result)) return result;
  } else if (info.seven_bit) {
    if (ConvertDeclared(in, label, out)) return result;
  }

  // 1. Pure ASCII. 2. Valid UTF-8, whatever the label says.
  const size_t ascii = AsciiPrefix(in.data(), in.size());
  if (ascii == in.size() || IsValidUtf8(in.substr(ascii))) {
    out->append(in);
    return result;
  }

  // 3. The declared charset; for no usable label, a conservative East Asian guess.
  switch (kind) {
    case Kind::kCp1252:
      result.replaced = AppendCp1252(in, out);
      return result;
    case Kind::kIconv:
      if (!info.seven_bit && ConvertDeclared(in, label, out)) return result;
      if (info.east_asian) {
        // A truncated or slightly damaged East Asian part keeps its text, with U+FFFD for the
        // bad bytes; a part that is mostly undecodable was mislabelled, and gets a guess.
        iconv_t cd = Iconvs().Get(IconvNames(label)[0]);
        if (cd != kNoIconv && IconvLenient(cd, in, 1 + CountHighBytes(in) / 8, out)) {
          result.replaced = true;
          return result;
        }
        if (GuessCjk(in, out, &result)) {
          result.guessed = true;
          return result;
        }
      }
      break;
    case Kind::kNone:
    case Kind::kAscii:
    case Kind::kUnknown:
      if (GuessCjk(in, out, &result)) {
        result.guessed = true;
        return result;
      }
      break;
    case Kind::kUtf8:   // declared UTF-8 that is not
    case Kind::kUtf16:  // UTF-16/32 that did not decode
    case Kind::kUtf32:
      break;
  }

  // 4. Windows-1252, applied to the whole text (so valid UTF-8 next to a stray Latin-1 byte
  // becomes mojibake, exactly as in SpamAssassin).
  result.guessed = true;
  result.replaced |= AppendCp1252(in, out);
  return result;
}

void DecodeEncodedWords(std::string_view value, std::string* out, bool* malformed) {
  bool bad = false;
  // Bytes of adjacent encoded-words in the same charset are converted together: mailers split
  // long UTF-8 (and Shift_JIS, ...) text between words without regard to character bounds.
  std::string pending;
  std::string_view pending_charset;
  bool have_pending = false;
  auto flush_pending = [&] {
    if (!have_pending) return;
    ConvertToUtf8(pending, pending_charset, out);
    pending.clear();
    have_pending = false;
  };

  size_t literal_start = 0;  // start of text not yet written
  size_t i = 0;
  while (true) {
    const size_t p = value.find("=?", i);
    if (p == std::string_view::npos) break;
    EncodedWord w;
    const WordParse parse = ParseEncodedWord(value, p, &w);
    if (parse == WordParse::kNotAWord) {
      i = p + 1;
      continue;
    }
    if (parse == WordParse::kMalformed) {
      bad = true;  // stays in the literal text, verbatim
      i = p + 2;
      continue;
    }
    const std::string_view between = value.substr(literal_start, p - literal_start);
    const bool only_space = std::all_of(between.begin(), between.end(), IsFoldSpace);
    if (!(have_pending && only_space)) {
      flush_pending();
      AppendRawText(between, out);
    }
    if (have_pending && !EqualsIgnoreCase(pending_charset, w.charset)) flush_pending();
    TransferDecodeResult r =
        w.encoding == 'B' ? DecodeBase64(w.text, &pending) : DecodeQEncoding(w.text, &pending);
    bad |= r.malformed;
    pending_charset = w.charset;
    have_pending = true;
    literal_start = i = w.end;
  }
  flush_pending();
  AppendRawText(value.substr(literal_start), out);
  if (bad && malformed != nullptr) *malformed = true;
}

}  // namespace veto::email
