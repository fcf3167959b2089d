// veto/mobile/replay.h — SMS feed replay: feed → reassembly → signals → pipeline → verdicts.
//
//   feed reader ──batches──▶ N workers (BuildMessage, signals, Pipeline::Evaluate, JSON) ──▶ writer
//   (this thread:            (one Pipeline::Context each)                                 (in feed order,
//    read, reassemble,                                                                      or as done with
//    pace by --speed)                                                                       `unordered`)
//
// One JSON Lines verdict per message (VerdictEvaluator::Evaluate documents the fields); every
// feed record is a verdict, a part of one (its line is in `parts`), or a counted error.
//
//   ReplayOptions o;
//   absl::StatusOr<ReplaySummary> s = Replay(reader, pipeline, signals.get(), out_fd, o);
//   fputs(SummaryText(*s).c_str(), stderr);
//
// Thread-safety: Replay runs its own threads; the Pipeline and SignalEngine are shared.
#ifndef VETO_MOBILE_REPLAY_H_
#define VETO_MOBILE_REPLAY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "config/pipeline.h"
#include "core/decision.h"
#include "mobile/feed.h"
#include "mobile/reassembly.h"
#include "mobile/signals.h"

namespace veto::mobile {

// What a run counted. Mergeable (one per worker, summed at the end).
struct ReplayCounters {
  uint64_t messages = 0;  // verdicts written
  std::array<uint64_t, static_cast<size_t>(Action::kCount_)> actions{};
  uint64_t reported = 0;  // decisions with the report side effect
  uint64_t tp = 0, fp = 0, fn = 0, tn = 0, unlabeled = 0;
  uint64_t signal_errors = 0;  // behaviour store errors (signals then partial)
  absl::flat_hash_map<std::string_view, uint64_t> hits;  // rule/signal/model id → messages
  // Stage times (ns), with `profile` only.
  uint64_t build_ns = 0, signals_ns = 0, evaluate_ns = 0, output_ns = 0;
  uint64_t match_ns = 0, classify_ns = 0, policy_ns = 0;  // parts of evaluate_ns
  // Outside the workers (Replay fills them): the reader thread's feed parsing and reassembly,
  // and the writer thread's write() calls.
  uint64_t parse_ns = 0, write_ns = 0;
  void Merge(const ReplayCounters& o);
};

// True if `a` counts as "classified spam" for precision/recall: anything but deliver/accept.
constexpr bool IsSpamAction(Action a) { return a != Action::kDeliver && a != Action::kAccept; }

// Turns one record into one verdict line. One per thread (owns a Pipeline::Context).
class VerdictEvaluator {
 public:
  VerdictEvaluator(const config::Pipeline& pipeline, SignalEngine* signals, bool profile = false);

  // Evaluates `r` at `now` (the record's time if it has one, else `wall_now`) and appends
  //   {"line":12,"id":"17","sender":"+447700900123","recipient":"+447700900999",
  //    "time":1714557600,"score":13.3,"action":"block","report":true,
  //    "decided_by":{"layer":"none","kind":"threshold","rule":"thresholds","entry":"block"},
  //    "rules":{"VETO_SMS_WON_PRIZE":1.8,...},"signals":{"SMS_SENDER_RATE":2},
  //    "models":{"sms_nb":{"p":0.98,"score":4.1}},"label":"spam","parts":[12,13],
  //    "flags":["incomplete"]}
  // ("id" absent when the feed has none; "label", "parts", "flags", "time" when present)
  // plus "\n" to *out. Returns the decision's action.
  Action Evaluate(const SmsRecord& r, int64_t wall_now, std::string* out, ReplayCounters* c);

  // Evaluate for records[0..n) in turn — the same verdicts, appended in the same order, and
  // the signals observed in the same order — but stage by stage over groups of kGroup
  // records (build every message, observe every message's signals, then the pipeline's
  // rules, classifier and policy each over the group, then write the verdicts), so each
  // stage's code and tables stay in the caches across the group. The replay workers use it.
  void EvaluateAll(const SmsRecord* records, size_t n, int64_t wall_now, std::string* out,
                   ReplayCounters* c);
  static constexpr size_t kGroup = 64;

  // The second half of Evaluate, for callers that built `message` from `r` and computed its
  // signals (`extra`) themselves (the Redis consumer does both for a whole batch).
  Action Finish(const SmsRecord& r, const Message& message, const std::vector<Match>& extra,
                int64_t wall_now, std::string* out, ReplayCounters* c);

