// Loading: files and includes → merged Sections → Config, every problem collected.
#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/toml_reader.h"
#include "core/strings.h"
#include "policy/identity.h"
#include "policy/policy.h"
#include "policy/subscriber_store.h"

namespace veto::config {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFiles = 256;
constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxFileBytes = 16u << 20;

// The parsed files, kept alive while Sections point into them.
struct Documents {
  std::vector<std::unique_ptr<toml::table>> tables;
  std::vector<std::string> files;
  std::vector<std::string> stack;  // canonical paths being loaded (cycle detection)
};

std::string Dir(const std::string& file) {
  fs::path p(file);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

// `p` relative to the directory of `file`, unless absolute.
std::string Resolve(const std::string& file, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (fs::path(Dir(file)) / p).lexically_normal().string();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return absl::NotFoundError(Cat(path, ": cannot read: is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat(path, ": cannot read: ", std::strerror(errno)));
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          Cat(path, ": too large (over ", kMaxFileBytes >> 20, " MB)"));
    }
  }
  return data;
}

void ParseDocument(std::string_view text, const std::string& name, int depth, Documents* docs,
                   Problems* problems);

// Expands one include entry: a file, a directory (its *.toml in name order) or a glob.
std::vector<std::string> ExpandInclude(const std::string& pattern, bool* missing) {
  std::vector<std::string> out;
  std::error_code ec;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    if (fs::is_directory(pattern, ec)) {
      for (const auto& e : fs::directory_iterator(pattern, ec)) {
        if (e.path().extension() == ".toml" && !fs::is_directory(e.path(), ec)) {
          out.push_back(e.path().string());
        }
      }
      std::sort(out.begin(), out.end());
    } else if (fs::exists(pattern, ec)) {
      out.push_back(pattern);
    } else {
      *missing = true;
    }
    return out;
  }
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      if (!fs::is_directory(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  std::sort(out.begin(), out.end());
  return out;  // a glob that matches nothing is fine (an empty conf.d)
}

void LoadFile(const std::string& path, int depth, const std::string& where, Documents* docs,
              Problems* problems) {
  std::error_code ec;
  std::string canon = fs::weakly_canonical(path, ec).string();
  if (ec) canon = path;
  if (std::find(docs->stack.begin(), docs->stack.end(), canon) != docs->stack.end()) {
    problems->Add(where, "include",
                  Cat("include cycle (got \"", path, "\", already being loaded)"));
    return;
  }
  if (docs->files.size() >= kMaxFiles) {
    problems->Add(where, "include", Cat("too many files (over ", kMaxFiles, ")"));
    return;
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    problems->Add(where, where.empty() ? "" : "include", std::string(text.status().message()));
    return;
  }
  docs->stack.push_back(canon);
  ParseDocument(*text, path, depth, docs, problems);
  docs->stack.pop_back();
}

// A first pass over the raw text for what TOML forbids and toml++ 3.3 mishandles: control
// characters other than tab, CR and LF anywhere (toml++ asserts on a NUL after '['), and
// non-ASCII bytes outside strings and comments (TOML 1.0 bare keys and values are ASCII;
// toml++'s whitespace check reached __builtin_unreachable on e.g. U+00E9 there; the tables
// are now included with a defined default, toml_reader.h, and this gives the clearer error).
// Returns "LINE problem", or "" when the text may go to the parser.
std::string LexicalProblem(std::string_view t) {
  enum { kCode, kComment, kBasic, kLiteral, kMlBasic, kMlLiteral } st = kCode;
  uint64_t line = 1;
  // A string may only start where TOML allows one: after '=', '[', ',', '{', '.' or at the
  // start of a line (a quoted key). Elsewhere a quote is left to the parser to refuse, and
  // what follows it still counts as code.
  char prev = '\n';  // last non-blank character in code
  for (size_t i = 0; i < t.size(); ++i) {
    auto c = static_cast<unsigned char>(t[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return Cat(line, " syntax error: control character 0x",
                 std::string(absl::StrCat(absl::Hex(c, absl::kZeroPad2))),
                 " (TOML allows only tab, CR and LF)");
    }
    if (c == '\n') {
      ++line;
      // A one-line string cannot span lines: the parser reports it; the next line is code.
      if (st == kComment || st == kBasic || st == kLiteral) st = kCode;
      if (st == kCode) prev = '\n';
      continue;
    }
    switch (st) {
      case kCode:
        if (c >= 0x80) {
          return Cat(line, " syntax error: non-ASCII character outside a string or comment");
        }
        if (c == '#') {
          st = kComment;
        } else if ((c == '"' || c == '\'') && std::string_view("=[,{.\n").find(prev) ==
                                                  std::string_view::npos) {
          // not a place for a string: stays code
        } else if (t.substr(i, 3) == "\"\"\"") {
          st = kMlBasic;
          i += 2;
        } else if (t.substr(i, 3) == "\'\'\'") {
          st = kMlLiteral;
          i += 2;
        } else if (c == '"') {
          st = kBasic;
        } else if (c == '\'') {
          st = kLiteral;
        }
        if (c != ' ' && c != '\t' && c != '\r') prev = static_cast<char>(c);
        break;
      case kComment:
        break;
      case kBasic:
        if (c == '\\') {
          ++i;  // the escaped character (a newline here is the parser's error)
          if (i < t.size() && t[i] == '\n') ++line;
        } else if (c == '"') {
          st = kCode;
          prev = '"';
        }
        break;
      case kLiteral:
        if (c == '\'') {
          st = kCode;
          prev = '\'';
        }
        break;
      case kMlBasic:
        if (c == '\\') {
          ++i;
          if (i < t.size() && t[i] == '\n') ++line;
        } else if (t.substr(i, 3) == "\"\"\"") {
          // up to two more quotes may close it ("""a""""" is legal)
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '"') ++i;
          st = kCode;
          prev = '"';
        }
        break;
      case kMlLiteral:
        if (t.substr(i, 3) == "\'\'\'") {
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '\'') ++i;
          st = kCode;
          prev = '\'';
        }
        break;
    }
  }
  return "";
}

void ParseDocument(std::string_view text, const std::string& name, int depth, Documents* docs,
                   Problems* problems) {
  docs->files.push_back(name);
  if (std::string bad = LexicalProblem(text); !bad.empty()) {
    problems->Add(Cat(name, ":", bad.substr(0, bad.find(' '))), "",
                  bad.substr(bad.find(' ') + 1));
    return;
  }
  toml::parse_result r = toml::parse(text, name);
  if (!r) {
    const toml::parse_error& e = r.error();
    problems->Add(Where(e.source()), "", Cat("syntax error: ", e.description()));
    return;
  }
  auto table = std::make_unique<toml::table>(std::move(r).table());
  std::vector<std::pair<std::string, std::string>> includes;  // path, where
  if (const toml::node* inc = table->get("include")) {
    std::string w = Where(inc->source());
    if (inc->is_string()) {
      includes.emplace_back(std::string(inc->as_string()->get()), w);
    } else if (inc->is_array()) {
      const toml::array& a = *inc->as_array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_string()) {
          includes.emplace_back(std::string(a[i].as_string()->get()), Where(a[i].source()));
        } else {
          problems->Add(Where(a[i].source()), Cat("include[", i, "]"),
                        Cat("wrong type (got ", Describe(a[i]), ", expected a string)"));
        }
      }
    } else {
      problems->Add(w, "include",
                    Cat("wrong type (got ", Describe(*inc),
                        ", expected a string or an array of strings)"));
    }
  }
  docs->tables.push_back(std::move(table));
  for (const auto& [pattern, where] : includes) {
    if (depth + 1 > kMaxIncludeDepth) {
      problems->Add(where, "include",
                    Cat("includes nested too deep (over ", kMaxIncludeDepth, ")"));
      break;
    }
    bool missing = false;
    std::string resolved = Resolve(name, pattern);
    std::vector<std::string> files = ExpandInclude(resolved, &missing);
    if (missing) {
      problems->Add(where, "include",
                    Cat("no such file or directory (got \"", pattern, "\", resolved to \"",
                        resolved, "\")"));
    }
    for (const std::string& f : files) LoadFile(f, depth + 1, where, docs, problems);
  }
}

