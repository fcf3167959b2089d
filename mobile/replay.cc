#include "mobile/replay.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

#include <condition_variable>
#include <mutex>
#include "core/json.h"
#include "core/strings.h"

namespace veto::mobile {
namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The time a record is evaluated at: its own when the feed has one, else the wall clock's.
int64_t RecordTime(const SmsRecord& r, int64_t wall_now) {
  return r.has_time ? r.timestamp_unix : wall_now;
}

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace {

// AppendVerdictNumber at `p` (at most 32 bytes); returns the end.
char* WriteVerdictNumber(double v, char* p) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  // Three decimals are plenty for scores; trailing zeros trimmed.
  const double k = std::round(v * 1000);
  const double r = k / 1000;
  if (r != 0 && std::fabs(k) < 1e6) {
    // |r| < 1000 with at most three decimals: std::to_chars' shortest form is then the fixed
    // notation of k / 1000 with trailing zeros trimmed (a decimal of at most 9 significant
    // digits is the shortest that reads back as r, and never longer than the scientific
    // form). Written directly: to_chars of a double was a visible share of the output stage.
    int64_t n = static_cast<int64_t>(k);
    if (n < 0) {
      *p++ = '-';
      n = -n;
    }
    p = std::to_chars(p, p + 24, n / 1000).ptr;
    int frac = static_cast<int>(n % 1000);
    if (frac != 0) {
      *p++ = '.';
      *p++ = static_cast<char>('0' + frac / 100);
      frac %= 100;
      if (frac != 0) {
        *p++ = static_cast<char>('0' + frac / 10);
        frac %= 10;
        if (frac != 0) *p++ = static_cast<char>('0' + frac);
      }
    }
    return p;
  }
  auto [end, ec] = std::to_chars(p, p + 32, r);
  if (ec != std::errc()) {
    *p = '0';
    return p + 1;
  }
  return end;
}

}  // namespace

void AppendVerdictNumber(double v, std::string* out) {
  char buf[32];
  out->append(buf, WriteVerdictNumber(v, buf));
}

