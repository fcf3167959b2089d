#include "rules/loader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/strings.h"
#include "core/strings.h"
#include "rules/meta.h"

namespace veto::rules {

std::string_view RuleTypeName(RuleType type) {
  switch (type) {
    case RuleType::kHeader: return "header";
    case RuleType::kBody: return "body";
    case RuleType::kRawBody: return "rawbody";
    case RuleType::kFull: return "full";
    case RuleType::kUri: return "uri";
    case RuleType::kMeta: return "meta";
    case RuleType::kMimeHeader: return "mimeheader";
    case RuleType::kEval: return "eval";
  }
  return "unknown";
}

std::string RuleError::ToString() const {
  std::string s = Cat(file, ":", line, ": ");
  if (!rule.empty()) s += Cat(rule, ": ");
  s += Cat(message);
  return s;
}

const std::vector<std::string>& DefaultPlugins() {
  static const std::vector<std::string> kPlugins = [] {
    std::vector<std::string> v;
    for (const char* p :
         {"Check", "URIDNSBL", "SPF", "Pyzor", "Razor2", "SpamCop", "AutoLearnThreshold",
          "WelcomeListSubject", "MIMEHeader", "ReplaceTags", "DKIM", "HTTPSMismatch",
          "URIDetail", "Bayes", "BodyEval", "DNSEval", "HTMLEval", "HeaderEval", "MIMEEval",
          "RelayEval", "URIEval", "WLBLEval", "VBounce", "ImageInfo", "FreeMail", "AskDNS",
          "HashBL", "DMARC"}) {
      v.push_back(Cat("Mail::SpamAssassin::Plugin::", p));
    }
    return v;
  }();
  return kPlugins;
}

namespace {

namespace fs = std::filesystem;

constexpr int kMaxIncludeDepth = 20;
constexpr int kMaxReplacePasses = 6;

bool ValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > 250) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string CanonicalPlugin(std::string_view name) {
  std::string p(StripWhitespace(name));
  if (p == "Mail::SpamAssassin::Plugin::Dmarc") return "Mail::SpamAssassin::Plugin::DMARC";
  if (p == "Mail::SpamAssassin::Plugin::WhiteListSubject")
    return "Mail::SpamAssassin::Plugin::WelcomeListSubject";
  return p;
}

// §1.2: a `#` not preceded by `\` starts a comment anywhere; then `\#` becomes `#`.
std::string StripComment(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) break;
    out.push_back(line[i]);
  }
  std::string result;
  result.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\' && i + 1 < out.size() && out[i + 1] == '#') continue;
    result.push_back(out[i]);
  }
  return result;
}

struct PendingScore {
  std::array<double, 4> values{};
  std::string file;
  int line = 0;
};

class Loader {
 public:
  Loader(const LoadOptions& options, RuleSet* out) : options_(options), out_(out) {
    for (const std::string& p : options.plugins.empty() ? DefaultPlugins() : options.plugins) {
      plugins_.insert(CanonicalPlugin(p));
    }
  }

