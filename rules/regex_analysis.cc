#include "rules/regex_analysis.h"

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace veto::rules {
namespace {

// Exact string sets stay small (cross products grow fast); gates may be large alternations
// of literals, which Hyperscan compiles quickly (FDR/Teddy literal matchers).
constexpr size_t kMaxExact = 64;
constexpr size_t kMaxExactLength = 128;
constexpr size_t kMaxGate = 4096;
// A class with at most this many distinct (case-folded) bytes is a set of literals.
constexpr size_t kMaxClassLiterals = 10;
// The cost of a repeat of a single byte class, however large its bounds.
constexpr double kSingleRepeatCost = 16;
// Deeper nesting is "cannot read" (the translator stops at 250 levels anyway).
constexpr int kMaxDepth = 300;
// Returned for anything the analyzer cannot read: expensive, no gate.
constexpr double kUnknownCost = 1e9;

using Strings = std::vector<std::string>;

void SortUnique(Strings& s) {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
}

// What a sub-expression matches, as far as literals go.
struct Info {
  double cost = 0;
  bool exact_ok = true;  // `exact` is every string the sub-expression can match
  Strings exact = {""};
  std::optional<Strings> required;  // every match contains one of these
  // Every match starts (ends) with one of these; {""} when nothing is known. Only read through
  // Prefixes()/Suffixes(), which give `exact` when it is known.
  Strings prefix = {""};
  Strings suffix = {""};
};

const Strings& Prefixes(const Info& i) { return i.exact_ok ? i.exact : i.prefix; }
const Strings& Suffixes(const Info& i) { return i.exact_ok ? i.exact : i.suffix; }

// Every a + b, or nullopt when that is more than kMaxExact strings or one is too long.
std::optional<Strings> Product(const Strings& a, const Strings& b) {
  if (a.size() * b.size() > kMaxExact) return std::nullopt;
  Strings out;
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      if (x.size() + y.size() > kMaxExactLength) return std::nullopt;
      out.push_back(x + y);
    }
  }
  SortUnique(out);
  return out;
}

size_t MinLength(const Strings& s) {
  size_t m = SIZE_MAX;
  for (const std::string& x : s) m = std::min(m, x.size());
  return s.empty() ? 0 : m;
}

bool HasEmpty(const Strings& s) { return std::any_of(s.begin(), s.end(), [](auto& x) { return x.empty(); }); }

// Is `a` a better gate than `b`: longer shortest literal, then fewer literals.
bool Better(const Strings& a, const Strings& b) {
  size_t la = MinLength(a), lb = MinLength(b);
  if (la != lb) return la > lb;
  return a.size() < b.size();
}

void Consider(std::optional<Strings>& best, const Strings& candidate) {
  if (candidate.empty() || HasEmpty(candidate) || candidate.size() > kMaxGate) return;
  if (!best.has_value() || Better(candidate, *best)) best = candidate;
}

// The best "one of these is in every match" set an Info offers.
std::optional<Strings> BestSet(const Info& info) {
  std::optional<Strings> best;
  if (info.exact_ok) Consider(best, info.exact);
  if (info.required.has_value()) Consider(best, *info.required);
  return best;
}

Info Unknown(double cost = 1) {
  Info i;
  i.cost = cost;
  i.exact_ok = false;
  i.exact.clear();
  return i;
}

Info Literals(const std::bitset<256>& set) {
  Info i;
  i.cost = 1;
  // Upper-case ASCII letters folded onto lower case, word-wide (this runs on every class of
  // the 100 KB ReplaceTags patterns).
  static const std::bitset<256> kUpper = [] {
    std::bitset<256> u;
    for (int b = 'A'; b <= 'Z'; ++b) u.set(b);
    return u;
  }();
  const std::bitset<256> folded = (set & ~kUpper) | ((set & kUpper) << 32);
  if (folded.none() || folded.count() > kMaxClassLiterals) return Unknown();
  i.exact.clear();
  for (size_t b = folded._Find_first(); b < 256; b = folded._Find_next(b))
    i.exact.emplace_back(1, static_cast<char>(b));
  return i;
}

// Escape after the backslash at p[pos]: \xNN or \<punctuation> gives the byte (pos moves past
// it); anything else gives -1 (pos unchanged).
int EscapedByteAt(std::string_view p, size_t& pos) {
  auto at = [&](size_t k) -> unsigned char {
    return pos + k < p.size() ? static_cast<unsigned char>(p[pos + k]) : 0;
  };
  unsigned char c = at(0);
  if (c == 'x') {
    auto hex = [](unsigned char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    int hi = hex(at(1)), lo = hex(at(2));
    if (hi < 0 || lo < 0) return -1;
    pos += 3;
    return hi * 16 + lo;
  }
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
      c != 0) {
    ++pos;
    return c;
  }
  return -1;
}