// ---- schema ------------------------------------------------------------------------------

std::string Quoted(std::string_view s) { return Cat("\"", s, "\""); }

std::vector<std::string> ActionNames() {
  std::vector<std::string> names;
  for (std::string_view n : kActionNames) names.emplace_back(n);
  return names;
}

// An action name → Action, with a did-you-mean hint.
std::optional<Action> ReadActionName(Section& s, const toml::node& n, const std::string& path) {
  if (!n.is_string()) {
    s.ProblemAt(n, path, Cat("wrong type (got ", Describe(n), ", expected an action name)"));
    return std::nullopt;
  }
  std::string v(n.as_string()->get());
  if (auto a = ActionFromName(v)) return a;
  std::vector<std::string> names = ActionNames();
  std::string hint;
  if (auto m = DidYouMean(v, names)) hint = Cat("; did you mean \"", *m, "\"?");
  s.ProblemAt(n, path,
              Cat("unknown action (got ", Quoted(v), ", expected one of ", Join(names, ", "),
                  hint, ")"));
  return std::nullopt;
}

// key = "reject"   or   key = { action = "discard", report = true }
bool ReadActionSpec(Section& s, std::string_view key, std::optional<policy::ActionSpec>* out) {
  const toml::node* n = s.Node(key);
  if (n == nullptr) return false;
  std::string path = s.Path(key);
  if (n->is_table()) {
    Section sub = s.Table(key);
    policy::ActionSpec a;
    bool ok = false;
    if (const toml::node* an = sub.Node("action")) {
      if (auto act = ReadActionName(sub, *an, sub.Path("action"))) {
        a.action = *act;
        ok = true;
      }
    } else {
      s.ProblemAt(*n, path,
                  "missing key \"action\" (expected e.g. { action = \"discard\", report = true })");
    }
    sub.Bool("report", &a.report);
    sub.Finish();
    if (ok) *out = a;
    return ok;
  }
  if (auto act = ReadActionName(s, *n, path)) {
    *out = policy::ActionSpec{*act, false};
    return true;
  }
  return false;
}

