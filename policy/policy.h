// veto/policy/policy.h — the layered X-series policy: evidence in, Decision out.
//
// The last stage of the pipeline. A Policy is compiled once from a PolicySpec (spec.h) and a
// SubscriberStore (subscriber_store.h), is immutable, and is shared by every thread; reload
// builds a new one and swaps the std::shared_ptr. Decide is called once per message with the
// evidence (Scores) and the current time, which the caller injects:
//
//   absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(spec, store);
//   if (!p.ok()) return p.status();          // every problem, one "key.path: problem" per line
//   Decision d = (*p)->Decide(message, scores, absl::Now());
//
// ## Layers and precedence
//
// Three layers (X.1241 domain structure, X.1242 user rules): the operator (global), the
// tenant (the recipient's email domain, or the SMS operator account / enterprise / MVNO),
// and the subscriber (the mailbox or MSISDN). Each recipient is resolved separately; the
// first step that matches decides:
//
//   step  layer       rule                                        content?  action
//   1     operator    spamtraps (the recipient is a trap)          no        spamtrap_action
//   2     operator    deny lists (hard: legal blocks, fraud)       no        deny_action
//   3     operator    keyword / regex rules with an action         yes       the rule's
//   4     subscriber  allow list                                   no        accept / deliver (*)
//   5     subscriber  deny list (block list)                       no        subscriber action
//   6     subscriber  quiet hours in force                         no        quiet action
//   7     subscriber  keywords / regexes                           yes       subscriber action
//   8     tenant      allow list                                   no        accept / deliver
//   9     tenant      deny list                                    no        deny_action
//   10    tenant      keyword / regex rules with an action         yes       the rule's
//   11    operator    allow list (soft: lower layers override it)  no        accept / deliver
//   12    —           score ≥ a threshold (tenant table over the   partly    the row's
//                     operator's); else the default action
//   (*) unless quiet hours are in force and the subscriber's allow list does not bypass them.
//
// Why this order: the operator's hard rules protect everyone and the law, so no lower layer
// can bypass them (X.1242 makes the whitelist beat everything *except* operator blocks).
// Then the subscriber's own choices, because X.1242 rules are the recipient's stated will:
// their allow list beats the tenant's lists and scoring, and their block list beats the
// tenant's allow list. The tenant (the domain or enterprise) comes next, and the operator's
// allow list last, as a default that tenants and subscribers may narrow. Scores are a
// fallback for when no list or rule has spoken.
//
// Step 12: the score is the evidence total (Scores::total) plus the `score` of matching
// keyword/regex score rules of the operator and the recipient's tenant. The threshold table
// is the operator's table for the channel with the tenant's rows overriding it by action;
// the highest row whose `min` the score reaches wins.
//
// ## Consent (X.1247)
//
// A recipient's consent is the subscriber's `consent`, else the tenant's, else (if the
// channel requires consent) operator.consent.default, else yes. Without consent, steps 3, 7
// and 10 are skipped and step 12 counts only behavioural signal evidence (MatchKind::kSignal:
// rate, fan-out, reports) — no content rule, classifier or content-based score applies.
//
// ## Subscribers
//
// A subscriber whose rules are switched off (`enabled = no`) skips steps 4–7. A subscriber
// record may name its tenant; otherwise the tenant is found from the recipient's domain
// (email; parents included, so mail.example.com falls under example.com) or number range.
// If the subscriber store fails (a remote store), steps 1–2 still apply (they need no
// subscriber); otherwise the recipient gets operator.fail_action (tempfail / deliver) with
// kind fail_mode and the error in `note`. Other recipients are unaffected.
//
// ## Cost
//
// Decide allocates the Decision and little else, takes no lock, and scans the message text
// once per layer (operator, each tenant met) whatever the number of recipients; sender-list
// lookups are shared by all recipients too. Recipients' subscriber records are prefetched
// before the sender work, to overlap the store's cache misses. policy/README.md has figures.
//
// Thread-safety: a Policy is immutable; Decide is safe to call from any number of threads
// concurrently and takes no lock (a subscriber's regexes are compiled once on first use).
#ifndef VETO_POLICY_POLICY_H_
#define VETO_POLICY_POLICY_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/decision.h"
#include "core/match.h"
#include "core/message.h"
#include "policy/content.h"
#include "policy/lists.h"
#include "policy/spec.h"
#include "policy/subscriber_store.h"

namespace veto::policy {

class Policy;

// Validates and compiles `spec`. `subscribers` may be null (no subscriber layer). Returns
// InvalidArgument listing every problem, one "key.path: problem" per line, in spec order.
absl::StatusOr<std::shared_ptr<const Policy>> BuildPolicy(
    const PolicySpec& spec, std::shared_ptr<const SubscriberStore> subscribers = nullptr);

// The problems BuildPolicy would report, structured (for config/ to map key paths to
// file:line). Empty if the spec is valid.
std::vector<SpecProblem> CheckPolicySpec(const PolicySpec& spec,
                                         const SubscriberStore* subscribers = nullptr);

class Policy {
 public:
  // Decides what happens to `m` for each of its recipients (email: Envelope::rcpt_to, one
  // entry if there are none; SMS: SmsFields::recipient), given its evidence and the current
  // time (for quiet hours). Never fails: a subscriber store error becomes the fail mode for
  // that recipient. See core/decision.h for what the Decision borrows.
  Decision Decide(const Message& m, const Scores& scores, absl::Time now) const;

  const SubscriberStore* subscribers() const { return store_.get(); }

  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;
  ~Policy();

 private:
  friend class PolicyCompiler;
  struct Impl;  // compiled layers, tenants and tables (policy.cc)
  Policy();

  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const SubscriberStore> store_;
};

}  // namespace veto::policy

#endif  // VETO_POLICY_POLICY_H_
