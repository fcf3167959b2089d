// The replay end to end with the real pipeline (bundled rules, policy) and signals.
#include "mobile/replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/pipeline.h"
#include "core/json_line.h"
#include "core/strings.h"
#include "gtest/gtest.h"
#include "mobile/sms_config.h"

namespace veto::mobile {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const config::Pipeline> LabPipeline() {
  static std::shared_ptr<const config::Pipeline> p = [] {
    auto c = config::ParseConfig(
        "[operator.consent]\ndefault = true\n[rules]\ncache_dir = \"none\"\n", "test.toml");
    EXPECT_TRUE(c.ok()) << c.status();
    auto built = config::Pipeline::Build(*c);
    EXPECT_TRUE(built.ok()) << built.status();
    return *built;
  }();
  return p;
}

struct ReplayRun {
  absl::StatusOr<ReplaySummary> summary;
  std::vector<std::string> lines;
  std::string errors;
};

ReplayRun DoReplay(std::string_view feed, FeedFormat format, ReplayOptions ro = {},
             SignalEngine* signals = nullptr) {
  FeedOptions fo;
  fo.format = format;
  auto reader = FeedReader::FromSource(StringByteSource(feed), fo);
  EXPECT_TRUE(reader.ok());
  char path[] = "/tmp/veto-replay-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ReplayRun run;
  ro.error_sink = [&](std::string_view l) { run.errors.append(l); };
  ro.feed_name = "feed";
  run.summary = Replay(**reader, *LabPipeline(), signals, fd, ro);
  ::close(fd);
  const std::string out = ReadAll(path);
  for (std::string_view l : Split(out, '\n')) {
    if (!l.empty()) run.lines.emplace_back(l);
  }
  ::unlink(path);
  return run;
}

std::string Field(const std::string& json, const std::string& key) {
  std::vector<JsonField> f;
  EXPECT_TRUE(ParseJsonLine(json, &f).ok()) << json;
  for (const JsonField& x : f) {
    if (x.key == key) return x.value;
  }
  return "";
}

// The fast path of AppendVerdictNumber must print exactly what std::to_chars printed for the
// rounded value (every verdict file written before depends on it).
TEST(Replay, VerdictNumbersAreToCharsOfTheRoundedValue) {
  auto reference = [](double v) {
    const double r = std::round(v * 1000) / 1000;
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, r);
    return std::string(buf, p);
  };
  std::string got;
  for (int64_t k = -1100000; k <= 1100000; ++k) {
    const double v = static_cast<double>(k) / 1000;
    got.clear();
    AppendVerdictNumber(v, &got);
    ASSERT_EQ(got, reference(v)) << k;
  }
  for (double v : {0.0, -0.0, -0.0004, 0.0004, 0.0005, -0.0005, 1e-9, 999.9995, 999.9994,
                   -999.9996, 1000.0, 123456.7, 1e6, 1e7, 1e15, 1e300, -2.5e-7, 3.14159265,
                   0.9999999, 13.3, 0.998}) {
    got.clear();
    AppendVerdictNumber(v, &got);
    EXPECT_EQ(got, reference(v)) << v;
  }
  got.clear();
  AppendVerdictNumber(std::nan(""), &got);
  EXPECT_EQ(got, "null");
}

TEST(Replay, SampleJsonlConcatenationAndPayloads) {
  const std::string feed = ReadAll(VETO_SOURCE_DIR "/tests/data/sms/sample.jsonl");
  ReplayRun r = DoReplay(feed, FeedFormat::kJsonl);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_TRUE(r.errors.empty()) << r.errors;
  // 5 records: a2+a3 are one message, a5 is an incomplete part.
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(Field(r.lines[0], "id"), "a1");
  EXPECT_EQ(Field(r.lines[0], "label"), "ham");
  bool saw_concat = false, saw_incomplete = false, saw_packed = false;
  for (const std::string& l : r.lines) {
    if (Field(l, "id") == "a2") {
      saw_concat = true;
      EXPECT_NE(l.find("\"parts\":[2,3]"), std::string::npos) << l;
    }
    if (Field(l, "id") == "a5") {
      saw_incomplete = true;
      EXPECT_NE(l.find("\"flags\":[\"incomplete\"]"), std::string::npos) << l;
    }
    if (Field(l, "id") == "a4") saw_packed = true;
    EXPECT_FALSE(Field(l, "action").empty()) << l;
  }
  EXPECT_TRUE(saw_concat);
  EXPECT_TRUE(saw_incomplete);
  EXPECT_TRUE(saw_packed);
  EXPECT_EQ(r.summary->records, 5u);
  EXPECT_EQ(r.summary->reassembly.parts, 3u);
  EXPECT_EQ(r.summary->counters.messages, 4u);
}

