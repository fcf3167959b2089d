// Classifier throughput, one thread, data held in memory: SMS and email messages are
// normalised once up front (that cost is email_bench's), then tokenised and classified with
// the bundled models (classifiers/models/). Also: SMS normalise + classify end to end, the
// tokenizer alone, and training time on each dev corpus.
//
//   build/bin/classifiers_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "classifiers/classifier.h"
#include "classifiers/labelled_text.h"
#include "classifiers/trainer.h"
#include "cli/input.h"
#include "email/parser.h"

namespace {

using veto::Message;
namespace cl = veto::classifiers;

// Rebuilds *m from SMS text as `veto sms replay` does: one Message per thread, reset and
// normalised again for every record (its arena's memory reused).
void SmsInto(Message* m, std::string_view text) {
  m->Reset();
  m->channel = veto::Channel::kSms;
  m->sms.text = m->arena().Copy(text);
  veto::email::FinishPlainTextMessage(m);
}

std::unique_ptr<Message> Sms(std::string_view text) {
  auto m = std::make_unique<Message>();
  SmsInto(m.get(), text);
  return m;
}

const std::vector<cl::LabelledText>& SmsTexts() {
  static std::vector<cl::LabelledText> texts = [] {
    std::vector<cl::LabelledText> t;
    std::ifstream f(std::string(VETO_SHARED_DIR) + "/corpora/sms/sms_spam_collection_dev.tsv");
    std::stringstream ss;
    ss << f.rdbuf();
    std::vector<cl::FeedError> errors;
    cl::ParseLabelledTexts(ss.str(), cl::FeedFormat::kTsv, &t, &errors);
    return t;
  }();
  return texts;
}

const std::vector<std::unique_ptr<Message>>& SmsMessages() {
  static std::vector<std::unique_ptr<Message>> msgs = [] {
    std::vector<std::unique_ptr<Message>> v;
    for (const auto& t : SmsTexts()) v.push_back(Sms(t.text));
    return v;
  }();
  return msgs;
}

const std::vector<std::string>& EmailRaw() {
  static std::vector<std::string> raw = [] {
    std::vector<std::string> v;
    std::string dir = std::string(VETO_SHARED_DIR) + "/corpora/email/";
    for (const char* file : {"spamassassin_dev_ham.tar.gz", "spamassassin_dev_spam.tar.gz"}) {
      absl::Status s = veto::cli::ForEachMessage(dir + file, [&](const veto::cli::InputMessage& in) {
        v.push_back(in.bytes);
        return absl::OkStatus();
      });
      if (!s.ok()) std::fprintf(stderr, "classifiers_bench: %s\n", std::string(s.message()).c_str());
    }
    return v;
  }();
  return raw;
}

struct EmailItem {
  std::unique_ptr<Message> message;
  bool spam;
};

const std::vector<EmailItem>& EmailMessages() {
  static std::vector<EmailItem> msgs = [] {
    std::vector<EmailItem> v;
    std::string dir = std::string(VETO_SHARED_DIR) + "/corpora/email/";
    for (bool spam : {false, true}) {
      std::string file = dir + (spam ? "spamassassin_dev_spam.tar.gz" : "spamassassin_dev_ham.tar.gz");
      absl::Status s = veto::cli::ForEachMessage(file, [&](const veto::cli::InputMessage& in) {
        auto m = veto::email::ParseMessage(in.bytes);
        if (m.ok()) v.push_back({std::move(*m), spam});
        return absl::OkStatus();
      });
      if (!s.ok()) std::fprintf(stderr, "classifiers_bench: %s\n", std::string(s.message()).c_str());
    }
    return v;
  }();
  return msgs;
}

std::shared_ptr<const cl::Classifier> Model(const char* name) {
  auto c = cl::LoadClassifier(std::string(VETO_SOURCE_DIR) + "/classifiers/models/" + name,
                              cl::ClassifierOptions{});
  if (!c.ok()) {
    std::fprintf(stderr, "classifiers_bench: %s\n", std::string(c.status().message()).c_str());
    return nullptr;
  }
  return *c;
}

void Rate(benchmark::State& state, size_t per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_iteration));
  state.counters["msgs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * per_iteration), benchmark::Counter::kIsRate);
}

