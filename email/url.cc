// veto/email/url.cc — URL extraction and canonicalisation (see url.h).
//
// ExtractUris is on the per-message hot path, so it is built as a scan for a handful of trigger
// bytes ('.', ':', '@', '[', '(', '{', 'd'/'D'), 16 bytes at a time, that also drops triggers
// whose neighbours rule them out (see WakeMask); everything else is skipped without branching.
// Only at a trigger is the neighbourhood inspected, and libpsl/libidn2 are consulted once per
// candidate host, never per byte. Every backward look is bounded (by a constant or by the end
// of the last region already examined) and every forward parse moves the scan position past
// what it read, so the whole scan is linear in the input.
//
// Candidates go through two steps: the scanner finds the raw span and builds a de-obfuscated
// absolute URL from it ("hxxp://a[.]b" -> "http://a.b"), then CanonicalizeAbsolute() produces
// the canonical form. CanonicalizeUri() shares the second step, so a URL found in text and the
// same URL found in an HTML attribute canonicalise identically and de-duplicate.
#include "email/url.h"

#include <idn2.h>
#include <libpsl.h>

#include <algorithm>
#include <cstddef>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace veto::email {
namespace {

// SpamAssassin reads up to 2048 characters after a scheme; HTML attributes are capped at 8192.
// One cap for both keeps text and HTML URLs comparable.
constexpr size_t kMaxUrl = 8192;
constexpr size_t kMaxSchemeLen = 32;
constexpr size_t kMaxLocalPart = 64;  // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxHostBytes = 1024;

enum : uint8_t {
  kAlnum = 1 << 0,
  kLabel = 1 << 1,    // may appear in a host label (bytes >= 0x80 too: IDN)
  kDelim = 1 << 2,    // ends a URL in text (ASCII only; multi-byte ones in DelimAt)
  kTrigger = 1 << 3,  // wakes the scanner up
  kScheme = 1 << 4,   // [A-Za-z0-9+.-] plus '*' and '_' for "h**p" / "h__p"
  kLocal = 1 << 5,    // e-mail local part
  kStrip = 1 << 6,    // trailing punctuation removed from a candidate
};

constexpr std::array<uint8_t, 256> MakeTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    uint8_t v = 0;
    if (alnum) v |= kAlnum | kLabel | kScheme | kLocal;
    if (c >= 0x80) v |= kLabel;
    if (c < 0x20 || c == 0x7F || c == ' ') v |= kDelim;
    t[c] = v;
  }
  for (unsigned char c : std::string_view("<>\"`{}[]|")) t[c] |= kDelim;
  for (unsigned char c : std::string_view("-_")) t[c] |= kLabel;
  for (unsigned char c : std::string_view(".:@[({dD")) t[c] |= kTrigger;
  for (unsigned char c : std::string_view("+.-*_")) t[c] |= kScheme;
  for (unsigned char c : std::string_view("._%+-=")) t[c] |= kLocal;
  for (unsigned char c : std::string_view("-~!@#^&*()_+=:;'?,.")) t[c] |= kStrip;
  return t;
}
constexpr std::array<uint8_t, 256> kTab = MakeTable();

inline bool Is(unsigned char c, uint8_t cls) { return (kTab[c] & cls) != 0; }
inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline unsigned char Lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
inline int HexVal(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string ToLower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(Lower(static_cast<unsigned char>(c)));
  return r;
}

bool IEquals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(lower_b[i])) {
      return false;
    }
  }
  return true;
}

bool IStartsWith(std::string_view a, std::string_view lower_b) {
  return a.size() >= lower_b.size() && IEquals(a.substr(0, lower_b.size()), lower_b);
}

bool AllAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// A set of bytes as a lookup table. string_view::find_first_of calls memchr on the set for
// every byte, and even a loop over the set per byte shows in profiles: URL components are
// split for every candidate.
struct ByteSet {
  std::array<bool, 256> in{};
  constexpr explicit ByteSet(std::string_view set) {
    for (unsigned char c : set) in[c] = true;
  }
  bool operator[](unsigned char c) const { return in[c]; }
};

constexpr ByteSet kAuthorityEndSpecial("/\\?#");
constexpr ByteSet kAuthorityEnd("/?#");
constexpr ByteSet kQueryOrFragment("?#");

size_t FindAny(std::string_view s, const ByteSet& set) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (set[static_cast<unsigned char>(s[i])]) return i;
  }
  return std::string_view::npos;
}

// Length of the delimiter starting at s[i] (0 if none). Besides the ASCII set, Unicode spaces
// and the quotes, dashes and CJK punctuation that wrap URLs in prose end a URL; SpamAssassin
// cuts at any 0xA0 byte, which also breaks UTF-8 characters, so only U+00A0 itself and a stray
// Latin-1 0xA0 are taken here.
size_t DelimAt(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return Is(c, kDelim) ? 1 : 0;
  if (c == 0xA0) return (i == 0 || s[i - 1] < 0x80) ? 1 : 0;
  if (c == 0xC2) {
    if (i + 1 < n && (s[i + 1] == 0xA0 || s[i + 1] == 0xAB || s[i + 1] == 0xBB)) return 2;
    return 0;
  }
  if (i + 2 >= n) return 0;
  unsigned char c1 = s[i + 1], c2 = s[i + 2];
  if (c == 0xE2 && c1 == 0x80) {
    if (c2 <= 0x8B || (c2 >= 0x90 && c2 <= 0x9F) || c2 == 0xA6 || c2 == 0xA8 || c2 == 0xA9 ||
        c2 == 0xAF || c2 == 0xB9 || c2 == 0xBA) {
      return 3;
    }
    return 0;
  }
  if (c == 0xE2 && c1 == 0x81 && c2 == 0x9F) return 3;
  if (c == 0xE3 && c1 == 0x80 && (c2 <= 0x82 || (c2 >= 0x8C && c2 <= 0x8F))) return 3;
  if (c == 0xEF && c1 == 0xBB && c2 == 0xBF) return 3;
  if (c == 0xEF && c1 == 0xBC && (c2 == 0x88 || c2 == 0x89 || c2 == 0x8C)) return 3;
  return 0;
}

// Whether a delimiter sequence ends at s[j] (for scanning backwards through UTF-8).
bool DelimEndsAt(const unsigned char* s, size_t n, size_t lo, size_t j) {
  for (size_t k = 1; k <= 3; ++k) {
    if (j + 1 < k || j + 1 - k < lo) break;
    if (DelimAt(s, n, j + 1 - k) == k) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// libpsl / libidn2 wrappers.

const psl_ctx_t* Psl() {
  static const psl_ctx_t* psl = psl_builtin();
  return psl;
}

// Hash for the per-thread caches below (names and whole URLs), eight bytes a step.
uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 32);
}