void ReadChannelActions(Section& parent, std::string_view key, policy::ChannelActions* out) {
  Section s = parent.Table(key);
  if (!s.present()) return;
  ReadActionSpec(s, "email", &out->email);
  ReadActionSpec(s, "sms", &out->sms);
  s.Finish();
}

void ReadIdentities(Section& parent, std::string_view key, policy::IdentityListSpec* out) {
  Section s = parent.Table(key);
  if (!s.present()) return;
  s.StringList("addresses", &out->addresses);
  s.StringList("domains", &out->domains);
  s.StringList("ips", &out->ips);
  s.StringList("helos", &out->helos);
  s.StringList("msisdns", &out->msisdns);
  s.StringList("short_codes", &out->short_codes);
  s.StringList("sender_ids", &out->sender_ids);
  s.Finish();
}

void ReadField(Section& s, policy::TextField* out) {
  std::string f;
  if (!s.Enum("field", &f, {"text", "subject", "normalized"})) return;
  *out = f == "subject"      ? policy::TextField::kSubject
         : f == "normalized" ? policy::TextField::kNormalized
                             : policy::TextField::kText;
}

void ReadChannel(Section& s, std::optional<Channel>* out) {
  std::string c;
  if (!s.Enum("channel", &c, {"email", "sms"})) return;
  *out = c == "sms" ? Channel::kSms : Channel::kEmail;
}

// The keys keyword and regex rules share (all but what they match: phrases / pattern).
template <typename RuleSpec>
void ReadRuleCommon(Section& k, RuleSpec* r) {
  k.String("id", &r->id);
  ReadField(k, &r->field);
  ReadActionSpec(k, "action", &r->action);
  k.Double("score", &r->score, -1e6, 1e6);
  ReadChannel(k, &r->channel);
}

void ReadLayer(Section& s, policy::LayerSpec* out) {
  ReadIdentities(s, "allow", &out->allow);
  ReadIdentities(s, "deny", &out->deny);
  ReadChannelActions(s, "deny_action", &out->deny_action);
  for (Section& k : s.TableArray("keywords")) {
    policy::KeywordRuleSpec r;
    ReadRuleCommon(k, &r);
    k.StringList("phrases", &r.phrases);
    k.Finish();
    out->keywords.push_back(std::move(r));
  }
  for (Section& k : s.TableArray("regexes")) {
    policy::RegexRuleSpec r;
    ReadRuleCommon(k, &r);
    k.String("pattern", &r.pattern);
    k.Finish();
    out->regexes.push_back(std::move(r));
  }
}

