// How the cost of the email pipeline grows with the work: messages/s and MB/s as a function
// of message size (1 KB … 1 MB, 1,000 rules) and of rule count (100 … 10,000 generated rules,
// 4 KB messages). Parse + normalise + match + policy, one thread; synthetic, deterministic
// inputs (no corpus needed). scripts/plot_scaling.py turns the JSON output into an SVG.
//
//   build/bin/scaling_bench --benchmark_format=json > scaling.json
//   python3 scripts/plot_scaling.py scaling.json scaling.svg
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/pipeline.h"
#include "core/strings.h"

namespace {

using veto::Cat;

// Pseudo-words from syllables: a vocabulary big enough that generated rules rarely collide.
std::vector<std::string> Vocabulary(size_t n) {
  static const char* kSyl[] = {"ka", "lo", "mi", "ra", "te", "vo", "su", "ne", "pa", "di",
                               "go", "fi", "ze", "bu", "ha", "qui", "sto", "mar", "len", "tor"};
  std::mt19937 rng(7);
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    std::string w;
    int parts = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < parts; ++k) w += kSyl[rng() % 20];
    v.push_back(w + std::to_string(i % 97));
  }
  return v;
}

const std::vector<std::string>& Words() {
  static const auto* v = new std::vector<std::string>(Vocabulary(20000));
  return *v;
}

std::string Message(size_t body_bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto& words = Words();
  std::string m = Cat("From: sender", seed, "@example.org\nTo: user@example.com\nSubject: ",
                      words[rng() % words.size()], " ", words[rng() % words.size()],
                      "\nMessage-ID: <", seed, "@example.org>\nDate: Fri, 27 Nov 2026 10:00:00 "
                      "+0000\nContent-Type: text/plain; charset=utf-8\n\n");
  size_t start = m.size();
  size_t n = 0;
  while (m.size() - start < body_bytes) {
    m += words[rng() % words.size()];
    if (++n % 150 == 0) m += Cat(" https://www.", words[rng() % words.size()], ".example/x");
    m += (n % 14 == 0) ? ".\n" : " ";
  }
  return m;
}

// N rules in SpamAssassin syntax: a mix of the shapes real rule sets use.
std::string Rules(size_t n) {
  std::mt19937 rng(11);
  const auto& w = Words();
  auto word = [&] { return w[rng() % w.size()]; };
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    std::string name = Cat("GEN_", i);
    switch (i % 5) {
      case 0:
        out += Cat("body ", name, " /\\b", word(), "\\s+", word(), "\\b/i\n");
        break;
      case 1:
        out += Cat("body ", name, " /", word(), ".{0,20}", word(), "/i\n");
        break;
      case 2:
        out += Cat("body ", name, " /(?:", word(), "|", word(), "|", word(), ") ", word(), "/\n");
        break;
      case 3:
        out += Cat("header ", name, " Subject =~ /", word(), "/i\n");
        break;
      case 4:
        out += Cat("uri ", name, " /", word(), "\\.example/i\n");
        break;
    }
    out += Cat("score ", name, " 0.", 1 + i % 9, "\n");
  }
  return out;
}

std::shared_ptr<const veto::config::Pipeline> PipelineWith(size_t rules) {
  static std::map<size_t, std::shared_ptr<const veto::config::Pipeline>> cache;
  auto it = cache.find(rules);
  if (it != cache.end()) return it->second;
  std::string dir = std::string(VETO_SOURCE_DIR) + "/build/scaling";
  std::filesystem::create_directories(dir);
  std::string file = Cat(dir, "/generated_", rules, ".cf");
  FILE* f = std::fopen(file.c_str(), "w");
  std::string text = Rules(rules);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  veto::config::Config c = veto::config::DefaultConfig();
  c.rules.default_rules = false;
  c.rules.paths = {file};
  c.rules.cache_dir = dir + "/rule-cache";
  auto p = veto::config::Pipeline::Build(c);
  if (!p.ok()) {
    std::fprintf(stderr, "scaling_bench: %s\n", std::string(p.status().message()).c_str());
    std::abort();
  }
  cache[rules] = *p;
  return *p;
}

void Run(benchmark::State& state, const veto::config::Pipeline& p,
         const std::vector<std::string>& msgs) {
  auto ctx = p.NewContext();
  absl::Time now = absl::Now();
  size_t i = 0, bytes = 0, n = 0;
  for (auto _ : state) {
    const std::string& raw = msgs[i++ % msgs.size()];
    auto m = p.ParseEmail(raw);
    veto::config::Verdict v = p.Evaluate(**m, ctx.get(), now);
    benchmark::DoNotOptimize(v.scores.total);
    bytes += raw.size();
    ++n;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["msgs/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}

void BM_MessageSize(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  auto p = PipelineWith(1000);
  std::vector<std::string> msgs;
  for (uint32_t s = 0; s < 16; ++s) msgs.push_back(Message(size, s));
  Run(state, *p, msgs);
}
BENCHMARK(BM_MessageSize)->RangeMultiplier(4)->Range(1 << 10, 1 << 20)->Unit(benchmark::kMicrosecond);

void BM_RuleCount(benchmark::State& state) {
  auto p = PipelineWith(static_cast<size_t>(state.range(0)));
  std::vector<std::string> msgs;
  for (uint32_t s = 0; s < 200; ++s) msgs.push_back(Message(4096, s));
  Run(state, *p, msgs);
}
BENCHMARK(BM_RuleCount)->Arg(100)->Arg(300)->Arg(1000)->Arg(3000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
