#include "mobile/redis_store.h"

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <vector>

#include <mutex>
#include "core/strings.h"

namespace veto::mobile {
namespace {

// KEYS: rate hash, dispersion HLL, duplicate HLL ("" when unused)
// ARGV: bucket, buckets, bucket_width, recipient ("" none), disp_ttl, dup_ttl, has_sender,
//       dispersion threshold, duplicate threshold
// A distinct count is cached next to its HyperLogLog (KEY..":n") and frozen once it reaches
// the threshold: the signal fires for the rest of the window anyway, and a dense HLL's
// PFCOUNT after every PFADD would cost Redis tens of microseconds per message.
constexpr char kObserveScript[] = R"lua(
local function distinct(key, member, ttl, threshold)
  local ck = key .. ':n'
  local cached = tonumber(redis.call('GET', ck) or '0')
  if cached >= threshold then return cached end
  if member ~= '' and redis.call('PFADD', key, member) == 1 then
    cached = redis.call('PFCOUNT', key)
    redis.call('SET', ck, cached, 'EX', ttl)
    redis.call('EXPIRE', key, ttl)
  end
  return cached
end
local rate, disp, dup = 0, 0, 0
local bucket = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
if ARGV[7] == '1' then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) * (n + 1))
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b > bucket - n then
      rate = rate + tonumber(all[i + 1])
    else
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
  disp = distinct(KEYS[2], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[8]))
end
if KEYS[3] ~= '' and ARGV[4] ~= '' then
  dup = distinct(KEYS[3], ARGV[4], tonumber(ARGV[6]), tonumber(ARGV[9]))
end
return {rate, disp, dup}
)lua";

constexpr int kBuckets = 12;

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Hex64(uint64_t v) {
  char buf[17];
  for (int i = 15; i >= 0; --i) {
    buf[i] = "0123456789abcdef"[v & 0xF];
    v >>= 4;
  }
  return std::string(buf, 16);
}

class RedisBehaviourStore : public BehaviourStore {
 public:
  RedisBehaviourStore(RedisAddress a, const SignalOptions& o, std::string prefix, int timeout_ms)
      : address_(std::move(a)), o_(o), prefix_(std::move(prefix)), timeout_ms_(timeout_ms) {}

  absl::Status Observe(const BehaviourQuery& q, BehaviourCounts* out) override {
    *out = BehaviourCounts();
    absl::StatusOr<std::unique_ptr<RedisClient>> c = Acquire();
    if (!c.ok()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      return c.status();
    }
    std::vector<std::string> argv;
    Args(q, &argv);
    std::vector<std::string_view> keys(argv.begin(), argv.begin() + 3);
    std::vector<std::string_view> args(argv.begin() + 3, argv.end());
    absl::StatusOr<RedisReply> r = (*c)->Eval(kObserveScript, keys, args);
    if (!r.ok()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      if (!(*c)->broken()) Release(std::move(*c));
      else MarkDown();
      return r.status();
    }
    Release(std::move(*c));
    if (r->type == RedisReply::kArray && r->elements.size() == 3) {
      out->rate = static_cast<uint32_t>(r->elements[0].integer);
      out->recipients = static_cast<uint32_t>(r->elements[1].integer);
      out->duplicate_recipients = static_cast<uint32_t>(r->elements[2].integer);
    }
    return absl::OkStatus();
  }

  absl::Status ObserveBatch(const std::vector<BehaviourQuery>& qs,
                            std::vector<BehaviourCounts>* out) override {
    out->assign(qs.size(), BehaviourCounts());
    if (qs.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<RedisClient>> c = Acquire();
    if (!c.ok()) {
      errors_.fetch_add(qs.size(), std::memory_order_relaxed);
      return c.status();
    }
    // SCRIPT LOAD first (a no-op when cached), then one EVALSHA per message, one round trip.
    std::vector<std::vector<std::string>> storage;
    storage.reserve(qs.size() + 1);
    storage.push_back({"SCRIPT", "LOAD", kObserveScript});
    const std::string sha = Sha1Hex(kObserveScript);
    for (const BehaviourQuery& q : qs) {
      std::vector<std::string> argv = {"EVALSHA", sha, "3"};
      Args(q, &argv);
      storage.push_back(std::move(argv));
    }
    std::vector<std::vector<std::string_view>> cmds;
    cmds.reserve(storage.size());
    for (const auto& a : storage) cmds.emplace_back(a.begin(), a.end());
    absl::StatusOr<std::vector<RedisReply>> r = (*c)->Pipeline(cmds);
    if (!r.ok()) {
      errors_.fetch_add(qs.size(), std::memory_order_relaxed);
      MarkDown();
      return r.status();
    }
    Release(std::move(*c));
    for (size_t i = 0; i < qs.size(); ++i) {
      const RedisReply& x = (*r)[i + 1];
      if (x.type == RedisReply::kError) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        return absl::InternalError(Cat("redis ", address_.ToString(), ": script: ", x.str));
      }
      if (x.type == RedisReply::kArray && x.elements.size() == 3) {
        (*out)[i].rate = static_cast<uint32_t>(x.elements[0].integer);
        (*out)[i].recipients = static_cast<uint32_t>(x.elements[1].integer);
        (*out)[i].duplicate_recipients = static_cast<uint32_t>(x.elements[2].integer);
      }
    }
    return absl::OkStatus();
  }