// \d \w \s and their negations as byte sets (ASCII meaning, as both engines use them).
std::bitset<256> ShorthandSet(unsigned char c, bool& ok) {
  std::bitset<256> s;
  ok = true;
  auto range = [&](int lo, int hi) {
    for (int b = lo; b <= hi; ++b) s[b] = true;
  };
  switch (c | 0x20) {
    case 'd':
      range('0', '9');
      break;
    case 'w':
      range('0', '9');
      range('a', 'z');
      range('A', 'Z');
      s['_'] = true;
      break;
    case 's':
      range('\t', '\r');
      s[' '] = true;
      break;
    default:
      ok = false;
      return s;
  }
  if (c >= 'A' && c <= 'Z') s.flip();
  return s;
}

// A bracket class starting at p[pos] ('['): its byte set; pos moves past the ']'.
bool ParseClassAt(std::string_view p, size_t& pos, std::bitset<256>& set) {
  auto at = [&](size_t k) -> unsigned char {
    return pos + k < p.size() ? static_cast<unsigned char>(p[pos + k]) : 0;
  };
  ++pos;  // [
  bool negate = false;
  if (at(0) == '^') {
    negate = true;
    ++pos;
  }
  bool first = true;
  int prev = -1;  // last single byte, for ranges
  while (pos < p.size() && (at(0) != ']' || first)) {
    first = false;
    int b = -1;
    if (at(0) == '\\') {
      ++pos;
      bool ok = false;
      std::bitset<256> sh = ShorthandSet(at(0), ok);
      if (ok) {
        ++pos;
        set |= sh;
        prev = -1;
        continue;
      }
      b = EscapedByteAt(p, pos);
      if (b < 0) return false;
    } else if (at(0) == '-' && prev >= 0 && at(1) != ']') {
      ++pos;
      int hi = -1;
      if (at(0) == '\\') {
        ++pos;
        hi = EscapedByteAt(p, pos);
      } else {
        hi = at(0);
        ++pos;
      }
      if (hi < prev) return false;
      for (int k = prev; k <= hi; ++k) set[k] = true;
      prev = -1;
      continue;
    } else if (at(0) == '[' && at(1) == ':') {
      return false;  // POSIX classes are expanded by the translator
    } else {
      b = at(0);
      ++pos;
    }
    set[b] = true;
    prev = b;
  }
  if (pos >= p.size()) return false;
  ++pos;  // ]
  if (negate) set.flip();
  return true;
}

class Analyzer {
 public:
  explicit Analyzer(std::string_view p) : p_(p) {}

  std::optional<Info> Run() {
    std::optional<Info> i = Alternation();
    if (!i.has_value() || pos_ != p_.size()) return std::nullopt;
    return i;
  }

 private:
  bool AtEnd() const { return pos_ >= p_.size(); }
  unsigned char Peek(size_t ahead = 0) const {
    return pos_ + ahead < p_.size() ? static_cast<unsigned char>(p_[pos_ + ahead]) : 0;
  }

  std::optional<Info> Alternation() {
    std::vector<Info> branches;
    for (;;) {
      std::optional<Info> b = Concatenation();
      if (!b.has_value()) return std::nullopt;
      branches.push_back(std::move(*b));
      if (Peek() != '|' || AtEnd()) break;
      ++pos_;
    }
    if (branches.size() == 1) return std::move(branches[0]);
    Info out;
    out.cost = 0;
    out.exact.clear();
    Strings gate;
    bool gate_ok = true;
    for (const Info& b : branches) {
      out.cost += b.cost;
      if (out.exact_ok && b.exact_ok && out.exact.size() + b.exact.size() <= kMaxExact) {
        out.exact.insert(out.exact.end(), b.exact.begin(), b.exact.end());
      } else {
        out.exact_ok = false;
      }
      std::optional<Strings> s = BestSet(b);
      if (gate_ok && s.has_value() && gate.size() + s->size() <= kMaxGate) {
        gate.insert(gate.end(), s->begin(), s->end());
      } else {
        gate_ok = false;
      }
    }
    if (out.exact_ok) SortUnique(out.exact);
    else out.exact.clear();
    // A match of the alternation starts (ends) as one of its branches does.
    for (Strings Info::*edge : {&Info::prefix, &Info::suffix}) {
      Strings all;
      for (const Info& b : branches) {
        const Strings& e = edge == &Info::prefix ? Prefixes(b) : Suffixes(b);
        all.insert(all.end(), e.begin(), e.end());
      }
      SortUnique(all);
      out.*edge = all.size() <= kMaxExact ? all : Strings{""};
    }
    if (gate_ok) {
      SortUnique(gate);
      out.required = std::move(gate);
    }
    return out;
  }

