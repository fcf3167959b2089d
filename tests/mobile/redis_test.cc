// Redis integration: a real redis-server (Debian) on 127.0.0.1 at a private port, real
// `veto sms consume` processes. Every wait is bounded; every process is stopped by PID.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "gtest/gtest.h"
#include "mobile/redis.h"
#include "mobile/redis_store.h"
#include "mobile/signals.h"
#include "mobile/sms.h"

namespace veto::mobile {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int FreePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// Spawns argv with stdout/stderr to `log`; returns the PID.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::set<pid_t>& Reaped() {
  static std::set<pid_t> reaped;
  return reaped;
}

// Waits up to `seconds` for `pid` to exit; returns its status or -1 on timeout.
int WaitExit(pid_t pid, double seconds) {
  const auto until = Clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (Clock::now() < until) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      Reaped().insert(pid);
      return status;
    }
    if (r < 0) return 0;  // not our child (any more)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void Stop(pid_t pid) {
  if (pid <= 0 || Reaped().contains(pid)) return;  // never signal a PID that may be reused
  ::kill(pid, SIGTERM);
  if (WaitExit(pid, 10) == -1) {
    ::kill(pid, SIGKILL);
    WaitExit(pid, 5);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RedisServer {
 public:
  explicit RedisServer(std::string dir, int port = 0) : dir_(std::move(dir)) {
    port_ = port ? port : FreePort();
  }
  ~RedisServer() { Kill(); }

  bool Start() {
    pid_ = Spawn({"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                  "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir_,
                  "--protected-mode", "no", "--daemonize", "no"},
                 dir_ + "/redis.log");
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      auto c = RedisClient::Connect(address(), 500);
      if (c.ok() && (*c)->Command({"PING"}).ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Clean shutdown (SIGTERM: the AOF is flushed), as a restart would do.
  void Terminate() {
    if (pid_ > 0) Stop(pid_);
    pid_ = 0;
  }
  void Kill() {
    if (pid_ > 0 && !Reaped().contains(pid_)) {
      ::kill(pid_, SIGKILL);
      WaitExit(pid_, 5);
    }
    pid_ = 0;
  }
  RedisAddress address() const {
    RedisAddress a;
    a.port = port_;
    return a;
  }
  int port() const { return port_; }
  std::string url() const { return Cat("redis://127.0.0.1:", port_); }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = 0;
};

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/redis-server", X_OK) != 0) {
      GTEST_SKIP() << "redis-server not installed (apt-get install redis-server)";
    }
    char tmpl[] = "/tmp/veto-redis-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    fs::create_directories(dir_ + "/cache");
  }
  void TearDown() override {
    for (pid_t p : children_) Stop(p);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  pid_t Consumer(const RedisServer& r, const std::string& name, const std::string& log,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {VETO_BIN,  "sms",      "consume",     "--redis",
                                      r.url(),  "--stream", "in",          "--group",
                                      "g",      "--out-stream", "out",     "--consumer",
                                      name,     "--cache-dir", VETO_RULE_CACHE, "--batch",
                                      "20",     "--claim-idle-ms", "1000", "--block-ms",
                                      "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const pid_t p = Spawn(argv, log);
    children_.push_back(p);
    return p;
  }

  static void Produce(RedisClient* c, int from, int to) {
    std::vector<std::vector<std::string>> storage;
    for (int i = from; i < to; i += 500) {
      storage.clear();
      std::vector<std::vector<std::string_view>> cmds;
      for (int k = i; k < std::min(to, i + 500); ++k) {
        storage.push_back({"XADD", "in", "*", "id", Cat("m", k), "sender",
                           Cat("+4477009", 10000 + k % 97), "recipient",
                           Cat("+4479009", 10000 + k), "text",
                           Cat("Message number ", k, " WINNER claim your prize call 09061701461")});
      }
      for (const auto& s : storage) cmds.emplace_back(s.begin(), s.end());
      auto r = c->Pipeline(cmds);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  static long long Len(RedisClient* c, std::string_view stream) {
    auto r = c->Command({"XLEN", stream});
    return r.ok() ? r->integer : -1;
  }

  // Every verdict's source id, from the output stream.
  static std::vector<std::string> VerdictIds(RedisClient* c) {
    std::vector<std::string> ids;
    std::string from = "-";
    while (true) {
      auto r = c->Command({"XRANGE", "out", from, "+", "COUNT", "1000"});
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->elements.empty()) break;
      for (const RedisReply& e : r->elements) {
        const RedisReply& f = e.elements[1];
        for (size_t i = 0; i + 1 < f.elements.size(); i += 2) {
          if (f.elements[i].str == "stream_id") ids.push_back(f.elements[i + 1].str);
          if (f.elements[i].str == "verdict") {
            EXPECT_NE(f.elements[i + 1].str.find("\"action\":"), std::string::npos);
          }
        }
        from = "(" + e.elements[0].str;
      }
    }
    return ids;
  }

  std::string dir_;
  std::vector<pid_t> children_;
};

bool WaitFor(const std::function<bool()>& cond, double seconds) {
  const auto until = Clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return cond();
}

TEST_F(RedisTest, TwoConsumersOneKilledEveryMessageGetsExactlyOneVerdict) {
  RedisServer redis(dir_);
  ASSERT_TRUE(redis.Start());
  auto c = RedisClient::Connect(redis.address(), 5000);
  ASSERT_TRUE(c.ok()) << c.status();
  constexpr int kN = 6000;
  Produce(c->get(), 0, kN);
  ASSERT_EQ(Len(c->get(), "in"), kN);

  const pid_t a = Consumer(redis, "a", dir_ + "/a.log");
  const pid_t b = Consumer(redis, "b", dir_ + "/b.log", {"--idle-exit-ms", "3000"});
  ASSERT_TRUE(WaitFor([&] { return Len(c->get(), "out") >= kN / 10; }, 60))
      << ReadFile(dir_ + "/a.log") << ReadFile(dir_ + "/b.log");
  ::kill(a, SIGKILL);  // mid-stream: whatever it read but did not commit stays pending
  ASSERT_NE(WaitExit(a, 10), -1);
  const int status = WaitExit(b, 120);
  ASSERT_NE(status, -1) << "consumer b did not finish: " << ReadFile(dir_ + "/b.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(dir_ + "/b.log");

  std::vector<std::string> ids = VerdictIds(c->get());
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kN)) << "verdict records";
  EXPECT_EQ(unique.size(), static_cast<size_t>(kN)) << "distinct messages answered";
  auto pending = c->get()->Command({"XPENDING", "in", "g"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0);
  const std::string blog = ReadFile(dir_ + "/b.log");
  EXPECT_NE(blog.find("claimed"), std::string::npos) << blog;
  auto dups = c->get()->Command({"GET", "veto:stats:duplicates"});
  std::printf("two consumers, one killed: %zu verdicts for %d messages; duplicates counted: %s\n%s",
              ids.size(), kN, dups.ok() && dups->type == RedisReply::kString ? dups->str.c_str() : "0",
              blog.c_str());
}

TEST_F(RedisTest, RedisRestartMidRun) {
  RedisServer redis(dir_);
  ASSERT_TRUE(redis.Start());
  auto c = RedisClient::Connect(redis.address(), 5000);
  ASSERT_TRUE(c.ok());
  constexpr int kN = 6000;
  Produce(c->get(), 0, kN);
  const pid_t a = Consumer(redis, "a", dir_ + "/a.log", {"--idle-exit-ms", "3000"});
  ASSERT_TRUE(WaitFor([&] { return Len(c->get(), "out") >= kN / 10; }, 60))
      << ReadFile(dir_ + "/a.log");
  c->reset();
  redis.Terminate();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  RedisServer again(dir_, redis.port());
  ASSERT_TRUE(again.Start()) << ReadFile(dir_ + "/redis.log");
  const int status = WaitExit(a, 120);
  ASSERT_NE(status, -1) << ReadFile(dir_ + "/a.log");
  auto c2 = RedisClient::Connect(again.address(), 5000);
  ASSERT_TRUE(c2.ok());
  std::vector<std::string> ids = VerdictIds(c2->get());
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kN));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kN));
  const std::string log = ReadFile(dir_ + "/a.log");
  EXPECT_NE(log.find("reconnecting"), std::string::npos) << log;
}

