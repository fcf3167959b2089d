#include "daemon/metrics.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/strings.h"

namespace veto::daemon {
namespace {

// Prometheus label values: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kParse:
      return "parse";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kOverload:
      return "overload";
    case ErrorKind::kMilter:
      return "milter";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kCount_:
      break;
  }
  return "unknown";
}

Metrics::Metrics(int shards) {
  shards = std::max(1, shards);
  for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

void Metrics::CountMessage(Action action, double seconds, std::span<const std::string> rules,
                           int shard) {
  by_action_[static_cast<size_t>(action)].fetch_add(1, kRelaxed);
  size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  latency_buckets_[b].fetch_add(1, kRelaxed);
  latency_count_.fetch_add(1, kRelaxed);
  latency_sum_us_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e6), kRelaxed);
  if (rules.empty()) return;
  Shard& s = *shards_[static_cast<size_t>(shard < 0 ? -shard : shard) % shards_.size()];
  std::lock_guard<std::mutex> lock(s.mu);
  for (const std::string& r : rules) ++s.rule_hits[r];
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  out += "# HELP veto_messages_total Messages by the action carried out.\n";
  out += "# TYPE veto_messages_total counter\n";
  for (size_t i = 0; i <= static_cast<size_t>(Action::kDiscard); ++i) {
    out += Cat("veto_messages_total{action=\"", ActionName(static_cast<Action>(i)), "\"} ",
               by_action_[i].load(kRelaxed), "\n");
  }
  out += "# HELP veto_scan_seconds Time from end of data to the milter reply.\n";
  out += "# TYPE veto_scan_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    cumulative += latency_buckets_[b].load(kRelaxed);
    out += Cat("veto_scan_seconds_bucket{le=\"", Num(kLatencyBuckets[b]), "\"} ", cumulative,
               "\n");
  }
  cumulative += latency_buckets_[kLatencyBuckets.size()].load(kRelaxed);
  out += Cat("veto_scan_seconds_bucket{le=\"+Inf\"} ", cumulative, "\n");
  out += Cat("veto_scan_seconds_sum ", Num(latency_sum_us_.load(kRelaxed) / 1e6), "\n");
  out += Cat("veto_scan_seconds_count ", latency_count_.load(kRelaxed), "\n");

  out += "# HELP veto_errors_total Internal errors by kind.\n";
  out += "# TYPE veto_errors_total counter\n";
  for (size_t i = 0; i < errors_.size(); ++i) {
    out += Cat("veto_errors_total{kind=\"", ErrorKindName(static_cast<ErrorKind>(i)), "\"} ",
               errors_[i].load(kRelaxed), "\n");
  }
  out += "# HELP veto_fail_mode_total Messages passed or tempfailed by the fail mode.\n";
  out += "# TYPE veto_fail_mode_total counter\n";
  out += Cat("veto_fail_mode_total{mode=\"tempfail\"} ", fail_tempfail_.load(kRelaxed), "\n");
  out += Cat("veto_fail_mode_total{mode=\"accept\"} ", fail_accept_.load(kRelaxed), "\n");
  out += "# HELP veto_oversize_total Messages over the size cap (not scanned).\n";
  out += "# TYPE veto_oversize_total counter\n";
  out += Cat("veto_oversize_total ", oversize_.load(kRelaxed), "\n");
  out += "# HELP veto_reloads_total Configuration reloads (SIGHUP) by result.\n";
  out += "# TYPE veto_reloads_total counter\n";
  out += Cat("veto_reloads_total{result=\"ok\"} ", reloads_ok_.load(kRelaxed), "\n");
  out += Cat("veto_reloads_total{result=\"failed\"} ", reloads_failed_.load(kRelaxed), "\n");
  out += "# HELP veto_snapshot_loaded_timestamp_seconds When the pipeline in use was built.\n";
  out += "# TYPE veto_snapshot_loaded_timestamp_seconds gauge\n";
  out += Cat("veto_snapshot_loaded_timestamp_seconds ", Num(snapshot_time_.load(kRelaxed)), "\n");
  out += "# HELP veto_connections_total Milter connections accepted.\n";
  out += "# TYPE veto_connections_total counter\n";
  out += Cat("veto_connections_total ", connections_.load(kRelaxed), "\n");
  out += "# HELP veto_connections_active Milter connections open now.\n";
  out += "# TYPE veto_connections_active gauge\n";
  out += Cat("veto_connections_active ", active_connections_.load(kRelaxed), "\n");

  std::map<std::string, uint64_t> hits;  // sorted: stable output
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    for (const auto& [rule, n] : s->rule_hits) hits[rule] += n;
  }
  out += "# HELP veto_rule_hits_total Messages each rule hit.\n";
  out += "# TYPE veto_rule_hits_total counter\n";
  for (const auto& [rule, n] : hits) {
    out += Cat("veto_rule_hits_total{rule=\"", LabelValue(rule), "\"} ", n, "\n");
  }
  return out;
}

struct MetricsServer::Impl {
  httplib::Server server;
};

MetricsServer::MetricsServer(const Metrics* metrics, std::function<bool()> healthy)
    : impl_(std::make_unique<Impl>()) {
  impl_->server.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->server.Get("/healthz", [healthy](const httplib::Request&, httplib::Response& res) {
    const bool ok = healthy ? healthy() : true;
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "no pipeline loaded\n", "text/plain");
  });
}

MetricsServer::~MetricsServer() { Stop(); }

absl::Status MetricsServer::Start(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        Cat("daemon.metrics_listen: expected HOST:PORT (got \"", listen, "\")"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  const std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        Cat("daemon.metrics_listen: bad port (got \"", port_text, "\", expected 0..65535)"));
  }
  port = static_cast<int>(p);
  if (port == 0) {
    port = impl_->server.bind_to_any_port(host.c_str());
    if (port < 0) port = 0;
  } else if (!impl_->server.bind_to_port(host.c_str(), port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(Cat("daemon.metrics_listen: cannot bind ", listen));
  }
  port_ = port;
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (thread_.joinable()) {
    impl_->server.stop();
    thread_.join();
  }
}

}  // namespace veto::daemon