TEST(Replay, OrderedAndUnorderedGiveTheSameVerdicts) {
  std::string feed;
  for (int i = 0; i < 3000; ++i) {
    feed += Cat(i % 7 == 0 ? "spam" : "ham", "\t",
                i % 7 == 0 ? "WINNER! Claim your prize, call 09061701461 now" : "see you later",
                " #", i, "\n");
  }
  ReplayOptions ro;
  ro.threads = 3;
  ro.batch = 7;
  ReplayRun ordered = DoReplay(feed, FeedFormat::kTsv, ro);
  ro.ordered = false;
  ReplayRun unordered = DoReplay(feed, FeedFormat::kTsv, ro);
  ASSERT_TRUE(ordered.summary.ok() && unordered.summary.ok());
  ASSERT_EQ(ordered.lines.size(), 3000u);
  for (size_t i = 0; i < ordered.lines.size(); ++i) {
    ASSERT_EQ(Field(ordered.lines[i], "line"), std::to_string(i + 1));
  }
  std::vector<std::string> a = ordered.lines, b = unordered.lines;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  const ReplayCounters& c = ordered.summary->counters;
  EXPECT_EQ(c.tp + c.fn, 429u);
  EXPECT_EQ(c.fp + c.tn, 2571u);
  const std::string text = SummaryText(*ordered.summary);
  EXPECT_NE(text.find("precision"), std::string::npos) << text;
  EXPECT_NE(text.find("confusion"), std::string::npos) << text;
  EXPECT_NE(SummaryJson(*ordered.summary).find("\"msgs_per_s\""), std::string::npos);
}

TEST(Replay, BadRecordsAreReportedCountedAndSkipped) {
  const std::string feed = "ham\tfine\nbogus\tlabel\n\nspam\talso fine\n";
  ReplayRun r = DoReplay(feed, FeedFormat::kTsv);
  ASSERT_TRUE(r.summary.ok());
  EXPECT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.summary->errors, 1u);
  EXPECT_EQ(r.summary->blank_lines, 1u);
  EXPECT_EQ(r.errors, "feed:2: unknown label \"bogus\" (expected spam or ham)\n");
  EXPECT_TRUE(r.summary->feed_status.ok());
  ReplayOptions strict;
  strict.strict = true;
  r = DoReplay(feed, FeedFormat::kTsv, strict);
  ASSERT_TRUE(r.summary.ok());
  EXPECT_TRUE(r.summary->stopped_strict);
  EXPECT_FALSE(r.summary->feed_status.ok());
  EXPECT_LE(r.lines.size(), 1u);
}

TEST(Replay, SignalsReachTheVerdictAndThePolicy) {
  SignalOptions so;
  so.spamtraps = {"+447700900666"};
  auto engine = SignalEngine::Create(so);
  ASSERT_TRUE(engine.ok());
  std::string feed =
      R"({"sender":"+447700900123","recipient":"+447700900666","text":"cheap loans at http://loans.example.com today"})"
      "\n"
      R"({"sender":"+447700900123","recipient":"+447700900001","text":"cheap loans at http://loans.example.com today"})"
      "\n";
  ReplayOptions ro;
  ro.threads = 1;
  ReplayRun r = DoReplay(feed, FeedFormat::kJsonl, ro, engine->get());
  ASSERT_TRUE(r.summary.ok());
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_NE(r.lines[0].find("SMS_SPAMTRAP_RECIPIENT"), std::string::npos) << r.lines[0];
  EXPECT_NE(r.lines[1].find("SMS_SENDER_REPORTED"), std::string::npos) << r.lines[1];
  EXPECT_NE(r.lines[1].find("SMS_URL_LISTED"), std::string::npos) << r.lines[1];
  EXPECT_EQ(r.summary->signals.fired[3], 1u);
}

