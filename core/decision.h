// veto/core/decision.h — what policy/ decided for one message, and why.
//
// The last stage of the pipeline (Message → Matches → Scores → Decision). policy/ fills a
// Decision; daemon/ turns it into milter calls and mobile/ into verdict records. The types
// here are plain data with no policy internals, so every folder can read them.
//
//   std::shared_ptr<const policy::Policy> p = ...;           // pinned for the whole scan
//   Decision d = p->Decide(message, scores, absl::Now());
//   for (const RecipientDecision& r : d.recipients) {
//     switch (r.action) {
//       case Action::kReject: Reply(r.reply.code, r.reply.enhanced_code, r.reply.text); ...
//       case Action::kTag: for (const HeaderEdit& h : r.add_headers) AddHeader(h.name, h.value);
//       ...
//     }
//   }
//   std::string line = policy::DecisionToJson(d);            // one JSON Lines object
//
// A message with several recipients is scanned once; the policy is resolved per recipient
// (each may belong to a different tenant and subscriber), so `recipients` holds one entry
// each. `Decision::action` is the strictest of them (ActionSeverity), for callers that can
// only apply one action to the whole message.
//
// Lifetime: string_views in a Decision point into the Policy snapshot that made it (rule ids,
// list entries, header names, replies) and into the rule/model ids of the Scores' matches
// (which, per core/match.h, outlive the scan). Keep the Policy snapshot pinned while the
// Decision is used, as every stage already does for the whole scan. Strings the policy had to
// compute (recipient, rendered header values, notes) are owned.
//
// Thread-safety: plain data; one thread builds it, any number may then read it.
#ifndef VETO_CORE_DECISION_H_
#define VETO_CORE_DECISION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/match.h"
#include "core/message.h"