  absl::Status ReadPath(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> files;
      for (const auto& ext : options_.extensions) {
        std::vector<std::string> group;
        for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::end(it);
             it.increment(ec)) {
          std::string name = it->path().filename().string();
          if (it->is_regular_file(ec) && name.ends_with(ext)) group.push_back(name);
        }
        if (ec) return absl::NotFoundError(Cat(path, ": ", ec.message()));
        // Byte-wise order, except that updates_spamassassin_org.cf sorts first (§1.1).
        std::sort(group.begin(), group.end(), [](const std::string& a, const std::string& b) {
          bool ua = a == "updates_spamassassin_org.cf", ub = b == "updates_spamassassin_org.cf";
          if (ua != ub) return ua;
          return a < b;
        });
        for (const std::string& f : group) files.push_back((fs::path(path) / f).string());
      }
      for (const std::string& f : files) ReadFile(f, 0);
      return absl::OkStatus();
    }
    if (!fs::exists(path, ec)) return absl::NotFoundError(Cat(path, ": no such file"));
    ReadFile(path, 0);
    return absl::OkStatus();
  }

  void ReadFile(const std::string& path, int depth) {
    std::string canonical = fs::weakly_canonical(path).string();
    if (read_.contains(canonical)) return;  // a file already read is skipped (§1.5)
    read_.insert(canonical);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Error(path, 0, "", "cannot read file");
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    out_->files_read.push_back(path);
    ProcessText(ss.str(), path, depth);
  }

  void ProcessText(std::string_view text, const std::string& file, int depth) {
    // The if-stack is per file: an unclosed `if` does not leak into the next file (§1.1).
    std::vector<IfFrame> saved = std::move(ifs_);
    ifs_.clear();
    int line_no = 0;
    for (std::string_view raw_line : Split(text, '\n')) {
      ++line_no;
      std::string line = StripComment(raw_line);
      std::string_view l = StripWhitespace(line);
      if (l.empty()) continue;
      size_t sp = l.find_first_of(" \t");
      std::string key = AsciiLower(l.substr(0, sp));
      std::replace(key.begin(), key.end(), '-', '_');
      std::string_view value =
          sp == std::string_view::npos ? "" : StripWhitespace(l.substr(sp));
      if (!Conditional(key, value, file, line_no)) continue;
      if (!Active()) continue;
      if (key == "require_version") {
        if (value != "4.000001" && value != "@@VERSION@@" && value != "4.0.1") break;
        continue;
      }
      if (key == "include") {
        if (depth >= kMaxIncludeDepth) {
          Error(file, line_no, "", "include nested too deeply");
          continue;
        }
        fs::path target = fs::path(file).parent_path() / std::string(value);
        ReadFile(target.string(), depth + 1);
        continue;
      }
      Directive(key, value, file, line_no);
    }
    if (!ifs_.empty()) Error(file, line_no, "", "unclosed if/ifplugin at end of file");
    ifs_ = std::move(saved);
  }

  void Finish();

 private:
  struct IfFrame {
    bool parent_active;
    bool condition;
    bool in_else = false;
  };

  bool Active() const {
    return ifs_.empty() || (ifs_.back().parent_active &&
                            (ifs_.back().in_else ? !ifs_.back().condition : ifs_.back().condition));
  }

  // Handles if/ifplugin/else/endif; returns false if the line was one of them.
  bool Conditional(const std::string& key, std::string_view value, const std::string& file,
                   int line) {
    if (key == "if" || key == "ifplugin") {
      bool cond = key == "ifplugin" ? plugins_.contains(CanonicalPlugin(value))
                                    : EvalCondition(value, file, line);
      ifs_.push_back({Active(), cond});
      return false;
    }
    if (key == "else") {
      if (ifs_.empty()) Error(file, line, "", "else without if");
      else ifs_.back().in_else = !ifs_.back().in_else;
      return false;
    }
    if (key == "endif") {
      if (ifs_.empty()) Error(file, line, "", "endif without if");
      else ifs_.pop_back();
      return false;
    }
    return true;
  }

  // `if` conditions (§1.3): plugin(), can(), has(), version, perl_version, numbers and the
  // meta operators. An expression that fails to evaluate is false (with a warning).
  bool EvalCondition(std::string_view expr, const std::string& file, int line) {
    std::string text;
    size_t i = 0;
    while (i < expr.size()) {
      bool matched = false;
      for (std::string_view fn : {"plugin(", "can(", "has("}) {
        if (expr.substr(i, fn.size()) == fn &&
            (i == 0 || !std::isalnum(static_cast<unsigned char>(expr[i - 1])))) {
          size_t close = expr.find(')', i);
          if (close == std::string_view::npos) break;
          std::string_view arg = StripWhitespace(
              expr.substr(i + fn.size(), close - i - fn.size()));
          text.append(FunctionValue(fn, arg) ? " 1 " : " 0 ");
          i = close + 1;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      if (expr.substr(i, 12) == "perl_version") {
        text.append(" 5.036000 ");
        i += 12;
      } else if (expr.substr(i, 7) == "version" &&
                 (i == 0 || !std::isalnum(static_cast<unsigned char>(expr[i - 1])))) {
        text.append(" 4.000001 ");
        i += 7;
      } else if (expr.substr(i, 16) == "local_tests_only") {
        text.append(" 0 ");
        i += 16;
      } else {
        text.push_back(expr[i++]);
      }
    }
    auto e = MetaExpression::Parse(text, [](std::string_view) { return -1; });
    if (!e.ok()) {
      Error(file, line, "", Cat("if: cannot evaluate '", expr, "': ", e.status().message()));
      return false;
    }
    double zero = 0;
    return e->Evaluate(&zero) != 0;
  }

  bool FunctionValue(std::string_view fn, std::string_view arg) {
    if (fn == "plugin(") {
      std::string p = CanonicalPlugin(arg);
      return plugins_.contains(p) || p == "Mail::SpamAssassin::Plugin::RaciallyCharged";
    }
    // can()/has(): the Conf feature and compat flags the stock files test all exist and are
    // true in 4.0.1 (§1.3); a plugin's functions exist when the plugin is loaded.
    if (arg.starts_with("Mail::SpamAssassin::Conf::")) return true;
    if (arg.starts_with("Mail::SpamAssassin::Plugin::")) {
      size_t last = arg.rfind("::");
      return plugins_.contains(std::string(arg.substr(0, last)));
    }
    return false;
  }

  void Directive(const std::string& key, std::string_view value, const std::string& file,
                 int line) {
    static const absl::flat_hash_map<std::string, RuleType> kTypes = {
        {"header", RuleType::kHeader}, {"body", RuleType::kBody},
        {"rawbody", RuleType::kRawBody}, {"full", RuleType::kFull},
        {"uri", RuleType::kUri},       {"meta", RuleType::kMeta},
        {"mimeheader", RuleType::kMimeHeader}};
    if (key == "lang") {
      // `lang xx <line>` applies only under locale xx; rule definitions never use it in
      // the stock set, and veto runs as the C locale does (§1.2): skipped.
      ++out_->ignored_directives;
      return;
    }
    if (key == "loadplugin" || key == "tryplugin") {
      std::string_view cls = value.substr(0, value.find_first_of(" \t"));
      plugins_.insert(CanonicalPlugin(cls));
      return;
    }
    auto type = kTypes.find(key);
    if (type != kTypes.end()) {
      Define(type->second, value, file, line);
      return;
    }
    auto [name, rest] = SplitName(value);
    if (key == "score") {
      Score(name, rest, file, line);
    } else if (key == "describe") {
      if (!name.empty()) describe_[std::string(name)] = std::string(rest);
    } else if (key == "tflags") {
      if (!name.empty()) tflags_[std::string(name)] = std::string(rest);
    } else if (key == "priority") {
      long long p = 0;
      if (!ParseInt(rest, &p)) {
        Error(file, line, std::string(name), Cat("priority: not an integer (got '", rest, "')"));
      } else {
        priority_[std::string(name)] = static_cast<int>(p);
      }
    } else if (key == "replace_start") {
      replace_start_ = std::string(value);
    } else if (key == "replace_end") {
      replace_end_ = std::string(value);
    } else if (key == "replace_tag") {
      tags_[std::string(name)] = std::string(rest);
    } else if (key == "replace_pre") {
      pre_[std::string(name)] = std::string(rest);
    } else if (key == "replace_inter") {
      inter_[std::string(name)] = std::string(rest);
    } else if (key == "replace_post") {
      post_[std::string(name)] = std::string(rest);
    } else if (key == "replace_rules") {
      for (std::string_view r : SplitAny(value, " \t")) {
        replace_rules_.push_back(std::string(r));
      }
    } else {
      ++out_->ignored_directives;  // plugin, report, DNS and list settings: not rules
    }
  }

  static std::pair<std::string_view, std::string_view> SplitName(std::string_view value) {
    size_t sp = value.find_first_of(" \t");
    if (sp == std::string_view::npos) return {value, {}};
    return {value.substr(0, sp), StripWhitespace(value.substr(sp))};
  }

  void Define(RuleType type, std::string_view value, const std::string& file, int line) {
    auto [name_view, rest] = SplitName(value);
    std::string name(name_view);
    if (!ValidRuleName(name)) {
      Error(file, line, name, Cat(RuleTypeName(type), ": invalid rule name"));
      return;
    }
    if (rest.empty()) {
      Error(file, line, name, Cat(RuleTypeName(type), ": missing definition"));
      return;
    }
    Rule r;
    r.name = name;
    r.type = type;
    r.definition = std::string(rest);
    r.file = file;
    r.line = line;
    std::string problem;
    if (type == RuleType::kMeta) {
      r.meta = std::string(rest);
    } else if (rest.starts_with("eval:")) {
      r.eval_target = type;
      r.type = RuleType::kEval;
      r.eval_call = std::string(StripWhitespace(rest.substr(5)));
    } else if (type == RuleType::kHeader || type == RuleType::kMimeHeader) {
      problem = ParseHeaderRule(rest, type, &r);
    } else {
      absl::StatusOr<PerlRegex> re = ParsePerlRegex(rest);
      if (!re.ok()) problem = std::string(re.status().message());
      else r.regex = *std::move(re);
    }
    if (!problem.empty()) {
      // An invalid later definition leaves the earlier one active (§1.6).
      Error(file, line, name, Cat(RuleTypeName(type), ": ", problem));
      return;
    }
    auto it = out_->index.find(name);
    if (it == out_->index.end()) {
      out_->index[name] = out_->rules.size();
      out_->rules.push_back(std::move(r));
    } else {
      out_->rules[it->second] = std::move(r);
    }
  }

  // header NAME exists:Hdr | Hdr[:mod[:mod]] =~|!~ /re/ [if-unset: STRING]   (§3.1)
  std::string ParseHeaderRule(std::string_view rest, RuleType type, Rule* r) {
    HeaderSpec& h = r->header;
    if (rest.starts_with("exists:")) {
      if (type == RuleType::kMimeHeader) return "exists: is not allowed in mimeheader rules";
      std::string_view hdr = StripWhitespace(rest.substr(7));
      if (!hdr.empty() && hdr.back() == ':') hdr.remove_suffix(1);
      if (hdr.empty()) return "exists: needs a header name";
      for (char c : hdr) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
          return Cat("exists: invalid header name '", hdr, "'");
      }
      h.exists = true;
      h.name = std::string(hdr);
      return "";
    }
    size_t op = rest.find("=~");
    size_t nop = rest.find("!~");
    if (nop != std::string_view::npos && (op == std::string_view::npos || nop < op)) {
      op = nop;
      h.negate = true;
    }
    if (op == std::string_view::npos) return "expected 'Header =~ /regex/' or exists:Header";
    std::string_view target = StripWhitespace(rest.substr(0, op));
    std::string_view re_text = StripWhitespace(rest.substr(op + 2));
    // [if-unset: STRING] must end the line.
    size_t unset = re_text.rfind("[if-unset:");
    if (unset != std::string_view::npos && re_text.ends_with("]")) {
      h.has_if_unset = true;
      h.if_unset = std::string(StripWhitespace(
          re_text.substr(unset + 10, re_text.size() - unset - 11)));
      re_text = StripWhitespace(re_text.substr(0, unset));
    }
    std::vector<std::string_view> parts = Split(target, ':');
    if (parts.empty() || parts[0].empty()) return "missing header name";
    h.name = std::string(parts[0]);
    if (parts.size() > 3) return "at most two header modifiers are allowed";
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string_view m = parts[i];
      if (m == "raw") h.raw = true;
      else if (type == RuleType::kMimeHeader) return Cat("unknown mimeheader modifier '", m, "'");
      else if (m == "addr") h.addr = true;
      else if (m == "name") h.display_name = true;
      else if (m == "host") h.host = true;
      else if (m == "domain") h.domain = true;
      else if (m == "ip") h.ip = true;
      else if (m == "revip") h.revip = true;
      else if (m == "first") h.first = true;
      else if (m == "last") h.last = true;
      else return Cat("unknown header modifier '", m, "'");
    }
    absl::StatusOr<PerlRegex> re = ParsePerlRegex(re_text);
    if (!re.ok()) return std::string(re.status().message());
    r->regex = *std::move(re);
    return "";
  }

  void Score(std::string_view name, std::string_view rest, const std::string& file, int line) {
    std::vector<std::string_view> vals = SplitAny(rest, " \t");
    if (name.empty() || (vals.size() != 1 && vals.size() != 4)) {
      Error(file, line, std::string(name),
            Cat("score: expected 1 or 4 values (got ", vals.size(), ")"));
      return;
    }
    bool relative = false;
    std::array<double, 4> v{};
    for (size_t i = 0; i < vals.size(); ++i) {
      std::string_view s = vals[i];
      if (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
        relative = true;
        s = s.substr(1, s.size() - 2);
      }
      if (!ParseDouble(s, &v[i])) {
        Error(file, line, std::string(name), Cat("score: not a number (got '", vals[i], "')"));
        return;
      }
    }
    if (vals.size() == 1) v = {v[0], v[0], v[0], v[0]};
    std::string key(name);
    if (relative) {
      auto prev = scores_.find(key);
      if (prev == scores_.end()) {
        Error(file, line, key, "score: relative score without a previous score");
        return;
      }
      for (int i = 0; i < 4; ++i) v[i] += prev->second.values[i];
    }
    scores_[key] = {v, file, line};
  }

  void Error(const std::string& file, int line, std::string rule, std::string message) {
    out_->errors.push_back({file, line, std::move(rule), std::move(message)});
  }

  std::string ExpandTags(const std::string& pattern, bool* changed);

  const LoadOptions& options_;
  RuleSet* out_;
  absl::flat_hash_set<std::string> plugins_;
  absl::flat_hash_set<std::string> read_;
  std::vector<IfFrame> ifs_;
  absl::flat_hash_map<std::string, PendingScore> scores_;
  absl::flat_hash_map<std::string, std::string> describe_, tflags_;
  absl::flat_hash_map<std::string, int> priority_;
  std::string replace_start_ = "<", replace_end_ = ">";
  absl::flat_hash_map<std::string, std::string> tags_, pre_, inter_, post_;
  std::vector<std::string> replace_rules_;
};

