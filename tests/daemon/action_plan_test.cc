// The action → milter reply mapping, as a table (daemon/action_plan.h documents it).
#include "daemon/action_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace veto::daemon {
namespace {

using K = MilterOp::Kind;

RecipientDecision Rcpt(Action a, double score = 0) {
  RecipientDecision r;
  r.action = a;
  r.score = score;
  r.decided_by.kind = RuleKind::kThreshold;
  r.decided_by.rule = "thresholds";
  r.decided_by.entry = ActionName(a);
  if (a == Action::kTag || a == Action::kRewriteSubject || a == Action::kQuarantine ||
      a == Action::kRedirect) {
    r.add_headers.push_back({"X-Spam-Flag", "YES"});
  }
  if (a == Action::kRewriteSubject) r.prefix = "[SPAM] ";
  if (a == Action::kRedirect) r.redirect_to = "spam@example.test";
  if (a == Action::kReject) r.reply = {"550", "5.7.1", "Rejected as spam"};
  if (a == Action::kTempfail) r.reply = {"451", "4.7.1", "Later"};
  return r;
}

struct Row {
  const char* name;
  std::vector<Action> actions;  // one per recipient
  Disposition disposition;
  Action action;
  std::string reply;            // "code xcode text" for reject/tempfail
  std::vector<MilterOp> ops;
};

PlanOptions Options() {
  PlanOptions o;
  o.status_header = "X-Veto";
  o.own_headers = {"X-Spam-Flag", "X-Spam-Score"};
  return o;
}

const std::vector<SeenHeader> kHeaders = {{"Subject", "hello"}, {"From", "a@example.org"}};
const std::vector<std::string> kRcpts = {"<a@example.test>", "<b@example.test>",
                                         "<c@example.test>"};

TEST(ActionPlanTest, Table) {
  const std::vector<Row> rows = {
      {"accept", {Action::kAccept}, Disposition::kContinue, Action::kAccept, "",
       {{K::kAddHeader, "X-Veto", 0, "accept, score=1.00"}}},
      {"tag", {Action::kTag}, Disposition::kContinue, Action::kTag, "",
       {{K::kAddHeader, "X-Veto", 0, "tag, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"}}},
      {"rewrite_subject", {Action::kRewriteSubject}, Disposition::kContinue,
       Action::kRewriteSubject, "",
       {{K::kChangeHeader, "Subject", 1, "[SPAM] hello"},
        {K::kAddHeader, "X-Veto", 0, "rewrite_subject, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"}}},
      {"quarantine", {Action::kQuarantine}, Disposition::kContinue, Action::kQuarantine, "",
       {{K::kAddHeader, "X-Veto", 0, "quarantine, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"},
        {K::kQuarantine, "", 0, "veto: score 1.00 (thresholds quarantine)"}}},
      {"redirect", {Action::kRedirect}, Disposition::kContinue, Action::kRedirect, "",
       {{K::kDeleteRcpt, "", 0, "<a@example.test>"},
        {K::kAddRcpt, "", 0, "<spam@example.test>"},
        {K::kAddHeader, "X-Veto", 0, "redirect, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"}}},
      {"reject", {Action::kReject}, Disposition::kReject, Action::kReject,
       "550 5.7.1 Rejected as spam", {}},
      {"tempfail", {Action::kTempfail}, Disposition::kTempfail, Action::kTempfail,
       "451 4.7.1 Later", {}},
      {"discard", {Action::kDiscard}, Disposition::kDiscard, Action::kDiscard, "", {}},
      // Recipients that disagree.
      {"accept+reject: the rejected recipient is removed",
       {Action::kAccept, Action::kReject}, Disposition::kContinue, Action::kAccept, "",
       {{K::kDeleteRcpt, "", 0, "<b@example.test>"},
        {K::kAddHeader, "X-Veto", 0, "accept, score=1.00"}}},
      {"tag+discard+accept: discard removed, strictest kept action applied",
       {Action::kTag, Action::kDiscard, Action::kAccept}, Disposition::kContinue, Action::kTag,
       "",
       {{K::kDeleteRcpt, "", 0, "<b@example.test>"},
        {K::kAddHeader, "X-Veto", 0, "tag, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"}}},
      {"accept+tempfail: the whole message is tempfailed, nobody loses mail",
       {Action::kAccept, Action::kTempfail}, Disposition::kTempfail, Action::kTempfail,
       "451 4.7.1 Later", {}},
      {"reject+tempfail: tempfail wins (retry, never a 5xx for a temporary problem)",
       {Action::kReject, Action::kTempfail}, Disposition::kTempfail, Action::kTempfail,
       "451 4.7.1 Later", {}},
      {"discard+reject: every recipient refused, rejected",
       {Action::kDiscard, Action::kReject}, Disposition::kReject, Action::kReject,
       "550 5.7.1 Rejected as spam", {}},
      {"discard+discard", {Action::kDiscard, Action::kDiscard}, Disposition::kDiscard,
       Action::kDiscard, "", {}},
      {"redirect+accept: only the redirected recipient is replaced",
       {Action::kRedirect, Action::kAccept, Action::kRedirect}, Disposition::kContinue,
       Action::kRedirect, "",
       {{K::kDeleteRcpt, "", 0, "<a@example.test>"},
        {K::kDeleteRcpt, "", 0, "<c@example.test>"},
        {K::kAddRcpt, "", 0, "<spam@example.test>"},
        {K::kAddHeader, "X-Veto", 0, "redirect, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"}}},
      {"quarantine+reject: rejected recipient removed, message held",
       {Action::kQuarantine, Action::kReject}, Disposition::kContinue, Action::kQuarantine, "",
       {{K::kDeleteRcpt, "", 0, "<b@example.test>"},
        {K::kAddHeader, "X-Veto", 0, "quarantine, score=1.00"},
        {K::kAddHeader, "X-Spam-Flag", 0, "YES"},
        {K::kQuarantine, "", 0, "veto: score 1.00 (thresholds quarantine)"}}},
  };
  const PlanOptions o = Options();
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Decision d;
    for (Action a : row.actions) d.recipients.push_back(Rcpt(a, 1.0));
    PlanInput in{&d, std::span(kRcpts.data(), row.actions.size()), kHeaders, &o};
    const MilterPlan p = PlanActions(in);
    EXPECT_EQ(p.disposition, row.disposition);
    EXPECT_EQ(ActionName(p.action), ActionName(row.action));
    if (!row.reply.empty()) {
      EXPECT_EQ(p.code + " " + p.enhanced_code + " " + p.text, row.reply);
    }
    ASSERT_EQ(p.ops.size(), row.ops.size());
    for (size_t i = 0; i < p.ops.size(); ++i) {
      EXPECT_EQ(p.ops[i], row.ops[i])
          << i << ": got " << MilterOpKindName(p.ops[i].kind) << " " << p.ops[i].name << " "
          << p.ops[i].index << " " << p.ops[i].value;
    }
  }
}