void ReadChannelSpec(Section& parent, std::string_view key, policy::ChannelSpec* out) {
  Section s = parent.Table(key);
  if (!s.present()) return;
  std::vector<Section> rows = s.TableArray("thresholds");
  if (s.Node("thresholds") != nullptr) out->thresholds.clear();  // the file replaces the default
  for (Section& r : rows) {
    policy::ThresholdSpec t;
    if (const toml::node* an = r.Node("action")) {
      if (auto a = ReadActionName(r, *an, r.Path("action"))) t.action = *a;
    } else {
      r.Problem("action", "missing key (expected an action name)");
    }
    // A bad min is reported here; 0 stops the policy check from calling it missing too.
    if (!r.Double("min", &t.min, -1e9, 1e9) && r.Node("min") != nullptr) t.min = 0;
    r.Bool("report", &t.report);
    r.Finish();
    out->thresholds.push_back(t);
  }
  ReadActionSpec(s, "default_action", &out->default_action);
  s.Finish();
}

void ReadReply(Section& parent, std::string_view key, std::optional<policy::SmtpReplySpec>* out) {
  Section s = parent.Table(key);
  if (!s.present()) return;
  policy::SmtpReplySpec r;
  s.String("code", &r.code);
  s.String("enhanced_code", &r.enhanced_code);
  s.String("text", &r.text);
  s.Finish();
  *out = r;
}

void ReadEmailActions(Section& parent, policy::EmailActionsSpec* out) {
  Section s = parent.Table("email_actions");
  if (!s.present()) return;
  s.String("flag_header", &out->flag_header);
  s.String("score_header", &out->score_header);
  s.String("report_header", &out->report_header);
  s.String("subject_prefix", &out->subject_prefix);
  s.String("redirect_to", &out->redirect_to);
  ReadReply(s, "reject_reply", &out->reject_reply);
  ReadReply(s, "tempfail_reply", &out->tempfail_reply);
  s.Finish();
}

void ReadSmsActions(Section& parent, policy::SmsActionsSpec* out) {
  Section s = parent.Table("sms_actions");
  if (!s.present()) return;
  s.String("tag_prefix", &out->tag_prefix);
  s.Finish();
}

void ReadOperator(Section s, policy::OperatorSpec* op) {
  if (!s.present()) return;
  ReadLayer(s, op);
  ReadIdentities(s, "spamtraps", &op->spamtraps);
  ReadChannelActions(s, "spamtrap_action", &op->spamtrap_action);
  ReadChannelSpec(s, "email", &op->email);
  ReadChannelSpec(s, "sms", &op->sms);
  ReadEmailActions(s, &op->email_actions);
  ReadSmsActions(s, &op->sms_actions);
  if (Section c = s.Table("consent"); c.present()) {
    c.Bool("email_required", &op->consent.email_required);
    c.Bool("sms_required", &op->consent.sms_required);
    c.Bool("default", &op->consent.default_consent);
    c.Finish();
  }
  ReadChannelActions(s, "subscriber_action", &op->subscriber_action);
  ReadChannelActions(s, "quiet_action", &op->quiet_action);
  ReadChannelActions(s, "fail_action", &op->fail_action);
  s.String("time_zone", &op->time_zone);
  s.String("default_country_code", &op->default_country_code);
  if (Section r = s.Table("regex_limits"); r.present()) {
    r.Int("max_mem", &op->regex_limits.max_mem, 1 << 16, int64_t{1} << 32);
    r.Size("max_pattern_bytes", &op->regex_limits.max_pattern_bytes, 1, 1 << 20);
    r.Finish();
  }
  s.Finish();
}