// ReplaceTags (§6): directives <pre X>, <post X>, <inter X> (first of each) apply to every
// tag; then <NAME> tags with a replace_tag value are substituted, up to 6 passes.
std::string Loader::ExpandTags(const std::string& pattern, bool* changed) {
  std::string s = pattern;
  const std::string& open = replace_start_;
  const std::string& close = replace_end_;
  for (int pass = 0; pass < kMaxReplacePasses; ++pass) {
    std::string pre, post, inter;
    if (pass == 0) {
      for (auto [kind, table, dest] :
           {std::tuple{"pre", &pre_, &pre}, std::tuple{"post", &post_, &post},
            std::tuple{"inter", &inter_, &inter}}) {
        std::string head = Cat(open, kind, " ");
        size_t at = s.find(head);
        if (at == std::string::npos) continue;
        size_t end = s.find(close, at + head.size());
        if (end == std::string::npos) continue;
        std::string tag = s.substr(at + head.size(), end - at - head.size());
        auto it = table->find(tag);
        if (it != table->end()) *dest = it->second;
        s.erase(at, end + close.size() - at);
      }
    }
    // Split into text and tag segments; a tag is <...> with no < or > inside.
    struct Segment {
      std::string text;
      bool tag;
    };
    std::vector<Segment> segs;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t at = s.find(open, pos);
      size_t end = at == std::string::npos ? std::string::npos : s.find(close, at + open.size());
      if (at == std::string::npos || end == std::string::npos) break;
      std::string inside = s.substr(at + open.size(), end - at - open.size());
      if (inside.find(open) != std::string::npos || inside.find(close) != std::string::npos ||
          inside.empty()) {
        // Not a tag: keep the opener as text and look again after it.
        segs.push_back({s.substr(pos, at + open.size() - pos), false});
        pos = at + open.size();
        continue;
      }
      segs.push_back({s.substr(pos, at - pos), false});
      segs.push_back({s.substr(at, end + close.size() - at), true});
      pos = end + close.size();
    }
    segs.push_back({s.substr(pos), false});
    bool any = false;
    std::string out;
    for (size_t i = 0; i < segs.size(); ++i) {
      Segment& g = segs[i];
      if (!g.tag) {
        // inter fills the empty gaps between two adjacent tags only.
        if (g.text.empty() && i > 0 && i + 1 < segs.size() && segs[i - 1].tag &&
            segs[i + 1].tag) {
          out += inter;
        } else {
          out += g.text;
        }
        continue;
      }
      std::string name = g.text.substr(open.size(), g.text.size() - open.size() - close.size());
      auto it = tags_.find(name);
      std::string value = it == tags_.end() ? g.text : it->second;
      if (it != tags_.end()) any = true;
      out += pre + value + post;
    }
    if (!any && pre.empty() && post.empty() && inter.empty()) break;
    *changed = true;
    s = std::move(out);
    if (s.find(open) == std::string::npos) break;
  }
  return s;
}