 private:
  // Clears *extra and, with signals, observes the message at now_s into it.
  void ObserveSignals(const Message& message, int64_t now_s, std::vector<Match>* extra,
                      ReplayCounters* c);
  // Adds the pipeline's stage times (profile) to *c.
  static void AddPipelineTimes(const config::StageTimes& st, uint64_t evaluate_ns,
                               ReplayCounters* c);
  // Counts the verdict and appends its JSON line to json_.
  Action Write(const SmsRecord& r, const config::Verdict& v, ReplayCounters* c);
  // Appends json_ to *out and adds the rule hits counted since the last flush to c->hits.
  void Flush(std::string* out, ReplayCounters* c);

  // The verdict lines of one group, written through a pointer into memory sized per record.
  class JsonBuffer {
   public:
    // Room for n more bytes at the returned pointer; Commit(end) keeps what was written.
    char* Reserve(size_t n);
    void Commit(char* end) { size_ = static_cast<size_t>(end - data_.get()); }
    const char* data() const { return data_.get(); }
    size_t size() const { return size_; }
    void Clear() { size_ = 0; }

   private:
    std::unique_ptr<char[]> data_;
    size_t size_ = 0, cap_ = 0;
  };
  // A match id seen in a verdict: its JSON key (quoted, with the colon) written once, and
  // its hits since the last Flush. Match ids live as long as the pipeline (core/match.h), so
  // one is known by where it points.
  struct IdEntry {
    std::string_view id;
    std::string key;
    uint64_t hits = 0;
  };
  IdEntry& Id(std::string_view id);

  struct GroupSlot {
    Message message;
    MessageFeatures features;
    std::vector<Match> extra;
  };

  const config::Pipeline& pipeline_;
  SignalEngine* signals_;
  std::unique_ptr<config::Pipeline::Context> ctx_;
  Message message_;  // rebuilt for every record (BuildMessageViewing), its memory reused
  std::vector<Match> extra_;
  MessageFeatures features_;  // ObserveSignals', its memory reused
  std::unique_ptr<GroupSlot[]> group_;  // EvaluateAll's messages, made on first use
  bool profile_;
  JsonBuffer json_;
  std::vector<IdEntry> ids_;
  absl::flat_hash_map<std::pair<const char*, size_t>, size_t> id_index_;  // → ids_
};

struct ReplayOptions {
  std::string feed_name = "-";  // for error messages: "feed.tsv:12: ..."
  ReassemblyOptions reassembly;
  int threads = 0;              // 0: hardware concurrency
  bool ordered = true;          // verdicts in feed order (else as finished)
  double speed = 0;             // > 0: pace by feed timestamps, `speed` times real time
  bool strict = false;          // stop at the first bad record
  size_t batch = 512;           // records per work unit
  size_t max_error_lines = 100;  // printed; the rest only counted
  bool progress = false;        // a progress line on stderr every second
  bool profile = false;         // time the stages (adds ~5 clock reads per message)
  // Where error lines go (default stderr).
  std::function<void(std::string_view)> error_sink;
};

struct ReplaySummary {
  uint64_t lines = 0, records = 0, errors = 0, blank_lines = 0, header_lines = 0;
  ReassemblyStats reassembly;
  ReplayCounters counters;
  SignalStats signals;
  BehaviourStats behaviour;
  double seconds = 0;
  int threads = 0;
  absl::Status feed_status;  // a read error or a strict stop ended the feed early
  bool stopped_strict = false;
};

// Runs the replay, writing verdicts to `out_fd`. Returns the summary (its feed_status says
// whether the feed was read to the end) or an error if the output could not be written.
absl::StatusOr<ReplaySummary> Replay(FeedReader& reader, const config::Pipeline& pipeline,
                                     SignalEngine* signals, int out_fd,
                                     const ReplayOptions& options);

// How verdicts write scores and probabilities: rounded to three decimals, in std::to_chars'
// shortest form ("13.3", "0.998", "-1.5", "0"; "null" if not finite). Exposed for tests.
void AppendVerdictNumber(double v, std::string* out);

// The summary for people (counts per action, top rules, msgs/s, precision/recall/FPR and
// the confusion matrix when labels exist).
std::string SummaryText(const ReplaySummary& s, size_t top_rules = 10);
// The same as one JSON object.
std::string SummaryJson(const ReplaySummary& s, size_t top_rules = 20);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_REPLAY_H_
