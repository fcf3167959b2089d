// veto/mobile/redis_store.h — behaviour counters kept in Redis, so every node of a consumer
// group sees the same sender's volume and fan-out (signals.h's BehaviourStore interface).
//
// One Lua script per message (one round trip) updates and reads:
//   PREFIX r:SENDER            hash: rate bucket → count (sliding window, HINCRBY + trim)
//   PREFIX d:SENDER:WINDOW     HyperLogLog of recipients (PFADD / PFCOUNT)
//   PREFIX f:FINGERPRINT:WINDOW  HyperLogLog of recipients of near-identical text
// Every key has a TTL of about its window, so Redis memory stays bounded by the active
// senders; Redis's own maxmemory policy is the hard cap. Keys of one message live in
// different hash slots: use a single Redis (or a cluster with one shard per prefix).
//
//   auto store = NewRedisBehaviourStore(address, options, "veto:", 2000);
//   auto engine = SignalEngine::Create(options, std::move(store));
//
// When Redis cannot be reached, Observe returns Unavailable at once (a reconnect is tried
// at most every 500 ms) and the engine still scores the signals that need no counters.
//
// Thread-safety: safe for concurrent use (a pool of connections, one per concurrent caller).
#ifndef VETO_MOBILE_REDIS_STORE_H_
#define VETO_MOBILE_REDIS_STORE_H_

#include <memory>
#include <string>

#include "mobile/redis.h"
#include "mobile/signals.h"

namespace veto::mobile {

std::unique_ptr<BehaviourStore> NewRedisBehaviourStore(const RedisAddress& address,
                                                       const SignalOptions& options,
                                                       std::string prefix, int timeout_ms);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_REDIS_STORE_H_
