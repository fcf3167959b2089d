// The SMS path stage by stage, on the SMS Spam Collection (dev split), held in memory:
//
//   parse (feed reader) → build (Message, FinishPlainTextMessage) → features (SimHash, URLs,
//   call-back numbers) → signals (behaviour state + intelligence) → match (rules) → policy →
//   output (verdict JSON)  — and the whole replay end to end over 2 threads.
//
// Senders and recipients are synthesised (the corpus has none): 50,000 senders, 1,000,000
// recipients, so the behaviour state sees realistic key spread. Each benchmark reports
// items/s = messages/s. `BM_BehaviourStateBytes` prints the bytes of behaviour state per
// active sender.
//
//   build/bin/mobile_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "config/pipeline.h"
#include "core/json.h"
#include "core/strings.h"
#include "mobile/feed.h"
#include "mobile/replay.h"
#include "mobile/signals.h"
#include "mobile/sms.h"

namespace {

using namespace veto;
using namespace veto::mobile;

const std::string& CorpusText() {
  static const std::string* text = [] {
    std::ifstream in(VETO_SHARED_DIR "/corpora/sms/sms_spam_collection_dev.tsv");
    std::stringstream ss;
    ss << in.rdbuf();
    return new std::string(ss.str());
  }();
  return *text;
}

// The corpus as JSONL with synthetic senders and recipients, repeated to ~100k records.
const std::string& JsonlFeed() {
  static const std::string* feed = [] {
    auto* out = new std::string;
    std::vector<std::string> lines;
    for (std::string_view l : Split(CorpusText(), '\n')) lines.emplace_back(l);
    uint64_t n = 0;
    for (int rep = 0; rep < 23; ++rep) {
      for (const std::string& l : lines) {
        const size_t tab = l.find('\t');
        std::string text = l.substr(tab + 1);
        std::string esc;
        JsonWriter::AppendQuoted(text, &esc);
        ++n;
        *out += Cat("{\"id\":", n, ",\"sender\":\"+4477", 10000000 + (n * 7919) % 50000,
                    "\",\"recipient\":\"+4479", 10000000 + (n * 104729) % 1000000,
                    "\",\"time\":", 1714557600 + n / 100, ",\"label\":\"", l.substr(0, tab),
                    "\",\"text\":", esc, "}\n");
      }
    }
    return out;
  }();
  return *feed;
}

std::vector<SmsRecord> Records() {
  FeedOptions o;
  o.format = FeedFormat::kJsonl;
  auto r = FeedReader::FromSource(StringByteSource(JsonlFeed()), o);
  std::vector<SmsRecord> out;
  SmsRecord rec;
  FeedError err;
  while ((*r)->Next(&rec, &err) != FeedReader::kEnd) out.push_back(rec);
  return out;
}

const std::vector<SmsRecord>& CachedRecords() {
  static const auto* r = new std::vector<SmsRecord>(Records());
  return *r;
}

std::shared_ptr<const config::Pipeline> LabPipeline() {
  static std::shared_ptr<const config::Pipeline> p = [] {
    // Consent on for everyone, so content rules and the classifier count (the lab setting).
    auto c = config::ParseConfig("[operator.consent]\ndefault = true\n", "bench.toml");
    if (!c.ok()) std::abort();
    auto built = config::Pipeline::Build(*c);
    if (!built.ok()) {
      std::fprintf(stderr, "%s\n", std::string(built.status().message()).c_str());
      std::abort();
    }
    return *built;
  }();
  return p;
}

void SetItems(benchmark::State& state, int64_t per_iter) {
  state.SetItemsProcessed(state.iterations() * per_iter);
}

void BM_Parse_Jsonl(benchmark::State& state) {
  const std::string& feed = JsonlFeed();
  int64_t n = 0;
  for (auto _ : state) {
    FeedOptions o;
    o.format = FeedFormat::kJsonl;
    auto r = FeedReader::FromSource(StringByteSource(feed), o);
    SmsRecord rec;
    FeedError err;
    n = 0;
    while ((*r)->Next(&rec, &err) != FeedReader::kEnd) ++n;
  }
  SetItems(state, n);
  state.SetBytesProcessed(state.iterations() * feed.size());
}
BENCHMARK(BM_Parse_Jsonl)->Unit(benchmark::kMillisecond);

void BM_Parse_Tsv(benchmark::State& state) {
  const std::string& feed = CorpusText();
  int64_t n = 0;
  for (auto _ : state) {
    auto r = FeedReader::FromSource(StringByteSource(feed), FeedOptions{});
    SmsRecord rec;
    FeedError err;
    n = 0;
    while ((*r)->Next(&rec, &err) != FeedReader::kEnd) ++n;
  }
  SetItems(state, n);
  state.SetBytesProcessed(state.iterations() * feed.size());
}
BENCHMARK(BM_Parse_Tsv)->Unit(benchmark::kMillisecond);

void BM_Build(benchmark::State& state) {
  const auto& recs = CachedRecords();
  size_t i = 0;
  for (auto _ : state) {
    auto m = BuildMessage(recs[i++ % recs.size()]);
    benchmark::DoNotOptimize(m.get());
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Build);

// The same into one reused Message (what the replay's workers do).
void BM_BuildInto(benchmark::State& state) {
  const auto& recs = CachedRecords();
  Message m;
  size_t i = 0;
  for (auto _ : state) {
    BuildMessageInto(recs[i++ % recs.size()], {}, &m);
    benchmark::DoNotOptimize(m.body.data());
  }
  SetItems(state, 1);
}
BENCHMARK(BM_BuildInto);

void BM_Features(benchmark::State& state) {
  const auto& recs = CachedRecords();
  std::vector<std::unique_ptr<Message>> ms;
  for (size_t i = 0; i < 4460; ++i) ms.push_back(BuildMessage(recs[i]));
  size_t i = 0;
  for (auto _ : state) {
    MessageFeatures f = ExtractFeatures(*ms[i++ % ms.size()]);
    benchmark::DoNotOptimize(f.fingerprint);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Features);

void BM_SimHash(benchmark::State& state) {
  const auto& recs = CachedRecords();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(SimHash(recs[i++ % 4460].text));
  SetItems(state, 1);
}
BENCHMARK(BM_SimHash);

void BM_Signals(benchmark::State& state) {
  const auto& recs = CachedRecords();
  std::vector<std::unique_ptr<Message>> ms;
  std::vector<MessageFeatures> fs;
  for (size_t i = 0; i < recs.size(); ++i) ms.push_back(BuildMessage(recs[i]));
  for (auto& m : ms) fs.push_back(ExtractFeatures(*m));
  static std::unique_ptr<SignalEngine> engine;
  if (state.thread_index() == 0) engine = *SignalEngine::Create(SignalOptions{});
  std::vector<Match> out;
  size_t i = state.thread_index() * 7777;
  for (auto _ : state) {
    out.clear();
    const size_t k = i++ % fs.size();
    (void)engine->Observe(fs[k], recs[k].timestamp_unix, &out);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Signals)->Threads(1)->Threads(2)->UseRealTime();

void BM_Match_Rules(benchmark::State& state) {
  auto p = LabPipeline();
  const auto& recs = CachedRecords();
  std::vector<std::unique_ptr<Message>> ms;
  for (size_t i = 0; i < 4460; ++i) ms.push_back(BuildMessage(recs[i]));
  auto scratch = p->rules().NewScratch();
  size_t i = 0;
  for (auto _ : state) {
    Scores s;
    p->rules().Match(*ms[i++ % ms.size()], scratch.get(), &s);
    benchmark::DoNotOptimize(s.total);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Match_Rules);

void BM_Policy(benchmark::State& state) {
  auto p = LabPipeline();
  const auto& recs = CachedRecords();
  std::vector<std::unique_ptr<Message>> ms;
  std::vector<Scores> scores;
  auto scratch = p->rules().NewScratch();
  for (size_t i = 0; i < 4460; ++i) {
    ms.push_back(BuildMessage(recs[i]));
    scores.emplace_back();
    p->rules().Match(*ms.back(), scratch.get(), &scores.back());
  }
  size_t i = 0;
  const absl::Time now = absl::FromUnixSeconds(1714557600);
  for (auto _ : state) {
    const size_t k = i++ % ms.size();
    Decision d = p->policy().Decide(*ms[k], scores[k], now);
    benchmark::DoNotOptimize(d.action);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Policy);

void BM_Evaluate_Pipeline(benchmark::State& state) {
  auto p = LabPipeline();
  const auto& recs = CachedRecords();
  std::vector<std::unique_ptr<Message>> ms;
  for (size_t i = 0; i < 4460; ++i) ms.push_back(BuildMessage(recs[i]));
  auto ctx = p->NewContext();
  size_t i = 0;
  const absl::Time now = absl::FromUnixSeconds(1714557600);
  for (auto _ : state) {
    config::Verdict v = p->Evaluate(*ms[i++ % ms.size()], ctx.get(), now);
    benchmark::DoNotOptimize(v.decision.action);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Evaluate_Pipeline);

// Everything per message but the feed reader: build, signals, pipeline, verdict JSON.
void BM_Verdict_OneThread(benchmark::State& state) {
  auto p = LabPipeline();
  const auto& recs = CachedRecords();
  auto engine = *SignalEngine::Create(SignalOptions{});
  VerdictEvaluator ev(*p, engine.get());
  ReplayCounters c;
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    ev.Evaluate(recs[i++ % recs.size()], 1714557600, &out, &c);
  }
  SetItems(state, 1);
}
BENCHMARK(BM_Verdict_OneThread);

// The whole replay (reader, reassembly, 2 workers, ordered writer) over ~100k JSONL records
// to /dev/null.
void BM_Replay_EndToEnd(benchmark::State& state) {
  auto p = LabPipeline();
  const std::string& feed = JsonlFeed();
  const int devnull = ::open("/dev/null", O_WRONLY);
  uint64_t n = 0;
  for (auto _ : state) {
    auto engine = *SignalEngine::Create(SignalOptions{});
    FeedOptions o;
    o.format = FeedFormat::kJsonl;
    auto r = FeedReader::FromSource(StringByteSource(feed), o);
    ReplayOptions ro;
    ro.threads = static_cast<int>(state.range(0));
    auto s = Replay(**r, *p, state.range(1) ? engine.get() : nullptr, devnull, ro);
    n = s->counters.messages;
  }
  ::close(devnull);
  SetItems(state, static_cast<int64_t>(n));
}
BENCHMARK(BM_Replay_EndToEnd)
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({2, 0})
    ->ArgNames({"threads", "signals"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Bytes of behaviour state per active sender: 200,000 senders, 1-3 recipients each.
void BM_BehaviourStateBytes(benchmark::State& state) {
  for (auto _ : state) {
    SignalOptions o;
    auto store = NewMemoryBehaviourStore(o);
    const int senders = 200000;
    for (int i = 0; i < senders; ++i) {
      for (int k = 0; k < 1 + i % 3; ++k) {
        BehaviourCounts c;
        BehaviourQuery q{.sender = "x",
                         .sender_hash = StableHash(Cat("+4477", i)),
                         .recipient_hash = StableHash(Cat("+4479", i * 3 + k)) | 1,
                         .now = 1000};
        (void)store->Observe(q, &c);
      }
    }
    BehaviourStats st = store->Stats();
    state.counters["bytes_per_sender"] =
        static_cast<double>(st.memory_bytes) / static_cast<double>(st.senders);
    state.counters["senders"] = static_cast<double>(st.senders);
  }
}
BENCHMARK(BM_BehaviourStateBytes)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
