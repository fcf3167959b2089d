// veto/daemon/action_plan.h — the exact mapping from a policy Decision to milter replies.
//
// The last step of the email flow (DESIGN.md §1): policy/ decided, per recipient, what to do;
// this turns that into what a milter can say at end of message — one disposition for the whole
// message (continue, reject, tempfail, discard) plus an ordered list of message edits. It is a
// pure function with no libmilter types, so the mapping is tested as a table
// (tests/daemon/action_plan_test.cc); milter.cc executes a plan with smfi_* calls.
//
//   PlanInput in{.decision = &verdict.decision, .rcpts = session.rcpts(),
//                .headers = session.headers(), .options = &options};
//   MilterPlan plan = PlanActions(in);
//   switch (plan.disposition) { case Disposition::kReject: smfi_setreply(...); ... }
//
// The mapping (one row per whole-message outcome; recipients that disagree, below):
//
//   action           disposition   reply / edits
//   accept           continue      status header
//   tag              continue      status header + the policy's tag headers
//   rewrite_subject  continue      + Subject prefixed (changed, or added if missing)
//   quarantine       continue      + smfi_quarantine(reason) (Postfix: hold queue)
//   redirect         continue      + delrcpt(each redirected rcpt), addrcpt(<spam mailbox>)
//   reject           reject        smfi_setreply(5xx); a non-5xx code becomes 550 5.7.1
//   tempfail         tempfail      smfi_setreply(4xx); a non-4xx code becomes 451 4.7.1
//   discard          discard       —
//
// Every "continue" outcome also deletes forged copies of our own headers (the status header,
// the policy's flag/score/report headers, the oversize header) that arrived from outside, so
// downstream filters only ever see headers veto wrote.
//
// Recipients that disagree (one message, one end-of-data reply):
//   - any recipient tempfail → the whole message is tempfailed (no recipient loses mail: the
//     client retries all of them; a per-recipient delete would silently drop that one);
//   - otherwise recipients whose action is reject or discard are removed with smfi_delrcpt
//     and the others get the message, edited as the strictest of *their* actions says;
//   - if every recipient is rejected/discarded, the message is rejected if any was rejected
//     (with that recipient's reply), else discarded.
//
// Thread-safety: PlanActions is a pure function.
#ifndef VETO_DAEMON_ACTION_PLAN_H_
#define VETO_DAEMON_ACTION_PLAN_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/decision.h"

namespace veto::daemon {

// The milter return code at end of message.
enum class Disposition : uint8_t { kContinue, kReject, kTempfail, kDiscard };

std::string_view DispositionName(Disposition d);

// One edit of the message, applied in order when the disposition is kContinue.
struct MilterOp {
  enum class Kind : uint8_t {
    kDeleteHeader,  // smfi_chgheader(name, index, NULL); index: 1-based occurrence of name
    kChangeHeader,  // smfi_chgheader(name, index, value)
    kAddHeader,     // smfi_addheader(name, value)
    kDeleteRcpt,    // smfi_delrcpt(value)
    kAddRcpt,       // smfi_addrcpt(value)
    kQuarantine,    // smfi_quarantine(value)
  };
  Kind kind = Kind::kAddHeader;
  std::string name;
  int index = 0;
  std::string value;

  bool operator==(const MilterOp&) const = default;
};

std::string_view MilterOpKindName(MilterOp::Kind k);

struct MilterPlan {
  Disposition disposition = Disposition::kContinue;
  Action action = Action::kAccept;  // the message-level action carried out (logs, metrics)
  std::string code;                 // reject / tempfail: "550"
  std::string enhanced_code;        // "5.7.1"
  std::string text;                 // reply text, CR/LF removed
  std::vector<MilterOp> ops;        // edits, when disposition is kContinue
};

// A header of the message as the MTA passed it to the milter.
struct SeenHeader {
  std::string name;
  std::string value;
};

struct PlanOptions {
  // Our status header, added to every message that continues: "X-Veto: tag, score=7.20".
  // Empty: none.
  std::string status_header = "X-Veto";
  // Header names veto writes (any case); copies arriving from outside are deleted. The status
  // header, the policy's tag headers and the names in the decision are added automatically.
  std::vector<std::string> own_headers;
  // Host name put into the status header value ("by mx1"); empty: none.
  std::string host;
};

struct PlanInput {
  const Decision* decision = nullptr;
  std::span<const std::string> rcpts;         // envelope recipients as the MTA sent them
  std::span<const SeenHeader> headers;        // the message's headers, in order
  const PlanOptions* options = nullptr;
};

// Maps a decision to a plan (see the table above). `decision->recipients[i]` belongs to
// `rcpts[i]` (policy/policy.h); with no recipients the decision's single entry applies to the
// message.
MilterPlan PlanActions(const PlanInput& in);

// The plan for a message not scanned (fail mode, size cap): continue with `header_name:
// header_value` added (when name is non-empty) and forged copies of our headers deleted, or
// tempfail with `reply`.
MilterPlan PlanUnscanned(bool tempfail, const SmtpReply& reply, std::string_view header_name,
                         std::string_view header_value, std::span<const SeenHeader> headers,
                         const PlanOptions& options);

// The reply used when a decision carries none (or a wrong-class one).
inline constexpr SmtpReply kDefaultRejectReply{"550", "5.7.1", "Message rejected as spam"};
inline constexpr SmtpReply kDefaultTempfailReply{"451", "4.7.1", "Try again later"};

}  // namespace veto::daemon

#endif  // VETO_DAEMON_ACTION_PLAN_H_
