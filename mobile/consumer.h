// veto/mobile/consumer.h — a Redis Streams consumer: `veto sms consume`.
//
//   producer ─XADD─▶ stream S ─XREADGROUP (group G)─▶ consumer 1 ─┐  one Lua script per batch:
//                              └─XAUTOCLAIM (idle)──▶ consumer 2 ─┴▶ SET NX done:<id>, XADD V, XACK
//
// Any number of consumers share a stream through one consumer group. Delivery is at least
// once: an entry is acknowledged (XACK) only in the same atomic script that writes its verdict
// to the output stream V, and entries a dead consumer left pending are claimed by the others
// after `claim_idle_ms` (XAUTOCLAIM). The script also sets a per-entry "done" key (with a
// TTL), so an entry processed twice (claimed while its first consumer was merely slow) still
// gets exactly one verdict record; the second is counted as a duplicate (in the stats and in
// the Redis counter PREFIXstats:duplicates).
//
// Stream entries carry the JSONL feed fields as field/value pairs (text, sender, recipient,
// time, id, payload, data_coding, ...; feed.h), or one field `json` holding a JSONL object.
// A malformed entry gets an error verdict record {"stream_id":..,"error":".."} and is acked,
// so nothing is lost or retried forever. Concatenated parts are scored one by one here (parts
// of one message may reach different consumers).
//
// When Redis is unreachable or restarts, the consumer says so on stderr and retries with
// backoff (100 ms doubling to 5 s) until `stop` is set; it never exits on its own then.
//
// Thread-safety: RunConsumer runs in the calling thread; `stop` may be set from another.
#ifndef VETO_MOBILE_CONSUMER_H_
#define VETO_MOBILE_CONSUMER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "config/pipeline.h"
#include "mobile/feed.h"
#include "mobile/redis.h"
#include "mobile/signals.h"

namespace veto::mobile {

struct ConsumerOptions {
  std::string stream;       // S
  std::string group;        // G (created with MKSTREAM from the start of the stream if absent)
  std::string consumer;     // this consumer's name; "" = host-pid
  std::string out_stream;   // V
  std::string prefix = "veto:";  // done keys and counters
  int batch = 100;          // entries per XREADGROUP
  int block_ms = 500;       // XREADGROUP BLOCK
  int64_t claim_idle_ms = 30000;  // pending this long → claimed from its consumer
  int64_t done_ttl_seconds = 86400;  // how long "done" markers de-duplicate
  int timeout_ms = 2000;    // connect / command timeout (must exceed block_ms)
  int64_t idle_exit_ms = 0;  // > 0: return once nothing new, nothing pending for this long
  int64_t max_entries = 0;   // > 0: return after this many entries (tests, benchmarks)
  FeedOptions feed;          // limits for the records
  email::ParseOptions parse;  // limits for the Message (config limits.parse)
  std::function<void(std::string_view)> log;  // status lines (default stderr)
};

struct ConsumerStats {
  uint64_t entries = 0;      // entries processed (verdict or error record attempted)
  uint64_t verdicts = 0;     // verdict records written by this consumer
  uint64_t errors = 0;       // malformed entries (error records written)
  uint64_t duplicates = 0;   // entries another consumer had already answered
  uint64_t claimed = 0;      // entries taken over with XAUTOCLAIM
  uint64_t reconnects = 0;
  uint64_t redis_errors = 0;
  double seconds = 0;
};

// Runs until `stop` is set (or idle_exit_ms / max_entries say so). Errors: InvalidArgument
// for bad options; everything Redis-related is retried, not returned.
absl::Status RunConsumer(const RedisAddress& address, const ConsumerOptions& options,
                         const config::Pipeline& pipeline, SignalEngine* signals,
                         const std::atomic<bool>& stop, ConsumerStats* stats);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_CONSUMER_H_
