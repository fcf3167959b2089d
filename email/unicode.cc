#include "email/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/utf8.h"

namespace veto::email {
namespace {

// NFKC_Casefold as utf8proc_NFKC_Casefold computes it. UTF8PROC_IGNORE drops Unicode's
// default-ignorable code points: the zero-width and format characters the header lists, and
// also bidi controls, variation selectors and the like, which are just as invisible and just as
// useful to a spammer splitting a word.
constexpr utf8proc_option_t kOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Eight ASCII bytes lower-cased at once: a byte's high bit, after adding a bias, tells whether
// it is >= 'A' and whether it is > 'Z'; the difference, shifted to bit 5, is the 0x20 to add.
// No carry crosses bytes because every byte is below 0x80.
inline uint64_t LowerAscii8(uint64_t v) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t ge_a = v + kOnes * (0x80 - 'A');
  const uint64_t gt_z = v + kOnes * (0x80 - 'Z' - 1);
  return v | ((ge_a & ~gt_z & kHighBits) >> 2);
}

inline char LowerAscii(char c) {
  return static_cast<unsigned char>(c - 'A') < 26 ? static_cast<char>(c | 0x20) : c;
}

// Decodes the code point at p (p < end), or U+FFFD for an ill-formed sequence (the maximal
// subpart consumed: core/utf8.h).
inline char32_t DecodeOne(const uint8_t* p, const uint8_t* end, size_t* len) {
  const char32_t cp = DecodeUtf8(p, end, len);
  return cp == kIllFormedUtf8 ? 0xFFFD : cp;
}

// The invisible characters the contract names. utf8proc flags them all as ignorable; the
// explicit test keeps the contract independent of its tables.
inline bool IsListedInvisible(char32_t cp) {
  return cp == 0x00AD || cp == 0x034F || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF;
}

const utf8proc_property_t* Property(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
}

inline bool IsHangulVowelOrTrailingJamo(char32_t cp) {
  return (cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2);
}

// Whether the character can be the second half of a canonical composition.
inline bool IsCompositionSecond(const utf8proc_property_t* prop) {
  return prop->comb_index != UINT16_MAX && prop->comb_index >= 0x8000;
}

// A character NFKC_Casefold maps to itself and that cannot merge into what precedes it: no
// decomposition, no case folding, not ignorable, a starter, not a composition's second half.
// Hangul composes algorithmically, outside those tables, hence the jamo test. Most text in most
// scripts is made of such characters; they skip utf8proc entirely.
inline bool IsInert(char32_t cp, const utf8proc_property_t* prop) {
  return prop->decomp_seqindex == UINT16_MAX && prop->casefold_seqindex == UINT16_MAX &&
         !prop->ignorable && prop->combining_class == 0 && !IsCompositionSecond(prop) &&
         !IsHangulVowelOrTrailingJamo(cp);
}

// Whether a decomposition starting with `first` can reorder with or compose onto the preceding
// character. Note this looks at the decomposition: U+FF9E (halfwidth voiced mark) is a starter,
// but its compatibility form U+3099 is a mark that composes with a preceding kana.
inline bool Attaches(utf8proc_int32_t first) {
  const utf8proc_property_t* prop = utf8proc_get_property(first);
  return prop->combining_class != 0 || IsCompositionSecond(prop) ||
         IsHangulVowelOrTrailingJamo(static_cast<char32_t>(first));
}

// IsInert for the BMP as a bitmap (8 KB, built on first use): the lookup replaces a two-level
// property-table walk per character.
class BmpInertSet {
 public:
  BmpInertSet() {
    for (char32_t cp = 0; cp < 0x10000; ++cp) {
      if (IsInert(cp, Property(cp))) bits_[cp / 64] |= uint64_t{1} << (cp % 64);
    }
  }
  bool Contains(char32_t cp) const { return (bits_[cp / 64] >> (cp % 64)) & 1; }

