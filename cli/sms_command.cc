// `veto sms replay|report|export|import|consume`: the SMS channel from the command line.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/rule_options.h"
#include "config/pipeline.h"
#include "core/strings.h"
#include "mobile/consumer.h"
#include "mobile/feed.h"
#include "mobile/redis_store.h"
#include "mobile/replay.h"
#include "mobile/signals.h"
#include "mobile/sms_config.h"

namespace veto::cli {
namespace {

using namespace ::veto::mobile;

constexpr char kSmsUsage[] =
    "usage: veto sms COMMAND [OPTIONS]\n"
    "\n"
    "  replay    score an SMS feed (TSV, CSV, JSON Lines): one JSON verdict per message\n"
    "  report    read a user-report feed (GSMA 7726 pattern) into the intelligence state\n"
    "  export    write the spam intelligence (senders, texts, URLs, numbers) as JSON Lines\n"
    "  import    merge a peer's exported intelligence, with a trust weight\n"
    "  consume   process a Redis Stream in a consumer group (at-least-once, shared state)\n"
    "\n"
    "Run `veto sms COMMAND --help` for its options.\n";

constexpr char kFeedUsage[] =
    "Feed options:\n"
    "  --format tsv|csv|jsonl  the feed's format (default: from the file name, else tsv)\n"
    "  --column FIELD=COL    csv: map a field (id, sender, recipient, time, text, payload,\n"
    "                        data_coding, udhi, udh, ref, total, seq, label, reporter) to a\n"
    "                        header name or 1-based column number; repeatable\n"
    "  --no-header           csv: the first record is data (map fields by number; default\n"
    "                        label=1 text=2)\n"
    "  --delimiter C         csv: field separator (default ',')\n";

constexpr char kReplayUsage[] =
    "usage: veto sms replay [--config FILE] [OPTIONS] FEED|-\n"
    "\n"
    "Replays an SMS feed through the pipeline (rules, the SMS classifier, behaviour signals,\n"
    "policy) and writes one JSON Lines verdict per message: line, id, sender, recipient,\n"
    "score, action, report, decided_by, rules, models, signals, and the label, concatenated\n"
    "parts and flags when present. Bad records are reported on stderr as FEED:LINE: problem\n"
    "and counted; the replay goes on. A summary follows on stderr: counts per action, top\n"
    "rules, messages/s, and precision, recall, FPR and the confusion matrix when the feed\n"
    "has labels (spam = any action but deliver).\n"
    "\n"
    "  --out FILE            verdicts to FILE (default standard output)\n"
    "  --threads N           worker threads (default: all cores)\n"
    "  --unordered           write verdicts as they are ready (default: in feed order)\n"
    "  --speed Nx            pace by the feed's timestamps, N times real time (e.g. 10x)\n"
    "  --strict              stop at the first bad record (exit status 1)\n"
    "  --no-signals          no behaviour signals (rules, classifier, policy only)\n"
    "  --state FILE          spam intelligence to load first and save after (JSON Lines, as\n"
    "                        `veto sms export` writes)\n"
    "  --redis URL           keep behaviour counters in Redis (default: sms.redis.url)\n"
    "  --summary-json FILE   the summary as JSON too\n"
    "  --profile             time the stages per message (parse, build, signals, match,\n"
    "                        classify, policy, output, write) and print their shares\n"
    "  --progress            a progress line on stderr (default when stderr is a terminal)\n"
    "  --no-progress\n";

constexpr char kReportUsage[] =
    "usage: veto sms report [--config FILE] --state FILE [FEED OPTIONS] REPORTS|-\n"
    "\n"
    "Reads user reports (reporter, sender, text, time; CSV or JSON Lines with those names)\n"
    "and adds each reporter's weight (sms.signals.reporter_weights, else\n"
    "default_reporter_weight) to the reported sender's, text's, URLs' and numbers' spam\n"
    "evidence, once per reporter, sender and text within sms.signals.report_dedup_seconds.\n"
    "The state file is read first and written back.\n";

constexpr char kExportUsage[] =
    "usage: veto sms export [--config FILE] --state FILE [--out FILE] [--now UNIX]\n"
    "\n"
    "Writes the live (unexpired) spam intelligence as JSON Lines, one entry per line:\n"
    "  {\"kind\":\"sender\",\"key\":\"+447700900123\",\"weight\":2,\"count\":2,\n"
    "   \"first_seen\":1714557600,\"last_seen\":1714560000,\"ttl\":604800}\n"
    "kind is sender, fingerprint (SimHash, 16 hex digits), domain or callback.\n";

constexpr char kImportUsage[] =
    "usage: veto sms import [--config FILE] --state FILE [--trust W] PEER.jsonl|-\n"
    "\n"
    "Merges a peer operator's export into the state file, each weight multiplied by the trust\n"
    "W (0..1, default 0.5). Bad lines are reported as FILE:LINE: problem and skipped.\n";

constexpr char kConsumeUsage[] =
    "usage: veto sms consume [--config FILE] --redis URL --stream S --group G --out-stream V\n"
    "                        [OPTIONS]\n"
    "\n"
    "Joins consumer group G on Redis Stream S (created if missing) and writes one verdict per\n"
    "entry to stream V (fields stream_id, verdict). Entries are acknowledged only together\n"
    "with their verdict; entries left pending by a dead consumer are claimed after\n"
    "--claim-idle-ms. Entries carry the JSON Lines feed fields (text, sender, recipient, time,\n"
    "id, ...) as stream fields, or one field `json`. Behaviour signals keep their counters in\n"
    "the same Redis (unless --local-state), so every consumer sees the same senders.\n"
    "When Redis is down the consumer says so and retries until stopped (SIGINT/SIGTERM).\n"
    "\n"
    "  --consumer NAME       this consumer's name (default host-pid)\n"
    "  --batch N             entries per read (default 100)\n"
    "  --claim-idle-ms MS    claim entries pending this long (default 30000)\n"
    "  --block-ms MS         wait for new entries this long per read (default 500)\n"
    "  --idle-exit-ms MS     exit once nothing new and nothing pending for MS (default: never)\n"
    "  --max-entries N       exit after N entries\n"
    "  --local-state         keep behaviour counters in this process instead of Redis\n"
    "  --no-signals          no behaviour signals\n"
    "  --state FILE          spam intelligence to load (JSON Lines, as `veto sms export`)\n";

struct Flags {
  RuleOptions ro;
  std::string format;
  CsvOptions csv;
  std::string out;
  std::string state;
  std::string redis;
  std::string summary_json;
  int threads = 0;
  bool unordered = false;
  double speed = 0;
  bool strict = false;
  bool no_signals = false;
  bool profile = false;
  int progress = -1;
  double trust = 0.5;
  int64_t now = 0;
  // consume
  std::string stream, group, out_stream, consumer;
  int batch = 100;
  int64_t claim_idle_ms = 30000, block_ms = 500, idle_exit_ms = 0, max_entries = 0;
  bool local_state = false;
  std::vector<std::string> positional;
};

// Flags whose value is kept as given.
constexpr std::pair<std::string_view, std::string Flags::*> kStringFlags[] = {
    {"--format", &Flags::format},       {"--out", &Flags::out},
    {"--state", &Flags::state},         {"--redis", &Flags::redis},
    {"--summary-json", &Flags::summary_json}, {"--stream", &Flags::stream},
    {"--group", &Flags::group},         {"--out-stream", &Flags::out_stream},
    {"--consumer", &Flags::consumer},
};

// Parses the flags every sms subcommand shares; returns 2 (usage) or 0.
// `feed_options`: the command reads a feed, so --help also lists the feed options.
int ParseFlags(const std::vector<std::string>& args, const char* usage, Flags* f,
               bool feed_options = false) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    if (f->ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto sms: %s\n", error.c_str());
        return 2;
      }
      continue;
    }
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "veto sms: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    auto number = [&](long long* out, long long lo, long long hi) {
      std::string v;
      if (!value(&v)) return false;
      if (!ParseInt(v, out) || *out < lo || *out > hi) {
        std::fprintf(stderr, "veto sms: %s: expected a number %lld..%lld (got '%s')\n",
                     a.c_str(), lo, hi, v.c_str());
        return false;
      }
      return true;
    };
    long long n = 0;
    std::string v;
    const auto* string_flag = std::find_if(std::begin(kStringFlags), std::end(kStringFlags),
                                           [&](const auto& flag) { return a == flag.first; });
    if (string_flag != std::end(kStringFlags)) {
      if (!value(&(f->*string_flag->second))) return 2;
      continue;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      if (feed_options) std::printf("\n%s", kFeedUsage);
      std::exit(0);
    } else if (a == "--column") {
      if (!value(&v)) return 2;
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
        std::fprintf(stderr, "veto sms: --column: expected FIELD=COLUMN (got '%s')\n", v.c_str());
        return 2;
      }
      f->csv.columns.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--no-header") {
      f->csv.header = false;
    } else if (a == "--delimiter") {
      if (!value(&v)) return 2;
      if (v == "\\t" || v == "tab") v.assign(1, '\t');
      if (v.size() != 1 || v == "\"" || v == "\n") {
        std::fprintf(stderr, "veto sms: --delimiter: expected one character\n");
        return 2;
      }
      f->csv.delimiter = v[0];
    } else if (a == "--threads") {
      if (!number(&n, 1, 1024)) return 2;
      f->threads = static_cast<int>(n);
    } else if (a == "--unordered") {
      f->unordered = true;
    } else if (a == "--speed") {
      if (!value(&v)) return 2;
      std::string_view num = v;
      if (!num.empty() && (num.back() == 'x' || num.back() == 'X')) num.remove_suffix(1);
      if (!ParseDouble(num, &f->speed) || !(f->speed > 0) || f->speed > 1e9) {
        std::fprintf(stderr, "veto sms: --speed: expected e.g. 10x (got '%s')\n", v.c_str());
        return 2;
      }
    } else if (a == "--strict") {
      f->strict = true;
    } else if (a == "--no-signals") {
      f->no_signals = true;
    } else if (a == "--profile") {
      f->profile = true;
    } else if (a == "--progress") {
      f->progress = 1;
    } else if (a == "--no-progress") {
      f->progress = 0;
    } else if (a == "--trust") {
      if (!value(&v)) return 2;
      if (!ParseDouble(v, &f->trust) || !(f->trust >= 0) || f->trust > 1) {
        std::fprintf(stderr, "veto sms: --trust: expected 0..1 (got '%s')\n", v.c_str());
        return 2;
      }
    } else if (a == "--now") {
      if (!number(&n, 0, 1LL << 40)) return 2;
      f->now = n;
    } else if (a == "--batch") {
      if (!number(&n, 1, 100000)) return 2;
      f->batch = static_cast<int>(n);
    } else if (a == "--claim-idle-ms") {
      if (!number(&n, 1, 1LL << 40)) return 2;
      f->claim_idle_ms = n;
    } else if (a == "--block-ms") {
      if (!number(&n, 1, 600000)) return 2;
      f->block_ms = n;
    } else if (a == "--idle-exit-ms") {
      if (!number(&n, 0, 1LL << 40)) return 2;
      f->idle_exit_ms = n;
    } else if (a == "--max-entries") {
      if (!number(&n, 0, 1LL << 50)) return 2;
      f->max_entries = n;
    } else if (a == "--local-state") {
      f->local_state = true;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "veto sms: unknown option '%s'\n\n%s", a.c_str(), usage);
      return 2;
    } else {
      f->positional.push_back(a);
    }
  }
  return 0;
}

