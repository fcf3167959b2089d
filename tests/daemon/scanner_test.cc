// Scanner and SnapshotHolder on real pipelines (config/ + bundled rules): verdicts, the
// deadline, and snapshot swaps under concurrent load (this test also runs under TSan).
#include "daemon/scanner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace veto::daemon {
namespace {

constexpr char kGtube[] = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

std::shared_ptr<const config::Pipeline> BuildPipeline(const std::string& reject_text) {
  const std::string toml = R"(
[rules]
cache_dir = "none"
[operator.email]
thresholds = [{ action = "reject", min = 15 }, { action = "tag", min = 5 }]
[operator.email_actions]
reject_reply = { code = "550", enhanced_code = "5.7.1", text = ")" +
                           reject_text + R"(" }
)";
  absl::StatusOr<config::Config> c = config::ParseConfig(toml, "scanner_test.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return nullptr;
  absl::StatusOr<std::shared_ptr<const config::Pipeline>> p = config::Pipeline::Build(*c);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

ScanRequest Request(bool spam, int i) {
  ScanRequest r;
  r.raw = "From: a@example.org\r\nSubject: m" + std::to_string(i) +
          "\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + std::to_string(i) +
          "@x>\r\n\r\n" + (spam ? std::string(kGtube) : std::string("see you at noon")) + "\r\n";
  r.envelope.mail_from = "a@example.org";
  r.envelope.rcpt_to = {"user@example.test"};
  r.raw_rcpts = {"<user@example.test>"};
  r.headers = {{"From", "a@example.org"}, {"Subject", "m"}};
  return r;
}

class ScannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = new std::shared_ptr<const config::Pipeline>(BuildPipeline("rejected by A"));
    b_ = new std::shared_ptr<const config::Pipeline>(BuildPipeline("rejected by B"));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  static std::shared_ptr<const config::Pipeline>* a_;
  static std::shared_ptr<const config::Pipeline>* b_;
};
std::shared_ptr<const config::Pipeline>* ScannerTest::a_ = nullptr;
std::shared_ptr<const config::Pipeline>* ScannerTest::b_ = nullptr;

TEST_F(ScannerTest, VerdictsAndPlans) {
  ASSERT_NE(*a_, nullptr);
  std::shared_ptr<const Snapshot> s = MakeSnapshot(*a_, 1, "mx");
  std::unique_ptr<config::Pipeline::Context> ctx = (*a_)->NewContext();
  absl::StatusOr<ScanResult> r = Scanner::ScanNow(*s, ctx.get(), Request(true, 1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->plan.disposition, Disposition::kReject);
  EXPECT_EQ(r->plan.text, "rejected by A");
  ASSERT_FALSE(r->rules.empty());
  EXPECT_EQ(r->rules[0], "VETO_GTUBE");
  r = Scanner::ScanNow(*s, ctx.get(), Request(false, 2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->plan.disposition, Disposition::kContinue);
  EXPECT_EQ(ActionName(r->action), "accept");
  // The snapshot knows our header names (forged copies are removed) and needs no
  // quarantine/redirect capability with this configuration.
  EXPECT_NE(std::find(s->plan_options.own_headers.begin(), s->plan_options.own_headers.end(),
                      "X-Spam-Flag"),
            s->plan_options.own_headers.end());
  EXPECT_FALSE(s->possible_actions & (1u << static_cast<int>(Action::kQuarantine)));
  EXPECT_TRUE(s->possible_actions & (1u << static_cast<int>(Action::kReject)));
}

TEST_F(ScannerTest, NoSnapshotIsUnavailable) {
  SnapshotHolder holder;
  Metrics metrics(1);
  Scanner scanner(&holder, &metrics, 1, 4);
  EXPECT_EQ(scanner.Scan(Request(false, 1), absl::Seconds(5)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ScannerTest, DeadlineExceededLeavesTheScanToFinishAlone) {
  SnapshotHolder holder;
  holder.Set(MakeSnapshot(*a_, 1, ""));
  Metrics metrics(1);
  Scanner scanner(&holder, &metrics, 1, 4);
  // 4 MB of text cannot be parsed and matched in zero time.
  ScanRequest big = Request(false, 1);
  big.raw.append(4 << 20, 'a');
  EXPECT_EQ(scanner.Scan(std::move(big), absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  // The worker is still usable afterwards.
  absl::StatusOr<ScanResult> r = scanner.Scan(Request(true, 2), absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->plan.disposition, Disposition::kReject);
}

TEST_F(ScannerTest, SwapsUnderConcurrentLoad) {
  SnapshotHolder holder;
  holder.Set(MakeSnapshot(*a_, 1, ""));
  std::weak_ptr<const Snapshot> first = holder.Get();
  Metrics metrics(2);
  Scanner scanner(&holder, &metrics, 2, 256);
  std::atomic<bool> stop{false};
  std::atomic<int> swaps{0};
  // At least two swaps happen whatever the scheduler does: the clients start only after the
  // first, and the swapper keeps going until the clients are done and it has swapped twice
  // (under load a thread may start late; the test must not depend on timing).
  std::thread swapper([&] {
    uint64_t gen = 1;
    while (!stop.load() || swaps.load() < 2) {
      holder.Set(MakeSnapshot(gen % 2 ? *b_ : *a_, gen + 1, ""));
      ++gen;
      swaps.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  constexpr int kClients = 4, kPerClient = 60;
  std::atomic<int> wrong{0}, errors{0}, from_a{0}, from_b{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      while (swaps.load() < 1) std::this_thread::yield();
      for (int i = 0; i < kPerClient; ++i) {
        const bool spam = (i + c) % 2 == 0;
        absl::StatusOr<ScanResult> r = scanner.Scan(Request(spam, i), absl::Seconds(60));
        if (!r.ok()) {
          errors.fetch_add(1);
          continue;
        }
        const Disposition want = spam ? Disposition::kReject : Disposition::kContinue;
        if (r->plan.disposition != want) wrong.fetch_add(1);
        if (spam && r->plan.text == "rejected by A") from_a.fetch_add(1);
        if (spam && r->plan.text == "rejected by B") from_b.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  stop.store(true);
  swapper.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(from_a.load() + from_b.load(), kClients * kPerClient / 2);
  EXPECT_GT(swaps.load(), 1);
  // The first snapshot is gone once nothing uses it any more.
  EXPECT_TRUE(first.expired());
}

}  // namespace
}  // namespace veto::daemon