namespace {

// Writes a string literal at p (its length known at compile time); returns the end.
template <size_t N>
char* Put(char* p, const char (&literal)[N]) {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}

char* PutInt(int64_t v, char* p) { return std::to_chars(p, p + 24, v).ptr; }

char* PutView(std::string_view s, char* p) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

void ReplayCounters::Merge(const ReplayCounters& o) {
  messages += o.messages;
  for (size_t i = 0; i < actions.size(); ++i) actions[i] += o.actions[i];
  reported += o.reported;
  tp += o.tp;
  fp += o.fp;
  fn += o.fn;
  tn += o.tn;
  unlabeled += o.unlabeled;
  signal_errors += o.signal_errors;
  for (const auto& [k, v] : o.hits) hits[k] += v;
  build_ns += o.build_ns;
  signals_ns += o.signals_ns;
  evaluate_ns += o.evaluate_ns;
  match_ns += o.match_ns;
  classify_ns += o.classify_ns;
  policy_ns += o.policy_ns;
  output_ns += o.output_ns;
  parse_ns += o.parse_ns;
  write_ns += o.write_ns;
}

VerdictEvaluator::VerdictEvaluator(const config::Pipeline& pipeline, SignalEngine* signals,
                                   bool profile)
    : pipeline_(pipeline), signals_(signals), ctx_(pipeline.NewContext()), profile_(profile) {
  extra_.reserve(8);
}

void VerdictEvaluator::ObserveSignals(const Message& message, int64_t now_s,
                                      std::vector<Match>* extra, ReplayCounters* c) {
  extra->clear();
  if (signals_ == nullptr) return;
  ExtractFeaturesInto(message, signals_->options().duplicate_min_words, &features_);
  if (!signals_->Observe(features_, now_s, extra).ok()) ++c->signal_errors;
}

void VerdictEvaluator::AddPipelineTimes(const config::StageTimes& st, uint64_t evaluate_ns,
                                        ReplayCounters* c) {
  c->evaluate_ns += evaluate_ns;
  c->match_ns += static_cast<uint64_t>(st.match_ns);
  c->classify_ns += static_cast<uint64_t>(st.classify_ns);
  c->policy_ns += static_cast<uint64_t>(st.policy_ns);
}

Action VerdictEvaluator::Evaluate(const SmsRecord& r, int64_t wall_now, std::string* out,
                                  ReplayCounters* c) {
  uint64_t t0 = profile_ ? NowNs() : 0;
  BuildMessageViewing(r, pipeline_.config().limits.parse, &message_);
  uint64_t t1 = profile_ ? NowNs() : 0;
  ObserveSignals(message_, RecordTime(r, wall_now), &extra_, c);
  if (profile_) {
    c->build_ns += t1 - t0;
    c->signals_ns += NowNs() - t1;
  }
  return Finish(r, message_, extra_, wall_now, out, c);
}

Action VerdictEvaluator::Finish(const SmsRecord& r, const Message& message,
                                const std::vector<Match>& extra, int64_t wall_now,
                                std::string* out, ReplayCounters* c) {
  uint64_t t2 = profile_ ? NowNs() : 0;
  config::StageTimes st;
  config::Verdict v =
      pipeline_.EvaluateTimed(message, ctx_.get(), absl::FromUnixSeconds(RecordTime(r, wall_now)),
                              profile_ ? &st : nullptr, extra);
  if (profile_) AddPipelineTimes(st, NowNs() - t2, c);
  const Action action = Write(r, v, c);
  Flush(out, c);
  return action;
}

void VerdictEvaluator::EvaluateAll(const SmsRecord* records, size_t n, int64_t wall_now,
                                   std::string* out, ReplayCounters* c) {
  if (!group_) group_ = std::make_unique<GroupSlot[]>(kGroup);
  const Message* messages[kGroup];
  const std::vector<Match>* extras[kGroup];
  absl::Time now[kGroup];
  config::Verdict verdicts[kGroup];
  const auto& parse = pipeline_.config().limits.parse;
  for (size_t begin = 0; begin < n; begin += kGroup) {
    const size_t k = std::min(kGroup, n - begin);
    const SmsRecord* rs = records + begin;
    uint64_t t0 = profile_ ? NowNs() : 0;
    for (size_t i = 0; i < k; ++i) BuildMessageViewing(rs[i], parse, &group_[i].message);
    uint64_t t1 = profile_ ? NowNs() : 0;
    // Features first (no shared state), then observed in feed order, each record's shared
    // state prefetched two records ahead (the behaviour tables are larger than the caches).
    if (signals_ != nullptr) {
      const int min_words = signals_->options().duplicate_min_words;
      for (size_t i = 0; i < k; ++i) {
        ExtractFeaturesInto(group_[i].message, min_words, &group_[i].features);
      }
      for (size_t i = 0; i < k && i < 2; ++i) signals_->Prefetch(group_[i].features);
    }
    for (size_t i = 0; i < k; ++i) {
      GroupSlot& g = group_[i];
      const int64_t now_s = RecordTime(rs[i], wall_now);
      g.extra.clear();
      if (signals_ != nullptr) {
        if (i + 2 < k) signals_->Prefetch(group_[i + 2].features);
        if (!signals_->Observe(g.features, now_s, &g.extra).ok()) ++c->signal_errors;
      }
      messages[i] = &g.message;
      extras[i] = &g.extra;
      now[i] = absl::FromUnixSeconds(now_s);
    }
    uint64_t t2 = profile_ ? NowNs() : 0;
    config::StageTimes st;
    pipeline_.EvaluateGroup(messages, k, ctx_.get(), now, extras, profile_ ? &st : nullptr,
                            verdicts);
    if (profile_) {
      c->build_ns += t1 - t0;
      c->signals_ns += t2 - t1;
      AddPipelineTimes(st, NowNs() - t2, c);
    }
    for (size_t i = 0; i < k; ++i) Write(rs[i], verdicts[i], c);
  }
  const uint64_t t3 = profile_ ? NowNs() : 0;
  Flush(out, c);
  if (profile_) c->output_ns += NowNs() - t3;
}

char* VerdictEvaluator::JsonBuffer::Reserve(size_t n) {
  if (cap_ - size_ < n) {
    const size_t cap = std::max(n + size_, 2 * cap_);
    std::unique_ptr<char[]> grown(new char[cap]);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    cap_ = cap;
  }
  return data_.get() + size_;
}

VerdictEvaluator::IdEntry& VerdictEvaluator::Id(std::string_view id) {
  auto [it, inserted] = id_index_.try_emplace(std::make_pair(id.data(), id.size()), ids_.size());
  if (inserted) {
    IdEntry e;
    e.id = id;
    e.key.resize(JsonWriter::QuotedBound(id.size()) + 1);
    char* p = JsonWriter::WriteQuoted(id, e.key.data());
    *p++ = ':';
    e.key.resize(static_cast<size_t>(p - e.key.data()));
    ids_.push_back(std::move(e));
  }
  return ids_[it->second];
}

void VerdictEvaluator::Flush(std::string* out, ReplayCounters* c) {
  out->append(json_.data(), json_.size());
  json_.Clear();
  for (IdEntry& e : ids_) {
    if (e.hits == 0) continue;
    c->hits[e.id] += e.hits;
    e.hits = 0;
  }
}

Action VerdictEvaluator::Write(const SmsRecord& r, const config::Verdict& v, ReplayCounters* c) {
  uint64_t t3 = profile_ ? NowNs() : 0;
  const Decision& d = v.decision;
  const Action action = d.action;
  ++c->messages;
  ++c->actions[static_cast<size_t>(action)];
  const RecipientDecision* rd = d.recipients.empty() ? nullptr : &d.recipients[0];
  const bool report = rd != nullptr && rd->report;
  c->reported += report;
  const bool spam = IsSpamAction(action);
  switch (r.label) {
    case Label::kSpam: (spam ? c->tp : c->fn)++; break;
    case Label::kHam: (spam ? c->fp : c->tn)++; break;
    case Label::kNone: c->unlabeled++; break;
  }

  // Sized once, then written through a pointer: a bound on every byte the record can take.
  size_t bound = 1024 + JsonWriter::QuotedBound(r.id.size()) +
                 JsonWriter::QuotedBound(r.sender.size()) +
                 JsonWriter::QuotedBound(r.recipient.size()) + 24 * r.part_lines.size();
  if (rd != nullptr) {
    bound += JsonWriter::QuotedBound(rd->decided_by.rule.size()) +
             JsonWriter::QuotedBound(rd->decided_by.entry.size());
  }
  for (const Match& mt : v.scores.matches) bound += JsonWriter::QuotedBound(mt.id.size()) + 96;
  char* p = json_.Reserve(bound);
  p = Put(p, "{\"line\":");
  p = PutInt(static_cast<int64_t>(r.line), p);
  if (!r.id.empty()) {
    p = Put(p, ",\"id\":");
    p = JsonWriter::WriteQuoted(r.id, p);
  }
  p = Put(p, ",\"sender\":");
  p = JsonWriter::WriteQuoted(r.sender, p);
  p = Put(p, ",\"recipient\":");
  p = JsonWriter::WriteQuoted(r.recipient, p);
  if (r.has_time) {
    p = Put(p, ",\"time\":");
    p = PutInt(r.timestamp_unix, p);
  }
  p = Put(p, ",\"score\":");
  p = WriteVerdictNumber(rd != nullptr ? rd->score : v.scores.total, p);
  p = Put(p, ",\"action\":\"");
  p = PutView(ActionName(action), p);
  p = report ? Put(p, "\",\"report\":true") : Put(p, "\",\"report\":false");
  if (rd != nullptr) {
    p = Put(p, ",\"decided_by\":{\"layer\":\"");
    p = PutView(LayerName(rd->decided_by.layer), p);
    p = Put(p, "\",\"kind\":\"");
    p = PutView(RuleKindName(rd->decided_by.kind), p);
    p = Put(p, "\",\"rule\":");
    p = JsonWriter::WriteQuoted(rd->decided_by.rule, p);
    p = Put(p, ",\"entry\":");
    p = JsonWriter::WriteQuoted(rd->decided_by.entry, p);
    *p++ = '}';
  }
  // Evidence by kind.
  for (int kind = 0; kind < 3; ++kind) {
    const MatchKind mk = static_cast<MatchKind>(kind);
    bool opened = false;
    for (const Match& mt : v.scores.matches) {
      if (mt.kind != mk || mt.hidden) continue;
      if (!opened) {
        if (kind == 0) {
          p = Put(p, ",\"rules\":{");
        } else if (kind == 1) {
          p = Put(p, ",\"models\":{");
        } else {
          p = Put(p, ",\"signals\":{");
        }
        opened = true;
      } else {
        *p++ = ',';
      }
      IdEntry& e = Id(mt.id);
      ++e.hits;
      p = PutView(e.key, p);  // "ID":
      if (mk == MatchKind::kClassifier) {
        p = Put(p, "{\"p\":");
        p = WriteVerdictNumber(mt.probability, p);
        p = Put(p, ",\"score\":");
        p = WriteVerdictNumber(mt.score, p);
        *p++ = '}';
      } else {
        p = WriteVerdictNumber(mt.score, p);
      }
    }
    if (opened) *p++ = '}';
  }
  if (r.label != Label::kNone) {
    p = Put(p, ",\"label\":\"");
    p = PutView(LabelName(r.label), p);
    *p++ = '"';
  }
  if (!r.part_lines.empty()) {
    p = Put(p, ",\"parts\":[");
    for (size_t i = 0; i < r.part_lines.size(); ++i) {
      if (i) *p++ = ',';
      p = PutInt(static_cast<int64_t>(r.part_lines[i]), p);
    }
    *p++ = ']';
  }
  if (r.flags != 0) {
    p = Put(p, ",\"flags\":[");
    bool first = true;
    for (std::string_view f : SmsFlagNames(r.flags)) {  // six short names: within the bound
      if (!first) *p++ = ',';
      first = false;
      p = JsonWriter::WriteQuoted(f, p);
    }
    *p++ = ']';
  }
  p = Put(p, "}\n");
  json_.Commit(p);
  if (profile_) c->output_ns += NowNs() - t3;
  return action;
}

namespace {

// A work unit. Batches are recycled (writer → reader): their records' texts and their output
// buffer keep their memory, so the steady state allocates nothing per record or per batch.
struct Batch {
  uint64_t seq = 0;
  std::vector<SmsRecord> records;
  std::string out;
};

// The bounded hand-over between the reader, the workers and the writer. std::mutex and
// std::condition_variable rather than absl::Mutex: Debian's Abseil has no TSan annotations,
// and the replay's threads are what ThreadSanitizer should check.
class Queues {
 public:
  Queues(size_t max_in_flight, int workers) : max_in_flight_(max_in_flight), workers_(workers) {}

