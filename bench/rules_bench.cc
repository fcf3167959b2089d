// Match-stage throughput: the full stock SpamAssassin rule set plus veto's bundled rules,
// over the SpamAssassin dev corpus parsed once and held in memory; one thread. Messages are
// normalised before timing, so this measures matching (Hyperscan scans, PCRE2 confirms,
// metas, scoring) alone. The compiled databases come from the cache in build/rule-cache
// (the first run compiles them).
//
//   build/bin/rules_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/input.h"
#include "email/parser.h"
#include "rules/engine.h"
#include "rules/loader.h"

namespace {

struct Fixture {
  std::vector<std::unique_ptr<veto::Message>> messages;
  size_t bytes = 0;
  std::shared_ptr<const veto::rules::CompiledRules> rules;
  std::string error;
};

Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    const char* stock = "/usr/share/spamassassin";
    if (!std::filesystem::exists(std::string(stock) + "/50_scores.cf")) {
      f->error = "stock rules not installed (Debian package spamassassin)";
      return f;
    }
    std::string dir = std::string(VETO_SHARED_DIR) + "/corpora/email/";
    for (const char* file : {"spamassassin_dev_ham.tar.gz", "spamassassin_dev_spam.tar.gz"}) {
      absl::Status s = veto::cli::ForEachMessage(dir + file, [&](const veto::cli::InputMessage& m) {
        auto parsed = veto::email::ParseMessage(m.bytes);
        if (parsed.ok()) {
          f->bytes += m.bytes.size();
          f->messages.push_back(std::move(*parsed));
        }
        return absl::OkStatus();
      });
      if (!s.ok()) f->error = std::string(s.message());
    }
    veto::rules::RuleSet set;
    absl::Status s = veto::rules::LoadRules(
        {std::string(VETO_SOURCE_DIR) + "/rules/default", stock}, {}, &set);
    if (!s.ok()) f->error = std::string(s.message());
    veto::rules::EngineOptions eo;
    eo.cache_dir = std::string(VETO_SOURCE_DIR) + "/build/rule-cache";
    veto::rules::CompileReport report;
    auto compiled = veto::rules::CompiledRules::Compile(set, eo, &report);
    if (!compiled.ok()) {
      f->error = std::string(compiled.status().message());
    } else {
      f->rules = *compiled;
      std::fprintf(stderr,
                   "rules: %zu active; %zu exact, %zu prefiltered (%zu on RE2), %zu PCRE2-only; %zu databases "
                   "(%zu cached), %.1f MB; compile/load %.2f s\n",
                   report.rules_active, report.exact, report.prefiltered, report.re2, report.pcre_only,
                   report.databases, report.cache_hits, report.database_bytes / 1e6,
                   report.compile_seconds);
    }
    return f;
  }();
  return *f;
}

void BM_MatchCorpus(benchmark::State& state) {
  Fixture& f = Get();
  if (!f.error.empty() || f.messages.empty()) {
    state.SkipWithError(f.error.empty() ? "corpus not found" : f.error.c_str());
    return;
  }
  auto scratch = f.rules->NewScratch();
  veto::Scores scores;
  for (auto _ : state) {
    for (const auto& m : f.messages) {
      scores.matches.clear();
      scores.total = 0;
      f.rules->Match(*m, scratch.get(), &scores);
      benchmark::DoNotOptimize(scores.total);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  state.counters["msgs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * f.messages.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatchCorpus)->Unit(benchmark::kMillisecond)->MinTime(2);
// Two threads sharing the compiled rules (each its own scratch): the RE2 sets' lazily built
// DFAs are shared and guarded by RE2's own lock; msgs/s is the sum over both threads.
BENCHMARK(BM_MatchCorpus)->Name("BM_MatchCorpusShared")->Unit(benchmark::kMillisecond)
    ->MinTime(2)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
