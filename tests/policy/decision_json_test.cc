#include "policy/decision_json.h"

#include <gtest/gtest.h>

#include "policy/policy.h"
#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::MakeEmail;
using testing::MakeScores;
using testing::MakeSms;
using testing::Noon;

TEST(DecisionJsonTest, SmsSubscriberBlockList) {
  PolicySpec spec;
  spec.operator_layer.sms.thresholds = {{Action::kBlock, 12},
                                        {.action = Action::kHold, .min = 7, .report = true}};
  MemorySubscriberStore::Builder b;
  ASSERT_TRUE(b.AddLine("+15551230000\tconsent=yes\tdeny=alpha:PROMO*"));
  auto policy = *BuildPolicy(spec, *std::move(b).Build());
  auto m = MakeSms({.sender = "PromoKing", .recipient = "+15551230000", .text = "50% off"});
  Scores s;
  s.Add({.id = "SMS_URL_SHORTENER", .score = 2.5, .count = 1, .kind = MatchKind::kRule});
  s.Add({.id = "NB_SMS",
         .score = 1.25,
         .count = 1,
         .kind = MatchKind::kClassifier,
         .probability = 0.875});
  s.Add({.id = "__SUB", .score = 0, .count = 1, .kind = MatchKind::kRule, .hidden = true});
  Decision d = policy->Decide(*m, s, Noon());
  EXPECT_EQ(
      DecisionToJson(d),
      R"j({"channel":"sms","action":"hold","score":3.75,"rules":["SMS_URL_SHORTENER","NB_SMS"],)j"
      R"j("evidence":[{"id":"SMS_URL_SHORTENER","score":2.5,"kind":"rule","count":1},)j"
      R"j({"id":"NB_SMS","score":1.25,"kind":"classifier","count":1,"probability":0.875}],)j"
      R"j("recipients":[{"recipient":"+15551230000","subscriber":true,"subscriber_enabled":true,)j"
      R"j("content_inspected":true,"action":"hold","report":false,)j"
      R"j("decided_by":{"layer":"subscriber","kind":"deny_list","rule":"deny.sender_ids",)j"
      R"j("entry":"promo*"},"score":3.75,)j"
      R"j("thresholds":[{"min":12,"action":"block","layer":"operator"},)j"
      R"j({"min":7,"action":"hold","report":true,"layer":"operator"}],)j"
      R"j("default_action":"deliver",)j"
      R"j("hits":[{"layer":"subscriber","kind":"deny_list","rule":"deny.sender_ids",)j"
      R"j("entry":"promo*"}]}]})j");
}

TEST(DecisionJsonTest, EmailRejectAndTagWithParameters) {
  PolicySpec spec;
  spec.operator_layer.email.thresholds = {{Action::kReject, 15}, {Action::kTag, 5}};
  TenantSpec& t = spec.tenants.emplace_back();
  t.name = "example_com";
  t.domains = {"example.com"};
  t.deny.domains = {"spam.example"};
  t.email_actions.report_header = "";
  auto policy = *BuildPolicy(spec);
  auto m =
      MakeEmail({.mail_from = "x@news.spam.example", .rcpt = {"a@example.com", "b@elsewhere.org"}});
  Decision d = policy->Decide(*m, MakeScores({{"URI_BAD", 6}}), Noon());
  EXPECT_EQ(
      DecisionToJson(d),
      R"j({"channel":"email","action":"reject","score":6,"rules":["URI_BAD"],)j"
      R"j("evidence":[{"id":"URI_BAD","score":6,"kind":"rule","count":1}],"recipients":[)j"
      R"j({"recipient":"a@example.com","tenant":"example_com","subscriber":false,)j"
      R"j("subscriber_enabled":false,"content_inspected":true,"action":"reject","report":false,)j"
      R"j("decided_by":{"layer":"tenant","kind":"deny_list","rule":"deny.domains",)j"
      R"j("entry":"spam.example"},"score":6,)j"
      R"j("thresholds":[{"min":15,"action":"reject","layer":"operator"},)j"
      R"j({"min":5,"action":"tag","layer":"operator"}],"default_action":"accept",)j"
      R"j("hits":[{"layer":"tenant","kind":"deny_list","rule":"deny.domains",)j"
      R"j("entry":"spam.example"}],)j"
      R"j("reply":{"code":"550","enhanced_code":"5.7.1","text":"Message rejected as spam"}},)j"
      R"j({"recipient":"b@elsewhere.org","subscriber":false,"subscriber_enabled":false,)j"
      R"j("content_inspected":true,"action":"tag","report":false,)j"
      R"j("decided_by":{"layer":"operator","kind":"threshold","rule":"thresholds",)j"
      R"j("entry":"tag","score":5},"score":6,)j"
      R"j("thresholds":[{"min":15,"action":"reject","layer":"operator"},)j"
      R"j({"min":5,"action":"tag","layer":"operator"}],"default_action":"accept",)j"
      R"j("hits":[{"layer":"operator","kind":"threshold","rule":"thresholds","entry":"tag",)j"
      R"j("score":5}],)j"
      R"j("headers":[{"name":"X-Spam-Flag","value":"YES"},{"name":"X-Spam-Score","value":"6.00"},)j"
      R"j({"name":"X-Spam-Report","value":"score=6.00 action=tag by=operator/threshold:tag )j"
      R"j(tests=URI_BAD(6.00)"}]}]})j");
}

TEST(DecisionJsonTest, PrettyPrintAndEmbedding) {
  Decision d;
  d.channel = Channel::kSms;
  d.action = Action::kDeliver;
  RecipientDecision& r = d.recipients.emplace_back();
  r.recipient = "+15551230000";
  r.action = Action::kDeliver;
  r.default_action = Action::kDeliver;
  r.decided_by = {veto::Layer::kNone, RuleKind::kDefault, "default_action", "deliver"};
  r.note = "line\nbreak";
  JsonWriter w;
  w.BeginObject();
  w.Key("id");
  w.String("msg-1");
  WriteDecisionFields(d, &w);
  w.EndObject();
  const std::string line = w.Take();
  EXPECT_TRUE(line.starts_with(R"j({"id":"msg-1","channel":"sms","action":"deliver")j")) << line;
  EXPECT_NE(line.find(R"j("note":"line\nbreak")j"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(DecisionToJson(d, 2).find("\n  \"channel\": \"sms\""), std::string::npos);
}

}  // namespace
}  // namespace veto::policy