  // Reader: blocks while too many batches are in flight.
  void PushWork(std::unique_ptr<Batch> b) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return in_flight_ < max_in_flight_ || abort_; });
    ++in_flight_;
    work_.push_back(std::move(b));
    work_ready_.notify_one();
  }
  void CloseWork() {
    std::lock_guard<std::mutex> lock(mu_);
    work_closed_ = true;
    work_ready_.notify_all();
  }
  // Worker: nullptr when closed and empty (or aborted).
  std::unique_ptr<Batch> PopWork() {
    std::unique_lock<std::mutex> lock(mu_);
    work_ready_.wait(lock, [&] { return !work_.empty() || work_closed_ || abort_; });
    if (work_.empty() || abort_) return nullptr;
    auto b = std::move(work_.front());
    work_.pop_front();
    return b;
  }
  void PushDone(std::unique_ptr<Batch> b) {
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(std::move(b));
    done_ready_.notify_one();
  }
  void WorkerExit() {
    std::lock_guard<std::mutex> lock(mu_);
    ++workers_done_;
    done_ready_.notify_one();
  }
  // Writer: nullptr when every worker has exited and nothing is left.
  std::unique_ptr<Batch> PopDone() {
    std::unique_lock<std::mutex> lock(mu_);
    done_ready_.wait(lock, [&] { return !done_.empty() || workers_done_ == workers_; });
    if (done_.empty()) return nullptr;
    auto b = std::move(done_.front());
    done_.pop_front();
    return b;
  }
  void Retire() {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    space_.notify_one();
  }
  // Writer: a written batch, for the reader to fill again.
  void Recycle(std::unique_ptr<Batch> b) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(b));
  }
  // Reader: a recycled batch, or nullptr.
  std::unique_ptr<Batch> TakeFree() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return nullptr;
    std::unique_ptr<Batch> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    abort_ = true;
    space_.notify_all();
    work_ready_.notify_all();
  }
  bool aborted() {
    std::lock_guard<std::mutex> lock(mu_);
    return abort_;
  }

 private:
  std::mutex mu_;  // guards everything below
  std::condition_variable space_, work_ready_, done_ready_;
  const size_t max_in_flight_;
  const int workers_;
  size_t in_flight_ = 0;
  std::deque<std::unique_ptr<Batch>> work_;
  std::deque<std::unique_ptr<Batch>> done_;
  std::vector<std::unique_ptr<Batch>> free_;  // at most the batches in flight
  bool work_closed_ = false;
  int workers_done_ = 0;
  bool abort_ = false;
};

}  // namespace

