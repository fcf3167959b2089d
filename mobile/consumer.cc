#include "mobile/consumer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "core/json.h"
#include "core/json_line.h"
#include "core/strings.h"
#include "mobile/replay.h"

namespace veto::mobile {
namespace {

// Writes each verdict once (the done marker), acknowledges every entry, counts duplicates.
// KEYS: out stream, in stream, duplicates counter. ARGV: group, done TTL, prefix, then
// (entry id, verdict) pairs.
constexpr char kCommitScript[] = R"lua(
local dups = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('SET', ARGV[3] .. 'done:' .. KEYS[2] .. ':' .. id, '1', 'NX', 'EX', ARGV[2]) then
    redis.call('XADD', KEYS[1], '*', 'stream_id', id, 'verdict', ARGV[i + 1])
  else
    dups = dups + 1
  end
  redis.call('XACK', KEYS[2], ARGV[1], id)
end
if dups > 0 then redis.call('INCRBY', KEYS[3], dups) end
return dups
)lua";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Entry {
  std::string id;
  bool deleted = false;  // claimed but no longer in the stream
  std::vector<std::pair<std::string, std::string>> fields;
};

// [[id, [f, v, ...]], ...] → entries.
void ParseEntries(const RedisReply& list, std::vector<Entry>* out) {
  if (list.type != RedisReply::kArray) return;
  for (const RedisReply& e : list.elements) {
    if (e.type != RedisReply::kArray || e.elements.size() < 2) continue;
    Entry entry;
    entry.id = e.elements[0].str;
    const RedisReply& f = e.elements[1];
    if (f.type != RedisReply::kArray) {
      entry.deleted = true;
    } else {
      for (size_t i = 0; i + 1 < f.elements.size(); i += 2) {
        entry.fields.emplace_back(f.elements[i].str, f.elements[i + 1].str);
      }
    }
    out->push_back(std::move(entry));
  }
}

class Consumer {
 public:
  Consumer(const RedisAddress& a, const ConsumerOptions& o, const config::Pipeline& p,
           SignalEngine* s, const std::atomic<bool>& stop, ConsumerStats* stats)
      : address_(a), o_(o), signals_(s), evaluator_(p, s), stop_(stop), stats_(stats) {
    if (o_.consumer.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      o_.consumer = Cat(host, "-", getpid());
    }
    log_ = o_.log ? o_.log : [](std::string_view l) {
      std::fwrite(l.data(), 1, l.size(), stderr);
    };
  }

  absl::Status Run() {
    const int64_t start = NowMs();
    int64_t backoff_ms = 100;
    int64_t idle_since = NowMs();
    int64_t last_claim = 0;
    bool announced_down = false;
    while (!stop_.load()) {
      if (o_.max_entries > 0 && stats_->entries >= static_cast<uint64_t>(o_.max_entries)) break;
      if (client_ == nullptr || client_->broken()) {
        absl::Status s = Connect();
        if (!s.ok()) {
          ++stats_->redis_errors;
          log_(Cat("veto sms consume: ", s.message(), "; retrying in ", backoff_ms, " ms\n"));
          announced_down = true;
          SleepMs(backoff_ms);
          backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
          continue;
        }
        if (announced_down) {
          log_(Cat("veto sms consume: connected to redis ", address_.ToString(), "\n"));
          announced_down = false;
        }
        backoff_ms = 100;
      }
      std::vector<Entry> entries;
      absl::Status s;
      bool claimed = false;
      const int64_t now = NowMs();
      if (now - last_claim >= std::max<int64_t>(o_.claim_idle_ms / 2, 50)) {
        last_claim = now;
        s = Claim(&entries);
        claimed = !entries.empty();
      }
      if (s.ok() && entries.empty()) s = Read(&entries);
      if (s.ok() && !entries.empty()) s = Process(entries, claimed);
      if (!s.ok()) {
        ++stats_->redis_errors;
        if (absl::IsUnavailable(s)) {
          log_(Cat("veto sms consume: ", s.message(), "; reconnecting\n"));
          announced_down = true;
          client_.reset();
          ++stats_->reconnects;
          continue;
        }
        if (s.message().find("NOGROUP") != std::string_view::npos) {
          // The stream or group vanished (a Redis restart without persistence): recreate.
          log_(Cat("veto sms consume: ", s.message(), "; recreating the group\n"));
          client_.reset();
          continue;
        }
        log_(Cat("veto sms consume: ", s.message(), "\n"));
        SleepMs(100);
        continue;
      }
      if (!entries.empty()) {
        idle_since = NowMs();
      } else if (o_.idle_exit_ms > 0 && NowMs() - idle_since >= o_.idle_exit_ms) {
        absl::StatusOr<long long> pending = PendingCount();
        if (pending.ok() && *pending == 0) break;
        if (pending.ok()) idle_since = NowMs() - o_.idle_exit_ms / 2;
      }
    }
    stats_->seconds = (NowMs() - start) / 1000.0;
    return absl::OkStatus();
  }

