#include "policy/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::EmailMsg;
using testing::MakeEmail;
using testing::MakeScores;
using testing::MakeSms;
using testing::Noon;
using testing::SmsMsg;
using testing::Utc;

// ---------------------------------------------------------------------------------------------
// core/decision.h helpers.

TEST(ActionTest, NamesRoundTripAndFitChannels) {
  for (size_t i = 0; i < static_cast<size_t>(Action::kCount_); ++i) {
    const auto a = static_cast<Action>(i);
    EXPECT_EQ(ActionFromName(ActionName(a)), a);
  }
  EXPECT_EQ(ActionFromName("Reject"), std::nullopt);  // names are exact
  EXPECT_EQ(ActionFromName("bounce"), std::nullopt);
  const std::vector<Action> email = {
      Action::kAccept,   Action::kTag,    Action::kRewriteSubject, Action::kQuarantine,
      Action::kRedirect, Action::kReject, Action::kTempfail,       Action::kDiscard};
  const std::vector<Action> sms = {Action::kDeliver, Action::kTag, Action::kHold, Action::kBlock,
                                   Action::kThrottleSender};
  for (size_t i = 0; i < static_cast<size_t>(Action::kCount_); ++i) {
    const auto a = static_cast<Action>(i);
    EXPECT_EQ(ActionFitsChannel(a, Channel::kEmail),
              std::find(email.begin(), email.end(), a) != email.end())
        << ActionName(a);
    EXPECT_EQ(ActionFitsChannel(a, Channel::kSms),
              std::find(sms.begin(), sms.end(), a) != sms.end())
        << ActionName(a);
  }
  EXPECT_EQ(PassAction(Channel::kEmail), Action::kAccept);
  EXPECT_EQ(PassAction(Channel::kSms), Action::kDeliver);
  EXPECT_LT(ActionSeverity(Action::kTag), ActionSeverity(Action::kQuarantine));
  EXPECT_LT(ActionSeverity(Action::kDiscard), ActionSeverity(Action::kReject));
  EXPECT_LT(ActionSeverity(Action::kHold), ActionSeverity(Action::kBlock));
  EXPECT_EQ(LayerName(veto::Layer::kSubscriber), "subscriber");
  EXPECT_EQ(RuleKindName(RuleKind::kQuietHours), "quiet_hours");
}

// ---------------------------------------------------------------------------------------------
// A policy that exercises every layer. Names say which list a domain/number sits on.

PolicySpec BaseSpec() {
  PolicySpec spec;
  OperatorSpec& op = spec.operator_layer;
  op.deny.domains = {"op-deny.example"};
  op.deny.msisdns = {"+1900*"};
  op.allow.domains = {"op-allow.example", "both-op.example"};
  op.allow.short_codes = {"2222"};
  op.spamtraps.addresses = {"trap@example.com"};
  op.spamtraps.msisdns = {"+15550000000"};
  op.keywords = {
      {.id = "legal_email",
       .phrases = {"forbidden phrase"},
       .action = ActionSpec{Action::kReject},
       .channel = Channel::kEmail},
      {.id = "legal_sms",
       .phrases = {"forbidden phrase"},
       .action = ActionSpec{Action::kBlock},
       .channel = Channel::kSms},
      {.id = "op_act_now", .phrases = {"act now"}, .score = 3},
  };
  op.email.thresholds = {{Action::kReject, 15}, {Action::kQuarantine, 10}, {Action::kTag, 5}};
  op.sms.thresholds = {{Action::kBlock, 12}, {Action::kHold, 7}};
  op.email_actions.redirect_to = "spam@example.net";

  TenantSpec& mail = spec.tenants.emplace_back();
  mail.name = "example_com";
  mail.domains = {"example.com"};
  mail.allow.domains = {"tenant-allow.example", "sub-deny.example"};
  mail.deny.domains = {"tenant-deny.example", "both.example", "both-op.example"};
  mail.keywords = {{.id = "tenant_banned",
                    .phrases = {"tenant banned"},
                    .action = ActionSpec{Action::kDiscard},
                    .channel = Channel::kEmail}};
  mail.email.thresholds = {{Action::kQuarantine, 8}};

  TenantSpec& mobile = spec.tenants.emplace_back();
  mobile.name = "acme_mobile";
  mobile.msisdn_prefixes = {"+1555123*"};
  mobile.consent = true;
  mobile.time_zone = "America/New_York";
  mobile.allow.short_codes = {"7726"};
  mobile.deny.short_codes = {"3333"};
  mobile.deny.sender_ids = {"SPAMCO"};
  mobile.sms.thresholds = {{Action::kHold, 5}};
  return spec;
}