// Classify as the pipeline does: on messages fresh from the normaliser (in cache; iterating
// over all 4,460 prebuilt messages instead would measure cache misses on cold messages, each
// Message owning a 64 KB arena block, not the classifier). Each message is normalised (FinishPlainTextMessage into one reused Message, as the replay
// workers do; not timed) and then classified (timed by hand around Classify alone): the
// classifier sees what it sees in `veto sms replay`, a message fresh from the normaliser,
// with the normaliser's work in the caches before it. The
// hand timing includes one clock read per message (~20 ns), so the figure errs low.
void BM_SmsClassify(benchmark::State& state) {
  auto model = Model("sms.model");
  const auto& texts = SmsTexts();
  if (!model || texts.empty()) {
    state.SkipWithError("sms.model or ../shared/corpora/sms missing");
    return;
  }
  size_t next = 0, bytes = 0;
  double sum = 0;
  Message m;
  for (auto _ : state) {
    SmsInto(&m, texts[next].text);
    bytes += texts[next].text.size();
    next = (next + 1) % texts.size();
    auto t0 = std::chrono::steady_clock::now();
    sum += model->Classify(m).probability;
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  Rate(state, 1);
  state.counters["model_MB"] = model->memory_bytes() / 1048576.0;
}
BENCHMARK(BM_SmsClassify)->UseManualTime();

// This thread's CPU time: unlike the wall clock, not inflated when the scheduler runs other
// processes (the figure to quote on a shared machine). One system call, so read per batch.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The same in batches, as a pipeline that runs each stage over a batch of records does: 64
// messages normalised (untimed) into 64 reused Messages, then classified one after another
// (timed in this thread's CPU time, one clock pair per batch). Every message of the corpus in
// turn, so the branch predictors and caches see the corpus, not 64 repeats.
void BM_SmsClassifyBatch(benchmark::State& state) {
  auto model = Model("sms.model");
  const auto& texts = SmsTexts();
  if (!model || texts.empty()) {
    state.SkipWithError("sms.model or ../shared/corpora/sms missing");
    return;
  }
  constexpr size_t kBatch = 64;
  std::vector<Message> batch(kBatch);
  size_t next = 0, bytes = 0;
  double sum = 0;
  for (auto _ : state) {
    for (Message& m : batch) {
      SmsInto(&m, texts[next].text);
      bytes += texts[next].text.size();
      next = (next + 1) % texts.size();
    }
    const double t0 = ThreadCpuSeconds();
    for (const Message& m : batch) sum += model->Classify(m).probability;
    state.SetIterationTime(ThreadCpuSeconds() - t0);
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  Rate(state, kBatch);
}
BENCHMARK(BM_SmsClassifyBatch)->UseManualTime();

// The same over messages normalised beforehand and classified in a loop of 64 (hot caches):
// the classifier's own floor.
void BM_SmsClassifyHot(benchmark::State& state) {
  auto model = Model("sms.model");
  const auto& msgs = SmsMessages();
  if (!model || msgs.size() < 64) {
    state.SkipWithError("sms.model or ../shared/corpora/sms missing");
    return;
  }
  double sum = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < 64; ++i) sum += model->Classify(*msgs[i]).probability;
  }
  benchmark::DoNotOptimize(sum);
  Rate(state, 64);
}
BENCHMARK(BM_SmsClassifyHot);

void BM_SmsTokenize(benchmark::State& state) {
  auto model = Model("sms.model");
  const auto& msgs = SmsMessages();
  if (!model || msgs.empty()) {
    state.SkipWithError("sms.model or ../shared/corpora/sms missing");
    return;
  }
  cl::FeatureSet fs;
  size_t features = 0;
  for (auto _ : state) {
    for (const auto& m : msgs) {
      model->tokenizer().Tokenize(*m, &fs);
      features += fs.size();
    }
  }
  Rate(state, msgs.size());
  state.counters["features/msg"] =
      static_cast<double>(features) / (state.iterations() * msgs.size());
}
BENCHMARK(BM_SmsTokenize)->Unit(benchmark::kMillisecond);