 private:
  uint64_t bits_[0x10000 / 64] = {};
};

const BmpInertSet& BmpInert() {
  static const BmpInertSet* const bmp = new BmpInertSet();
  return *bmp;
}

constexpr size_t kMaxDecomposition = 32;  // the longest NFKC_Casefold expansion is 18
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Appends to the caller's string through a cursor, growing it geometrically; the final size is
// set once at the end.
class Writer {
 public:
  Writer(std::string* out, size_t expect) : out_(out), start_(out->size()), pos_(start_) {
    out_->resize(start_ + expect);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() { out_->resize(pos_); }

  char* Reserve(size_t n) {
    if (pos_ + n > out_->size()) out_->resize(std::max(out_->size() * 2, pos_ + n));
    return out_->data() + pos_;
  }
  void Advance(size_t n) { pos_ += n; }
  void Append(const char* p, size_t n) {
    std::memcpy(Reserve(n), p, n);
    pos_ += n;
  }
  void Append(std::string_view s) { Append(s.data(), s.size()); }
  // Takes back the last byte written by this call if it is ASCII other than a line break, so
  // a following combining mark can compose with it; returns -1 if there is none.
  int TakeBackAscii() {
    if (pos_ == start_) return -1;
    const auto c = static_cast<uint8_t>((*out_)[pos_ - 1]);
    if (c >= 0x80 || c == '\n') return -1;
    --pos_;
    return c;
  }

 private:
  std::string* out_;
  size_t start_;
  size_t pos_;
};

// One character of a non-ASCII run, with its NFKC_Casefold decomposition unless inert.
struct Item {
  const uint8_t* bytes;
  size_t len;
  char32_t cp;  // U+FFFD for ill-formed bytes
  bool inert;
  bool attaches;  // its decomposition may merge into what precedes it
  size_t n;       // decomposition length
  utf8proc_int32_t dec[kMaxDecomposition];
};

// Decompositions of the non-inert characters seen recently, and their normalised form when
// they stand alone (neither they nor their successor attach). Text in one language repeats a
// few dozen such characters (é, Ä, fullwidth punctuation, capitals), so this saves most
// utf8proc calls.
class CharCache {
 public:
  struct Entry {
    char32_t cp = 0xFFFFFFFF;
    uint8_t n = 0;            // decomposition length
    uint8_t utf8_len = 0xFF;  // standalone form; 0xFF = not computed yet
    utf8proc_int32_t dec[6];
    char utf8[14];
  };
  static constexpr size_t kMaxCachedDecomposition = 6;

  Entry* Find(char32_t cp) {
    Entry& e = entries_[cp % kEntries];
    return e.cp == cp ? &e : nullptr;
  }
  Entry* Insert(char32_t cp, const utf8proc_int32_t* dec, size_t n) {
    if (n > kMaxCachedDecomposition) return nullptr;
    Entry& e = entries_[cp % kEntries];
    e.cp = cp;
    e.n = static_cast<uint8_t>(n);
    e.utf8_len = 0xFF;
    std::copy(dec, dec + n, e.dec);
    return &e;
  }