  std::optional<Info> Concatenation() {
    Info out;
    Strings run = {""};  // product of the current run of exact items
    bool all_exact = true;
    std::optional<Strings> best;
    Strings prefix;  // of the whole concatenation, once the first inexact item is seen
    bool prefix_known = false;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      std::optional<Info> item = Quantified();
      if (!item.has_value()) return std::nullopt;
      out.cost += item->cost;
      if (item->exact_ok && item->exact.size() * run.size() <= kMaxExact) {
        Strings next;
        bool too_long = false;
        for (const std::string& a : run) {
          for (const std::string& b : item->exact) {
            if (a.size() + b.size() > kMaxExactLength) too_long = true;
            next.push_back(a + b);
          }
        }
        if (!too_long) {
          SortUnique(next);
          run = std::move(next);
          continue;
        }
      }
      // The run ends here. It is immediately followed by the item's start, so the run joined
      // with the item's prefixes is one candidate ("ad" + "d+" gives "ad"); the item's own best
      // set another; and the next run starts with the item's suffixes ("d+" + "res": "dres").
      std::optional<Strings> joined = Product(run, Prefixes(*item));
      const Strings& head = joined.has_value() ? *joined : run;
      Consider(best, head);
      if (!prefix_known) {
        prefix = head;
        prefix_known = true;
      }
      all_exact = false;
      if (std::optional<Strings> s = BestSet(*item)) Consider(best, *s);
      run = Suffixes(*item);
    }
    Consider(best, run);
    out.exact_ok = all_exact;
    out.exact = all_exact ? run : Strings{};
    out.required = best;
    out.prefix = prefix_known ? prefix : run;
    out.suffix = run;
    return out;
  }

  bool ReadNumber(uint32_t& n) {
    if (!(Peek() >= '0' && Peek() <= '9')) return false;
    uint64_t v = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      v = std::min<uint64_t>(v * 10 + (Peek() - '0'), 1u << 20);
      ++pos_;
    }
    n = static_cast<uint32_t>(v);
    return true;
  }

  std::optional<Info> Quantified() {
    size_t start = pos_;
    std::optional<Info> atom = Atom();
    if (!atom.has_value()) return std::nullopt;
    // One byte class or literal (not a group): its repeats are cheap for Hyperscan.
    bool single = p_[start] != '(' && atom->cost <= 1;
    for (;;) {
      uint32_t min = 0, max = 0;
      bool bounded = true;
      unsigned char c = Peek();
      if (c == '*') {
        ++pos_;
        bounded = false;
      } else if (c == '+') {
        ++pos_;
        min = 1;
        bounded = false;
      } else if (c == '?') {
        ++pos_;
        max = 1;
      } else if (c == '{') {
        size_t save = pos_;
        ++pos_;
        if (!ReadNumber(min)) {
          pos_ = save;
          return atom;  // a literal '{' is always escaped in canonical form
        }
        if (Peek() == ',') {
          ++pos_;
          if (!ReadNumber(max)) bounded = false;
        } else {
          max = min;
        }
        if (Peek() != '}') return std::nullopt;
        ++pos_;
      } else {
        return atom;
      }
      if (Peek() == '?' || Peek() == '+') ++pos_;  // lazy, possessive: same language
      atom = Repeat(*atom, min, max, bounded, single);
      single = false;
    }
  }

  static Info Repeat(const Info& child, uint32_t min, uint32_t max, bool bounded, bool single) {
    Info out;
    double factor = bounded ? std::max<uint32_t>(max, 1) : std::max<uint32_t>(min, 1);
    // Hyperscan runs a repeat of one byte class ([^>]{0,2048}) in a dedicated bounded-repeat
    // engine: cheap however large. Repeats of anything longer are expanded position by
    // position, and nested ones multiply.
    if (single) factor = std::min(factor, kSingleRepeatCost);
    out.cost = child.cost * factor;
    if (min == 0) {
      if (bounded && max == 1 && child.exact_ok && child.exact.size() + 1 <= kMaxExact) {
        out.exact = child.exact;
        out.exact.push_back("");
        SortUnique(out.exact);
      } else {
        out.exact_ok = false;
        out.exact.clear();
      }
      return out;  // may match nothing: no required literal
    }
    out.required = BestSet(child);
    // At least one copy: a match starts as the child's first copy does, ends as its last.
    out.prefix = Prefixes(child);
    out.suffix = Suffixes(child);
    out.exact_ok = false;
    out.exact.clear();
    if (bounded && min == max && child.exact_ok) {
      Strings power = {""};
      bool fits = true;
      for (uint32_t k = 0; k < min && fits; ++k) {
        if (power.size() * child.exact.size() > kMaxExact) {
          fits = false;
          break;
        }
        Strings next;
        for (const std::string& a : power) {
          for (const std::string& b : child.exact) {
            if (a.size() + b.size() > kMaxExactLength) fits = false;
            next.push_back(a + b);
          }
        }
        power = std::move(next);
      }
      if (fits) {
        SortUnique(power);
        out.exact_ok = true;
        out.exact = power;
      }
    }
    return out;
  }

  std::optional<Info> Class() {
    std::bitset<256> set;
    if (!ParseClassAt(p_, pos_, set)) return std::nullopt;
    return Literals(set);
  }

  // After "(": the group's kind and body, through the closing ")".
  std::optional<Info> Group() {
    if (++depth_ > kMaxDepth) return std::nullopt;
    std::optional<Info> out = GroupBody();
    --depth_;
    return out;
  }

  std::optional<Info> GroupBody() {
    ++pos_;  // (
    bool zero_width = false;
    bool unknown = false;
    if (Peek() == '?') {
      unsigned char k = Peek(1);
      if (k == ':' || k == '>') {
        pos_ += 2;
      } else if (k == '=' || k == '!') {
        pos_ += 2;
        zero_width = true;
      } else if (k == '<' && (Peek(2) == '=' || Peek(2) == '!')) {
        pos_ += 3;
        zero_width = true;
      } else if (k == '(') {
        // Conditional: skip the condition, then the branches are "something".
        pos_ += 2;
        if (Peek() == '?') {
          --pos_;
          std::optional<Info> cond = Group();
          if (!cond.has_value()) return std::nullopt;
        } else {
          while (!AtEnd() && Peek() != ')') ++pos_;
          if (AtEnd()) return std::nullopt;
          ++pos_;
        }
        unknown = true;
      } else {
        // Inline flags: (?i) (?-s) or (?i-m:...)
        pos_ += 1;
        while (!AtEnd() && (Peek() == 'i' || Peek() == 'm' || Peek() == 's' || Peek() == '-' ||
                            Peek() == 'x')) {
          ++pos_;
        }
        if (Peek() == ')') {
          ++pos_;
          return Info{};  // a flag change: matches the empty string
        }
        if (Peek() != ':') return std::nullopt;
        ++pos_;
      }
    }
    std::optional<Info> body = Alternation();
    if (!body.has_value() || Peek() != ')') return std::nullopt;
    ++pos_;
    if (zero_width) {
      Info empty;
      empty.cost = body->cost;
      return empty;
    }
    if (unknown) return Unknown(body->cost);
    return body;
  }

  std::optional<Info> Atom() {
    unsigned char c = Peek();
    switch (c) {
      case '(':
        return Group();
      case '[':
        return Class();
      case '^':
      case '$':
        ++pos_;
        return Info{};
      case '.':
        ++pos_;
        return Unknown();
      case '\\': {
        ++pos_;
        unsigned char e = Peek();
        if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z' || e == 'G' || e == 'K') {
          ++pos_;
          return Info{};
        }
        if (e >= '1' && e <= '9') {
          while (Peek() >= '0' && Peek() <= '9') ++pos_;
          return Unknown();
        }
        bool ok = false;
        std::bitset<256> sh = ShorthandSet(e, ok);
        if (ok) {
          ++pos_;
          return Literals(sh);
        }
        int b = EscapedByteAt(p_, pos_);
        if (b >= 0) {
          std::bitset<256> one;
          one[b] = true;
          return Literals(one);
        }
        // Some other escape (\h, \N, ...): one unknown item.
        if (AtEnd()) return std::nullopt;
        ++pos_;
        return Unknown();
      }
      case ')':
      case '|':
        return Info{};
      default: {
        ++pos_;
        std::bitset<256> one;
        one[c] = true;
        return Literals(one);
      }
    }
  }

  std::string_view p_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------------