// The SMS path as mobile/ runs it: text -> Message (FinishPlainTextMessage) -> classify.
void BM_SmsNormaliseAndClassify(benchmark::State& state) {
  auto model = Model("sms.model");
  const auto& texts = SmsTexts();
  if (!model || texts.empty()) {
    state.SkipWithError("sms.model or ../shared/corpora/sms missing");
    return;
  }
  double sum = 0;
  Message m;
  for (auto _ : state) {
    for (const auto& t : texts) {
      SmsInto(&m, t.text);
      sum += model->Classify(m).probability;
    }
  }
  benchmark::DoNotOptimize(sum);
  Rate(state, texts.size());
}
BENCHMARK(BM_SmsNormaliseAndClassify)->Unit(benchmark::kMillisecond);

// The same without classifying: the difference to BM_SmsNormaliseAndClassify is what
// classification adds to the SMS path, caches as the pipeline leaves them.
void BM_SmsNormaliseOnly(benchmark::State& state) {
  const auto& texts = SmsTexts();
  if (texts.empty()) {
    state.SkipWithError("../shared/corpora/sms missing");
    return;
  }
  size_t sum = 0;
  Message m;
  for (auto _ : state) {
    for (const auto& t : texts) {
      SmsInto(&m, t.text);
      sum += m.normalized_body.size();
    }
  }
  benchmark::DoNotOptimize(sum);
  Rate(state, texts.size());
}
BENCHMARK(BM_SmsNormaliseOnly)->Unit(benchmark::kMillisecond);

// Email tokenise + classify on freshly parsed messages (parsed untimed, in batches of 16).
void BM_EmailClassify(benchmark::State& state) {
  auto model = Model("email.model");
  const auto& raw = EmailRaw();
  if (!model || raw.empty()) {
    state.SkipWithError("email.model or ../shared/corpora/email missing");
    return;
  }
  constexpr size_t kBatch = 16;
  std::vector<std::unique_ptr<Message>> batch;
  size_t next = 0, bytes = 0;
  double sum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (size_t i = 0; i < kBatch; ++i, next = (next + 1) % raw.size()) {
      batch.push_back(*veto::email::ParseMessage(raw[next]));
      bytes += raw[next].size();
    }
    state.ResumeTiming();
    for (const auto& m : batch) sum += model->Classify(*m).probability;
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  Rate(state, kBatch);
  state.counters["model_MB"] = model->memory_bytes() / 1048576.0;
}
BENCHMARK(BM_EmailClassify);

// The whole email path for comparison: parse (email_bench's figure) + tokenise + classify.
void BM_EmailParseAndClassify(benchmark::State& state) {
  auto model = Model("email.model");
  const auto& raw = EmailRaw();
  if (!model || raw.empty()) {
    state.SkipWithError("email.model or ../shared/corpora/email missing");
    return;
  }
  double sum = 0;
  size_t bytes = 0;
  for (const auto& r : raw) bytes += r.size();
  for (auto _ : state) {
    for (const auto& r : raw) sum += model->Classify(**veto::email::ParseMessage(r)).probability;
  }
  benchmark::DoNotOptimize(sum);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  Rate(state, raw.size());
}
BENCHMARK(BM_EmailParseAndClassify)->Unit(benchmark::kMillisecond);

// Training time on each dev corpus from tokenised examples (tokenising is measured above).
void BM_Train(benchmark::State& state, bool email) {
  std::vector<cl::Example> examples;
  cl::TrainOptions opts;
  opts.tokenizer = email ? cl::TokenizerOptions::Email() : cl::TokenizerOptions::Sms();
  opts.params.kind = email ? cl::ModelKind::kLogistic : cl::ModelKind::kCombined;
  cl::Tokenizer tok(opts.tokenizer);
  cl::FeatureSet fs;
  if (email) {
    for (const auto& m : EmailMessages()) {
      tok.Tokenize(*m.message, &fs);
      examples.push_back({fs.features(), m.spam});
    }
  } else {
    const auto& texts = SmsTexts();
    const auto& msgs = SmsMessages();
    for (size_t i = 0; i < msgs.size(); ++i) {
      tok.Tokenize(*msgs[i], &fs);
      examples.push_back({fs.features(), texts[i].spam});
    }
  }
  if (examples.empty()) {
    state.SkipWithError("corpus missing");
    return;
  }
  for (auto _ : state) {
    auto m = cl::Train(examples, cl::AllIndices(examples.size()), opts);
    benchmark::DoNotOptimize(m);
  }
  Rate(state, examples.size());
}
BENCHMARK_CAPTURE(BM_Train, sms, false)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_Train, email, true)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