std::shared_ptr<const MemorySubscriberStore> BaseStore() {
  MemorySubscriberStore::Builder b;
  const char* lines[] = {
      "user@example.com\tallow=sub-allow.example\tallow=op-deny.example\tallow=both.example\t"
      "deny=sub-deny.example\tdeny=op-allow.example\tkeyword=cheap pills",
      "nocontent@example.com\tconsent=no\tdeny=sub-deny.example\tkeyword=cheap pills",
      "+15551230000\tconsent=yes\tallow=+19005550100\tallow=short:3333\tallow=+15556660000\t"
      "deny=alpha:PROMO*\tdeny=short:2222\tkeyword=loan approved\tregex=(?i)w[i1]n.{0,10}pr[i1]ze",
      "+15551230001\tconsent=no\tdeny=alpha:PROMO*\tkeyword=loan approved",
      "+15551230002\ttz=Europe/Berlin\tallow=+15556660000\tquiet=22:00-07:00",
      "+15551230003\ttz=Europe/Berlin\tallow=+15556660000\tquiet=22:00-07:00\tquiet_bypass=no\t"
      "quiet_action=block+report",
      "+15551230004\tenabled=no\tquiet=00:00-24:00\tdeny=alpha:PROMO*",
      "+15551230005\tquiet=22:00-07:00",  // zone from the tenant (America/New_York)
      "+15559990001\tquiet=22:00-07:00",  // no tenant: the operator's zone (UTC)
  };
  for (const char* l : lines) EXPECT_TRUE(b.AddLine(l)) << l << ": " << b.problems()[0].ToString();
  return *std::move(b).Build();
}