// Coarsening: a small syntax tree of the canonical expression, rewritten and re-emitted.

struct Node {
  enum Kind { kSeq, kAlt, kGroup, kRepeat, kByte, kOther } kind = kSeq;
  std::vector<Node> kids;  // kSeq, kAlt: items/branches; kGroup, kRepeat: kids[0]
  std::string text;        // kGroup: its opener ("(?:", "(?=", "(?i:", "("); kRepeat: the
                           // quantifier; kOther: the item verbatim
  std::bitset<256> set;    // kByte
};

Node MakeByte(const std::bitset<256>& set) {
  Node n;
  n.kind = Node::kByte;
  n.set = set;
  return n;
}

// One byte, in or out of a class, as short as both engines read it the same way: letters and
// digits as themselves, other printable ASCII backslash-escaped, the rest as \xNN. (Hyperscan's
// 16 K pattern length limit is what coarsening the largest stock patterns is for.)
std::string ByteText(int b) {
  if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9'))
    return std::string(1, static_cast<char>(b));
  if (b > 0x20 && b < 0x7f) return std::string{'\\', static_cast<char>(b)};
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

std::string EmitByteSet(const std::bitset<256>& set) {
  if (set.count() == 1) {
    for (int b = 0; b < 256; ++b) {
      if (set[b]) return ByteText(b);
    }
  }
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!set[b]) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && set[e + 1]) ++e;
    out += ByteText(b);
    if (e == b + 1) {
      out += ByteText(e);
    } else if (e > b + 1) {
      out += '-';
      out += ByteText(e);
    }
    b = e + 1;
  }
  out += ']';
  return out;
}