void ReadTenants(Section s, std::vector<policy::TenantSpec>* out) {
  if (!s.present()) return;
  for (const std::string& name : s.Keys()) {
    Section t = s.Table(name);
    if (!t.present()) continue;  // wrong type: reported by Table
    policy::TenantSpec ten;
    ten.name = name;
    ReadLayer(t, &ten);
    t.StringList("domains", &ten.domains);
    t.StringList("msisdn_prefixes", &ten.msisdn_prefixes);
    t.Bool("consent", &ten.consent);
    ReadChannelSpec(t, "email", &ten.email);
    ReadChannelSpec(t, "sms", &ten.sms);
    ReadEmailActions(t, &ten.email_actions);
    ReadSmsActions(t, &ten.sms_actions);
    t.String("time_zone", &ten.time_zone);
    t.Finish();
    out->push_back(std::move(ten));
  }
}

void ReadSubscriber(Section& t, const std::string& key, policy::SubscriberSpec* sub) {
  sub->key = key;
  t.String("tenant", &sub->tenant);
  t.Bool("enabled", &sub->enabled);
  t.Bool("consent", &sub->consent);
  t.String("time_zone", &sub->time_zone);
  ReadIdentities(t, "allow", &sub->allow);
  ReadIdentities(t, "deny", &sub->deny);
  t.StringList("keywords", &sub->keywords);
  t.StringList("regexes", &sub->regexes);
  ReadActionSpec(t, "action", &sub->action);
  if (Section q = t.Table("quiet"); q.present()) {
    policy::QuietHoursSpec qs;
    q.String("window", &qs.window);
    q.String("days", &qs.days);
    ReadActionSpec(q, "action", &qs.action);
    q.Bool("allowlist_bypasses", &qs.allowlist_bypasses);
    q.Finish();
    sub->quiet = qs;
  }
  t.Finish();
}

// The file a section was written in ("" if none), for resolving relative paths.
std::string FileOf(const Section& s) {
  std::string w = s.where();
  size_t colon = w.rfind(':');
  return colon == std::string::npos ? std::string() : w.substr(0, colon);
}

void CheckPath(Section& s, std::string_view key, const std::string& path, bool dir_ok) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    s.Problem(key, Cat("no such file or directory (got \"", path, "\")"));
  } else if (!dir_ok && fs::is_directory(st)) {
    s.Problem(key, Cat("is a directory (got \"", path, "\", expected a file)"));
  }
}

void ReadClassifier(Section& parent, std::string_view key, ClassifierConfig* c) {
  Section s = parent.Table(key);
  if (!s.present()) return;
  s.Bool("enabled", &c->enabled);
  if (s.String("model", &c->model) && !c->model.empty()) {
    c->model = Resolve(FileOf(s), c->model);
    CheckPath(s, "model", c->model, false);
  }
  s.String("id", &c->id);
  s.Double("points_per_logodds", &c->points_per_logodds, 0, 100);
  s.Double("max_score", &c->max_score, 0, 1000);
  s.Double("min_score", &c->min_score, -1000, 0);
  s.Finish();
}

void ReadDaemon(Section& d, DaemonConfig* dc) {
  if (d.String("listen", &dc->listen) && !dc->listen.starts_with("inet:") &&
      !dc->listen.starts_with("inet6:") && !dc->listen.starts_with("unix:") &&
      !dc->listen.starts_with("local:")) {
    d.Problem("listen", Cat("not a milter socket (got \"", dc->listen,
                            "\", expected inet:PORT@HOST or unix:/path)"));
  }
  if (d.String("socket_mode", &dc->socket_mode)) {
    bool ok = !dc->socket_mode.empty() && dc->socket_mode.size() <= 4;
    for (char ch : dc->socket_mode) ok = ok && ch >= '0' && ch <= '7';
    if (!ok) {
      d.Problem("socket_mode", Cat("not an octal mode (got \"", dc->socket_mode,
                                   "\", expected e.g. \"0660\")"));
    }
  }
  d.String("socket_user", &dc->socket_user);
  d.String("socket_group", &dc->socket_group);
  d.String("user", &dc->user);
  d.String("group", &dc->group);
  if (d.String("pid_file", &dc->pid_file)) dc->pid_file = Resolve(FileOf(d), dc->pid_file);
  d.Enum("fail_mode", &dc->fail_mode, {"tempfail", "accept"});
  int64_t max = 0;
  if (d.Int("max_message_bytes", &max, 1024, int64_t{1} << 32)) {
    dc->max_message_bytes = static_cast<uint64_t>(max);
  }
  d.Enum("oversize_action", &dc->oversize_action, {"skip", "tempfail"});
  d.String("oversize_header", &dc->oversize_header);
  d.Enum("log", &dc->log, {"syslog", "stderr"});
  d.Enum("syslog_facility", &dc->syslog_facility,
         {"mail", "daemon", "user", "local0", "local1", "local2", "local3", "local4", "local5",
          "local6", "local7"});
  if (d.String("metrics_listen", &dc->metrics_listen) && !dc->metrics_listen.empty()) {
    size_t colon = dc->metrics_listen.rfind(':');
    long long port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !ParseInt(dc->metrics_listen.substr(colon + 1), &port) || port < 1 || port > 65535) {
      d.Problem("metrics_listen", Cat("not HOST:PORT (got \"", dc->metrics_listen,
                                      "\", expected e.g. \"127.0.0.1:11334\" or \"\" for off)"));
    }
  }
  d.Bool("tcp_nodelay", &dc->tcp_nodelay);
  d.Int("threads", &dc->threads, 0, 4096);
  d.Finish();
}

