// Email normalisation throughput: the whole path (MIME, transfer + charset decoding, HTML
// rendering, URL extraction, body/rawbody/normalised fields) over the SpamAssassin dev corpus
// held in memory. Reports bytes/s and messages/s per core (one thread).
//
//   build/bin/email_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/input.h"
#include "email/html.h"
#include "email/parser.h"
#include "email/url.h"

namespace {

const std::vector<std::string>& Corpus(const char* which) {
  static std::vector<std::string> ham, spam, all;
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    std::string dir = std::string(VETO_SHARED_DIR) + "/corpora/email/";
    for (auto [file, vec] : {std::pair{"spamassassin_dev_ham.tar.gz", &ham},
                             std::pair{"spamassassin_dev_spam.tar.gz", &spam}}) {
      absl::Status s = veto::cli::ForEachMessage(dir + file, [&](const veto::cli::InputMessage& m) {
        vec->push_back(m.bytes);
        all.push_back(m.bytes);
        return absl::OkStatus();
      });
      if (!s.ok()) std::fprintf(stderr, "email_bench: %s\n", std::string(s.message()).c_str());
    }
  }
  std::string w = which;
  return w == "ham" ? ham : w == "spam" ? spam : all;
}

void BM_NormaliseCorpus(benchmark::State& state, const char* which) {
  const std::vector<std::string>& corpus = Corpus(which);
  if (corpus.empty()) {
    state.SkipWithError("corpus not found under ../shared/corpora/email");
    return;
  }
  size_t bytes = 0;
  for (const std::string& m : corpus) bytes += m.size();
  for (auto _ : state) {
    for (const std::string& raw : corpus) {
      auto m = veto::email::ParseMessage(raw);
      benchmark::DoNotOptimize(m);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.size()));
  state.counters["msgs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * corpus.size()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_NormaliseCorpus, all, "all")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_NormaliseCorpus, ham, "ham")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_NormaliseCorpus, spam, "spam")->Unit(benchmark::kMillisecond);

// Stage micro-benchmarks on synthetic input, to see where the time goes.
void BM_RenderHtml(benchmark::State& state) {
  std::string html;
  while (html.size() < (1 << 20)) {
    html += "<tr><td bgcolor=\"#ffffff\"><font face=Arial size=2>Get <b>cheap</b> offers &amp; "
            "deals <a href=\"http://example.com/x?id=1\">click here</a></font></td></tr>\n";
  }
  veto::email::HtmlResult r;
  for (auto _ : state) veto::email::RenderHtml(html, &r);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_RenderHtml);

void BM_ExtractUrisProse(benchmark::State& state) {
  std::string text;
  while (text.size() < (1 << 20)) {
    text += "The quick brown fox jumps over the lazy dog. Meet me at 10.30, e.g. tomorrow; ok? ";
  }
  std::vector<veto::email::FoundUri> out;
  for (auto _ : state) {
    out.clear();
    veto::email::ExtractUris(text, &out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ExtractUrisProse);

}  // namespace

BENCHMARK_MAIN();
