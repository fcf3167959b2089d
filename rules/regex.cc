// SpamAssassin's Perl regexes for Hyperscan and PCRE2.
//
// Neither engine can be handed a SpamAssassin regex as written: Perl's syntax is wider (\x{..},
// \N{U+..}, {,n}, (?^..), /x comments), and SpamAssassin's implicit /aa + byte-string semantics
// fold Latin-1 letters under /i, which both engines do for ASCII only in their byte modes. So
// the pattern is parsed by a small recursive-descent rewriter (Translator below) that
// understands escapes, classes, groups, quantifiers and inline flag scopes, and re-emits it in
// a canonical subset both engines read the same way:
//
//   - every class (and \d \w \s \h \v \N, POSIX classes, Latin-1 letters under /i) is computed
//     as a 256-bit byte set with Perl's /aa meaning, closed under Perl's case folding where /i
//     is in effect (ASCII, and Latin-1 C0-DE <-> E0-FE except D7/F7), and emitted as the
//     shortest of a literal, \w \d \s (ASCII in both engines' byte modes), or an explicit class;
//   - literal bytes are never emitted raw (a NUL would end Hyperscan's C string; whitespace and
//     '#' would matter under extended mode): \xNN or a backslash-escaped ASCII character;
//   - code points above 0xFF (\x{263A}, \N{U+..}, \o{..}, \400) become their UTF-8 bytes,
//     wrapped in (?:...) so a quantifier applies to the whole sequence; a class containing them
//     becomes an alternation of byte-range sequences (Utf8Sequences). Subjects are bytes, so
//     neither engine runs in UTF mode;
//   - /x and /xx whitespace and comments go; inline modifiers are re-emitted as the i/m/s
//     difference only ((?^..) has no Hyperscan spelling); the charset (/aa vs /d) is tracked;
//   - {,n} becomes {0,n}; X{0} and optional assertions vanish where an engine rejects them; a
//     `{` that is no quantifier is literal where Perl says so; and the Perl errors for which
//     SpamAssassin rejects a rule (nested quantifiers, unknown escapes, bad ranges, ...) are
//     reported as such.
//
// The same parse runs twice: once to count capture groups (Perl decides between \10 as a
// back-reference and as an octal escape by the total), once to emit. It emits for one target
// at a time: PCRE2 keeps named groups and real back-references; Hyperscan gets plain groups,
// numeric references (which it only approximates, in prefilter mode), a superset for what it
// cannot parse even as a prefilter (\K, \G, recursion), and in prefilter mode two
// relaxations: large bounded repeats widened to unbounded, embedded anchors dropped.
//
// PCRE2 runs with character tables that add Perl's Latin-1 case pairs (so caseless
// back-references compare like Perl's), no auto-possessification where the pattern has atomic
// or possessive parts, and JIT except for the pattern shapes PCRE2 10.42's JIT gets wrong.
//
// Known differences from Perl, none of them in the stock rules: \x{100+} matches its UTF-8
// bytes (Perl, on a byte string: never); /a, /u, /l, and /d with Unicode escapes are refused;
// a caseless back-reference in a /d scope folds Latin-1; CountMatches after an empty match can
// differ from Perl's //g for optional groups that can match empty (PCRE2 backtracks into them
// differently under NOTEMPTY_ATSTART); Hyperscan refuses patterns that can never match, and
// expressions over its 16 K length limit become "confirm every text" prefilters.
#include "rules/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <locale.h>
#include <pcre2.h>

#include <algorithm>
#include <atomic>
#include <bitset>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/strings.h"
#include "rules/regex_analysis.h"