void Loader::Finish() {
  // ReplaceTags first: the expanded pattern replaces the regex of each listed rule.
  for (const std::string& name : replace_rules_) {
    auto it = out_->index.find(name);
    if (it == out_->index.end()) continue;
    Rule& r = out_->rules[it->second];
    if (r.type == RuleType::kMeta || r.type == RuleType::kEval) continue;
    bool changed = false;
    std::string expanded = ExpandTags(r.regex.pattern, &changed);
    if (changed) r.regex.pattern = std::move(expanded);
  }
  for (Rule& r : out_->rules) {
    auto tf = tflags_.find(r.name);
    if (tf != tflags_.end()) {
      r.tflags = tf->second;
      for (std::string_view f : SplitAny(r.tflags, " \t")) {
        if (f == "multiple") r.multiple = true;
        else if (f == "nosubject") r.nosubject = true;
        else if (f == "nice") r.nice = true;
        else if (f == "net") r.net = true;
        else if (f == "learn") r.learn = true;
        else if (f.starts_with("maxhits=")) {
          long long n = 0;
          if (ParseInt(f.substr(8), &n) && n >= 0) r.maxhits = static_cast<uint32_t>(n);
          else Error(r.file, r.line, r.name, Cat("tflags: bad maxhits (got '", f, "')"));
        }
      }
    }
    auto sc = scores_.find(r.name);
    if (sc != scores_.end()) {
      r.scores = sc->second.values;
      r.has_score = true;
    } else {
      double d = r.name.starts_with("T_") ? 0.01 : 1.0;
      if (r.nice) d = -d;
      r.scores = {d, d, d, d};
    }
    auto ds = describe_.find(r.name);
    if (ds != describe_.end()) r.description = ds->second;
    auto pr = priority_.find(r.name);
    if (pr != priority_.end()) r.priority = pr->second;
  }
  for (const auto& [name, s] : scores_) {
    if (!out_->index.contains(name)) out_->score_only.push_back(name);
  }
  std::sort(out_->score_only.begin(), out_->score_only.end());
  out_->plugins.assign(plugins_.begin(), plugins_.end());
  std::sort(out_->plugins.begin(), out_->plugins.end());
}

}  // namespace

absl::Status LoadRules(const std::vector<std::string>& paths, const LoadOptions& options,
                       RuleSet* out) {
  Loader loader(options, out);
  for (const std::string& p : paths) {
    absl::Status s = loader.ReadPath(p);
    if (!s.ok()) return s;
  }
  loader.Finish();
  return absl::OkStatus();
}

void LoadRulesFromString(std::string_view text, std::string_view name, const LoadOptions& options,
                         RuleSet* out) {
  Loader loader(options, out);
  loader.ProcessText(text, std::string(name), 0);
  loader.Finish();
}

}  // namespace veto::rules