void Emit(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::kSeq:
      for (const Node& k : n.kids) Emit(k, out);
      break;
    case Node::kAlt:
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i > 0) out += '|';
        Emit(n.kids[i], out);
      }
      break;
    case Node::kGroup:
      out += n.text;
      Emit(n.kids[0], out);
      out += ')';
      break;
    case Node::kRepeat:
      Emit(n.kids[0], out);
      out += n.text;
      break;
    case Node::kByte:
      out += EmitByteSet(n.set);
      break;
    case Node::kOther:
      out += n.text;
      break;
  }
}

class TreeParser {
 public:
  explicit TreeParser(std::string_view p) : p_(p) {}

  std::optional<Node> Run() {
    std::optional<Node> n = Alternation();
    if (!n.has_value() || pos_ != p_.size()) return std::nullopt;
    return n;
  }

 private:
  unsigned char Peek(size_t ahead = 0) const {
    return pos_ + ahead < p_.size() ? static_cast<unsigned char>(p_[pos_ + ahead]) : 0;
  }
  bool AtEnd() const { return pos_ >= p_.size(); }

  std::optional<Node> Alternation() {
    Node alt;
    alt.kind = Node::kAlt;
    for (;;) {
      std::optional<Node> b = Sequence();
      if (!b.has_value()) return std::nullopt;
      alt.kids.push_back(std::move(*b));
      if (AtEnd() || Peek() != '|') break;
      ++pos_;
    }
    if (alt.kids.size() == 1) return std::move(alt.kids[0]);
    return alt;
  }

  std::optional<Node> Sequence() {
    Node seq;
    seq.kind = Node::kSeq;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      std::optional<Node> item = Atom();
      if (!item.has_value()) return std::nullopt;
      for (;;) {
        size_t start = pos_;
        unsigned char c = Peek();
        if (c == '*' || c == '+' || c == '?') {
          ++pos_;
        } else if (c == '{' && Peek(1) >= '0' && Peek(1) <= '9') {
          while (!AtEnd() && Peek() != '}') ++pos_;
          if (AtEnd()) return std::nullopt;
          ++pos_;
        } else {
          break;
        }
        if (Peek() == '?' || Peek() == '+') ++pos_;
        Node rep;
        rep.kind = Node::kRepeat;
        rep.text = std::string(p_.substr(start, pos_ - start));
        rep.kids.push_back(std::move(*item));
        item = std::move(rep);
      }
      seq.kids.push_back(std::move(*item));
    }
    return seq;
  }

  Node Other(size_t start) const {
    Node n;
    n.kind = Node::kOther;
    n.text = std::string(p_.substr(start, pos_ - start));
    return n;
  }

  std::optional<Node> Atom() {
    size_t start = pos_;
    unsigned char c = Peek();
    if (c == '(') {
      if (depth_ >= kMaxDepth) return std::nullopt;
      ++pos_;
      if (Peek() == '?') {
        unsigned char k = Peek(1);
        if (k == ':' || k == '=' || k == '!' || k == '>') {
          pos_ += 2;
        } else if (k == '<' && (Peek(2) == '=' || Peek(2) == '!')) {
          pos_ += 3;
        } else {
          pos_ += 1;
          while (!AtEnd() && (Peek() == 'i' || Peek() == 'm' || Peek() == 's' ||
                              Peek() == 'x' || Peek() == '-')) {
            ++pos_;
          }
          if (Peek() == ')') {
            ++pos_;
            return Other(start);  // (?i): a flag change
          }
          if (Peek() != ':') return std::nullopt;  // conditionals and the rest: not here
          ++pos_;
        }
      }
      Node g;
      g.kind = Node::kGroup;
      g.text = std::string(p_.substr(start, pos_ - start));
      ++depth_;
      std::optional<Node> body = Alternation();
      --depth_;
      if (!body.has_value() || Peek() != ')') return std::nullopt;
      ++pos_;
      g.kids.push_back(std::move(*body));
      return g;
    }
    if (c == '[') {
      std::bitset<256> set;
      if (!ParseClassAt(p_, pos_, set)) return std::nullopt;
      return MakeByte(set);
    }
    if (c == '\\') {
      unsigned char e = Peek(1);
      bool ok = false;
      std::bitset<256> sh = ShorthandSet(e, ok);
      if (ok) {
        pos_ += 2;
        return MakeByte(sh);
      }
      int b = EscapedByteAt(p_, ++pos_);
      if (b >= 0) {
        std::bitset<256> one;
        one[b] = true;
        return MakeByte(one);
      }
      if (AtEnd()) return std::nullopt;
      ++pos_;
      while (e >= '1' && e <= '9' && Peek() >= '0' && Peek() <= '9') ++pos_;  // \12
      return Other(start);
    }
    if (c == '.' || c == '^' || c == '$') {
      ++pos_;
      return Other(start);
    }
    ++pos_;
    std::bitset<256> one;
    one[c] = true;
    return MakeByte(one);
  }

  std::string_view p_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// The byte sets of `n` position by position, when it always matches exactly that many bytes
