// veto/daemon/metrics.h — vetod's counters, rendered as Prometheus text for /metrics.
//
// Counted on the hot path with relaxed atomics; rule hit counts (an open set of names) go
// into one of several mutex-guarded maps chosen by the caller's shard (the scan worker's
// index), so workers never contend with each other, only briefly with a scrape.
//
//   Metrics m(/*shards=*/4);
//   m.CountMessage(Action::kTag, 0.0012, {"VETO_FREE_MONEY"}, /*shard=*/worker);
//   std::string text = m.RenderPrometheus();   // GET /metrics
//
// MetricsServer serves /metrics and /healthz over HTTP (cpp-httplib) on a loopback address.
//
// Thread-safety: all methods are thread-safe.
#ifndef VETO_DAEMON_METRICS_H_
#define VETO_DAEMON_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/decision.h"

namespace veto::daemon {

enum class ErrorKind : uint8_t {
  kParse,     // the message could not be parsed
  kTimeout,   // the scan missed its deadline
  kOverload,  // the scan queue was full
  kMilter,    // an smfi_* call failed
  kInternal,  // anything else
  kCount_,
};
std::string_view ErrorKindName(ErrorKind k);

class Metrics {
 public:
  // Upper bounds (seconds) of the scan latency histogram buckets.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  explicit Metrics(int shards);

  // One message done: the message-level action carried out, the time from end of data to the
  // reply, the ids of the rules that hit. `shard` in [0, shards) (taken modulo).
  void CountMessage(Action action, double seconds, std::span<const std::string> rules,
                    int shard);
  void CountError(ErrorKind kind) { errors_[static_cast<size_t>(kind)].fetch_add(1, kRelaxed); }
  // The fail mode was applied (after an error or timeout).
  void CountFailMode(bool tempfail) { (tempfail ? fail_tempfail_ : fail_accept_).fetch_add(1, kRelaxed); }
  void CountOversize() { oversize_.fetch_add(1, kRelaxed); }
  void CountReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, kRelaxed); }
  void ConnectionOpened() {
    connections_.fetch_add(1, kRelaxed);
    active_connections_.fetch_add(1, kRelaxed);
  }
  void ConnectionClosed() { active_connections_.fetch_sub(1, kRelaxed); }
  void SetSnapshotLoaded(double unix_seconds) { snapshot_time_.store(unix_seconds, kRelaxed); }

  uint64_t messages(Action a) const { return by_action_[static_cast<size_t>(a)].load(kRelaxed); }
  uint64_t errors(ErrorKind k) const { return errors_[static_cast<size_t>(k)].load(kRelaxed); }
  int64_t active_connections() const { return active_connections_.load(kRelaxed); }
  uint64_t reloads(bool ok) const { return (ok ? reloads_ok_ : reloads_failed_).load(kRelaxed); }

  // The Prometheus text exposition format (version 0.0.4).
  std::string RenderPrometheus() const;

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  // std::mutex, not absl::Mutex: see daemon/scanner.h (TSan and Debian's Abseil).
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, uint64_t> rule_hits;  // guarded by mu
  };

  std::array<std::atomic<uint64_t>, static_cast<size_t>(Action::kCount_)> by_action_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ErrorKind::kCount_)> errors_{};
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> latency_buckets_{};  // +Inf
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_us_{0};
  std::atomic<uint64_t> fail_tempfail_{0}, fail_accept_{0}, oversize_{0};
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  std::atomic<uint64_t> connections_{0};
  std::atomic<int64_t> active_connections_{0};
  std::atomic<double> snapshot_time_{0};
  std::vector<std::unique_ptr<Shard>> shards_;
};

// HTTP endpoint: GET /metrics (Prometheus text), GET /healthz ("ok" while `healthy()`).
class MetricsServer {
 public:
  MetricsServer(const Metrics* metrics, std::function<bool()> healthy);
  ~MetricsServer();
  // Binds `listen` ("HOST:PORT"; port 0 picks one) and serves on a thread of its own.
  // Errors: InvalidArgument (bad spec), Unavailable (cannot bind).
  absl::Status Start(const std::string& listen);
  int port() const { return port_; }
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace veto::daemon

#endif  // VETO_DAEMON_METRICS_H_
