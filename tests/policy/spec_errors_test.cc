// Every kind of bad spec, each with the exact message BuildPolicy gives for it.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace veto::policy {
namespace {

// A valid spec the cases below break one field at a time.
PolicySpec ValidSpec() {
  PolicySpec spec;
  OperatorSpec& op = spec.operator_layer;
  op.email.thresholds = {{Action::kReject, 15}, {Action::kTag, 5}};
  op.sms.thresholds = {{Action::kBlock, 12}, {Action::kHold, 7}};
  TenantSpec& t = spec.tenants.emplace_back();
  t.name = "t";
  t.domains = {"t.example"};
  return spec;
}

struct BadSpec {
  const char* name;
  std::function<void(PolicySpec&)> mutate;
  std::string error;
};

TenantSpec& T(PolicySpec& s) { return s.tenants[0]; }
OperatorSpec& Op(PolicySpec& s) { return s.operator_layer; }

const char kEmailActions[] =
    "(expected one of accept, tag, rewrite_subject, quarantine, redirect, reject, tempfail, "
    "discard)";
const char kSmsActions[] = "(expected one of deliver, tag, hold, block, throttle_sender)";

std::vector<BadSpec> Cases() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  return {
      // Lists.
      {"tenant_domain",
       [](PolicySpec& s) {
         s.tenants.front().name = "example_com";
         s.tenants.front().deny.domains = {"a.example", "b.example", "foo..bar"};
       },
       "tenants.example_com.deny.domains[2]: not a domain (got \"foo..bar\")"},
      {"cidr_host_bits", [](PolicySpec& s) { Op(s).allow.ips = {"10.1.2.3/8"}; },
       "operator.allow.ips[0]: CIDR block has host bits set (got \"10.1.2.3/8\", expected "
       "\"10.0.0.0/8\")"},
      {"ipv6_prefix", [](PolicySpec& s) { Op(s).deny.ips = {"2001:db8::/129"}; },
       "operator.deny.ips[0]: not an IP address or CIDR block (got \"2001:db8::/129\")"},
      {"msisdn_pattern", [](PolicySpec& s) { Op(s).deny.msisdns = {"+1-900x"}; },
       "operator.deny.msisdns[0]: not an MSISDN pattern (got \"+1-900x\")"},
      {"short_code", [](PolicySpec& s) { T(s).allow.short_codes = {"12"}; },
       "tenants.t.allow.short_codes[0]: not a short code (got \"12\")"},
      {"sender_id", [](PolicySpec& s) { T(s).deny.sender_ids = {"TWELVECHARSX"}; },
       "tenants.t.deny.sender_ids[0]: not an alphanumeric sender ID (got \"TWELVECHARSX\")"},
      {"helo", [](PolicySpec& s) { Op(s).deny.helos = {"[999.1.1.1]"}; },
       "operator.deny.helos[0]: not a HELO name (got \"[999.1.1.1]\")"},
      {"spamtrap_address", [](PolicySpec& s) { Op(s).spamtraps.addresses = {"trap"}; },
       "operator.spamtraps.addresses[0]: not an email address (got \"trap\")"},
      // Actions that do not fit the channel.
      {"email_row_sms_action",
       [](PolicySpec& s) { Op(s).email.thresholds[0].action = Action::kBlock; },
       std::string("operator.email.thresholds[0].action: \"block\" is not an email action ") +
           kEmailActions},
      {"sms_row_email_action",
       [](PolicySpec& s) { Op(s).sms.thresholds[1].action = Action::kReject; },
       std::string("operator.sms.thresholds[1].action: \"reject\" is not an SMS action ") +
           kSmsActions},
      {"tenant_sms_default",
       [](PolicySpec& s) { T(s).sms.default_action = ActionSpec{Action::kAccept}; },
       std::string("tenants.t.sms.default_action: \"accept\" is not an SMS action ") + kSmsActions},
      {"deny_action_sms",
       [](PolicySpec& s) { Op(s).deny_action.sms = ActionSpec{Action::kQuarantine}; },
       std::string("operator.deny_action.sms: \"quarantine\" is not an SMS action ") + kSmsActions},
      {"quiet_action_email",
       [](PolicySpec& s) { Op(s).quiet_action.email = ActionSpec{Action::kHold}; },
       std::string("operator.quiet_action.email: \"hold\" is not an email action ") +
           kEmailActions},
      {"tenant_deny_action",
       [](PolicySpec& s) { T(s).deny_action.email = ActionSpec{Action::kThrottleSender}; },
       std::string("tenants.t.deny_action.email: \"throttle_sender\" is not an email action ") +
           kEmailActions},
      // Threshold tables.
      {"duplicate_row",
       [](PolicySpec& s) {
         Op(s).email.thresholds.push_back({Action::kTag, 3});
       },
       "operator.email.thresholds[2].action: duplicate row for \"tag\""},
      {"missing_min", [](PolicySpec& s) { Op(s).email.thresholds[0].min = std::nullopt; },
       "operator.email.thresholds[0].min: missing"},
      {"nan_min", [nan](PolicySpec& s) { Op(s).email.thresholds[0].min = nan; },
       "operator.email.thresholds[0].min: not a finite number (got nan)"},
      {"same_min",
       [](PolicySpec& s) {
         Op(s).email.thresholds.push_back({Action::kQuarantine, 5});
       },
       "operator.email.thresholds: rows \"tag\" and \"quarantine\" have the same min 5"},
      {"tenant_same_min",
       [](PolicySpec& s) {
         T(s).email.thresholds = {{Action::kQuarantine, 15}};
       },
       "tenants.t.email.thresholds: rows \"reject\" and \"quarantine\" have the same min 15"},
      {"tenant_removes_missing_row",
       [](PolicySpec& s) {
         T(s).email.thresholds = {{.action = Action::kDiscard, .min = std::nullopt}};
       },
       "tenants.t.email.thresholds[0]: removes \"discard\", which the operator's email table "
       "does not have"},
      // Content rules.
      {"rule_without_id", [](PolicySpec& s) { Op(s).keywords = {{.phrases = {"x"}, .score = 1}}; },
       "operator.keywords[0].id: missing"},
      {"duplicate_rule_id",
       [](PolicySpec& s) {
         Op(s).keywords = {{.id = "k", .phrases = {"x"}, .score = 1}};
         Op(s).regexes = {{.id = "k", .pattern = "y", .score = 1}};
       },
       "operator.regexes[0].id: duplicate rule id \"k\" in operator"},
      {"rule_without_effect",
       [](PolicySpec& s) { Op(s).keywords = {{.id = "k", .phrases = {"x"}}}; },
       "operator.keywords[0]: needs an action or a non-zero score"},
      {"rule_with_both",
       [](PolicySpec& s) {
         Op(s).keywords = {
             {.id = "k", .phrases = {"x"}, .action = ActionSpec{Action::kTag}, .score = 2}};
       },
       "operator.keywords[0]: has both an action and a score (expected one of them)"},
      {"rule_infinite_score",
       [inf](PolicySpec& s) { Op(s).keywords = {{.id = "k", .phrases = {"x"}, .score = inf}}; },
       "operator.keywords[0].score: not a finite number (got inf)"},
      {"rule_action_needs_channel",
       [](PolicySpec& s) {
         T(s).keywords = {{.id = "k", .phrases = {"x"}, .action = ActionSpec{Action::kReject}}};
       },
       "tenants.t.keywords[0].action: \"reject\" is not an SMS action; set .channel for a rule "
       "of one channel"},
      {"rule_action_wrong_channel",
       [](PolicySpec& s) {
         T(s).regexes = {{.id = "r",
                          .pattern = "x",
                          .action = ActionSpec{Action::kHold},
                          .channel = Channel::kEmail}};
       },
       std::string("tenants.t.regexes[0].action: \"hold\" is not an email action ") +
           kEmailActions},
      {"no_phrases", [](PolicySpec& s) { Op(s).keywords = {{.id = "k", .score = 1}}; },
       "operator.keywords[0].phrases: empty (expected at least one phrase)"},
      {"blank_phrase",
       [](PolicySpec& s) {
         Op(s).keywords = {{.id = "k", .phrases = {"ok", " "}, .score = 1}};
       },
       "operator.keywords[0].phrases[1]: empty phrase (got \" \")"},
      {"bad_regex",
       [](PolicySpec& s) { T(s).regexes = {{.id = "r", .pattern = "(abc", .score = 1}}; },
       "tenants.t.regexes[0].pattern: invalid regex: missing ): (abc (got \"(abc\")"},
      {"backreference",
       [](PolicySpec& s) { T(s).regexes = {{.id = "r", .pattern = "(a)\\1", .score = 1}}; },
       "tenants.t.regexes[0].pattern: invalid regex: invalid escape sequence: \\1 "
       "(got \"(a)\\\\1\")"},
      {"huge_regex",
       [](PolicySpec& s) { T(s).regexes = {{.id = "r", .pattern = "\\pL{1000}", .score = 1}}; },
       "tenants.t.regexes[0].pattern: regex too large for max_mem=8388608 (got \"\\\\pL{1000}\")"},
      {"long_regex",
       [](PolicySpec& s) {
         Op(s).regex_limits.max_pattern_bytes = 10;
         Op(s).regexes = {{.id = "r", .pattern = "abcdefghijk", .score = 1}};
       },
       "operator.regexes[0].pattern: regex longer than 10 bytes (got 11 bytes)"},
      {"regex_limits", [](PolicySpec& s) { Op(s).regex_limits.max_mem = 0; },
       "operator.regex_limits.max_mem: must be positive (got 0)"},
      // Redirect needs a spam mailbox where it applies.
      {"operator_redirect_without_mailbox",
       [](PolicySpec& s) { Op(s).email.thresholds[1].action = Action::kRedirect; },
       "operator.email.thresholds[1].action: \"redirect\" needs "
       "operator.email_actions.redirect_to"},
      {"tenant_redirect_without_mailbox",
       [](PolicySpec& s) {
         T(s).email.thresholds = {{Action::kRedirect, 9}};
       },
       "tenants.t.email.thresholds[0].action: \"redirect\" needs "
       "tenants.t.email_actions.redirect_to or operator.email_actions.redirect_to"},
      {"bad_redirect_address", [](PolicySpec& s) { T(s).email_actions.redirect_to = "spam box"; },
       "tenants.t.email_actions.redirect_to: not an email address (got \"spam box\")"},
      // Replies and headers.
      {"reject_code",
       [](PolicySpec& s) {
         Op(s).email_actions.reject_reply = SmtpReplySpec{"450", "", "x"};
       },
       "operator.email_actions.reject_reply.code: not a 5xx reply code (got \"450\")"},
      {"tempfail_enhanced",
       [](PolicySpec& s) {
         T(s).email_actions.tempfail_reply = SmtpReplySpec{"451", "5.7.1", "later"};
       },
       "tenants.t.email_actions.tempfail_reply.enhanced_code: not an enhanced status code like "
       "\"4.7.1\" (got \"5.7.1\")"},
      {"reply_text",
       [](PolicySpec& s) {
         Op(s).email_actions.reject_reply = SmtpReplySpec{"550", "5.7.1", "bad\r\ntext"};
       },
       "operator.email_actions.reject_reply.text: not printable ASCII on one line (1-400 "
       "characters) (got \"bad\\r\\ntext\")"},
      {"header_name", [](PolicySpec& s) { Op(s).email_actions.flag_header = "X Spam"; },
       "operator.email_actions.flag_header: not a header field name (got \"X Spam\")"},
      {"subject_prefix", [](PolicySpec& s) { T(s).email_actions.subject_prefix = "[S]\n"; },
       "tenants.t.email_actions.subject_prefix: not one line of text (got \"[S]\\n\")"},
      {"tag_prefix", [](PolicySpec& s) { Op(s).sms_actions.tag_prefix = "a\nb"; },
       "operator.sms_actions.tag_prefix: not one line of text (got \"a\\nb\")"},
      // Zones, country code, tenants.
      {"operator_zone", [](PolicySpec& s) { Op(s).time_zone = "Mars/Olympus"; },
       "operator.time_zone: unknown time zone (got \"Mars/Olympus\")"},
      {"tenant_zone", [](PolicySpec& s) { T(s).time_zone = "Europe/Atlantis"; },
       "tenants.t.time_zone: unknown time zone (got \"Europe/Atlantis\")"},
      {"country_code", [](PolicySpec& s) { Op(s).default_country_code = "0x"; },
       "operator.default_country_code: not a country code: 1-3 digits (got \"0x\")"},
      {"tenant_name", [](PolicySpec& s) { T(s).name = "bad name"; },
       "tenants[0].name: not a tenant name: letters, digits, '_', '-', '.' (got \"bad name\")"},
      {"duplicate_tenant", [](PolicySpec& s) { s.tenants.push_back(s.tenants[0]); },
       "tenants.t.name: duplicate tenant name"},
      {"domain_in_two_tenants",
       [](PolicySpec& s) {
         TenantSpec u;
         u.name = "u";
         u.domains = {"T.example."};
         s.tenants.push_back(u);
       },
       "tenants.u.domains[0]: \"t.example\" already belongs to tenant \"t\""},
      {"msisdn_prefix", [](PolicySpec& s) { T(s).msisdn_prefixes = {"+44770090123"}; },
       "tenants.t.msisdn_prefixes[0]: not an MSISDN prefix like \"+4477009*\" "
       "(got \"+44770090123\")"},
  };
}

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, ExactMessage) {
  PolicySpec spec = ValidSpec();
  GetParam().mutate(spec);
  absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(p.status().message()), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(Table, BadSpecTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BuildPolicyTest, ValidSpecBuilds) {
  EXPECT_TRUE(BuildPolicy(ValidSpec()).ok());
  EXPECT_TRUE(BuildPolicy(PolicySpec()).ok());  // every key has a default
  EXPECT_TRUE(CheckPolicySpec(ValidSpec()).empty());
}

TEST(BuildPolicyTest, ReportsEveryProblemAtOnceInSpecOrder) {
  PolicySpec spec = ValidSpec();
  Op(spec).deny.domains = {"ok.example", "bad..one"};
  Op(spec).time_zone = "Nowhere/Else";
  Op(spec).sms.thresholds[0].action = Action::kReject;
  T(spec).allow.ips = {"300.1.1.1"};
  T(spec).regexes = {{.id = "r", .pattern = "(?P<n>x)\\k<n>", .score = 1}};
  absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "operator.time_zone: unknown time zone (got \"Nowhere/Else\")\n"
            "operator.deny.domains[1]: not a domain (got \"bad..one\")\n"
            "operator.sms.thresholds[0].action: \"reject\" is not an SMS action " +
                std::string(kSmsActions) +
                "\n"
                "tenants.t.allow.ips[0]: not an IP address or CIDR block (got \"300.1.1.1\")\n"
                "tenants.t.regexes[0].pattern: invalid regex: invalid escape sequence: \\k "
                "(got \"(?P<n>x)\\\\k<n>\")");
  std::vector<SpecProblem> problems = CheckPolicySpec(spec);
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[3].path, "tenants.t.allow.ips[0]");
  EXPECT_EQ(problems[3].problem, "not an IP address or CIDR block (got \"300.1.1.1\")");
}

TEST(BuildPolicyTest, SubscribersMustNameKnownTenants) {
  MemorySubscriberStore::Builder b;
  ASSERT_TRUE(b.AddLine("+15551230000\ttenant=ghost"));
  ASSERT_TRUE(b.AddLine("+15551230001\ttenant=t"));
  std::shared_ptr<const MemorySubscriberStore> store = *std::move(b).Build();
  absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(ValidSpec(), store);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "subscribers: tenant \"ghost\" is not defined in tenants");
}

}  // namespace
}  // namespace veto::policy
