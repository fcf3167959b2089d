#include "rules/meta.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/status/status.h"
#include "core/strings.h"

namespace veto::rules {

namespace {
constexpr int kMaxDepth = 200;

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool Truthy(double v) { return v != 0; }

// Glob match for rules_matching: `*` any run, `?` one character.
bool GlobMatch(std::string_view glob, std::string_view s) {
  size_t g = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == s[i])) {
      ++g;
      ++i;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = i;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}
}  // namespace

// Recursive descent over Perl's precedence levels, lowest first:
//   ?:  <  ||  <  &&  <  ^  <  == !=  <  < > <= >=  <  + -  <  * /  <  ! unary-
class MetaParser {
 public:
  MetaParser(std::string_view text, const MetaExpression::Resolver& resolve, MetaExpression* out)
      : s_(text), resolve_(resolve), out_(out) {}

  absl::Status Run() {
    int root = Conditional(0);
    if (!error_.empty()) return absl::InvalidArgumentError(error_);
    Skip();
    if (pos_ < s_.size()) {
      return absl::InvalidArgumentError(
          Cat("unexpected '", s_.substr(pos_, 10), "' at offset ", pos_));
    }
    out_->root_ = root;
    return absl::OkStatus();
  }

 private:
  using Op = MetaExpression::Op;

  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(std::string_view tok) {
    Skip();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  // True if the next token is exactly `tok` (and not the start of a longer operator).
  bool EatOp(std::string_view tok, std::string_view not_followed_by = "") {
    Skip();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    if (pos_ + tok.size() < s_.size() &&
        not_followed_by.find(s_[pos_ + tok.size()]) != std::string_view::npos)
      return false;
    pos_ += tok.size();
    return true;
  }
  int Add(MetaExpression::Node n) {
    out_->nodes_.push_back(n);
    return static_cast<int>(out_->nodes_.size() - 1);
  }
  int Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return Add({Op::kConst});
  }
  int Binary(Op op, int a, int b) { return Add({op, a, b}); }

  int Conditional(int depth) {
    if (depth > kMaxDepth) return Fail("expression nested too deeply");
    int cond = Or(depth);
    if (!EatOp("?")) return cond;
    int yes = Conditional(depth + 1);
    if (!Eat(":")) return Fail("'?' without ':'");
    int no = Conditional(depth + 1);
    return Add({Op::kCond, cond, yes, no});
  }
  int Or(int depth) {
    int l = And(depth);
    while (EatOp("||")) l = Binary(Op::kOr, l, And(depth));
    return l;
  }
  int And(int depth) {
    int l = Xor(depth);
    while (EatOp("&&")) l = Binary(Op::kAnd, l, Xor(depth));
    return l;
  }
  int Xor(int depth) {
    int l = Equality(depth);
    while (EatOp("^")) l = Binary(Op::kXor, l, Equality(depth));
    return l;
  }
  int Equality(int depth) {
    int l = Relational(depth);
    for (;;) {
      if (EatOp("==")) l = Binary(Op::kEq, l, Relational(depth));
      else if (EatOp("!=")) l = Binary(Op::kNe, l, Relational(depth));
      else return l;
    }
  }
  int Relational(int depth) {
    int l = Additive(depth);
    for (;;) {
      if (EatOp("<=")) l = Binary(Op::kLe, l, Additive(depth));
      else if (EatOp(">=")) l = Binary(Op::kGe, l, Additive(depth));
      else if (EatOp("<", "=")) l = Binary(Op::kLt, l, Additive(depth));
      else if (EatOp(">", "=")) l = Binary(Op::kGt, l, Additive(depth));
      else return l;
    }
  }
  int Additive(int depth) {
    int l = Multiplicative(depth);
    for (;;) {
      if (EatOp("+")) l = Binary(Op::kAdd, l, Multiplicative(depth));
      else if (EatOp("-")) l = Binary(Op::kSub, l, Multiplicative(depth));
      else return l;
    }
  }
  int Multiplicative(int depth) {
    int l = Unary(depth);
    for (;;) {
      if (EatOp("*")) l = Binary(Op::kMul, l, Unary(depth));
      else if (EatOp("/")) l = Binary(Op::kDiv, l, Unary(depth));
      else return l;
    }
  }
  int Unary(int depth) {
    if (depth > kMaxDepth) return Fail("expression nested too deeply");
    if (EatOp("!", "=")) return Add({Op::kNot, Unary(depth + 1)});
    if (EatOp("-")) return Add({Op::kNeg, Unary(depth + 1)});
    if (EatOp("+")) return Unary(depth + 1);
    return Primary(depth);
  }
  int Primary(int depth) {
    Skip();
    if (pos_ >= s_.size()) return Fail("unexpected end of expression");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      int inner = Conditional(depth + 1);
      if (!Eat(")")) return Fail("missing ')'");
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.data() + pos_;
      size_t end = pos_;
      while (end < s_.size() &&
             (std::isdigit(static_cast<unsigned char>(s_[end])) || s_[end] == '.'))
        ++end;
      std::string num(begin, end - pos_);
      pos_ = end;
      char* stop = nullptr;
      double v = std::strtod(num.c_str(), &stop);
      if (stop == num.c_str() || *stop != '\0') return Fail(Cat("bad number '", num, "'"));
      return Add({Op::kConst, -1, -1, -1, v});
    }
    if (IsIdentStart(c)) {
      size_t end = pos_;
      while (end < s_.size() && IsIdentChar(s_[end])) ++end;
      std::string_view name = s_.substr(pos_, end - pos_);
      pos_ = end;
      int var = resolve_(name);
      if (var < 0) return Fail(Cat("unknown operand '", name, "'"));
      if (std::find(out_->operands_.begin(), out_->operands_.end(), var) == out_->operands_.end())
        out_->operands_.push_back(var);
      MetaExpression::Node n{Op::kVar};
      n.var = var;
      return Add(n);
    }
    return Fail(Cat("unexpected '", std::string(1, c), "' at offset ", pos_));
  }

  std::string_view s_;
  size_t pos_ = 0;
  const MetaExpression::Resolver& resolve_;
  MetaExpression* out_;
  std::string error_;
};

