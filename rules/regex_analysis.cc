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
};

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
  std::bitset<256> folded;
  for (int b = 0; b < 256; ++b) {
    if (set[b]) folded[(b >= 'A' && b <= 'Z') ? b + 32 : b] = true;
  }
  if (folded.none() || folded.count() > kMaxClassLiterals) return Unknown();
  i.exact.clear();
  for (int b = 0; b < 256; ++b) {
    if (folded[b]) i.exact.emplace_back(1, static_cast<char>(b));
  }
  return i;
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
      // The run ends here: it is one candidate, the item's own best set another.
      Consider(best, run);
      all_exact = false;
      if (std::optional<Strings> s = BestSet(*item)) Consider(best, *s);
      run = item->exact_ok ? item->exact : Strings{""};
    }
    Consider(best, run);
    out.exact_ok = all_exact;
    out.exact = all_exact ? run : Strings{};
    out.required = best;
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

  // One byte from an escape (\xNN, \<punct>), or -1 for something else.
  int EscapedByte() {
    unsigned char c = Peek();
    if (c == 'x') {
      auto hex = [](unsigned char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(Peek(1)), lo = hex(Peek(2));
      if (hi < 0 || lo < 0) return -1;
      pos_ += 3;
      return hi * 16 + lo;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
        c != 0) {
      ++pos_;
      return c;
    }
    return -1;
  }

  static std::bitset<256> Shorthand(unsigned char c, bool& ok) {
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

  std::optional<Info> Class() {
    ++pos_;  // [
    bool negate = false;
    if (Peek() == '^') {
      negate = true;
      ++pos_;
    }
    std::bitset<256> set;
    bool first = true;
    int prev = -1;  // last single byte, for ranges
    while (!AtEnd() && (Peek() != ']' || first)) {
      first = false;
      int b = -1;
      if (Peek() == '\\') {
        ++pos_;
        bool ok = false;
        std::bitset<256> sh = Shorthand(Peek(), ok);
        if (ok) {
          ++pos_;
          set |= sh;
          prev = -1;
          continue;
        }
        b = EscapedByte();
        if (b < 0) return std::nullopt;
      } else if (Peek() == '-' && prev >= 0 && Peek(1) != ']') {
        ++pos_;
        int hi = -1;
        if (Peek() == '\\') {
          ++pos_;
          hi = EscapedByte();
        } else {
          hi = Peek();
          ++pos_;
        }
        if (hi < prev) return std::nullopt;
        for (int k = prev; k <= hi; ++k) set[k] = true;
        prev = -1;
        continue;
      } else if (Peek() == '[' && Peek(1) == ':') {
        return std::nullopt;  // POSIX classes are expanded by the translator
      } else {
        b = Peek();
        ++pos_;
      }
      set[b] = true;
      prev = b;
    }
    if (AtEnd()) return std::nullopt;
    ++pos_;  // ]
    if (negate) set.flip();
    return Literals(set);
  }

  // After "(": the group's kind and body, through the closing ")".
  std::optional<Info> Group() {
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
        std::bitset<256> sh = Shorthand(e, ok);
        if (ok) {
          ++pos_;
          return Literals(sh);
        }
        int b = EscapedByte();
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
};

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
    facts.gate_min_length = MinLength(facts.gate);
  }
  return facts;
}

std::string GateExpression(const std::vector<std::string>& gate) {
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
