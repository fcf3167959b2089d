// Loading, validation and includes. Error messages are compared exactly: they are the
// interface an operator sees.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include <string>

#include "config/config.h"
#include "core/strings.h"
#include "gtest/gtest.h"

namespace veto::config {
namespace {

namespace fs = std::filesystem;

std::string Errors(std::string_view text) {
  absl::StatusOr<Config> c = ParseConfig(text, "t.toml");
  if (c.ok()) return "OK";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST(ConfigTest, NoFileMeansDefaults) {
  absl::StatusOr<Config> c = LoadConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->files.empty());
  EXPECT_TRUE(c->rules.default_rules);
  EXPECT_EQ(c->rules.score_set, 0);
  ASSERT_EQ(c->policy.operator_layer.email.thresholds.size(), 2u);
  EXPECT_EQ(c->policy.operator_layer.email.thresholds[0].action, Action::kReject);
  EXPECT_EQ(*c->policy.operator_layer.email.thresholds[0].min, 15);
  EXPECT_EQ(c->daemon.fail_mode, "tempfail");
}

// The shipped, commented file states every default: loading it must give the same Config as
// loading nothing.
TEST(ConfigTest, ShippedFileEqualsDefaults) {
  absl::StatusOr<Config> f = LoadConfig(VETO_SOURCE_DIR "/config/veto.toml");
  ASSERT_TRUE(f.ok()) << f.status();
  Config d = DefaultConfig();
  EXPECT_EQ(f->rules.default_rules, d.rules.default_rules);
  EXPECT_EQ(f->rules.paths, d.rules.paths);
  EXPECT_EQ(f->rules.score_set, d.rules.score_set);
  EXPECT_EQ(f->rules.compile_budget_ms, d.rules.compile_budget_ms);
  EXPECT_EQ(f->rules.confirm_budget, d.rules.confirm_budget);
  EXPECT_EQ(f->rules.cache_dir, d.rules.cache_dir);
  const email::ParseOptions &a = f->limits.parse, &b = d.limits.parse;
  EXPECT_EQ(a.max_message_bytes, b.max_message_bytes);
  EXPECT_EQ(a.max_headers, b.max_headers);
  EXPECT_EQ(a.max_header_name_bytes, b.max_header_name_bytes);
  EXPECT_EQ(a.max_header_value_bytes, b.max_header_value_bytes);
  EXPECT_EQ(a.max_parts, b.max_parts);
  EXPECT_EQ(a.max_depth, b.max_depth);
  EXPECT_EQ(a.max_decoded_bytes, b.max_decoded_bytes);
  EXPECT_EQ(a.body_part_scan_chars, b.body_part_scan_chars);
  EXPECT_EQ(a.rawbody_part_scan_bytes, b.rawbody_part_scan_bytes);
  EXPECT_EQ(a.max_uris, b.max_uris);
  EXPECT_EQ(f->limits.scan_timeout_ms, d.limits.scan_timeout_ms);
  for (auto [x, y] : {std::pair{&f->email_classifier, &d.email_classifier},
                      std::pair{&f->sms_classifier, &d.sms_classifier}}) {
    EXPECT_EQ(x->enabled, y->enabled);
    EXPECT_EQ(x->model, y->model);
    EXPECT_EQ(x->points_per_logodds, y->points_per_logodds);
    EXPECT_EQ(x->max_score, y->max_score);
    EXPECT_EQ(x->min_score, y->min_score);
  }
  const policy::OperatorSpec &o = f->policy.operator_layer, &p = d.policy.operator_layer;
  auto rows = [](const policy::ChannelSpec& c) {
    std::string s;
    for (const auto& t : c.thresholds) s += Cat(ActionName(t.action), ">=", *t.min, t.report, ";");
    if (c.default_action) s += Cat("default=", ActionName(c.default_action->action));
    return s;
  };
  EXPECT_EQ(rows(o.email), "reject>=150;tag>=50;default=accept");
  EXPECT_EQ(rows(o.sms), "block>=120;hold>=50;default=deliver");
  EXPECT_EQ(rows(p.email), "reject>=150;tag>=50;");
  EXPECT_EQ(o.time_zone, p.time_zone);
  EXPECT_EQ(o.consent.sms_required, p.consent.sms_required);
  EXPECT_EQ(o.consent.email_required, p.consent.email_required);
  EXPECT_EQ(o.consent.default_consent, p.consent.default_consent);
  EXPECT_EQ(o.regex_limits.max_mem, p.regex_limits.max_mem);
  EXPECT_EQ(o.regex_limits.max_pattern_bytes, p.regex_limits.max_pattern_bytes);
  EXPECT_TRUE(o.allow.empty() && o.deny.empty() && o.spamtraps.empty());
  const DaemonConfig &x = f->daemon, &y = d.daemon;
  EXPECT_EQ(x.listen, y.listen);
  EXPECT_EQ(x.socket_mode, y.socket_mode);
  EXPECT_EQ(x.fail_mode, y.fail_mode);
  EXPECT_EQ(x.max_message_bytes, y.max_message_bytes);
  EXPECT_EQ(x.oversize_action, y.oversize_action);
  EXPECT_EQ(x.oversize_header, y.oversize_header);
  EXPECT_EQ(x.log, y.log);
  EXPECT_EQ(x.syslog_facility, y.syslog_facility);
  EXPECT_EQ(x.metrics_listen, y.metrics_listen);
  EXPECT_EQ(x.tcp_nodelay, y.tcp_nodelay);
  EXPECT_EQ(x.threads, y.threads);
  EXPECT_EQ(x.pid_file, y.pid_file);
}

struct BadConfig {
  const char* name;
  const char* toml;
  const char* expected;
};

// Every problem at once, in file order, each as file:line: key.path: problem (got, expected).
const BadConfig kBadConfigs[] = {
    {"syntax", "[rules\nscore_set = 1\n",
     "t.toml:1: syntax error: Error while parsing table header: expected ']', saw '\\n'"},
    {"unknown top-level key", "[rulez]\n",
     "t.toml:1: rulez: unknown key (did you mean \"rules\"?)"},
    {"unknown key, no near match", "[rules]\nfrobnicate = 1\n",
     "t.toml:2: rules.frobnicate: unknown key (expected one of cache_dir, compile_budget_ms, "
     "confirm_budget, default_rules, paths, score_set)"},
    {"transposed letters", "[tenants.example_com]\nemial = {}\n",
     "t.toml:2: tenants.example_com.emial: unknown key (did you mean \"email\"?)"},
    {"out of range", "[rules]\nscore_set = 7\n",
     "t.toml:2: rules.score_set: out of range (got 7, expected 0..3)"},
    {"wrong type", "[rules]\ndefault_rules = \"yes\"\n",
     "t.toml:2: rules.default_rules: wrong type (got string \"yes\", expected true or false)"},
    {"float for integer", "[limits]\nparts = 2.5\n",
     "t.toml:2: limits.parts: wrong type (got float 2.5, expected an integer)"},
    {"string list element", "[operator.deny]\ndomains = [\"a.example\", 3]\n",
     "t.toml:2: operator.deny.domains[1]: wrong type (got integer 3, expected a string)"},
    {"unknown action", "[operator.deny_action]\nemail = \"rejct\"\n",
     "t.toml:2: operator.deny_action.email: unknown action (got \"rejct\", expected one of "
     "accept, tag, rewrite_subject, quarantine, redirect, reject, tempfail, discard, deliver, "
     "hold, block, throttle_sender; did you mean \"reject\"?)"},
    {"action for the wrong channel", "[operator.deny_action]\nsms = \"reject\"\n",
     "t.toml:2: operator.deny_action.sms: \"reject\" is not an SMS action (expected one of deliver, tag, "
     "hold, block, throttle_sender)"},
    {"enum", "[daemon]\nfail_mode = \"accpet\"\n",
     "t.toml:2: daemon.fail_mode: unknown value (got \"accpet\", expected one of tempfail, "
     "accept; did you mean \"accept\"?)"},
    {"milter socket", "[daemon]\nlisten = \"tcp:1234\"\n",
     "t.toml:2: daemon.listen: not a milter socket (got \"tcp:1234\", expected inet:PORT@HOST or "
     "unix:/path)"},
    {"socket mode", "[daemon]\nsocket_mode = \"rw\"\n",
     "t.toml:2: daemon.socket_mode: not an octal mode (got \"rw\", expected e.g. \"0660\")"},
    {"metrics address", "[daemon]\nmetrics_listen = \"localhost\"\n",
     "t.toml:2: daemon.metrics_listen: not HOST:PORT (got \"localhost\", expected e.g. "
     "\"127.0.0.1:11334\" or \"\" for off)"},
    {"bad domain and ip, mapped to their lines",
     "[operator.deny]\ndomains = [\"ok.example\",\n  \"foo..bar\"]\nips = [\"300.1.1.1\"]\n",
     "t.toml:3: operator.deny.domains[1]: not a domain (got \"foo..bar\")\n"
     "t.toml:4: operator.deny.ips[0]: not an IP address or CIDR block (got \"300.1.1.1\")"},
    {"threshold row", "[operator.email]\nthresholds = [{ action = \"tag\", min = \"5\" }]\n",
     "t.toml:2: operator.email.thresholds[0].min: wrong type (got string \"5\", expected a "
     "number)"},
    {"action table without action", "[operator.deny_action]\nemail = { report = true }\n",
     "t.toml:2: operator.deny_action.email: missing key \"action\" (expected e.g. { action = "
     "\"discard\", report = true })"},
    {"redirect needs a mailbox", "[operator.email]\nthresholds = [{ action = \"redirect\", min = 9 }]\n",
     "t.toml:2: operator.email.thresholds[0].action: \"redirect\" needs "
     "operator.email_actions.redirect_to"},
    {"subscriber quiet hours and zone",
     "[subscribers.\"+15551230000\"]\nquiet = { window = \"25:00-07:00\" }\n"
     "time_zone = \"Mars/Olympus\"\n",
     "t.toml:2: subscribers.+15551230000.quiet.window: not a time window \"HH:MM-HH:MM\" (got "
     "\"25:00-07:00\")\n"
     "t.toml:3: subscribers.+15551230000.time_zone: unknown time zone (got \"Mars/Olympus\")"},
    {"several problems at once", "[rules]\nscore_set = 9\npathz = []\n[daemon]\nthreads = -1\n",
     "t.toml:2: rules.score_set: out of range (got 9, expected 0..3)\n"
     "t.toml:3: rules.pathz: unknown key (did you mean \"paths\"?)\n"
     "t.toml:5: daemon.threads: out of range (got -1, expected 0..4096)"},
    {"table expected", "operator = 5\n",
     "t.toml:1: operator: wrong type (got integer 5, expected a table)"},
    {"include of a missing file", "include = \"/nonexistent/x.toml\"\n",
     "t.toml:1: include: no such file or directory (got \"/nonexistent/x.toml\", resolved to "
     "\"/nonexistent/x.toml\")"},
    {"non-ASCII outside a string", "[operator]\ntime_zone = caf\xc3\xa9\n",
     "t.toml:2: syntax error: non-ASCII character outside a string or comment"},
    {"control character", "[rules]\n[\x01]\n",
     "t.toml:2: syntax error: control character 0x01 (TOML allows only tab, CR and LF)"},
    {"rule path that does not exist", "[rules]\npaths = [\"/nonexistent/rules.cf\"]\n",
     "t.toml:2: rules.paths: no such file or directory (got \"/nonexistent/rules.cf\")"},
};

TEST(ConfigTest, BadConfigsGiveExactMessages) {
  for (const BadConfig& b : kBadConfigs) {
    EXPECT_EQ(Errors(b.toml), b.expected) << b.name;
  }
}

TEST(ConfigTest, NastyInputsNeverCrash) {
  const char* nasty[] = {
      "", "\xff\xfe", "a = \"\\uD800\"\n", "[a]\n[a]\n", "x = [[[[[[[[[[1]]]]]]]]]]\n",
      "[operator]\nkeywords = 5\n", "[[operator.keywords]]\n[[operator.keywords]]\n",
      "[tenants]\nx = 1\n", "[subscribers]\nfiles = 3\n", "[subscribers.\"not a key\"]\n",
      "include = [1, 2]\n", "[rules]\ncompile_budget_ms = 9223372036854775807\n",
      "[limits]\nmessage_bytes = -1\n", "[operator.email]\nthresholds = 3\n",
      "[operator.email]\nthresholds = [1, \"x\"]\n", "a.b.c.d.e.f.g.h = 1\n"};
  for (const char* t : nasty) {
    absl::StatusOr<Config> c = ParseConfig(t, "n.toml");
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << t;
      EXPECT_FALSE(c.status().message().empty()) << t;
    }
  }
}

// Inputs the fuzzer found crashing toml++ 3.3 (assertions, __builtin_unreachable) before
// the lexical pre-check: each must now be a plain error.
TEST(ConfigTest, FuzzerFindingsAreErrors) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(VETO_SOURCE_DIR "/tests/data/config")) {
    if (!e.path().filename().string().starts_with("crash_")) continue;
    ++n;
    std::ifstream in(e.path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<Config> c = ParseConfig(text, "c.toml");
    ASSERT_FALSE(c.ok()) << e.path();
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_GE(n, 3);
}

TEST(ConfigTest, NonAsciiInStringsAndCommentsIsFine) {
  absl::StatusOr<Config> c = ParseConfig(
      "# caf\xc3\xa9 \xe2\x80\x94 comment\n[operator.email_actions]\nsubject_prefix = "
      "\"[SP\xc3\x84M] \"\n'quoted' = 1\n",
      "u.toml");
  ASSERT_FALSE(c.ok());  // 'quoted' is an unknown key, but the file parsed
  EXPECT_EQ(c.status().message(),
            "u.toml:4: operator.email_actions.quoted: unknown key (expected one of flag_header, "
            "redirect_to, reject_reply, report_header, score_header, subject_prefix, "
            "tempfail_reply)");
  c = ParseConfig("[operator.email_actions]\nsubject_prefix = '''[SP\xc3\x84M]'''\n", "u.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->policy.operator_layer.email_actions.subject_prefix, "[SP\xc3\x84M]");
}

TEST(ConfigTest, ReadsPolicyKeys) {
  absl::StatusOr<Config> c = ParseConfig(R"(
[operator]
time_zone = "Europe/Berlin"
[operator.deny]
domains = ["spam.example"]
msisdns = ["+1900*"]
[[operator.keywords]]
id = "LOAN"
phrases = ["guaranteed loan"]
score = 3
[[operator.regexes]]
id = "PAYPAL"
pattern = "p[a@]yp[a@]l-secure"
action = { action = "quarantine", report = true }
channel = "email"
[tenants.example_com]
domains = ["example.com"]
consent = true
[tenants.example_com.email]
thresholds = [{ action = "quarantine", min = 8 }]
[subscribers."+447700900123"]
keywords = ["casino"]
quiet = { window = "22:00-07:00", action = "hold" }
)",
                                         "p.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const policy::OperatorSpec& o = c->policy.operator_layer;
  EXPECT_EQ(o.time_zone, "Europe/Berlin");
  EXPECT_EQ(o.deny.domains, std::vector<std::string>{"spam.example"});
  EXPECT_EQ(o.deny.msisdns, std::vector<std::string>{"+1900*"});
  ASSERT_EQ(o.keywords.size(), 1u);
  EXPECT_EQ(o.keywords[0].score, 3);
  ASSERT_EQ(o.regexes.size(), 1u);
  ASSERT_TRUE(o.regexes[0].action.has_value());
  EXPECT_EQ(o.regexes[0].action->action, Action::kQuarantine);
  EXPECT_TRUE(o.regexes[0].action->report);
  EXPECT_EQ(o.regexes[0].channel, Channel::kEmail);
  ASSERT_EQ(c->policy.tenants.size(), 1u);
  EXPECT_EQ(c->policy.tenants[0].name, "example_com");
  EXPECT_EQ(c->policy.tenants[0].consent, true);
  ASSERT_EQ(c->policy.tenants[0].email.thresholds.size(), 1u);
  ASSERT_EQ(c->subscribers.size(), 1u);
  EXPECT_EQ(c->subscribers[0].key, "+447700900123");
  ASSERT_TRUE(c->subscribers[0].quiet.has_value());
  EXPECT_EQ(c->subscribers[0].quiet->window, "22:00-07:00");
  EXPECT_EQ(c->subscribers[0].quiet->action->action, Action::kHold);
}

class IncludeTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("veto_config_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "conf.d");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& rel, const std::string& text) {
    fs::path p = dir_ / rel;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(IncludeTest, GlobInNameOrderAndTablesMerge) {
  std::string main = Write("veto.toml", "include = \"conf.d/*.toml\"\n[rules]\nscore_set = 1\n");
  Write("conf.d/20-b.toml", "[[operator.keywords]]\nid = \"B\"\nphrases = [\"b\"]\nscore = 1\n");
  Write("conf.d/10-a.toml",
        "[rules]\ncompile_budget_ms = 100\nconfirm_budget = 7\n[[operator.keywords]]\nid = \"A\"\nphrases = "
        "[\"a\"]\nscore = 1\n");
  Write("conf.d/ignored.txt", "not toml");
  absl::StatusOr<Config> c = LoadConfig(main);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->files.size(), 3u);
  EXPECT_EQ(c->rules.score_set, 1);
  EXPECT_EQ(c->rules.compile_budget_ms, 100);
  EXPECT_EQ(c->rules.confirm_budget, 7);
  ASSERT_EQ(c->policy.operator_layer.keywords.size(), 2u);
  EXPECT_EQ(c->policy.operator_layer.keywords[0].id, "A");  // 10-a before 20-b
  EXPECT_EQ(c->policy.operator_layer.keywords[1].id, "B");
}

TEST_F(IncludeTest, DirectoryEmptyGlobAndRelativePaths) {
  Write("rules.cf", "body X /x/\n");
  std::string main = Write("veto.toml",
                           "include = [\"conf.d\", \"none/*.toml\"]\n[rules]\npaths = "
                           "[\"rules.cf\"]\n");
  absl::StatusOr<Config> c = LoadConfig(main);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->rules.paths.size(), 1u);
  EXPECT_EQ(c->rules.paths[0], (dir_ / "rules.cf").string());
}

TEST_F(IncludeTest, KeySetTwiceNamesBothPlaces) {
  std::string main = Write("veto.toml", "include = \"conf.d/a.toml\"\n[rules]\nscore_set = 1\n");
  std::string a = Write("conf.d/a.toml", "[rules]\nscore_set = 2\n");
  absl::StatusOr<Config> c = LoadConfig(main);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            Cat(a, ":2: rules.score_set: set twice (first at ", main, ":3)"));
}

TEST_F(IncludeTest, CycleIsAnError) {
  std::string main = Write("veto.toml", "include = \"conf.d/a.toml\"\n");
  Write("conf.d/a.toml", "include = \"../veto.toml\"\n");
  absl::StatusOr<Config> c = LoadConfig(main);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("include cycle"), std::string::npos) << c.status();
}

TEST_F(IncludeTest, ErrorsInIncludedFilesCarryTheirNames) {
  std::string main = Write("veto.toml", "include = \"conf.d\"\n[rules]\nscore_set = 5\n");
  std::string b = Write("conf.d/b.toml", "[daemon]\nlog = \"file\"\n");
  absl::StatusOr<Config> c = LoadConfig(main);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            Cat(main, ":3: rules.score_set: out of range (got 5, expected 0..3)\n", b,
                ":2: daemon.log: unknown value (got \"file\", expected one of syslog, stderr)"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<Config> c = LoadConfig("/nonexistent/veto.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.status().message(), "/nonexistent/veto.toml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace veto::config
