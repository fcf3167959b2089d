// veto/email/html.cc — single-pass HTML renderer (see html.h for the contract).
//
// One left-to-right pass over the input, no recursion and no copy of the input:
//   - SpamAssassin's literal pre-pass ("&nbsp;" -> ' ', U+201C/U+201D -> '"') is applied on
//     the fly: every state that can meet those sequences maps them itself (TagChar() in tag
//     states, the text and attribute-value loops elsewhere). Doing it in place means an
//     entity that decodes to U+201C stays a curly quote, exactly as with SA's textual pre-pass.
//   - Text runs and attribute values are scanned eight bytes at a time (SWAR) where nothing
//     in them needs attention, else with a byte-class table, and appended in bulk.
//   - Rendering mirrors SA's display_text(): the output is a sequence of "chunks" (the text
//     between two markup tokens, or the whitespace a tag inserts). Whitespace is collapsed
//     inside a chunk only, and the trim/drop rules look at the previous chunk's kind.
//   - Styles live on a fixed ring of open elements, so unclosed tags cost nothing unbounded.
#include "email/html.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace veto::email {
namespace {

struct NamedEntity {
  std::string_view name;  // without '&' and without ';'
  std::string_view utf8;
};

#include "email/html_entities.inc"

constexpr size_t kMaxAttrValue = 8192;  // SA's MAX_URI_LENGTH; also bounds style values
constexpr size_t kMaxAnchorText = 256;
constexpr size_t kStackSize = 256;  // a power of two: the stack is a ring
constexpr size_t kBuckets = 64;     // per-name-hash counts so most stray end tags skip the scan

// ---------------------------------------------------------------------------------------------
// Byte classes.

enum : uint16_t {
  kClsText = 1 << 0,   // stops a text run: '<' '&' 0xE2 and ASCII whitespace
  kClsWs = 1 << 1,     // [ \t\n\r\f\v]: SA's text whitespace
  kClsTagWs = 1 << 2,  // [\t\n\f\r ]: HTML5 tokenizer whitespace
  kClsAlpha = 1 << 3,
  kClsAlnum = 1 << 4,
  kClsDigit = 1 << 5,
  kClsHex = 1 << 6,
  kClsDqStop = 1 << 7,     // double-quoted value: '"' '&' 0xE2 NUL
  kClsSqStop = 1 << 8,     // single-quoted value: '\'' '&' 0xE2 NUL
  kClsUnqStop = 1 << 9,    // unquoted value: tag whitespace '>' '&' 0xE2 NUL
  kClsLiteral = 1 << 10,   // CDATA text: '&' 0xE2 and ASCII whitespace
  kClsNameStop = 1 << 11,  // tag/attribute names: tag whitespace '/' '>' '=' '&' 0xE2
};

constexpr std::array<uint16_t, 256> MakeClasses() {
  std::array<uint16_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint16_t v = 0;
    const bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    const bool tag_ws = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (ws) v |= kClsWs | kClsText | kClsLiteral;
    if (tag_ws) v |= kClsTagWs | kClsUnqStop;
    if (c == '<' || c == '&' || c == 0xE2) v |= kClsText;
    if (alpha) v |= kClsAlpha | kClsAlnum;
    if (digit) v |= kClsDigit | kClsAlnum | kClsHex;
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kClsHex;
    if (c == '&' || c == 0xE2 || c == 0) v |= kClsDqStop | kClsSqStop | kClsUnqStop;
    if (c == '&' || c == 0xE2) v |= kClsLiteral;
    if (c == '"') v |= kClsDqStop;
    if (c == '\'') v |= kClsSqStop;
    if (c == '>') v |= kClsUnqStop;
    if (tag_ws || c == '/' || c == '>' || c == '=' || c == '&' || c == 0xE2) v |= kClsNameStop;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kClass = MakeClasses();

// SWAR helpers on 8 bytes: the high bit of each byte in the result flags a match, exactly
// (no false positives, so a clean word proves the 8 bytes plain).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHigh = 0x8080808080808080ull;
constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
inline uint64_t ZeroBytes(uint64_t x) { return ~(((x & kLow7) + kLow7) | x | kLow7); }
inline uint64_t BytesBelow0x20(uint64_t x) { return ~(((x & kLow7) + kOnes * 0x60) | x | kLow7); }
inline uint64_t AsciiToLower(uint64_t x) {
  const uint64_t at_least_a = (x & kLow7) + kOnes * (0x80 - 'A');
  const uint64_t above_z = (x & kLow7) + kOnes * (0x80 - 'Z' - 1);
  return x | ((at_least_a & ~above_z & ~x & kHigh) >> 2);
}
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

inline bool Is(char c, uint16_t cls) { return (kClass[static_cast<uint8_t>(c)] & cls) != 0; }
inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline int HexValue(char c) {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != lower[i]) return false;
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view hay, std::string_view lower) {
  if (lower.size() > hay.size()) return false;
  for (size_t i = 0; i + lower.size() <= hay.size(); ++i) {
    if (EqualsIgnoreCase(hay.substr(i, lower.size()), lower)) return true;
  }
  return false;
}

std::string_view TrimAscii(std::string_view v) {
  while (!v.empty() && Is(v.front(), kClsWs)) v.remove_prefix(1);
  while (!v.empty() && Is(v.back(), kClsWs)) v.remove_suffix(1);
  return v;
}

// Strips [ \t\n\r\f\v] and UTF-8 NBSP from both ends, as SA does to URL attributes.
std::string_view TrimWsNbsp(std::string_view v) {
  for (;;) {
    if (!v.empty() && Is(v.front(), kClsWs)) {
      v.remove_prefix(1);
    } else if (v.size() >= 2 && v[0] == '\xc2' && v[1] == '\xa0') {
      v.remove_prefix(2);
    } else {
      break;
    }
  }
  for (;;) {
    if (!v.empty() && Is(v.back(), kClsWs)) {
      v.remove_suffix(1);
    } else if (v.size() >= 2 && v[v.size() - 2] == '\xc2' && v.back() == '\xa0') {
      v.remove_suffix(2);
    } else {
      break;
    }
  }
  return v;
}

inline bool IsNbspRef(const char* p, const char* end) {
  return end - p >= 6 && p[0] == '&' && p[1] == 'n' && p[2] == 'b' && p[3] == 's' && p[4] == 'p' &&
         p[5] == ';';
}
inline bool IsCurlyDoubleQuote(const char* p, const char* end) {
  return end - p >= 3 && p[0] == '\xe2' && p[1] == '\x80' && (p[2] == '\x9c' || p[2] == '\x9d');
}

// ---------------------------------------------------------------------------------------------
// Character references.

size_t EncodeUtf8(uint32_t cp, char* buf) {
  if (cp < 0x80) {
    buf[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    buf[0] = static_cast<char>(0xC0 | (cp >> 6));
    buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    buf[0] = static_cast<char>(0xE0 | (cp >> 12));
    buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  buf[0] = static_cast<char>(0xF0 | (cp >> 18));
  buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// HTML5 "numeric character reference end state": C1 controls are read as Windows-1252
// because that is what the authors of such pages meant; 0 in the table keeps the code point.
constexpr uint16_t kWindows1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

uint32_t FixCodePoint(uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
  if (cp >= 0x80 && cp <= 0x9F && kWindows1252[cp - 0x80] != 0) return kWindows1252[cp - 0x80];
  return cp;
}

// Where each first byte's names start in a sorted table, so a lookup bisects one letter's
// names only.
template <size_t N>
constexpr std::array<uint16_t, 257> MakeFirstByteIndex(const NamedEntity (&table)[N]) {
  std::array<uint16_t, 257> index{};
  size_t i = 0;
  for (int c = 0; c < 256; ++c) {
    index[c] = static_cast<uint16_t>(i);
    while (i < N && static_cast<uint8_t>(table[i].name[0]) == c) ++i;
  }
  index[256] = static_cast<uint16_t>(N);
  return index;
}
constexpr bool ByName(const NamedEntity& a, const NamedEntity& b) { return a.name < b.name; }
static_assert(std::is_sorted(std::begin(kSemicolonEntities), std::end(kSemicolonEntities), ByName));
static_assert(std::is_sorted(std::begin(kLegacyEntities), std::end(kLegacyEntities), ByName));
constexpr std::array<uint16_t, 257> kSemicolonIndex = MakeFirstByteIndex(kSemicolonEntities);
constexpr std::array<uint16_t, 257> kLegacyIndex = MakeFirstByteIndex(kLegacyEntities);

template <size_t N>
const NamedEntity* FindEntity(const NamedEntity (&table)[N], const std::array<uint16_t, 257>& index,
                              std::string_view name) {
  const uint8_t first = static_cast<uint8_t>(name[0]);
  const NamedEntity* begin = table + index[first];
  const NamedEntity* end = table + index[first + 1];
  const NamedEntity* it = std::lower_bound(
      begin, end, name, [](const NamedEntity& e, std::string_view n) { return e.name < n; });
  return (it != end && it->name == name) ? it : nullptr;
}

// Decodes the reference at p[0] == '&' into buf (at least 8 bytes). Returns the bytes consumed,
// 0 when the '&' does not start a reference and must be kept literally.
size_t DecodeRef(const char* p, const char* end, bool in_attribute, char* buf, size_t* len) {
  const char* s = p + 1;
  if (s >= end) return 0;
  if (*s == '#') {
    const char* d = s + 1;
    bool hex = false;
    if (d < end && (*d == 'x' || *d == 'X')) {
      hex = true;
      ++d;
    }
    const char* digits = d;
    uint32_t cp = 0;
    bool overflow = false;
    while (d < end && Is(*d, hex ? kClsHex : kClsDigit)) {
      if (!overflow) {
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(HexValue(*d));
        if (cp > 0x10FFFF) overflow = true;
      }
      ++d;
    }
    if (d == digits) return 0;
    if (d < end && *d == ';') ++d;
    *len = EncodeUtf8(overflow ? 0xFFFD : FixCodePoint(cp), buf);
    return static_cast<size_t>(d - p);
  }
  // Named: all names are alphanumeric, so the only ';' candidate is the whole alnum run.
  const char* q = s;
  while (q < end && static_cast<size_t>(q - s) <= kMaxEntityNameLength && Is(*q, kClsAlnum)) ++q;
  const size_t run = static_cast<size_t>(q - s);
  if (run == 0) return 0;
  if (q < end && *q == ';' && run <= kMaxEntityNameLength) {
    const NamedEntity* e =
        FindEntity(kSemicolonEntities, kSemicolonIndex, std::string_view(s, run));
    if (e != nullptr) {
      std::memcpy(buf, e->utf8.data(), e->utf8.size());
      *len = e->utf8.size();
      return run + 2;
    }
  }
  // Legacy names without ';' ("&amp", "&copy2024"): longest match wins.
  for (size_t n = std::min(run, kMaxLegacyEntityNameLength); n >= 2; --n) {
    const NamedEntity* e = FindEntity(kLegacyEntities, kLegacyIndex, std::string_view(s, n));
    if (e == nullptr) continue;
    // HTML5 keeps "&copy=" and "&copyx" literal inside attributes (query strings).
    if (in_attribute && s + n < end && (s[n] == '=' || Is(s[n], kClsAlnum))) return 0;
    std::memcpy(buf, e->utf8.data(), e->utf8.size());
    *len = e->utf8.size();
    return n + 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Tags and attributes.

enum TagId : uint8_t {
  kTagOther,
  kTagA,
  kTagAddress,
  kTagArea,
  kTagBase,
  kTagBasefont,
  kTagBgsound,
  kTagBlockquote,
  kTagBody,
  kTagBr,
  kTagCenter,
  kTagCol,
  kTagDd,
  kTagDiv,
  kTagDl,
  kTagDt,
  kTagEmbed,
  kTagFont,
  kTagForm,
  kTagFrame,
  kTagH,  // h1-h6
  kTagHr,
  kTagHtml,
  kTagIframe,
  kTagImg,
  kTagInput,
  kTagKeygen,
  kTagLi,
  kTagLink,
  kTagListing,
  kTagMarquee,
  kTagMeta,
  kTagOl,
  kTagOption,
  kTagP,
  kTagParam,
  kTagPlaintext,
  kTagPre,
  kTagScript,
  kTagSource,
  kTagStyle,
  kTagTable,
  kTagTd,
  kTagTextarea,
  kTagTh,
  kTagTitle,
  kTagTr,
  kTagTrack,
  kTagUl,
  kTagWbr,
  kTagXmp,
  kNumTags
};

struct TagName {
  std::string_view name;
  TagId id;
};

// clang-format off
constexpr TagName kTagNames[] = {
    {"a", kTagA}, {"address", kTagAddress}, {"area", kTagArea}, {"base", kTagBase},
    {"basefont", kTagBasefont}, {"bgsound", kTagBgsound}, {"blockquote", kTagBlockquote},
    {"body", kTagBody}, {"br", kTagBr}, {"center", kTagCenter}, {"col", kTagCol}, {"dd", kTagDd},
    {"div", kTagDiv}, {"dl", kTagDl}, {"dt", kTagDt}, {"embed", kTagEmbed}, {"font", kTagFont},
    {"form", kTagForm}, {"frame", kTagFrame}, {"h1", kTagH}, {"h2", kTagH}, {"h3", kTagH},
    {"h4", kTagH}, {"h5", kTagH}, {"h6", kTagH}, {"hr", kTagHr}, {"html", kTagHtml},
    {"iframe", kTagIframe}, {"img", kTagImg}, {"input", kTagInput}, {"keygen", kTagKeygen},
    {"li", kTagLi}, {"link", kTagLink}, {"listing", kTagListing}, {"marquee", kTagMarquee},
    {"meta", kTagMeta}, {"ol", kTagOl}, {"option", kTagOption}, {"p", kTagP}, {"param", kTagParam},
    {"plaintext", kTagPlaintext}, {"pre", kTagPre}, {"script", kTagScript}, {"source", kTagSource},
    {"style", kTagStyle}, {"table", kTagTable}, {"td", kTagTd}, {"textarea", kTagTextarea},
    {"th", kTagTh}, {"title", kTagTitle}, {"tr", kTagTr}, {"track", kTagTrack}, {"ul", kTagUl},
    {"wbr", kTagWbr}, {"xmp", kTagXmp},
};
// clang-format on

// Static names for HtmlLink::tag (only tags that yield links need one).
constexpr std::string_view LinkTagName(TagId id) {
  switch (id) {
    case kTagA:
      return "a";
    case kTagArea:
      return "area";
    case kTagLink:
      return "link";
    case kTagImg:
      return "img";
    case kTagFrame:
      return "frame";
    case kTagIframe:
      return "iframe";
    case kTagEmbed:
      return "embed";
    case kTagScript:
      return "script";
    case kTagBgsound:
      return "bgsound";
    case kTagForm:
      return "form";
    case kTagBody:
      return "body";
    case kTagTable:
      return "table";
    case kTagTr:
      return "tr";
    case kTagTd:
      return "td";
    case kTagBase:
      return "base";
    case kTagMeta:
      return "meta";
    default:
      return "";
  }
}

enum Break : uint8_t { kNoBreak, kSoftBreak, kSpaceBreak, kParagraphBreak };

constexpr Break BreakFor(TagId id) {
  switch (id) {
    case kTagBr:
    case kTagDiv:
      return kSoftBreak;
    case kTagLi:
    case kTagTh:
    case kTagTd:
    case kTagDt:
    case kTagDd:
    case kTagEmbed:
    case kTagH:
      return kSpaceBreak;
    case kTagP:
    case kTagHr:
    case kTagBlockquote:
    case kTagPre:
    case kTagListing:
    case kTagPlaintext:
    case kTagXmp:
    case kTagTitle:
      return kParagraphBreak;
    default:
      return kNoBreak;
  }
}

constexpr bool IsVoid(TagId id) {
  switch (id) {
    case kTagArea:
    case kTagBase:
    case kTagBasefont:
    case kTagBgsound:
    case kTagBr:
    case kTagCol:
    case kTagEmbed:
    case kTagFrame:
    case kTagHr:
    case kTagImg:
    case kTagInput:
    case kTagKeygen:
    case kTagLink:
    case kTagMeta:
    case kTagParam:
    case kTagSource:
    case kTagTrack:
    case kTagWbr:
      return true;
    default:
      return false;
  }
}

// Start tags that implicitly close an open <p> (HTML5 "close a p element"), so a hidden
// paragraph does not leak its style into the block that follows it.
constexpr bool ClosesP(TagId id) {
  switch (id) {
    case kTagAddress:
    case kTagBlockquote:
    case kTagCenter:
    case kTagDd:
    case kTagDiv:
    case kTagDl:
    case kTagDt:
    case kTagForm:
    case kTagH:
    case kTagHr:
    case kTagLi:
    case kTagListing:
    case kTagOl:
    case kTagP:
    case kTagPlaintext:
    case kTagPre:
    case kTagTable:
    case kTagUl:
    case kTagXmp:
      return true;
    default:
      return false;
  }
}

enum AttrId : uint8_t {
  kAttrHref,
  kAttrSrc,
  kAttrAction,
  kAttrBackground,
  kAttrSafeRedirect,
  kAttrHttpEquiv,
  kAttrContent,
  kAttrStyle,
  kAttrColor,
  kAttrBgcolor,
  kAttrSize,
  kAttrText,
  kNumAttrs
};

constexpr uint32_t Bit(AttrId a) { return 1u << a; }

// Which attribute values are worth decoding for a start tag; all others are skipped unread.
constexpr uint32_t WantedAttrs(TagId id) {
  uint32_t m = 0;
  if (!IsVoid(id) && id != kTagScript && id != kTagStyle) m |= Bit(kAttrStyle);
  switch (id) {
    case kTagA:
    case kTagArea:
    case kTagLink:
      m |= Bit(kAttrHref) | Bit(kAttrSafeRedirect);
      break;
    case kTagImg:
    case kTagFrame:
    case kTagIframe:
    case kTagEmbed:
    case kTagScript:
    case kTagBgsound:
      m |= Bit(kAttrSrc);
      break;
    case kTagForm:
      m |= Bit(kAttrAction);
      break;
    case kTagBody:
      m |= Bit(kAttrBackground) | Bit(kAttrBgcolor) | Bit(kAttrText);
      break;
    case kTagTable:
    case kTagTr:
    case kTagTd:
      m |= Bit(kAttrBackground) | Bit(kAttrBgcolor);
      break;
    case kTagTh:
    case kTagMarquee:
      m |= Bit(kAttrBgcolor);
      break;
    case kTagFont:
      m |= Bit(kAttrColor) | Bit(kAttrSize);
      break;
    case kTagBase:
      m |= Bit(kAttrHref);
      break;
    case kTagMeta:
      m |= Bit(kAttrHttpEquiv) | Bit(kAttrContent);
      break;
    default:
      break;
  }
  return m;
}

constexpr std::array<uint32_t, kNumTags> MakeWanted() {
  std::array<uint32_t, kNumTags> t{};
  for (int i = 0; i < kNumTags; ++i) t[i] = WantedAttrs(static_cast<TagId>(i));
  return t;
}
constexpr std::array<uint32_t, kNumTags> kWanted = MakeWanted();

// Eight bytes of a name (from `from`) as one little-endian integer, so names compare a word
// at a time.
constexpr uint64_t Pack(std::string_view s, size_t from = 0) {
  uint64_t v = 0;
  for (size_t i = from; i < s.size() && i < from + 8; ++i) {
    v |= uint64_t{static_cast<uint8_t>(s[i])} << (8 * (i - from));
  }
  return v;
}

// A lower-cased tag or attribute name: the first bytes for recognition, a hash of all of them
// for matching end tags against open elements.
struct Name {
  static constexpr size_t kPackedBytes = 24;
  uint64_t words[3] = {0, 0, 0};  // the first 24 bytes, Pack()ed
  size_t len = 0;
  uint64_t tail_hash = 14695981039346656037ull;  // FNV-1a of the bytes after those

  void Add(char c) {
    if (len < kPackedBytes) {
      words[len >> 3] |= uint64_t{static_cast<uint8_t>(c)} << (8 * (len & 7));
    } else {
      tail_hash = (tail_hash ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    }
    ++len;
  }
  // Adds the n raw bytes at p, lower-casing them. A whole short name is packed a word at a
  // time, loading straight from the input when 24 bytes are readable there (limit).
  void AddRun(const char* p, size_t n, const char* limit) {
    if constexpr (kLittleEndian) {
      if (len == 0 && n <= kPackedBytes && limit - p >= static_cast<ptrdiff_t>(kPackedBytes)) {
        for (size_t w = 0; w < 3; ++w) {
          const size_t valid = n > 8 * w ? std::min<size_t>(n - 8 * w, 8) : 0;
          if (valid == 0) break;
          uint64_t x;
          std::memcpy(&x, p + 8 * w, 8);
          if (valid < 8) x &= (uint64_t{1} << (8 * valid)) - 1;
          words[w] = AsciiToLower(x);
        }
        len = n;
        return;
      }
    }
    for (size_t i = 0; i < n; ++i) Add(Lower(p[i]));
  }
  // Identifies the name, with len, for end-tag matching.
  uint32_t Hash() const {
    uint64_t h = words[0] * 0x9E3779B97F4A7C15ull;
    h = (h ^ words[1] ^ (words[2] << 1) ^ tail_hash) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<uint32_t>(h >> 32);
  }
  bool Is(std::string_view s) const {  // s: lower-case, at most 24 bytes
    return len == s.size() && words[0] == Pack(s) && words[1] == Pack(s, 8) &&
           words[2] == Pack(s, 16);
  }
};

// Tag names are looked up with a perfect hash of their first 8 bytes: one multiply and one
// load per tag instead of a branchy search.
struct PackedTag {
  uint64_t word0 = 0;
  uint64_t word1 = 0;
  size_t len = 0;  // 0: empty slot
  TagId id = kTagOther;
};

constexpr uint64_t kTagHashMultiplier = 0xd23f0824128b2f33ull;  // found by search: no collisions
constexpr size_t TagSlot(uint64_t word0) { return (word0 * kTagHashMultiplier) >> 56; }

constexpr std::array<PackedTag, 256> MakeTagTable() {
  std::array<PackedTag, 256> t{};
  for (const TagName& n : kTagNames) {
    t[TagSlot(Pack(n.name))] = {Pack(n.name), Pack(n.name, 8), n.name.size(), n.id};
  }
  return t;
}
constexpr std::array<PackedTag, 256> kTagSlots = MakeTagTable();

constexpr bool TagTableIsPerfect() {
  for (const TagName& n : kTagNames) {
    const PackedTag& e = kTagSlots[TagSlot(Pack(n.name))];
    if (e.word0 != Pack(n.name) || e.len != n.name.size()) return false;
  }
  return true;
}
static_assert(TagTableIsPerfect(), "tag names collide: pick another kTagHashMultiplier");

TagId LookupTag(const Name& name) {
  const PackedTag& e = kTagSlots[TagSlot(name.words[0])];
  // All tag names are shorter than 16 bytes, so equal lengths leave words[2] zero on both sides.
  return (e.len == name.len && e.word0 == name.words[0] && e.word1 == name.words[1]) ? e.id
                                                                                     : kTagOther;
}

int LookupAttr(const Name& name) {
  switch (name.len) {
    case 3:
      if (name.Is("src")) return kAttrSrc;
      break;
    case 4:
      if (name.Is("href")) return kAttrHref;
      if (name.Is("size")) return kAttrSize;
      if (name.Is("text")) return kAttrText;
      break;
    case 5:
      if (name.Is("style")) return kAttrStyle;
      if (name.Is("color")) return kAttrColor;
      break;
    case 6:
      if (name.Is("action")) return kAttrAction;
      break;
    case 7:
      if (name.Is("content")) return kAttrContent;
      if (name.Is("bgcolor")) return kAttrBgcolor;
      break;
    case 10:
      if (name.Is("background")) return kAttrBackground;
      if (name.Is("http-equiv")) return kAttrHttpEquiv;
      break;
    case 20:
      if (name.Is("data-saferedirecturl")) return kAttrSafeRedirect;
      break;
    default:
      break;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Colours and CSS.

struct NamedColor {
  std::string_view name;
  uint32_t rgb;
};

// CSS Color Module level 4 named colours, sorted.
// clang-format off
constexpr NamedColor kNamedColors[] = {
    {"aliceblue", 0xf0f8ff}, {"antiquewhite", 0xfaebd7}, {"aqua", 0x00ffff},
    {"aquamarine", 0x7fffd4}, {"azure", 0xf0ffff}, {"beige", 0xf5f5dc}, {"bisque", 0xffe4c4},
    {"black", 0x000000}, {"blanchedalmond", 0xffebcd}, {"blue", 0x0000ff},
    {"blueviolet", 0x8a2be2}, {"brown", 0xa52a2a}, {"burlywood", 0xdeb887},
    {"cadetblue", 0x5f9ea0}, {"chartreuse", 0x7fff00}, {"chocolate", 0xd2691e},
    {"coral", 0xff7f50}, {"cornflowerblue", 0x6495ed}, {"cornsilk", 0xfff8dc},
    {"crimson", 0xdc143c}, {"cyan", 0x00ffff}, {"darkblue", 0x00008b}, {"darkcyan", 0x008b8b},
    {"darkgoldenrod", 0xb8860b}, {"darkgray", 0xa9a9a9}, {"darkgreen", 0x006400},
    {"darkgrey", 0xa9a9a9}, {"darkkhaki", 0xbdb76b}, {"darkmagenta", 0x8b008b},
    {"darkolivegreen", 0x556b2f}, {"darkorange", 0xff8c00}, {"darkorchid", 0x9932cc},
    {"darkred", 0x8b0000}, {"darksalmon", 0xe9967a}, {"darkseagreen", 0x8fbc8f},
    {"darkslateblue", 0x483d8b}, {"darkslategray", 0x2f4f4f}, {"darkslategrey", 0x2f4f4f},
    {"darkturquoise", 0x00ced1}, {"darkviolet", 0x9400d3}, {"deeppink", 0xff1493},
    {"deepskyblue", 0x00bfff}, {"dimgray", 0x696969}, {"dimgrey", 0x696969},
    {"dodgerblue", 0x1e90ff}, {"firebrick", 0xb22222}, {"floralwhite", 0xfffaf0},
    {"forestgreen", 0x228b22}, {"fuchsia", 0xff00ff}, {"gainsboro", 0xdcdcdc},
    {"ghostwhite", 0xf8f8ff}, {"gold", 0xffd700}, {"goldenrod", 0xdaa520}, {"gray", 0x808080},
    {"green", 0x008000}, {"greenyellow", 0xadff2f}, {"grey", 0x808080}, {"honeydew", 0xf0fff0},
    {"hotpink", 0xff69b4}, {"indianred", 0xcd5c5c}, {"indigo", 0x4b0082}, {"ivory", 0xfffff0},
    {"khaki", 0xf0e68c}, {"lavender", 0xe6e6fa}, {"lavenderblush", 0xfff0f5},
    {"lawngreen", 0x7cfc00}, {"lemonchiffon", 0xfffacd}, {"lightblue", 0xadd8e6},
    {"lightcoral", 0xf08080}, {"lightcyan", 0xe0ffff}, {"lightgoldenrodyellow", 0xfafad2},
    {"lightgray", 0xd3d3d3}, {"lightgreen", 0x90ee90}, {"lightgrey", 0xd3d3d3},
    {"lightpink", 0xffb6c1}, {"lightsalmon", 0xffa07a}, {"lightseagreen", 0x20b2aa},
    {"lightskyblue", 0x87cefa}, {"lightslategray", 0x778899}, {"lightslategrey", 0x778899},
    {"lightsteelblue", 0xb0c4de}, {"lightyellow", 0xffffe0}, {"lime", 0x00ff00},
    {"limegreen", 0x32cd32}, {"linen", 0xfaf0e6}, {"magenta", 0xff00ff}, {"maroon", 0x800000},
    {"mediumaquamarine", 0x66cdaa}, {"mediumblue", 0x0000cd}, {"mediumorchid", 0xba55d3},
    {"mediumpurple", 0x9370db}, {"mediumseagreen", 0x3cb371}, {"mediumslateblue", 0x7b68ee},
    {"mediumspringgreen", 0x00fa9a}, {"mediumturquoise", 0x48d1cc}, {"mediumvioletred", 0xc71585},
    {"midnightblue", 0x191970}, {"mintcream", 0xf5fffa}, {"mistyrose", 0xffe4e1},
    {"moccasin", 0xffe4b5}, {"navajowhite", 0xffdead}, {"navy", 0x000080}, {"oldlace", 0xfdf5e6},
    {"olive", 0x808000}, {"olivedrab", 0x6b8e23}, {"orange", 0xffa500}, {"orangered", 0xff4500},
    {"orchid", 0xda70d6}, {"palegoldenrod", 0xeee8aa}, {"palegreen", 0x98fb98},
    {"paleturquoise", 0xafeeee}, {"palevioletred", 0xdb7093}, {"papayawhip", 0xffefd5},
    {"peachpuff", 0xffdab9}, {"peru", 0xcd853f}, {"pink", 0xffc0cb}, {"plum", 0xdda0dd},
    {"powderblue", 0xb0e0e6}, {"purple", 0x800080}, {"rebeccapurple", 0x663399}, {"red", 0xff0000},
    {"rosybrown", 0xbc8f8f}, {"royalblue", 0x4169e1}, {"saddlebrown", 0x8b4513},
    {"salmon", 0xfa8072}, {"sandybrown", 0xf4a460}, {"seagreen", 0x2e8b57}, {"seashell", 0xfff5ee},
    {"sienna", 0xa0522d}, {"silver", 0xc0c0c0}, {"skyblue", 0x87ceeb}, {"slateblue", 0x6a5acd},
    {"slategray", 0x708090}, {"slategrey", 0x708090}, {"snow", 0xfffafa},
    {"springgreen", 0x00ff7f}, {"steelblue", 0x4682b4}, {"tan", 0xd2b48c}, {"teal", 0x008080},
    {"thistle", 0xd8bfd8}, {"tomato", 0xff6347}, {"turquoise", 0x40e0d0}, {"violet", 0xee82ee},
    {"wheat", 0xf5deb3}, {"white", 0xffffff}, {"whitesmoke", 0xf5f5f5}, {"yellow", 0xffff00},
    {"yellowgreen", 0x9acd32},
};
// clang-format on

static_assert(std::is_sorted(std::begin(kNamedColors), std::end(kNamedColors),
                             [](const NamedColor& a, const NamedColor& b) {
                               return a.name < b.name;
                             }));

constexpr int64_t kColorInvalid = -1;
constexpr int64_t kColorTransparent = -2;

// Reads a decimal number as thousandths, saturating; returns the bytes read.
size_t ParseMilli(std::string_view v, uint64_t* milli) {
  size_t i = 0;
  uint64_t whole = 0;
  while (i < v.size() && Is(v[i], kClsDigit)) {
    if (whole < 1000000000) whole = whole * 10 + static_cast<uint64_t>(v[i] - '0');
    ++i;
  }
  uint64_t frac = 0;
  if (i < v.size() && v[i] == '.') {
    ++i;
    uint64_t scale = 100;
    while (i < v.size() && Is(v[i], kClsDigit)) {
      frac += static_cast<uint64_t>(v[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  *milli = whole * 1000 + frac;
  return i;
}

// rgb(r, g, b) / rgba(...) components: numbers or percentages, any separators.
int64_t ParseRgbFunction(std::string_view args) {
  uint32_t rgb = 0;
  int found = 0;
  size_t i = 0;
  while (found < 3 && i < args.size()) {
    if (!Is(args[i], kClsDigit) && args[i] != '.') {
      if (args[i] == ')') break;
      ++i;
      continue;
    }
    uint64_t milli = 0;
    i += ParseMilli(args.substr(i), &milli);
    uint64_t value = milli / 1000;
    if (i < args.size() && args[i] == '%') {
      value = milli * 255 / 100000;
      ++i;
    }
    rgb = (rgb << 8) | static_cast<uint32_t>(std::min<uint64_t>(value, 255));
    ++found;
  }
  return found == 3 ? static_cast<int64_t>(rgb) : kColorInvalid;
}

int64_t ParseHexDigits(std::string_view h) {
  for (char c : h) {
    if (!Is(c, kClsHex)) return kColorInvalid;
  }
  uint32_t r, g, b;
  if (h.size() == 3 || h.size() == 4) {
    r = static_cast<uint32_t>(HexValue(h[0])) * 17;
    g = static_cast<uint32_t>(HexValue(h[1])) * 17;
    b = static_cast<uint32_t>(HexValue(h[2])) * 17;
  } else if (h.size() == 6 || h.size() == 8) {
    r = static_cast<uint32_t>(HexValue(h[0]) * 16 + HexValue(h[1]));
    g = static_cast<uint32_t>(HexValue(h[2]) * 16 + HexValue(h[3]));
    b = static_cast<uint32_t>(HexValue(h[4]) * 16 + HexValue(h[5]));
  } else {
    return kColorInvalid;
  }
  return static_cast<int64_t>((r << 16) | (g << 8) | b);
}

// A colour as 0xRRGGBB. Presentational attributes (bgcolor="ffffff") also accept hex without
// '#', as browsers' legacy colour parsing does; CSS does not.
int64_t ParseColor(std::string_view v, bool legacy_attribute) {
  v = TrimAscii(v);
  if (v.empty()) return kColorInvalid;
  if (v[0] == '#') return ParseHexDigits(v.substr(1));
  char buf[24];
  if (v.size() > sizeof(buf)) return kColorInvalid;
  for (size_t i = 0; i < v.size(); ++i) buf[i] = Lower(v[i]);
  std::string_view lower(buf, v.size());
  if (lower.starts_with("rgb(") || lower.starts_with("rgba(")) {
    return ParseRgbFunction(lower.substr(lower.find('(') + 1));
  }
  if (lower == "transparent") return kColorTransparent;
  const NamedColor* end = std::end(kNamedColors);
  const NamedColor* it =
      std::lower_bound(std::begin(kNamedColors), end, lower,
                       [](const NamedColor& c, std::string_view n) { return c.name < n; });
  if (it != end && it->name == lower) return it->rgb;
  if (legacy_attribute && (lower.size() == 3 || lower.size() == 6)) return ParseHexDigits(lower);
  return kColorInvalid;
}

// The colour of a CSS `background` shorthand: its first token that is a colour.
int64_t ParseBackgroundShorthand(std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && Is(v[i], kClsWs)) ++i;
    size_t start = i;
    int depth = 0;  // rgb(1, 2, 3) and url(a b) are one token each
    while (i < v.size() && (depth > 0 || !Is(v[i], kClsWs))) {
      if (v[i] == '(') ++depth;
      if (v[i] == ')' && depth > 0) --depth;
      ++i;
    }
    if (i == start) break;
    int64_t c = ParseColor(v.substr(start, i - start), false);
    if (c != kColorInvalid) return c;
  }
  return kColorInvalid;
}

// Interprets one CSS font-size value. Returns false when the value leaves the inherited size
// alone (relative units, unknown keywords), else sets *tiny.
bool ParseFontSize(std::string_view v, bool* tiny) {
  v = TrimAscii(v);
  if (v.empty()) return false;
  if (!Is(v[0], kClsDigit) && v[0] != '.') {
    static constexpr std::string_view kAbsolute[] = {
        "xx-small", "x-small", "small", "medium", "large", "x-large", "xx-large", "xxx-large"};
    for (std::string_view k : kAbsolute) {
      if (EqualsIgnoreCase(v, k)) {
        *tiny = false;
        return true;
      }
    }
    return false;
  }
  uint64_t milli = 0;
  size_t n = ParseMilli(v, &milli);
  if (milli == 0) {
    *tiny = true;  // 0 is invisible whatever the unit
    return true;
  }
  std::string_view unit = TrimAscii(v.substr(n));
  uint64_t px_milli;  // size in thousandths of a CSS pixel (pt counts as px: "1pt" is tiny)
  if (unit.empty() || EqualsIgnoreCase(unit, "px") || EqualsIgnoreCase(unit, "pt")) {
    px_milli = milli;  // unitless is px in quirks mode, which most mail is rendered in
  } else if (EqualsIgnoreCase(unit, "pc") || EqualsIgnoreCase(unit, "rem")) {
    px_milli = milli * 16;
  } else if (EqualsIgnoreCase(unit, "in")) {
    px_milli = milli * 96;
  } else if (EqualsIgnoreCase(unit, "cm")) {
    px_milli = milli * 378 / 10;
  } else if (EqualsIgnoreCase(unit, "mm")) {
    px_milli = milli * 378 / 100;
  } else if (EqualsIgnoreCase(unit, "q")) {
    px_milli = milli * 945 / 1000;
  } else {
    return false;  // em, %, ex, vw...: relative to the parent, which we keep
  }
  *tiny = px_milli <= 1000;
  return true;
}

// The size part of a `font` shorthand ("bold 0/0 a", "12px/1.5 Arial"); a bare number
// without unit or '/' is a weight and is skipped.
bool ParseFontShorthand(std::string_view v, bool* tiny) {
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && Is(v[i], kClsWs)) ++i;
    size_t start = i;
    while (i < v.size() && !Is(v[i], kClsWs)) ++i;
    std::string_view tok = v.substr(start, i - start);
    if (tok.empty() || (!Is(tok[0], kClsDigit) && tok[0] != '.')) continue;
    uint64_t milli = 0;
    size_t n = ParseMilli(tok, &milli);
    size_t u = n;
    while (u < tok.size() && (Is(tok[u], kClsAlpha) || tok[u] == '%')) ++u;
    const bool has_unit = u > n;
    const bool slash = u < tok.size() && tok[u] == '/';
    if (has_unit || slash || milli == 0) return ParseFontSize(tok.substr(0, u), tiny);
  }
  return false;
}

// What decides whether rendered text is hidden. Colours are 0xRRGGBB.
struct Style {
  uint32_t fg = 0x000000;
  uint32_t bg = 0xffffff;
  bool display_none = false;  // sticky: no descendant can undo it
  bool vis_hidden = false;    // inherited, but a descendant may set visibility:visible
  bool tiny = false;
};

void ApplyCss(std::string_view css, Style* st) {
  size_t i = 0;
  while (i < css.size()) {
    size_t semi = css.find(';', i);
    if (semi == std::string_view::npos) semi = css.size();
    std::string_view decl = css.substr(i, semi - i);
    i = semi + 1;
    size_t colon = decl.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view prop = TrimAscii(decl.substr(0, colon));
    std::string_view value = TrimAscii(decl.substr(colon + 1));
    if (value.size() >= 10) {
      std::string_view tail = value.substr(value.size() - 9);
      if (EqualsIgnoreCase(tail, "important")) {
        std::string_view rest = TrimAscii(value.substr(0, value.size() - 9));
        if (!rest.empty() && rest.back() == '!') value = TrimAscii(rest.substr(0, rest.size() - 1));
      }
    }
    if (EqualsIgnoreCase(prop, "color")) {
      int64_t c = ParseColor(value, false);
      if (c >= 0) st->fg = static_cast<uint32_t>(c);
    } else if (EqualsIgnoreCase(prop, "background-color")) {
      int64_t c = ParseColor(value, false);
      if (c >= 0) st->bg = static_cast<uint32_t>(c);
    } else if (EqualsIgnoreCase(prop, "background")) {
      int64_t c = ParseBackgroundShorthand(value);
      if (c >= 0) st->bg = static_cast<uint32_t>(c);
    } else if (EqualsIgnoreCase(prop, "display")) {
      if (EqualsIgnoreCase(value, "none")) st->display_none = true;
    } else if (EqualsIgnoreCase(prop, "visibility")) {
      if (EqualsIgnoreCase(value, "hidden") || EqualsIgnoreCase(value, "collapse")) {
        st->vis_hidden = true;
      } else if (EqualsIgnoreCase(value, "visible")) {
        st->vis_hidden = false;
      }
    } else if (EqualsIgnoreCase(prop, "font-size")) {
      ParseFontSize(value, &st->tiny);
    } else if (EqualsIgnoreCase(prop, "font")) {
      ParseFontShorthand(value, &st->tiny);
    }
  }
}

// <font size="N">: 1-7, or relative to the base size 3 when signed.
void ApplyFontSizeAttribute(std::string_view v, bool* tiny) {
  v = TrimAscii(v);
  int sign = 0;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    sign = v[0] == '+' ? 1 : -1;
    v.remove_prefix(1);
  }
  if (v.empty() || !Is(v[0], kClsDigit)) return;
  int n = 0;
  for (size_t i = 0; i < v.size() && Is(v[i], kClsDigit); ++i)
    n = std::min(n * 10 + (v[i] - '0'), 100);
  int size = sign == 0 ? n : 3 + sign * n;
  *tiny = size <= 1;
}

// SA's effective base: http(s)/ftp only, a trailing "name.ext" file name dropped, and a '/'
// appended, so that "http://x/dir" resolves "a.html" to "http://x/dir/a.html" as SA does.
// Returns false for a base SA ignores.
bool EffectiveBase(std::string_view v, std::string* base) {
  const size_t colon = v.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view scheme = v.substr(0, colon);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https") &&
      !EqualsIgnoreCase(scheme, "ftp")) {
    return false;
  }
  // SA: s@^([a-z]+:/{0,2}[^/]+/.*?)[^/\.]+\.[^/\.]{2,4}$@$1@i
  size_t host = colon + 1;
  for (int k = 0; k < 2 && host < v.size() && v[host] == '/'; ++k) ++host;
  size_t keep = v.size();
  if (host < v.size() && v[host] != '/') {
    const size_t first_slash = v.find('/', host);
    const size_t last_slash = v.rfind('/');
    if (first_slash != std::string_view::npos) {
      // The last "name.ext" of the final segment: ext 2-4 bytes, name back to a '.' or '/'.
      const std::string_view file = v.substr(last_slash + 1);
      const size_t dot = file.rfind('.');
      const size_t ext = dot == std::string_view::npos ? 0 : file.size() - dot - 1;
      if (ext >= 2 && ext <= 4 && dot > 0) {
        const size_t prev = file.rfind('.', dot - 1);
        const size_t name = prev == std::string_view::npos ? 0 : prev + 1;
        if (name < dot) keep = last_slash + 1 + name;
      }
    }
  }
  base->assign(v.substr(0, keep));
  if (base->empty() || base->back() != '/') base->push_back('/');
  return true;
}

// ---------------------------------------------------------------------------------------------
// The renderer.

struct AttrSlot {
  std::string value;
  bool present = false;
  bool cut = false;  // non-whitespace was dropped past kMaxAttrValue: keep the value untrimmed
};

struct Element {
  uint32_t hash;
  uint32_t len;
  TagId id;
  Style style;
};

class Renderer {
 public:
  Renderer(std::string_view html, HtmlResult* out, size_t max_links)
      : end_(html.data() + html.size()), out_(out), text_(out->text), max_links_(max_links) {}

  void Run(const char* p);

 private:
  enum class Last : uint8_t { kNone, kBreak, kText, kInvisibleText };

  // Text chunks.
  void OpenChunk();
  void EndChunk();
  void AppendSpace();
  void AppendVisible(const char* data, size_t n);
  void AppendDecoded(const char* data, size_t n);
  void MarkVisible();
  void InsertBreak(Break b);

  // Markup.
  const char* Markup(const char* p);
  const char* Tag(const char* p, bool is_end);
  const char* QuotedValue(const char* p, char quote, int slot);
  const char* SkipQuotedValue(const char* p, char quote) const;
  const char* UnquotedValue(const char* p, int slot);
  const char* SkipTagWs(const char* p) const;
  const char* ScanText(const char* p) const;
  const char* ReadName(const char* p, bool attribute, Name* name) const;
  int TagChar(const char* p, int* n) const;
  const char* BogusComment(const char* p) const;
  const char* Comment(const char* p) const;
  const char* Cdata(const char* p);
  void RawText(const char* p, const char* stop, bool decode_entities);
  const char* SkipRawText(const char* p, std::string_view name) const;
  const char* StartTag(TagId id, const Name& name, const char* p);
  void EndTag(TagId id, const Name& name);

  // Attribute values.
  void Put(int slot, const char* data, size_t n);
  std::string_view Value(int slot) const;
  bool Has(AttrId a) const { return attrs_[a].present; }

  // Links and anchors.
  void EmitLinks(TagId id);
  void AddLink(TagId id, std::string_view attr, UriSource source, std::string_view url);
  void AddUrlAttr(TagId id, AttrId a, std::string_view attr_name, UriSource source);
  void AddMetaRefresh();
  void FinishAnchor();

  // Open elements.
  const Style& TopStyle() const { return count_ ? stack_[top_].style : root_; }
  TagId TopId() const { return count_ ? stack_[top_].id : kTagOther; }
  void Push(TagId id, const Name& name, const Style& style);
  void Pop();
  void PushElement(TagId id, const Name& name);
  template <typename Target, typename Boundary>
  void PopThrough(Target target, Boundary boundary);
  void PopMatching(const Name& name);

  const char* const end_;
  HtmlResult* const out_;
  std::string& text_;
  const size_t max_links_;

  bool chunk_open_ = false;
  bool chunk_after_break_ = false;
  bool chunk_visible_ = false;
  bool chunk_invisible_ = false;
  bool chunk_last_space_ = false;
  size_t chunk_start_ = 0;
  size_t pending_space_ = std::string::npos;  // a leading space kept only if the chunk is hidden
  Last last_ = Last::kNone;
  bool last_ends_space_ = false;

  bool anchor_open_ = false;
  size_t anchor_mark_ = 0;
  size_t anchor_first_link_ = 0;

  Element stack_[kStackSize];
  size_t top_ = 0;
  size_t count_ = 0;
  uint32_t buckets_[kBuckets] = {};
  Style root_;

  AttrSlot attrs_[kNumAttrs];
  uint32_t present_ = 0;  // bit per attrs_ slot in use, so a tag resets only those
};

// --- text ------------------------------------------------------------------------------------

void Renderer::OpenChunk() {
  chunk_open_ = true;
  chunk_after_break_ = last_ == Last::kBreak;
  chunk_visible_ = false;
  chunk_invisible_ = false;
  chunk_last_space_ = false;
  chunk_start_ = text_.size();
  pending_space_ = std::string::npos;
}

void Renderer::EndChunk() {
  if (!chunk_open_) return;
  chunk_open_ = false;
  if (pending_space_ != std::string::npos) {
    // Whitespace-only chunks are never "invisible" in SA, so their leading space goes.
    text_.erase(pending_space_, 1);
    pending_space_ = std::string::npos;
  }
  last_ = chunk_invisible_ ? Last::kInvisibleText : Last::kText;
  last_ends_space_ = chunk_last_space_ && text_.size() > chunk_start_ && text_.back() == ' ';
}

void Renderer::AppendSpace() {
  if (!chunk_open_) OpenChunk();
  if (chunk_last_space_) return;
  if (chunk_after_break_ && text_.size() == chunk_start_) {
    // SA drops this space unless the chunk turns out to be hidden text; that is only known
    // once the first non-space arrives, so write it now and remember where it is.
    pending_space_ = text_.size();
  }
  text_.push_back(' ');
  chunk_last_space_ = true;
}

void Renderer::MarkVisible() {
  chunk_visible_ = true;
  const Style& st = TopStyle();
  const bool hidden = st.display_none || st.vis_hidden;
  const bool same_colour = st.fg == st.bg;
  if (hidden) out_->invisible_text = true;
  if (st.tiny) out_->tiny_font = true;
  if (same_colour) out_->color_match = true;
  chunk_invisible_ = hidden || st.tiny || same_colour;
  if (pending_space_ != std::string::npos) {
    if (!chunk_invisible_) text_.erase(pending_space_, 1);
    pending_space_ = std::string::npos;
  }
}

void Renderer::AppendVisible(const char* data, size_t n) {
  if (!chunk_open_) OpenChunk();
  if (!chunk_visible_) {
    // NBSP alone does not make a chunk "text" for SA's visibility test.
    size_t i = 0;
    for (;;) {
      if (i + 1 < n && data[i] == '\xc2' && data[i + 1] == '\xa0') {
        i += 2;
      } else if (i < n && data[i] == ' ') {
        ++i;
      } else {
        break;
      }
    }
    if (i != n) MarkVisible();
  }
  text_.append(data, n);
  chunk_last_space_ = false;
}

void Renderer::AppendDecoded(const char* data, size_t n) {
  // HTML::Parser decodes entities before SA collapses whitespace, so "&#10;" is whitespace.
  if (n == 1 && Is(data[0], kClsWs)) {
    AppendSpace();
  } else {
    AppendVisible(data, n);
  }
}

void Renderer::InsertBreak(Break b) {
  if (b == kNoBreak) return;
  EndChunk();
  if (last_ == Last::kText && last_ends_space_) text_.pop_back();
  switch (b) {
    case kSoftBreak:
      text_.push_back('\n');
      break;
    case kSpaceBreak:
      text_.push_back(' ');
      break;
    case kParagraphBreak:
      text_.append("\n\n", 2);
      break;
    case kNoBreak:
      return;
  }
  last_ = Last::kBreak;
  last_ends_space_ = false;
}

// --- main loop -------------------------------------------------------------------------------

// The end of the run of text starting at p that can be copied as is: no markup, entity,
// curly quote or whitespace needing collapsing. A lone space between two plain bytes is part
// of the run. Eight bytes are tested at a time while none of them can stop the run.
const char* Renderer::ScanText(const char* p) const {
  const char* q = p;
  for (;;) {
    if constexpr (kLittleEndian) {
      while (end_ - q >= 8) {
        uint64_t v;
        std::memcpy(&v, q, 8);
        const uint64_t sp = ZeroBytes(v ^ (kOnes * ' '));
        uint64_t stop = BytesBelow0x20(v) | ZeroBytes(v ^ (kOnes * '<')) |
                        ZeroBytes(v ^ (kOnes * '&')) | ZeroBytes(v ^ (kOnes * 0xE2)) |
                        (sp & (sp << 8)) | (sp & (kHigh << 56));  // "  ", or a space last
        if (q == p) stop |= sp & 0x80;  // a leading space belongs to the chunk logic
        if (stop != 0) break;
        q += 8;
      }
    }
    while (q < end_ && !Is(*q, kClsText)) ++q;
    if (q != p && end_ - q >= 2 && *q == ' ' && !Is(q[1], kClsText)) {
      q += 2;
      continue;
    }
    return q;
  }
}

void Renderer::Run(const char* p) {
  while (p < end_) {
    const char* q = ScanText(p);
    if (q != p) {
      AppendVisible(p, static_cast<size_t>(q - p));
      p = q;
      if (p == end_) break;
    }
    const char c = *p;
    if (c == '<') {
      p = Markup(p);
    } else if (c == '&') {
      if (IsNbspRef(p, end_)) {
        AppendSpace();
        p += 6;
        continue;
      }
      char buf[8];
      size_t n = 0;
      size_t used = DecodeRef(p, end_, false, buf, &n);
      if (used == 0) {
        AppendVisible(p, 1);
        ++p;
      } else {
        AppendDecoded(buf, n);
        p += used;
      }
    } else if (c == '\xe2') {
      if (IsCurlyDoubleQuote(p, end_)) {
        AppendVisible("\"", 1);
        p += 3;
      } else {
        AppendVisible(p, 1);
        ++p;
      }
    } else {
      AppendSpace();
      ++p;
      while (p < end_ && Is(*p, kClsWs)) ++p;
    }
  }
  EndChunk();
  FinishAnchor();
}

const char* Renderer::Markup(const char* p) {
  const char* s = p + 1;
  if (s >= end_) {
    AppendVisible(p, 1);
    return end_;
  }
  if (Is(*s, kClsAlpha)) {
    EndChunk();
    return Tag(s, false);
  }
  if (*s == '/') {
    const char* t = s + 1;
    if (t >= end_) {
      AppendVisible(p, 2);
      return end_;
    }
    EndChunk();
    if (Is(*t, kClsAlpha)) return Tag(t, true);
    if (*t == '>') return t + 1;  // "</>" is dropped
    return BogusComment(t);
  }
  if (*s == '!') {
    EndChunk();
    const char* d = s + 1;
    if (end_ - d >= 2 && d[0] == '-' && d[1] == '-') return Comment(d + 2);
    if (end_ - d >= 7 && std::memcmp(d, "[CDATA[", 7) == 0) return Cdata(d + 7);
    // DOCTYPE, <![if ...]> and every other declaration end at the first '>'.
    return BogusComment(d);
  }
  if (*s == '?') {
    EndChunk();
    return BogusComment(s);
  }
  AppendVisible(p, 1);  // "<" not starting markup is text
  return s;
}

const char* Renderer::BogusComment(const char* p) const {
  const void* gt = std::memchr(p, '>', static_cast<size_t>(end_ - p));
  return gt ? static_cast<const char*>(gt) + 1 : end_;
}

// p is just past "<!--". Ends at "-->" or "--!>" (any number of extra '-'), or at EOF.
const char* Renderer::Comment(const char* p) const {
  if (p < end_ && *p == '>') return p + 1;                        // "<!-->"
  if (end_ - p >= 2 && p[0] == '-' && p[1] == '>') return p + 2;  // "<!--->"
  const char* s = p;
  while (s < end_) {
    const char* d = static_cast<const char*>(std::memchr(s, '-', static_cast<size_t>(end_ - s)));
    if (d == nullptr) return end_;
    if (d + 1 < end_ && d[1] == '-') {
      const char* k = d + 2;
      while (k < end_ && *k == '-') ++k;
      if (k < end_ && *k == '>') return k + 1;
      if (end_ - k >= 2 && k[0] == '!' && k[1] == '>') return k + 2;
      s = k;
    } else {
      s = d + 1;
    }
  }
  return end_;
}

// HTML::Parser with marked_sections (as SA runs it) renders CDATA content as literal text:
// no entity decoding, but SA's textual pre-pass still applies.
const char* Renderer::Cdata(const char* p) {
  const char* stop = end_;
  const char* after = end_;
  for (const char* s = p; s < end_;) {
    const char* b = static_cast<const char*>(std::memchr(s, ']', static_cast<size_t>(end_ - s)));
    if (b == nullptr) break;
    if (end_ - b >= 3 && b[1] == ']' && b[2] == '>') {
      stop = b;
      after = b + 3;
      break;
    }
    s = b + 1;
  }
  RawText(p, stop, false);
  EndChunk();
  return after;
}

// Text in which markup is not recognised: CDATA and the content of <xmp>, <iframe> and
// <plaintext> (literal), or of <title> and <textarea> (entities decoded). SA's pre-pass still
// applies, since it ran over the whole document.
void Renderer::RawText(const char* p, const char* stop, bool decode_entities) {
  while (p < stop) {
    const char* q = p;
    while (q < stop && !Is(*q, kClsLiteral)) ++q;
    if (q != p) {
      AppendVisible(p, static_cast<size_t>(q - p));
      p = q;
      if (p == stop) break;
    }
    if (*p == '&') {
      char buf[8];
      size_t n = 0;
      size_t used = 0;
      if (IsNbspRef(p, stop)) {
        AppendSpace();
        p += 6;
      } else if (decode_entities && (used = DecodeRef(p, stop, false, buf, &n)) != 0) {
        AppendDecoded(buf, n);
        p += used;
      } else {
        AppendVisible(p, 1);
        ++p;
      }
    } else if (*p == '\xe2') {
      if (IsCurlyDoubleQuote(p, stop)) {
        AppendVisible("\"", 1);
        p += 3;
      } else {
        AppendVisible(p, 1);
        ++p;
      }
    } else {
      AppendSpace();
      ++p;
      while (p < stop && Is(*p, kClsWs)) ++p;
    }
  }
}

// The end of raw text: the next "</name" followed by whitespace, '/' or '>' (any case).
// Returns the '<' of that end tag, or EOF.
const char* Renderer::SkipRawText(const char* p, std::string_view name) const {
  const size_t need = 2 + name.size();
  while (p < end_) {
    const char* lt = static_cast<const char*>(std::memchr(p, '<', static_cast<size_t>(end_ - p)));
    if (lt == nullptr) return end_;
    if (static_cast<size_t>(end_ - lt) >= need && lt[1] == '/' &&
        EqualsIgnoreCase(std::string_view(lt + 2, name.size()), name)) {
      const char* after = lt + need;
      if (after == end_ || Is(*after, kClsTagWs) || *after == '/' || *after == '>' ||
          IsNbspRef(after, end_)) {
        return lt;
      }
    }
    p = lt + 1;
  }
  return end_;
}

// A tag-state character after SA's pre-pass: "&nbsp;" reads as a space and a curly double
// quote as '"'. *n is the number of input bytes it stands for.
int Renderer::TagChar(const char* p, int* n) const {
  const char c = *p;
  if (c == '&' && IsNbspRef(p, end_)) {
    *n = 6;
    return ' ';
  }
  if (c == '\xe2' && IsCurlyDoubleQuote(p, end_)) {
    *n = 3;
    return '"';
  }
  *n = 1;
  return static_cast<uint8_t>(c);
}

const char* Renderer::SkipTagWs(const char* p) const {
  while (p < end_) {
    if (Is(*p, kClsTagWs)) {
      ++p;
    } else if (*p == '&' && IsNbspRef(p, end_)) {
      p += 6;
    } else {
      break;
    }
  }
  return p;
}

inline bool EndsName(int c) {
  return c == '/' || c == '>' || (c < 256 && Is(static_cast<char>(c), kClsTagWs));
}

// Tag and attribute names: up to tag whitespace, '/' or '>' (and '=' for attribute names),
// lower-cased.
const char* Renderer::ReadName(const char* p, bool attribute, Name* name) const {
  while (p < end_) {
    const char* q = p;
    while (q < end_ && !Is(*q, kClsNameStop)) ++q;
    name->AddRun(p, static_cast<size_t>(q - p), end_);
    p = q;
    if (p >= end_) break;
    int n = 0;
    const int t = TagChar(p, &n);
    if (EndsName(t) || (attribute && t == '=')) break;
    name->Add(static_cast<char>(t));
    p += n;
  }
  return p;
}

// p is at the first letter of the tag name. Follows the HTML5 tag-name, attribute-name and
// attribute-value states; a tag cut off by EOF is dropped, as HTML5 does.
const char* Renderer::Tag(const char* p, bool is_end) {
  Name name;
  p = ReadName(p, false, &name);
  const TagId id = LookupTag(name);
  const uint32_t wanted = is_end ? 0 : kWanted[id];
  for (uint32_t m = present_; m != 0; m &= m - 1) {
    AttrSlot& a = attrs_[__builtin_ctz(m)];
    a.present = false;
    a.cut = false;
    a.value.clear();
  }
  present_ = 0;
  int n = 0;
  for (;;) {
    // Before attribute name.
    p = SkipTagWs(p);
    if (p >= end_) return end_;
    int c = TagChar(p, &n);
    if (c == '>') {
      ++p;
      break;
    }
    if (c == '/') {  // self-closing flag: ignored, as SA turns "<br/>" into "<br>"
      p += n;
      if (p < end_ && *p == '>') {
        ++p;
        break;
      }
      continue;
    }
    Name attr;
    if (n != 1 || c == '=') {  // even '=' starts a name here
      attr.Add(static_cast<char>(c));
      p += n;
    }
    p = ReadName(p, true, &attr);
    int slot = -1;
    if (wanted != 0) {
      int a = LookupAttr(attr);
      // HTML5 keeps the first of duplicated attributes.
      if (a >= 0 && (wanted & (1u << a)) != 0 && !attrs_[a].present) slot = a;
    }
    if (slot >= 0) {
      attrs_[slot].present = true;
      present_ |= 1u << slot;
    }
    // After attribute name.
    p = SkipTagWs(p);
    if (p >= end_) return end_;
    c = TagChar(p, &n);
    if (c != '=') continue;
    p += n;
    // Before attribute value.
    p = SkipTagWs(p);
    if (p >= end_) return end_;
    c = TagChar(p, &n);
    if (c == '>') {
      ++p;
      break;
    }
    if (c == '"' || c == '\'') {
      p = QuotedValue(p + n, static_cast<char>(c), slot);
      if (p == nullptr) return end_;
    } else {
      p = UnquotedValue(p, slot);
    }
  }
  if (is_end) {
    EndTag(id, name);
    return p;
  }
  return StartTag(id, name, p);
}

// Returns the position after the closing quote, or nullptr if EOF came first.
const char* Renderer::QuotedValue(const char* p, char quote, int slot) {
  if (slot < 0) return SkipQuotedValue(p, quote);
  const uint16_t stop = quote == '"' ? kClsDqStop : kClsSqStop;
  while (p < end_) {
    const char* q = p;
    if constexpr (kLittleEndian) {
      while (end_ - q >= 8) {
        uint64_t v;
        std::memcpy(&v, q, 8);
        if ((ZeroBytes(v ^ (kOnes * static_cast<uint8_t>(quote))) | ZeroBytes(v ^ (kOnes * '&')) |
             ZeroBytes(v ^ (kOnes * 0xE2)) | ZeroBytes(v)) != 0) {
          break;
        }
        q += 8;
      }
    }
    while (q < end_ && !Is(*q, stop)) ++q;
    if (q != p) Put(slot, p, static_cast<size_t>(q - p));
    p = q;
    if (p >= end_) break;
    const char c = *p;
    if (c == quote) return p + 1;
    if (c == '\xe2') {
      if (IsCurlyDoubleQuote(p, end_)) {
        if (quote == '"') return p + 3;
        if (slot >= 0) Put(slot, "\"", 1);
        p += 3;
      } else {
        if (slot >= 0) Put(slot, p, 1);
        ++p;
      }
    } else if (c == '&') {
      if (slot < 0) {
        ++p;
      } else if (IsNbspRef(p, end_)) {
        Put(slot, " ", 1);
        p += 6;
      } else {
        char buf[8];
        size_t len = 0;
        size_t used = DecodeRef(p, end_, true, buf, &len);
        if (used == 0) {
          Put(slot, p, 1);
          ++p;
        } else {
          Put(slot, buf, len);
          p += used;
        }
      }
    } else {  // NUL
      if (slot >= 0) Put(slot, "\xef\xbf\xbd", 3);
      ++p;
    }
  }
  return nullptr;
}

// The same for a value nobody reads: memchr to the quote, which is most of the bytes of a
// typical tag (class names, widths, tracking parameters).
const char* Renderer::SkipQuotedValue(const char* p, char quote) const {
  const char* q = static_cast<const char*>(std::memchr(p, quote, static_cast<size_t>(end_ - p)));
  if (quote == '"') {
    // A curly double quote before the '"' closes the value first (SA's pre-pass).
    const char* limit = q != nullptr ? q : end_;
    for (const char* e = p; e < limit; ++e) {
      e = static_cast<const char*>(std::memchr(e, '\xe2', static_cast<size_t>(limit - e)));
      if (e == nullptr) break;
      if (IsCurlyDoubleQuote(e, end_)) return e + 3;
    }
  }
  return q != nullptr ? q + 1 : nullptr;
}

// Stops at tag whitespace (including "&nbsp;"), '>' or EOF; the caller handles what follows.
const char* Renderer::UnquotedValue(const char* p, int slot) {
  while (p < end_) {
    const char* q = p;
    while (q < end_ && !Is(*q, kClsUnqStop)) ++q;
    if (slot >= 0 && q != p) Put(slot, p, static_cast<size_t>(q - p));
    p = q;
    if (p >= end_) break;
    const char c = *p;
    if (c == '>' || Is(c, kClsTagWs)) return p;
    if (c == '&') {
      if (IsNbspRef(p, end_)) return p;
      if (slot < 0) {
        ++p;
        continue;
      }
      char buf[8];
      size_t len = 0;
      size_t used = DecodeRef(p, end_, true, buf, &len);
      if (used == 0) {
        Put(slot, p, 1);
        ++p;
      } else {
        Put(slot, buf, len);
        p += used;
      }
    } else if (c == '\xe2') {
      if (IsCurlyDoubleQuote(p, end_)) {
        if (slot >= 0) Put(slot, "\"", 1);
        p += 3;
      } else {
        if (slot >= 0) Put(slot, p, 1);
        ++p;
      }
    } else {  // NUL
      if (slot >= 0) Put(slot, "\xef\xbf\xbd", 3);
      ++p;
    }
  }
  return p;
}

// Appends to an attribute value, dropping leading whitespace/NBSP and keeping at most
// kMaxAttrValue bytes (SA trims first, then truncates, so leading padding cannot push the URL
// out of the kept part).
void Renderer::Put(int slot, const char* data, size_t n) {
  AttrSlot& a = attrs_[slot];
  if (a.value.empty()) {
    for (;;) {
      if (n > 0 && Is(*data, kClsWs)) {
        ++data;
        --n;
      } else if (n >= 2 && data[0] == '\xc2' && data[1] == '\xa0') {
        data += 2;
        n -= 2;
      } else {
        break;
      }
    }
    if (n == 0) return;
  }
  const size_t room = kMaxAttrValue - a.value.size();
  if (n <= room) {
    a.value.append(data, n);
    return;
  }
  a.value.append(data, room);
  if (!a.cut) {
    for (size_t i = room; i < n; ++i) {
      if (!Is(data[i], kClsWs)) {
        a.cut = true;
        break;
      }
    }
  }
}

std::string_view Renderer::Value(int slot) const {
  const AttrSlot& a = attrs_[slot];
  std::string_view v = a.value;
  return a.cut ? v : TrimWsNbsp(v);
}

// --- tags ------------------------------------------------------------------------------------

const char* Renderer::StartTag(TagId id, const Name& name, const char* p) {
  ++out_->tag_count;
  if (id == kTagA) FinishAnchor();
  InsertBreak(BreakFor(id));
  const size_t first_link = out_->links.size();
  EmitLinks(id);
  if (id == kTagA && out_->links.size() > first_link) {
    anchor_open_ = true;
    anchor_mark_ = text_.size();
    anchor_first_link_ = first_link;
  }
  if (!IsVoid(id)) PushElement(id, name);
  // Elements whose content HTML::Parser (so SA) does not parse as markup. Script and style
  // text is dropped; the others' is rendered as text, tags and all.
  const char* stop;
  switch (id) {
    case kTagScript:
      return SkipRawText(p, "script");
    case kTagStyle:
      return SkipRawText(p, "style");
    case kTagXmp:
      stop = SkipRawText(p, "xmp");
      RawText(p, stop, false);
      return stop;
    case kTagIframe:
      stop = SkipRawText(p, "iframe");
      RawText(p, stop, false);
      return stop;
    case kTagPlaintext:
      RawText(p, end_, false);
      return end_;
    case kTagTitle:
      stop = SkipRawText(p, "title");
      RawText(p, stop, true);
      return stop;
    case kTagTextarea:
      stop = SkipRawText(p, "textarea");
      RawText(p, stop, true);
      return stop;
    default:
      return p;
  }
}

void Renderer::EndTag(TagId id, const Name& name) {
  InsertBreak(BreakFor(id));
  if (id == kTagA) FinishAnchor();
  // Browsers keep rendering text after </body> and </html> in the body, with its colours.
  if (IsVoid(id) || id == kTagBody || id == kTagHtml) return;
  PopMatching(name);
}

void Renderer::Push(TagId id, const Name& name, const Style& style) {
  const uint32_t hash = name.Hash();
  top_ = (top_ + 1) & (kStackSize - 1);
  if (count_ == kStackSize) {
    // Full: forget the outermost element. Its style lives on in everything above it.
    --buckets_[stack_[top_].hash & (kBuckets - 1)];
  } else {
    ++count_;
  }
  stack_[top_] =
      Element{hash, static_cast<uint32_t>(std::min<size_t>(name.len, UINT32_MAX)), id, style};
  ++buckets_[hash & (kBuckets - 1)];
}

void Renderer::Pop() {
  --buckets_[stack_[top_].hash & (kBuckets - 1)];
  top_ = (top_ - 1) & (kStackSize - 1);
  --count_;
}

// Pops through the nearest open element accepted by `target`, unless an element accepted by
// `boundary` comes first (a nested table or list keeps its own cells and items).
template <typename Target, typename Boundary>
void Renderer::PopThrough(Target target, Boundary boundary) {
  for (size_t i = 0; i < count_; ++i) {
    const TagId open = stack_[(top_ - i) & (kStackSize - 1)].id;
    if (target(open)) {
      for (size_t k = 0; k <= i; ++k) Pop();
      return;
    }
    if (boundary(open)) return;
  }
}

void Renderer::PushElement(TagId id, const Name& name) {
  // End tags that HTML lets authors omit: a new cell, row or item closes the open one with
  // everything inside it (as browsers, and SA's close_table_tag, do), so the style of an
  // unclosed <font> in one cell does not leak into the next.
  auto is_cell = [](TagId t) { return t == kTagTd || t == kTagTh; };
  auto is_table = [](TagId t) { return t == kTagTable; };
  switch (id) {
    case kTagTd:
    case kTagTh:
      PopThrough(is_cell, [](TagId t) { return t == kTagTable || t == kTagTr; });
      break;
    case kTagTr:
      PopThrough([](TagId t) { return t == kTagTr; }, is_table);
      PopThrough(is_cell, is_table);
      break;
    case kTagLi:
      PopThrough([](TagId t) { return t == kTagLi; },
                 [](TagId t) { return t == kTagUl || t == kTagOl || t == kTagTable; });
      break;
    case kTagDt:
    case kTagDd:
      PopThrough([](TagId t) { return t == kTagDt || t == kTagDd; },
                 [](TagId t) { return t == kTagDl || t == kTagTable; });
      break;
    case kTagOption:
      if (TopId() == kTagOption) Pop();
      break;
    default:
      break;
  }
  if (TopId() == kTagP && ClosesP(id)) Pop();

  Style st = TopStyle();
  if (Has(kAttrBgcolor)) {
    int64_t c = ParseColor(Value(kAttrBgcolor), true);
    if (c >= 0) st.bg = static_cast<uint32_t>(c);
  }
  if (Has(kAttrText)) {
    int64_t c = ParseColor(Value(kAttrText), true);
    if (c >= 0) st.fg = static_cast<uint32_t>(c);
  }
  if (Has(kAttrColor)) {
    int64_t c = ParseColor(Value(kAttrColor), true);
    if (c >= 0) st.fg = static_cast<uint32_t>(c);
  }
  if (Has(kAttrSize)) ApplyFontSizeAttribute(Value(kAttrSize), &st.tiny);
  if (Has(kAttrStyle)) ApplyCss(Value(kAttrStyle), &st);  // CSS wins over presentational hints
  Push(id, name, st);
}

void Renderer::PopMatching(const Name& name) {
  const uint32_t hash = name.Hash();
  if (buckets_[hash & (kBuckets - 1)] == 0) return;
  for (size_t i = 0; i < count_; ++i) {
    const Element& e = stack_[(top_ - i) & (kStackSize - 1)];
    if (e.hash == hash && e.len == std::min<size_t>(name.len, UINT32_MAX)) {
      for (size_t k = 0; k <= i; ++k) Pop();
      return;
    }
  }
}

// --- links -----------------------------------------------------------------------------------

void Renderer::AddLink(TagId id, std::string_view attr, UriSource source, std::string_view url) {
  if (url.empty() || out_->links.size() >= max_links_) return;
  HtmlLink& link = out_->links.emplace_back();
  link.url.assign(url);
  link.tag = LinkTagName(id);
  link.attr = attr;
  link.source = source;
}

void Renderer::AddUrlAttr(TagId id, AttrId a, std::string_view attr_name, UriSource source) {
  if (!Has(a)) return;
  std::string_view v = Value(a);
  if (a == kAttrHref && v.find("\xef\xbb\xbf") != std::string_view::npos) {
    // SA strips U+FEFF from link targets, which spammers insert to break URL matching.
    std::string clean;
    clean.reserve(v.size());
    for (size_t i = 0; i < v.size();) {
      if (v.compare(i, 3, "\xef\xbb\xbf") == 0) {
        i += 3;
      } else {
        clean.push_back(v[i++]);
      }
    }
    AddLink(id, attr_name, source, TrimWsNbsp(clean));
    return;
  }
  AddLink(id, attr_name, source, v);
}

void Renderer::AddMetaRefresh() {
  if (!Has(kAttrHttpEquiv) || !Has(kAttrContent)) return;
  if (!ContainsIgnoreCase(Value(kAttrHttpEquiv), "refresh")) return;
  std::string_view c = Value(kAttrContent);
  // "5; url=http://x/". Like SA, the last "url" word followed by optional spaces and '=' is
  // used, and an unquoted URL ends at ';'. A quoted one ends at its quote, as in browsers.
  for (size_t i = c.size() >= 3 ? c.size() - 3 + 1 : 0; i-- > 0;) {
    if (!EqualsIgnoreCase(c.substr(i, 3), "url")) continue;
    if (i > 0 && (Is(c[i - 1], kClsAlnum) || c[i - 1] == '_')) continue;
    size_t j = i + 3;
    while (j < c.size() && Is(c[j], kClsWs)) ++j;
    if (j >= c.size() || c[j] != '=') continue;
    ++j;
    while (j < c.size() && Is(c[j], kClsWs)) ++j;
    std::string_view url = c.substr(j);
    if (!url.empty() && (url[0] == '"' || url[0] == '\'')) {
      const size_t close = url.find(url[0], 1);
      url = url.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    } else {
      url = url.substr(0, url.find(';'));
    }
    AddLink(kTagMeta, "content", UriSource::kHtmlOther, TrimWsNbsp(url));
    return;
  }
}

void Renderer::EmitLinks(TagId id) {
  switch (id) {
    case kTagA:
    case kTagArea:
    case kTagLink:
      AddUrlAttr(id, kAttrHref, "href", UriSource::kHtmlLink);
      AddUrlAttr(id, kAttrSafeRedirect, "data-saferedirecturl", UriSource::kHtmlLink);
      break;
    case kTagImg:
    case kTagFrame:
    case kTagIframe:
    case kTagEmbed:
    case kTagScript:
    case kTagBgsound:
      AddUrlAttr(id, kAttrSrc, "src", UriSource::kHtmlResource);
      break;
    case kTagForm:
      AddUrlAttr(id, kAttrAction, "action", UriSource::kHtmlForm);
      break;
    case kTagBody:
    case kTagTable:
    case kTagTr:
    case kTagTd:
      AddUrlAttr(id, kAttrBackground, "background", UriSource::kHtmlResource);
      break;
    case kTagBase:
      if (Has(kAttrHref)) {
        std::string_view v = Value(kAttrHref);
        AddLink(id, "href", UriSource::kHtmlOther, v);
        std::string base;
        if (EffectiveBase(v, &base)) out_->base = std::move(base);  // as in SA, the last wins
      }
      break;
    case kTagMeta:
      AddMetaRefresh();
      break;
    default:
      break;
  }
}

void Renderer::FinishAnchor() {
  if (!anchor_open_) return;
  anchor_open_ = false;
  std::string anchor;
  bool space = false;
  for (size_t i = std::min(anchor_mark_, text_.size());
       i < text_.size() && anchor.size() <= kMaxAnchorText; ++i) {
    const char c = text_[i];
    if (Is(c, kClsWs)) {
      space = !anchor.empty();
      continue;
    }
    if (space) anchor.push_back(' ');
    space = false;
    anchor.push_back(c);
  }
  if (anchor.size() > kMaxAnchorText) {
    size_t n = kMaxAnchorText;
    while (n > 0 && (static_cast<uint8_t>(anchor[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
    anchor.resize(n);
    while (!anchor.empty() && anchor.back() == ' ') anchor.pop_back();
  }
  for (size_t i = anchor_first_link_; i < out_->links.size(); ++i) {
    out_->links[i].anchor_text = anchor;
  }
}

}  // namespace

void RenderHtml(std::string_view html, HtmlResult* out, size_t max_links) {
  out->text.clear();
  out->links.clear();
  out->base.clear();
  out->invisible_text = false;
  out->tiny_font = false;
  out->color_match = false;
  out->tag_count = 0;
  // Rendered text is nearly always shorter than the markup; one allocation covers it.
  out->text.reserve(html.size());
  Renderer renderer(html, out, max_links);
  renderer.Run(html.data());
}

size_t DecodeHtmlEntity(std::string_view s, std::string* out) {
  if (s.empty() || s[0] != '&') return 0;
  char buf[8];
  size_t len = 0;
  const size_t used = DecodeRef(s.data(), s.data() + s.size(), false, buf, &len);
  if (used != 0) out->append(buf, len);
  return used;
}

}  // namespace veto::email