namespace veto {

// What is done to a message (for one recipient). Email and SMS have their own vocabularies;
// only `kTag` is shared. ActionFitsChannel says which is which.
enum class Action : uint8_t {
  // Email (milter). X.1240 §7.15–7.19 dispositions.
  kAccept = 0,      // deliver unchanged
  kTag,             // (email, SMS) deliver marked: email headers / SMS text prefix
  kRewriteSubject,  // deliver with a Subject prefix (and the tag headers)
  kQuarantine,      // hold in the MTA hold queue (smfi_quarantine)
  kRedirect,        // deliver to a spam mailbox instead of the recipient
  kReject,          // 5xx in the SMTP session
  kTempfail,        // 4xx in the SMTP session
  kDiscard,         // accept and drop silently
  // SMS / mobile messaging. X.1242 / X.1247.
  kDeliver,         // deliver unchanged
  kHold,            // put in the subscriber's filter box (reviewable, releasable)
  kBlock,           // do not deliver
  kThrottleSender,  // refuse this message with a throttling status and rate-limit the sender
  kCount_,          // number of actions (not an action)
};

inline constexpr std::array<std::string_view, static_cast<size_t>(Action::kCount_)> kActionNames = {
    "accept",   "tag",     "rewrite_subject", "quarantine", "redirect", "reject",
    "tempfail", "discard", "deliver",         "hold",       "block",    "throttle_sender"};

// Stable lower_snake_case name, as written in configuration, JSON and logs.
constexpr std::string_view ActionName(Action a) {
  const auto i = static_cast<size_t>(a);
  return i < kActionNames.size() ? kActionNames[i] : std::string_view("unknown");
}

// The action named `name` (exact, lower case), or nullopt.
constexpr std::optional<Action> ActionFromName(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

// True if `a` can be carried out on `channel`: email takes accept, tag, rewrite_subject,
// quarantine, redirect, reject, tempfail, discard; SMS takes deliver, tag, hold, block,
// throttle_sender.
constexpr bool ActionFitsChannel(Action a, Channel channel) {
  if (a == Action::kTag) return true;
  if (channel == Channel::kEmail) return a <= Action::kDiscard;
  return a >= Action::kDeliver && a < Action::kCount_;
}

// The action that lets a message through untouched on `channel` (accept / deliver).
constexpr Action PassAction(Channel channel) {
  return channel == Channel::kEmail ? Action::kAccept : Action::kDeliver;
}

// How strongly an action interferes with delivery, for picking one action for a whole
// message (higher is stricter). Email: accept < tag < rewrite_subject < redirect <
// quarantine < discard < tempfail < reject. SMS: deliver < tag < hold < throttle_sender <
// block.
constexpr int ActionSeverity(Action a) {
  switch (a) {
    case Action::kAccept:
      return 0;
    case Action::kDeliver:
      return 0;
    case Action::kTag:
      return 1;
    case Action::kRewriteSubject:
      return 2;
    case Action::kRedirect:
      return 3;
    case Action::kHold:
      return 3;
    case Action::kQuarantine:
      return 4;
    case Action::kThrottleSender:
      return 4;
    case Action::kDiscard:
      return 5;
    case Action::kTempfail:
      return 6;
    case Action::kBlock:
      return 7;
    case Action::kReject:
      return 7;
    case Action::kCount_:
      break;
  }
  return 0;
}

// The policy layer a rule belongs to (X.1241 domain, X.1242 user rules). kNone: no layer
// (the channel's default when nothing matched).
enum class Layer : uint8_t { kNone = 0, kOperator, kTenant, kSubscriber };

constexpr std::string_view LayerName(Layer l) {
  switch (l) {
    case Layer::kNone:
      return "none";
    case Layer::kOperator:
      return "operator";
    case Layer::kTenant:
      return "tenant";
    case Layer::kSubscriber:
      return "subscriber";
  }
  return "unknown";
}

// What kind of policy rule produced a hit.
enum class RuleKind : uint8_t {
  kSpamtrap = 0,  // the recipient is an operator spamtrap
  kDenyList,      // the sender is on a deny (block) list
  kAllowList,     // the sender is on an allow list
  kKeyword,       // a keyword/phrase rule matched the text
  kRegex,         // a regex rule matched the text
  kQuietHours,    // the subscriber's quiet hours are in force
  kThreshold,     // the score reached a threshold
  kDefault,       // nothing else decided: the channel's default action
  kFailMode,      // the policy could not be evaluated (subscriber store error): fail mode
};

constexpr std::string_view RuleKindName(RuleKind k) {
  switch (k) {
    case RuleKind::kSpamtrap:
      return "spamtrap";
    case RuleKind::kDenyList:
      return "deny_list";
    case RuleKind::kAllowList:
      return "allow_list";
    case RuleKind::kKeyword:
      return "keyword";
    case RuleKind::kRegex:
      return "regex";
    case RuleKind::kQuietHours:
      return "quiet_hours";
    case RuleKind::kThreshold:
      return "threshold";
    case RuleKind::kDefault:
      return "default";
    case RuleKind::kFailMode:
      return "fail_mode";
  }
  return "unknown";
}

// One policy rule that matched for a recipient (distinct from the content evidence in
// Scores, which Decision::evidence carries).
//   list hit:   rule = "deny.domains", entry = "example.com" (the list entry that matched)
//   keyword:    rule = the rule id, entry = the phrase; score = its score if it only scores
//   regex:      rule = the rule id, entry = the pattern
//   quiet:      rule = "quiet_hours", entry = the window ("22:00-07:00")
//   threshold:  rule = "thresholds", entry = the action name, score = the threshold's min
struct PolicyHit {
  Layer layer = Layer::kNone;
  RuleKind kind = RuleKind::kDefault;
  std::string_view rule;
  std::string_view entry;
  double score = 0;
};

// One row of a score → action table, as in force for a recipient. `layer` says whether the
// row is the operator's or a tenant's override.
struct Threshold {
  double min = 0;
  Action action = Action::kAccept;
  bool report = false;
  Layer layer = Layer::kOperator;
};

// An SMTP reply for reject / tempfail: "550", "5.7.1", "Message rejected as spam".
struct SmtpReply {
  std::string_view code;
  std::string_view enhanced_code;
  std::string_view text;
};

// A header to add to the delivered message (tag, rewrite_subject, quarantine, redirect).
struct HeaderEdit {
  std::string_view name;
  std::string value;
};

// What happens for one recipient, and why.
struct RecipientDecision {
  std::string recipient;            // normalised: lower-case mailbox or E.164 MSISDN
  std::string_view tenant;          // tenant name; empty if the recipient has none
  bool subscriber = false;          // a subscriber record was found
  bool subscriber_enabled = false;  // ... and its rules are switched on
  bool content_inspected = false;   // consent given (or not required): content rules ran

  Action action = Action::kAccept;
  bool report = false;   // side effect: report the message (X.1247 / GSMA 7726)
  PolicyHit decided_by;  // the rule or list entry that chose `action`

  double score = 0;                         // the score compared with `thresholds`
  std::span<const Threshold> thresholds;    // the table in force, highest `min` first
  Action default_action = Action::kAccept;  // below every threshold
  std::vector<PolicyHit> hits;              // every policy rule that matched, in evaluation order

  // Parameters of `action`; empty when the action does not use them.
  SmtpReply reply;                      // reject, tempfail
  std::vector<HeaderEdit> add_headers;  // tag, rewrite_subject, quarantine, redirect (email)
  std::string_view prefix;              // rewrite_subject: Subject prefix; SMS tag: text prefix
  std::string_view redirect_to;         // redirect: the spam mailbox
  std::string note;                     // why something was skipped or failed, if anything
};

struct Decision {
  Channel channel = Channel::kEmail;
  Action action = Action::kAccept;  // the strictest recipient action (ActionSeverity)
  double evidence_score = 0;        // Scores::total as received
  std::vector<Match> evidence;      // the non-hidden matches, in the order received
  std::vector<RecipientDecision> recipients;
};

}  // namespace veto

#endif  // VETO_CORE_DECISION_H_
