#include "mobile/redis_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/strings.h"

namespace veto::mobile {
namespace {

// KEYS: rate hash, dispersion HLL, duplicate HLL (or "" entries when unused)
// ARGV: bucket, buckets, bucket_width, recipient ("" none), disp_ttl, dup_ttl, has_sender
constexpr char kObserveScript[] = R"lua(
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
  if ARGV[4] ~= '' then redis.call('PFADD', KEYS[2], ARGV[4]) end
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
  disp = redis.call('PFCOUNT', KEYS[2])
end
if KEYS[3] ~= '' and ARGV[4] ~= '' then
  redis.call('PFADD', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
  dup = redis.call('PFCOUNT', KEYS[3])
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
    const int64_t width = std::max<int64_t>(o_.rate_window_seconds / kBuckets, 1);
    const int64_t bucket = q.now / width;
    const int64_t disp_window = q.now / std::max<int64_t>(o_.dispersion_window_seconds, 1);
    const int64_t dup_window = q.now / std::max<int64_t>(o_.duplicate_window_seconds, 1);
    const std::string sender(q.sender);
    const std::string k1 = Cat(prefix_, "r:", sender);
    const std::string k2 = Cat(prefix_, "d:", sender, ":", disp_window);
    const std::string k3 = q.fingerprint ? Cat(prefix_, "f:", Hex64(q.fingerprint), ":", dup_window)
                                         : std::string();
    const std::string a1 = std::to_string(bucket);
    const std::string a2 = std::to_string(kBuckets);
    const std::string a3 = std::to_string(width);
    const std::string a4 = q.recipient_hash ? Hex64(q.recipient_hash) : std::string();
    const std::string a5 = std::to_string(o_.dispersion_window_seconds + 60);
    const std::string a6 = std::to_string(o_.duplicate_window_seconds + 60);
    absl::StatusOr<RedisReply> r = (*c)->Eval(
        kObserveScript, {k1, k2, k3}, {a1, a2, a3, a4, a5, a6, q.sender.empty() ? "0" : "1"});
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

  BehaviourStats Stats() const override {
    BehaviourStats s;
    s.errors = errors_.load();
    return s;
  }

 private:
  absl::StatusOr<std::unique_ptr<RedisClient>> Acquire() {
    {
      absl::MutexLock lock(&mu_);
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
    if (!c.ok()) {
      absl::MutexLock lock(&mu_);
      retry_after_ms_ = MonotonicMs() + 500;
      last_error_ = std::string(c.status().message());
    }
    return c;
  }
  void Release(std::unique_ptr<RedisClient> c) {
    absl::MutexLock lock(&mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(c));
  }
  void MarkDown() {
    absl::MutexLock lock(&mu_);
    pool_.clear();  // a broken connection usually means all of them are
  }

  const RedisAddress address_;
  const SignalOptions o_;
  const std::string prefix_;
  const int timeout_ms_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<RedisClient>> pool_ ABSL_GUARDED_BY(mu_);
  int64_t retry_after_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> errors_{0};
};

}  // namespace

std::unique_ptr<BehaviourStore> NewRedisBehaviourStore(const RedisAddress& address,
                                                       const SignalOptions& options,
                                                       std::string prefix, int timeout_ms) {
  return std::make_unique<RedisBehaviourStore>(address, options, std::move(prefix), timeout_ms);
}

}  // namespace veto::mobile