absl::StatusOr<MetaExpression> MetaExpression::Parse(std::string_view text,
                                                     const Resolver& resolve) {
  for (std::string_view bad : {"$", "@", "%", ";", "{", "}", "::", "->", "**"}) {
    if (text.find(bad) != std::string_view::npos) {
      return absl::InvalidArgumentError(Cat("'", bad, "' is not allowed in a meta"));
    }
  }
  MetaExpression e;
  MetaParser parser(text, resolve, &e);
  absl::Status s = parser.Run();
  if (!s.ok()) return s;
  // SpamAssassin rejects a meta that fails with every operand 0 (e.g. "A / B").
  std::vector<double> zeros(
      e.operands_.empty() ? 1 : *std::max_element(e.operands_.begin(), e.operands_.end()) + 1, 0);
  bool error = false;
  e.Eval(e.root_, zeros.data(), &error);
  if (error) return absl::InvalidArgumentError("fails with every operand 0 (division by zero)");
  return e;
}

double MetaExpression::Evaluate(const double* values) const {
  bool error = false;
  double v = Eval(root_, values, &error);
  return error ? 0 : v;
}

double MetaExpression::Eval(int n, const double* v, bool* error) const {
  const Node& node = nodes_[n];
  switch (node.op) {
    case Op::kConst: return node.value;
    case Op::kVar: return v[node.var];
    case Op::kNot: return Truthy(Eval(node.a, v, error)) ? 0 : 1;
    case Op::kNeg: return -Eval(node.a, v, error);
    case Op::kMul: return Eval(node.a, v, error) * Eval(node.b, v, error);
    case Op::kDiv: {
      double a = Eval(node.a, v, error), b = Eval(node.b, v, error);
      if (b == 0) {
        *error = true;
        return 0;
      }
      return a / b;
    }
    case Op::kAdd: return Eval(node.a, v, error) + Eval(node.b, v, error);
    case Op::kSub: return Eval(node.a, v, error) - Eval(node.b, v, error);
    case Op::kLt: return Eval(node.a, v, error) < Eval(node.b, v, error);
    case Op::kGt: return Eval(node.a, v, error) > Eval(node.b, v, error);
    case Op::kLe: return Eval(node.a, v, error) <= Eval(node.b, v, error);
    case Op::kGe: return Eval(node.a, v, error) >= Eval(node.b, v, error);
    case Op::kEq: return Eval(node.a, v, error) == Eval(node.b, v, error);
    case Op::kNe: return Eval(node.a, v, error) != Eval(node.b, v, error);
    case Op::kXor: {
      auto a = static_cast<int64_t>(Eval(node.a, v, error));
      auto b = static_cast<int64_t>(Eval(node.b, v, error));
      return static_cast<double>(a ^ b);
    }
    case Op::kAnd: {  // Perl: the left operand if false, else the right one
      double a = Eval(node.a, v, error);
      return Truthy(a) ? Eval(node.b, v, error) : a;
    }
    case Op::kOr: {
      double a = Eval(node.a, v, error);
      return Truthy(a) ? a : Eval(node.b, v, error);
    }
    case Op::kCond:
      return Truthy(Eval(node.a, v, error)) ? Eval(node.b, v, error) : Eval(node.c, v, error);
  }
  return 0;
}

std::string ExpandRulesMatching(std::string_view expr, const std::vector<std::string>& names,
                                std::string_view self) {
  static constexpr std::string_view kFn = "rules_matching(";
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t at = expr.find(kFn, pos);
    if (at == std::string_view::npos) break;
    size_t close = expr.find(')', at);
    if (close == std::string_view::npos) break;
    out.append(expr.substr(pos, at - pos));
    std::string_view glob = expr.substr(at + kFn.size(), close - at - kFn.size());
    while (!glob.empty() && glob.front() == ' ') glob.remove_prefix(1);
    while (!glob.empty() && glob.back() == ' ') glob.remove_suffix(1);
    std::vector<std::string> hits;
    for (const std::string& n : names) {
      if (n != self && GlobMatch(glob, n)) hits.push_back(n);
    }
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
    out.push_back('(');
    if (hits.empty()) out.push_back('0');
    for (size_t i = 0; i < hits.size(); ++i) {
      if (i > 0) out.append(" + ");
      out.append(hits[i]);
    }
    out.push_back(')');
    pos = close + 1;
  }
  out.append(expr.substr(pos));
  return out;
}

}  // namespace veto::rules