  BehaviourStats Stats() const override {
    BehaviourStats s;
    s.errors = errors_.load();
    return s;
  }

 private:
  // keys and arguments of the script for `q`, appended to argv.
  void Args(const BehaviourQuery& q, std::vector<std::string>* argv) const {
    const int64_t width = std::max<int64_t>(o_.rate_window_seconds / kBuckets, 1);
    const int64_t disp_window = q.now / std::max<int64_t>(o_.dispersion_window_seconds, 1);
    const int64_t dup_window = q.now / std::max<int64_t>(o_.duplicate_window_seconds, 1);
    const std::string sender(q.sender);
    argv->push_back(Cat(prefix_, "r:", sender));
    argv->push_back(Cat(prefix_, "d:", sender, ":", disp_window));
    argv->push_back(q.fingerprint ? Cat(prefix_, "f:", Hex64(q.fingerprint), ":", dup_window)
                                  : std::string());
    argv->push_back(std::to_string(q.now / width));
    argv->push_back(std::to_string(kBuckets));
    argv->push_back(std::to_string(width));
    argv->push_back(q.recipient_hash ? Hex64(q.recipient_hash) : std::string());
    argv->push_back(std::to_string(o_.dispersion_window_seconds + 60));
    argv->push_back(std::to_string(o_.duplicate_window_seconds + 60));
    argv->push_back(q.sender.empty() ? "0" : "1");
    argv->push_back(std::to_string(o_.dispersion_threshold));
    argv->push_back(std::to_string(o_.duplicate_threshold));
  }

  absl::StatusOr<std::unique_ptr<RedisClient>> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        auto c = std::move(pool_.back());
        pool_.pop_back();
        return c;
      }
      if (MonotonicMs() < retry_after_ms_) {
        return absl::UnavailableError(Cat("redis ", address_.ToString(), ": ", last_error_));
      }
    }
    absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Connect(address_, timeout_ms_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!c.ok()) {
      retry_after_ms_ = MonotonicMs() + 500;
      last_error_ = std::string(c.status().message());
      if (!down_) {
        // Said once per outage, not per message: the counters are off until Redis is back.
        std::fprintf(stderr,
                     "veto: %s; behaviour counters unavailable (signals that need none still "
                     "score), retrying every 0.5 s\n",
                     last_error_.c_str());
        down_ = true;
      }
    } else if (down_) {
      std::fprintf(stderr, "veto: redis %s: connected again; behaviour counters back\n",
                   address_.ToString().c_str());
      down_ = false;
    }
    return c;
  }
  void Release(std::unique_ptr<RedisClient> c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(c));
  }
  void MarkDown() {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.clear();  // a broken connection usually means all of them are
  }

  const RedisAddress address_;
  const SignalOptions o_;
  const std::string prefix_;
  const int timeout_ms_;
  std::mutex mu_;  // guards pool_, retry_after_ms_, last_error_, down_
  std::vector<std::unique_ptr<RedisClient>> pool_;
  int64_t retry_after_ms_ = 0;
  std::string last_error_;
  bool down_ = false;
  std::atomic<uint64_t> errors_{0};
};

}  // namespace

std::unique_ptr<BehaviourStore> NewRedisBehaviourStore(const RedisAddress& address,
                                                       const SignalOptions& options,
                                                       std::string prefix, int timeout_ms) {
  return std::make_unique<RedisBehaviourStore>(address, options, std::move(prefix), timeout_ms);
}

}  // namespace veto::mobile
