// libFuzzer target: what an MTA (or anything that connects to vetod's socket) can feed the
// daemon's own parsing — a stream of milter events into a Session (size cap, reset between
// messages), then the action mapping over whatever headers and recipients came out, with a
// decision whose actions and replies are also taken from the input; and the listen-spec
// parser. Invariants: no crash, the buffer never exceeds the cap, a tempfail is always 4xx
// and a reject always 5xx.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/decision.h"
#include "daemon/action_plan.h"
#include "daemon/os.h"
#include "daemon/session.h"

namespace {

struct Reader {
  std::string_view in;
  uint8_t Byte() {
    if (in.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return b;
  }
  std::string_view Bytes() {
    const size_t n = std::min<size_t>(Byte(), in.size());
    std::string_view s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  }
};

void CheckPlan(const veto::daemon::MilterPlan& p) {
  using veto::daemon::Disposition;
  if (p.disposition == Disposition::kTempfail && (p.code.empty() || p.code[0] != '4')) abort();
  if (p.disposition == Disposition::kReject && (p.code.empty() || p.code[0] != '5')) abort();
  for (char c : p.text) {
    if (c == '\r' || c == '\n') abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veto;
  using namespace veto::daemon;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  (void)ParseListenSpec(all.substr(0, 200));

  Reader r{all};
  constexpr uint64_t kCap = 4096;
  Session s(kCap);
  while (!r.in.empty()) {
    switch (r.Byte() % 10) {
      case 0: s.Connect(r.Bytes(), r.Bytes()); break;
      case 1: s.Helo(r.Bytes()); break;
      case 2: s.StartMessage(r.Bytes()); break;
      case 3: s.AddRecipient(r.Bytes()); break;
      case 4: s.AddHeader(r.Bytes(), r.Bytes()); break;
      case 5: s.EndOfHeaders(); break;
      case 6: s.AddBody(r.Bytes()); break;
      case 7: s.EndMessage(); break;
      case 8: s.SetQueueId(r.Bytes()); break;
      default: {
        // A decision for the recipients so far, mapped to a plan.
        std::deque<std::string> storage;  // the decision's strings (stable addresses)
        Decision d;
        const size_t n = std::max<size_t>(1, s.raw_rcpts().size());
        for (size_t i = 0; i < n && i < 16; ++i) {
          RecipientDecision rd;
          rd.action = static_cast<Action>(r.Byte() % (static_cast<int>(Action::kDiscard) + 1));
          rd.score = r.Byte();
          storage.emplace_back(r.Bytes());
          rd.reply.code = storage.back();
          storage.emplace_back(r.Bytes());
          rd.reply.text = storage.back();
          storage.emplace_back(r.Bytes());
          rd.prefix = storage.back();
          storage.emplace_back(r.Bytes());
          rd.redirect_to = storage.back();
          rd.add_headers.push_back({"X-Spam-Flag", std::string(r.Bytes())});
          d.recipients.push_back(std::move(rd));
        }
        PlanOptions o;
        o.own_headers = {"X-Spam-Flag", "X-Spam-Score"};
        CheckPlan(PlanActions({&d, s.raw_rcpts(), s.headers(), &o}));
        CheckPlan(PlanUnscanned(r.Byte() & 1, {"550", "5.7.1", "x"}, "X-Veto-Skipped", r.Bytes(),
                                s.headers(), o));
        break;
      }
    }
    if (s.raw().size() > kCap) abort();
  }
  return 0;
}
