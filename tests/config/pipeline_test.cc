// The Pipeline built from a Config: rules → scores → policy decision, per recipient.
#include <string>

#include "config/config.h"
#include "core/strings.h"
#include "config/pipeline.h"
#include "gtest/gtest.h"
#include "policy/decision_json.h"

namespace veto::config {
namespace {

constexpr char kRules[] = VETO_SOURCE_DIR "/tests/data/config/test_rules.cf";

std::shared_ptr<const Pipeline> Build(const std::string& extra_toml) {
  // Classifiers off: these tests check rules → policy with exact scores.
  std::string toml = Cat("[rules]\ndefault_rules = false\ncache_dir = \"none\"\npaths = [\"",
                         kRules, "\"]\n[classifiers.email]\nenabled = false\n", extra_toml);
  absl::StatusOr<Config> c = ParseConfig(toml, "pipeline_test.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return nullptr;
  BuildReport report;
  auto p = Pipeline::Build(*c, &report);
  EXPECT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(report.rule_errors.empty());
  return p.ok() ? *p : nullptr;
}

std::string Mail(std::string_view subject, std::string_view body) {
  return Cat("From: sender@example.org\nTo: user@example.com\nSubject: ", subject,
             "\nMessage-ID: <1@example.org>\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n\n", body,
             "\n");
}

struct Case {
  const char* name;
  std::string subject, body;
  Action action;
  double score;
};

TEST(PipelineTest, ScoresBecomeActionsWithTheDefaultThresholds) {
  auto p = Build("");
  ASSERT_NE(p, nullptr);
  auto ctx = p->NewContext();
  const Case cases[] = {
      {"ham", "lunch", "see you at noon", Action::kAccept, 0},
      {"tag at 5", "special offer", "see you at noon", Action::kTag, 6},
      {"reject at 15", "hello", "get FREE MONEY now", Action::kReject, 20},
  };
  for (const Case& c : cases) {
    auto m = p->ParseEmail(Mail(c.subject, c.body));
    ASSERT_TRUE(m.ok());
    Verdict v = p->Evaluate(**m, ctx.get(), absl::Now());
    EXPECT_EQ(v.decision.action, c.action) << c.name << ": " << policy::DecisionToJson(v.decision);
    EXPECT_DOUBLE_EQ(v.scores.total, c.score) << c.name;
  }
}

TEST(PipelineTest, TagAddsTheConfiguredHeaders) {
  auto p = Build("[operator.email_actions]\nflag_header = \"X-Test-Spam\"\n");
  ASSERT_NE(p, nullptr);
  auto ctx = p->NewContext();
  auto m = p->ParseEmail(Mail("an offer", "x"));
  ASSERT_TRUE(m.ok());
  Verdict v = p->Evaluate(**m, ctx.get(), absl::Now());
  ASSERT_EQ(v.decision.recipients.size(), 1u);
  const RecipientDecision& r = v.decision.recipients[0];
  EXPECT_EQ(r.action, Action::kTag);
  bool found = false;
  for (const HeaderEdit& h : r.add_headers) found = found || (h.name == "X-Test-Spam" && h.value == "YES");
  EXPECT_TRUE(found) << policy::DecisionToJson(v.decision);
}

// One scan, a decision per recipient: the tenant's own threshold row applies only to its
// recipients, and an operator deny list beats everything.
TEST(PipelineTest, RecipientsOfDifferentTenantsGetTheirOwnActions) {
  auto p = Build(R"(
[tenants.example_com]
domains = ["example.com"]
[tenants.example_com.email]
thresholds = [{ action = "quarantine", min = 5.5 }]
)");
  ASSERT_NE(p, nullptr);
  auto ctx = p->NewContext();
  auto m = p->ParseEmail(Mail("special offer", "x"));
  ASSERT_TRUE(m.ok());
  (*m)->envelope.rcpt_to = {"a@example.com", "b@other.org"};
  Verdict v = p->Evaluate(**m, ctx.get(), absl::Now());
  ASSERT_EQ(v.decision.recipients.size(), 2u);
  EXPECT_EQ(v.decision.recipients[0].action, Action::kQuarantine);
  EXPECT_EQ(v.decision.recipients[0].tenant, "example_com");
  EXPECT_EQ(v.decision.recipients[1].action, Action::kTag);
  EXPECT_EQ(v.decision.action, Action::kQuarantine);  // the strictest
}

TEST(PipelineTest, OperatorDenyListAndExtraEvidence) {
  auto p = Build("[operator.deny]\ndomains = [\"spam.example\"]\n");
  ASSERT_NE(p, nullptr);
  auto ctx = p->NewContext();
  auto m = p->ParseEmail(Mail("lunch", "x"));
  ASSERT_TRUE(m.ok());
  (*m)->envelope.mail_from = "bad@mail.spam.example";
  Verdict v = p->Evaluate(**m, ctx.get(), absl::Now());
  EXPECT_EQ(v.decision.action, Action::kReject);
  EXPECT_EQ(v.decision.recipients[0].decided_by.kind, RuleKind::kDenyList);

  (*m)->envelope.mail_from = "ok@example.org";
  std::vector<Match> extra = {{.id = "SIGNAL_RATE", .score = 16, .kind = MatchKind::kSignal}};
  v = p->Evaluate(**m, ctx.get(), absl::Now(), extra);
  EXPECT_DOUBLE_EQ(v.scores.total, 16);
  EXPECT_EQ(v.decision.action, Action::kReject);
}

// With the bundled email model on, its evidence joins the rule hits under the model's id.
TEST(PipelineTest, ClassifierEvidenceIsAdded) {
  absl::StatusOr<Config> c = ParseConfig(
      Cat("[rules]\ndefault_rules = false\ncache_dir = \"none\"\npaths = [\"", kRules, "\"]\n"),
      "c.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  BuildReport report;
  auto p = Pipeline::Build(*c, &report);
  ASSERT_TRUE(p.ok()) << p.status();
  auto ctx = (*p)->NewContext();
  auto m = (*p)->ParseEmail(Mail("special offer", "get FREE MONEY now, click here to claim"));
  ASSERT_TRUE(m.ok());
  Verdict v = (*p)->Evaluate(**m, ctx.get(), absl::Now());
  const Match* model = nullptr;
  double rules = 0;
  for (const Match& x : v.scores.matches) {
    if (x.kind == MatchKind::kClassifier) model = &x;
    if (x.kind == MatchKind::kRule) rules += x.score;
  }
  ASSERT_NE(model, nullptr) << policy::DecisionToJson(v.decision);
  EXPECT_EQ(model->id, "BAYES_EMAIL");
  EXPECT_GE(model->probability, 0.0);
  EXPECT_LE(model->probability, 1.0);
  EXPECT_DOUBLE_EQ(v.scores.total, rules + model->score);
}

TEST(PipelineTest, MissingConfiguredModelFailsTheBuild) {
  absl::StatusOr<Config> c = ParseConfig("[rules]\ndefault_rules = false\n", "x.toml");
  ASSERT_TRUE(c.ok());
  c->sms_classifier.model = "/nonexistent/sms.model";
  auto p = Pipeline::Build(*c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("classifiers.sms.model: "), std::string::npos) << p.status();
}

TEST(PipelineTest, BadSubscriberFileFailsTheBuild) {
  absl::StatusOr<Config> c = ParseConfig("[rules]\ndefault_rules = false\n", "x.toml");
  ASSERT_TRUE(c.ok());
  c->subscriber_files = {"/nonexistent/subscribers.tsv"};
  auto p = Pipeline::Build(*c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("subscribers.files"), std::string::npos) << p.status();
}

}  // namespace
}  // namespace veto::config
