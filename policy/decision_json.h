// veto/policy/decision_json.h — a Decision as one JSON object (for JSON Lines output).
//
//   std::string line = DecisionToJson(decision);   // {"channel":"sms","action":"hold",...}
//
//   JsonWriter w;                                  // or embed it in a larger record:
//   w.BeginObject();
//   w.Key("id"); w.String(message_id);
//   WriteDecisionFields(decision, &w);
//   w.EndObject();
//
// Shape (keys always present unless marked "if any"):
//   {"channel":"email","action":"reject","score":7.5,
//    "rules":["BAYES_99","URI_X"],                         // ids of the evidence, in order
//    "evidence":[{"id":"BAYES_99","score":3.5,"kind":"classifier","count":1,
//                 "probability":0.99 (if any)}, ...],
//    "recipients":[{"recipient":"a@example.com","tenant":"example_com" (if any),
//                   "subscriber":true,"subscriber_enabled":true,"content_inspected":true,
//                   "action":"reject","report":false,
//                   "decided_by":{"layer":"tenant","kind":"deny_list","rule":"deny.domains",
//                                 "entry":"spam.example"},
//                   "score":7.5,
//                   "thresholds":[{"min":15,"action":"reject","layer":"operator"}, ...],
//                   "default_action":"accept",
//                   "hits":[{"layer":...,"kind":...,"rule":...,"entry":...,"score":...}, ...],
//                   "reply":{"code":"550","enhanced_code":"5.7.1","text":"..."} (if any),
//                   "headers":[{"name":"X-Spam-Flag","value":"YES"}, ...] (if any),
//                   "prefix":"[SPAM] " (if any), "redirect_to":"..." (if any),
//                   "note":"..." (if any)}]}
//
// Thread-safety: pure functions.
#ifndef VETO_POLICY_DECISION_JSON_H_
#define VETO_POLICY_DECISION_JSON_H_

#include <string>

#include "core/decision.h"
#include "core/json.h"

namespace veto::policy {

// Writes the Decision's keys into the object `w` has open.
void WriteDecisionFields(const Decision& d, JsonWriter* w);

// The Decision as one JSON object on one line (`indent` > 0 pretty-prints).
std::string DecisionToJson(const Decision& d, int indent = 0);

}  // namespace veto::policy

#endif  // VETO_POLICY_DECISION_JSON_H_