 private:
  static constexpr size_t kEntries = 64;
  Entry entries_[kEntries];
};

// Reads the next character of the run at *u, skipping the ones normalisation removes. Returns
// false at the end of the run (an ASCII byte or the end of input).
bool NextItem(const BmpInertSet& bmp, CharCache* cache, const uint8_t** u, const uint8_t* end,
              Item* it) {
  while (*u < end && **u >= 0x80) {
    it->bytes = *u;
    it->cp = DecodeOne(*u, end, &it->len);
    *u += it->len;
    if (IsListedInvisible(it->cp)) continue;
    if (it->cp < 0x10000 ? bmp.Contains(it->cp) : IsInert(it->cp, Property(it->cp))) {
      it->inert = true;
      it->attaches = false;
      it->n = 1;
      it->dec[0] = static_cast<utf8proc_int32_t>(it->cp);
      return true;
    }
    utf8proc_ssize_t k;
    if (const CharCache::Entry* e = cache->Find(it->cp)) {
      k = e->n;
      std::copy(e->dec, e->dec + e->n, it->dec);
    } else {
      int boundclass = 0;
      k = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(it->cp), it->dec, kMaxDecomposition,
                                  kOptions, &boundclass);
      if (k < 0 || k > static_cast<utf8proc_ssize_t>(kMaxDecomposition)) {  // cannot happen
        it->dec[0] = static_cast<utf8proc_int32_t>(it->cp);
        k = 1;
      }
      cache->Insert(it->cp, it->dec, static_cast<size_t>(k));
    }
    if (k == 0) continue;  // default-ignorable
    it->inert = false;
    it->n = static_cast<size_t>(k);
    it->attaches = Attaches(it->dec[0]);
    return true;
  }
  return false;
}

// Canonical reordering and composition of a buffer of decomposed code points, then UTF-8 out.
// Returns the number of bytes written to `o`, which must have room for 4 bytes per code point.
size_t ComposeAndEncode(utf8proc_int32_t* buf, size_t len, char* o) {
  // Canonical ordering: a stable sort of each run of marks by combining class. utf8proc does
  // this inside utf8proc_decompose, which the per-character path bypasses.
  size_t i = 0;
  while (i < len) {
    if (utf8proc_get_property(buf[i])->combining_class == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < len && utf8proc_get_property(buf[j])->combining_class != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(buf + i, buf + j, [](utf8proc_int32_t a, utf8proc_int32_t b) {
        return utf8proc_get_property(a)->combining_class <
               utf8proc_get_property(b)->combining_class;
      });
    }
    i = j;
  }
  const utf8proc_ssize_t m =
      utf8proc_normalize_utf32(buf, static_cast<utf8proc_ssize_t>(len), kOptions);
  const size_t n = m < 0 ? len : static_cast<size_t>(m);
  size_t written = 0;
  for (size_t k = 0; k < n; ++k) {
    written += static_cast<size_t>(
        utf8proc_encode_char(buf[k], reinterpret_cast<utf8proc_uint8_t*>(o + written)));
  }
  return written;
}

// Writes the normalised form of a non-inert character that stands alone.
void EmitStandalone(const Item& it, CharCache* cache, Writer* w) {
  CharCache::Entry* e = cache->Find(it.cp);
  if (e != nullptr && e->utf8_len != 0xFF) {
    w->Append(e->utf8, e->utf8_len);
    return;
  }
  utf8proc_int32_t buf[kMaxDecomposition];
  std::copy(it.dec, it.dec + it.n, buf);
  char tmp[kMaxDecomposition * 4];
  const size_t len = ComposeAndEncode(buf, it.n, tmp);
  if (e != nullptr && len <= sizeof(e->utf8)) {
    e->utf8_len = static_cast<uint8_t>(len);
    std::memcpy(e->utf8, tmp, len);
  }
  w->Append(tmp, len);
}

// Characters whose normalised form depends on their neighbours collect here until a character
// that cannot attach to them arrives. A run of marks longer than the buffer (no real text has
// one; Unicode's stream-safe format caps them at 30) is cut, which bounds the work.
class Pending {
 public:
  explicit Pending(Writer* w) : w_(w) {}
  bool empty() const { return len_ == 0; }

  void Add(const utf8proc_int32_t* cps, size_t n, bool attaches) {
    if (!attaches || len_ + n > kCapacity) Flush();
    std::copy(cps, cps + n, buf_ + len_);
    len_ += n;
  }
  void Flush() {
    if (len_ == 0) return;
    w_->Advance(ComposeAndEncode(buf_, len_, w_->Reserve(len_ * 4)));
    len_ = 0;
  }

 private:
  static constexpr size_t kCapacity = 1024;
  Writer* w_;
  utf8proc_int32_t buf_[kCapacity];
  size_t len_ = 0;
};

// Advances *u over well-formed, inert BMP characters; returns where the last of them starts
// (nullptr if none). Stops at ASCII, at anything else, and before 4-byte sequences (left to
// the general path).
const uint8_t* ScanInertSpan(const BmpInertSet& bmp, const uint8_t** u, const uint8_t* end) {
  const uint8_t* p = *u;
  const uint8_t* last = nullptr;
  while (p < end) {
    const uint8_t c = p[0];
    char32_t cp;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
      if (end - p < 2 || (p[1] & 0xC0) != 0x80) break;
      cp = (char32_t{c & 0x1Fu} << 6) | (p[1] & 0x3Fu);
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) break;
      cp = (char32_t{c & 0x0Fu} << 12) | (char32_t{p[1] & 0x3Fu} << 6) | (p[2] & 0x3Fu);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) break;  // overlong, surrogate
      len = 3;
    } else {
      break;
    }
    if (!bmp.Contains(cp) || cp == 0xFFFD) break;
    last = p;
    p += len;
  }
  *u = p;
  return last;
}

}  // namespace