// (bytes and classes, in (?:...) groups and sequences); false otherwise.
bool FixedSequence(const Node& n, std::vector<std::bitset<256>>& out) {
  switch (n.kind) {
    case Node::kByte:
      out.push_back(n.set);
      return true;
    case Node::kSeq:
      for (const Node& k : n.kids) {
        if (!FixedSequence(k, out)) return false;
      }
      return true;
    case Node::kGroup:
      return n.text == "(?:" && FixedSequence(n.kids[0], out);
    default:
      return false;
  }
}

// Returns whether anything changed.
bool Coarsen(Node& n) {
  bool changed = false;
  for (Node& k : n.kids) changed = Coarsen(k) || changed;
  if (n.kind != Node::kAlt) return changed;
  std::vector<std::vector<std::bitset<256>>> by_length;  // index: length
  for (const Node& branch : n.kids) {
    std::vector<std::bitset<256>> seq;
    if (!FixedSequence(branch, seq)) return changed;
    if (by_length.size() <= seq.size()) by_length.resize(seq.size() + 1);
    std::vector<std::bitset<256>>& merged = by_length[seq.size()];
    if (merged.empty()) {
      merged = seq;
      if (seq.empty()) merged.push_back({});  // marks "an empty branch exists"
    } else {
      for (size_t i = 0; i < seq.size(); ++i) merged[i] |= seq[i];
    }
  }
  Node alt;
  alt.kind = Node::kAlt;
  for (size_t len = 0; len < by_length.size(); ++len) {
    if (by_length[len].empty()) continue;
    Node seq;
    seq.kind = Node::kSeq;
    for (size_t i = 0; i < len; ++i) seq.kids.push_back(MakeByte(by_length[len][i]));
    alt.kids.push_back(std::move(seq));
  }
  if (alt.kids.size() >= n.kids.size()) return changed;  // nothing gained
  n = alt.kids.size() == 1 ? std::move(alt.kids[0]) : std::move(alt);
  return true;
}

// Widens the bytes >= 0x80 of every class to one range (their hull): [\xc3\xc9\xd0] becomes
// [\xc3-\xd0]; ASCII members stay as they are.
void HullHighBytes(Node& n) {
  for (Node& k : n.kids) HullHighBytes(k);
  if (n.kind != Node::kByte) return;
  int lo = -1, hi = -1;
  for (int b = 0x80; b < 256; ++b) {
    if (!n.set[b]) continue;
    if (lo < 0) lo = b;
    hi = b;
  }
  for (int b = lo; lo >= 0 && b <= hi; ++b) n.set[b] = true;
}


// A node that matches only runs of bytes from one set: the set and the length bounds (its
// "run hull"; max kMaxRun: unbounded); nullopt for anything else (anchors, lookaround, ...).
struct RunHull {
  std::bitset<256> set;    // every byte of a match
  std::bitset<256> first;  // the bytes a non-empty match can start with
  std::bitset<256> rest;   // the bytes after the first
  size_t min = 0, max = 0;
};

constexpr size_t kMaxRun = 1000;

// Bounds of a quantifier as TreeParser keeps it ("?", "+", "{2}", "{1,3}", "{0,2}?"); an
// unbounded one ("*", "+", "{2,}") has hi = kMaxRun.
bool QuantifierBounds(const std::string& q, size_t& lo, size_t& hi) {
  if (q.empty()) return false;
  if (q[0] == '?' || q[0] == '*' || q[0] == '+') {
    lo = q[0] == '+' ? 1 : 0;
    hi = q[0] == '?' ? 1 : kMaxRun;
    return true;
  }
  if (q[0] != '{') return false;
  size_t i = 1;
  auto number = [&](size_t& v) {
    if (i >= q.size() || q[i] < '0' || q[i] > '9') return false;
    v = 0;
    while (i < q.size() && q[i] >= '0' && q[i] <= '9') {
      v = std::min<size_t>(v * 10 + static_cast<size_t>(q[i] - '0'), kMaxRun);
      ++i;
    }
    return true;
  };
  if (!number(lo)) return false;
  hi = lo;
  if (i < q.size() && q[i] == ',') {
    ++i;
    if (i < q.size() && q[i] == '}') {
      hi = kMaxRun;
    } else if (!number(hi)) {
      return false;
    }
  }
  return i < q.size() && q[i] == '}';
}

