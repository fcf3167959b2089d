// `veto bench`: the in-process pipeline over a corpus held in memory, on N threads, with
// throughput, latency percentiles, the time share of each stage and peak memory.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/input.h"
#include "cli/rule_options.h"
#include "config/pipeline.h"
#include "mobile/feed.h"
#include "mobile/sms.h"
#include "core/json.h"
#include "core/strings.h"

namespace veto::cli {
namespace {

constexpr char kBenchUsage[] =
    "usage: veto bench email|sms [--config FILE] [--threads N] [--repeat R] [--json]\n"
    "                  [--format tsv|csv|jsonl] [RULE OPTIONS] CORPUS...\n"
    "\n"
    "Runs the whole in-process pipeline (parse and normalise, match, classify, policy) over\n"
    "the messages of CORPUS, loaded into memory first — email: files, directories, tar\n"
    "archives of RFC 5322 messages; sms: feeds (TSV label<TAB>text, CSV, JSONL; the format\n"
    "from the extension unless --format) — on N\n"
    "threads (default: all cores), R times over (default 3; the run with the median wall time\n"
    "is reported). Prints messages/s, MB/s, latency per message (p50, p99, p99.9), the share\n"
    "of time in each stage and the peak resident memory. The pipeline is built once, before\n"
    "timing starts (rule compile or cache load is reported separately).\n"
    "\n"
    "  --threads N           worker threads (default: hardware threads)\n"
    "  --repeat R            timed runs (default 3)\n"
    "  --json                one JSON object instead of text\n"
    "  --format F            sms: the feed format (tsv, csv, jsonl)\n"
    "\n"
    "Cross-message behaviour signals (rate, fan-out, duplicates) are not part of this figure;\n"
    "`veto sms replay --profile` measures the SMS path with them.\n";

struct RunResult {
  double wall_s = 0;
  std::vector<int64_t> latency_ns;  // per message
  int64_t parse_ns = 0, match_ns = 0, classify_ns = 0, policy_ns = 0;
  size_t failed = 0;
};

// Turns corpus item i into a Message (the "normalise" stage).
using Normalise = std::function<absl::StatusOr<std::unique_ptr<Message>>(size_t)>;

RunResult RunOnce(const config::Pipeline& p, size_t count, const Normalise& normalise,
                  int threads) {
  RunResult r;
  r.latency_ns.assign(count, 0);
  std::atomic<size_t> next{0};
  std::atomic<size_t> failed{0};
  std::vector<config::StageTimes> times(threads);
  std::vector<int64_t> parse(threads, 0);
  absl::Time now = absl::Now();
  auto worker = [&](int t) {
    auto ctx = p.NewContext();
    for (;;) {
      size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) break;
      auto t0 = std::chrono::steady_clock::now();
      auto m = normalise(i);
      auto t1 = std::chrono::steady_clock::now();
      if (!m.ok()) {
        failed.fetch_add(1);
        continue;
      }
      config::Verdict v = p.EvaluateTimed(**m, ctx.get(), now, &times[t]);
      auto t2 = std::chrono::steady_clock::now();
      parse[t] += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
      r.latency_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t0).count();
      if (v.decision.recipients.empty()) failed.fetch_add(1);  // never: keeps v observable
    }
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (std::thread& th : pool) th.join();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int t = 0; t < threads; ++t) {
    r.parse_ns += parse[t];
    r.match_ns += times[t].match_ns;
    r.classify_ns += times[t].classify_ns;
    r.policy_ns += times[t].policy_ns;
  }
  r.failed = failed.load();
  return r;
}