std::shared_ptr<const Policy> BuildOrDie(const PolicySpec& spec,
                                         std::shared_ptr<const SubscriberStore> store = nullptr) {
  absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(spec, std::move(store));
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

const Policy& Base() {
  static const std::shared_ptr<const Policy> p = BuildOrDie(BaseSpec(), BaseStore());
  return *p;
}

// ---------------------------------------------------------------------------------------------
// Precedence across layers, table-driven.

struct PrecedenceCase {
  const char* name;
  Channel channel;
  const char* sender;  // email: MAIL FROM; SMS: originator
  const char* recipient;
  const char* text;
  double score;
  MatchKind kind;
  Action want;
  veto::Layer layer;
  RuleKind rule_kind;
  const char* entry;
};

class PrecedenceTest : public ::testing::TestWithParam<PrecedenceCase> {};

TEST_P(PrecedenceTest, DecidesAtTheRightLayer) {
  const PrecedenceCase& c = GetParam();
  std::unique_ptr<Message> m =
      c.channel == Channel::kEmail
          ? MakeEmail({.mail_from = c.sender, .rcpt = {c.recipient}, .body = c.text})
          : MakeSms({.sender = c.sender, .recipient = c.recipient, .text = c.text});
  Scores s = c.score != 0 ? MakeScores({{"EVIDENCE", c.score}}, c.kind) : Scores();
  Decision d = Base().Decide(*m, s, Noon());
  ASSERT_EQ(d.recipients.size(), 1u);
  const RecipientDecision& r = d.recipients[0];
  EXPECT_EQ(ActionName(r.action), ActionName(c.want));
  EXPECT_EQ(LayerName(r.decided_by.layer), LayerName(c.layer));
  EXPECT_EQ(RuleKindName(r.decided_by.kind), RuleKindName(c.rule_kind));
  EXPECT_EQ(r.decided_by.entry, c.entry);
  EXPECT_EQ(d.action, r.action);
}

constexpr MatchKind kRule = MatchKind::kRule;
constexpr MatchKind kSignal = MatchKind::kSignal;
constexpr Channel kE = Channel::kEmail;
constexpr Channel kS = Channel::kSms;
using L = veto::Layer;
using K = RuleKind;
using A = Action;

INSTANTIATE_TEST_SUITE_P(
    Email, PrecedenceTest,
    ::testing::Values(
        PrecedenceCase{"spamtrap_beats_subscriber_allow", kE, "a@sub-allow.example",
                       "trap@example.com", "", 0, kRule, A::kDiscard, L::kOperator, K::kSpamtrap,
                       "trap@example.com"},
        PrecedenceCase{"operator_deny_beats_subscriber_allow", kE, "a@op-deny.example",
                       "user@example.com", "", 0, kRule, A::kReject, L::kOperator, K::kDenyList,
                       "op-deny.example"},
        PrecedenceCase{"operator_content_beats_subscriber_allow", kE, "a@sub-allow.example",
                       "user@example.com", "a Forbidden Phrase", 0, kRule, A::kReject, L::kOperator,
                       K::kKeyword, "forbidden phrase"},
        PrecedenceCase{"subscriber_allow_beats_tenant_deny", kE, "a@both.example",
                       "user@example.com", "", 0, kRule, A::kAccept, L::kSubscriber, K::kAllowList,
                       "both.example"},
        PrecedenceCase{"subscriber_allow_beats_score", kE, "a@mail.sub-allow.example",
                       "user@example.com", "", 50, kRule, A::kAccept, L::kSubscriber, K::kAllowList,
                       "sub-allow.example"},
        PrecedenceCase{"subscriber_deny_beats_tenant_allow", kE, "a@sub-deny.example",
                       "user@example.com", "", 0, kRule, A::kQuarantine, L::kSubscriber,
                       K::kDenyList, "sub-deny.example"},
        PrecedenceCase{"subscriber_deny_beats_operator_allow", kE, "a@op-allow.example",
                       "user@example.com", "", 0, kRule, A::kQuarantine, L::kSubscriber,
                       K::kDenyList, "op-allow.example"},
        PrecedenceCase{"subscriber_keyword_beats_tenant_allow", kE, "a@tenant-allow.example",
                       "user@example.com", "CHEAP PILLS here", 0, kRule, A::kQuarantine,
                       L::kSubscriber, K::kKeyword, "cheap pills"},
        PrecedenceCase{"tenant_allow_beats_score", kE, "a@tenant-allow.example", "user@example.com",
                       "", 50, kRule, A::kAccept, L::kTenant, K::kAllowList,
                       "tenant-allow.example"},
        PrecedenceCase{"tenant_deny_beats_operator_allow", kE, "a@both-op.example",
                       "other@example.com", "", 0, kRule, A::kReject, L::kTenant, K::kDenyList,
                       "both-op.example"},
        PrecedenceCase{"tenant_content_rule", kE, "a@plain.example", "other@example.com",
                       "this is tenant banned text", 0, kRule, A::kDiscard, L::kTenant, K::kKeyword,
                       "tenant banned"},
        PrecedenceCase{"operator_allow_beats_score", kE, "a@op-allow.example", "other@example.com",
                       "", 50, kRule, A::kAccept, L::kOperator, K::kAllowList, "op-allow.example"},
        PrecedenceCase{"tenant_threshold_overrides_operator", kE, "a@plain.example",
                       "other@example.com", "", 9, kRule, A::kQuarantine, L::kTenant, K::kThreshold,
                       "quarantine"},
        PrecedenceCase{"tenant_covers_subdomains", kE, "a@plain.example", "a@mail.example.com", "",
                       9, kRule, A::kQuarantine, L::kTenant, K::kThreshold, "quarantine"},
        PrecedenceCase{"inherited_operator_threshold", kE, "a@plain.example", "other@example.com",
                       "", 20, kRule, A::kReject, L::kOperator, K::kThreshold, "reject"},
        PrecedenceCase{"no_tenant_operator_table", kE, "a@plain.example", "x@elsewhere.org", "", 9,
                       kRule, A::kTag, L::kOperator, K::kThreshold, "tag"},
        PrecedenceCase{"policy_score_rule_adds_to_evidence", kE, "a@plain.example",
                       "x@elsewhere.org", "please act now", 3, kRule, A::kTag, L::kOperator,
                       K::kThreshold, "tag"},
        PrecedenceCase{"default_action", kE, "a@plain.example", "x@elsewhere.org", "", 1, kRule,
                       A::kAccept, L::kOperator, K::kDefault, "accept"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Sms, PrecedenceTest,
    ::testing::Values(
        PrecedenceCase{"spamtrap", kS, "+15556660000", "+15550000000", "", 0, kRule, A::kBlock,
                       L::kOperator, K::kSpamtrap, "+15550000000"},
        PrecedenceCase{"operator_deny_beats_subscriber_allow", kS, "+19005550100", "+15551230000",
                       "", 0, kRule, A::kBlock, L::kOperator, K::kDenyList, "+1900*"},
        PrecedenceCase{"operator_content_beats_subscriber_allow", kS, "+15556660000",
                       "+15551230000", "forbidden phrase", 0, kRule, A::kBlock, L::kOperator,
                       K::kKeyword, "forbidden phrase"},
        PrecedenceCase{"subscriber_allow_beats_tenant_deny", kS, "3333", "+15551230000", "", 0,
                       kRule, A::kDeliver, L::kSubscriber, K::kAllowList, "3333"},
        PrecedenceCase{"subscriber_deny_beats_operator_allow", kS, "2222", "+15551230000", "", 0,
                       kRule, A::kHold, L::kSubscriber, K::kDenyList, "2222"},
        PrecedenceCase{"subscriber_deny_sender_id_prefix", kS, "PromoKing", "+15551230000", "", 0,
                       kRule, A::kHold, L::kSubscriber, K::kDenyList, "promo*"},
        PrecedenceCase{"subscriber_keyword", kS, "+15557777777", "+15551230000", "LOAN approved!",
                       0, kRule, A::kHold, L::kSubscriber, K::kKeyword, "loan approved"},
        PrecedenceCase{"subscriber_regex", kS, "+15557777777", "+15551230000", "you w1n a PR1ZE", 0,
                       kRule, A::kHold, L::kSubscriber, K::kRegex, "(?i)w[i1]n.{0,10}pr[i1]ze"},
        PrecedenceCase{"tenant_allow_beats_score", kS, "7726", "+15551230000", "", 50, kRule,
                       A::kDeliver, L::kTenant, K::kAllowList, "7726"},
        PrecedenceCase{"tenant_deny_inherits_operator_action", kS, "SpamCo", "+15551230000", "", 0,
                       kRule, A::kBlock, L::kTenant, K::kDenyList, "spamco"},
        PrecedenceCase{"operator_allow_no_tenant", kS, "2222", "+15559990000", "", 50, kSignal,
                       A::kDeliver, L::kOperator, K::kAllowList, "2222"},
        PrecedenceCase{"tenant_threshold", kS, "+15557777777", "+15551230000", "", 6, kRule,
                       A::kHold, L::kTenant, K::kThreshold, "hold"},
        PrecedenceCase{"operator_threshold_signal", kS, "+15557777777", "+15559990000", "", 13,
                       kSignal, A::kBlock, L::kOperator, K::kThreshold, "block"},
        PrecedenceCase{"default_deliver", kS, "+15557777777", "+15559990000", "", 0, kRule,
                       A::kDeliver, L::kOperator, K::kDefault, "deliver"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyTest, RegexRulesMatchThroughThePrefilter) {
  PolicySpec spec;
  spec.operator_layer.regexes = {
      {.id = "shortener", .pattern = "(?i)\\b(bit\\.ly|tinyurl\\.com)/", .score = 2},
      {.id = "digits", .pattern = "\\d{6}", .score = 1},
      {.id = "subject_money",
       .pattern = "(?i)€\\s*\\d+",
       .field = TextField::kSubject,
       .score = 4}};
  auto p = BuildOrDie(spec);
  auto hit = MakeEmail({.rcpt = {"a@x.example"}, .subject = "Win €500", .body = "go to BIT.LY/x"});
  Decision d = p->Decide(*hit, Scores(), Noon());
  ASSERT_EQ(d.recipients[0].hits.size(), 3u);
  EXPECT_EQ(d.recipients[0].hits[0].rule, "shortener");
  EXPECT_EQ(d.recipients[0].hits[1].rule, "subject_money");
  EXPECT_DOUBLE_EQ(d.recipients[0].score, 6.0);
  auto miss = MakeEmail({.rcpt = {"a@x.example"}, .body = "see bitXly/ and 12345"});
  EXPECT_DOUBLE_EQ(p->Decide(*miss, Scores(), Noon()).recipients[0].score, 0.0);
  auto digits = MakeEmail({.rcpt = {"a@x.example"}, .body = "code 123456"});
  EXPECT_DOUBLE_EQ(p->Decide(*digits, Scores(), Noon()).recipients[0].score, 1.0);
}

TEST(PolicyTest, SpamtrapReportsAndRecordsEveryHit) {
  auto m = MakeEmail({.mail_from = "a@op-deny.example", .rcpt = {"trap@example.com"}});
  Decision d = Base().Decide(*m, Scores(), Noon());
  const RecipientDecision& r = d.recipients[0];
  EXPECT_EQ(r.action, Action::kDiscard);
  EXPECT_TRUE(r.report);
  EXPECT_EQ(r.decided_by.rule, "spamtraps.addresses");
  ASSERT_EQ(r.hits.size(), 1u);  // decided at step 1: nothing later runs
}

TEST(PolicyTest, ScoreRulesShowUpAsHitsWithScores) {
  auto m = MakeEmail({.rcpt = {"x@elsewhere.org"}, .body = "ACT NOW"});
  Decision d = Base().Decide(*m, MakeScores({{"R1", 1}, {"R2", 2}}), Noon());
  const RecipientDecision& r = d.recipients[0];
  EXPECT_DOUBLE_EQ(r.score, 6.0);  // 1 + 2 + op_act_now 3
  ASSERT_EQ(r.hits.size(), 2u);
  EXPECT_EQ(r.hits[0].rule, "op_act_now");
  EXPECT_EQ(r.hits[0].entry, "act now");
  EXPECT_DOUBLE_EQ(r.hits[0].score, 3.0);
  EXPECT_EQ(r.hits[1].kind, RuleKind::kThreshold);
  EXPECT_DOUBLE_EQ(r.hits[1].score, 5.0);  // the threshold's min
  EXPECT_EQ(d.evidence.size(), 2u);
  EXPECT_DOUBLE_EQ(d.evidence_score, 3.0);
}

// ---------------------------------------------------------------------------------------------
// Consent (X.1247).

TEST(ConsentTest, WithoutConsentOnlyMetadataRulesRun) {
  // +15551230001 has consent=no although its tenant (acme_mobile) consents by default.
  const Policy& p = Base();
  auto content = MakeSms({.sender = "+15557777777",
                          .recipient = "+15551230001",
                          .text = "loan approved, forbidden phrase, act now"});
  Decision d = p.Decide(*content, MakeScores({{"BAYES_99", 50}}), Noon());
  const RecipientDecision& r = d.recipients[0];
  EXPECT_FALSE(r.content_inspected);
  EXPECT_EQ(r.action, Action::kDeliver);  // no keyword, no operator content rule, no content score
  EXPECT_EQ(r.decided_by.kind, RuleKind::kDefault);
  EXPECT_DOUBLE_EQ(r.score, 0.0);
  EXPECT_TRUE(r.hits.size() == 1 && r.hits[0].kind == RuleKind::kDefault);

  // Behavioural signals still count...
  Decision sig = p.Decide(*content, MakeScores({{"SMS_FANOUT", 6}}, MatchKind::kSignal), Noon());
  EXPECT_EQ(sig.recipients[0].action, Action::kHold);  // tenant row hold >= 5
  EXPECT_DOUBLE_EQ(sig.recipients[0].score, 6.0);
  // ... and so do the subscriber's own metadata lists.
  auto promo = MakeSms({.sender = "PROMO1", .recipient = "+15551230001"});
  EXPECT_EQ(p.Decide(*promo, Scores(), Noon()).recipients[0].decided_by.kind, RuleKind::kDenyList);
}

TEST(ConsentTest, ConsentingSubscriberGetsContentRules) {
  auto m =
      MakeSms({.sender = "+15557777777", .recipient = "+15551230000", .text = "nothing special"});
  Decision d = Base().Decide(*m, MakeScores({{"BAYES_99", 6}}), Noon());
  EXPECT_TRUE(d.recipients[0].content_inspected);
  EXPECT_EQ(d.recipients[0].action, Action::kHold);
  EXPECT_DOUBLE_EQ(d.recipients[0].score, 6.0);
}

TEST(ConsentTest, DefaultsByChannelTenantAndOperator) {
  const Policy& p = Base();
  // SMS needs consent by default and nobody gave it for an unknown recipient without tenant.
  auto sms = MakeSms({.sender = "+15557777777", .recipient = "+15559990000", .text = "x"});
  EXPECT_FALSE(p.Decide(*sms, Scores(), Noon()).recipients[0].content_inspected);
  // The tenant consents for its number range.
  auto tenant = MakeSms({.sender = "+15557777777", .recipient = "+15551239999", .text = "x"});
  EXPECT_TRUE(p.Decide(*tenant, Scores(), Noon()).recipients[0].content_inspected);
  // Email does not need consent by default ...
  auto email = MakeEmail({.rcpt = {"x@elsewhere.org"}});
  EXPECT_TRUE(p.Decide(*email, Scores(), Noon()).recipients[0].content_inspected);
  // ... but a subscriber who says no is respected.
  auto no = MakeEmail(
      {.mail_from = "a@plain.example", .rcpt = {"nocontent@example.com"}, .body = "cheap pills"});
  Decision d = p.Decide(*no, MakeScores({{"R", 9}}), Noon());
  EXPECT_FALSE(d.recipients[0].content_inspected);
  EXPECT_EQ(d.recipients[0].action, Action::kAccept);

  PolicySpec spec = BaseSpec();
  spec.operator_layer.consent.default_consent = true;
  auto p2 = BuildOrDie(spec, BaseStore());
  EXPECT_TRUE(p2->Decide(*sms, Scores(), Noon()).recipients[0].content_inspected);
  spec.operator_layer.consent.email_required = true;
  spec.operator_layer.consent.default_consent = false;
  auto p3 = BuildOrDie(spec, BaseStore());
  EXPECT_FALSE(p3->Decide(*email, Scores(), Noon()).recipients[0].content_inspected);
}

// ---------------------------------------------------------------------------------------------
// Quiet hours through the policy.

TEST(QuietHoursTest, BerlinSpringForwardMorning) {
  const Policy& p = Base();
  auto m = MakeSms({.sender = "+15557777777", .recipient = "+15551230002", .text = "hi"});
  // 2024-03-31: 04:30 UTC is 06:30 CEST (inside), 05:30 UTC is 07:30 CEST (outside).
  Decision in = p.Decide(*m, Scores(), Utc(2024, 3, 31, 4, 30));
  EXPECT_EQ(in.recipients[0].action, Action::kHold);
  EXPECT_EQ(in.recipients[0].decided_by.kind, RuleKind::kQuietHours);
  EXPECT_EQ(in.recipients[0].note, "quiet hours 22:00-07:00 in Europe/Berlin (local time 06:30)");
  Decision out = p.Decide(*m, Scores(), Utc(2024, 3, 31, 5, 30));
  EXPECT_EQ(out.recipients[0].action, Action::kDeliver);
}

TEST(QuietHoursTest, AllowListBypassIsConfigurable) {
  const Policy& p = Base();
  const absl::Time night = Utc(2024, 1, 10, 23, 0);  // 00:00 CET
  auto bypass = MakeSms({.sender = "+15556660000", .recipient = "+15551230002"});
  Decision d1 = p.Decide(*bypass, Scores(), night);
  EXPECT_EQ(d1.recipients[0].action, Action::kDeliver);
  EXPECT_EQ(d1.recipients[0].decided_by.kind, RuleKind::kAllowList);

  auto strict = MakeSms({.sender = "+15556660000", .recipient = "+15551230003"});
  Decision d2 = p.Decide(*strict, Scores(), night);
  const RecipientDecision& r = d2.recipients[0];
  EXPECT_EQ(r.action, Action::kBlock);  // quiet_action=block+report
  EXPECT_TRUE(r.report);
  EXPECT_EQ(r.decided_by.kind, RuleKind::kQuietHours);
  ASSERT_EQ(r.hits.size(), 2u);
  EXPECT_EQ(r.hits[0].kind, RuleKind::kAllowList);  // the allow hit is still explained
}

TEST(QuietHoursTest, ZoneFallsBackToTenantThenOperator) {
  const Policy& p = Base();
  // 03:30 UTC = 23:30 EDT (tenant zone, inside) but 03:30 UTC (operator zone, inside too);
  // 12:00 UTC = 08:00 EDT (outside) and 12:00 UTC (outside).
  // 23:30 UTC = 19:30 EDT (outside in New York) but inside in UTC.
  auto tenant_sub = MakeSms({.sender = "+15557777777", .recipient = "+15551230005"});
  auto utc_sub = MakeSms({.sender = "+15557777777", .recipient = "+15559990001"});
  const absl::Time t = Utc(2024, 6, 12, 23, 30);
  EXPECT_EQ(p.Decide(*tenant_sub, Scores(), t).recipients[0].action, Action::kDeliver);
  EXPECT_EQ(p.Decide(*utc_sub, Scores(), t).recipients[0].action, Action::kHold);
}

TEST(QuietHoursTest, SwitchedOffSubscriberHasNoRules) {
  auto m = MakeSms({.sender = "PROMO", .recipient = "+15551230004"});
  Decision d = Base().Decide(*m, Scores(), Noon());
  EXPECT_EQ(d.recipients[0].action, Action::kDeliver);
  EXPECT_TRUE(d.recipients[0].subscriber);
  EXPECT_FALSE(d.recipients[0].subscriber_enabled);
  EXPECT_EQ(d.recipients[0].note, "subscriber rules switched off");
}

// ---------------------------------------------------------------------------------------------
// Every action, with its parameters.

std::shared_ptr<const Policy> OneRow(Channel ch, Action a, bool report = false) {
  PolicySpec spec;
  ChannelSpec& c = ch == Channel::kEmail ? spec.operator_layer.email : spec.operator_layer.sms;
  c.thresholds = {{.action = a, .min = 1, .report = report}};
  spec.operator_layer.email_actions.redirect_to = "spambox@example.net";
  return BuildOrDie(spec);
}

TEST(ActionsTest, EmailActionsCarryTheirParameters) {
  auto m = MakeEmail({.rcpt = {"u@example.org"}});
  const Scores s = MakeScores({{"R1", 1.5}, {"R2", 0.5}});
  struct Case {
    Action action;
    size_t headers;
    std::string_view prefix;
    std::string_view redirect;
    std::string_view code;
  };
  const Case cases[] = {
      {Action::kAccept, 0, "", "", ""},
      {Action::kTag, 3, "", "", ""},
      {Action::kRewriteSubject, 3, "[SPAM] ", "", ""},
      {Action::kQuarantine, 3, "", "", ""},
      {Action::kRedirect, 3, "", "spambox@example.net", ""},
      {Action::kReject, 0, "", "", "550"},
      {Action::kTempfail, 0, "", "", "451"},
      {Action::kDiscard, 0, "", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ActionName(c.action));
    auto p = OneRow(Channel::kEmail, c.action);  // a Decision borrows from its Policy
    Decision d = p->Decide(*m, s, Noon());
    const RecipientDecision& r = d.recipients[0];
    EXPECT_EQ(r.action, c.action);
    EXPECT_EQ(r.add_headers.size(), c.headers);
    EXPECT_EQ(r.prefix, c.prefix);
    EXPECT_EQ(r.redirect_to, c.redirect);
    EXPECT_EQ(r.reply.code, c.code);
  }
  auto tag_policy = OneRow(Channel::kEmail, Action::kTag);
  Decision tag = tag_policy->Decide(*m, s, Noon());
  const auto& h = tag.recipients[0].add_headers;
  EXPECT_EQ(h[0].name, "X-Spam-Flag");
  EXPECT_EQ(h[0].value, "YES");
  EXPECT_EQ(h[1].name, "X-Spam-Score");
  EXPECT_EQ(h[1].value, "2.00");
  EXPECT_EQ(h[2].name, "X-Spam-Report");
  EXPECT_EQ(h[2].value, "score=2.00 action=tag by=operator/threshold:tag tests=R1(1.50),R2(0.50)");
  auto rej_policy = OneRow(Channel::kEmail, Action::kReject);
  Decision rej = rej_policy->Decide(*m, s, Noon());
  EXPECT_EQ(rej.recipients[0].reply.enhanced_code, "5.7.1");
  EXPECT_EQ(rej.recipients[0].reply.text, "Message rejected as spam");
  auto tf_policy = OneRow(Channel::kEmail, Action::kTempfail);
  Decision tf = tf_policy->Decide(*m, s, Noon());
  EXPECT_EQ(tf.recipients[0].reply.enhanced_code, "4.7.1");
}

TEST(ActionsTest, SmsActionsAndReportFlag) {
  auto m = MakeSms({.sender = "+15557777777", .recipient = "+15559990000"});
  const Scores s = MakeScores({{"FANOUT", 2}}, MatchKind::kSignal);
  for (Action a :
       {Action::kDeliver, Action::kTag, Action::kHold, Action::kBlock, Action::kThrottleSender}) {
    SCOPED_TRACE(ActionName(a));
    auto p = OneRow(Channel::kSms, a, /*report=*/true);
    Decision d = p->Decide(*m, s, Noon());
    const RecipientDecision& r = d.recipients[0];
    EXPECT_EQ(r.action, a);
    EXPECT_TRUE(r.report);
    EXPECT_TRUE(r.add_headers.empty());
    EXPECT_EQ(r.prefix, a == Action::kTag ? "[SPAM] " : "");
  }
}

TEST(ActionsTest, TenantOverridesEmailActionsFieldByField) {
  PolicySpec spec;
  spec.operator_layer.email.thresholds = {{Action::kReject, 10}, {Action::kTag, 1}};
  spec.operator_layer.email_actions.score_header = "";  // no score header anywhere
  spec.operator_layer.email_actions.reject_reply =
      SmtpReplySpec{"554", "5.7.1", "Operator says no"};
  TenantSpec& t = spec.tenants.emplace_back();
  t.name = "t";
  t.domains = {"t.example"};
  t.email_actions.flag_header = "X-T-Spam";
  t.email_actions.reject_reply = SmtpReplySpec{"550", "", "Tenant says no"};
  auto p = BuildOrDie(spec);

  auto tagged = MakeEmail({.rcpt = {"a@t.example", "b@other.example"}});
  Decision d = p->Decide(*tagged, MakeScores({{"R", 2}}), Noon());
  ASSERT_EQ(d.recipients[0].add_headers.size(), 2u);
  EXPECT_EQ(d.recipients[0].add_headers[0].name, "X-T-Spam");
  EXPECT_EQ(d.recipients[0].add_headers[1].name, "X-Spam-Report");
  EXPECT_EQ(d.recipients[1].add_headers[0].name, "X-Spam-Flag");

  Decision r = p->Decide(*tagged, MakeScores({{"R", 20}}), Noon());
  EXPECT_EQ(r.recipients[0].reply.code, "550");
  EXPECT_EQ(r.recipients[0].reply.enhanced_code, "");
  EXPECT_EQ(r.recipients[0].reply.text, "Tenant says no");
  EXPECT_EQ(r.recipients[1].reply.code, "554");
  EXPECT_EQ(r.recipients[1].reply.text, "Operator says no");
}

TEST(ThresholdTest, TenantInheritsOverridesAndRemovesRows) {
  PolicySpec spec;
  spec.operator_layer.email.thresholds = {
      {Action::kReject, 15}, {Action::kQuarantine, 10}, {Action::kTag, 5}};
  TenantSpec& t = spec.tenants.emplace_back();
  t.name = "strict";
  t.domains = {"strict.example"};
  t.email.thresholds = {{.action = Action::kReject, .min = 12},
                        {.action = Action::kTag, .min = std::nullopt},  // removed
                        {.action = Action::kRewriteSubject, .min = 3}};
  t.email.default_action = ActionSpec{Action::kAccept};
  auto p = BuildOrDie(spec);
  auto m = MakeEmail({.rcpt = {"a@strict.example", "b@other.example"}});
  Decision d = p->Decide(*m, MakeScores({{"R", 6}}), Noon());
  const RecipientDecision& strict = d.recipients[0];
  ASSERT_EQ(strict.thresholds.size(), 3u);
  EXPECT_EQ(strict.thresholds[0].action, Action::kReject);
  EXPECT_EQ(strict.thresholds[0].min, 12);
  EXPECT_EQ(strict.thresholds[0].layer, veto::Layer::kTenant);
  EXPECT_EQ(strict.thresholds[1].action, Action::kQuarantine);
  EXPECT_EQ(strict.thresholds[1].layer, veto::Layer::kOperator);
  EXPECT_EQ(strict.thresholds[2].action, Action::kRewriteSubject);
  EXPECT_EQ(strict.action, Action::kRewriteSubject);
  EXPECT_EQ(strict.decided_by.layer, veto::Layer::kTenant);
  const RecipientDecision& other = d.recipients[1];
  ASSERT_EQ(other.thresholds.size(), 3u);
  EXPECT_EQ(other.action, Action::kTag);
  EXPECT_EQ(d.action, Action::kRewriteSubject);  // the strictest
}

// ---------------------------------------------------------------------------------------------
// Several recipients: scanned once, resolved each.

TEST(PerRecipientTest, EachRecipientHasItsOwnLayers) {
  auto m = MakeEmail(
      {.mail_from = "a@sub-allow.example",
       .rcpt = {"<User@Example.com>", "other@example.com", "x@elsewhere.org", "trap@example.com"}});
  Decision d = Base().Decide(*m, MakeScores({{"R", 9}}), Noon());
  ASSERT_EQ(d.recipients.size(), 4u);
  const RecipientDecision& user = d.recipients[0];
  EXPECT_EQ(user.recipient, "user@example.com");
  EXPECT_EQ(user.tenant, "example_com");
  EXPECT_TRUE(user.subscriber);
  EXPECT_EQ(user.action, Action::kAccept);
  EXPECT_EQ(user.decided_by.kind, RuleKind::kAllowList);

  const RecipientDecision& other = d.recipients[1];
  EXPECT_EQ(other.tenant, "example_com");
  EXPECT_FALSE(other.subscriber);
  EXPECT_EQ(other.action, Action::kQuarantine);

  const RecipientDecision& elsewhere = d.recipients[2];
  EXPECT_EQ(elsewhere.tenant, "");
  EXPECT_EQ(elsewhere.action, Action::kTag);

  EXPECT_EQ(d.recipients[3].action, Action::kDiscard);
  EXPECT_EQ(d.action, Action::kDiscard);
  for (const RecipientDecision& r : d.recipients) EXPECT_DOUBLE_EQ(r.score, 9.0);
}

TEST(PerRecipientTest, NoRecipientsStillDecides) {
  auto m = MakeEmail({.rcpt = {}});
  Decision d = Base().Decide(*m, MakeScores({{"R", 20}}), Noon());
  ASSERT_EQ(d.recipients.size(), 1u);
  EXPECT_EQ(d.recipients[0].recipient, "");
  EXPECT_EQ(d.recipients[0].action, Action::kReject);
}

TEST(PerRecipientTest, NationalSmsRecipientNormalised) {
  PolicySpec spec = BaseSpec();
  spec.operator_layer.default_country_code = "1";
  auto p = BuildOrDie(spec, BaseStore());
  auto m = MakeSms({.sender = "PROMO1", .recipient = "(555) 123-0000"});
  Decision d = p->Decide(*m, Scores(), Noon());
  EXPECT_EQ(d.recipients[0].recipient, "+15551230000");
  EXPECT_EQ(d.recipients[0].tenant, "acme_mobile");
  EXPECT_EQ(d.recipients[0].decided_by.kind, RuleKind::kDenyList);
}

// A store that fails for one key, as a remote store might.
class FlakyStore : public SubscriberStore {
 public:
  absl::StatusOr<bool> Find(std::string_view key, SubscriberHandle*) const override {
    if (key == "down@example.com") return absl::UnavailableError("redis: connection refused");
    return false;
  }
  std::vector<std::string> TenantNames() const override { return {}; }
  size_t size() const override { return 0; }
};

TEST(PerRecipientTest, StoreFailureIsFailModeForThatRecipientOnly) {
  auto p = BuildOrDie(BaseSpec(), std::make_shared<FlakyStore>());
  auto m = MakeEmail({.rcpt = {"down@example.com", "other@example.com"}});
  Decision d = p->Decide(*m, MakeScores({{"R", 1}}), Noon());
  EXPECT_EQ(d.recipients[0].action, Action::kTempfail);
  EXPECT_EQ(d.recipients[0].decided_by.kind, RuleKind::kFailMode);
  EXPECT_EQ(d.recipients[0].note, "subscriber store: UNAVAILABLE: redis: connection refused");
  EXPECT_EQ(d.recipients[0].reply.code, "451");
  EXPECT_EQ(d.recipients[1].action, Action::kAccept);
}

TEST(PerRecipientTest, HardRulesStillApplyWhenTheStoreIsDown) {
  auto p = BuildOrDie(BaseSpec(), std::make_shared<FlakyStore>());
  auto m = MakeEmail({.mail_from = "a@op-deny.example", .rcpt = {"down@example.com"}});
  Decision d = p->Decide(*m, Scores(), Noon());
  EXPECT_EQ(d.recipients[0].action, Action::kReject);
  EXPECT_EQ(d.recipients[0].decided_by.kind, RuleKind::kDenyList);
  EXPECT_EQ(d.recipients[0].note, "subscriber store: UNAVAILABLE: redis: connection refused");
}

TEST(PolicyTest, ConcurrentDecisionsAgree) {
  const Policy& p = Base();
  auto m =
      MakeSms({.sender = "+15557777777", .recipient = "+15551230000", .text = "you win a prize"});
  const Scores s = MakeScores({{"R", 1}});
  std::vector<std::thread> threads;
  std::atomic<int> holds{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (p.Decide(*m, s, Noon()).recipients[0].action == Action::kHold) ++holds;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(holds.load(), 2000);
}

TEST(PolicyTest, NoSubscriberStoreMeansNoSubscriberLayer) {
  auto p = BuildOrDie(BaseSpec());
  auto m = MakeEmail({.mail_from = "a@both.example", .rcpt = {"user@example.com"}});
  Decision d = p->Decide(*m, Scores(), Noon());
  EXPECT_FALSE(d.recipients[0].subscriber);
  EXPECT_EQ(d.recipients[0].action, Action::kReject);  // the tenant deny list now decides
}

}  // namespace
}  // namespace veto::policy