absl::StatusOr<ReplaySummary> Replay(FeedReader& reader, const config::Pipeline& pipeline,
                                     SignalEngine* signals, int out_fd,
                                     const ReplayOptions& options) {
  ReplaySummary summary;
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  summary.threads = threads;
  const size_t batch_size = options.speed > 0 ? 1 : std::max<size_t>(options.batch, 1);
  auto error_sink = options.error_sink ? options.error_sink : [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
  };

  Queues q(static_cast<size_t>(threads) * 4 + 4, threads);
  std::vector<ReplayCounters> counters(threads);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  const uint64_t start_ns = NowNs();

  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      VerdictEvaluator ev(pipeline, signals, options.profile);
      while (std::unique_ptr<Batch> b = q.PopWork()) {
        const int64_t wall = WallSeconds();
        b->out.reserve(b->records.size() * 384);
        ev.EvaluateAll(b->records.data(), b->records.size(), wall, &b->out, &counters[t]);
        q.PushDone(std::move(b));  // the records stay, to be filled again
      }
      q.WorkerExit();
    });
  }

  // The writer: in order (reorder buffer) or as batches finish.
  absl::Status write_status;
  uint64_t write_ns = 0;  // the writer's, with options.profile
  std::thread writer([&] {
    auto write_all = [&](std::string_view data) {
      const uint64_t t0 = options.profile ? NowNs() : 0;
      const bool ok = WriteAll(out_fd, data);
      if (options.profile) write_ns += NowNs() - t0;
      return ok;
    };
    std::map<uint64_t, std::unique_ptr<Batch>> pending;
    uint64_t next = 0;
    while (std::unique_ptr<Batch> b = q.PopDone()) {
      if (!options.ordered) {
        if (write_status.ok() && !write_all(b->out)) {
          write_status = absl::InternalError(Cat("write error: ", std::strerror(errno)));
          q.Abort();
        }
        b->out.clear();
        q.Recycle(std::move(b));
        q.Retire();
        continue;
      }
      pending.emplace(b->seq, std::move(b));
      while (!pending.empty() && pending.begin()->first == next) {
        std::unique_ptr<Batch>& written = pending.begin()->second;
        if (write_status.ok() && !write_all(written->out)) {
          write_status = absl::InternalError(Cat("write error: ", std::strerror(errno)));
          q.Abort();
        }
        written->out.clear();
        q.Recycle(std::move(written));
        pending.erase(pending.begin());
        ++next;
        q.Retire();
      }
    }
  });

  // The reader (this thread).
  Reassembler reassembler(options.reassembly);
  SmsRecord rec;  // what the reader parses into
  std::vector<SmsRecord> ready;
  auto batch = std::make_unique<Batch>();
  batch->records.reserve(batch_size);
  size_t filled = 0;  // records of `batch` filled; those after it are recycled ones
  uint64_t seq = 0;
  size_t error_lines = 0;
  bool paced_start = false;
  int64_t feed_t0 = 0;
  uint64_t wall_t0 = 0;
  uint64_t last_progress = start_ns;
  auto flush = [&] {
    if (filled == 0) return;
    batch->records.resize(filled);  // drops recycled records left over
    batch->seq = seq++;
    q.PushWork(std::move(batch));
    batch = q.TakeFree();
    if (batch == nullptr) {
      batch = std::make_unique<Batch>();
      batch->records.reserve(batch_size);
    }
    filled = 0;
  };
  auto take_ready = [&] {
    for (SmsRecord& r : ready) {
      if (options.speed > 0 && r.has_time) {
        if (!paced_start) {
          paced_start = true;
          feed_t0 = r.timestamp_unix;
          wall_t0 = NowNs();
        }
        const double offset_ns =
            static_cast<double>(r.timestamp_unix - feed_t0) * 1e9 / options.speed;
        const uint64_t target = wall_t0 + static_cast<uint64_t>(std::max(0.0, offset_ns));
        const uint64_t now = NowNs();
        if (target > now) {
          flush();
          std::this_thread::sleep_for(std::chrono::nanoseconds(target - now));
        }
      }
      // Into the batch; a recycled record found in its place comes back to be parsed into.
      if (filled < batch->records.size()) {
        SmsRecord& slot = batch->records[filled];
        std::string spare = std::move(slot.text);
        slot = std::move(r);
        r.text = std::move(spare);  // only the text's memory matters (the rest is short)
      } else {
        batch->records.push_back(std::move(r));
      }
      if (++filled >= batch_size) flush();
    }
    if (!ready.empty()) {
      // One of the records now in `ready` is the next to parse into: its text's memory is
      // reused (unless a long text made it big: memory stays bounded by ordinary texts).
      rec.text = std::move(ready.back().text);  // Next resets every other field
      if (rec.text.capacity() > 4096) rec.text = std::string();
    }
    ready.clear();
  };

  FeedError err;
  uint64_t parse_ns = 0;  // reader.Next and the reassembler, with options.profile
  while (!q.aborted()) {
    const uint64_t parse_t0 = options.profile ? NowNs() : 0;
    const FeedReader::Result res = reader.Next(&rec, &err);
    if (res == FeedReader::kEnd) break;
    if (res == FeedReader::kError) {
      if (error_lines++ < options.max_error_lines) {
        error_sink(Cat(options.feed_name, ":", err.line, ": ", err.message, "\n"));
      }
      if (options.strict) {
        summary.stopped_strict = true;
        summary.feed_status = absl::InvalidArgumentError(
            Cat(options.feed_name, ":", err.line, ": ", err.message, " (--strict: stopped)"));
        break;
      }
      continue;
    }
    absl::Status added = reassembler.Add(std::move(rec), &ready);
    if (options.profile) parse_ns += NowNs() - parse_t0;
    if (absl::Status s = std::move(added); !s.ok()) {
      ++summary.errors;  // a duplicate part: counted with the feed errors
      if (error_lines++ < options.max_error_lines) {
        error_sink(Cat(options.feed_name, ":", reader.lines(), ": ", s.message(), "\n"));
      }
      if (options.strict) {
        summary.stopped_strict = true;
        summary.feed_status = absl::InvalidArgumentError(
            Cat(options.feed_name, ":", reader.lines(), ": ", s.message(), " (--strict: stopped)"));
        break;
      }
    }
    take_ready();
    if (options.progress) {
      const uint64_t now = NowNs();
      if (now - last_progress > 1000000000ull) {
        last_progress = now;
        error_sink(Cat("\rreplay: ", reader.records(), " records, ", reader.errors(), " errors, ",
                       static_cast<uint64_t>(reader.records() / ((now - start_ns) / 1e9)),
                       " records/s   "));
      }
    }
  }
  if (!summary.stopped_strict) {
    reassembler.Flush(&ready);
    take_ready();
  }
  flush();
  q.CloseWork();
  for (std::thread& w : workers) w.join();
  writer.join();
  if (options.progress) error_sink("\n");
  if (error_lines > options.max_error_lines) {
    error_sink(Cat(options.feed_name, ": ", error_lines - options.max_error_lines,
                   " more errors not shown\n"));
  }

  summary.seconds = (NowNs() - start_ns) / 1e9;
  summary.lines = reader.lines();
  summary.records = reader.records();
  summary.errors += reader.errors();
  summary.blank_lines = reader.blank_lines();
  summary.header_lines = reader.header_lines();
  summary.reassembly = reassembler.stats();
  for (const ReplayCounters& c : counters) summary.counters.Merge(c);
  summary.counters.parse_ns += parse_ns;
  summary.counters.write_ns += write_ns;
  if (signals != nullptr) {
    summary.signals = signals->Stats();
    summary.behaviour = signals->BehaviourState();
  }
  if (summary.feed_status.ok() && !reader.io_status().ok()) {
    summary.feed_status = reader.io_status();
  }
  if (!write_status.ok()) return write_status;
  return summary;
}