std::optional<RunHull> RunOf(const Node& n) {
  RunHull h;
  switch (n.kind) {
    case Node::kByte:
      h.set = h.first = n.set;
      h.min = h.max = 1;
      return h;
    case Node::kSeq: {
      bool leading = true;  // every kid so far can be empty: this one's first bytes count
      for (size_t i = 0; i < n.kids.size(); ++i) {
        std::optional<RunHull> r = RunOf(n.kids[i]);
        if (!r.has_value()) return std::nullopt;
        if (leading) h.first |= r->first;
        // Bytes after a match's first byte: this kid's own rest, and all of it once an earlier
        // kid may have consumed a byte.
        h.rest |= r->rest;
        if (h.max > 0) h.rest |= r->set;
        if (r->min > 0) leading = false;
        h.set |= r->set;
        h.min = std::min(h.min + r->min, kMaxRun);
        h.max = std::min(h.max + r->max, kMaxRun);
      }
      return h;
    }
    case Node::kGroup:
      if (n.text != "(?:") return std::nullopt;
      return RunOf(n.kids[0]);
    case Node::kAlt:
      h.min = kMaxRun;
      for (const Node& k : n.kids) {
        std::optional<RunHull> r = RunOf(k);
        if (!r.has_value()) return std::nullopt;
        h.set |= r->set;
        h.first |= r->first;
        h.rest |= r->rest;
        h.min = std::min(h.min, r->min);
        h.max = std::max(h.max, r->max);
      }
      return h;
    case Node::kRepeat: {
      size_t lo = 0, hi = 0;
      if (!QuantifierBounds(n.text, lo, hi)) return std::nullopt;
      std::optional<RunHull> r = RunOf(n.kids[0]);
      if (!r.has_value()) return std::nullopt;
      if (hi > 1) r->rest |= r->set;
      if (hi == 0) r->set = r->first = r->rest = {};
      r->min = std::min(r->min * lo, kMaxRun);
      r->max = std::min(r->max * hi, kMaxRun);
      return r;
    }
    default:
      return std::nullopt;
  }
}

Node Quantified(Node item, size_t min, size_t max) {
  if (min == 1 && max == 1) return item;
  Node rep;
  rep.kind = Node::kRepeat;
  char buf[48];
  if (min == max) {
    std::snprintf(buf, sizeof buf, "{%zu}", min);
  } else {
    std::snprintf(buf, sizeof buf, "{%zu,%zu}", min, max);
  }
  rep.text = buf;
  rep.kids.push_back(std::move(item));
  return rep;
}

// [first][rest]{min-1,max-1}: a superset of the run's matches (min >= 1) that keeps where a
// match can start apart from how it continues (UTF-8 lead bytes vs continuation bytes), so
// runs next to each other stay unambiguous for the most part.
Node RunNode(const RunHull& h) {
  if (h.max <= 1 || h.rest.none()) return Quantified(MakeByte(h.first), h.min, h.max);
  Node seq;
  seq.kind = Node::kSeq;
  seq.kids.push_back(MakeByte(h.first));
  seq.kids.push_back(Quantified(MakeByte(h.rest), h.min - 1, h.max - 1));
  return seq;
}

// Bytes whose runs FoldRuns merges: UTF-8 sequences (>= 0x80), or the digits of numeric
// character references (&#1013; &#x3f2;).
std::bitset<256> FoldableBytes(bool with_digits) {
  std::bitset<256> s;
  for (int b = 0x80; b < 256 && !with_digits; ++b) s[b] = true;
  if (with_digits) {
    for (int b = '0'; b <= '9'; ++b) s[b] = true;
    for (int b : {'a', 'b', 'c', 'd', 'e', 'f', 'A', 'B', 'C', 'D', 'E', 'F', 'x', 'X'}) s[b] = true;
  }
  return s;
}

