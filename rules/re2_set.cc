#include "rules/re2_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <bitset>
#include <mutex>
#include <cstdio>
#include <utility>

#include <hs/hs.h>

#include "absl/status/status.h"
#include "core/strings.h"

namespace veto::rules {
namespace {

using ByteSet = std::bitset<256>;

ByteSet Range(int lo, int hi) {
  ByteSet s;
  for (int b = lo; b <= hi; ++b) s.set(static_cast<size_t>(b));
  return s;
}
const ByteSet& Digits() {
  static const ByteSet s = Range('0', '9');
  return s;
}
const ByteSet& Words() {
  static const ByteSet s = Range('0', '9') | Range('A', 'Z') | Range('a', 'z') | Range('_', '_');
  return s;
}
// Perl's and Hyperscan's \s: RE2's leaves out \v (0x0B).
const ByteSet& Spaces() {
  static const ByteSet s = Range('\t', '\r') | Range(' ', ' ');
  return s;
}

bool IsAsciiLetter(int b) { return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z'); }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// Closes a set under ASCII case (Hyperscan's HS_FLAG_CASELESS and (?i) fold ASCII letters only).
ByteSet FoldAscii(ByteSet s) {
  for (int b = 'A'; b <= 'Z'; ++b) {
    if (s.test(static_cast<size_t>(b)) || s.test(static_cast<size_t>(b + 32))) {
      s.set(static_cast<size_t>(b));
      s.set(static_cast<size_t>(b + 32));
    }
  }
  return s;
}

std::string Hex(int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

// One byte of `s` as an RE2 bracket class of hex ranges (never negated: RE2 reads it the same
// whatever its flags).
std::string SetToClass(const ByteSet& s) {
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!s.test(static_cast<size_t>(b))) {
      ++b;
      continue;
    }
    int end = b;
    while (end + 1 < 256 && s.test(static_cast<size_t>(end + 1))) ++end;
    out += Hex(b);
    if (end > b) out += Cat("-", Hex(end));
    b = end + 1;
  }
  return out + "]";
}

struct Mode {
  bool i = false, s = false, m = false;
};

class Rewriter {
 public:
  Rewriter(std::string_view e, unsigned flags) : e_(e) {
    superset_ = (flags & HS_FLAG_PREFILTER) != 0;
    mode_.i = (flags & HS_FLAG_CASELESS) != 0;
    mode_.s = (flags & HS_FLAG_DOTALL) != 0;
    mode_.m = (flags & HS_FLAG_MULTILINE) != 0;
  }

  absl::StatusOr<std::string> Run() {
    while (pos_ < e_.size()) {
      absl::Status st = Item();
      if (!st.ok()) return st;
    }
    if (!stack_.empty()) return Bad("unbalanced group");
    return std::move(out_);
  }

 private:
  static absl::Status Bad(std::string_view what) {
    return absl::InvalidArgumentError(Cat("not for RE2: ", what));
  }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < e_.size() ? e_[pos_ + ahead] : '\0';
  }

  void EmitSet(ByteSet s) {
    if (mode_.i) s = FoldAscii(s);
    if (s.count() == 1) {
      for (int b = 0; b < 256; ++b) {
        if (s.test(static_cast<size_t>(b))) out_ += Hex(b);
      }
      return;
    }
    out_ += SetToClass(s);
  }
  void EmitByte(int b) {
    ByteSet s;
    s.set(static_cast<size_t>(b));
    EmitSet(s);
  }

  // After a non-multi-line `$` or `\Z` (end, or before a final newline): RE2's `$` is the end
  // only, so it becomes "\n?\z", which consumes the newline — the same texts match only when
  // nothing can follow it: the rest of the expression must be closing parentheses.
  absl::Status EndAnchor() {
    if (superset_) {  // before any newline, or at the end
      out_ += "(?m:$)";
      return absl::OkStatus();
    }
    for (size_t k = pos_; k < e_.size(); ++k) {
      if (e_[k] != ')') return Bad("end anchor with items after it");
    }
    out_ += "(?:\\n?\\z)";
    return absl::OkStatus();
  }