void ReadSms(Section& s, SmsConfig* c) {
  constexpr int64_t kDay = 86400;
  constexpr int64_t kG = int64_t{1} << 30;
  s.Size("max_record_bytes", &c->max_record_bytes, 256, kG);
  s.Size("max_text_bytes", &c->max_text_bytes, 160, kG);
  s.Int("concat_timeout_seconds", &c->concat_timeout_seconds, 1, 30 * kDay);
  s.Size("concat_max_groups", &c->concat_max_groups, 1, 100000000);
  s.Size("concat_max_bytes", &c->concat_max_bytes, 1024, kG);
  if (Section g = s.Table("signals"); g.present()) {
    g.Int("rate_window_seconds", &c->rate_window_seconds, 1, 7 * kDay);
    g.Int("rate_threshold", &c->rate_threshold, 1, 1000000000);
    g.Double("rate_score", &c->rate_score, -100, 100);
    g.Int("dispersion_window_seconds", &c->dispersion_window_seconds, 1, 30 * kDay);
    g.Int("dispersion_threshold", &c->dispersion_threshold, 1, 1000000000);
    g.Double("dispersion_score", &c->dispersion_score, -100, 100);
    g.Int("duplicate_window_seconds", &c->duplicate_window_seconds, 1, 30 * kDay);
    g.Int("duplicate_threshold", &c->duplicate_threshold, 1, 1000000000);
    g.Double("duplicate_score", &c->duplicate_score, -100, 100);
    g.Int("duplicate_max_distance", &c->duplicate_max_distance, 0, 3);
    g.Int("duplicate_min_words", &c->duplicate_min_words, 1, 1000);
    if (g.StringList("spamtraps", &c->spamtraps)) {
      for (size_t i = 0; i < c->spamtraps.size(); ++i) {
        std::string norm;
        const policy::SmsSenderKind k = policy::ClassifySmsSender(c->spamtraps[i], &norm);
        if (k != policy::SmsSenderKind::kMsisdn && k != policy::SmsSenderKind::kShortCode) {
          g.Problem("spamtraps", Cat("entry ", i, " is not an MSISDN or short code (got \"",
                                     c->spamtraps[i], "\")"));
        }
      }
    }
    g.Double("spamtrap_score", &c->spamtrap_score, -100, 100);
    g.Double("spamtrap_weight", &c->spamtrap_weight, 0, 10);
    if (g.StringList("listed_domains", &c->listed_domains)) {
      for (size_t i = 0; i < c->listed_domains.size(); ++i) {
        absl::StatusOr<std::string> d = policy::NormalizeDomain(c->listed_domains[i]);
        if (!d.ok()) {
          g.Problem("listed_domains", Cat("entry ", i, ": ", d.status().message()));
        } else {
          c->listed_domains[i] = *d;
        }
      }
    }
    if (g.StringList("listed_numbers", &c->listed_numbers)) {
      for (size_t i = 0; i < c->listed_numbers.size(); ++i) {
        size_t digits = 0;
        for (char ch : c->listed_numbers[i]) digits += ch >= '0' && ch <= '9';
        if (digits < 7) {
          g.Problem("listed_numbers", Cat("entry ", i, " is not a phone number (got \"",
                                          c->listed_numbers[i], "\", expected 7 or more digits)"));
        }
      }
    }
    g.Double("url_score", &c->url_score, -100, 100);
    g.Double("callback_score", &c->callback_score, -100, 100);
    g.Double("report_threshold", &c->report_threshold, 0.001, 1e6);
    g.Double("reported_sender_score", &c->reported_sender_score, -100, 100);
    g.Double("reported_content_score", &c->reported_content_score, -100, 100);
    g.Double("default_reporter_weight", &c->default_reporter_weight, 0, 10);
    if (Section w = g.Table("reporter_weights"); w.present()) {
      for (const std::string& key : w.Keys()) {
        double v = 0;
        if (w.Double(key, &v, 0, 10)) c->reporter_weights.emplace_back(key, v);
      }
      w.Finish();
    }
    g.Int("report_dedup_seconds", &c->report_dedup_seconds, 0, 365 * kDay);
    g.Int("intel_ttl_seconds", &c->intel_ttl_seconds, 1, 3650 * kDay);
    g.Size("max_senders", &c->max_senders, 64, 1000000000);
    g.Size("max_fingerprints", &c->max_fingerprints, 64, 1000000000);
    g.Size("max_intel", &c->max_intel, 16, 1000000000);
    g.Int("idle_expiry_seconds", &c->idle_expiry_seconds, 1, 365 * kDay);
    g.Finish();
  }
  if (Section r = s.Table("redis"); r.present()) {
    if (r.String("url", &c->redis_url) && !c->redis_url.empty() &&
        !c->redis_url.starts_with("redis://") && !c->redis_url.starts_with("unix:")) {
      r.Problem("url", Cat("not a Redis URL (got \"", c->redis_url,
                           "\", expected redis://HOST:PORT[/DB] or unix:/path)"));
    }
    r.String("prefix", &c->redis_prefix);
    r.Int("timeout_ms", &c->redis_timeout_ms, 1, 600000);
    r.Finish();
  }
  s.Finish();
}