// Returns whether anything changed. In every alternation, the branches that match only runs of
// bytes >= 0x80 (the UTF-8 look-alike letters) become one branch [set]{min,max}; an alternation
// of at least three branches that match only runs of digits, hex letters and 'x' (the numbers of
// &#NNNN; references) becomes one such run. ASCII branches stay exact.
bool FoldRuns(Node& n) {
  // Inside a negative lookaround a wider pattern matches less: leave lookarounds alone.
  if (n.kind == Node::kGroup && n.text.size() >= 3 && n.text[0] == '(' && n.text[1] == '?' &&
      (n.text[2] == '=' || n.text[2] == '!' || n.text[2] == '<')) {
    return false;
  }
  bool changed = false;
  for (Node& k : n.kids) changed = FoldRuns(k) || changed;
  if (n.kind != Node::kAlt) return changed;
  static const std::bitset<256> high = FoldableBytes(false);
  static const std::bitset<256> numeric = FoldableBytes(true);
  std::vector<std::optional<RunHull>> runs;
  RunHull all;
  all.min = kMaxRun;
  bool all_numeric = n.kids.size() >= 3;
  for (const Node& k : n.kids) {
    runs.push_back(RunOf(k));
    if (!runs.back().has_value() || runs.back()->min == 0 || (runs.back()->set & ~numeric).any()) {
      all_numeric = false;
    } else {
      all.set |= runs.back()->set;
      all.first |= runs.back()->first;
      all.rest |= runs.back()->rest;
      all.min = std::min(all.min, runs.back()->min);
      all.max = std::max(all.max, runs.back()->max);
    }
  }
  if (all_numeric && all.max < kMaxRun) {
    n = RunNode(all);
    return true;
  }
  auto is_high = [&](size_t i) {
    return runs[i].has_value() && runs[i]->min >= 1 && (runs[i]->set & ~high).none();
  };
  size_t count = 0;
  for (size_t i = 0; i < n.kids.size(); ++i) count += is_high(i) ? 1 : 0;
  if (count < 2) return changed;
  Node alt;
  alt.kind = Node::kAlt;
  for (size_t i = 0; i < n.kids.size(); ++i) {
    if (!is_high(i)) alt.kids.push_back(std::move(n.kids[i]));
  }
  // Not [first][rest]{min-1,max-1}: next to the \W{0,3} between look-alike letters (whose
  // class has every byte >= 0x80 too) bounded runs made Hyperscan build megabyte DFAs; an
  // unbounded run is one self-loop (FUZZY_* prefilters compile 10-50x faster).
  Node run;
  run.kind = Node::kRepeat;
  run.text = "+";
  run.kids.push_back(MakeByte(high));
  alt.kids.push_back(std::move(run));
  n = alt.kids.size() == 1 ? std::move(alt.kids[0]) : std::move(alt);
  return true;
}
}  // namespace

ExpressionFacts AnalyzeExpression(std::string_view expression) {
  ExpressionFacts facts;
  std::optional<Info> info = Analyzer(expression).Run();
  if (!info.has_value()) {
    facts.cost = kUnknownCost;
    return facts;
  }
  facts.cost = info->cost;
  if (std::optional<Strings> gate = BestSet(*info)) {
    facts.gate = std::move(*gate);
    SortUnique(facts.gate);
    // A literal that contains another one of the set adds nothing: a text with it has the
    // other too ("\tname" and "name" go, "nam" stays).
    std::vector<std::string> minimal;
    for (const std::string& g : facts.gate) {
      bool redundant = false;
      for (const std::string& h : facts.gate) {
        if (h.size() < g.size() && g.find(h) != std::string::npos) {
          redundant = true;
          break;
        }
      }
      if (!redundant) minimal.push_back(g);
    }
    facts.gate = std::move(minimal);
    facts.gate_min_length = MinLength(facts.gate);
    // (?:X){n}, {n,}, {n,m} with n >= 2 as the whole expression: n disjoint copies of X,
    // each containing a gate literal.
    std::optional<Node> tree = TreeParser(expression).Run();
    const Node* root = tree.has_value() ? &*tree : nullptr;
    while (root != nullptr && root->kind == Node::kSeq && root->kids.size() == 1)
      root = &root->kids[0];
    if (root != nullptr && root->kind == Node::kRepeat && root->kids[0].kind == Node::kGroup &&
        root->text.size() > 1 && root->text[0] == '{') {
      size_t n = 0;
      for (size_t i = 1; i < root->text.size() && root->text[i] >= '0' && root->text[i] <= '9'; ++i)
        n = std::min<size_t>(n * 10 + static_cast<size_t>(root->text[i] - '0'), 1000);
      facts.gate_count = std::clamp<size_t>(n, 1, 3);
    }
  }
  return facts;
}

std::string CoarsenExpression(std::string_view expression, bool hull_high_bytes) {
  std::optional<Node> tree = TreeParser(expression).Run();
  if (!tree.has_value()) return std::string(expression);
  bool changed = Coarsen(*tree);
  if (hull_high_bytes) {
    HullHighBytes(*tree);
    Coarsen(*tree);  // hulls can make more branches equal
    changed = true;
  }
  if (!changed) return std::string(expression);
  std::string out;
  Emit(*tree, out);
  return out;
}

std::string FoldRunsExpression(std::string_view expression) {
  std::optional<Node> tree = TreeParser(expression).Run();
  if (!tree.has_value() || !FoldRuns(*tree)) return std::string(expression);
  std::string out;
  Emit(*tree, out);
  return out;
}

std::string GateAlternation(const std::vector<std::string>& gate);

std::string GateExpression(const std::vector<std::string>& gate, size_t count) {
  std::string one = GateAlternation(gate);
  if (count <= 1) return one;
  std::string out = "(?:" + one + ")";
  for (size_t i = 1; i < count; ++i) out += "[\\x00-\\xff]*(?:" + one + ")";
  return out;
}

std::string GateAlternation(const std::vector<std::string>& gate) {
  std::string out;
  for (size_t i = 0; i < gate.size(); ++i) {
    if (i > 0) out += '|';
    for (unsigned char c : gate[i]) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        out.push_back(static_cast<char>(c));
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
  }
  return out;
}

}  // namespace veto::rules