namespace {

std::vector<std::pair<std::string_view, uint64_t>> TopHits(const ReplayCounters& c, size_t n) {
  std::vector<std::pair<std::string_view, uint64_t>> v(c.hits.begin(), c.hits.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double Ratio(uint64_t a, uint64_t b) { return b == 0 ? 0 : static_cast<double>(a) / b; }

}  // namespace

std::string SummaryText(const ReplaySummary& s, size_t top_rules) {
  const ReplayCounters& c = s.counters;
  std::string o;
  const double rate = s.seconds > 0 ? c.messages / s.seconds : 0;
  o += Cat("replay: ", c.messages, " verdicts in ", Fixed(s.seconds, 3), " s (",
           Fixed(rate, 0), " msgs/s, ", s.threads, " threads)\n");
  o += Cat("feed: ", s.lines, " lines, ", s.records, " records, ", s.errors, " errors, ",
           s.blank_lines, " blank, ", s.header_lines, " header\n");
  if (s.reassembly.parts > 0) {
    o += Cat("concatenated: ", s.reassembly.parts, " parts → ", s.reassembly.messages,
             " complete + ", s.reassembly.incomplete, " incomplete messages (",
             s.reassembly.evicted, " pushed out by caps), ", s.reassembly.duplicate_parts,
             " duplicate parts\n");
  }
  o += "actions:";
  for (size_t i = 0; i < c.actions.size(); ++i) {
    if (c.actions[i]) o += Cat(" ", ActionName(static_cast<Action>(i)), "=", c.actions[i]);
  }
  o += Cat(" (report: ", c.reported, ")\n");
  std::vector<std::pair<std::string_view, uint64_t>> top = TopHits(c, top_rules);
  if (!top.empty()) {
    o += "top rules:";
    for (const auto& [id, n] : top) o += Cat(" ", id, "=", n);
    o += "\n";
  }
  if (c.tp + c.fp + c.fn + c.tn > 0) {
    const double precision = Ratio(c.tp, c.tp + c.fp);
    const double recall = Ratio(c.tp, c.tp + c.fn);
    const double fpr = Ratio(c.fp, c.fp + c.tn);
    o += Cat("labels: precision ", Fixed(precision, 4), ", recall ", Fixed(recall, 4), ", FPR ",
             Fixed(fpr, 4), " (spam = any action but deliver; ", c.unlabeled, " unlabeled)\n");
    o += "confusion:        predicted spam  predicted ham\n";
    o += Cat("  labelled spam   ", c.tp, std::string(16 - std::min<size_t>(15, std::to_string(c.tp).size()), ' '), c.fn, "\n");
    o += Cat("  labelled ham    ", c.fp, std::string(16 - std::min<size_t>(15, std::to_string(c.fp).size()), ' '), c.tn, "\n");
  }
  if (s.signals.messages > 0) {
    o += Cat("signals: ", s.behaviour.senders, " senders, ", s.behaviour.fingerprints,
             " fingerprints in state (", s.behaviour.memory_bytes, " bytes); fired:");
    for (int i = 0; i < 8; ++i) {
      if (s.signals.fired[i]) o += Cat(" ", kSignalIds[i], "=", s.signals.fired[i]);
    }
    if (c.signal_errors) o += Cat("; store errors ", c.signal_errors);
    o += "\n";
  }
  if (c.build_ns + c.evaluate_ns > 0 && c.messages > 0) {
    const double n = static_cast<double>(c.messages);
    const uint64_t total = c.parse_ns + c.build_ns + c.signals_ns + c.match_ns +
                           c.classify_ns + c.policy_ns + c.output_ns + c.write_ns;
    auto stage = [&](std::string_view name, uint64_t ns) {
      return Cat(name, " ", Fixed(ns / n, 0), " (",
                 Fixed(total ? 100.0 * static_cast<double>(ns) / total : 0, 0), "%)");
    };
    o += Cat("stages (ns/msg; parse on the reader thread, write on the writer, the rest in the "
             "workers): ",
             stage("parse", c.parse_ns), ", ", stage("build", c.build_ns), ", ",
             stage("signals", c.signals_ns), ", ", stage("match", c.match_ns), ", ",
             stage("classify", c.classify_ns), ", ", stage("policy", c.policy_ns), ", ",
             stage("output", c.output_ns), ", ", stage("write", c.write_ns), "\n");
  }
  if (!s.feed_status.ok()) o += Cat("feed ended early: ", s.feed_status.message(), "\n");
  return o;
}

std::string SummaryJson(const ReplaySummary& s, size_t top_rules) {
  const ReplayCounters& c = s.counters;
  JsonWriter w;
  w.BeginObject();
  w.Key("verdicts");
  w.Int(static_cast<int64_t>(c.messages));
  w.Key("seconds");
  w.Number(s.seconds);
  w.Key("msgs_per_s");
  w.Number(s.seconds > 0 ? c.messages / s.seconds : 0);
  w.Key("threads");
  w.Int(s.threads);
  w.Key("lines");
  w.Int(static_cast<int64_t>(s.lines));
  w.Key("records");
  w.Int(static_cast<int64_t>(s.records));
  w.Key("errors");
  w.Int(static_cast<int64_t>(s.errors));
  w.Key("parts");
  w.Int(static_cast<int64_t>(s.reassembly.parts));
  w.Key("incomplete");
  w.Int(static_cast<int64_t>(s.reassembly.incomplete));
  w.Key("actions");
  w.BeginObject();
  for (size_t i = 0; i < c.actions.size(); ++i) {
    if (!c.actions[i]) continue;
    w.Key(ActionName(static_cast<Action>(i)));
    w.Int(static_cast<int64_t>(c.actions[i]));
  }
  w.EndObject();
  w.Key("top_rules");
  w.BeginObject();
  for (const auto& [id, n] : TopHits(c, top_rules)) {
    w.Key(id);
    w.Int(static_cast<int64_t>(n));
  }
  w.EndObject();
  if (c.tp + c.fp + c.fn + c.tn > 0) {
    w.Key("precision");
    w.Number(Ratio(c.tp, c.tp + c.fp));
    w.Key("recall");
    w.Number(Ratio(c.tp, c.tp + c.fn));
    w.Key("fpr");
    w.Number(Ratio(c.fp, c.fp + c.tn));
    w.Key("confusion");
    w.BeginObject();
    w.Key("tp");
    w.Int(static_cast<int64_t>(c.tp));
    w.Key("fp");
    w.Int(static_cast<int64_t>(c.fp));
    w.Key("fn");
    w.Int(static_cast<int64_t>(c.fn));
    w.Key("tn");
    w.Int(static_cast<int64_t>(c.tn));
    w.EndObject();
  }
  w.Key("signal_senders");
  w.Int(static_cast<int64_t>(s.behaviour.senders));
  w.Key("signal_state_bytes");
  w.Int(static_cast<int64_t>(s.behaviour.memory_bytes));
  w.Key("feed_ok");
  w.Bool(s.feed_status.ok());
  w.EndObject();
  return w.Take();
}

}  // namespace veto::mobile
