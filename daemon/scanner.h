// veto/daemon/scanner.h — the pipeline snapshot in force, and the workers that scan messages
// with a deadline.
//
// libmilter runs one thread per SMTP connection and a callback must never block on anything
// slow. The end-of-message callback hands the buffered message to this Scanner and waits for
// the plan at most the configured deadline (limits.scan_timeout_ms); past it the caller applies
// the fail mode and the late result is dropped. A fixed pool of workers does the scanning, each
// with its own pipeline Context (rule-engine scratch, costly to create), so the number of open
// SMTP connections never multiplies scratch memory, and a full queue is refused at once
// (ErrorKind::kOverload) instead of piling up.
//
// Reload (SIGHUP):
//
//   main thread                       SnapshotHolder            scan worker
//   LoadConfig + Pipeline::Build      ┌──────────────┐
//   (slow, off the hot path) ──Set──▶ │ shared_ptr   │ ◀──Get── pins the snapshot for one
//   failure: keep the old one, log   │ <const Snap> │          message; the old one is freed
//                                     └──────────────┘          when its last message is done
//
// Thread-safety: SnapshotHolder and Scanner are thread-safe. They use std::mutex rather than
// absl::Mutex: Debian's Abseil is a prebuilt library without TSan annotations, so TSan (the
// `tsan` preset runs these classes' tests) cannot see its happens-before edges, while
// libstdc++'s mutex goes through the pthread calls TSan intercepts.
#ifndef VETO_DAEMON_SCANNER_H_
#define VETO_DAEMON_SCANNER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "config/pipeline.h"
#include "core/message.h"
#include "daemon/action_plan.h"
#include "daemon/metrics.h"

namespace veto::daemon {

// One pipeline plus what the daemon derives from its configuration.
struct Snapshot {
  std::shared_ptr<const config::Pipeline> pipeline;
  PlanOptions plan_options;
  // Bit i set: Action i can be the outcome for some message (decides the SMFIF_* flags).
  uint32_t possible_actions = 0;
  absl::Time built;
  uint64_t generation = 0;

  const config::DaemonConfig& daemon() const { return pipeline->config().daemon; }
};

// Builds a Snapshot around `pipeline` (derives the header names and possible actions).
std::shared_ptr<const Snapshot> MakeSnapshot(std::shared_ptr<const config::Pipeline> pipeline,
                                             uint64_t generation, const std::string& host);

// Every action the configuration can produce for an email (thresholds, lists, spamtraps,
// keyword/regex rules, subscribers, quiet hours, fail action, and their built-in defaults).
uint32_t PossibleEmailActions(const config::Config& config);

class SnapshotHolder {
 public:
  std::shared_ptr<const Snapshot> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const Snapshot> s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_.swap(s);
    }
    // `s` (the old snapshot) is released here, outside the lock, unless messages in flight
    // still hold it; then the last of them frees it.
  }

 private:
  // A mutex held for one pointer copy (not std::atomic<shared_ptr>: TSan cannot see through
  // libstdc++'s lock-bit implementation of it). The copy is the only shared step per message.
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;  // guarded by mu_
};

struct ScanRequest {
  std::string raw;                     // the message (headers + body)
  Envelope envelope;                   // bare addresses
  std::vector<std::string> raw_rcpts;  // as the MTA sent them (for smfi_delrcpt)
  std::vector<SeenHeader> headers;
};

struct ScanResult {
  MilterPlan plan;
  Action action = Action::kAccept;  // message-level (plan.action)
  double score = 0;                 // the strictest recipient's score
  std::vector<std::string> rules;   // ids that hit (reported ones), highest score first
  std::vector<double> rule_scores;  // their scores, same order
  std::string decided_by;           // "threshold:reject" ...
  uint64_t generation = 0;          // snapshot used
};

class Scanner {
 public:
  // `workers` threads (at least 1); at most `max_queue` messages wait.
  Scanner(const SnapshotHolder* snapshots, Metrics* metrics, int workers, size_t max_queue);
  ~Scanner();  // stops and joins the workers; queued scans are abandoned
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Scans with the current snapshot (pinned for the whole message). Waits at most `deadline`.
  // Errors: DeadlineExceeded (the scan goes on and its result is dropped), ResourceExhausted
  // (queue full), InvalidArgument (the message could not be parsed), Unavailable (no
  // snapshot, or stopping).
  absl::StatusOr<ScanResult> Scan(ScanRequest request, absl::Duration deadline);

  // Scans synchronously on the calling thread with `ctx` (tests, benchmarks).
  static absl::StatusOr<ScanResult> ScanNow(const Snapshot& snapshot,
                                            config::Pipeline::Context* ctx,
                                            const ScanRequest& request);

  int workers() const { return static_cast<int>(threads_.size()); }

 private:
  struct Job;
  void WorkerLoop(int index);

  const SnapshotHolder* snapshots_;
  Metrics* metrics_;
  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace veto::daemon

#endif  // VETO_DAEMON_SCANNER_H_