TEST_F(RedisTest, RedisDownClearErrorAndRetryUntilItComes) {
  const int port = FreePort();
  RedisServer redis(dir_, port);
  const std::string log = dir_ + "/c.log";
  const pid_t p = Consumer(redis, "c", log);
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log).find("retrying in") != std::string::npos; }, 30))
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find(Cat("redis 127.0.0.1:", port, ": Connection refused")),
            std::string::npos)
      << ReadFile(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(::waitpid(p, nullptr, WNOHANG), 0) << "the consumer must keep retrying";
  ASSERT_TRUE(redis.Start());
  auto c = RedisClient::Connect(redis.address(), 5000);
  ASSERT_TRUE(c.ok());
  // The consumer creates the group when it connects; entries added before that are read too
  // (the group starts at 0).
  Produce(c->get(), 0, 100);
  ASSERT_TRUE(WaitFor([&] { return Len(c->get(), "out") == 100; }, 60)) << ReadFile(log);
  ::kill(p, SIGTERM);
  const int status = WaitExit(p, 20);
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("connected to redis"), std::string::npos);
}

TEST_F(RedisTest, MalformedEntriesGetErrorRecordsNotLost) {
  RedisServer redis(dir_);
  ASSERT_TRUE(redis.Start());
  auto c = RedisClient::Connect(redis.address(), 5000);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Command({"XADD", "in", "*", "sender", "+447700900123"}).ok());  // no text
  ASSERT_TRUE((*c)->Command({"XADD", "in", "*", "json", "{not json"}).ok());
  ASSERT_TRUE((*c)->Command({"XADD", "in", "*", "json", R"({"text":"fine","sender":"BANK"})"}).ok());
  const pid_t p = Consumer(redis, "c", dir_ + "/c.log", {"--idle-exit-ms", "1000"});
  ASSERT_NE(WaitExit(p, 60), -1) << ReadFile(dir_ + "/c.log");
  auto r = (*c)->Command({"XRANGE", "out", "-", "+"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->elements.size(), 3u);
  std::string all;
  for (const RedisReply& e : r->elements) all += e.elements[1].elements[3].str + "\n";
  EXPECT_NE(all.find("\"error\":\"no text or payload\""), std::string::npos) << all;
  EXPECT_NE(all.find("invalid JSON"), std::string::npos) << all;
  EXPECT_NE(all.find("\"sender\":\"bank\""), std::string::npos) << all;
}