// Stage by stage over groups (what the replay workers run) gives byte for byte what one
// record at a time gives, signals included (they see the records in the same order): 150
// records with repeats, senders and times, so groups are cut mid-feed and end short.
TEST(Replay, GroupedEvaluationEqualsOneAtATime) {
  const char* texts[] = {"WINNER!! claim your prize now call 09061701461",
                         "see you at 5, bring the keys",
                         "cheap loans at http://loans.example.com today",
                         "Your code is 123456", "Free entry in 2 a wkly comp to win FA Cup"};
  std::vector<SmsRecord> records;
  for (int i = 0; i < 150; ++i) {
    SmsRecord r;
    r.line = static_cast<uint64_t>(i + 1);
    r.id = std::to_string(i);
    r.sender = "+4477009" + std::to_string(10000 + i % 7);
    r.recipient = "+4479009" + std::to_string(10000 + i);
    r.text = texts[(i * 7) % 5];
    r.has_time = i % 3 != 0;
    r.timestamp_unix = 1714557600 + i;
    records.push_back(std::move(r));
  }
  std::string one, grouped;
  ReplayCounters c1, c2;
  for (int run = 0; run < 2; ++run) {
    auto engine = SignalEngine::Create(SignalOptions{});
    ASSERT_TRUE(engine.ok());
    VerdictEvaluator ev(*LabPipeline(), engine->get());
    if (run == 0) {
      for (const SmsRecord& r : records) ev.Evaluate(r, 1714560000, &one, &c1);
    } else {
      ev.EvaluateAll(records.data(), 37, 1714560000, &grouped, &c2);  // a short group
      ev.EvaluateAll(records.data() + 37, records.size() - 37, 1714560000, &grouped, &c2);
    }
  }
  ASSERT_GT(VerdictEvaluator::kGroup, 1u);
  EXPECT_EQ(grouped, one);
  EXPECT_EQ(c2.messages, 150u);
  EXPECT_EQ(c2.actions, c1.actions);
  EXPECT_EQ(c2.hits, c1.hits);
  EXPECT_NE(one.find("SMS_DUPLICATE_CONTENT"), std::string::npos);  // signals did fire
}

TEST(SmsConfig, ShippedSectionEqualsDefaultsAndErrorsCarryFileLine) {
  auto f = config::LoadConfig(VETO_SOURCE_DIR "/config/veto.toml");
  ASSERT_TRUE(f.ok()) << f.status();
  const config::SmsConfig d;
  EXPECT_EQ(f->sms.rate_threshold, d.rate_threshold);
  EXPECT_EQ(f->sms.dispersion_threshold, d.dispersion_threshold);
  EXPECT_EQ(f->sms.duplicate_threshold, d.duplicate_threshold);
  EXPECT_EQ(f->sms.max_senders, d.max_senders);
  EXPECT_EQ(f->sms.intel_ttl_seconds, d.intel_ttl_seconds);
  EXPECT_EQ(f->sms.concat_max_groups, d.concat_max_groups);
  EXPECT_EQ(f->sms.redis_url, d.redis_url);
  EXPECT_EQ(f->sms.redis_prefix, d.redis_prefix);
  EXPECT_DOUBLE_EQ(f->sms.report_threshold, d.report_threshold);
  EXPECT_TRUE(CheckSignalOptions(SignalOptionsFrom(f->sms)).empty());

  auto bad = config::ParseConfig(
      "[sms]\nmax_text_bytes = 3\n[sms.signals]\nrate_threshold = 0\nspamtraps = [\"hello\"]\n"
      "listed_domains = [\"bad..domain\"]\nrate_scor = 1\n[sms.redis]\nurl = \"http://x\"\n",
      "t.toml");
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_NE(msg.find("t.toml:2: sms.max_text_bytes: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("t.toml:4: sms.signals.rate_threshold: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("t.toml:5: sms.signals.spamtraps: entry 0 is not an MSISDN"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("sms.signals.listed_domains: entry 0: not a domain"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("sms.signals.rate_scor: unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sms.redis.url: not a Redis URL"), std::string::npos) << msg;

  auto good = config::ParseConfig(
      "[sms.signals]\nspamtraps = [\"+44 7700 900666\", \"7726\"]\n"
      "[sms.signals.reporter_weights]\n\"partner\" = 2.5\n",
      "g.toml");
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_EQ(good->sms.reporter_weights.size(), 1u);
  EXPECT_DOUBLE_EQ(good->sms.reporter_weights[0].second, 2.5);
}

// The measurement the README quotes: the full pipeline over the SMS corpus, as replayed.
TEST(Replay, SmsCorpus) {
  const std::string path = VETO_SHARED_DIR "/corpora/sms/sms_spam_collection_dev.tsv";
  if (::access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "corpus absent: " << path;
  const std::string feed = ReadAll(path);
  ReplayRun r = DoReplay(feed, FeedFormat::kTsv);
  ASSERT_TRUE(r.summary.ok());
  EXPECT_EQ(r.summary->counters.messages, 4460u);
  EXPECT_EQ(r.summary->errors, 0u);
  std::printf("%s", SummaryText(*r.summary).c_str());
}

}  // namespace
}  // namespace veto::mobile