void ReadConfig(Section root, Config* c, Problems* problems) {
  root.Node("include");  // handled while loading
  if (Section r = root.Table("rules"); r.present()) {
    r.Bool("default_rules", &c->rules.default_rules);
    if (r.StringList("paths", &c->rules.paths)) {
      std::string file = FileOf(r);
      for (std::string& p : c->rules.paths) {
        p = Resolve(file, p);
        CheckPath(r, "paths", p, true);
      }
    }
    r.Int("score_set", &c->rules.score_set, 0, 3);
    r.Int("compile_budget_ms", &c->rules.compile_budget_ms, 1, 600000);
    r.Int("confirm_budget", &c->rules.confirm_budget, 1, 100000000);
    if (r.String("cache_dir", &c->rules.cache_dir) && !c->rules.cache_dir.empty() &&
        c->rules.cache_dir != "none") {
      c->rules.cache_dir = Resolve(FileOf(r), c->rules.cache_dir);
    }
    r.Finish();
  }
  if (Section l = root.Table("limits"); l.present()) {
    email::ParseOptions& p = c->limits.parse;
    constexpr int64_t kG = int64_t{1} << 30;
    l.Size("message_bytes", &p.max_message_bytes, 1024, kG);
    l.Size("headers", &p.max_headers, 1, 100000);
    l.Size("header_name_bytes", &p.max_header_name_bytes, 16, 65536);
    l.Size("header_value_bytes", &p.max_header_value_bytes, 64, 1 << 20);
    l.Size("parts", &p.max_parts, 1, 100000);
    l.Size("depth", &p.max_depth, 1, 100);
    l.Size("decoded_bytes", &p.max_decoded_bytes, 1024, kG);
    l.Size("body_part_scan_chars", &p.body_part_scan_chars, 64, kG);
    l.Size("rawbody_part_scan_bytes", &p.rawbody_part_scan_bytes, 64, kG);
    l.Size("uris", &p.max_uris, 1, 1000000);
    l.Int("scan_timeout_ms", &c->limits.scan_timeout_ms, 1, 3600000);
    l.Finish();
  }
  if (Section cl = root.Table("classifiers"); cl.present()) {
    ReadClassifier(cl, "email", &c->email_classifier);
    ReadClassifier(cl, "sms", &c->sms_classifier);
    cl.Finish();
  }
  ReadOperator(root.Table("operator"), &c->policy.operator_layer);
  ReadTenants(root.Table("tenants"), &c->policy.tenants);
  if (Section s = root.Table("subscribers"); s.present()) {
    for (const std::string& key : s.Keys()) {
      if (key == "files") {
        std::vector<std::string> files;
        if (s.StringList("files", &files)) {
          std::string file = FileOf(s);
          for (std::string& f : files) {
            f = Resolve(file, f);
            CheckPath(s, "files", f, false);
          }
          c->subscriber_files = std::move(files);
        }
        continue;
      }
      Section t = s.Table(key);
      if (!t.present()) continue;
      policy::SubscriberSpec sub;
      ReadSubscriber(t, key, &sub);
      c->subscribers.push_back(std::move(sub));
    }
  }
  if (Section d = root.Table("daemon"); d.present()) ReadDaemon(d, &c->daemon);
  if (Section sm = root.Table("sms"); sm.present()) ReadSms(sm, &c->sms);
  root.Finish();

  // Cross-field checks the policy compiler does, mapped back to file:line.
  for (const policy::SpecProblem& p : policy::CheckPolicySpec(c->policy)) {
    problems->AddForPath(p.path, p.problem);
  }
  if (!c->subscribers.empty()) {
    policy::SubscriberStoreOptions so;
    so.default_country_code = c->policy.operator_layer.default_country_code;
    policy::MemorySubscriberStore::Builder b(so);
    for (const policy::SubscriberSpec& s : c->subscribers) b.Add(s);
    for (const policy::SpecProblem& p : b.problems()) problems->AddForPath(p.path, p.problem);
  }
}