double Percentile(std::vector<int64_t> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k] / 1e3;  // µs
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s\nConfiguration and rule options:\n%s", kBenchUsage, kRuleOptionsUsage);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "email" && args[0] != "sms") {
    std::fprintf(stderr, "veto bench: unknown channel '%s' (expected email or sms)\n%s",
                 args[0].c_str(), kBenchUsage);
    return 2;
  }
  const bool sms = args[0] == "sms";
  std::string format;
  RuleOptions ro;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int repeat = 3;
  bool json = false;
  std::vector<std::string> paths;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    long long n = 0;
    if (ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto bench: %s\n", error.c_str());
        return 2;
      }
    } else if ((a == "--threads" || a == "--repeat") && i + 1 < args.size()) {
      if (!ParseInt(args[++i], &n) || n < 1 || n > 1024) {
        std::fprintf(stderr, "veto bench: %s: expected 1..1024 (got '%s')\n", a.c_str(),
                     args[i].c_str());
        return 2;
      }
      (a == "--threads" ? threads : repeat) = static_cast<int>(n);
    } else if (a == "--json") {
      json = true;
    } else if (a == "--format" && i + 1 < args.size()) {
      format = args[++i];
    } else if (a == "--help" || a == "-h") {
      std::printf("%s\nConfiguration and rule options:\n%s", kBenchUsage, kRuleOptionsUsage);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "veto bench: unknown option %s\n%s", a.c_str(), kBenchUsage);
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) {
    std::fputs(kBenchUsage, stderr);
    return 2;
  }
  absl::StatusOr<config::Config> cfg = ro.Load();
  if (!cfg.ok()) {
    std::fprintf(stderr, "veto bench: invalid configuration:\n%s\n",
                 std::string(cfg.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> corpus;         // email: raw messages
  std::vector<mobile::SmsRecord> records;  // sms: feed records
  size_t bytes = 0;
  for (const std::string& path : paths) {
    absl::Status s;
    if (sms) {
      mobile::FeedOptions fo;
      fo.format = mobile::GuessFeedFormat(path);
      if (!format.empty()) {
        auto f = mobile::FeedFormatFromName(format);
        if (!f.ok()) {
          std::fprintf(stderr, "veto bench: --format: %s\n", std::string(f.status().message()).c_str());
          return 2;
        }
        fo.format = *f;
      }
      auto reader = mobile::FeedReader::Open(path, fo);
      if (!reader.ok()) {
        s = reader.status();
      } else {
        mobile::SmsRecord rec;
        mobile::FeedError err;
        for (;;) {
          mobile::FeedReader::Result res = (*reader)->Next(&rec, &err);
          if (res == mobile::FeedReader::kEnd) break;
          if (res == mobile::FeedReader::kRecord) {
            bytes += rec.text.size();
            records.push_back(rec);
          }
        }
        s = (*reader)->io_status();
        if ((*reader)->errors() > 0) {
          std::fprintf(stderr, "veto bench: %s: %llu malformed records skipped\n", path.c_str(),
                       static_cast<unsigned long long>((*reader)->errors()));
        }
      }
    } else {
      s = ForEachMessage(
          path,
          [&](const InputMessage& in) {
            bytes += in.bytes.size();
            corpus.push_back(in.bytes);
            return absl::OkStatus();
          },
          cfg->limits.parse.max_message_bytes);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "veto bench: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  const size_t count = sms ? records.size() : corpus.size();
  if (count == 0) {
    std::fprintf(stderr, "veto bench: no messages in %s\n", Join(paths, ", ").c_str());
    return 1;
  }
  config::BuildReport report;
  auto pipeline = config::Pipeline::Build(*cfg, &report);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "veto bench: %s\n", std::string(pipeline.status().message()).c_str());
    return 1;
  }
  std::vector<RunResult> runs;
  const config::Pipeline& p = **pipeline;
  Normalise normalise = [&](size_t i) -> absl::StatusOr<std::unique_ptr<Message>> {
    if (sms) return mobile::BuildMessage(records[i], p.config().limits.parse);
    return p.ParseEmail(corpus[i]);
  };
  for (int r = 0; r < repeat; ++r) runs.push_back(RunOnce(p, count, normalise, threads));
  std::sort(runs.begin(), runs.end(),
            [](const RunResult& a, const RunResult& b) { return a.wall_s < b.wall_s; });
  const RunResult& med = runs[runs.size() / 2];
  double msgs_s = count / med.wall_s;
  double mb_s = bytes / 1e6 / med.wall_s;
  double stage_total = static_cast<double>(med.parse_ns + med.match_ns + med.classify_ns +
                                           med.policy_ns);
  auto share = [&](int64_t ns) { return stage_total > 0 ? 100.0 * ns / stage_total : 0.0; };
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  double peak_mb = ru.ru_maxrss / 1024.0;
  double p50 = Percentile(med.latency_ns, 0.5), p99 = Percentile(med.latency_ns, 0.99),
         p999 = Percentile(med.latency_ns, 0.999);
  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("channel");
    w.String(args[0]);
    w.Key("messages");
    w.Number(static_cast<double>(count));
    w.Key("bytes");
    w.Number(static_cast<double>(bytes));
    w.Key("threads");
    w.Number(threads);
    w.Key("runs");
    w.Number(repeat);
    w.Key("wall_seconds");
    w.Number(med.wall_s);
    w.Key("msgs_per_s");
    w.Number(msgs_s);
    w.Key("mb_per_s");
    w.Number(mb_s);
    w.Key("latency_us");
    w.BeginObject();
    w.Key("p50");
    w.Number(p50);
    w.Key("p99");
    w.Number(p99);
    w.Key("p99_9");
    w.Number(p999);
    w.EndObject();
    w.Key("stage_share_percent");
    w.BeginObject();
    w.Key("normalise");
    w.Number(share(med.parse_ns));
    w.Key("match");
    w.Number(share(med.match_ns));
    w.Key("classify");
    w.Number(share(med.classify_ns));
    w.Key("policy");
    w.Number(share(med.policy_ns));
    w.EndObject();
    w.Key("peak_rss_mb");
    w.Number(peak_mb);
    w.Key("build_seconds");
    w.Number(report.build_seconds);
    w.Key("failed");
    w.Number(static_cast<double>(med.failed));
    w.EndObject();
    std::printf("%s\n", w.Take().c_str());
  } else {
    std::printf(
        "veto bench %s: %zu messages, %.1f MB, %d thread%s, median of %d runs\n"
        "  throughput  %.0f msgs/s  %.1f MB/s  (%.3f s)\n"
        "  latency     p50 %.1f us  p99 %.1f us  p99.9 %.1f us\n"
        "  stages      normalise %.1f%%  match %.1f%%  classify %.1f%%  policy %.1f%%\n"
        "  memory      peak RSS %.0f MB (corpus in memory included)\n"
        "  build       %.2f s (rules: %zu active, %zu databases, %zu from cache)\n",
        args[0].c_str(), count, bytes / 1e6, threads, threads == 1 ? "" : "s", repeat, msgs_s, mb_s,
        med.wall_s, p50, p99, p999, share(med.parse_ns), share(med.match_ns),
        share(med.classify_ns), share(med.policy_ns), peak_mb, report.build_seconds,
        report.rules.rules_active, report.rules.databases, report.rules.cache_hits);
  }
  if (med.failed > 0) {
    std::fprintf(stderr, "veto bench: %zu messages could not be parsed\n", med.failed);
  }
  return 0;
}

}  // namespace veto::cli