void NormalizeForMatch(std::string_view utf8, std::string* out) {
  Writer w(out, utf8.size());
  Pending pending(&w);
  CharCache cache;
  Item items[2];
  const BmpInertSet& bmp = BmpInert();
  const char* p = utf8.data();
  const char* const end = p + utf8.size();
  while (p < end) {
    // ASCII: NFKC_Casefold is plain lower-casing, eight bytes per step.
    char* o = w.Reserve(static_cast<size_t>(end - p));
    const char* q = p;
    while (end - q >= 8) {
      uint64_t v;
      std::memcpy(&v, q, 8);
      if (v & kHighBits) break;
      v = LowerAscii8(v);
      std::memcpy(o, &v, 8);
      o += 8;
      q += 8;
    }
    while (q < end && static_cast<uint8_t>(*q) < 0x80) *o++ = LowerAscii(*q++);
    w.Advance(static_cast<size_t>(q - p));
    p = q;
    if (p == end) break;

    // Non-ASCII up to the next ASCII byte (ASCII never attaches to what precedes it).
    const auto* u = reinterpret_cast<const uint8_t*>(p);
    const auto* const uend = reinterpret_cast<const uint8_t*>(end);
    Item* cur = &items[0];
    Item* next = &items[1];
    bool run_start = true;
    while (true) {
      // Fast path: a span of inert characters is copied as it is, unless its last character
      // turns out to be followed by one that attaches to it.
      const uint8_t* const span = u;
      const uint8_t* const last = ScanInertSpan(bmp, &u, uend);
      const uint8_t* const span_end = u;
      if (!NextItem(bmp, &cache, &u, uend, cur)) {  // the character that ended the span
        w.Append(reinterpret_cast<const char*>(span), static_cast<size_t>(span_end - span));
        break;
      }
      if (last != nullptr && cur->attaches) {
        w.Append(reinterpret_cast<const char*>(span), static_cast<size_t>(last - span));
        size_t len;
        const auto c = static_cast<utf8proc_int32_t>(DecodeOne(last, uend, &len));
        pending.Add(&c, 1, false);
      } else {
        w.Append(reinterpret_cast<const char*>(span), static_cast<size_t>(span_end - span));
        // A leading mark composes with the ASCII character before it ("e" U+0301 -> U+00E9).
        if (run_start && span == span_end && cur->attaches) {
          if (int prev = w.TakeBackAscii(); prev >= 0) {
            const utf8proc_int32_t c = prev;
            pending.Add(&c, 1, false);
          }
        }
      }
      run_start = false;

      // Slow path, one character of lookahead, until a character stands alone again.
      bool has_next;
      while (true) {
        has_next = NextItem(bmp, &cache, &u, uend, next);
        if (cur->attaches || (has_next && next->attaches)) {
          pending.Add(cur->dec, cur->n, cur->attaches);
        } else {
          pending.Flush();
          if (cur->inert) {
            w.Append(cur->cp == 0xFFFD
                         ? kReplacement  // also for ill-formed bytes
                         : std::string_view(reinterpret_cast<const char*>(cur->bytes), cur->len));
          } else {
            EmitStandalone(*cur, &cache, &w);
          }
        }
        if (!has_next) break;
        std::swap(cur, next);
        if (pending.empty() && cur->inert && cur->cp != 0xFFFD) {
          u = cur->bytes;  // back to the fast path, which reads it again
          break;
        }
      }
      if (!has_next) break;
    }
    pending.Flush();
    p = reinterpret_cast<const char*>(u);
  }
}

}  // namespace veto::email