TEST_F(RedisTest, SharedBehaviourStateAcrossEngines) {
  RedisServer redis(dir_);
  ASSERT_TRUE(redis.Start());
  SignalOptions o;
  o.rate_threshold = 10;
  o.dispersion_threshold = 8;
  auto e1 = SignalEngine::Create(o, NewRedisBehaviourStore(redis.address(), o, "t:", 2000));
  auto e2 = SignalEngine::Create(o, NewRedisBehaviourStore(redis.address(), o, "t:", 2000));
  ASSERT_TRUE(e1.ok() && e2.ok());
  std::vector<Match> out;
  for (int i = 0; i < 10; ++i) {
    SmsRecord r;
    r.sender = "+447700900123";
    r.recipient = Cat("+4477009001", 10 + i);
    r.text = Cat("hello ", i);
    auto m = BuildMessage(r);
    out.clear();
    // Alternate nodes: each sees only half the traffic, the shared state sees all of it.
    SignalEngine* e = (i % 2 ? e1 : e2)->get();
    ASSERT_TRUE(e->Observe(ExtractFeatures(*m), 5000, &out).ok());
  }
  bool rate = false, disp = false;
  for (const Match& m : out) {
    rate |= m.id == "SMS_SENDER_RATE";
    disp |= m.id == "SMS_SENDER_DISPERSION";
  }
  EXPECT_TRUE(rate);
  EXPECT_TRUE(disp);
  // Redis goes away: Observe says so, the signals that need no store still work.
  redis.Kill();
  SmsRecord r;
  r.sender = "+447700900123";
  r.recipient = "+447700900999";
  r.text = "x";
  auto m = BuildMessage(r);
  out.clear();
  absl::Status s = (*e1)->Observe(ExtractFeatures(*m), 5001, &out);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(std::string(s.message()).find("redis 127.0.0.1:"), std::string::npos) << s;
}

TEST(RedisUrl, Parse) {
  auto a = ParseRedisUrl("redis://:pw@10.0.0.1:6380/2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  EXPECT_EQ(a->password, "pw");
  EXPECT_EQ(ParseRedisUrl("unix:/run/redis.sock")->unix_path, "/run/redis.sock");
  for (const char* bad : {"", "http://x", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h/x", "unix:"}) {
    EXPECT_FALSE(ParseRedisUrl(bad).ok()) << bad;
  }
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace veto::mobile