absl::StatusOr<Config> Finish(const Documents& docs, const Problems& problems) {
  Config c = DefaultConfig();
  c.files = docs.files;
  Problems all = problems;
  std::vector<const toml::table*> tables;
  for (const auto& t : docs.tables) tables.push_back(t.get());
  if (!tables.empty()) ReadConfig(Section(&all, "", tables), &c, &all);
  if (all.empty()) return c;
  // In file order, then line order: the way a person fixes them.
  std::vector<std::string> lines = all.lines();
  auto rank = [&](const std::string& l) {
    for (size_t i = 0; i < docs.files.size(); ++i) {
      const std::string& f = docs.files[i];
      if (l.size() > f.size() && l.compare(0, f.size(), f) == 0 && l[f.size()] == ':') {
        long long line = 0;
        size_t end = l.find(':', f.size() + 1);
        ParseInt(l.substr(f.size() + 1, end - f.size() - 1), &line);
        return std::pair<size_t, long long>(i, line);
      }
    }
    return std::pair<size_t, long long>(docs.files.size(), 0);
  };
  std::stable_sort(lines.begin(), lines.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return absl::InvalidArgumentError(Join(lines, "\n"));
}

}  // namespace

Config DefaultConfig() {
  Config c;
  using A = Action;
  // The shipped config/veto.toml states the same values; a test keeps the two in step.
  c.policy.operator_layer.email.thresholds = {{.action = A::kReject, .min = 15},
                                              {.action = A::kTag, .min = 5}};
  c.policy.operator_layer.sms.thresholds = {{.action = A::kBlock, .min = 12},
                                            {.action = A::kHold, .min = 5}};
  return c;
}

absl::StatusOr<Config> ParseConfig(std::string_view text, const std::string& name) {
  Documents docs;
  Problems problems;
  docs.stack.push_back(name);
  ParseDocument(text, name, 0, &docs, &problems);
  return Finish(docs, problems);
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  if (path.empty()) return DefaultConfig();
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  Documents docs;
  Problems problems;
  std::error_code ec;
  std::string canon = fs::weakly_canonical(path, ec).string();
  docs.stack.push_back(ec ? path : canon);
  ParseDocument(*text, path, 0, &docs, &problems);
  return Finish(docs, problems);
}

}  // namespace veto::config