int64_t WallNow(const Flags& f) {
  if (f.now > 0) return f.now;
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Loads --state into `intel` (a missing file is an empty state). Returns false on a bad file.
bool LoadState(const Flags& f, Intelligence* intel, int64_t now) {
  if (f.state.empty()) return true;
  std::ifstream in(f.state);
  if (!in) {
    if (errno == ENOENT) return true;
    std::fprintf(stderr, "veto sms: %s: cannot read: %s\n", f.state.c_str(), std::strerror(errno));
    return false;
  }
  std::string line;
  uint64_t n = 0, bad = 0;
  while (std::getline(in, line)) {
    ++n;
    if (StripWhitespace(line).empty()) continue;
    absl::Status s = intel->ImportLine(line, 1.0, now);
    if (!s.ok() && bad++ < 20) {
      std::fprintf(stderr, "%s:%llu: %s\n", f.state.c_str(), static_cast<unsigned long long>(n),
                   std::string(s.message()).c_str());
    }
  }
  if (bad > 0) {
    std::fprintf(stderr, "veto sms: %s: %llu bad lines skipped\n", f.state.c_str(),
                 static_cast<unsigned long long>(bad));
  }
  return true;
}

// Writes `text` to `path` atomically (temp file + rename); "-" or "" = stdout.
bool WriteText(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::fprintf(stderr, "veto sms: %s: cannot write: %s\n", tmp.c_str(), std::strerror(errno));
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "veto sms: %s: cannot rename: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

bool SaveState(const Flags& f, const Intelligence& intel, int64_t now) {
  if (f.state.empty()) return true;
  std::string text;
  intel.Export(now, &text);
  return WriteText(f.state, text);
}

struct Setup {
  config::Config config;
  std::shared_ptr<const config::Pipeline> pipeline;
  std::unique_ptr<SignalEngine> signals;
};

// Loads the config, builds the pipeline (unless `need_pipeline` is false) and the signal
// engine (in-process, or Redis when `redis_url` is set). Returns 0 or the exit code.
int BuildSetup(const Flags& f, bool need_pipeline, const std::string& redis_url, Setup* out) {
  absl::StatusOr<config::Config> cfg = f.ro.Load();
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", std::string(cfg.status().message()).c_str());
    return 1;
  }
  out->config = *std::move(cfg);
  if (need_pipeline) {
    config::BuildReport report;
    auto p = config::Pipeline::Build(out->config, &report);
    if (!p.ok()) {
      std::fprintf(stderr, "veto sms: %s\n", std::string(p.status().message()).c_str());
      return 1;
    }
    out->pipeline = *std::move(p);
  }
  const SignalOptions so = SignalOptionsFrom(out->config.sms);
  std::unique_ptr<BehaviourStore> store;
  if (!redis_url.empty()) {
    absl::StatusOr<RedisAddress> a = ParseRedisUrl(redis_url);
    if (!a.ok()) {
      std::fprintf(stderr, "veto sms: %s\n", std::string(a.status().message()).c_str());
      return 2;
    }
    store = NewRedisBehaviourStore(*a, so, out->config.sms.redis_prefix,
                                   static_cast<int>(out->config.sms.redis_timeout_ms));
  }
  auto e = SignalEngine::Create(so, std::move(store));
  if (!e.ok()) {
    std::fprintf(stderr, "veto sms: %s\n", std::string(e.status().message()).c_str());
    return 1;
  }
  out->signals = *std::move(e);
  return 0;
}

absl::StatusOr<FeedFormat> FormatFor(const Flags& f, const std::string& path, FeedFormat dflt) {
  if (!f.format.empty()) return FeedFormatFromName(f.format);
  if (path == "-") return dflt;
  return GuessFeedFormat(path);
}

int Replay(const std::vector<std::string>& args) {
  Flags f;
  if (int rc = ParseFlags(args, kReplayUsage, &f, /*feed_options=*/true); rc != 0) return rc;
  if (f.positional.size() != 1) {
    std::fprintf(stderr, "veto sms replay: expected one FEED (or -)\n\n%s", kReplayUsage);
    return 2;
  }
  const std::string& feed = f.positional[0];
  absl::StatusOr<FeedFormat> format = FormatFor(f, feed, FeedFormat::kTsv);
  if (!format.ok()) {
    std::fprintf(stderr, "veto sms replay: %s\n", std::string(format.status().message()).c_str());
    return 2;
  }
  Setup setup;
  const std::string redis = f.redis;
  if (int rc = BuildSetup(f, true, redis.empty() ? std::string() : redis, &setup); rc) return rc;
  if (redis.empty() && !setup.config.sms.redis_url.empty()) {
    // The config asks for shared state.
    Flags g = f;
    g.redis = setup.config.sms.redis_url;
    Setup s2;
    if (int rc = BuildSetup(g, false, g.redis, &s2); rc) return rc;
    setup.signals = std::move(s2.signals);
  }
  const int64_t now = WallNow(f);
  if (!LoadState(f, &setup.signals->intel(), now)) return 1;

  FeedOptions fo = FeedOptionsFrom(setup.config.sms, *format);
  fo.csv = f.csv;
  absl::StatusOr<std::unique_ptr<FeedReader>> reader = FeedReader::Open(feed, fo);
  if (!reader.ok()) {
    std::fprintf(stderr, "veto sms replay: %s\n", std::string(reader.status().message()).c_str());
    return 1;
  }
  int out_fd = 1;
  if (!f.out.empty() && f.out != "-") {
    out_fd = ::open(f.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      std::fprintf(stderr, "veto sms replay: %s: cannot write: %s\n", f.out.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  ReplayOptions ro;
  ro.feed_name = feed;
  ro.reassembly = ReassemblyOptionsFrom(setup.config.sms);
  ro.threads = f.threads;
  ro.ordered = !f.unordered;
  ro.speed = f.speed;
  ro.strict = f.strict;
  ro.profile = f.profile;
  ro.progress = f.progress < 0 ? isatty(2) != 0 : f.progress == 1;
  absl::StatusOr<ReplaySummary> sum =
      mobile::Replay(**reader, *setup.pipeline, f.no_signals ? nullptr : setup.signals.get(),
                     out_fd, ro);
  if (out_fd != 1 && ::close(out_fd) != 0 && sum.ok()) {
    sum = absl::InternalError(Cat(f.out, ": ", std::strerror(errno)));
  }
  if (!sum.ok()) {
    std::fprintf(stderr, "veto sms replay: %s\n", std::string(sum.status().message()).c_str());
    return 1;
  }
  std::fputs(SummaryText(*sum).c_str(), stderr);
  if (!f.summary_json.empty() && !WriteText(f.summary_json, SummaryJson(*sum) + "\n")) return 1;
  if (!SaveState(f, setup.signals->intel(), now)) return 1;
  if (!sum->feed_status.ok()) return 1;
  return 0;
}

int Report(const std::vector<std::string>& args) {
  Flags f;
  if (int rc = ParseFlags(args, kReportUsage, &f, /*feed_options=*/true); rc != 0) return rc;
  if (f.positional.size() != 1 || f.state.empty()) {
    std::fprintf(stderr, "veto sms report: expected --state FILE and one REPORTS feed\n\n%s",
                 kReportUsage);
    return 2;
  }
  const std::string& feed = f.positional[0];
  absl::StatusOr<FeedFormat> format = FormatFor(f, feed, FeedFormat::kJsonl);
  if (!format.ok()) {
    std::fprintf(stderr, "veto sms report: %s\n", std::string(format.status().message()).c_str());
    return 2;
  }
  Setup setup;
  if (int rc = BuildSetup(f, false, "", &setup); rc) return rc;
  const int64_t now = WallNow(f);
  if (!LoadState(f, &setup.signals->intel(), now)) return 1;
  FeedOptions fo = FeedOptionsFrom(setup.config.sms, *format);
  fo.csv = f.csv;
  absl::StatusOr<std::unique_ptr<FeedReader>> reader = FeedReader::Open(feed, fo);
  if (!reader.ok()) {
    std::fprintf(stderr, "veto sms report: %s\n", std::string(reader.status().message()).c_str());
    return 1;
  }
  SmsRecord rec;
  FeedError err;
  uint64_t accepted = 0, duplicates = 0, errors = 0;
  while (true) {
    FeedReader::Result r = (*reader)->Next(&rec, &err);
    if (r == FeedReader::kEnd) break;
    if (r == FeedReader::kError) {
      if (errors++ < 100) {
        std::fprintf(stderr, "%s:%llu: %s\n", feed.c_str(), static_cast<unsigned long long>(err.line),
                     err.message.c_str());
      }
      continue;
    }
    if (rec.reporter.empty() || rec.sender.empty()) {
      if (errors++ < 100) {
        std::fprintf(stderr, "%s:%llu: a report needs reporter and sender\n", feed.c_str(),
                     static_cast<unsigned long long>(rec.line));
      }
      continue;
    }
    std::unique_ptr<Message> m = BuildMessage(rec, setup.config.limits.parse);
    const MessageFeatures mf = ExtractFeatures(*m, setup.signals->options().duplicate_min_words);
    const int64_t t = rec.has_time ? std::min(rec.timestamp_unix, now) : now;
    if (setup.signals->Report(rec.reporter, mf, t)) {
      ++accepted;
    } else {
      ++duplicates;
    }
  }
  if (!(*reader)->io_status().ok()) {
    std::fprintf(stderr, "veto sms report: %s\n",
                 std::string((*reader)->io_status().message()).c_str());
    return 1;
  }
  if (!SaveState(f, setup.signals->intel(), now)) return 1;
  std::fprintf(stderr, "report: %llu accepted, %llu duplicates, %llu errors; state %zu entries\n",
               static_cast<unsigned long long>(accepted),
               static_cast<unsigned long long>(duplicates),
               static_cast<unsigned long long>(errors), setup.signals->intel().size());
  return errors > 0 ? 1 : 0;
}

int Export(const std::vector<std::string>& args) {
  Flags f;
  if (int rc = ParseFlags(args, kExportUsage, &f); rc != 0) return rc;
  if (f.state.empty() || !f.positional.empty()) {
    std::fprintf(stderr, "veto sms export: expected --state FILE\n\n%s", kExportUsage);
    return 2;
  }
  Setup setup;
  if (int rc = BuildSetup(f, false, "", &setup); rc) return rc;
  const int64_t now = WallNow(f);
  if (!LoadState(f, &setup.signals->intel(), now)) return 1;
  std::string text;
  const size_t n = setup.signals->intel().Export(now, &text);
  if (!WriteText(f.out, text)) return 1;
  std::fprintf(stderr, "export: %zu entries\n", n);
  return 0;
}

int Import(const std::vector<std::string>& args) {
  Flags f;
  if (int rc = ParseFlags(args, kImportUsage, &f); rc != 0) return rc;
  if (f.state.empty() || f.positional.size() != 1) {
    std::fprintf(stderr, "veto sms import: expected --state FILE and one PEER file\n\n%s",
                 kImportUsage);
    return 2;
  }
  Setup setup;
  if (int rc = BuildSetup(f, false, "", &setup); rc) return rc;
  const int64_t now = WallNow(f);
  if (!LoadState(f, &setup.signals->intel(), now)) return 1;
  const std::string& peer = f.positional[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (peer != "-") {
    file.open(peer);
    if (!file) {
      std::fprintf(stderr, "veto sms import: %s: cannot read: %s\n", peer.c_str(),
                   std::strerror(errno));
      return 1;
    }
    in = &file;
  }
  std::string line;
  uint64_t n = 0, ok = 0, bad = 0;
  while (std::getline(*in, line)) {
    ++n;
    if (StripWhitespace(line).empty()) continue;
    if (line.size() > 65536) {
      ++bad;
      std::fprintf(stderr, "%s:%llu: line longer than 65536 bytes\n", peer.c_str(),
                   static_cast<unsigned long long>(n));
      continue;
    }
    absl::Status s = setup.signals->intel().ImportLine(line, f.trust, now);
    if (s.ok()) {
      ++ok;
    } else if (bad++ < 100) {
      std::fprintf(stderr, "%s:%llu: %s\n", peer.c_str(), static_cast<unsigned long long>(n),
                   std::string(s.message()).c_str());
    }
  }
  if (!SaveState(f, setup.signals->intel(), now)) return 1;
  std::fprintf(stderr, "import: %llu entries merged (trust %g), %llu bad lines; state %zu entries\n",
               static_cast<unsigned long long>(ok), f.trust, static_cast<unsigned long long>(bad),
               setup.signals->intel().size());
  return bad > 0 ? 1 : 0;
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

int Consume(const std::vector<std::string>& args) {
  Flags f;
  if (int rc = ParseFlags(args, kConsumeUsage, &f); rc != 0) return rc;
  if (!f.positional.empty()) {
    std::fprintf(stderr, "veto sms consume: unexpected argument '%s'\n\n%s",
                 f.positional[0].c_str(), kConsumeUsage);
    return 2;
  }
  Setup setup;
  if (int rc = BuildSetup(f, true, "", &setup); rc) return rc;
  const std::string url = f.redis.empty() ? setup.config.sms.redis_url : f.redis;
  if (url.empty()) {
    std::fprintf(stderr, "veto sms consume: needs --redis URL (or sms.redis.url)\n\n%s",
                 kConsumeUsage);
    return 2;
  }
  absl::StatusOr<RedisAddress> address = ParseRedisUrl(url);
  if (!address.ok()) {
    std::fprintf(stderr, "veto sms consume: %s\n", std::string(address.status().message()).c_str());
    return 2;
  }
  if (!f.local_state && !f.no_signals) {
    Flags g = f;
    Setup s2;
    if (int rc = BuildSetup(g, false, url, &s2); rc) return rc;
    setup.signals = std::move(s2.signals);
  }
  if (!LoadState(f, &setup.signals->intel(), WallNow(f))) return 1;
  ConsumerOptions co;
  co.stream = f.stream;
  co.group = f.group;
  co.out_stream = f.out_stream;
  co.consumer = f.consumer;
  co.prefix = setup.config.sms.redis_prefix;
  co.batch = f.batch;
  co.block_ms = static_cast<int>(f.block_ms);
  co.claim_idle_ms = f.claim_idle_ms;
  co.idle_exit_ms = f.idle_exit_ms;
  co.max_entries = f.max_entries;
  co.timeout_ms = static_cast<int>(setup.config.sms.redis_timeout_ms);
  co.feed = FeedOptionsFrom(setup.config.sms, FeedFormat::kJsonl);
  co.parse = setup.config.limits.parse;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  ConsumerStats stats;
  absl::Status s = RunConsumer(*address, co, *setup.pipeline,
                               f.no_signals ? nullptr : setup.signals.get(), g_stop, &stats);
  if (!s.ok()) {
    std::fprintf(stderr, "veto sms consume: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  std::fprintf(stderr,
               "consume: %llu entries, %llu verdicts, %llu errors, %llu duplicates, %llu "
               "claimed, %llu reconnects in %.3f s (%.0f entries/s)\n",
               static_cast<unsigned long long>(stats.entries),
               static_cast<unsigned long long>(stats.verdicts),
               static_cast<unsigned long long>(stats.errors),
               static_cast<unsigned long long>(stats.duplicates),
               static_cast<unsigned long long>(stats.claimed),
               static_cast<unsigned long long>(stats.reconnects), stats.seconds,
               stats.seconds > 0 ? stats.entries / stats.seconds : 0.0);
  return 0;
}

}  // namespace

int SmsCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kSmsUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "replay") return Replay(rest);
  if (args[0] == "report") return Report(rest);
  if (args[0] == "export") return Export(rest);
  if (args[0] == "import") return Import(rest);
  if (args[0] == "consume") return Consume(rest);
  std::fprintf(stderr, "veto sms: unknown command '%s'\n\n%s", args[0].c_str(), kSmsUsage);
  return 2;
}

}  // namespace veto::cli