 private:
  void SleepMs(int64_t ms) {
    const int64_t until = NowMs() + ms;
    while (!stop_.load() && NowMs() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, ms)));
    }
  }

  absl::Status Connect() {
    client_.reset();
    absl::StatusOr<std::unique_ptr<RedisClient>> c =
        RedisClient::Connect(address_, std::max(o_.timeout_ms, o_.block_ms + 1000));
    if (!c.ok()) return c.status();
    client_ = std::move(*c);
    absl::StatusOr<RedisReply> r =
        client_->Command({"XGROUP", "CREATE", o_.stream, o_.group, "0", "MKSTREAM"});
    if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string_view::npos) {
      absl::Status s = r.status();
      if (client_->broken()) client_.reset();
      return absl::IsUnavailable(s) ? s : absl::UnavailableError(s.message());
    }
    return absl::OkStatus();
  }

  absl::Status Claim(std::vector<Entry>* out) {
    const std::string idle = std::to_string(o_.claim_idle_ms);
    const std::string count = std::to_string(o_.batch);
    absl::StatusOr<RedisReply> r = client_->Command({"XAUTOCLAIM", o_.stream, o_.group,
                                                     o_.consumer, idle, claim_cursor_, "COUNT",
                                                     count});
    if (!r.ok()) return r.status();
    if (r->type != RedisReply::kArray || r->elements.size() < 2) return absl::OkStatus();
    claim_cursor_ = r->elements[0].str.empty() ? "0-0" : r->elements[0].str;
    ParseEntries(r->elements[1], out);
    if (r->elements.size() >= 3 && r->elements[2].type == RedisReply::kArray) {
      // Entries deleted from the stream while pending: acknowledge them, nothing to score.
      for (const RedisReply& id : r->elements[2].elements) {
        (void)client_->Command({"XACK", o_.stream, o_.group, id.str});
      }
    }
    stats_->claimed += out->size();
    return absl::OkStatus();
  }

  absl::Status Read(std::vector<Entry>* out) {
    const std::string count = std::to_string(o_.batch);
    const std::string block = std::to_string(o_.block_ms);
    absl::StatusOr<RedisReply> r =
        client_->Command({"XREADGROUP", "GROUP", o_.group, o_.consumer, "COUNT", count, "BLOCK",
                          block, "STREAMS", o_.stream, ">"});
    if (!r.ok()) return r.status();
    if (r->type != RedisReply::kArray) return absl::OkStatus();  // timeout: nil
    for (const RedisReply& stream : r->elements) {
      if (stream.type == RedisReply::kArray && stream.elements.size() == 2) {
        ParseEntries(stream.elements[1], out);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<long long> PendingCount() {
    absl::StatusOr<RedisReply> r = client_->Command({"XPENDING", o_.stream, o_.group});
    if (!r.ok()) return r.status();
    if (r->type == RedisReply::kArray && !r->elements.empty()) return r->elements[0].integer;
    return 0;
  }

  // Builds the record of one entry; false with *error for a malformed one.
  bool ToRecord(const Entry& e, SmsRecord* rec, std::string* error) {
    RawFields raw;
    std::vector<JsonField> json;
    bool replaced = false;
    for (const auto& [k, v] : e.fields) {
      if (k == "json") {
        absl::Status s = ParseJsonLine(v, &json, &replaced);
        if (s.ok()) s = JsonFieldsToRaw(json, &raw);
        if (!s.ok()) {
          *error = std::string(s.message());
          return false;
        }
        continue;
      }
      if (std::optional<FeedField> f = FeedFieldFromName(k)) raw.Set(*f, v);
    }
    *rec = SmsRecord();
    absl::Status s = AssembleRecord(raw, o_.feed, rec);
    if (!s.ok()) {
      *error = std::string(s.message());
      return false;
    }
    if (replaced) rec->flags |= kSmsReplacedChars;
    if (rec->id.empty()) rec->id = e.id;
    return true;
  }

  absl::Status Process(const std::vector<Entry>& entries, bool claimed) {
    (void)claimed;
    std::vector<std::string> verdicts(entries.size());
    const int64_t wall = WallSeconds();
    // Build every record and message first, so the behaviour counters of the whole batch
    // take one store round trip (SignalEngine::ObserveBatch).
    std::vector<SmsRecord> recs(entries.size());
    std::vector<std::unique_ptr<Message>> msgs(entries.size());
    std::vector<MessageFeatures> features;
    features.reserve(entries.size());
    std::vector<const MessageFeatures*> fptr;
    std::vector<int64_t> times;
    std::vector<size_t> which;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (e.deleted) {
        verdicts[i] = Cat("{\"stream_id\":\"", e.id, "\",\"error\":\"entry deleted\"}");
        continue;
      }
      std::string error;
      if (!ToRecord(e, &recs[i], &error)) {
        ++stats_->errors;
        std::string& line = verdicts[i];
        line = "{\"stream_id\":";
        JsonWriter::AppendQuoted(e.id, &line);
        line += ",\"error\":";
        JsonWriter::AppendQuoted(error, &line);
        line += "}";
        continue;
      }
      msgs[i] = BuildMessage(recs[i], o_.parse);
      if (signals_ != nullptr) {
        features.push_back(ExtractFeatures(*msgs[i], signals_->options().duplicate_min_words));
        times.push_back(recs[i].has_time ? recs[i].timestamp_unix : wall);
      }
      which.push_back(i);
    }
    std::vector<std::vector<Match>> extra(which.size());
    if (signals_ != nullptr && !which.empty()) {
      for (const MessageFeatures& f : features) fptr.push_back(&f);
      if (absl::Status s = signals_->ObserveBatch(fptr, times, &extra); !s.ok()) {
        // Counters unavailable (Redis down): score with the signals that need none.
        counters_.signal_errors += which.size();
      }
    }
    for (size_t k = 0; k < which.size(); ++k) {
      const size_t i = which[k];
      std::string line;
      evaluator_.Finish(recs[i], *msgs[i], extra[k], wall, &line, &counters_);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      // {"line":0,... → {"stream_id":"ID",...
      std::string prefixed = "{\"stream_id\":";
      JsonWriter::AppendQuoted(entries[i].id, &prefixed);
      const size_t comma = line.find(',');
      prefixed.append(line, comma == std::string::npos ? 1 : comma, std::string::npos);
      verdicts[i] = std::move(prefixed);
    }
    const std::string ttl = std::to_string(o_.done_ttl_seconds);
    const std::string counter = Cat(o_.prefix, "stats:duplicates");
    std::vector<std::string_view> args = {o_.group, ttl, o_.prefix};
    for (size_t i = 0; i < entries.size(); ++i) {
      args.push_back(entries[i].id);
      args.push_back(verdicts[i]);
    }
    absl::StatusOr<RedisReply> r =
        client_->Eval(kCommitScript, {o_.out_stream, o_.stream, counter}, args);
    if (!r.ok()) return r.status();  // not acked: redelivered (claimed) later
    const uint64_t dups = static_cast<uint64_t>(std::max<long long>(r->integer, 0));
    stats_->entries += entries.size();
    stats_->duplicates += dups;
    stats_->verdicts += entries.size() - dups;
    return absl::OkStatus();
  }

  const RedisAddress address_;
  ConsumerOptions o_;
  SignalEngine* signals_;
  VerdictEvaluator evaluator_;
  ReplayCounters counters_;
  const std::atomic<bool>& stop_;
  ConsumerStats* stats_;
  std::function<void(std::string_view)> log_;
  std::unique_ptr<RedisClient> client_;
  std::string claim_cursor_ = "0-0";
};

}  // namespace

absl::Status RunConsumer(const RedisAddress& address, const ConsumerOptions& options,
                         const config::Pipeline& pipeline, SignalEngine* signals,
                         const std::atomic<bool>& stop, ConsumerStats* stats) {
  if (options.stream.empty() || options.group.empty() || options.out_stream.empty()) {
    return absl::InvalidArgumentError("consume needs --stream, --group and --out-stream");
  }
  if (options.stream == options.out_stream) {
    return absl::InvalidArgumentError("--out-stream must differ from --stream");
  }
  if (options.batch < 1 || options.batch > 100000) {
    return absl::InvalidArgumentError("--batch: expected 1..100000");
  }
  Consumer c(address, options, pipeline, signals, stop, stats);
  return c.Run();
}

}  // namespace veto::mobile
