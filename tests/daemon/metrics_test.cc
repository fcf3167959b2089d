// Metrics: the Prometheus text, and the HTTP endpoint on a loopback port.
#include "daemon/metrics.h"

#include <httplib.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace veto::daemon {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, PrometheusText) {
  Metrics m(2);
  const std::vector<std::string> rules = {"VETO_GTUBE", "VETO_A\"B"};
  m.CountMessage(Action::kReject, 0.0015, rules, 0);
  m.CountMessage(Action::kAccept, 0.0001, {}, 1);
  m.CountMessage(Action::kTag, 20, std::span(rules.data(), 1), 1);
  m.CountError(ErrorKind::kTimeout);
  m.CountFailMode(true);
  m.CountReload(true);
  m.CountReload(false);
  m.CountOversize();
  m.ConnectionOpened();
  const std::string t = m.RenderPrometheus();
  EXPECT_TRUE(Has(t, "veto_messages_total{action=\"reject\"} 1")) << t;
  EXPECT_TRUE(Has(t, "veto_messages_total{action=\"accept\"} 1"));
  EXPECT_TRUE(Has(t, "veto_messages_total{action=\"quarantine\"} 0"));
  EXPECT_TRUE(Has(t, "veto_rule_hits_total{rule=\"VETO_GTUBE\"} 2"));
  EXPECT_TRUE(Has(t, "veto_rule_hits_total{rule=\"VETO_A\\\"B\"} 1"));
  EXPECT_TRUE(Has(t, "veto_scan_seconds_bucket{le=\"0.0005\"} 1"));
  EXPECT_TRUE(Has(t, "veto_scan_seconds_bucket{le=\"0.002\"} 2"));
  EXPECT_TRUE(Has(t, "veto_scan_seconds_bucket{le=\"10\"} 2"));
  EXPECT_TRUE(Has(t, "veto_scan_seconds_bucket{le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(t, "veto_scan_seconds_count 3"));
  EXPECT_TRUE(Has(t, "veto_errors_total{kind=\"timeout\"} 1"));
  EXPECT_TRUE(Has(t, "veto_fail_mode_total{mode=\"tempfail\"} 1"));
  EXPECT_TRUE(Has(t, "veto_reloads_total{result=\"ok\"} 1"));
  EXPECT_TRUE(Has(t, "veto_reloads_total{result=\"failed\"} 1"));
  EXPECT_TRUE(Has(t, "veto_oversize_total 1"));
  EXPECT_TRUE(Has(t, "veto_connections_active 1"));
  EXPECT_TRUE(Has(t, "# TYPE veto_scan_seconds histogram"));
}

TEST(MetricsTest, ConcurrentCounting) {
  Metrics m(4);
  std::vector<std::thread> ts;
  const std::vector<std::string> rules = {"R1", "R2"};
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      for (int j = 0; j < 2000; ++j) m.CountMessage(Action::kTag, 0.001, rules, i);
    });
  }
  std::thread scraper([&] {
    for (int j = 0; j < 50; ++j) (void)m.RenderPrometheus();
  });
  for (auto& t : ts) t.join();
  scraper.join();
  EXPECT_EQ(m.messages(Action::kTag), 8000u);
  EXPECT_TRUE(Has(m.RenderPrometheus(), "veto_rule_hits_total{rule=\"R2\"} 8000"));
}

TEST(MetricsTest, HttpEndpoint) {
  Metrics m(1);
  m.CountMessage(Action::kAccept, 0.001, {}, 0);
  bool healthy = true;
  MetricsServer server(&m, [&] { return healthy; });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);
  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(Has(r->body, "veto_messages_total{action=\"accept\"} 1"));
  EXPECT_NE(r->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  healthy = false;
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  r = c.Get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  server.Stop();
}

TEST(MetricsTest, BadListenSpecs) {
  Metrics m(1);
  for (const char* bad : {"", "nohost", ":80", "127.0.0.1:x", "127.0.0.1:99999"}) {
    MetricsServer s(&m, nullptr);
    EXPECT_EQ(s.Start(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace veto::daemon