namespace veto::rules {
namespace {

using ::veto::Cat;
using ::veto::Join;

using ByteSet = std::bitset<256>;

bool IsAsciiWord(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsOctal(unsigned char c) { return c >= '0' && c <= '7'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

absl::Status Invalid(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

// ---------------------------------------------------------------------------------------------
// Modifiers.

// The matching mode in one scope of the pattern. latin1_fold is Perl's charset: SpamAssassin
// compiles with /aa, which folds Latin-1 letters under /i; (?d) and (?^...) switch back to the
// "depends" rules, under which a byte string folds ASCII only.
struct Mode {
  bool i = false;
  bool m = false;
  bool s = false;
  bool x = false;
  bool xx = false;
  bool n = false;
  bool latin1_fold = true;
};

// Applies a Perl modifier string ("i", "^ms", "i-sx") to `mode`, with Perl's own validity
// rules, because SpamAssassin compiles the rule's modifiers as a leading (?mods) group: a letter
// Perl rejects (or only warns about, like g, o, c: SpamAssassin dies on those warnings) makes
// the rule invalid. Charset letters that change more than the fold table are not supported
// (/a folds U+00DF to "ss", /u and /l widen \w and \s to Latin-1): neither engine can run them.
absl::Status ApplyModifiers(std::string_view mods, bool allow_caret, Mode& mode) {
  size_t pos = 0;
  if (allow_caret && pos < mods.size() && mods[pos] == '^') {
    mode.i = mode.m = mode.s = mode.x = mode.xx = mode.n = false;
    mode.latin1_fold = false;  // (?^) means d-imnsx
    ++pos;
  }
  int a_count = 0, d_count = 0, l_count = 0, u_count = 0, x_count = 0;
  bool negate = false;
  bool caret = pos > 0;
  for (; pos < mods.size(); ++pos) {
    char c = mods[pos];
    if (c == '-') {
      if (negate) return Invalid("modifier '-' may appear only once");
      if (caret) return Invalid("(?^-...) is not recognized");
      negate = true;
      continue;
    }
    switch (c) {
      case 'i':
        mode.i = !negate;
        break;
      case 'm':
        mode.m = !negate;
        break;
      case 's':
        mode.s = !negate;
        break;
      case 'n':
        mode.n = !negate;
        break;
      case 'x':
        if (negate) {
          mode.x = mode.xx = false;
        } else {
          ++x_count;
        }
        break;
      case 'p':
        if (negate) return Invalid("useless use of (?-p)");
        break;
      case 'a':
      case 'd':
      case 'l':
      case 'u':
        if (negate) {
          return Invalid(Cat("modifier '", std::string(1, c), "' may not appear after '-'"));
        }
        if (c == 'a') ++a_count;
        if (c == 'd') ++d_count;
        if (c == 'l') ++l_count;
        if (c == 'u') ++u_count;
        if (a_count > 2) return Invalid("modifier 'a' may appear at most twice");
        if (d_count > 1 || l_count > 1 || u_count > 1) {
          return Invalid(Cat("modifier '", std::string(1, c), "' may not appear twice"));
        }
        if ((a_count > 0) + (d_count > 0) + (l_count > 0) + (u_count > 0) > 1) {
          return Invalid("charset modifiers a, d, l, u are mutually exclusive");
        }
        break;
      case 'g':
      case 'o':
      case 'c':
        return Invalid(Cat("useless modifier '", std::string(1, c),
                           "' (Perl warns, SpamAssassin rejects the rule)"));
      case 'e':
        return Invalid("modifier 'e' is not allowed");
      default:
        return Invalid(Cat("unknown modifier '", std::string(1, c), "'"));
    }
  }
  if (x_count > 0) {
    mode.x = true;
    mode.xx = x_count > 1;
  }
  if (a_count == 2) mode.latin1_fold = true;
  if (d_count == 1) mode.latin1_fold = false;
  // Valid Perl, but not runnable the same way: kUnimplemented lets ParsePerlRegex accept them.
  if (a_count == 1) {
    return absl::UnimplementedError("charset modifier /a (single) is not supported; use /aa");
  }
  if (l_count == 1 || u_count == 1) {
    return absl::UnimplementedError(
        "charset modifiers /l and /u are not supported (Latin-1 \\w, \\s, folding)");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Byte sets with Perl's /aa meaning.

ByteSet RangeSet(int lo, int hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(c);
  return s;
}

ByteSet DigitSet() { return RangeSet('0', '9'); }
ByteSet WordSet() {
  return RangeSet('0', '9') | RangeSet('A', 'Z') | RangeSet('a', 'z') | RangeSet('_', '_');
}
// Perl's \s includes VT since 5.18; /aa keeps it ASCII (no NEL 0x85, no NBSP 0xA0).
ByteSet SpaceSet() { return RangeSet('\t', '\r') | RangeSet(' ', ' '); }
// \h and \v are not restricted by /a: on a byte string they include NBSP and NEL [ran].
ByteSet HSpaceSet() { return RangeSet('\t', '\t') | RangeSet(' ', ' ') | RangeSet(0xA0, 0xA0); }
ByteSet VSpaceSet() { return RangeSet('\n', '\r') | RangeSet(0x85, 0x85); }

// POSIX classes under /aa: ASCII only.
bool PosixSet(std::string_view name, ByteSet& out) {
  static const std::map<std::string_view, ByteSet> kSets = [] {
    std::map<std::string_view, ByteSet> m;
    ByteSet upper = RangeSet('A', 'Z'), lower = RangeSet('a', 'z'), digit = DigitSet();
    ByteSet punct =
        RangeSet('!', '/') | RangeSet(':', '@') | RangeSet('[', '`') | RangeSet('{', '~');
    m["alpha"] = upper | lower;
    m["alnum"] = upper | lower | digit;
    m["ascii"] = RangeSet(0, 0x7F);
    m["blank"] = RangeSet(' ', ' ') | RangeSet('\t', '\t');
    m["cntrl"] = RangeSet(0, 0x1F) | RangeSet(0x7F, 0x7F);
    m["digit"] = digit;
    m["graph"] = RangeSet('!', '~');
    m["lower"] = lower;
    m["print"] = RangeSet(' ', '~');
    m["punct"] = punct;
    m["space"] = SpaceSet();
    m["upper"] = upper;
    m["word"] = WordSet();
    m["xdigit"] = digit | RangeSet('A', 'F') | RangeSet('a', 'f');
    return m;
  }();
  auto it = kSets.find(name);
  if (it == kSets.end()) return false;
  out = it->second;
  return true;
}

// Perl's single-byte case partner of `b` under /i with /aa on a byte string, or -1.
int FoldPartner(unsigned char b, bool latin1) {
  if (b >= 'A' && b <= 'Z') return b + 32;
  if (b >= 'a' && b <= 'z') return b - 32;
  if (!latin1) return -1;
  if (b >= 0xC0 && b <= 0xDE && b != 0xD7) return b + 32;
  if (b >= 0xE0 && b <= 0xFE && b != 0xF7) return b - 32;
  return -1;
}

// The set with every member's FoldPartner added. Word-wide shifts: each partner is 32 above or
// below its letter (ParseClass runs this on every class of the 100 KB ReplaceTags patterns).
ByteSet FoldClosure(const ByteSet& s, bool latin1) {
  static const ByteSet kUpper = RangeSet('A', 'Z');
  static const ByteSet kLatin1Upper = RangeSet(0xC0, 0xDE) & ~RangeSet(0xD7, 0xD7);
  ByteSet upper = kUpper;
  if (latin1) upper |= kLatin1Upper;
  ByteSet lower = upper << 32;
  return s | ((s & upper) << 32) | ((s & lower) >> 32);
}

// Simple (one-to-one) case partners of code points above 0xFF, for \x{...} under /i. Perl folds
// all of Unicode; this covers the scripts rule writers target (Latin Extended-A and Additional,
// Greek, Cyrillic, Armenian, fullwidth Latin). Elsewhere the code point matches as written.
// Folds that cross into ASCII or Latin-1 (U+017F, U+212A, U+0178) are left out on purpose: /aa
// forbids the ASCII ones, and Latin-1 characters are raw bytes here, not UTF-8.
std::vector<uint32_t> CodePointPartners(uint32_t cp) {
  struct FoldRange {
    uint32_t lo, hi;
    uint32_t delta;  // 0: alternating upper/lower pairs from lo; else [lo,hi] <-> [lo,hi]+delta
  };
  static constexpr FoldRange kRanges[] = {
      {0x100, 0x12F, 0},      {0x132, 0x137, 0},    {0x139, 0x148, 0},    {0x14A, 0x177, 0},
      {0x179, 0x17E, 0},      {0x386, 0x386, 0x26}, {0x388, 0x38A, 0x25}, {0x38C, 0x38C, 0x40},
      {0x38E, 0x38F, 0x3F},   {0x391, 0x3A1, 0x20}, {0x3A4, 0x3AB, 0x20}, {0x400, 0x40F, 0x50},
      {0x410, 0x42F, 0x20},   {0x460, 0x481, 0},    {0x48A, 0x4BF, 0},    {0x4C1, 0x4CE, 0},
      {0x4D0, 0x52F, 0},      {0x531, 0x556, 0x30}, {0x1E00, 0x1E95, 0},  {0x1EA0, 0x1EFF, 0},
      {0xFF21, 0xFF3A, 0x20},
  };
  if (cp == 0x3A3 || cp == 0x3C3 || cp == 0x3C2) {  // Sigma, sigma and final sigma
    std::vector<uint32_t> out;
    for (uint32_t q : {0x3A3u, 0x3C3u, 0x3C2u}) {
      if (q != cp) out.push_back(q);
    }
    return out;
  }
  for (const FoldRange& r : kRanges) {
    if (r.delta == 0 && cp >= r.lo && cp <= r.hi) {
      return {(cp - r.lo) % 2 == 0 ? cp + 1 : cp - 1};
    }
    if (r.delta != 0 && cp >= r.lo && cp <= r.hi) return {cp + r.delta};
    if (r.delta != 0 && cp >= r.lo + r.delta && cp <= r.hi + r.delta) return {cp - r.delta};
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Emission helpers.

std::string HexByte(unsigned char b) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "\\x";
  s += kDigits[b >> 4];
  s += kDigits[b & 15];
  return s;
}

// A literal byte in a form both engines read the same way in and out of classes, with or
// without extended mode: letters and digits as themselves, other printable ASCII escaped with
// a backslash, everything else (space, controls, bytes >= 0x7F) as \xNN. Never raw: a NUL
// would end Hyperscan's C string, and whitespace or '#' would mean something under /x.
std::string LiteralByte(unsigned char b) {
  if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
    return std::string(1, static_cast<char>(b));
  }
  if (b > 0x20 && b < 0x7F) return std::string{'\\', static_cast<char>(b)};
  return HexByte(b);
}

// How the engine folds case where a byte set is emitted: not at all, ASCII letters (Hyperscan,
// or PCRE2 in a /d scope), or ASCII and Latin-1 letters (PCRE2 with PerlCharacterTables).
enum class EngineFold { kNone, kAscii, kLatin1 };

// The members of a set as bracket-class content: \w \d \s where the set contains them all
// (they are ASCII in both engines' byte modes, and compile smaller than explicit ranges: PCRE2's
// 64 KB code limit and Hyperscan's 16 K pattern length are both reached by large stock rules),
// then ranges.
std::string ClassBody(ByteSet set) {
  static const ByteSet kWord = WordSet(), kDigit = DigitSet(), kSpace = SpaceSet();
  std::string out;
  if ((set & kWord) == kWord) {
    out += "\\w";
    set &= ~kWord;
  } else if ((set & kDigit) == kDigit) {
    out += "\\d";
    set &= ~kDigit;
  }
  if ((set & kSpace) == kSpace) {
    out += "\\s";
    set &= ~kSpace;
  }
  // Runs of members, found with libstdc++'s word-wise _Find_first/_Find_next.
  const ByteSet absent = ~set;
  for (size_t c = set._Find_first(); c < 256;) {
    size_t end = absent._Find_next(c) - 1;  // _Find_next gives 256 past the last member
    out += LiteralByte(static_cast<unsigned char>(c));
    if (end == c + 1) {
      out += LiteralByte(static_cast<unsigned char>(end));
    } else if (end > c + 1) {
      out += '-';
      out += LiteralByte(static_cast<unsigned char>(end));
    }
    c = end + 1 < 256 ? set._Find_next(end) : 256;
  }
  return out;
}

// The shortest regex for "one byte of `set`": a literal (one byte, or a case pair the engine
// folds by itself), a shorthand, or a bracket class, positive or negated.
std::string ByteSetToClassUncached(const ByteSet& set, EngineFold fold);

// The same classes come up thousands of times in the ReplaceTags patterns (one per look-alike
// letter, in every rule that uses the tag), so each thread remembers the ones it has emitted.
std::string ByteSetToClass(const ByteSet& set, EngineFold fold = EngineFold::kNone) {
  struct Key {
    ByteSet set;
    EngineFold fold;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<ByteSet>()(k.set) * 31 + static_cast<size_t>(k.fold);
    }
  };
  thread_local std::unordered_map<Key, std::string, KeyHash> memo;
  auto [it, inserted] = memo.try_emplace(Key{set, fold});
  if (inserted) {
    if (memo.size() > 4096) {  // bounded: a hostile rule set cannot grow it without limit
      memo.clear();
      return ByteSetToClassUncached(set, fold);
    }
    it->second = ByteSetToClassUncached(set, fold);
  }
  return it->second;
}

std::string ByteSetToClassUncached(const ByteSet& set, EngineFold fold) {
  size_t count = set.count();
  // Always-false: Hyperscan rejects a pattern that can never match, PCRE2 reads this fine.
  if (count == 0) return "[^\\x00-\\xff]";
  if (count == 256) return "[\\x00-\\xff]";
  int first = 0;
  while (!set.test(first)) ++first;
  unsigned char b = static_cast<unsigned char>(first);
  if (count == 1) return LiteralByte(b);
  if (count == 2 && fold != EngineFold::kNone) {
    int partner = FoldPartner(b, fold == EngineFold::kLatin1);
    // The lower-case member (the higher byte) reads more like what rule writers write.
    if (partner >= 0 && set.test(partner)) return LiteralByte(static_cast<unsigned char>(partner));
  }
  static const std::pair<ByteSet, const char*> kShorthands[] = {
      {WordSet(), "\\w"},   {~WordSet(), "\\W"}, {DigitSet(), "\\d"},
      {~DigitSet(), "\\D"}, {SpaceSet(), "\\s"}, {~SpaceSet(), "\\S"},
  };
  for (const auto& [shorthand, text] : kShorthands) {
    if (set == shorthand) return text;
  }
  std::string positive = Cat("[", ClassBody(set), "]");
  std::string negative = Cat("[^", ClassBody(~set), "]");
  return negative.size() < positive.size() ? negative : positive;
}

std::string EscapedBytes(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) out += LiteralByte(b);
  return out;
}

// A byte-range sequence: one [lo, hi] per byte position of a UTF-8 encoding.
using ByteRanges = std::vector<std::pair<unsigned char, unsigned char>>;

// Splits the code point range [lo, hi] (both > 0x7F) into sequences of byte ranges whose
// cross product is exactly the UTF-8 encodings of the range (the RE2 / utf8-ranges method:
// split at encoding-length boundaries, then until all continuation bytes span full ranges).
void Utf8Sequences(uint32_t lo, uint32_t hi, std::vector<ByteRanges>& out) {
  static const uint32_t kMaxForLength[] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  for (uint32_t max : kMaxForLength) {
    if (lo <= max && hi > max) {
      Utf8Sequences(lo, max, out);
      Utf8Sequences(max + 1, hi, out);
      return;
    }
  }
  int length = hi <= 0x7F ? 1 : hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4;
  for (int i = 1; i < length; ++i) {
    uint32_t mask = (1u << (6 * i)) - 1;
    if ((lo & ~mask) != (hi & ~mask)) {
      if ((lo & mask) != 0) {
        Utf8Sequences(lo, lo | mask, out);
        Utf8Sequences((lo | mask) + 1, hi, out);
        return;
      }
      if ((hi & mask) != mask) {
        Utf8Sequences(lo, (hi & ~mask) - 1, out);
        Utf8Sequences(hi & ~mask, hi, out);
        return;
      }
    }
  }
  std::string a, b;
  AppendUtf8(lo, &a);
  AppendUtf8(hi, &b);
  ByteRanges seq;
  for (size_t k = 0; k < a.size(); ++k) {
    seq.emplace_back(static_cast<unsigned char>(a[k]), static_cast<unsigned char>(b[k]));
  }
  out.push_back(std::move(seq));
}

std::string ByteRangesToString(const ByteRanges& seq) {
  std::string out;
  for (auto [lo, hi] : seq) {
    if (lo == hi) {
      out += LiteralByte(lo);
    } else {
      out += Cat("[", LiteralByte(lo), "-", LiteralByte(hi), "]");
    }
  }
  return out;
}

using CodePointRanges = std::vector<std::pair<uint32_t, uint32_t>>;

CodePointRanges Normalize(CodePointRanges r) {
  std::sort(r.begin(), r.end());
  CodePointRanges out;
  for (auto [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

// Adds the case partners of every code point in `r` that has one (bounded: the fold blocks of
// CodePointPartners all lie below U+1F00 or in U+FF21-FF5A).
CodePointRanges FoldCodePoints(const CodePointRanges& r) {
  CodePointRanges out = r;
  auto visit = [&](uint32_t lo, uint32_t hi) {
    for (uint32_t cp = lo; cp <= hi; ++cp) {
      for (uint32_t p : CodePointPartners(cp)) out.emplace_back(p, p);
    }
  };
  for (auto [lo, hi] : r) {
    if (lo < 0x1F00) visit(lo, std::min<uint32_t>(hi, 0x1EFF));
    if (hi >= 0xFF21 && lo <= 0xFF5A) {
      visit(std::max<uint32_t>(lo, 0xFF21), std::min<uint32_t>(hi, 0xFF5A));
    }
  }
  return Normalize(std::move(out));
}

// ---------------------------------------------------------------------------------------------
// The rewriter.

enum class Target { kHyperscan, kPcre2 };

// How to emit. The two relaxations are for Hyperscan's prefilter mode only, where any superset
// of the Perl language is sound because PCRE2 confirms every hit.
struct EmitOptions {
  Target target = Target::kPcre2;
  // {n,m} with a large m becomes {n,}: Hyperscan's prefilter compile of nested large bounded
  // repeats can take seconds (stock __SPOOFED_URL: 23 s -> 18 ms).
  bool widen_repeats = false;
  // With widen_repeats, a bounded repeat of a group with a maximum of this or more becomes
  // {n,} too: Hyperscan unrolls (?:...){0,10} into ten copies of the group's automaton.
  uint32_t widen_group_repeats_from = UINT32_MAX;
  // Hyperscan refuses ^ after and $ before consuming items ("Embedded start/end anchors"); a
  // prefilter can simply drop those anchors.
  bool drop_embedded_anchors = false;
  // PCRE2 compiles with PerlCharacterTables (Latin-1 case pairs): a Latin-1 letter under /i can
  // stay one literal, and /d scopes must switch caseless off around Latin-1 letters.
  bool latin1_tables = false;
};

// Whether `e` (translated output) is exactly one single-character item — an escape ("\s",
// "\x41"), a bracket class, or a plain character — followed by one greedy quantifier ("*",
// "+", "?", "{n}", "{n,}", "{n,m}") and nothing else.
bool IsSingleItemGreedyRepeat(std::string_view e) {
  size_t i = 0;
  if (e.empty()) return false;
  if (e[0] == '\\') {
    if (e.size() < 2) return false;
    if (e[1] == 'x') {
      if (e.size() < 4 || !std::isxdigit(static_cast<unsigned char>(e[2])) ||
          !std::isxdigit(static_cast<unsigned char>(e[3])))
        return false;
      i = 4;
    } else if (std::string_view("sSdDwW").find(e[1]) != std::string_view::npos ||
               !std::isalnum(static_cast<unsigned char>(e[1]))) {
      i = 2;  // a shorthand class, or an escaped punctuation character
    } else {
      return false;  // \b, \z, back-references, ...: not a single character
    }
  } else if (e[0] == '[') {
    i = 1;
    if (i < e.size() && e[i] == '^') ++i;
    if (i < e.size() && e[i] == ']') ++i;  // a leading ] is a member
    for (; i < e.size() && e[i] != ']'; ++i) {
      if (e[i] == '\\') ++i;
      else if (e[i] == '[') return false;  // POSIX classes: keep it simple
    }
    if (i >= e.size()) return false;
    ++i;
  } else if (std::isalnum(static_cast<unsigned char>(e[0])) || e[0] == ' ') {
    i = 1;
  } else {
    return false;
  }
  std::string_view q = e.substr(i);
  if (q == "*" || q == "+" || q == "?") return true;
  if (q.size() < 3 || q.front() != '{' || q.back() != '}') return false;
  for (char c : q.substr(1, q.size() - 2)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',') return false;
  }
  return std::count(q.begin(), q.end(), ',') <= 1 && std::isdigit(static_cast<unsigned char>(q[1]));
}

// Bounded repeats with a maximum at least this large are widened in prefilter mode.
constexpr uint32_t kWidenRepeatsFrom = 32;
// Bounded repeats of a group with a maximum at least this large are widened in prefilter mode
// (measured on the stock patterns with cost over kFoldCost: 2.0 s -> 0.95 s compiled alone).
constexpr uint32_t kWidenGroupRepeatsFrom = 2;

// Constructs Hyperscan cannot run exactly; each one names itself in why_prefilter.
enum Feature : unsigned {
  kLookahead = 1u << 0,
  kLookbehind = 1u << 1,
  kBackreference = 1u << 2,
  kPossessive = 1u << 3,
  kAtomic = 1u << 4,
  kConditional = 1u << 5,
  kRecursion = 1u << 6,
  kMatchStartReset = 1u << 7,  // \K
  kContinueAnchor = 1u << 8,   // \G
};

std::string FeatureNames(unsigned features) {
  static const std::pair<Feature, const char*> kNames[] = {
      {kLookahead, "lookahead"},   {kLookbehind, "lookbehind"}, {kBackreference, "backreference"},
      {kPossessive, "possessive"}, {kAtomic, "atomic"},         {kConditional, "conditional"},
      {kRecursion, "recursion"},   {kMatchStartReset, "\\K"},   {kContinueAnchor, "\\G"},
  };
  std::vector<std::string> names;
  for (auto [f, name] : kNames) {
    if (features & f) names.push_back(name);
  }
  return Join(names, ", ");
}

// What the last parsed item was, for Perl's quantifier rules.
enum class Prev {
  kNothing,     // start of pattern, group or branch, after (?flags): `{` is literal here
  kAtom,        // can be quantified
  kZeroWidth,   // an assertion: bounded repeats only (Perl: "matches null string many times")
  kQuantified,  // a second quantifier is Perl's "Nested quantifiers" error
};

struct GroupInfo {
  int total = 0;                                   // capture groups in the whole pattern
  std::vector<std::pair<std::string, int>> names;  // named groups and their numbers, in order
};

class Translator {
 public:
  Translator(std::string_view pattern, const Mode& mode, const EmitOptions& options,
             const GroupInfo* groups)
      : p_(pattern), top_mode_(mode), options_(options), groups_(groups) {}

  absl::Status Run() {
    Mode mode = top_mode_;
    bool has_atom = false;
    absl::Status st = ParseAlternation(mode, has_atom);
    if (!st.ok()) return st;
    if (pos_ < p_.size()) return Error("unmatched )");
    if (unicode_pattern_ && (!top_mode_.latin1_fold || inline_d_)) {
      // Perl compiles a pattern with \N{U+..} or a code point above 0xFF as a Unicode string,
      // and then /d means Unicode rules (\w matches Latin-1 letters): like /u, unsupported.
      return Invalid(
          "charset /d (or (?^...)) together with \\N{U+...} or \\x{100+} is not supported");
    }
    if (options_.drop_embedded_anchors) DropEmbeddedAnchors();
    return absl::OkStatus();
  }

  const std::string& output() const { return out_; }
  unsigned features() const { return features_; }
  // Hyperscan output uses a superset for a construct it cannot parse: exact mode is impossible.
  bool superset() const { return superset_; }
  // A bounded repeat of kWidenRepeatsFrom or more: Hyperscan may accept the expression but fail
  // to compile it ("Pattern is too large"), so the caller compiles it once to be sure.
  bool large_repeat() const { return large_repeat_; }
  bool jit_unsafe() const { return jit_unsafe_; }
  GroupInfo groups_found() const { return {group_count_, names_}; }

 private:
  absl::Status Error(std::string_view why) const { return Invalid(Cat(why, " at offset ", pos_)); }
  bool AtEnd() const { return pos_ >= p_.size(); }
  unsigned char Peek(size_t ahead = 0) const {
    return pos_ + ahead < p_.size() ? static_cast<unsigned char>(p_[pos_ + ahead]) : 0;
  }
  bool Hs() const { return options_.target == Target::kHyperscan; }

  // Output offsets of anchors and of consuming items, for DropEmbeddedAnchors.
  struct AnchorAt {
    size_t offset;
    size_t length;
    bool start;             // ^ \A (else $ \Z \z)
    bool repeated = false;  // inside a group repeated more than once
  };

  void EmitAnchor(std::string_view s, bool start) {
    anchors_.push_back({out_.size(), s.size(), start});
    // Hyperscan also calls a start anchor after another one embedded (^\A).
    if (start) item_offsets_.push_back(out_.size());
    out_ += s;
  }

  // Removes output from `size` on, with the bookkeeping that points into it.
  void TruncateOutput(size_t size) {
    out_.resize(size);
    while (!anchors_.empty() && anchors_.back().offset >= size) anchors_.pop_back();
    while (!item_offsets_.empty() && item_offsets_.back() >= size) item_offsets_.pop_back();
  }

  // Drops every start anchor that some item (consuming, or \b \B) is emitted before, every end
  // anchor some item is emitted after, and anchors in repeated groups: a superset of what
  // Hyperscan calls embedded. Only for prefilter output: without an anchor a pattern matches
  // more.
  void DropEmbeddedAnchors() {
    std::string kept;
    size_t from = 0;
    for (const AnchorAt& a : anchors_) {
      bool item_before = !item_offsets_.empty() && item_offsets_.front() < a.offset;
      bool item_after = !item_offsets_.empty() && item_offsets_.back() > a.offset;
      if (!a.repeated && (a.start ? !item_before : !item_after)) continue;
      kept.append(out_, from, a.offset - from);
      from = a.offset + a.length;
    }
    kept.append(out_, from, std::string::npos);
    out_ = std::move(kept);
  }

  // Perl's /x skips Pattern_White_Space, which on a byte string includes VT and NEL.
  static bool IsXSpace(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85;
  }

  void SkipInsignificant(const Mode& mode) {
    if (!mode.x) return;
    while (!AtEnd()) {
      unsigned char c = Peek();
      if (IsXSpace(c)) {
        ++pos_;
      } else if (c == '#') {
        while (!AtEnd() && Peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // Emits the i/m/s difference between two modes as inline flags ("" when equal). The other
  // modifiers are resolved by the rewriter itself.
  static std::string FlagDiff(const Mode& from, const Mode& to) {
    std::string on, off;
    auto add = [&](bool a, bool b, char c) {
      if (a == b) return;
      (b ? on : off) += c;
    };
    add(from.i, to.i, 'i');
    add(from.m, to.m, 'm');
    add(from.s, to.s, 's');
    if (off.empty()) return on;
    return on + "-" + off;
  }

  absl::Status ParseAlternation(Mode& mode, bool& has_atom) {
    prev_ = Prev::kNothing;
    bool branch_atom = false;  // the current branch has a consuming item
    bool zero_branch = false;  // some branch has none
    bool alternation = false;
    for (;;) {
      SkipInsignificant(mode);
      if (AtEnd() || Peek() == ')') break;
      if (Peek() == '|') {
        ++pos_;
        out_ += '|';
        prev_ = Prev::kNothing;
        alternation = true;
        zero_branch = zero_branch || !branch_atom;
        has_atom = has_atom || branch_atom;
        branch_atom = false;
        continue;
      }
      size_t start = out_.size();
      transparent_ = false;
      bool caret_before = after_caret_;
      caret_item_ = false;
      absl::Status st = ParseItem(mode, branch_atom);
      after_caret_ = transparent_ ? caret_before : caret_item_;
      if (!st.ok()) return st;
      // (?#...) is invisible: Perl quantifies the item before it.
      if (!transparent_) atom_start_ = start;
      if (prev_ == Prev::kNothing) continue;  // (?flags)* is "Quantifier follows nothing"
      st = ParseQuantifiers(mode, atom_start_);
      if (!st.ok()) return st;
    }
    zero_branch = zero_branch || !branch_atom;
    has_atom = has_atom || branch_atom;
    // PCRE2 10.42's JIT misses matches after an alternation with a branch that consumes nothing
    // ("(1|)b*1", "(?:1|\\b)b*1"; PCRE2 issue 336, fixed in 10.43): such patterns run in the
    // interpreter.
    if (alternation && zero_branch) jit_unsafe_ = true;
    return absl::OkStatus();
  }

  // Reads {n}, {n,}, {n,m}, {,m} (Perl 5.34+), blanks allowed inside. Returns false (pos
  // unchanged) when the brace is not a quantifier.
  bool ReadBraceQuantifier(uint32_t& min, uint32_t& max, bool& bad_range) {
    size_t save = pos_;
    auto blanks = [&] {
      while (Peek() == ' ' || Peek() == '\t') ++pos_;
    };
    auto number = [&](uint64_t& v) {
      size_t begin = pos_;
      v = 0;
      while (IsDigit(Peek())) {
        v = std::min<uint64_t>(v * 10 + (Peek() - '0'), 1u << 30);
        ++pos_;
      }
      return pos_ > begin;
    };
    ++pos_;  // {
    blanks();
    uint64_t lo = 0, hi = 0;
    bool has_lo = number(lo);
    blanks();
    bool comma = false, has_hi = false;
    if (Peek() == ',') {
      comma = true;
      ++pos_;
      blanks();
      has_hi = number(hi);
      blanks();
    }
    if (Peek() != '}' || (!has_lo && !has_hi)) {
      pos_ = save;
      return false;
    }
    ++pos_;
    min = static_cast<uint32_t>(has_lo ? lo : 0);
    max = comma ? (has_hi ? static_cast<uint32_t>(hi) : kUnbounded) : min;
    bad_range = (lo > 65534 || (has_hi && hi > 65534));
    return true;
  }

  static constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();

  // Whether a {...} quantifier starts at `at` (\N{3} is \N repeated, \N{U+41} a character).
  bool BraceQuantifierAt(size_t at) {
    size_t save = pos_;
    pos_ = at;
    uint32_t min = 0, max = 0;
    bool bad = false;
    bool found = ReadBraceQuantifier(min, max, bad);
    pos_ = save;
    return found;
  }

  absl::Status ParseQuantifiers(const Mode& mode, size_t atom_start) {
    SkipInsignificant(mode);
    if (AtEnd()) return absl::OkStatus();
    unsigned char c = Peek();
    uint32_t min = 0, max = 0;
    bool brace = false;
    if (c == '*') {
      min = 0, max = kUnbounded;
      ++pos_;
    } else if (c == '+') {
      min = 1, max = kUnbounded;
      ++pos_;
    } else if (c == '?') {
      min = 0, max = 1;
      ++pos_;
    } else if (c == '{') {
      bool bad = false;
      if (!ReadBraceQuantifier(min, max, bad)) {
        if (after_caret_) return absl::OkStatus();  // Perl reads ^{ as ^ and a literal {
        return Error("unescaped left brace (Perl: passed through / illegal here)");
      }
      if (bad) return Error("quantifier in {,} bigger than 65534");
      if (max != kUnbounded && min > max) return Error("quantifier {n,m} with n > m");
      brace = true;
    } else {
      return absl::OkStatus();
    }
    if (prev_ == Prev::kQuantified) return Error("nested quantifiers");
    // Perl: "matches null string many times" for * + {n,} on an assertion; a bounded repeat is
    // the assertion itself (min >= 1) or optional (min 0).
    if (prev_ == Prev::kZeroWidth && max == kUnbounded) {
      return Error("quantifier on a zero-length expression");
    }
    bool zero_width_once = prev_ == Prev::kZeroWidth && min >= 1;
    SkipInsignificant(mode);
    char suffix = 0;
    if (Peek() == '?' || Peek() == '+') suffix = static_cast<char>(Peek());
    if (suffix == '?' && brace && min == max) {
      return Error("useless use of greediness modifier '?'");
    }
    if (suffix) ++pos_;
    if (suffix == '+') features_ |= kPossessive;

    // An optional assertion always succeeds and X{0} matches the empty string: Hyperscan rejects
    // both, PCRE2 rejects the first for simple anchors. Groups stay for PCRE2 (as X? or X{0}),
    // because dropping them would renumber captures.
    bool is_group = out_.size() > atom_start && out_[atom_start] == '(';
    bool drop =
        Hs() ? (max == 0 || prev_ == Prev::kZeroWidth) : (prev_ == Prev::kZeroWidth && !is_group);
    if (prev_ == Prev::kZeroWidth && !drop) {
      max = std::min<uint32_t>(max, 1);  // PCRE2 caps assertion repeats at one anyway
    }
    if (zero_width_once) {
      // Keep the assertion, drop the quantifier.
    } else if (drop) {
      TruncateOutput(atom_start);
    } else {
      if (max > 1) {
        for (AnchorAt& a : anchors_) a.repeated = a.repeated || a.offset >= atom_start;
      }
      if ((max != kUnbounded && max >= kWidenRepeatsFrom) || min >= kWidenRepeatsFrom) {
        large_repeat_ = true;
      }
      if (options_.widen_repeats && max != kUnbounded &&
          (max >= kWidenRepeatsFrom || (is_group && max >= options_.widen_group_repeats_from))) {
        max = kUnbounded;
        brace = true;
      }
      if (max == kUnbounded && min <= 1 && !brace) {
        out_ += min == 0 ? '*' : '+';
      } else if (min == 0 && max == 1 && !brace) {
        out_ += '?';
      } else if (max == kUnbounded) {
        out_ += Cat("{", min, ",}");
      } else if (min == max) {
        out_ += Cat("{", min, "}");
      } else {
        out_ += Cat("{", min, ",", max, "}");
      }
      if (suffix) out_ += suffix;
    }
    prev_ = Prev::kQuantified;
    // A second quantifier (other than the lazy/possessive suffix) is an error; let the loop
    // see it with prev_ == kQuantified.
    SkipInsignificant(mode);
    c = Peek();
    if (c == '*' || c == '+' || c == '?') return Error("nested quantifiers");
    if (c == '{') {
      uint32_t a, b;
      bool bad;
      size_t save = pos_;
      if (ReadBraceQuantifier(a, b, bad)) {
        pos_ = save;
        return Error("nested quantifiers");
      }
      return Error("unescaped left brace (Perl: passed through)");
    }
    return absl::OkStatus();
  }

  void EmitAtom(std::string_view s, bool& has_atom) {
    item_offsets_.push_back(out_.size());
    out_ += s;
    prev_ = Prev::kAtom;
    has_atom = true;
  }

  void EmitZeroWidth(std::string_view s) {
    out_ += s;
    prev_ = Prev::kZeroWidth;
  }

  // One literal character (a byte, or a code point above 0xFF) in the current mode.
  std::string LiteralChar(uint32_t cp, const Mode& mode) const {
    if (cp < 256) {
      unsigned char b = static_cast<unsigned char>(cp);
      int partner = mode.i ? FoldPartner(b, mode.latin1_fold) : -1;
      ByteSet s;
      s.set(b);
      if (partner >= 0) s.set(partner);
      // A pair the engine folds itself stays one literal (ASCII in both, Latin-1 in PCRE2).
      return ProtectFromLatin1Fold(ByteSetToClass(s, FoldAt(mode)), s, mode);
    }
    std::vector<uint32_t> variants = {cp};
    if (mode.i) {
      for (uint32_t p : CodePointPartners(cp)) variants.push_back(p);
    }
    std::vector<std::string> alts;
    for (uint32_t v : variants) {
      std::string bytes;
      AppendUtf8(v, &bytes);
      alts.push_back(EscapedBytes(bytes));
    }
    return Cat("(?:", Join(alts, "|"), ")");
  }

  EngineFold FoldAt(const Mode& mode) const {
    if (!mode.i) return EngineFold::kNone;
    if (Hs() || !options_.latin1_tables || !mode.latin1_fold) return EngineFold::kAscii;
    return EngineFold::kLatin1;
  }

  // PCRE2 runs with Latin-1 case folding in its tables (so back-references fold like Perl's);
  // in a /d scope under /i, where Perl folds ASCII only, bytes with a Latin-1 partner must be
  // matched case-sensitively. The byte sets are already closed under ASCII folding.
  std::string ProtectFromLatin1Fold(std::string emitted, const ByteSet& set,
                                    const Mode& mode) const {
    if (Hs() || !options_.latin1_tables || !mode.i || mode.latin1_fold) return emitted;
    for (int b = 0xC0; b <= 0xFE; ++b) {
      if (set.test(b) && FoldPartner(static_cast<unsigned char>(b), true) >= 0) {
        return Cat("(?-i:", emitted, ")");
      }
    }
    return emitted;
  }

  absl::Status ParseItem(Mode& mode, bool& has_atom) {
    unsigned char c = Peek();
    switch (c) {
      case '(':
        return ParseGroup(mode, has_atom);
      case '[': {
        std::string cls;
        absl::Status st = ParseClass(mode, cls);
        if (!st.ok()) return st;
        EmitAtom(cls, has_atom);
        return absl::OkStatus();
      }
      case '\\':
        return ParseEscape(mode, has_atom);
      case '.':
        ++pos_;
        EmitAtom(".", has_atom);  // the engines' DOTALL state follows the emitted flags
        return absl::OkStatus();
      case '^':
        ++pos_;
        EmitAnchor("^", /*start=*/true);
        prev_ = Prev::kZeroWidth;
        caret_item_ = true;  // Perl reads ^{ as ^ then a literal {
        after_caret_ = true;
        return absl::OkStatus();
      case '$':
        ++pos_;
        EmitAnchor("$", /*start=*/false);
        prev_ = Prev::kZeroWidth;
        return absl::OkStatus();
      case '*':
      case '+':
      case '?':
        return Error("quantifier follows nothing");
      case '{':
        if (prev_ != Prev::kNothing && !after_caret_) {
          return Error("unescaped left brace (Perl: passed through)");
        }
        ++pos_;
        EmitAtom("\\x7b", has_atom);
        return absl::OkStatus();
      default:
        ++pos_;
        EmitAtom(LiteralChar(c, mode), has_atom);
        return absl::OkStatus();
    }
  }

  // Reads a group name ([A-Za-z_][A-Za-z0-9_]*) up to `close`.
  absl::Status ReadName(char close, std::string& name) {
    size_t begin = pos_;
    if (!(IsAsciiWord(Peek()) && !IsDigit(Peek()))) {
      return Error("group name must start with a non-digit word character");
    }
    while (IsAsciiWord(Peek())) ++pos_;
    name.assign(p_.substr(begin, pos_ - begin));
    if (Peek() != static_cast<unsigned char>(close)) return Error("bad group name terminator");
    ++pos_;
    return absl::OkStatus();
  }

  int NamedGroupNumber(std::string_view name) const {
    if (groups_ == nullptr) return 0;
    for (const auto& [n, number] : groups_->names) {
      if (n == name) return number;
    }
    return -1;
  }

  absl::Status EmitNamedBackref(const std::string& name, bool& has_atom) {
    features_ |= kBackreference;
    int number = NamedGroupNumber(name);
    if (number < 0) return Error("reference to nonexistent named group");
    if (Hs()) {
      EmitAtom(Cat("\\g{", number, "}"), has_atom);
    } else {
      EmitAtom(Cat("\\k<", name, ">"), has_atom);
    }
    return absl::OkStatus();
  }

  absl::Status EmitNumberedBackref(int64_t number, bool& has_atom) {
    features_ |= kBackreference;
    if (groups_ != nullptr && (number < 1 || number > groups_->total)) {
      return Error("reference to nonexistent group");
    }
    EmitAtom(Cat("\\g{", number, "}"), has_atom);
    return absl::OkStatus();
  }

  // The body of a group after its opener has been emitted; consumes the closing paren.
  absl::Status ParseGroupBody(Mode inner, bool counts_as_atom, bool& has_atom,
                              bool zero_width = false) {
    bool inner_atom = false;
    absl::Status st = ParseAlternation(inner, inner_atom);
    if (!st.ok()) return st;
    if (AtEnd()) return Error("missing )");
    ++pos_;
    out_ += ')';
    if (zero_width || !inner_atom || !counts_as_atom) {
      prev_ = Prev::kZeroWidth;
    } else {
      prev_ = Prev::kAtom;
      has_atom = true;
    }
    return absl::OkStatus();
  }

  absl::Status ParseGroup(Mode& mode, bool& has_atom) {
    // Recursive descent: bound the nesting so a hostile pattern gets an error, not a stack
    // overflow (PCRE2 itself stops at 250 levels).
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(++depth) {}
      ~Depth() { --d; }
    } depth(group_depth_);
    if (group_depth_ > kMaxGroupDepth) return Error("parentheses are too deeply nested");
    ++pos_;  // (
    if (Peek() == '*') return ParseStarGroup(mode, has_atom);
    if (Peek() != '?') {
      if (mode.n) {
        out_ += "(?:";
      } else {
        ++group_count_;
        out_ += '(';
      }
      return ParseGroupBody(mode, true, has_atom);
    }
    ++pos_;  // ?
    unsigned char c = Peek();
    switch (c) {
      case '#': {
        while (!AtEnd() && Peek() != ')') ++pos_;
        if (AtEnd()) return Error("(?#... not terminated");
        ++pos_;
        transparent_ = true;
        return absl::OkStatus();
      }
      case ':':
        ++pos_;
        out_ += "(?:";
        return ParseGroupBody(mode, true, has_atom);
      case '=':
      case '!':
        ++pos_;
        features_ |= kLookahead;
        out_ += c == '=' ? "(?=" : "(?!";
        return ParseGroupBody(mode, false, has_atom, true);
      case '>': {
        ++pos_;
        size_t begin = out_.size();
        unsigned features_before = features_;
        out_ += "(?>";
        absl::Status st = ParseGroupBody(mode, true, has_atom);
        if (!st.ok()) return st;
        // For PCRE2, an atomic group around one greedy repeat of a single character or class
        // ("(?>\\s{0,50})", stock __FILL_THIS_FORM_PARTIAL_RAW) is the same as that repeat made
        // possessive, which PCRE2 itself produces by auto-possessification all the time, so
        // the pattern keeps the JIT (10x faster than the interpreter atomic groups need).
        if (!Hs() && features_ == features_before) {
          std::string_view body(out_);
          body = body.substr(begin + 3, out_.size() - begin - 4);
          if (IsSingleItemGreedyRepeat(body)) {
            std::string possessive = Cat("(?:", body, "+)");
            out_.replace(begin, std::string::npos, possessive);
            return absl::OkStatus();
          }
        }
        features_ |= kAtomic;
        return absl::OkStatus();
      }
      case '|':
        return Error("branch reset (?|...) is not supported");
      case '<':
        if (Peek(1) == '=' || Peek(1) == '!') {
          out_ += Peek(1) == '=' ? "(?<=" : "(?<!";
          pos_ += 2;
          features_ |= kLookbehind;
          return ParseGroupBody(mode, false, has_atom, true);
        }
        ++pos_;
        return ParseNamedGroup('>', mode, has_atom);
      case '\'':
        ++pos_;
        return ParseNamedGroup('\'', mode, has_atom);
      case 'P':
        if (Peek(1) == '<') {
          pos_ += 2;
          return ParseNamedGroup('>', mode, has_atom);
        }
        if (Peek(1) == '=') {
          pos_ += 2;
          std::string name;
          absl::Status st = ReadName(')', name);
          if (!st.ok()) return st;
          return EmitNamedBackref(name, has_atom);
        }
        if (Peek(1) == '>') {
          pos_ += 2;
          std::string name;
          absl::Status st = ReadName(')', name);
          if (!st.ok()) return st;
          return EmitRecursion(Cat("(?&", name, ")"), has_atom);
        }
        return Error("unknown (?P sequence");
      case '&': {
        ++pos_;
        std::string name;
        absl::Status st = ReadName(')', name);
        if (!st.ok()) return st;
        return EmitRecursion(Cat("(?&", name, ")"), has_atom);
      }
      case 'R':
        if (Peek(1) == ')') {
          pos_ += 2;
          return EmitRecursion("(?R)", has_atom);
        }
        return Error("unknown (?R sequence");
      case '(':
        return ParseConditional(mode, has_atom);
      case '{':
      case '?':
        return Error("eval (?{}) found");
      default:
        break;
    }
    if (IsDigit(c) || ((c == '+' || c == '-') && IsDigit(Peek(1)))) {
      size_t begin = pos_;
      if (c == '+' || c == '-') ++pos_;
      while (IsDigit(Peek())) ++pos_;
      if (Peek() != ')') return Error("bad recursion reference");
      int64_t n = std::strtoll(std::string(p_.substr(begin, pos_ - begin)).c_str(), nullptr, 10);
      ++pos_;
      int64_t abs_n = n;
      if (c == '-') abs_n = group_count_ + n + 1;
      if (c == '+') abs_n = group_count_ + n;
      if (abs_n < 0) return Error("reference to nonexistent group");
      return EmitRecursion(Cat("(?", abs_n, ")"), has_atom);
    }
    // Inline modifiers: (?flags) or (?flags:...).
    size_t begin = pos_;
    while (!AtEnd() && Peek() != ')' && Peek() != ':') ++pos_;
    if (AtEnd()) return Error("sequence (?... not terminated");
    std::string_view mods = p_.substr(begin, pos_ - begin);
    Mode next = mode;
    absl::Status st = ApplyModifiers(mods, /*allow_caret=*/true, next);
    if (!st.ok())
      return Error(std::string(st.message()));  // inline: unsupported is as bad as invalid
    std::string diff = FlagDiff(mode, next);
    if (!next.latin1_fold) inline_d_ = true;
    if (Peek() == ')') {
      ++pos_;
      if (!diff.empty()) out_ += Cat("(?", diff, ")");
      mode = next;
      prev_ = Prev::kNothing;  // Perl: "(?i)*" is "Quantifier follows nothing"
      return absl::OkStatus();
    }
    ++pos_;  // :
    out_ += Cat("(?", diff, ":");
    return ParseGroupBody(next, true, has_atom);
  }

  absl::Status ParseNamedGroup(char close, const Mode& mode, bool& has_atom) {
    std::string name;
    absl::Status st = ReadName(close, name);
    if (!st.ok()) return st;
    ++group_count_;
    names_.emplace_back(name, group_count_);
    out_ += Hs() ? "(" : Cat("(?<", name, ">");
    return ParseGroupBody(mode, true, has_atom);
  }

  absl::Status EmitRecursion(const std::string& pcre, bool& has_atom) {
    features_ |= kRecursion;
    if (Hs()) {
      // A recursive call matches some string; any string is a sound prefilter superset.
      superset_ = true;
      EmitAtom("(?:[\\x00-\\xff]*)", has_atom);
    } else {
      EmitAtom(pcre, has_atom);
    }
    return absl::OkStatus();
  }

  // (*pla:...) and friends (Perl 5.28+); control verbs are not supported.
  absl::Status ParseStarGroup(Mode& mode, bool& has_atom) {
    size_t begin = ++pos_;
    while (!AtEnd() && (IsAsciiWord(Peek()))) ++pos_;
    std::string word(p_.substr(begin, pos_ - begin));
    if (Peek() != ':') return Error(Cat("unsupported (*", word, ") construct"));
    ++pos_;
    static const std::map<std::string, std::pair<const char*, Feature>> kAlpha = {
        {"pla", {"(?=", kLookahead}},   {"positive_lookahead", {"(?=", kLookahead}},
        {"nla", {"(?!", kLookahead}},   {"negative_lookahead", {"(?!", kLookahead}},
        {"plb", {"(?<=", kLookbehind}}, {"positive_lookbehind", {"(?<=", kLookbehind}},
        {"nlb", {"(?<!", kLookbehind}}, {"negative_lookbehind", {"(?<!", kLookbehind}},
        {"atomic", {"(?>", kAtomic}},
    };
    auto it = kAlpha.find(word);
    if (it == kAlpha.end()) return Error(Cat("unknown (*", word, ":...) construct"));
    features_ |= it->second.second;
    out_ += it->second.first;
    return ParseGroupBody(mode, it->second.second == kAtomic, has_atom,
                          it->second.second != kAtomic);
  }

  absl::Status ParseConditional(Mode& mode, bool& has_atom) {
    features_ |= kConditional;
    jit_unsafe_ = true;  // a missing "no" branch is an empty one (see ParseAlternation)
    ++pos_;              // the condition's (
    std::string cond;
    if (IsDigit(Peek())) {
      size_t begin = pos_;
      while (IsDigit(Peek())) ++pos_;
      if (Peek() != ')') return Error("bad condition");
      int64_t n = std::strtoll(std::string(p_.substr(begin, pos_ - begin)).c_str(), nullptr, 10);
      if (groups_ != nullptr && (n < 1 || n > groups_->total)) {
        return Error("reference to nonexistent group");
      }
      ++pos_;
      cond = Cat("(?(", n, ")");
    } else if (Peek() == '<' || Peek() == '\'') {
      char close = Peek() == '<' ? '>' : '\'';
      ++pos_;
      std::string name;
      absl::Status st = ReadName(close, name);
      if (!st.ok()) return st;
      if (Peek() != ')') return Error("bad condition");
      ++pos_;
      int number = NamedGroupNumber(name);
      if (number < 0) return Error("reference to nonexistent named group");
      cond = Hs() ? Cat("(?(", number, ")") : Cat("(?(<", name, ">)");
    } else if (Peek() == '?' && (Peek(1) == '=' || Peek(1) == '!' ||
                                 (Peek(1) == '<' && (Peek(2) == '=' || Peek(2) == '!')))) {
      // An assertion condition: parse it as a group, then continue with the branches.
      --pos_;
      out_ += "(?";
      bool unused = false;
      Prev save = prev_;
      absl::Status st = ParseGroup(mode, unused);
      if (!st.ok()) return st;
      prev_ = save;
      bool inner_atom = false;
      return ParseConditionalBranches(mode, has_atom, inner_atom);
    } else {
      return Error("unsupported condition in (?(...)...)");
    }
    out_ += cond;
    bool inner_atom = false;
    return ParseConditionalBranches(mode, has_atom, inner_atom);
  }

  absl::Status ParseConditionalBranches(Mode mode, bool& has_atom, bool& inner_atom) {
    // More than two branches is an error in Perl and in PCRE2 alike; PCRE2 reports it.
    absl::Status st = ParseAlternation(mode, inner_atom);
    if (!st.ok()) return st;
    if (AtEnd()) return Error("missing ) after conditional");
    ++pos_;
    out_ += ')';
    prev_ = Prev::kAtom;
    has_atom = has_atom || inner_atom;
    return absl::OkStatus();
  }

  // Parses \x.. after the x. Sets cp; Perl's errors for non-hex digits.
  absl::Status ParseHexEscape(uint32_t& cp) {
    if (Peek() == '{') {
      ++pos_;
      size_t close = p_.find('}', pos_);
      if (close == std::string_view::npos) return Error("missing right brace on \\x{}");
      std::string_view body = p_.substr(pos_, close - pos_);
      while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
      while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.remove_suffix(1);
      uint64_t v = 0;
      for (size_t k = 0; k < body.size(); ++k) {
        unsigned char d = static_cast<unsigned char>(body[k]);
        if (d == '_' && k > 0 && k + 1 < body.size()) continue;
        if (!IsHex(d)) return Error("non-hex character terminates \\x early");
        v = v * 16 + HexValue(d);
        if (v > 0x10FFFF) return Error("code point above U+10FFFF");
      }
      pos_ = close + 1;
      cp = static_cast<uint32_t>(v);
      return absl::OkStatus();
    }
    uint32_t v = 0;
    int digits = 0;
    for (; digits < 2 && IsHex(Peek()); ++digits) {
      v = v * 16 + HexValue(Peek());
      ++pos_;
    }
    // "\x4z", "\xg": Perl warns "Non-hex character terminates \x early", SpamAssassin dies.
    if (digits < 2 && IsAsciiWord(Peek())) return Error("non-hex character terminates \\x early");
    cp = v;
    return absl::OkStatus();
  }

  absl::Status ParseOctalBraces(uint32_t& cp) {
    if (Peek() != '{') return Error("missing braces on \\o{}");
    ++pos_;
    size_t close = p_.find('}', pos_);
    if (close == std::string_view::npos) return Error("missing right brace on \\o{}");
    std::string_view body = p_.substr(pos_, close - pos_);
    if (body.empty()) return Error("empty \\o{}");
    uint64_t v = 0;
    for (unsigned char d : body) {
      if (!IsOctal(d)) return Error("non-octal character terminates \\o early");
      v = v * 8 + (d - '0');
      if (v > 0x10FFFF) return Error("code point above U+10FFFF");
    }
    pos_ = close + 1;
    cp = static_cast<uint32_t>(v);
    return absl::OkStatus();
  }

  // \N{U+hex} or \N{U+hex.hex...}; named characters need Perl's charnames and are refused.
  absl::Status ParseNamedChar(std::vector<uint32_t>& cps) {
    ++pos_;  // {
    size_t close = p_.find('}', pos_);
    if (close == std::string_view::npos) return Error("missing right brace on \\N{}");
    std::string_view body = p_.substr(pos_, close - pos_);
    if (body.substr(0, 2) != "U+") return Error("named characters \\N{NAME} are not supported");
    body.remove_prefix(2);
    size_t start = 0;
    for (;;) {
      size_t dot = body.find('.', start);
      std::string_view part = body.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (part.empty()) return Error("invalid hexadecimal number in \\N{U+...}");
      uint64_t v = 0;
      for (unsigned char d : part) {
        if (!IsHex(d)) return Error("invalid hexadecimal number in \\N{U+...}");
        v = v * 16 + HexValue(d);
        if (v > 0x10FFFF) return Error("code point above U+10FFFF");
      }
      cps.push_back(static_cast<uint32_t>(v));
      unicode_pattern_ = true;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    pos_ = close + 1;
    return absl::OkStatus();
  }

  // Escapes that stand for one character, shared by classes and the main pattern. Returns
  // true (with cp set) when the escape at pos_ (just after the backslash) is one.
  absl::StatusOr<bool> ParseCharEscape(uint32_t& cp, bool in_class) {
    absl::StatusOr<bool> found = ParseCharEscapeImpl(cp, in_class);
    if (found.ok() && *found && cp > 0xFF) unicode_pattern_ = true;
    return found;
  }

  absl::StatusOr<bool> ParseCharEscapeImpl(uint32_t& cp, bool in_class) {
    unsigned char c = Peek();
    switch (c) {
      case 'a':
        ++pos_;
        cp = 0x07;
        return true;
      case 'e':
        ++pos_;
        cp = 0x1B;
        return true;
      case 'f':
        ++pos_;
        cp = 0x0C;
        return true;
      case 'n':
        ++pos_;
        cp = 0x0A;
        return true;
      case 'r':
        ++pos_;
        cp = 0x0D;
        return true;
      case 't':
        ++pos_;
        cp = 0x09;
        return true;
      case 'x': {
        ++pos_;
        absl::Status st = ParseHexEscape(cp);
        if (!st.ok()) return st;
        return true;
      }
      case 'o': {
        ++pos_;
        absl::Status st = ParseOctalBraces(cp);
        if (!st.ok()) return st;
        return true;
      }
      case 'c': {
        unsigned char d = Peek(1);
        if (d < 0x20 || d > 0x7E) return Error("character following \\c must be printable ASCII");
        if (d == '{') return Error("use ; instead of \\c{");
        pos_ += 2;
        cp = static_cast<uint32_t>((d >= 'a' && d <= 'z' ? d - 32 : d) ^ 64);
        return true;
      }
      case '0': {
        ++pos_;
        cp = 0;
        for (int k = 0; k < 2 && IsOctal(Peek()); ++k) {
          cp = cp * 8 + (Peek() - '0');
          ++pos_;
        }
        if (Peek() == '8' || Peek() == '9') {
          return Error("non-octal character terminates \\0 early");
        }
        return true;
      }
      default:
        break;
    }
    if (in_class && IsDigit(c)) {
      // In a class \1..\7 are octal escapes; \8 and \9 are Perl errors.
      if (!IsOctal(c)) return Error("unrecognized escape in character class");
      cp = 0;
      for (int k = 0; k < 3 && IsOctal(Peek()); ++k) {
        cp = cp * 8 + (Peek() - '0');
        ++pos_;
      }
      return true;
    }
    return false;
  }

  // The shorthand classes; `found` false when the escape is none of them.
  absl::Status ShorthandSet(unsigned char c, bool& found, ByteSet& set) const {
    found = true;
    switch (c) {
      case 'd':
        set = DigitSet();
        break;
      case 'D':
        set = ~DigitSet();
        break;
      case 'w':
        set = WordSet();
        break;
      case 'W':
        set = ~WordSet();
        break;
      case 's':
        set = SpaceSet();
        break;
      case 'S':
        set = ~SpaceSet();
        break;
      case 'h':
        set = HSpaceSet();
        break;
      case 'H':
        set = ~HSpaceSet();
        break;
      case 'v':
        set = VSpaceSet();
        break;
      case 'V':
        set = ~VSpaceSet();
        break;
      default:
        found = false;
    }
    return absl::OkStatus();
  }

  absl::Status ParseEscape(Mode& mode, bool& has_atom) {
    ++pos_;  // backslash
    if (AtEnd()) return Error("trailing backslash");
    unsigned char c = Peek();
    uint32_t cp = 0;
    absl::StatusOr<bool> is_char = ParseCharEscape(cp, /*in_class=*/false);
    if (!is_char.ok()) return is_char.status();
    if (*is_char) {
      EmitAtom(LiteralChar(cp, mode), has_atom);
      return absl::OkStatus();
    }
    bool found = false;
    ByteSet set;
    absl::Status st = ShorthandSet(c, found, set);
    if (found) {
      ++pos_;
      EmitAtom(ByteSetToClass(set), has_atom);
      return absl::OkStatus();
    }
    if (IsDigit(c)) return ParseNumericEscape(mode, has_atom);
    switch (c) {
      case 'b':
      case 'B':
        if (Peek(1) == '{') return Error("\\b{...} boundaries are not supported (Perl: needs /u)");
        ++pos_;
        item_offsets_.push_back(out_.size());
        EmitZeroWidth(c == 'b' ? "\\b" : "\\B");
        return absl::OkStatus();
      case 'A':
        ++pos_;
        EmitAnchor("\\A", /*start=*/true);
        prev_ = Prev::kZeroWidth;
        return absl::OkStatus();
      case 'z':
        ++pos_;
        EmitAnchor("\\z", /*start=*/false);
        prev_ = Prev::kZeroWidth;
        return absl::OkStatus();
      case 'Z':
        ++pos_;
        EmitAnchor("\\Z", /*start=*/false);
        prev_ = Prev::kZeroWidth;
        return absl::OkStatus();
      case 'G':
        ++pos_;
        features_ |= kContinueAnchor;
        if (Hs()) {
          superset_ = true;  // \G limits where a match may start; dropping it is a superset
          prev_ = Prev::kZeroWidth;
        } else {
          EmitZeroWidth("\\G");
        }
        return absl::OkStatus();
      case 'K':
        ++pos_;
        features_ |= kMatchStartReset;
        if (Hs()) {
          superset_ = true;  // \K only moves the reported start
          prev_ = Prev::kZeroWidth;
        } else {
          EmitZeroWidth("\\K");
        }
        return absl::OkStatus();
      case 'N':
        if (Peek(1) == '{' && !BraceQuantifierAt(pos_ + 1)) {
          ++pos_;
          std::vector<uint32_t> cps;
          absl::Status nst = ParseNamedChar(cps);
          if (!nst.ok()) return nst;
          std::string seq;
          for (uint32_t v : cps) seq += LiteralChar(v, mode);
          EmitAtom(cps.size() > 1 ? Cat("(?:", seq, ")") : seq, has_atom);
          return absl::OkStatus();
        }
        ++pos_;
        EmitAtom("[^\\n]", has_atom);
        return absl::OkStatus();
      case 'R':
        // Perl's \R is (?>\x0D\x0A|\v): atomic, so \R\n does not match "\r\n".
        ++pos_;
        features_ |= kAtomic;
        EmitAtom("(?>\\x0d\\x0a|[\\x0a-\\x0d\\x85])", has_atom);
        return absl::OkStatus();
      case 'g':
      case 'k':
        return ParseNamedOrRelativeBackref(has_atom);
      case 'p':
      case 'P':
      case 'X':
        return Error(Cat("Unicode escape \\", std::string(1, c), " is not supported"));
      case 'C':
        return Error("\\C is no longer supported");
      default:
        break;
    }
    if (IsAsciiWord(c)) {
      return Error(Cat("unrecognized escape \\", std::string(1, c)));
    }
    // Any other escaped character is itself (\/ \# \. \é ...).
    ++pos_;
    EmitAtom(LiteralChar(c, mode), has_atom);
    return absl::OkStatus();
  }

  // \1..\9 are back-references; \10 and up are back-references when that many groups exist,
  // else octal escapes (Perl's rule, so it needs the group count of the whole pattern).
  absl::Status ParseNumericEscape(Mode& mode, bool& has_atom) {
    size_t begin = pos_;
    while (IsDigit(Peek())) ++pos_;
    std::string_view digits = p_.substr(begin, pos_ - begin);
    int64_t n = 0;
    for (char d : digits) n = std::min<int64_t>(n * 10 + (d - '0'), 1 << 20);
    if (n < 10 || groups_ == nullptr || n <= groups_->total) {
      return EmitNumberedBackref(n, has_atom);
    }
    pos_ = begin;
    uint32_t cp = 0;
    for (int k = 0; k < 3 && IsOctal(Peek()); ++k) {
      cp = cp * 8 + (Peek() - '0');
      ++pos_;
    }
    if (pos_ == begin || ((Peek() == '8' || Peek() == '9') && pos_ - begin < 3)) {
      return Error("non-octal character terminates octal escape early");
    }
    if (cp > 0xFF) unicode_pattern_ = true;
    EmitAtom(LiteralChar(cp, mode), has_atom);
    return absl::OkStatus();
  }

  absl::Status ParseNamedOrRelativeBackref(bool& has_atom) {
    unsigned char kind = Peek();
    ++pos_;
    unsigned char open = Peek();
    char close = 0;
    if (open == '{') close = '}';
    if (open == '<') close = '>';
    if (open == '\'') close = '\'';
    if (kind == 'k' && close == 0) return Error("sequence \\k... not terminated");
    if (close == 0 && kind == 'g' && !(IsDigit(open) || open == '-')) {
      return Error("unterminated \\g... pattern");
    }
    if (close != 0) ++pos_;
    bool negative = false;
    if (Peek() == '-' && kind == 'g') {
      negative = true;
      ++pos_;
    }
    if (kind == 'g' && IsDigit(Peek())) {
      int64_t n = 0;
      while (IsDigit(Peek())) {
        n = std::min<int64_t>(n * 10 + (Peek() - '0'), 1 << 20);
        ++pos_;
      }
      if (close != 0) {
        if (Peek() != static_cast<unsigned char>(close)) return Error("unterminated \\g{...}");
        ++pos_;
      }
      if (negative) {
        n = group_count_ - n + 1;
        if (n < 1) return Error("reference to nonexistent or unclosed group");
      }
      return EmitNumberedBackref(n, has_atom);
    }
    if (negative || close == 0) return Error("bad \\g reference");
    std::string name;
    absl::Status st = ReadName(close, name);
    if (!st.ok()) return st;
    return EmitNamedBackref(name, has_atom);
  }

  // [...]: the byte set (and code point ranges above 0xFF), closed under /i, emitted as an
  // explicit class or, with code points above 0xFF, as an alternation of UTF-8 sequences.
  absl::Status ParseClass(const Mode& mode, std::string& out) {
    ++pos_;  // [
    bool negate = false;
    if (Peek() == '^') {
      negate = true;
      ++pos_;
    }
    ByteSet bytes;
    CodePointRanges wide;
    auto add_char = [&](uint32_t cp) {
      if (cp < 256) {
        bytes.set(cp);
      } else {
        wide.emplace_back(cp, cp);
      }
    };
    auto add_range = [&](uint32_t lo, uint32_t hi) {
      for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 255); ++c) bytes.set(c);
      if (hi > 255) wide.emplace_back(std::max<uint32_t>(lo, 256), hi);
    };
    bool first = true;
    // An item is a single character (possible range end) or a set (\d, [:alpha:]).
    for (;;) {
      if (AtEnd()) return Error("unmatched [");
      unsigned char c = Peek();
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      // /xx ignores blanks in classes; a ']' after them is still the first, literal one.
      if (mode.xx && (c == ' ' || c == '\t')) {
        ++pos_;
        continue;
      }
      first = false;
      bool is_char = false;
      uint32_t cp = 0;
      absl::Status st = ParseClassAtom(bytes, is_char, cp);
      if (!st.ok()) return st;
      if (!is_char) {
        if (Peek() == '-' && Peek(1) != ']') return Error("false [] range");
        continue;
      }
      // A range?
      if (Peek() == '-' && Peek(1) != ']' && pos_ + 1 < p_.size()) {
        ++pos_;  // -
        bool hi_is_char = false;
        uint32_t hi = 0;
        ByteSet ignored;
        st = ParseClassAtom(ignored, hi_is_char, hi);
        if (!st.ok()) return st;
        if (!hi_is_char) return Error("false [] range");
        if (hi < cp) return Error("invalid [] range");
        add_range(cp, hi);
        continue;
      }
      add_char(cp);
    }
    wide = Normalize(std::move(wide));
    if (mode.i) {
      bytes = FoldClosure(bytes, mode.latin1_fold);
      wide = FoldCodePoints(wide);
    }
    if (negate) {
      // A negated class consumes one byte; code points above 0xFF (several bytes each) cannot
      // be one of them, so like Perl on a byte string it matches every byte not listed.
      out = ProtectFromLatin1Fold(ByteSetToClass(~bytes, FoldAt(mode)), ~bytes, mode);
      return absl::OkStatus();
    }
    if (wide.empty()) {
      out = ProtectFromLatin1Fold(ByteSetToClass(bytes, FoldAt(mode)), bytes, mode);
      return absl::OkStatus();
    }
    std::vector<std::string> alts;
    if (bytes.any()) {
      alts.push_back(ProtectFromLatin1Fold(ByteSetToClass(bytes, FoldAt(mode)), bytes, mode));
    }
    for (auto [lo, hi] : wide) {
      std::vector<ByteRanges> seqs;
      Utf8Sequences(lo, hi, seqs);
      for (const ByteRanges& seq : seqs) alts.push_back(ByteRangesToString(seq));
    }
    out = Cat("(?:", Join(alts, "|"), ")");
    return absl::OkStatus();
  }

  // One class item: a character (is_char, cp) or a set merged into `bytes`.
  absl::Status ParseClassAtom(ByteSet& bytes, bool& is_char, uint32_t& cp) {
    unsigned char c = Peek();
    if (c == '[' && (Peek(1) == ':' || Peek(1) == '=' || Peek(1) == '.')) {
      char kind = static_cast<char>(Peek(1));
      size_t close = p_.find(std::string{kind, ']'}, pos_ + 2);
      if (close != std::string_view::npos) {
        if (kind != ':') return Error("POSIX syntax [= =] / [. .] is reserved");
        std::string_view name = p_.substr(pos_ + 2, close - pos_ - 2);
        bool negated = !name.empty() && name[0] == '^';
        if (negated) name.remove_prefix(1);
        ByteSet set;
        if (!PosixSet(name, set)) return Error(Cat("POSIX class [:", name, ":] unknown"));
        bytes |= negated ? ~set : set;
        pos_ = close + 2;
        is_char = false;
        return absl::OkStatus();
      }
    }
    if (c != '\\') {
      ++pos_;
      is_char = true;
      cp = c;
      return absl::OkStatus();
    }
    ++pos_;
    if (AtEnd()) return Error("unmatched [");
    c = Peek();
    absl::StatusOr<bool> esc = ParseCharEscape(cp, /*in_class=*/true);
    if (!esc.ok()) return esc.status();
    if (*esc) {
      is_char = true;
      return absl::OkStatus();
    }
    bool found = false;
    ByteSet set;
    absl::Status st = ShorthandSet(c, found, set);
    if (found) {
      ++pos_;
      bytes |= set;
      is_char = false;
      return absl::OkStatus();
    }
    if (c == 'b') {
      ++pos_;
      is_char = true;
      cp = 0x08;
      return absl::OkStatus();
    }
    if (c == 'N' && Peek(1) == '{') {
      ++pos_;
      std::vector<uint32_t> cps;
      st = ParseNamedChar(cps);
      if (!st.ok()) return st;
      if (cps.size() != 1) return Error("\\N{U+...} sequence in a character class");
      is_char = true;
      cp = cps[0];
      return absl::OkStatus();
    }
    if (IsAsciiWord(c)) {
      return Error(Cat("unrecognized escape \\", std::string(1, c), " in character class"));
    }
    ++pos_;
    is_char = true;
    cp = c;
    return absl::OkStatus();
  }

  std::string_view p_;
  Mode top_mode_;
  EmitOptions options_;
  const GroupInfo* groups_;  // null in the counting pass

  size_t pos_ = 0;
  std::string out_;
  Prev prev_ = Prev::kNothing;
  size_t atom_start_ = 0;     // where the output of the last quantifiable item begins
  bool transparent_ = false;  // the last item was a (?#...) comment
  bool after_caret_ = false;  // the last item was ^
  bool caret_item_ = false;   // the item being parsed is ^
  unsigned features_ = 0;
  bool superset_ = false;
  bool large_repeat_ = false;
  bool jit_unsafe_ = false;
  bool unicode_pattern_ = false;  // Perl would upgrade the pattern to a Unicode string
  bool inline_d_ = false;         // some inline group switches to the /d charset
  int group_count_ = 0;
  int group_depth_ = 0;
  static constexpr int kMaxGroupDepth = 250;
  std::vector<std::pair<std::string, int>> names_;
  std::vector<AnchorAt> anchors_;
  std::vector<size_t> item_offsets_;  // ascending: where each consuming item or \b \B starts
};

struct Translation {
  std::string expression;
  Mode mode;  // the top-level mode (from the modifiers)
  unsigned features = 0;
  bool superset = false;
  bool large_repeat = false;
  bool jit_unsafe = false;
  bool no_auto_possess = false;
};

absl::StatusOr<Translation> Translate(const PerlRegex& re, const EmitOptions& options) {
  Mode mode;
  absl::Status st = ApplyModifiers(re.modifiers, /*allow_caret=*/false, mode);
  if (!st.ok()) return Invalid(std::string(st.message()));
  // Pass 1 counts capture groups and names (Perl needs the total for \10 and forward refs).
  Translator counter(re.pattern, mode, options, nullptr);
  st = counter.Run();
  if (!st.ok()) return st;
  GroupInfo groups = counter.groups_found();
  Translator emitter(re.pattern, mode, options, &groups);
  st = emitter.Run();
  if (!st.ok()) return st;
  // Atomic groups and possessive quantifiers are where PCRE2 10.42 misbehaves most: its JIT
  // ("(?>[^a]+?)\xff" finds nothing) and its auto-possessification, which makes "a?" possessive
  // before "(?:b)?+a" and then misses "a". Rare in rules: interpreter, no auto-possessification.
  bool cautious = (emitter.features() & (kAtomic | kPossessive)) != 0;
  Translation out{emitter.output(), mode, emitter.features(), emitter.superset(),
                  emitter.large_repeat()};
  out.jit_unsafe = emitter.jit_unsafe() || cautious;
  out.no_auto_possess = cautious;
  return out;
}

// ---------------------------------------------------------------------------------------------
// PCRE2.

std::string Pcre2ErrorMessage(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  if (n < 0) return Cat("PCRE2 error ", code);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

uint32_t Pcre2Options(const Mode& mode) {
  // No UTF/UCP: subjects are bytes, \w \d \s are ASCII like Perl's /aa, and patterns can never
  // switch them on with (*UTF). DOLLAR_ENDONLY stays off: Perl's $ also matches before a final
  // "\n".
  uint32_t options = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C | PCRE2_DUPNAMES;
  if (mode.i) options |= PCRE2_CASELESS;
  if (mode.m) options |= PCRE2_MULTILINE;
  if (mode.s) options |= PCRE2_DOTALL;
  // /x is resolved by the rewriter (comments and whitespace are gone, literals are escaped), so
  // PCRE2_EXTENDED would change nothing.
  return options;
}

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeDeleter>;

// PCRE2's character tables for C-locale ctype plus Perl's Latin-1 case pairs (C0-DE <-> E0-FE
// except D7/F7), so caseless back-references compare like Perl's /aa on bytes; literals and
// classes are already expanded by the rewriter. \w \d \s stay ASCII (the cbits and ctypes
// parts are untouched). The layout (lcc[256], fcc[256], cbits[320], ctypes[256]) has been
// stable since PCRE 1; a sanity check falls back to PCRE2's built-in tables if it ever moves.
const unsigned char* PerlCharacterTables() {
  static const unsigned char* const kTables = []() -> const unsigned char* {
    constexpr size_t kLength = 1088, kLcc = 0, kFcc = 256;
    locale_t c_locale = newlocale(LC_CTYPE_MASK, "C", static_cast<locale_t>(nullptr));
    if (c_locale == static_cast<locale_t>(nullptr)) return nullptr;
    locale_t previous = uselocale(c_locale);  // this thread only
    const uint8_t* made = pcre2_maketables(nullptr);
    uselocale(previous);
    freelocale(c_locale);
    if (made == nullptr) return nullptr;
    static unsigned char tables[kLength];
    std::memcpy(tables, made, kLength);
    pcre2_maketables_free(nullptr, made);
    if (tables[kLcc + 'A'] != 'a' || tables[kFcc + 'a'] != 'A' || tables[kFcc + 'A'] != 'a' ||
        tables[kLcc + 0xC4] != 0xC4 || tables[kFcc + 0xE4] != 0xE4) {
      return nullptr;
    }
    for (int upper = 0xC0; upper <= 0xDE; ++upper) {
      if (upper == 0xD7) continue;
      tables[kLcc + upper] = static_cast<unsigned char>(upper + 32);
      tables[kFcc + upper] = static_cast<unsigned char>(upper + 32);
      tables[kFcc + upper + 32] = static_cast<unsigned char>(upper);
    }
    return tables;
  }();
  return kTables;
}

EmitOptions Pcre2EmitOptions() {
  EmitOptions options;
  options.target = Target::kPcre2;
  options.latin1_tables = PerlCharacterTables() != nullptr;
  return options;
}

absl::StatusOr<CodePtr> CompilePcre2(const std::string& expression, const Mode& mode,
                                     bool no_auto_possess) {
  pcre2_compile_context* ctx = pcre2_compile_context_create(nullptr);
  if (ctx == nullptr) return absl::ResourceExhaustedError("pcre2_compile_context_create failed");
  if (const unsigned char* tables = PerlCharacterTables()) {
    pcre2_set_character_tables(ctx, tables);
  }
  // Perl's newline is "\n" only, whatever PCRE2 was built with.
  pcre2_set_newline(ctx, PCRE2_NEWLINE_LF);
  pcre2_set_bsr(ctx, PCRE2_BSR_UNICODE);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(expression.data()), expression.size(),
      Pcre2Options(mode) | (no_auto_possess ? PCRE2_NO_AUTO_POSSESS : 0), &error, &offset, ctx);
  pcre2_compile_context_free(ctx);
  if (code == nullptr) {
    return Invalid(
        Cat("PCRE2: ", Pcre2ErrorMessage(error), " at offset ", offset, " of ", expression));
  }
  return CodePtr(code);
}

// Per-thread match state: match data (one pair: only the whole match is needed) and a JIT
// stack larger than the 32 KB default, so deep but legitimate patterns do not fail.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(1, nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
  }
  ~ThreadMatchState() {
    if (data != nullptr) pcre2_match_data_free(data);
    if (jit_stack != nullptr) pcre2_jit_stack_free(jit_stack);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& LocalMatchState() {
  thread_local ThreadMatchState state;
  return state;
}

pcre2_jit_stack* LocalJitStack(void*) { return LocalMatchState().jit_stack; }

class Pcre2ConfirmRegex final : public ConfirmRegex {
 public:
  // `match_code`, when set, answers Matches(): an equivalent regex the JIT can run.
  Pcre2ConfirmRegex(CodePtr code, CodePtr match_code, pcre2_match_context* context)
      : code_(std::move(code)), match_code_(std::move(match_code)), context_(context) {}
  ~Pcre2ConfirmRegex() override { pcre2_match_context_free(context_); }

  bool Matches(std::string_view text) const override {
    ThreadMatchState& state = LocalMatchState();
    int rc = Match(match_code_ ? match_code_.get() : code_.get(), text, 0, 0, state);
    if (rc >= 0) return true;
    if (rc != PCRE2_ERROR_NOMATCH) limit_hits_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  size_t CountMatches(std::string_view text, size_t max) const override {
    ThreadMatchState& state = LocalMatchState();
    size_t count = 0;
    size_t offset = 0;
    uint32_t options = 0;
    while (offset <= text.size() && (max == 0 || count < max)) {
      int rc = Match(code_.get(), text, offset, options, state);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        limit_hits_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
      ++count;
      // Perl's //g: after an empty match the next match may not be empty at the same place;
      // NOTEMPTY_ATSTART (unanchored) finds exactly that next match, and keeps JIT usable.
      options = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART : 0;
      offset = ov[1];
    }
    return count;
  }

  size_t limit_hits() const override { return limit_hits_.load(std::memory_order_relaxed); }

 private:
  int Match(const pcre2_code* code, std::string_view text, size_t offset, uint32_t options,
            ThreadMatchState& state) const {
    if (state.data == nullptr) return PCRE2_ERROR_NOMEMORY;
    static const char kEmpty[] = "";
    const char* subject = text.data() != nullptr ? text.data() : kEmpty;
    return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject), text.size(), offset, options,
                       state.data, context_);
  }

  CodePtr code_;
  CodePtr match_code_;  // may be null
  pcre2_match_context* context_;  // immutable after Compile; read concurrently by pcre2_match
  mutable std::atomic<size_t> limit_hits_{0};
};

// ---------------------------------------------------------------------------------------------
// Hyperscan.

unsigned HyperscanFlags(const Mode& mode) {
  unsigned flags = 0;
  if (mode.i) flags |= HS_FLAG_CASELESS;
  if (mode.s) flags |= HS_FLAG_DOTALL;
  if (mode.m) flags |= HS_FLAG_MULTILINE;
  return flags;
}

// hs_expression_info with ALLOWEMPTY: returns the error message ("" on success) and whether
// the expression can match the empty string (then ALLOWEMPTY must stay set). With `compile`,
// also runs hs_compile: some limits ("Pattern is too large") only show there.
std::string CheckHyperscan(const std::string& expression, unsigned flags, bool compile,
                           bool& matches_empty) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  flags |= HS_FLAG_ALLOWEMPTY;
  auto take_error = [&](const char* what) {
    std::string message = error != nullptr && error->message != nullptr ? error->message : what;
    hs_free_compile_error(error);
    return message.empty() ? std::string(what) : message;
  };
  if (hs_expression_info(expression.c_str(), flags, &info, &error) != HS_SUCCESS) {
    return take_error("hs_expression_info failed");
  }
  matches_empty = info->min_width == 0;
  std::free(info);
  if (compile) {
    hs_database_t* db = nullptr;
    if (hs_compile(expression.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
      return take_error("hs_compile failed");
    }
    hs_free_database(db);
  }
  return "";
}

// Hyperscan limits that no rewrite of the same pattern avoids.
bool IsSizeLimit(const std::string& error) {
  return error.find("exceeds limit") != std::string::npos ||
         error.find("too large") != std::string::npos ||
         error.find("Resource limit") != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

absl::StatusOr<PerlRegex> ParsePerlRegex(std::string_view text) {
  // Mirrors Mail::SpamAssassin::Util::compile_regexp (4.0.1) step by step.
  std::string_view re = text;
  char end = 0;
  if (!re.empty() && re[0] == '/') {
    re.remove_prefix(1);
    end = '/';
  } else {
    size_t skip = 0;
    if (!re.empty() && re[0] == 'm') {
      skip = 1;
    } else if (re.size() >= 2 && re[0] == 'q' && re[1] == 'r') {
      skip = 2;
    } else {
      return Invalid("missing regexp delimiters");
    }
    if (re.size() <= skip) return Invalid("missing regexp delimiters");
    unsigned char d = static_cast<unsigned char>(re[skip]);
    switch (d) {
      case '{':
        end = '}';
        break;
      case '(':
        end = ')';
        break;
      case '<':
        end = '>';
        break;
      case '[':
        end = ']';
        break;
      default:
        // Any non-word character; on a byte string every byte >= 0x80 is one too.
        if (IsAsciiWord(d)) return Invalid("missing regexp delimiters");
        if (d == '\\') return Invalid("backslash delimiter not allowed");
        end = static_cast<char>(d);
    }
    re.remove_prefix(skip + 1);
  }
  // s/\Q$end\E([a-df-z]*)\z//: the end delimiter followed only by modifier letters.
  size_t letters = re.size();
  while (letters > 0 && re[letters - 1] >= 'a' && re[letters - 1] <= 'z' &&
         re[letters - 1] != 'e') {
    --letters;
  }
  if (letters == 0 || re[letters - 1] != end) {
    // Name the usual culprit: Perl's /e is refused on purpose.
    size_t tail = re.size();
    while (tail > 0 && re[tail - 1] >= 'a' && re[tail - 1] <= 'z') --tail;
    if (tail > 0 && re[tail - 1] == end && re.substr(tail).find('e') != std::string_view::npos) {
      return Invalid("modifier 'e' is not allowed");
    }
    return Invalid("invalid end delimiter/mods");
  }
  PerlRegex out;
  out.modifiers = std::string(re.substr(letters));
  re = re.substr(0, letters - 1);
  // Paranoid check for (?{...}) and (??{...}), as SpamAssassin does it (textually).
  for (size_t k = 0; k + 1 < re.size(); ++k) {
    if (re[k] != '(' || re[k + 1] != '?') continue;
    size_t j = k + 2;
    if (j < re.size() && re[j] == '?') ++j;
    if (j < re.size() && re[j] == '{') return Invalid("eval (?{}) found");
  }
  // An unescaped end delimiter inside the pattern, for asymmetric ones: drop every "\\" pair
  // first, then look for the delimiter not preceded by a backslash.
  if (end != '}' && end != ')' && end != ']') {
    std::string stripped;
    for (size_t k = 0; k < re.size(); ++k) {
      if (re[k] == '\\' && k + 1 < re.size() && re[k + 1] == '\\') {
        ++k;
        continue;
      }
      stripped += re[k];
    }
    for (size_t k = 0; k < stripped.size(); ++k) {
      if (stripped[k] == end && (k == 0 || stripped[k - 1] != '\\')) {
        return Invalid(Cat("unquoted delimiter '", std::string(1, end), "' found"));
      }
    }
  }
  Mode mode;
  absl::Status st = ApplyModifiers(out.modifiers, /*allow_caret=*/false, mode);
  // Valid-but-unsupported charset modifiers are the translator's call, not a parse error.
  if (!st.ok() && !absl::IsUnimplemented(st)) return st;
  out.pattern = std::string(re);
  return out;
}

absl::StatusOr<HyperscanPattern> TranslateExactly(const PerlRegex& re) {
  EmitOptions options;
  options.target = Target::kHyperscan;
  absl::StatusOr<Translation> t = Translate(re, options);
  if (!t.ok()) return t.status();
  if (t->superset) return Invalid("only a superset has Hyperscan syntax");
  HyperscanPattern out;
  out.expression = std::move(t->expression);
  out.flags = HyperscanFlags(t->mode);
  return out;
}

absl::StatusOr<HyperscanPattern> TranslateForHyperscan(const PerlRegex& re) {
  EmitOptions options;
  options.target = Target::kHyperscan;
  absl::StatusOr<Translation> t = Translate(re, options);
  if (!t.ok()) return t.status();
  HyperscanPattern out;
  unsigned base = HyperscanFlags(t->mode);
  // Static facts about the pattern as Hyperscan would get it: a deterministic compile-cost
  // estimate and the literals every match contains.
  ExpressionFacts facts = AnalyzeExpression(t->expression);
  out.cost = facts.cost;
  bool expensive = facts.cost > kExpensiveCost;
  // PCRE2 must be able to confirm before a pattern may run gated or as a prefilter.
  std::optional<absl::Status> confirm_status;  // computed once, when first asked
  auto confirmable = [&]() -> absl::Status {
    if (confirm_status.has_value()) return *confirm_status;
    absl::StatusOr<Translation> pcre = Translate(re, Pcre2EmitOptions());
    if (!pcre.ok()) {
      confirm_status = pcre.status();
    } else {
      absl::StatusOr<CodePtr> code =
          CompilePcre2(pcre->expression, pcre->mode, pcre->no_auto_possess);
      confirm_status = code.ok() ? absl::OkStatus() : code.status();
    }
    return *confirm_status;
  };
  auto gated = [&](size_t min_length, std::string why) -> std::optional<HyperscanPattern> {
    if (facts.gate.empty() || facts.gate_min_length < min_length) return std::nullopt;
    HyperscanPattern g;
    // The literals once; the engine counts their matches (a chain "A[\x00-\xff]*A*..." costs
    // Hyperscan seconds to compile and more to scan).
    g.expression = GateExpression(facts.gate, 1);
    g.gate_count = facts.gate_count;
    g.flags = HS_FLAG_CASELESS;
    g.prefilter = true;
    g.gated = true;
    g.cost = facts.cost;
    g.literal_length = facts.gate_min_length;
    g.why_prefilter = Cat(why, "; gated by ", facts.gate.size(), " literal",
                          facts.gate.size() == 1 ? "" : "s", " (shortest ",
                          facts.gate_min_length, " bytes",
                          facts.gate_count > 1 ? Cat(", ", facts.gate_count, " needed") : "",
                          ")");
    return g;
  };
  if (expensive) {
    if (std::optional<HyperscanPattern> g =
            gated(kMinGateLength, Cat("expensive for Hyperscan (cost ",
                                      static_cast<long long>(facts.cost), ")"))) {
      absl::Status st = confirmable();
      if (!st.ok()) return st;
      return *g;
    }
  }
  bool matches_empty = false;
  std::string exact_error;
  if (!t->superset && !expensive) {
    exact_error = CheckHyperscan(t->expression, base, /*compile=*/false, matches_empty);
    if (exact_error.empty()) {
      out.expression = t->expression;
      out.flags = base | (matches_empty ? HS_FLAG_ALLOWEMPTY : 0u);
      out.literal_length = facts.gate_min_length;  // the facts of this very expression
      // Runs `e`, a superset of the pattern that Hyperscan compiles faster, as a prefilter
      // instead, if it differs, PCRE2 can confirm and Hyperscan takes it.
      auto as_prefilter = [&](std::string e, const char* why) {
        bool e_empty = false;
        if (e == t->expression || !confirmable().ok() ||
            !CheckHyperscan(e, base | HS_FLAG_PREFILTER, /*compile=*/false, e_empty).empty())
          return false;
        out.literal_length = AnalyzeExpression(e).gate_min_length;
        out.expression = std::move(e);
        out.flags = base | HS_FLAG_PREFILTER | (e_empty ? HS_FLAG_ALLOWEMPTY : 0u);
        out.prefilter = true;
        out.why_prefilter = why;
        return true;
      };
      // Alternations of UTF-8 look-alike letters (T_LFUZ_PWRMALE, __MY_VICTIM) cost Hyperscan
      // far more to compile exactly (up to 0.6 s each, more when merged with others) than
      // folded into runs of high bytes (FoldRunsExpression), which on ASCII text fire exactly
      // where the pattern matches; PCRE2 confirms the hits.
      const bool folded = facts.cost > kFoldCost &&
                          as_prefilter(FoldRunsExpression(t->expression),
                                       "look-alike letters folded");
      if (!folded && (facts.cost > kFoldCost || t->large_repeat)) {
        // Likewise bounded repeats of groups ((?:\w{1,15}\s){0,10} in __PCT_FOR_YOU_3: 0.57 s
        // exact, 0.03 s widened), which Hyperscan unrolls copy by copy, and bounded repeats
        // of kWidenRepeatsFrom or more, whatever the cost: HIDE_WIN_STATUS's [^>]{1,1000}
        // twice, 94 ms exact, 1 ms as [^>]+; __HTML_FONT_TINY_02 102 -> 2 ms.
        EmitOptions wide = options;
        wide.widen_repeats = true;
        wide.widen_group_repeats_from = kWidenGroupRepeatsFrom;
        absl::StatusOr<Translation> w = Translate(re, wide);
        if (w.ok()) as_prefilter(std::move(w->expression), "bounded repeats widened");
      }
      return out;
    }
  } else if (expensive) {
    exact_error = Cat("cost ", static_cast<long long>(facts.cost), " over ",
                      static_cast<long long>(kExpensiveCost), " and no literal gate");
  }
  // A prefilter is only useful if its hits can be confirmed.
  if (absl::Status st = confirmable(); !st.ok()) return st;

  // Prefilter mode: Hyperscan approximates what it cannot run (lookaround, back-references,
  // possessive and atomic groups), and the relaxations keep it compiling quickly.
  options.widen_repeats = true;
  options.widen_group_repeats_from = kWidenGroupRepeatsFrom;
  t = Translate(re, options);
  if (!t.ok()) return t.status();
  unsigned prefilter = base | HS_FLAG_PREFILTER;
  // No trial compile: the rare limits that show only there ("Pattern is too large") are
  // handled when the database is built (the pattern then runs on PCRE2 alone).
  bool compile = false;
  // A prefilter may match more than the pattern: an expensive one gets its alternations of
  // look-alike letters turned into classes per position (CoarsenExpression), which keeps the
  // stock ReplaceTags giants (__YOUR_PASSWORD: 100 KB) within Hyperscan's limits. Cheaper
  // ones stay as they are: coarse classes do not always compile faster.
  auto coarsen = [&](const std::string& e) {
    return expensive ? CoarsenExpression(e) : facts.cost > kFoldCost ? FoldRunsExpression(e) : e;
  };
  std::string expression = coarsen(t->expression);
  std::string error = CheckHyperscan(expression, prefilter, compile, matches_empty);
  bool embedded = error.find("Embedded") != std::string::npos;
  if (embedded) {
    options.drop_embedded_anchors = true;
    t = Translate(re, options);
    if (!t.ok()) return t.status();
    expression = coarsen(t->expression);
    error = CheckHyperscan(expression, prefilter, compile, matches_empty);
  }
  if (expensive && IsSizeLimit(error)) {
    // Still over Hyperscan's limits: widen the non-ASCII bytes of each class to a range.
    std::string coarser = CoarsenExpression(t->expression, /*hull_high_bytes=*/true);
    std::string coarser_error = CheckHyperscan(coarser, prefilter, compile, matches_empty);
    if (coarser_error.empty()) {
      expression = std::move(coarser);
      error.clear();
    }
  }
  out.prefilter = true;
  if (error.empty()) {
    ExpressionFacts final_facts = AnalyzeExpression(expression);
    out.cost = final_facts.cost;
    out.literal_length = final_facts.gate_min_length;
    out.expression = std::move(expression);
    out.flags = prefilter | (matches_empty ? HS_FLAG_ALLOWEMPTY : 0u);
    if (t->features != 0) {
      out.why_prefilter = FeatureNames(t->features);
    } else if (embedded) {
      out.why_prefilter = "embedded anchor";
    } else {
      out.why_prefilter = Cat("hyperscan: ", exact_error);
    }
    return out;
  }
  if (IsSizeLimit(error) || IsSizeLimit(exact_error)) {
    // Too big for Hyperscan in any form: behind its literal gate if it has one (any length
    // beats confirming every text).
    if (std::optional<HyperscanPattern> g = gated(1, Cat("too large for hyperscan (",
                                                         error.empty() ? exact_error : error,
                                                         ", ", expression.size(), " bytes)"))) {
      return *g;
    }
    // Too big for Hyperscan in any form (the stock FUZZY_* rules after ReplaceTags run to
    // 100 KB+, beyond its 16 K pattern length). The widest prefilter, "matches everywhere",
    // keeps the rule usable: every text goes to PCRE2.
    out.expression = "";
    out.flags = HS_FLAG_PREFILTER | HS_FLAG_ALLOWEMPTY;
    out.why_prefilter = Cat("too large for hyperscan (", error.empty() ? exact_error : error,
                            "): every text is confirmed");
    return out;
  }
  return Invalid(Cat("Hyperscan: ", error));
}

namespace {

// "(?:^|\s)REST" matches somewhere exactly when "(?<!\S)REST" does: REST matches at a position
// at the start of the text or after a whitespace character (with /m, ^ after a newline is
// such a position too). Likewise "(?:^|\W)" and "(?<!\w)". The matches start one character
// apart, so this holds for "is there a match", not for counting them. The lookbehind form has
// no alternation branch that consumes nothing, so PCRE2 10.42 can run it on the JIT (see
// ParseAlternation). Stock __YOUR_PASSWORD (37 KB after ReplaceTags) and the FUZZY_* rules
// start this way. Only done when REST is plain: no top-level |, capture group,
// back-reference, inline /x or \Q.
std::optional<PerlRegex> LeadingAnchorAsLookbehind(const PerlRegex& re) {
  if (re.modifiers.find('x') != std::string::npos) return std::nullopt;
  for (std::string_view lead : {"\\s", "\\W"}) {
    std::string prefix = Cat("(?:^|", lead, ")");
    if (!re.pattern.starts_with(prefix)) continue;
    std::string_view rest = std::string_view(re.pattern).substr(prefix.size());
    if (rest.empty()) return std::nullopt;
    int depth = 0;
    for (size_t i = 0; i < rest.size(); ++i) {
      char c = rest[i];
      char n = i + 1 < rest.size() ? rest[i + 1] : '\0';
      if (c == '\\') {
        if ((n >= '0' && n <= '9') || n == 'g' || n == 'k' || n == 'Q') return std::nullopt;
        ++i;
        continue;
      }
      if (c == '[') {  // a class: skip to its end ("[]...]" and "[^]...]" keep the first ])
        size_t j = i + 1;
        if (j < rest.size() && rest[j] == '^') ++j;
        if (j < rest.size() && rest[j] == ']') ++j;
        while (j < rest.size() && rest[j] != ']') j += rest[j] == '\\' ? 2 : 1;
        if (j >= rest.size()) return std::nullopt;
        i = j;
        continue;
      }
      if (c == ')') {
        if (--depth < 0) return std::nullopt;
        continue;
      }
      // A top-level | would leave the leading group: "(?:^|\s)a|b" is not "(?:^|\s)(?:a|b)".
      if (c == '|' && depth == 0) return std::nullopt;
      if (c != '(') continue;
      ++depth;
      if (n != '?' && n != '*') return std::nullopt;  // a capture group
      char k = i + 2 < rest.size() ? rest[i + 2] : '\0';
      if (n == '?' && (k == 'P' || k == '\'' || k == '|' || k == 'x' || k == '(' ||
                       (k == '<' && i + 3 < rest.size() && rest[i + 3] != '=' &&
                        rest[i + 3] != '!')))
        return std::nullopt;  // named group, branch reset, inline x, conditional
      if (n == '?' && k != ':' && k != '=' && k != '!' && k != '<' && k != '>' && k != '#' &&
          k != 'i' && k != 'm' && k != 's' && k != '-' && k != '^')
        return std::nullopt;  // anything unusual: leave the pattern alone
      for (size_t j = i + 2; n == '?' && j < rest.size() && rest[j] != ':' && rest[j] != ')';
           ++j) {
        if (rest[j] == 'x') return std::nullopt;  // (?ix) / (?x: switch comments on
        if (rest[j] == '#' || rest[j] == '<' || rest[j] == '=' || rest[j] == '!') break;
      }
    }
    PerlRegex out;
    out.modifiers = re.modifiers;
    out.pattern = Cat(lead == "\\s" ? "(?<!\\S)" : "(?<!\\w)", rest);
    return out;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConfirmRegex>> ConfirmRegex::Compile(const PerlRegex& re,
                                                                    uint32_t match_limit,
                                                                    uint32_t depth_limit) {
  absl::StatusOr<Translation> t = Translate(re, Pcre2EmitOptions());
  if (!t.ok()) return t.status();
  absl::StatusOr<CodePtr> code = CompilePcre2(t->expression, t->mode, t->no_auto_possess);
  if (!code.ok()) return code.status();
  // JIT where the platform has it and the pattern avoids a known JIT bug; the interpreter
  // otherwise (pcre2_match picks).
  if (!t->jit_unsafe) (void)pcre2_jit_compile(code->get(), PCRE2_JIT_COMPLETE);
  // For "is there a match", an equivalent regex the JIT can run, where there is one.
  CodePtr match_code;
  if (t->jit_unsafe && !t->no_auto_possess) {
    if (std::optional<PerlRegex> l = LeadingAnchorAsLookbehind(re)) {
      absl::StatusOr<Translation> lt = Translate(*l, Pcre2EmitOptions());
      if (lt.ok() && !lt->jit_unsafe && !lt->no_auto_possess) {
        absl::StatusOr<CodePtr> lc = CompilePcre2(lt->expression, lt->mode, false);
        if (lc.ok() && pcre2_jit_compile(lc->get(), PCRE2_JIT_COMPLETE) == 0) {
          match_code = *std::move(lc);
        }
      }
    }
  }
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  if (context == nullptr) return absl::ResourceExhaustedError("pcre2_match_context_create failed");
  pcre2_set_match_limit(context, match_limit);
  pcre2_set_depth_limit(context, depth_limit);
  pcre2_jit_stack_assign(context, LocalJitStack, nullptr);
  return std::unique_ptr<ConfirmRegex>(
      new Pcre2ConfirmRegex(*std::move(code), std::move(match_code), context));
}

namespace {

class LazyConfirmRegex final : public ConfirmRegex {
 public:
  LazyConfirmRegex(const PerlRegex& re, uint32_t match_limit, uint32_t depth_limit)
      : re_(re), match_limit_(match_limit), depth_limit_(depth_limit) {}

  bool Matches(std::string_view text) const override {
    const ConfirmRegex* c = Get();
    if (c == nullptr) {
      failed_calls_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return c->Matches(text);
  }
  size_t CountMatches(std::string_view text, size_t max) const override {
    const ConfirmRegex* c = Get();
    if (c == nullptr) {
      failed_calls_.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    return c->CountMatches(text, max);
  }
  size_t limit_hits() const override {
    std::call_once(once_, [this] { Build(); });
    size_t n = failed_calls_.load(std::memory_order_relaxed);
    return compiled_ ? n + compiled_->limit_hits() : n;
  }

 private:
  const ConfirmRegex* Get() const {
    std::call_once(once_, [this] { Build(); });
    return compiled_.get();
  }
  void Build() const {
    absl::StatusOr<std::unique_ptr<ConfirmRegex>> c =
        ConfirmRegex::Compile(re_, match_limit_, depth_limit_);
    if (c.ok()) compiled_ = *std::move(c);
  }

  PerlRegex re_;
  uint32_t match_limit_, depth_limit_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<ConfirmRegex> compiled_;
  mutable std::atomic<size_t> failed_calls_{0};
};

}  // namespace

std::unique_ptr<ConfirmRegex> ConfirmRegex::CompileLazily(const PerlRegex& re,
                                                          uint32_t match_limit,
                                                          uint32_t depth_limit) {
  return std::make_unique<LazyConfirmRegex>(re, match_limit, depth_limit);
}

}  // namespace veto::rules