TEST(ActionPlanTest, TempfailIsAlways4xx) {
  const PlanOptions o = Options();
  for (const SmtpReply& r : std::vector<SmtpReply>{{"550", "5.7.1", "x"},
                                                   {"", "", ""},
                                                   {"45", "4.7.1", "x"},
                                                   {"4x1", "4.7.1", "x"},
                                                   {"451", "5.7.1", "x"}}) {
    Decision d;
    d.recipients.push_back(Rcpt(Action::kTempfail));
    d.recipients[0].reply = r;
    const MilterPlan p = PlanActions({&d, kRcpts, kHeaders, &o});
    EXPECT_EQ(p.disposition, Disposition::kTempfail);
    EXPECT_EQ(p.code[0], '4') << r.code;
    EXPECT_EQ(p.enhanced_code[0], '4') << r.code;
    EXPECT_FALSE(p.text.empty());
  }
  const MilterPlan u = PlanUnscanned(true, {"550", "5.7.1", "no"}, "", "", kHeaders, o);
  EXPECT_EQ(u.code, "451");
}

TEST(ActionPlanTest, RejectKeepsAConfiguredReplyAndForces5xx) {
  const PlanOptions o = Options();
  Decision d;
  d.recipients.push_back(Rcpt(Action::kReject));
  d.recipients[0].reply = {"554", "5.7.0", "Go away\r\nInjected: header"};
  MilterPlan p = PlanActions({&d, kRcpts, kHeaders, &o});
  EXPECT_EQ(p.code, "554");
  EXPECT_EQ(p.enhanced_code, "5.7.0");
  EXPECT_EQ(p.text, "Go away  Injected: header");  // one line, always
  d.recipients[0].reply = {"451", "4.7.1", "wrong class"};
  p = PlanActions({&d, kRcpts, kHeaders, &o});
  EXPECT_EQ(p.code, "550");
  EXPECT_EQ(p.enhanced_code, "5.7.1");
}