  // \xNN or \x{N..} (pos_ on the 'x'); -1 if malformed.
  int HexEscape() {
    ++pos_;
    if (Peek() == '{') {
      size_t close = e_.find('}', pos_);
      if (close == std::string_view::npos || close == pos_ + 1 || close - pos_ > 3) return -1;
      int v = 0;
      for (size_t k = pos_ + 1; k < close; ++k) {
        if (!IsHex(e_[k])) return -1;
        v = v * 16 + HexValue(e_[k]);
      }
      pos_ = close + 1;
      return v;
    }
    if (!IsHex(Peek()) || !IsHex(Peek(1))) return -1;
    int v = HexValue(Peek()) * 16 + HexValue(Peek(1));
    pos_ += 2;
    return v;
  }

  // A class member escape (pos_ after the backslash): a set, or an error.
  absl::Status ClassEscape(ByteSet* set, int* single) {
    char c = Peek();
    *single = -1;
    switch (c) {
      case 'x': {
        int v = HexEscape();
        if (v < 0) return Bad("malformed \\x");
        set->set(static_cast<size_t>(v));
        *single = v;
        return absl::OkStatus();
      }
      case 's': *set |= Spaces(); break;
      case 'S': *set |= ~Spaces(); break;
      case 'd': *set |= Digits(); break;
      case 'D': *set |= ~Digits(); break;
      case 'w': *set |= Words(); break;
      case 'W': *set |= ~Words(); break;
      default:
        if ((c >= '0' && c <= '9') || IsAsciiLetter(c) || c == '\0')
          return Bad(Cat("escape \\", std::string(1, c)));
        set->set(static_cast<unsigned char>(c));
        *single = static_cast<unsigned char>(c);
        break;
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::Status Class() {
    ++pos_;  // [
    bool negate = false;
    if (Peek() == '^') {
      negate = true;
      ++pos_;
    }
    ByteSet set;
    bool first = true;
    while (true) {
      if (pos_ >= e_.size()) return Bad("unterminated class");
      char c = e_[pos_];
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == '[' && Peek(1) == ':') return Bad("POSIX class");
      int lo = -1;
      if (c == '\\') {
        ++pos_;
        absl::Status st = ClassEscape(&set, &lo);
        if (!st.ok()) return st;
      } else {
        lo = static_cast<unsigned char>(c);
        set.set(static_cast<size_t>(lo));
        ++pos_;
      }
      if (lo >= 0 && Peek() == '-' && Peek(1) != ']' && pos_ + 1 < e_.size()) {
        ++pos_;  // -
        int hi = -1;
        if (Peek() == '\\') {
          ++pos_;
          ByteSet ignored;
          absl::Status st = ClassEscape(&ignored, &hi);
          if (!st.ok()) return st;
          if (hi < 0) return Bad("range ending in a class");
        } else {
          hi = static_cast<unsigned char>(Peek());
          ++pos_;
        }
        if (hi < lo) return Bad("reversed range");
        set |= Range(lo, hi);
      }
    }
    // Caseless classes fold before they negate ([^a] under /i excludes A too).
    if (mode_.i) set = FoldAscii(set);
    if (negate) set = ~set;
    if (set.none()) return Bad("empty class");
    Mode plain = mode_;
    mode_.i = false;
    EmitSet(set);
    mode_ = plain;
    return absl::OkStatus();
  }

  absl::Status Escape() {
    ++pos_;  // backslash
    char c = Peek();
    switch (c) {
      case 'x': {
        int v = HexEscape();
        if (v < 0 || v > 0xFF) return Bad("malformed \\x");
        EmitByte(v);
        return absl::OkStatus();
      }
      case 's': EmitSet(Spaces()); break;
      case 'S': EmitSet(~Spaces()); break;
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 'b':
      case 'B':
      case 'A':
      case 'z':
        out_ += '\\';
        out_ += c;
        break;
      case 'Z':
        ++pos_;
        return EndAnchor();
      case 'g':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        if (!superset_) return Bad("back-reference");
        // A back-reference matches some text: any text is a superset.
        if (c == 'g') {
          if (Peek(1) != '{') return Bad("\\g");
          size_t close = e_.find('}', pos_);
          if (close == std::string_view::npos) return Bad("\\g{");
          pos_ = close;
        } else {
          while (Peek(1) >= '0' && Peek(1) <= '9') ++pos_;
        }
        out_ += "(?:[\\x00-\\xff]*)";
        break;
      default:
        if ((c >= '0' && c <= '9') || IsAsciiLetter(c) || c == '\0')
          return Bad(Cat("escape \\", std::string(1, c)));
        EmitByte(static_cast<unsigned char>(c));
        break;
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::Status Group() {
    ++pos_;  // (
    if (Peek() != '?') {
      stack_.push_back(mode_);
      out_ += '(';
      return absl::OkStatus();
    }
    ++pos_;
    if (Peek() == ':') {
      ++pos_;
      stack_.push_back(mode_);
      out_ += "(?:";
      return absl::OkStatus();
    }
    if (superset_) {
      // Lookaround only restricts where a match may be (dropped: it matches ""); an atomic
      // group only restricts how its contents backtrack (a plain group).
      size_t skip = Peek() == '=' || Peek() == '!' || Peek() == '>' ? 1
                    : Peek() == '<' && (Peek(1) == '=' || Peek(1) == '!') ? 2 : 0;
      if (skip > 0) {
        bool lookaround = Peek() != '>';
        pos_ += skip;
        stack_.push_back(mode_);
        if (lookaround) {
          dropping_.push_back(stack_.size());
          dropped_from_.push_back(out_.size());
        }
        out_ += "(?:";
        return absl::OkStatus();
      }
    }
    Mode next = mode_;
    bool on = true;
    while (pos_ < e_.size() && Peek() != ')' && Peek() != ':') {
      switch (Peek()) {
        case '-':
          if (!on) return Bad("(?--");
          on = false;
          break;
        case 'i': next.i = on; break;
        case 's': next.s = on; break;
        case 'm': next.m = on; break;
        default:
          return Bad(Cat("group (?", std::string(1, Peek())));
      }
      ++pos_;
    }
    if (pos_ >= e_.size()) return Bad("unterminated group");
    if (Peek() == ')') {  // (?i): to the end of the enclosing group
      ++pos_;
      mode_ = next;
      return absl::OkStatus();
    }
    ++pos_;  // :
    stack_.push_back(mode_);
    mode_ = next;
    out_ += "(?:";
    return absl::OkStatus();
  }

  // A quantifier on a dropped lookaround (Perl allows one) goes with it.
  absl::Status SkipQuantifier() {
    if (Peek() == '*' || Peek() == '+' || Peek() == '?') {
      ++pos_;
    } else if (Peek() == '{') {
      size_t close = e_.find('}', pos_);
      if (close == std::string_view::npos) return absl::OkStatus();
      pos_ = close + 1;
    } else {
      return absl::OkStatus();
    }
    if (Peek() == '?' || Peek() == '+') ++pos_;
    return absl::OkStatus();
  }

  // After a quantifier: lazy is the same for "does it match"; possessive is not RE2 syntax
  // (in a superset, a possessive repeat is a plain one: it only gives up fewer matches).
  absl::Status QuantifierSuffix() {
    if (Peek() == '+' && superset_) {
      ++pos_;
      return absl::OkStatus();
    }
    if (Peek() == '+') return Bad("possessive quantifier");
    if (Peek() == '?') {
      out_ += '?';
      ++pos_;
    }
    return absl::OkStatus();
  }

  absl::Status Item() {
    char c = e_[pos_];
    switch (c) {
      case '\\':
        return Escape();
      case '[':
        return Class();
      case '(':
        return Group();
      case ')':
        if (stack_.empty()) return Bad("unbalanced )");
        ++pos_;
        if (!dropping_.empty() && dropping_.back() == stack_.size()) {
          // The end of a dropped lookaround: nothing of it stays, nor a quantifier on it.
          out_.resize(dropped_from_.back());
          dropping_.pop_back();
          dropped_from_.pop_back();
          mode_ = stack_.back();
          stack_.pop_back();
          return SkipQuantifier();
        }
        mode_ = stack_.back();
        stack_.pop_back();
        out_ += ')';
        return absl::OkStatus();
      case '|':
        out_ += '|';
        ++pos_;
        return absl::OkStatus();
      case '*':
      case '+':
      case '?':
        out_ += c;
        ++pos_;
        return QuantifierSuffix();
      case '{': {
        size_t close = e_.find('}', pos_);
        if (close == std::string_view::npos) return Bad("literal {");
        std::string_view body = e_.substr(pos_ + 1, close - pos_ - 1);
        size_t comma = body.find(',');
        auto number = [](std::string_view s, bool empty_ok) {
          if (s.empty()) return empty_ok ? 0 : -1;
          if (s.size() > 4) return -1;
          int v = 0;
          for (char d : s) {
            if (d < '0' || d > '9') return -1;
            v = v * 10 + (d - '0');
          }
          return v;
        };
        int lo = number(body.substr(0, comma), false);
        int hi = comma == std::string_view::npos ? lo : number(body.substr(comma + 1), true);
        if (lo < 0 || hi < 0 || lo > 1000 || hi > 1000) return Bad("repeat over 1000");
        out_.append(e_.substr(pos_, close + 1 - pos_));
        pos_ = close + 1;
        return QuantifierSuffix();
      }
      case '.':
        out_ += mode_.s ? "[\\x00-\\xff]" : "[^\\n]";
        ++pos_;
        return absl::OkStatus();
      case '^':
        // Multi-line ^ differs after a final newline (Hyperscan/PCRE: no line starts there);
        // RE2's matches there too, which a superset may.
        if (mode_.m && superset_) {
          out_ += "(?m:^)";
          ++pos_;
          return absl::OkStatus();
        }
        if (mode_.m) return Bad("multi-line ^");
        out_ += "\\A";
        ++pos_;
        return absl::OkStatus();
      case '$':
        ++pos_;
        if (mode_.m) {
          out_ += "(?m:$)";
          return absl::OkStatus();
        }
        return EndAnchor();
      default:
        EmitByte(static_cast<unsigned char>(c));
        ++pos_;
        return absl::OkStatus();
    }
  }

  std::string_view e_;
  bool superset_ = false;  // a prefilter: matching more texts is fine, fewer is not
  size_t pos_ = 0;
  std::string out_;
  Mode mode_;
  std::vector<Mode> stack_;
  std::vector<size_t> dropping_;      // stack depths of the lookarounds being dropped
  std::vector<size_t> dropped_from_;  // where their output began
};

RE2::Options Options(int64_t max_mem) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_never_capture(true);
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  return o;
}

// RE2 20220601 (Debian 12) misses matches with an RE2 object in Latin-1 mode when factoring
// an alternation leaves a common literal prefix with a byte >= 0x80: `\xe3\xe3|\xe3\x90`
// does not match "x\xe3\x90" (found by re2_form_fuzzer; the prefix it searches for first is
// taken as UTF-8). RE2::Set does not search for a prefix, so every pattern here runs on a set,
// a single pattern on a set of one.
std::unique_ptr<RE2::Set> SetOfOne(const std::string& expression, int64_t max_mem) {
  auto set = std::make_unique<RE2::Set>(Options(max_mem), RE2::UNANCHORED);
  if (set->Add(expression, nullptr) < 0 || !set->Compile()) return nullptr;
  return set;
}

}  // namespace

absl::StatusOr<std::string> Re2Expression(std::string_view expression, unsigned hs_flags,
                                          int* program_size) {
  constexpr unsigned kUnderstood = HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE |
                                   HS_FLAG_SINGLEMATCH | HS_FLAG_PREFILTER;
  if ((hs_flags & ~kUnderstood) != 0) return absl::InvalidArgumentError("not for RE2: flags");
  absl::StatusOr<std::string> out = Rewriter(expression, hs_flags).Run();
  if (!out.ok()) return out;
  // An expression that can match the empty text would match every text (Hyperscan refuses
  // those without HS_FLAG_ALLOWEMPTY, which is excluded above).
  RE2 re(*out, Options(1 << 20));
  if (!re.ok()) return absl::InvalidArgumentError(Cat("not for RE2: ", re.error()));
  if (RE2::FullMatch("", re)) return absl::InvalidArgumentError("not for RE2: matches empty");
  if (program_size != nullptr) *program_size = re.ProgramSize();
  return out;
}

struct Re2Set::Impl {
  explicit Impl(int64_t max_memory) : set(Options(max_memory), RE2::UNANCHORED) {}
  RE2::Set set;
  std::vector<std::string> expressions;
  // Each pattern alone (a set of one), for when the set's DFA runs out of memory: compiled
  // then (a warm start compiles only the sets).
  mutable std::once_flag alone_once;
  mutable std::vector<std::unique_ptr<RE2::Set>> alone;
  mutable std::atomic<size_t> fallbacks{0};
  bool compiled = false;
};

Re2Set::Re2Set(int64_t max_memory) : impl_(std::make_unique<Impl>(max_memory)) {}
Re2Set::~Re2Set() = default;
Re2Set::Re2Set(Re2Set&&) noexcept = default;
Re2Set& Re2Set::operator=(Re2Set&&) noexcept = default;

absl::Status Re2Set::Add(const std::string& expression) {
  std::string error;
  if (impl_->set.Add(expression, &error) < 0) return absl::InvalidArgumentError(Cat("RE2: ", error));
  impl_->expressions.push_back(expression);
  return absl::OkStatus();
}

absl::Status Re2Set::Compile() {
  impl_->compiled = impl_->set.Compile();
  if (!impl_->compiled) {
    return absl::ResourceExhaustedError(
        Cat("RE2: ", impl_->expressions.size(), " patterns too large for one DFA"));
  }
  return absl::OkStatus();
}

size_t Re2Set::size() const { return impl_->expressions.size(); }

size_t Re2Set::fallbacks() const { return impl_->fallbacks.load(std::memory_order_relaxed); }

void Re2Set::Match(std::string_view text, std::vector<int>* hits) const {
  re2::StringPiece piece(text.data(), text.size());
  RE2::Set::ErrorInfo info{};
  hits->clear();
  if (impl_->compiled) {
    // RE2 fills `hits` only on success (no allocation once the vector has grown).
    if (impl_->set.Match(piece, hits, &info) || info.kind == RE2::Set::kNoError) return;
    hits->clear();
  }
  impl_->fallbacks.fetch_add(1, std::memory_order_relaxed);
  std::call_once(impl_->alone_once, [&] {
    for (const std::string& e : impl_->expressions) impl_->alone.push_back(SetOfOne(e, kMaxMemory));
  });
  // A pattern whose DFA cannot start even alone (Re2Expression limits programs to what 1 MB
  // holds, so not with its patterns) counts as not matching.
  for (size_t i = 0; i < impl_->alone.size(); ++i) {
    if (impl_->alone[i] && impl_->alone[i]->Match(piece, nullptr)) hits->push_back(static_cast<int>(i));
  }
}

Re2Regex::Re2Regex(std::string expression, int program_size)
    : expression_(std::move(expression)), program_size_(program_size) {}
Re2Regex::~Re2Regex() = default;

bool Re2Regex::Matches(std::string_view text, bool* hit) const {
  std::call_once(once_, [&] {
    // A DFA state holds up to a program's worth of instructions: a large program in a small
    // budget keeps refilling its state cache (for a single RE2, until RE2 gives up on the DFA
    // and runs its NFA, 100x slower: __FILL_THIS_FORM_SHORT2, 21,148 instructions, 6.6 s per
    // corpus pass in 8 MB, 0.02 s in 16 MB). So the budget grows with the program: 1 KB per
    // instruction, 8-64 MB.
    constexpr int64_t kMin = 8 << 20, kMax = 64 << 20;
    set_ = SetOfOne(expression_, std::clamp<int64_t>(int64_t{program_size_} << 10, kMin, kMax));
  });
  RE2::Set::ErrorInfo info{};
  if (!set_) return false;
  *hit = set_->Match(re2::StringPiece(text.data(), text.size()), nullptr, &info);
  return *hit || info.kind == RE2::Set::kNoError;
}

}  // namespace veto::rules