// psl_is_public_suffix() alone is true for every single label (the implicit "*" rule), so the
// explicit list is asked with PSL_TYPE_NO_STAR_RULE: "com" and "uk" yes, "txt" and "then" no.
bool IsRealTld(std::string_view lower_label) {
  char buf[72];
  if (lower_label.empty() || lower_label.size() >= sizeof(buf) || Psl() == nullptr) return false;
  // Each schemeless candidate asks this (~0.15 us in libpsl), and prose repeats the same few
  // "TLDs" ("com", "txt", "net", ...): short labels are remembered in a small per-thread
  // direct-mapped table of plain bytes.
  struct Entry {
    char label[14];
    uint8_t len = 0;  // 0: empty slot (labels are never empty)
    bool real = false;
  };
  thread_local std::array<Entry, 256> cache;
  Entry* e = nullptr;
  if (lower_label.size() <= sizeof(Entry::label)) {
    e = &cache[HashBytes(lower_label) & 255];
    if (e->len == lower_label.size() &&
        std::memcmp(e->label, lower_label.data(), lower_label.size()) == 0) {
      return e->real;
    }
  }
  std::memcpy(buf, lower_label.data(), lower_label.size());
  buf[lower_label.size()] = '\0';
  bool real = psl_is_public_suffix2(Psl(), buf, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
  if (e != nullptr) {
    std::memcpy(e->label, lower_label.data(), lower_label.size());
    e->len = static_cast<uint8_t>(lower_label.size());
    e->real = real;
  }
  return real;
}

// Registrable domains, cached per thread (pure and lock-free).
//
// psl_registrable_domain(host) asks the list whether the host is a public suffix, then its
// parent, and so on, and answers the last name before the first public suffix: about 0.7 us
// a host. Mail names the same hosts and domains again and again, so answers are kept in a
// table of 1024 entries (2-way sets of one cache line each; lookups come between other
// parsing work, with the table out of cache). An answer is a suffix of the host, so an entry
// is the host and the offset of its registrable domain. Parents go into the table too, and
// the walk stops at the first one already there: for a new host under a known domain that is
// one list lookup instead of one per label.
//
// Why that gives libpsl's answer: if the host is a public suffix there is none; otherwise,
// if its parent has none the host itself is the answer, and if the parent has one, that is the
// answer (the walk from the host goes on exactly as the walk from the parent). Over the
// SpamAssassin corpus this makes 5,300 list lookups a pass, against 12,200 with a 256-entry
// direct-mapped cache of whole psl_registrable_domain answers. The table is deliberately
// not big enough to hold a whole benchmark corpus: a repeated pass costs as many lookups as
// the first, as a stream of new mail would.
constexpr uint8_t kNoRegisteredDomain = 0xFF;

bool IsPublicSuffix(std::string_view domain) {
  char buf[64];
  std::memcpy(buf, domain.data(), domain.size());
  buf[domain.size()] = '\0';
  return psl_is_public_suffix(Psl(), buf) != 0;
}

// `host`: 1-62 bytes of ASCII, no NUL, no leading, trailing or doubled dot, so that every
// parent is such a name too. Returns an offset or kNoRegisteredDomain.
uint8_t RegisteredDomainOffsetCached(std::string_view host) {
  struct alignas(64) Entry {
    uint8_t len = 0;  // 0: empty (hosts are never empty)
    uint8_t offset = 0;
    char host[62];
  };
  struct Set {
    Entry way[2];  // way[0] most recently used
  };
  // On the heap, made on a thread's first call: a thread_local array would sit in every
  // thread's static TLS block, which is zeroed at each thread start — threads that never
  // parse mail included (vetod's libmilter starts a thread about once per message).
  thread_local std::unique_ptr<std::array<Set, 512>> cache;
  if (cache == nullptr) cache = std::make_unique<std::array<Set, 512>>();
  auto set_of = [host]() -> Set& { return (*cache)[HashBytes(host) & 511]; };
  auto matches = [host](const Entry& e) {
    return e.len == host.size() && std::memcmp(e.host, host.data(), host.size()) == 0;
  };
  Set& set = set_of();
  if (matches(set.way[0])) return set.way[0].offset;
  if (matches(set.way[1])) {
    std::swap(set.way[0], set.way[1]);
    return set.way[0].offset;
  }
  uint8_t offset = kNoRegisteredDomain;
  size_t dot = host.find('.');
  if (dot != std::string_view::npos && !IsPublicSuffix(host)) {
    uint8_t parent = RegisteredDomainOffsetCached(host.substr(dot + 1));
    offset = parent == kNoRegisteredDomain ? 0 : static_cast<uint8_t>(dot + 1 + parent);
  }
  // (A single label is always a public suffix to libpsl, by the implicit "*" rule.)
  Set& again = set_of();  // the parent may have been stored in the same set meanwhile
  again.way[1] = again.way[0];
  again.way[0].len = static_cast<uint8_t>(host.size());
  again.way[0].offset = offset;
  std::memcpy(again.way[0].host, host.data(), host.size());
  return offset;
}

// Offset of the registrable domain in `host` (lower-case ASCII, no NUL), 0 if there is none.
size_t RegisteredDomainOffset(std::string_view host) {
  if (host.empty() || host.size() > 62 || host.front() == '.' || host.back() == '.' ||
      host.find("..") != std::string_view::npos || !AllAscii(host)) {
    std::string z(host);  // libpsl wants a C string
    const char* r = psl_registrable_domain(Psl(), z.c_str());
    return r != nullptr ? static_cast<size_t>(r - z.c_str()) : 0;
  }
  uint8_t offset = RegisteredDomainOffsetCached(host);
  return offset == kNoRegisteredDomain ? 0 : offset;
}

bool IdnToAscii(const std::string& in, std::string* out) {
  if (in.find('\0') != std::string::npos) return false;
  for (int flags : {IDN2_NONTRANSITIONAL, IDN2_TRANSITIONAL}) {
    char* res = nullptr;
    if (idn2_to_ascii_8z(in.c_str(), &res, flags) == IDN2_OK && res != nullptr) {
      out->assign(res);
      idn2_free(res);
      return true;
    }
    idn2_free(res);
  }
  return false;
}

bool IdnToUnicode(const std::string& in, std::string* out) {
  if (in.find('\0') != std::string::npos) return false;
  char* res = nullptr;
  if (idn2_to_unicode_8z8z(in.c_str(), &res, 0) == IDN2_OK && res != nullptr) {
    out->assign(res);
    idn2_free(res);
    return true;
  }
  idn2_free(res);
  return false;
}

bool HasXnLabel(std::string_view host) {
  // One pass over the bytes (every host canonicalised goes through here).
  for (size_t p = 0; p + 4 <= host.size(); ++p) {
    if ((host[p] | 0x20) == 'x' && (p == 0 || host[p - 1] == '.') &&
        IStartsWith(host.substr(p), "xn--")) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation.

bool IsDottedQuad(std::string_view h) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    unsigned v = 0;
    while (i < h.size() && IsDigit(h[i]) && i - start < 3) v = v * 10 + (h[i++] - '0');
    if (i == start || v > 255) return false;
    ++parts;
    if (i == h.size()) return parts == 4;
    if (h[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// Browser (WHATWG) IPv4 parsing: 1-4 parts, each decimal, 0x-hex or 0-octal, the last part
// filling the remaining bytes. "0x7f.0.0.1", "017700000001" and "2130706433" all mean
// 127.0.0.1, and spam uses exactly these forms to hide an address from naive matching.
std::optional<std::string> ParseIPv4(std::string_view h) {
  if (h.empty() || !IsDigit(h[0])) return std::nullopt;
  uint64_t parts[4];
  int count = 0;
  size_t i = 0;
  while (true) {
    if (count == 4) return std::nullopt;
    size_t end = h.find('.', i);
    std::string_view p = h.substr(i, end == std::string_view::npos ? end : end - i);
    if (p.empty() || p.size() > 34) return std::nullopt;
    int base = 10;
    if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      base = 16;
      p.remove_prefix(2);
    } else if (p.size() >= 2 && p[0] == '0') {
      base = 8;
      p.remove_prefix(1);
    }
    uint64_t v = 0;
    for (unsigned char c : p) {
      int d = HexVal(c);
      if (d < 0 || d >= base) return std::nullopt;
      v = v * base + d;
      if (v > 0xFFFFFFFFull) return std::nullopt;
    }
    parts[count++] = v;
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  uint64_t addr = 0;
  for (int k = 0; k < count - 1; ++k) {
    if (parts[k] > 255) return std::nullopt;
    addr |= parts[k] << (8 * (3 - k));
  }
  uint64_t last = parts[count - 1];
  if (last >= (1ull << (8 * (5 - count)))) return std::nullopt;
  addr |= last;
  std::string r;
  for (int k = 3; k >= 0; --k) {
    r += std::to_string((addr >> (8 * k)) & 0xFF);
    if (k) r += '.';
  }
  return r;
}

constexpr char kHexDigits[] = "0123456789ABCDEF";

void AppendPct(unsigned char c, std::string* out) {
  out->push_back('%');
  out->push_back(kHexDigits[c >> 4]);
  out->push_back(kHexDigits[c & 15]);
}

// Escapes that stay escaped even when printable: decoding them would change how the URL
// parses ('/', '?', '#', '&', '=', '+', ';', '%') or let it break out of an attribute or
// re-canonicalise differently ('"', '<', '>', '\\').
bool KeepEncoded(unsigned char c) {
  return std::string_view("%/?#&=+;\"<>\\").find(static_cast<char>(c)) != std::string_view::npos;
}

// Bytes AppendNormalized copies unchanged whatever its flags: printable ASCII except the
// ones it escapes ('"', '<', '>'), '%' and '\\'.
constexpr ByteSet kCopiedAsIs = [] {
  ByteSet set("");
  for (int c = 0x21; c < 0x7F; ++c) set.in[c] = true;
  for (unsigned char c : std::string_view("\"<>%\\")) set.in[c] = false;
  return set;
}();

// Percent-normalises one URL component: escapes of printable ASCII are decoded unless
// KeepEncoded, other escapes are kept with upper-case hex, a bare '%' becomes %25, and raw
// spaces, controls, 8-bit bytes and '"<>' are escaped. Idempotent.
void AppendNormalized(std::string_view in, bool decode, bool backslash_to_slash, std::string* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    // Almost every byte of a real URL is copied as it is: append such runs in one go rather
    // than a push_back (with its capacity check) per byte.
    size_t run = i;
    while (run < in.size() && kCopiedAsIs[static_cast<unsigned char>(in[run])]) ++run;
    if (run != i) {
      out->append(in.data() + i, run - i);
      i = run;
      if (i == in.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      int hi = i + 2 < in.size() ? HexVal(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? HexVal(in[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        unsigned char v = static_cast<unsigned char>(hi * 16 + lo);
        if (decode && v >= 0x21 && v <= 0x7E && !KeepEncoded(v)) {
          out->push_back(static_cast<char>(v));
        } else {
          AppendPct(v, out);
        }
        i += 2;
      } else {
        out->append("%25");
      }
      continue;
    }
    if (c == '\\' && backslash_to_slash) {
      out->push_back('/');
    } else if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>') {
      AppendPct(c, out);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

// RFC 3986 reg-name characters (unreserved and sub-delims).
bool IsRegName(std::string_view host) {
  for (unsigned char c : host) {
    if (!Is(c, kAlnum) &&
        std::string_view("-._~!$&'()*+,;=").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

struct HostInfo {
  std::string ascii;
  std::string unicode;
  bool idn = false;
};

// Bytes NormalizeHost escapes or decodes, and the ASCII lower-case mapping.
constexpr ByteSet kHostSpecial = [] {
  ByteSet set("\x7F\"<>%");
  for (int c = 0; c <= 0x20; ++c) set.in[c] = true;
  return set;
}();
constexpr std::array<unsigned char, 256> kLowerTab = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return t;
}();

// `strict_idn`: fail when a non-ASCII host is not a valid IDN (text candidates), instead of
// keeping it percent-encoded (attribute values, where the author clearly meant a URL).
bool NormalizeHost(std::string_view raw, bool strict_idn, HostInfo* hi) {
  // Almost every host is plain, with no '%' and nothing to escape: lower-case those in one
  // table-driven pass instead of a push_back per byte.
  std::string h(raw.size(), '\0');
  bool special = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    special |= kHostSpecial[c];
    h[i] = static_cast<char>(kLowerTab[c]);
  }
  if (special) {
    h.clear();
    h.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(raw[i]);
      if (c == '%' && i + 2 < raw.size() && HexVal(raw[i + 1]) >= 0 && HexVal(raw[i + 2]) >= 0) {
        // "http://%65xample.com" is example.com to a browser. Only name bytes are decoded: a
        // decoded '/', '@' or ':' would move the host boundary when the URL is parsed again.
        unsigned char v = static_cast<unsigned char>(HexVal(raw[i + 1]) * 16 + HexVal(raw[i + 2]));
        if (v >= 0x80 || Is(v, kAlnum) || v == '-' || v == '.' || v == '_' || v == '~') {
          h.push_back(static_cast<char>(Lower(v)));
        } else {
          AppendPct(v, &h);
        }
        i += 2;
      } else if (c <= 0x20 || c == 0x7F || c == '"' || c == '<' || c == '>' || c == '%') {
        AppendPct(c, &h);
      } else {
        h.push_back(static_cast<char>(Lower(c)));
      }
    }
  }
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return true;
  if (h[0] == '[') {
    hi->ascii = ToLower(h);
    hi->unicode = hi->ascii;
    return true;
  }
  if (!AllAscii(h)) {
    std::string a;
    // Escapes left in a host (bytes that may not be in a name) make it no IDN, whatever
    // idn2 would make of it; so does a mapping to a delimiter (NBSP -> ' ', U+FF0F -> '/').
    if (h.find('%') == std::string::npos && IdnToAscii(h, &a) && IsRegName(a)) {
      while (!a.empty() && a.back() == '.') a.pop_back();
      h = ToLower(a);
      hi->idn = true;
    } else {
      if (strict_idn) return false;
      for (unsigned char c : h) {
        if (c >= 0x80) {
          AppendPct(c, &hi->ascii);
        } else {
          hi->ascii.push_back(static_cast<char>(c));
        }
      }
      hi->unicode = h;
      hi->idn = true;
      return true;
    }
  }
  // After IDN mapping too: fullwidth digits map to an IPv4 form.
  if (auto ip = ParseIPv4(h)) h = *ip;
  if (HasXnLabel(h)) {
    hi->idn = true;
    if (!IdnToUnicode(h, &hi->unicode)) hi->unicode = h;
  } else {
    hi->unicode = h;
  }
  hi->ascii = std::move(h);
  return true;
}

// Index of the ':' ending a scheme ([A-Za-z][A-Za-z0-9+.-]*:), or npos.
size_t SchemeEnd(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return std::string_view::npos;
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ':') return i;
    if (!(Is(c, kAlnum) || c == '+' || c == '.' || c == '-')) break;
  }
  return std::string_view::npos;
}

bool IsSpecialScheme(std::string_view scheme) {
  return scheme == "http" || scheme == "https" || scheme == "ftp";
}

void CapUrl(std::string* url) {
  if (url->size() <= kMaxUrl) return;
  size_t cut = kMaxUrl;
  // Do not leave half an escape behind.
  if ((*url)[cut - 1] == '%') {
    cut -= 1;
  } else if ((*url)[cut - 2] == '%') {
    cut -= 2;
  }
  url->resize(cut);
}

void FillHost(HostInfo&& hi, FoundUri* f);

bool CanonicalizeMailto(std::string_view rest, FoundUri* f) {
  size_t q = rest.find('?');
  std::string_view addr = rest.substr(0, q);
  std::string a;
  AppendNormalized(addr, true, false, &a);
  std::string url = "mailto:";
  HostInfo hi;
  size_t at = a.rfind('@');
  if (at != std::string::npos) {
    if (!NormalizeHost(std::string_view(a).substr(at + 1), false, &hi)) return false;
    url.append(a, 0, at + 1);
    url += hi.ascii;
  } else {
    url += a;
  }
  if (q != std::string_view::npos) {
    url += '?';
    AppendNormalized(rest.substr(q + 1), true, false, &url);
  }
  CapUrl(&url);
  f->url = std::move(url);
  FillHost(std::move(hi), f);
  return true;
}

void FillHost(HostInfo&& hi, FoundUri* f) {
  f->host = std::move(hi.ascii);
  f->host_unicode = std::move(hi.unicode);
  f->idn = hi.idn;
  f->registered_domain = f->host.empty() ? std::string() : RegisteredDomain(f->host);
}

bool CanonicalizeAbsoluteUncached(std::string_view s, bool strict_idn, FoundUri* f);

// CanonicalizeAbsoluteUncached, remembering recent answers per thread (pure and lock-free).
// Mail names the same link again and again (a tracking link in every paragraph, the same URL
// in the text and the HTML part, a base URL for every relative link, a campaign's links in
// message after message): over the SpamAssassin corpus 54% of calls find their answer in a
// direct-mapped table of 1024 (49% with 256). A hit copies four short strings instead of
// re-parsing, re-normalising the host and asking libpsl. The table is far smaller than the
// corpus's 13,000 distinct URLs, so a repeated benchmark pass hits no more often than the
// first. An entry keeps the input and the answer back to back in one buffer, so that a
// lookup touches little memory.
bool CanonicalizeAbsolute(std::string_view s, bool strict_idn, FoundUri* f) {
  struct Entry {
    std::string data;        // input, url, host, host_unicode, registered_domain
    uint32_t input_len = 0;  // 0: unused (empty input never canonicalises)
    uint32_t url_len = 0, host_len = 0, unicode_len = 0, domain_len = 0;
    bool strict_idn = false;
    bool ok = false;
    bool idn = false;
  };
  // Inputs this long are rare and cost more to copy into the table than they are reused.
  constexpr size_t kMaxMemoInput = 512;
  if (s.empty() || s.size() > kMaxMemoInput) return CanonicalizeAbsoluteUncached(s, strict_idn, f);
  // On the heap, made on a thread's first call (see RegisteredDomainOffsetCached).
  thread_local std::unique_ptr<std::array<Entry, 1024>> memo;
  if (memo == nullptr) memo = std::make_unique<std::array<Entry, 1024>>();
  Entry& e = (*memo)[(HashBytes(s) ^ static_cast<uint64_t>(strict_idn)) & 1023];
  if (e.input_len == s.size() && e.strict_idn == strict_idn &&
      std::memcmp(e.data.data(), s.data(), s.size()) == 0) {
    if (e.ok) {
      const char* p = e.data.data() + e.input_len;
      f->url.assign(p, e.url_len);
      p += e.url_len;
      f->host.assign(p, e.host_len);
      p += e.host_len;
      f->host_unicode.assign(p, e.unicode_len);
      p += e.unicode_len;
      f->registered_domain.assign(p, e.domain_len);
      f->idn = e.idn;
    }
    return e.ok;
  }
  bool ok = CanonicalizeAbsoluteUncached(s, strict_idn, f);
  // assign() and append() reuse the entry's buffer, so refilling it rarely allocates.
  e.data.assign(s);
  e.input_len = static_cast<uint32_t>(s.size());
  e.strict_idn = strict_idn;
  e.ok = ok;
  if (ok) {
    for (const std::string* part : {&f->url, &f->host, &f->host_unicode, &f->registered_domain}) {
      e.data += *part;
    }
    e.url_len = static_cast<uint32_t>(f->url.size());
    e.host_len = static_cast<uint32_t>(f->host.size());
    e.unicode_len = static_cast<uint32_t>(f->host_unicode.size());
    e.domain_len = static_cast<uint32_t>(f->registered_domain.size());
    e.idn = f->idn;
  }
  return ok;
}

// Canonicalises an absolute URL (one with a scheme). Fails for scheme-only input, for http,
// https and ftp without a host, and (with `strict_idn`) for hosts that are not valid IDNs.
// Sets url, host, host_unicode, registered_domain and idn of `f`, and nothing on failure.
bool CanonicalizeAbsoluteUncached(std::string_view s, bool strict_idn, FoundUri* f) {
  size_t colon = SchemeEnd(s);
  if (colon == std::string_view::npos) return false;
  std::string scheme = ToLower(s.substr(0, colon));
  std::string_view rest = s.substr(colon + 1);
  if (rest.empty()) return false;
  if (scheme == "mailto") return CanonicalizeMailto(rest, f);
  bool special = IsSpecialScheme(scheme);
  bool has_auth = false;
  std::string_view auth;
  if (special) {
    // "http:/x", "http:\\x" and "http:x" all mean http://x to browsers and to SpamAssassin.
    size_t k = 0;
    while (k < rest.size() && (rest[k] == '/' || rest[k] == '\\')) ++k;
    rest.remove_prefix(k);
    has_auth = true;
  } else if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    has_auth = true;
  }
  std::string url;
  url.reserve(s.size() + 8);  // the canonical form is rarely longer: ":80" goes, "/" comes
  url = scheme;
  url += ':';
  HostInfo hi;
  if (has_auth) {
    size_t ae = FindAny(rest, special ? kAuthorityEndSpecial : kAuthorityEnd);
    auth = rest.substr(0, ae);
    rest = ae == std::string_view::npos ? std::string_view() : rest.substr(ae);
    std::string_view userinfo, hostport = auth, host, port;
    bool has_userinfo = false, has_port = false;
    if (size_t at = auth.rfind('@'); at != std::string_view::npos) {
      has_userinfo = true;
      userinfo = auth.substr(0, at);
      hostport = auth.substr(at + 1);
    }
    size_t pc = std::string_view::npos;
    if (hostport.starts_with('[')) {
      size_t rb = hostport.find(']');
      if (rb != std::string_view::npos && rb + 1 < hostport.size() && hostport[rb + 1] == ':') {
        pc = rb + 1;
      }
    } else {
      pc = hostport.find(':');
    }
    host = hostport.substr(0, pc);
    if (pc != std::string_view::npos) {
      has_port = true;
      port = hostport.substr(pc + 1);
    }
    if (!NormalizeHost(host, strict_idn, &hi)) return false;
    if (special && hi.ascii.empty()) return false;
    url += "//";
    if (has_userinfo) {
      AppendNormalized(userinfo, false, false, &url);
      url += '@';
    }
    url += hi.ascii;
    if (has_port && !port.empty()) {
      bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                      return IsDigit(static_cast<unsigned char>(c));
                    });
      unsigned long value = digits ? std::strtoul(std::string(port).c_str(), nullptr, 10) : 0;
      if (digits && value <= 65535) {
        bool dflt = (scheme == "http" && value == 80) || (scheme == "https" && value == 443) ||
                    (scheme == "ftp" && value == 21);
        if (!dflt) {
          url += ':';
          url += std::to_string(value);
        }
      } else {
        url += ':';
        AppendNormalized(port, false, false, &url);
      }
    }
  }
  size_t qpos = FindAny(rest, kQueryOrFragment);
  std::string_view path = rest.substr(0, qpos);
  if (special && path.empty()) url += '/';
  AppendNormalized(path, true, special, &url);
  if (qpos != std::string_view::npos) {
    std::string_view tail = rest.substr(qpos);
    size_t hash = tail.find('#');
    if (tail[0] == '?') {
      url += '?';
      AppendNormalized(tail.substr(1, hash == std::string_view::npos ? hash : hash - 1), true,
                       false, &url);
    }
    if (hash != std::string_view::npos) {
      url += '#';
      AppendNormalized(tail.substr(hash + 1), true, false, &url);
    }
  }
  CapUrl(&url);
  f->url = std::move(url);
  FillHost(std::move(hi), f);
  return true;
}

// ---------------------------------------------------------------------------------------------
// RFC 3986 §5.2 reference resolution.

struct UriParts {
  std::string_view scheme, authority, path, query, fragment;
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
};

// RFC 3986 appendix B.
UriParts SplitUri(std::string_view s) {
  UriParts p;
  if (size_t c = SchemeEnd(s); c != std::string_view::npos) {
    p.has_scheme = true;
    p.scheme = s.substr(0, c);
    s.remove_prefix(c + 1);
  }
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    size_t e = FindAny(s, kAuthorityEnd);
    p.has_authority = true;
    p.authority = s.substr(0, e);
    s = e == std::string_view::npos ? std::string_view() : s.substr(e);
  }
  size_t h = s.find('#');
  if (h != std::string_view::npos) {
    p.has_fragment = true;
    p.fragment = s.substr(h + 1);
    s = s.substr(0, h);
  }
  size_t q = s.find('?');
  if (q != std::string_view::npos) {
    p.has_query = true;
    p.query = s.substr(q + 1);
    s = s.substr(0, q);
  }
  p.path = s;
  return p;
}

// RFC 3986 §5.2.4. Each input byte is consumed once and popping a segment removes what it
// scans, so this is linear.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto pop = [&out] {
    size_t slash = out.rfind('/');
    out.resize(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop();
    } else if (in == "/..") {
      in = "/";
      pop();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', in[0] == '/' ? 1 : 0);
      out.append(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view() : in.substr(next);
    }
  }
  return out;
}

bool IsRejectedScheme(std::string_view lower_scheme) {
  static constexpr std::string_view kRejected[] = {"javascript", "vbscript", "data", "cid",
                                                   "mid",        "about",    "tel",  "file"};
  return std::find(std::begin(kRejected), std::end(kRejected), lower_scheme) != std::end(kRejected);
}

// "www", "www1", "www12" followed by '.'.
size_t WwwPrefixLen(std::string_view s) {
  if (!IStartsWith(s, "www")) return 0;
  size_t i = 3;
  while (i < s.size() && i < 5 && IsDigit(s[i])) ++i;
  return (i < s.size() && s[i] == '.') ? i : 0;
}

// Attribute values: whitespace, NBSP, BOM and controls around the value go; tabs and line
// breaks inside it go too (browsers and SpamAssassin both drop them).
std::string TrimValue(std::string_view raw) {
  // Values almost never contain tabs or line breaks, and then the trimmed value is a slice of
  // `raw`, copied once at the end. The check is written (no early exit, bitwise operators on
  // bytes) so that it vectorises.
  unsigned char breaks = 0;
  for (char ch : raw) {
    unsigned char c = static_cast<unsigned char>(ch);
    breaks |= static_cast<unsigned char>((c == '\t') | (c == '\n') | (c == '\r'));
  }
  bool has_break = breaks != 0;
  std::string joined;
  if (has_break || raw.size() > kMaxUrl) {
    joined.reserve(std::min(raw.size(), kMaxUrl));
    for (unsigned char c : raw) {
      if (c == '\t' || c == '\n' || c == '\r') continue;
      if (joined.size() == kMaxUrl) break;
      joined.push_back(static_cast<char>(c));
    }
  }
  auto junk_front = [](std::string_view s) -> size_t {
    unsigned char c = s[0];
    if (c <= 0x20 || c == 0x7F) return 1;
    if (s.size() >= 2 && c == 0xC2 && static_cast<unsigned char>(s[1]) == 0xA0) return 2;
    if (s.starts_with("\xEF\xBB\xBF")) return 3;
    return 0;
  };
  auto junk_back = [](std::string_view s) -> size_t {
    unsigned char c = s.back();
    if (c <= 0x20 || c == 0x7F) return 1;
    if (s.ends_with("\xC2\xA0")) return 2;
    if (s.ends_with("\xEF\xBB\xBF")) return 3;
    return 0;
  };
  std::string_view sv = has_break || raw.size() > kMaxUrl ? std::string_view(joined) : raw;
  while (!sv.empty()) {
    size_t k = junk_front(sv);
    if (!k) break;
    sv.remove_prefix(k);
  }
  while (!sv.empty()) {
    size_t k = junk_back(sv);
    if (!k) break;
    sv.remove_suffix(k);
  }
  return std::string(sv);
}

// ---------------------------------------------------------------------------------------------
// Text scanning.

bool IsKnownSchemeToken(std::string_view t) {
  static constexpr std::string_view kKnown[] = {"http",  "https", "ftp",   "mailto", "hxxp",
                                                "hxxps", "h**p",  "h**ps", "h__p",   "h__ps"};
  return std::find(std::begin(kKnown), std::end(kKnown), t) != std::end(kKnown);
}

// TLDs accepted after spaced separators ("example dot com"). Many newer gTLDs are English words
// ("does dot compare", "user . today"), so only country codes and the established or
// spam-favoured generic ones count there.
bool IsCommonTld(std::string_view lower) {
  static constexpr std::string_view kCommon[] = {
      "aero", "app",  "asia",  "biz", "cat",  "club",   "com",  "coop", "edu",    "gov", "icu",
      "info", "int",  "jobs",  "mil", "mobi", "museum", "name", "net",  "online", "org", "pro",
      "shop", "site", "store", "tel", "top",  "travel", "vip",  "xxx",  "xyz"};
  return lower.size() == 2 ||
         std::find(std::begin(kCommon), std::end(kCommon), lower) != std::end(kCommon);
}

// A bare two-label "host" is more often prose or a file name than a link when the first label
// is a pronoun ("her.love", "you.my") or the TLD is a common source-file extension that is
// rarely used for mail-borne links ("tokenizer.py", "libasound.so", "README.md").
bool IsProseLikeBareHost(std::string_view lower_first, std::string_view lower_tld) {
  static constexpr std::string_view kPronoun[] = {
      "a",   "an",  "he",   "her", "him",   "his",  "i",    "it", "its", "me",  "my",
      "our", "she", "that", "the", "their", "they", "this", "we", "you", "your"};
  static constexpr std::string_view kFileExt[] = {"cf", "java", "md", "pm", "py", "rs", "sh", "so"};
  return std::find(std::begin(kPronoun), std::end(kPronoun), lower_first) != std::end(kPronoun) ||
         std::find(std::begin(kFileExt), std::end(kFileExt), lower_tld) != std::end(kFileExt);
}

// Words that make "the dot com bubble" or "go . to" prose rather than an obfuscated host.
bool IsStopWord(std::string_view lower) {
  static constexpr std::string_view kStop[] = {
      "a",   "am",  "an",   "and", "are", "as",   "at",  "be",  "but", "by",   "do",
      "dot", "for", "from", "go",  "he",  "here", "how", "i",   "if",  "in",   "is",
      "it",  "its", "me",   "my",  "new", "no",   "not", "now", "of",  "on",   "one",
      "or",  "she", "so",   "the", "to",  "up",   "us",  "was", "we",  "with", "you"};
  return std::find(std::begin(kStop), std::end(kStop), lower) != std::end(kStop);
}

struct HostScan {
  size_t end = 0;    // text position after the host
  std::string host;  // labels joined with '.', de-obfuscated, original case
  int labels = 0;
  bool obfuscated = false;  // bracketed or spaced separators
  bool bracketed = false;   // "[.]", "(dot)", ...: unmistakably deliberate
  bool spaced = false;      // " . ", " dot "
  bool non_ascii = false;
};

enum class HostKind { kSchemeless, kEmail };

// Bytes that put a schemeless host inside a path, a query or an address when they precede it.
constexpr ByteSet kNotBeforeWord("@/\\%=&?#$~+");

class Extractor {
 public:
  Extractor(std::string_view text, std::vector<FoundUri>* out, size_t max_uris,
            std::string* scratch)
      : s_(reinterpret_cast<const unsigned char*>(text.data())),
        n_(text.size()),
        out_(out),
        max_(max_uris),
        cleaned_(*scratch) {}

  bool Run() {
    size_t i = 0;
    while (!full_) {
      i = NextTrigger(i);
      if (i >= n_) break;
      size_t next = Dispatch(i);
      i = std::max(next, i + 1);
    }
    return !full_;
  }

 private:
  unsigned char At(size_t i) const { return i < n_ ? s_[i] : 0; }
  std::string_view Span(size_t a, size_t b) const {
    return {reinterpret_cast<const char*>(s_) + a, b - a};
  }

#if defined(__SSE2__)
  // Bit k set: s_[i + k] is a trigger byte that its handler would not dismiss at once, judged
  // by the bytes around it. Prose is full of trigger bytes that cannot start a URL: the '.'
  // ending a sentence, the ':' of "Note: ", the 'd' of every word that starts with one. Their
  // handlers return i + 1 without looking further or changing any state, so skipping them
  // here changes nothing, and the scan stops about a third as often. The conditions are
  // necessary ones taken from the handlers (each is checked in full there):
  //   '.'  OnDot:     next is alphanumeric or non-ASCII, or " . "
  //   ':'  OnColon:   next is alphanumeric, '/' or '\\', or ": /" (": " then needs "//")
  //   '@'  OnAt:      always
  //   '[', '(', '{'  OnBracket: next is '.', ':', 'd' or 'D' ("[.]", "[:]", "(dot)")
  //   'd', 'D'  OnD:  " dot" (of " dot ")
  // Needs i + 18 <= n_ (it reads two bytes past the block); the byte before the text reads as
  // NUL.
  unsigned WakeMask(size_t i) const {
    auto load = [this, i](ptrdiff_t k) {  // signed: load(-1) reads the byte before i
      return _mm_loadu_si128(
          reinterpret_cast<const __m128i*>(s_ + (static_cast<ptrdiff_t>(i) + k)));
    };
    auto eq = [](__m128i a, char c) { return _mm_cmpeq_epi8(a, _mm_set1_epi8(c)); };
    // Signed compares: bytes >= 0x80 are negative and fall outside every ASCII range.
    auto in = [](__m128i a, char lo, char hi) {
      return _mm_and_si128(_mm_cmpgt_epi8(a, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(a, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i case_bit = _mm_set1_epi8(0x20);
    __m128i cur = load(0), next = load(1), next2 = load(2);
    __m128i prev = i == 0 ? _mm_slli_si128(cur, 1) : load(-1);
    __m128i next_folded = _mm_or_si128(next, case_bit);
    __m128i next_alnum = _mm_or_si128(in(next, '0', '9'), in(next_folded, 'a', 'z'));
    __m128i prev_space = eq(prev, ' '), next_space = eq(next, ' ');

    __m128i dot = _mm_and_si128(
        eq(cur, '.'),
        _mm_or_si128(_mm_or_si128(next_alnum, _mm_cmplt_epi8(next, _mm_setzero_si128())),
                     _mm_and_si128(prev_space, next_space)));
    __m128i colon = _mm_and_si128(
        eq(cur, ':'), _mm_or_si128(_mm_or_si128(next_alnum, eq(next, '/')),
                                   _mm_or_si128(eq(next, '\\'),
                                                _mm_and_si128(next_space, eq(next2, '/')))));
    __m128i bracket = _mm_and_si128(
        _mm_or_si128(_mm_or_si128(eq(cur, '['), eq(cur, '(')), eq(cur, '{')),
        _mm_or_si128(_mm_or_si128(eq(next, '.'), eq(next, ':')), eq(next_folded, 'd')));
    __m128i d =
        _mm_and_si128(_mm_and_si128(eq(_mm_or_si128(cur, case_bit), 'd'), prev_space),
                      _mm_and_si128(eq(next_folded, 'o'), eq(_mm_or_si128(next2, case_bit), 't')));
    __m128i wake = _mm_or_si128(_mm_or_si128(dot, colon),
                                _mm_or_si128(_mm_or_si128(bracket, d), eq(cur, '@')));
    return static_cast<unsigned>(_mm_movemask_epi8(wake));
  }
#endif

  size_t NextTrigger(size_t i) const {
#if defined(__SSE2__)
    for (; i + 18 <= n_; i += 16) {
      unsigned mask = WakeMask(i);
      if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    }
    // The last few bytes go through the table below, which stops at every trigger byte: a
    // superset of the wake mask, and handlers dismiss the extra ones as before.
#endif
    // Unrolled so the common no-trigger case is a tight run of table loads.
    while (i + 4 <= n_) {
      if (Is(s_[i], kTrigger)) return i;
      if (Is(s_[i + 1], kTrigger)) return i + 1;
      if (Is(s_[i + 2], kTrigger)) return i + 2;
      if (Is(s_[i + 3], kTrigger)) return i + 3;
      i += 4;
    }
    while (i < n_ && !Is(s_[i], kTrigger)) ++i;
    return i;
  }

  size_t Dispatch(size_t i) {
    switch (s_[i]) {
      case '.':
        return OnDot(i);
      case ':':
        return OnColon(i);
      case '@':
        return OnAt(i);
      case 'd':
      case 'D':
        return OnD(i);
      default:
        return OnBracket(i);
    }
  }

  bool IsLabelStart(size_t i, bool ascii_only) const {
    if (i >= n_) return false;
    unsigned char c = s_[i];
    if (Is(c, kAlnum)) return true;
    return !ascii_only && c >= 0x80 && DelimAt(s_, n_, i) == 0;
  }

  // Length of a label separator at q that is followed by a label: ".", "[.]", "(.)", "{.}",
  // "[dot]", "(dot)", "{dot}", " . ", " dot ".
  size_t SeparatorLen(size_t q, bool ascii_only, bool* bracketed, bool* spaced) const {
    unsigned char c = At(q);
    size_t len = 0;
    bool br = false, sp = false;
    if (c == '.') {
      len = 1;
    } else if (c == '[' || c == '(' || c == '{') {
      unsigned char close = c == '[' ? ']' : c == '(' ? ')' : '}';
      if (At(q + 1) == '.' && At(q + 2) == close) {
        len = 3;
      } else if (Lower(At(q + 1)) == 'd' && Lower(At(q + 2)) == 'o' && Lower(At(q + 3)) == 't' &&
                 At(q + 4) == close) {
        len = 5;
      }
      br = true;
    } else if (c == ' ') {
      if (At(q + 1) == '.' && At(q + 2) == ' ') {
        len = 3;
      } else if (Lower(At(q + 1)) == 'd' && Lower(At(q + 2)) == 'o' && Lower(At(q + 3)) == 't' &&
                 At(q + 4) == ' ') {
        len = 5;
      }
      sp = true;
    }
    if (len == 0 || !IsLabelStart(q + len, ascii_only)) return 0;
    *bracketed = br;
    *spaced = sp;
    return len;
  }

  // Start of the run of label bytes ending just before `pos`, not going below `lo`.
  size_t BackLabel(size_t pos, size_t lo, bool ascii_only) const {
    size_t j = pos;
    while (j > lo) {
      unsigned char c = s_[j - 1];
      if (c < 0x80) {
        if (!Is(c, kLabel)) break;
      } else if (ascii_only || DelimEndsAt(s_, n_, lo, j - 1)) {
        break;
      }
      --j;
    }
    // A label cannot start with '-' or '_' (nor with a stray continuation byte).
    while (j < pos && (s_[j] == '-' || s_[j] == '_' || (s_[j] >= 0x80 && s_[j] < 0xC0))) ++j;
    return j;
  }

  HostScan ParseHost(size_t start, bool ascii_only) const {
    HostScan h;
    size_t limit = std::min(n_, start + kMaxUrl);
    size_t q = start;
    size_t last_label = start;
    while (true) {
      size_t ls = q;
      while (q < limit) {
        unsigned char c = s_[q];
        if (c < 0x80) {
          if (!Is(c, kLabel)) break;
        } else {
          if (ascii_only || DelimAt(s_, n_, q) != 0) break;
          h.non_ascii = true;
        }
        ++q;
      }
      if (q == ls) break;
      last_label = h.host.size();
      h.host.append(Span(ls, q));
      ++h.labels;
      bool br = false, sp = false;
      size_t sl = q < limit ? SeparatorLen(q, ascii_only, &br, &sp) : 0;
      if (sl == 0 || q + sl >= limit) break;
      h.host.push_back('.');
      h.bracketed |= br;
      h.spaced |= sp;
      h.obfuscated |= br || sp;
      q += sl;
    }
    // "example.com-" / "example.com_": the trailing punctuation is not part of the host.
    while (h.host.size() > last_label + 1 && (h.host.back() == '-' || h.host.back() == '_')) {
      h.host.pop_back();
      --q;
    }
    h.end = q;
    return h;
  }

  // Is the host plausible enough to be called a URL? Conservative, because prose is full of
  // "word.word": the last label must be on the public suffix list proper, other labels must be
  // valid DNS labels, and without a "www"/"ftp" prefix or bracket obfuscation the TLD must not
  // be Capitalised ("said so.Then").
  bool ValidHost(const HostScan& h, HostKind kind) const {
    if (h.labels < 2 || h.host.size() > kMaxHostBytes) return false;
    std::string_view host(h.host);
    size_t last_dot = host.rfind('.');
    std::string_view tld = host.substr(last_dot + 1);
    // Every check here is a pure condition, so their order is free: the TLD goes first, as
    // it is what rules out most prose ("10.30", "e.g", "Hello.Then").
    std::string lower_tld;
    if (AllAscii(tld)) {
      if (tld.size() < 2 || tld.size() > 63) return false;
      bool lower = false, upper = false;
      if (IStartsWith(tld, "xn--")) {
        for (unsigned char c : tld) {
          if (!Is(c, kAlnum) && c != '-') return false;
        }
      } else {
        for (unsigned char c : tld) {
          if (!IsAlpha(c)) return false;
          (c >= 'a' ? lower : upper) = true;
        }
      }
      std::string_view first = host.substr(0, host.find('.'));
      bool prefixed = WwwPrefixLen(host) != 0 || IEquals(first, "ftp");
      if (kind == HostKind::kSchemeless && !h.bracketed && !prefixed && lower && upper) {
        return false;
      }
      lower_tld = ToLower(tld);
    } else if (!IdnToAscii(std::string(tld), &lower_tld)) {
      return false;
    }
    // The other labels, in one pass each (no find()s: these are a few bytes long).
    for (size_t p = 0; p <= last_dot;) {
      size_t dot = p;
      bool ascii = true, underscore = false;
      for (; host[dot] != '.'; ++dot) {
        ascii &= static_cast<unsigned char>(host[dot]) < 0x80;
        underscore |= host[dot] == '_';
      }
      size_t len = dot - p;
      if (len == 0 || (ascii && len > 63) || len > 252) return false;
      if (host[p] == '-' || host[dot - 1] == '-' || underscore) return false;
      p = dot + 1;
    }
    if (!IsRealTld(lower_tld)) return false;
    if (h.spaced) {
      if (AllAscii(tld) && !IsCommonTld(lower_tld)) return false;
      for (size_t a = 0; a < host.size();) {
        size_t dot = host.find('.', a);
        if (dot == std::string_view::npos) dot = host.size();
        std::string_view label = host.substr(a, dot - a);
        if (label.size() <= 4 && IsStopWord(ToLower(label))) return false;
        a = dot + 1;
      }
    }
    return true;
  }

  // Schemeless candidates must start a word: not inside a path, a query or an address.
  bool AtWordStart(size_t ls, size_t lo) const {
    if (ls == 0) return true;
    unsigned char c = s_[ls - 1];
    if (ls == lo && c < 0x80 && Is(c, kLabel)) return false;
    return !kNotBeforeWord[c];
  }

  // Skips the tail of an over-long candidate so it does not retrigger.
  size_t SkipToDelim(size_t i) const {
    while (i < n_ && DelimAt(s_, n_, i) == 0) ++i;
    return i;
  }

  // The paren rule and trailing punctuation stripping, applied to [from, end).
  size_t TrimEnd(size_t from, size_t end) const {
    int depth = 0;
    for (size_t k = from; k < end; ++k) {
      if (s_[k] == '(') {
        ++depth;
      } else if (s_[k] == ')') {
        if (depth == 0) {
          end = k;
          break;
        }
        --depth;
      }
    }
    // A ')' still here is balanced ("wiki/Foo_(bar)"), so unlike SpamAssassin it stays.
    while (end > from && Is(s_[end - 1], kStrip) && s_[end - 1] != ')') --end;
    return end;
  }

  // Scans a URL body from b: until a delimiter, except that in the authority obfuscated
  // separators and a bracketed IPv6 literal are allowed. Obfuscated separators are recorded in
  // `seps` (position, length) for later replacement by '.'.
  size_t ScanBody(size_t b, size_t limit, bool with_authority,
                  std::vector<std::pair<size_t, size_t>>* seps, bool* truncated) const {
    size_t q = b;
    if (with_authority) {
      size_t auth_start = b;
      while (q < limit) {
        unsigned char c = s_[q];
        if (c == '/' || c == '\\' || c == '?' || c == '#') break;
        if (c == '@') auth_start = q + 1;
        if (c == '[' && q == auth_start) {
          size_t r = q + 1;
          while (r < limit && r - q < 64 && (HexVal(s_[r]) >= 0 || s_[r] == ':' || s_[r] == '.')) {
            ++r;
          }
          if (r < limit && s_[r] == ']' && r > q + 1) {
            q = r + 1;
            continue;
          }
        }
        if (q > b && (c == '.' || c == '[' || c == '(' || c == '{' || c == ' ') &&
            (Is(s_[q - 1], kAlnum) || s_[q - 1] >= 0x80)) {
          bool br = false, sp = false;
          size_t sl = SeparatorLen(q, false, &br, &sp);
          if (sl > 1 && q + sl < limit) {
            seps->emplace_back(q, sl);
            q += sl;
            continue;
          }
        }
        if (DelimAt(s_, n_, q) != 0) return q;
        ++q;
      }
    }
    while (q < limit) {
      q = SkipUrlBytes(q, limit);
      if (q == limit || DelimAt(s_, n_, q) != 0) break;
      ++q;
    }
    *truncated = q == limit && limit < n_ && DelimAt(s_, n_, q) == 0;
    return q;
  }

  // The first position in [q, limit) where DelimAt may be non-zero, or limit: skips runs of
  // ordinary URL bytes 16 at a time (paths and queries run to hundreds of bytes).
  size_t SkipUrlBytes(size_t q, size_t limit) const {
#if defined(__SSE2__)
    for (; q + 16 <= limit; q += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_ + q));
      // As signed bytes, controls, space and every non-ASCII byte are below 0x21.
      __m128i m = _mm_cmplt_epi8(v, _mm_set1_epi8(0x21));
      for (char c : {'\x7F', '<', '>', '"', '`', '{', '}', '[', ']', '|'}) {
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
      }
      if (unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(m)); mask != 0) {
        return q + static_cast<size_t>(__builtin_ctz(mask));
      }
    }
#endif
    return q;
  }

  // Canonicalises `cleaned` and appends it. Returns false if it is not a usable URL.
  bool Emit(const std::string& cleaned, size_t start, size_t end, bool obfuscated, bool schemeless,
            bool strict_idn, bool need_dot) {
    FoundUri f;
    if (!CanonicalizeAbsolute(cleaned, strict_idn, &f)) return false;
    if (f.url.starts_with("mailto:")) {
      // A text address needs a domain with a dot and a local part.
      if (f.host.find('.') == std::string::npos || f.url[7] == '@') return false;
    } else if (need_dot && f.host.find('.') == std::string::npos) {
      return false;
    }
    if (out_->size() >= max_) {
      full_ = true;
      return false;
    }
    f.raw.assign(Span(start, std::min(end, start + kMaxUrl)));
    f.obfuscated = obfuscated;
    f.schemeless = schemeless;
    out_->push_back(std::move(f));
    emit_floor_ = std::max(emit_floor_, end);
    floor_ = std::max(floor_, end);
    return true;
  }

  size_t OnDot(size_t i) {
    if (i == 0 || i + 1 >= n_) return i + 1;
    unsigned char prev = s_[i - 1], next = s_[i + 1];
    if (Is(prev, kLabel) && (Is(next, kAlnum) || next >= 0x80)) return OnSeparator(i, i);
    if (prev == ' ' && next == ' ' && i >= 2 && Is(s_[i - 2], kLabel) &&
        IsLabelStart(i + 2, false)) {
      return OnSeparator(i - 1, i);
    }
    return i + 1;
  }

  size_t OnD(size_t i) {
    if (i >= 2 && s_[i - 1] == ' ' && Is(s_[i - 2], kLabel) && Lower(At(i + 1)) == 'o' &&
        Lower(At(i + 2)) == 't' && At(i + 3) == ' ' && IsLabelStart(i + 4, false)) {
      return OnSeparator(i - 1, i);
    }
    return i + 1;
  }

  size_t OnBracket(size_t i) {
    if (s_[i] == '[' && At(i + 1) == ':' && At(i + 2) == ']') return OnScheme(i, i + 3, true);
    bool br = false, sp = false;
    if (i > 0 && Is(s_[i - 1], kLabel) && SeparatorLen(i, false, &br, &sp) != 0) {
      return OnSeparator(i, i);
    }
    return i + 1;
  }

  // An e-mail local part followed by '@' starting at e (within 64 bytes), or npos.
  size_t LocalPartAt(size_t e) const {
    size_t j = e;
    while (j < n_ && j - e < kMaxLocalPart && Is(s_[j], kLocal)) ++j;
    return (j < n_ && s_[j] == '@') ? j : std::string_view::npos;
  }

  // A host separator at `sep` (found from the trigger byte at `trigger`): the candidate is a
  // schemeless host, an e-mail local part, or prose.
  size_t OnSeparator(size_t sep, size_t trigger) {
    size_t lo = floor_;
    size_t ls = BackLabel(sep, lo, false);
    if (ls == sep) return trigger + 1;
    HostScan h = ParseHost(ls, false);
    if (size_t at = LocalPartAt(h.end); at != std::string_view::npos) return OnAt(at);
    size_t resume = std::max(h.end, trigger + 1);
    bool ok = AtWordStart(ls, lo) && ValidHost(h, HostKind::kSchemeless);
    if (!ok && h.non_ascii) {
      // "请访问example.com获取": CJK text has no spaces, so retry with the ASCII part alone.
      size_t ls2 = BackLabel(sep, std::max(lo, ls), true);
      if (ls2 < sep) {
        HostScan h2 = ParseHost(ls2, true);
        if (ValidHost(h2, HostKind::kSchemeless) &&
            (ls2 == 0 || s_[ls2 - 1] >= 0x80 || AtWordStart(ls2, lo))) {
          h = std::move(h2);
          ls = ls2;
          ok = true;
        }
      }
    }
    if (!ok) {
      floor_ = std::max(floor_, resume);
      return resume;
    }
    size_t limit = std::min(n_, ls + kMaxUrl);
    size_t q = h.end;
    if (At(q) == ':' && IsDigit(At(q + 1))) {
      size_t r = q + 1;
      while (r < limit && IsDigit(s_[r]) && r - q <= 6) ++r;
      if (r - q - 1 <= 5 && !Is(At(r), kAlnum)) q = r;
    }
    bool truncated = false;
    if (q < limit && (s_[q] == '/' || s_[q] == '?' || s_[q] == '#')) {
      std::vector<std::pair<size_t, size_t>> none;
      q = ScanBody(q, limit, false, &none, &truncated);
    }
    size_t end = TrimEnd(h.end, q);
    std::string_view first = std::string_view(h.host).substr(0, h.host.find('.'));
    bool prefixed = WwwPrefixLen(h.host) != 0 || IEquals(first, "ftp");
    if (end == h.end && h.labels == 2 && !h.obfuscated && !prefixed &&
        IsProseLikeBareHost(ToLower(first), ToLower(h.host.substr(first.size() + 1)))) {
      floor_ = std::max(floor_, resume);
      return resume;
    }
    cleaned_.assign(IEquals(first, "ftp") ? "ftp://" : "http://");
    cleaned_ += h.host;
    cleaned_.append(Span(h.end, end));
    if (!Emit(cleaned_, ls, end, h.obfuscated, true, true, false)) {
      floor_ = std::max(floor_, resume);
      return resume;
    }
    return truncated ? SkipToDelim(end) : end;
  }

  size_t OnAt(size_t at) {
    size_t lo = std::max(emit_floor_, at > kMaxLocalPart ? at - kMaxLocalPart : 0);
    size_t ls = at;
    while (ls > lo && Is(s_[ls - 1], kLocal)) --ls;
    if (ls == lo && ls > 0 && ls > emit_floor_ && Is(s_[ls - 1], kLocal)) return at + 1;
    while (ls < at && !Is(s_[ls], kAlnum) && s_[ls] != '_') ++ls;
    if (ls == at || !IsLabelStart(at + 1, false)) return at + 1;
    HostScan h = ParseHost(at + 1, false);
    bool ok = ValidHost(h, HostKind::kEmail);
    if (!ok && h.non_ascii) {
      HostScan h2 = ParseHost(at + 1, true);
      if (ValidHost(h2, HostKind::kEmail)) {
        h = std::move(h2);
        ok = true;
      }
    }
    size_t resume = std::max(h.end, at + 1);
    if (!ok) {
      floor_ = std::max(floor_, resume);
      return resume;
    }
    cleaned_.assign("mailto:");
    cleaned_.append(Span(ls, at + 1));
    cleaned_ += h.host;
    if (!Emit(cleaned_, ls, h.end, h.obfuscated, true, true, false)) {
      floor_ = std::max(floor_, resume);
    }
    return resume;
  }

  size_t OnColon(size_t i) {
    if (i == 0 || i + 1 >= n_) return i + 1;
    unsigned char next = s_[i + 1];
    if (s_[i - 1] == ' ') {
      // "http ://"
      if (next != '/' || i < 2) return i + 1;
      return OnScheme(i - 1, i + 1, true);
    }
    if (Is(next, kAlnum)) {
      // Only "http:x", "https:x" and "mailto:x" go on without a slash; "10:30" and "Re:x"
      // stop here.
      unsigned char last = Lower(s_[i - 1]);
      if (last != 'p' && last != 's' && last != 'o') return i + 1;
    } else if (next != '/' && next != '\\' && next != ' ') {
      return i + 1;
    }
    return OnScheme(i, i + 1, false);
  }

  // A scheme token ending at `se`, its ':' (or "[:]", or " :") ending at `after`.
  size_t OnScheme(size_t se, size_t after, bool obfuscated) {
    size_t lo = std::max(emit_floor_, se > kMaxSchemeLen ? se - kMaxSchemeLen : 0);
    size_t ss = se;
    while (ss > lo && Is(s_[ss - 1], kScheme)) --ss;
    if (ss == lo && ss > emit_floor_ && ss > 0 && Is(s_[ss - 1], kScheme)) return after;
    while (ss < se && !IsAlpha(s_[ss])) ++ss;
    if (ss == se) return after;
    std::string token = ToLower(Span(ss, se));
    if (!IsKnownSchemeToken(token)) {
      // "season.http://x": the scheme is the known name at the end, not the whole token.
      size_t cut = token.find_last_of("+.-*_");
      if (cut != std::string::npos && IsKnownSchemeToken(std::string_view(token).substr(cut + 1))) {
        token.erase(0, cut + 1);
        ss = se - token.size();
      }
    }
    enum { kHttp, kMailto, kGeneric } kind = kGeneric;
    std::string scheme = token;
    if (token == "http" || token == "https" || token == "ftp") {
      kind = kHttp;
    } else if (token == "hxxp" || token == "h**p" || token == "h__p" || token == "hxxps" ||
               token == "h**ps" || token == "h__ps") {
      kind = kHttp;
      scheme = token.size() == 5 ? "https" : "http";
      obfuscated = true;
    } else if (token == "mailto") {
      kind = kMailto;
    } else if (token.find_first_of("*_") != std::string::npos || IsRejectedScheme(token)) {
      return after;
    }
    if (obfuscated && kind != kHttp) return after;
    // "www.x++://" is a host followed by junk to CanonicalizeUri; agree with it.
    if (kind == kGeneric && WwwPrefixLen(token) != 0) return after;
    size_t b = after;
    bool need_dot = false;
    if (kind == kHttp) {
      if (At(b) == ' ') {
        // "http: //"
        if (At(b + 1) != '/' || At(b + 2) != '/') return after;
        obfuscated = true;
        ++b;
      }
      size_t r = b;
      while (r < n_ && r - b < 16 && (s_[r] == '/' || s_[r] == '\\')) ++r;
      if (r == b) {
        // "http:www.example.com": only when it looks like a host.
        if (!Is(At(b), kAlnum)) return after;
        need_dot = true;
      }
      b = r;
    } else if (kind == kMailto) {
      if (!Is(At(b), kLocal)) return after;
    } else {
      if (At(b) != '/' || At(b + 1) != '/') return after;
      b += 2;
    }
    size_t limit = std::min(n_, ss + kMaxUrl);
    if (b >= limit) return after;
    std::vector<std::pair<size_t, size_t>> seps;
    bool truncated = false;
    size_t q = ScanBody(b, limit, kind != kMailto, &seps, &truncated);
    size_t end = TrimEnd(b, q);
    if (end == b) return std::max(after, q);
    cleaned_.assign(scheme);
    cleaned_ += kind == kMailto ? ":" : "://";
    size_t k = b;
    for (const auto& [pos, len] : seps) {
      if (pos + len > end) break;
      cleaned_.append(Span(k, pos));
      cleaned_.push_back('.');
      k = pos + len;
      obfuscated = true;
    }
    cleaned_.append(Span(k, end));
    if (!Emit(cleaned_, ss, end, obfuscated, false, false, need_dot)) {
      return std::max(after, q);
    }
    return truncated ? SkipToDelim(end) : end;
  }

  const unsigned char* s_;
  size_t n_;
  std::vector<FoundUri>* out_;
  size_t max_;
  std::string& cleaned_;   // the de-obfuscated candidate handed to Emit
  size_t floor_ = 0;       // end of the last region examined: backward label scans stop here
  size_t emit_floor_ = 0;  // end of the last URL emitted
  bool full_ = false;
};

}  // namespace

bool ExtractUris(std::string_view text, std::vector<FoundUri>* out, size_t max_uris) {
  // Candidates are assembled in a buffer that keeps its capacity from call to call: one
  // allocation fewer per URL found.
  thread_local std::string scratch;
  return Extractor(text, out, max_uris, &scratch).Run();
}

std::optional<FoundUri> CanonicalizeUri(std::string_view raw, std::string_view base) {
  std::string v = TrimValue(raw);
  if (v.empty() || v[0] == '#') return std::nullopt;
  FoundUri f;
  if (WwwPrefixLen(v) != 0) {
    if (!CanonicalizeAbsolute("http://" + v, false, &f)) return std::nullopt;
    f.raw = std::move(v);
    f.schemeless = true;
    return f;
  }
  if (size_t c = SchemeEnd(v); c != std::string::npos) {
    if (IsRejectedScheme(ToLower(std::string_view(v).substr(0, c)))) return std::nullopt;
    if (!CanonicalizeAbsolute(v, false, &f)) return std::nullopt;
    f.raw = std::move(v);
    return f;
  }
  // Relative reference: resolve against a usable (absolute, hierarchical) base.
  std::string b = TrimValue(base);
  FoundUri fb;
  bool usable = false;
  if (size_t c = SchemeEnd(b); c != std::string::npos) {
    usable = !IsRejectedScheme(ToLower(std::string_view(b).substr(0, c))) &&
             CanonicalizeAbsolute(b, false, &fb) && SplitUri(fb.url).has_authority;
  }
  if (!usable) {
    f.url = v;
    f.raw = std::move(v);
    return f;
  }
  UriParts bp = SplitUri(fb.url);
  std::string ref = v;
  if (IsSpecialScheme(bp.scheme)) {
    // Browsers read '\' as '/' before the query in http(s)/ftp references.
    size_t stop = FindAny(ref, kQueryOrFragment);
    for (size_t k = 0; k < ref.size() && k < stop; ++k) {
      if (ref[k] == '\\') ref[k] = '/';
    }
  }
  UriParts r = SplitUri(ref);
  std::string t = std::string(bp.scheme) + ":";
  std::string path;
  std::string_view query;
  bool has_query = false;
  if (r.has_authority) {
    t += "//";
    t += r.authority;
    path = RemoveDotSegments(r.path);
    query = r.query;
    has_query = r.has_query;
  } else {
    t += "//";
    t += bp.authority;
    if (r.path.empty()) {
      path = std::string(bp.path);
      query = r.has_query ? r.query : bp.query;
      has_query = r.has_query || bp.has_query;
    } else {
      if (r.path[0] == '/') {
        path = RemoveDotSegments(r.path);
      } else {
        std::string merged;
        if (bp.path.empty()) {
          merged = "/";
        } else {
          merged = std::string(bp.path.substr(0, bp.path.rfind('/') + 1));
        }
        merged += r.path;
        path = RemoveDotSegments(merged);
      }
      query = r.query;
      has_query = r.has_query;
    }
  }
  t += path;
  if (has_query) {
    t += '?';
    t += query;
  }
  if (r.has_fragment) {
    t += '#';
    t += r.fragment;
  }
  if (!CanonicalizeAbsolute(t, false, &f)) return std::nullopt;
  f.raw = std::move(v);
  return f;
}

std::string RegisteredDomain(std::string_view host) {
  // Canonical hosts are lower-case already: work on a view and copy only the answer, which
  // is short enough not to allocate (this runs for every URL found).
  std::string converted;
  std::string_view h = host;
  if (std::any_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    converted = ToLower(host);
    h = converted;
  }
  while (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (h.empty() || h[0] == '[' || IsDottedQuad(h)) return std::string(h);
  // A numeric last label is no TLD: "256.1.1.1" is a bad address, not a name under "1".
  size_t tld = h.rfind('.') + 1;
  if (std::all_of(h.begin() + tld, h.end(), [](char c) { return IsDigit(c); })) {
    return std::string(h);
  }
  if (!AllAscii(h)) {
    converted = HostToAscii(h);
    h = converted;
  }
  if (h.find('\0') != std::string_view::npos || Psl() == nullptr) return std::string(h);
  return std::string(h.substr(RegisteredDomainOffset(h)));
}

std::string HostToAscii(std::string_view host_utf8) {
  std::string in(host_utf8);
  if (AllAscii(in)) return ToLower(in);
  std::string out;
  return IdnToAscii(in, &out) ? out : in;
}

std::string HostToUnicode(std::string_view host_ascii) {
  std::string in(host_ascii);
  if (!HasXnLabel(in)) return in;
  std::string out;
  return IdnToUnicode(in, &out) ? out : in;
}

}  // namespace veto::email