TEST(ActionPlanTest, ForgedCopiesOfOurHeadersAreDeletedHighestIndexFirst) {
  const PlanOptions o = Options();
  const std::vector<SeenHeader> headers = {{"x-spam-flag", "YES"},
                                           {"Subject", "s"},
                                           {"X-Spam-Flag", "YES"},
                                           {"X-Veto", "accept"},
                                           {"X-Spam-Score", "-100"}};
  Decision d;
  d.recipients.push_back(Rcpt(Action::kAccept));
  const MilterPlan p = PlanActions({&d, kRcpts, headers, &o});
  const std::vector<MilterOp> want = {
      {K::kDeleteHeader, "X-Veto", 1, ""},
      {K::kDeleteHeader, "X-Spam-Flag", 2, ""},
      {K::kDeleteHeader, "X-Spam-Flag", 1, ""},
      {K::kDeleteHeader, "X-Spam-Score", 1, ""},
      {K::kAddHeader, "X-Veto", 0, "accept, score=0.00"},
  };
  EXPECT_EQ(p.ops, want);
}

TEST(ActionPlanTest, SubjectRewrite) {
  const PlanOptions o = Options();
  Decision d;
  d.recipients.push_back(Rcpt(Action::kRewriteSubject));
  // Already prefixed: unchanged (a re-scan never stacks prefixes).
  std::vector<SeenHeader> h = {{"Subject", "[SPAM] old"}};
  MilterPlan p = PlanActions({&d, kRcpts, h, &o});
  for (const MilterOp& op : p.ops) EXPECT_NE(op.kind, K::kChangeHeader);
  // No Subject: one is added.
  h = {{"From", "x@y"}};
  p = PlanActions({&d, kRcpts, h, &o});
  EXPECT_EQ(p.ops[0], (MilterOp{K::kAddHeader, "Subject", 0, "[SPAM]"}));
}

TEST(ActionPlanTest, UnscannedSkipAddsTheHeader) {
  const PlanOptions o = Options();
  const std::vector<SeenHeader> h = {{"X-Veto-Skipped", "forged"}};
  const MilterPlan p =
      PlanUnscanned(false, kDefaultTempfailReply, "X-Veto-Skipped", "skipped, too big", h, o);
  EXPECT_EQ(p.disposition, Disposition::kContinue);
  const std::vector<MilterOp> want = {{K::kDeleteHeader, "X-Veto-Skipped", 1, ""},
                                      {K::kAddHeader, "X-Veto-Skipped", 0, "skipped, too big"}};
  EXPECT_EQ(p.ops, want);
}

TEST(ActionPlanTest, NoRecipientsInTheEnvelope) {
  const PlanOptions o = Options();
  Decision d;
  d.recipients.push_back(Rcpt(Action::kRedirect));
  const MilterPlan p = PlanActions({&d, {}, kHeaders, &o});
  // Nothing to delete; the spam mailbox is still added.
  EXPECT_EQ(p.ops[0], (MilterOp{K::kAddRcpt, "", 0, "<spam@example.test>"}));
  Decision empty;
  const MilterPlan q = PlanActions({&empty, {}, kHeaders, &o});
  EXPECT_EQ(q.disposition, Disposition::kContinue);
}

}  // namespace
}  // namespace veto::daemon
