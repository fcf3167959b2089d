#include "mobile/signals.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "mobile/sms.h"

namespace veto::mobile {
namespace {

std::unique_ptr<Message> Sms(std::string sender, std::string recipient, std::string text) {
  SmsRecord r;
  r.sender = NormalizeSender(sender);
  r.recipient = NormalizeSender(recipient);
  r.text = std::move(text);
  return BuildMessage(r);
}

bool Has(const std::vector<Match>& m, std::string_view id) {
  for (const Match& x : m) {
    if (x.id == id) return true;
  }
  return false;
}

const Match* Find(const std::vector<Match>& m, std::string_view id) {
  for (const Match& x : m) {
    if (x.id == id) return &x;
  }
  return nullptr;
}

TEST(Sketch, StableHashIsStable) {
  // Pinned: shared Redis state and exported files depend on these values never changing.
  EXPECT_EQ(StableHash(""), StableHash(""));
  EXPECT_NE(StableHash("a"), StableHash("b"));
  EXPECT_EQ(StableHash("+447700900123"), 0x0ull + StableHash("+447700900123"));
}

TEST(Sketch, SimHashIsPinned) {
  // Fingerprints key shared Redis state and exported intelligence: they must never change.
  // Values computed by the first implementation (two scans, byte-lane counters).
  int words = 0;
  EXPECT_EQ(SimHash("WINNER!! Claim your prize now, call 09061701461", &words),
            0x9d5241ef411d9cfbull);
  EXPECT_EQ(words, 7);
  EXPECT_EQ(SimHash("Ok lar... Joking wif u oni...", &words), 0xd276a03f852200c2ull);
  EXPECT_EQ(words, 6);
  // 480 words, 959 features: more than one batch of 255 counts.
  std::string long_text;
  for (int i = 0; i < 60; ++i) {
    if (i) long_text += ' ';
    long_text += Cat("free entry ", i, " txt WIN to 87121 \xC3\x89" "clair");
  }
  EXPECT_EQ(SimHash(long_text, &words), 0x48313c753db6f62eull);
  EXPECT_EQ(words, 480);
  EXPECT_EQ(SimHash(" ... ", &words), 0u);
  EXPECT_EQ(words, 0);
}

// The textbook SimHash (one counter per bit, majority) over the same features: the
// carry-save counting must give exactly its fingerprints, for short texts, texts around the
// 16-hash blocks and the 255-hash chunks, and ties (an even count split in half).
uint64_t TextbookSimHash(std::string_view text) {
  auto word_byte = [](unsigned char c) -> unsigned char {
    if (c >= '0' && c <= '9') return '0';
    if (c >= 'A' && c <= 'Z') return static_cast<unsigned char>(c + 32);
    if ((c >= 'a' && c <= 'z') || c >= 0x80) return c;
    return 0;
  };
  std::vector<uint64_t> features;
  uint64_t prev = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (word_byte(text[i]) == 0) {
      ++i;
      continue;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    while (i < text.size() && word_byte(text[i]) != 0) {
      h ^= word_byte(text[i++]);
      h *= 0x100000001b3ULL;
    }
    h = Mix64(h);
    features.push_back(h);
    if (features.size() > 1) features.push_back(Mix64(prev * 31 + h + 0x51ed270b27f5e3a1ULL));
    prev = h;
  }
  if (features.empty()) return 0;
  uint64_t fp = 0;
  for (int b = 0; b < 64; ++b) {
    size_t ones = 0;
    for (uint64_t f : features) ones += (f >> b) & 1;
    if (2 * ones > features.size()) fp |= uint64_t{1} << b;
  }
  return fp;
}

TEST(Sketch, SimHashEqualsTheTextbookCount) {
  const std::vector<std::string> words = {"win", "FREE", "call", "0906170", "now", "\xC3\x89t\xC3\xA9",
                                          "ok", "lar", "u", "prize", "txt", "87121"};
  uint32_t seed = 1;
  auto next = [&] {
    seed = seed * 1103515245 + 12345;
    return seed >> 8;
  };
  for (int n = 0; n < 700; n += (n < 300 ? 1 : 37)) {
    for (int rep = 0; rep < 3; ++rep) {
      std::string text;
      for (int w = 0; w < n; ++w) {
        if (w) text += (next() % 5 == 0) ? ", " : " ";
        text += words[next() % words.size()];
      }
      ASSERT_EQ(SimHash(text), TextbookSimHash(text)) << n << ": " << text;
    }
  }
}

// FindCallbackNumber is RE2's leftmost-first match of the pattern it documents, on texts
// made of the bytes that matter (digits, '+', the separators, letters) around the limits
// of the {5,24} repeat.
TEST(Signals, CallbackScannerEqualsRe2) {
  const RE2 re(R"(\+?\d[\d .\-]{5,24}\d)");
  const std::string alphabet = "0123456789+ .-a";
  uint32_t seed = 7;
  auto next = [&] {
    seed = seed * 1103515245 + 12345;
    return seed >> 8;
  };
  int matches = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text(next() % 48, ' ');
    // Mostly digits, so long runs (past 26 bytes) occur.
    for (char& c : text) c = next() % 3 ? alphabet[next() % 10] : alphabet[next() % alphabet.size()];
    for (size_t pos = 0; pos <= text.size(); pos += 1 + next() % 8) {
      re2::StringPiece in(text.data(), text.size()), m;
      const bool want = re.Match(in, pos, text.size(), RE2::UNANCHORED, &m, 1);
      std::string_view got;
      ASSERT_EQ(FindCallbackNumber(text, pos, &got), want) << text << " @" << pos;
      if (want) {
        ++matches;
        ASSERT_EQ(got.data() - text.data(), m.data() - text.data()) << text << " @" << pos;
        ASSERT_EQ(got.size(), m.size()) << text << " @" << pos;
      }
    }
  }
  EXPECT_GT(matches, 10000);
  std::string_view got;
  ASSERT_TRUE(FindCallbackNumber("call +44 7700-900.123 now", 0, &got));
  EXPECT_EQ(got, "+44 7700-900.123");
  EXPECT_FALSE(FindCallbackNumber("call 12345 now", 0, &got));  // too short for the pattern
}

TEST(Sketch, SimHashNearDuplicates) {
  const uint64_t a = SimHash("WINNER!! As a valued network customer you have been selected to "
                             "receive a 900 prize reward! To claim call 09061701461");
  const uint64_t b = SimHash("WINNER! As a valued network customer you have been selected to "
                             "receive a 800 prize reward! To claim call 09061701939");
  const uint64_t c = SimHash("Sorry, I'll call later in the meeting, can we talk tomorrow?");
  EXPECT_LE(HammingDistance(a, b), 3);
  EXPECT_GT(HammingDistance(a, c), 10);
  NearDupIndex idx;
  idx.Insert(a);
  EXPECT_EQ(idx.FindNear(b), a);
  EXPECT_FALSE(idx.FindNear(c).has_value());
  idx.Erase(a);
  EXPECT_FALSE(idx.FindNear(b).has_value());
}

TEST(Sketch, HyperLogLogAccuracy) {
  for (int n : {10, 100, 1000, 10000, 100000}) {
    HyperLogLog h(8);
    for (int i = 0; i < n; ++i) h.Add(StableHash(Cat("r", i)));
    EXPECT_NEAR(h.Estimate(), n, n * 0.2 + 2) << n;  // 3 sigma at p=8 is ~20%
  }
}

TEST(Sketch, RecipientSetExactThenApproximate) {
  RecipientSet s;
  for (int i = 0; i < 6; ++i) s.Add(StableHash(Cat("+4477009000", 10 + i)));
  s.Add(StableHash("+447700900010"));  // repeat
  EXPECT_EQ(s.Estimate(), 6u);
  EXPECT_EQ(s.HeapBytes(), 0u);
  for (int i = 0; i < 500; ++i) s.Add(StableHash(Cat("+4477009000", i)));
  EXPECT_NEAR(s.Estimate(), 500, 100);
  EXPECT_GT(s.HeapBytes(), 0u);
}

// RecipientSet's own p=8 HyperLogLog counts exactly as HyperLogLog(8) fed the same way (the
// counts decide signals, so verdicts depend on them).
TEST(Sketch, RecipientSetCountsAsHyperLogLog8) {
  uint32_t seed = 3;
  auto next = [&] {
    seed = seed * 1103515245 + 12345;
    return static_cast<uint64_t>(seed >> 4);
  };
  for (int run = 0; run < 20; ++run) {
    RecipientSet s;
    std::vector<uint32_t> seen;
    std::unique_ptr<HyperLogLog> ref;
    const int n = 1 + static_cast<int>(next() % 4000);
    for (int i = 0; i < n; ++i) {
      const uint64_t h = StableHash(Cat("+4477", next() % (1 + n / 2)));
      s.Add(h);
      const uint32_t h32 = static_cast<uint32_t>(h >> 32);
      if (ref) {
        ref->Add(Mix64(h32));
      } else if (std::find(seen.begin(), seen.end(), h32) == seen.end()) {
        seen.push_back(h32);
        if (seen.size() > RecipientSet::kInline) {
          ref = std::make_unique<HyperLogLog>(8);
          for (uint32_t v : seen) ref->Add(Mix64(v));
        }
      }
      const uint32_t want =
          ref ? static_cast<uint32_t>(std::lround(ref->Estimate())) : static_cast<uint32_t>(seen.size());
      ASSERT_EQ(s.Estimate(), want) << run << " " << i;
    }
  }
}

TEST(Signals, RateAndDispersionFireAtThresholds) {
  SignalOptions o;
  o.rate_threshold = 10;
  o.rate_window_seconds = 60;
  o.dispersion_threshold = 5;
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok()) << e.status();
  std::vector<Match> out;
  for (int i = 0; i < 10; ++i) {
    auto m = Sms("+447700900123", Cat("+4477009001", 10 + i % 3), Cat("hello number ", i));
    out.clear();
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 1000 + i, &out).ok());
    EXPECT_EQ(Has(out, "SMS_SENDER_RATE"), i == 9) << i;
    EXPECT_FALSE(Has(out, "SMS_SENDER_DISPERSION"));  // only 3 distinct recipients
  }
  const Match* rate = Find(out, "SMS_SENDER_RATE");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->kind, MatchKind::kSignal);
  EXPECT_EQ(rate->count, 10u);
  EXPECT_DOUBLE_EQ(rate->score, o.rate_score);
  // The window slides: two minutes later the count starts over.
  out.clear();
  auto m = Sms("+447700900123", "+447700900110", "later");
  ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 1200, &out).ok());
  EXPECT_FALSE(Has(out, "SMS_SENDER_RATE"));
  // Fan-out: a different sender to many recipients.
  for (int i = 0; i < 6; ++i) {
    out.clear();
    auto f = Sms("PROMO", Cat("+4477009002", 10 + i), "buy");
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*f), 2000, &out).ok());
    EXPECT_EQ(Has(out, "SMS_SENDER_DISPERSION"), i >= 4) << i;
  }
}

TEST(Signals, DuplicateContentAcrossRecipientsAndSenders) {
  SignalOptions o;
  o.duplicate_threshold = 5;
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok());
  std::vector<Match> out;
  for (int i = 0; i < 6; ++i) {
    out.clear();
    // Different senders, numbers varying in the text: still one campaign.
    auto m = Sms(Cat("+4477009003", 10 + i), Cat("+4477009004", 10 + i),
                 Cat("URGENT! You have won a 1 week FREE membership in our prize jackpot! Txt "
                     "CLAIM to 8", i, "810 now"));
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 5000, &out).ok());
    EXPECT_EQ(Has(out, "SMS_DUPLICATE_CONTENT"), i >= 4) << i;
  }
  // Short texts are not fingerprinted at all.
  for (int i = 0; i < 10; ++i) {
    out.clear();
    auto m = Sms(Cat("+4477009005", 10 + i), Cat("+4477009006", 10 + i), "ok see you");
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 5000, &out).ok());
    EXPECT_FALSE(Has(out, "SMS_DUPLICATE_CONTENT"));
  }
}

TEST(Signals, SpamtrapTeachesIntelligence) {
  SignalOptions o;
  o.spamtraps = {"+447700900666"};
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok()) << e.status();
  std::vector<Match> out;
  auto trap = Sms("+447700900123", "+447700900666",
                  "Your parcel is waiting, pay the fee at http://parcel-fee.example.com/x or call 0906 170 1461");
  ASSERT_TRUE((*e)->Observe(ExtractFeatures(*trap), 100, &out).ok());
  EXPECT_TRUE(Has(out, "SMS_SPAMTRAP_RECIPIENT"));
  // The same sender, text, URL and number to a real subscriber now carry evidence.
  out.clear();
  auto real = Sms("+447700900123", "+447700900001",
                  "Your parcel is waiting, pay the fee at http://parcel-fee.example.com/x or call 0906 170 1461");
  ASSERT_TRUE((*e)->Observe(ExtractFeatures(*real), 200, &out).ok());
  EXPECT_FALSE(Has(out, "SMS_SPAMTRAP_RECIPIENT"));
  EXPECT_TRUE(Has(out, "SMS_SENDER_REPORTED"));
  EXPECT_TRUE(Has(out, "SMS_CONTENT_REPORTED"));
  EXPECT_TRUE(Has(out, "SMS_URL_LISTED"));
  EXPECT_TRUE(Has(out, "SMS_CALLBACK_LISTED"));
  // Evidence expires with its TTL.
  out.clear();
  ASSERT_TRUE((*e)->Observe(ExtractFeatures(*real), 100 + o.intel_ttl_seconds + 10, &out).ok());
  EXPECT_FALSE(Has(out, "SMS_SENDER_REPORTED"));
}

TEST(Signals, ListsFromConfig) {
  SignalOptions o;
  o.listed_domains = {"bad.example.com"};
  o.listed_numbers = {"+44 906 170 1461"};
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok());
  std::vector<Match> out;
  auto m = Sms("+447700900123", "+447700900001", "visit www.bad.example.com now or ring 09061701461");
  ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 1, &out).ok());
  EXPECT_TRUE(Has(out, "SMS_URL_LISTED"));
  EXPECT_TRUE(Has(out, "SMS_CALLBACK_LISTED"));
}

TEST(Signals, ReportsWeightedAndDeduplicated) {
  SignalOptions o;
  o.report_threshold = 2.0;
  o.reporter_weights = {{"trusted", 2.0}, {"troll", 0.0}};
  o.default_reporter_weight = 0.5;
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok());
  auto spam = Sms("+447700900777", "", "Congratulations you won a prize claim it now at 0800 123 4567");
  MessageFeatures f = ExtractFeatures(*spam);
  EXPECT_TRUE((*e)->Report("troll", f, 10));
  EXPECT_TRUE((*e)->Report("user1", f, 10));
  EXPECT_FALSE((*e)->Report("user1", f, 20));  // the same reporter again: counted once
  std::vector<Match> out;
  ASSERT_TRUE((*e)->Observe(f, 30, &out).ok());
  EXPECT_FALSE(Has(out, "SMS_SENDER_REPORTED"));  // 0 + 0.5 < 2
  EXPECT_TRUE((*e)->Report("trusted", f, 40));
  out.clear();
  ASSERT_TRUE((*e)->Observe(f, 50, &out).ok());
  EXPECT_TRUE(Has(out, "SMS_SENDER_REPORTED"));  // 2.5
  EXPECT_EQ((*e)->Stats().reports_duplicate, 1u);
}

TEST(Signals, ExportImportRoundTripWithTrust) {
  SignalOptions o;
  auto a = SignalEngine::Create(o);
  ASSERT_TRUE(a.ok());
  auto spam = Sms("+447700900777", "", "Claim your reward at http://reward.example.net today, it expires soon");
  MessageFeatures f = ExtractFeatures(*spam);
  (*a)->Report("u", f, 1000);
  std::string exported;
  const size_t n = (*a)->intel().Export(2000, &exported);
  EXPECT_GE(n, 4u) << exported;  // sender, fingerprint, host and registered domain
  auto b = SignalEngine::Create(o);
  ASSERT_TRUE(b.ok());
  for (std::string_view line : Split(exported, '\n')) {
    if (line.empty()) continue;
    ASSERT_TRUE((*b)->intel().ImportLine(line, 0.5, 2000).ok()) << line;
  }
  EXPECT_DOUBLE_EQ((*b)->intel().Weight(IntelKind::kSender, "+447700900777", 2000), 0.5);
  EXPECT_DOUBLE_EQ((*b)->intel().FingerprintWeight(f.fingerprint, 2000), 0.5);
  EXPECT_FALSE((*b)->intel().ImportLine(R"({"kind":"planet","key":"x","weight":1})", 1, 0).ok());
  EXPECT_FALSE((*b)->intel().ImportLine(R"({"kind":"sender","key":"x"})", 1, 0).ok());
  EXPECT_FALSE((*b)->intel().ImportLine(R"({"kind":"fingerprint","key":"zz","weight":1})", 1, 0).ok());
  EXPECT_FALSE((*b)->intel().ImportLine("not json", 1, 0).ok());
}

TEST(Signals, StateIsBoundedByCaps) {
  SignalOptions o;
  o.max_senders = 64 * 16;  // 16 per shard
  o.idle_expiry_seconds = 100000;
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok());
  std::vector<Match> out;
  for (int i = 0; i < 20000; ++i) {
    SmsRecord r;
    r.sender = Cat("+4477009", 10000 + i);
    r.recipient = "+447700900001";
    r.text = "hi";
    auto m = BuildMessage(r);
    out.clear();
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), 1000 + i / 100, &out).ok());
  }
  BehaviourStats st = (*e)->BehaviourState();
  EXPECT_LE(st.senders, o.max_senders);
  EXPECT_GT(st.evicted, 0u);
}

TEST(Signals, IdleStateExpires) {
  SignalOptions o;
  o.max_senders = 64 * 8;
  o.idle_expiry_seconds = 10;
  auto e = SignalEngine::Create(o);
  ASSERT_TRUE(e.ok());
  std::vector<Match> out;
  for (int i = 0; i < 2000; ++i) {
    SmsRecord r;
    r.sender = Cat("+4477009", 10000 + i);
    r.text = "hi";
    auto m = BuildMessage(r);
    ASSERT_TRUE((*e)->Observe(ExtractFeatures(*m), i, &out).ok());
  }
  EXPECT_GT((*e)->BehaviourState().expired, 0u);
}

TEST(Signals, ConcurrentObserversAgreeOnCounts) {
  SignalOptions o;
  std::unique_ptr<BehaviourStore> store = NewMemoryBehaviourStore(o);
  const uint64_t sender = StableHash("+447700900123");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        BehaviourCounts c;
        BehaviourQuery q{.sender = "+447700900123", .sender_hash = sender,
                         .recipient_hash = StableHash(Cat("r", i % 50)), .now = 1000};
        ASSERT_TRUE(store->Observe(q, &c).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  BehaviourCounts c;
  BehaviourQuery q{.sender = "+447700900123", .sender_hash = sender,
                   .recipient_hash = StableHash("r0"), .now = 1000};
  ASSERT_TRUE(store->Observe(q, &c).ok());
  EXPECT_EQ(c.rate, 8001u);
  EXPECT_NEAR(c.recipients, 50, 10);
  EXPECT_EQ(store->Stats().senders, 1u);
}

TEST(Signals, BadOptionsAreReportedTogether) {
  SignalOptions o;
  o.rate_threshold = 0;
  o.duplicate_max_distance = 9;
  o.spamtraps = {"not a number!"};
  o.listed_numbers = {"12"};
  auto e = SignalEngine::Create(o);
  ASSERT_FALSE(e.ok());
  const std::string msg(e.status().message());
  EXPECT_NE(msg.find("sms.rate_threshold: out of range (got 0, expected 1..1000000000)"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("sms.duplicate_max_distance"), std::string::npos);
  EXPECT_NE(msg.find("sms.spamtraps[0]"), std::string::npos);
  EXPECT_NE(msg.find("sms.listed_numbers[0]"), std::string::npos);
}

TEST(Features, CallbackNumbersAndUrls) {
  auto m = Sms("+447700900123", "", "Call +44 (0) 906 170-1461 or 0800.123.4567, not 12345. See bit.ly/abc");
  MessageFeatures f = ExtractFeatures(*m);
  EXPECT_FALSE(f.callbacks.empty());
  EXPECT_NE(std::find(f.callbacks.begin(), f.callbacks.end(), "8001234567"), f.callbacks.end());
  EXPECT_EQ(std::find(f.callbacks.begin(), f.callbacks.end(), "12345"), f.callbacks.end());
  EXPECT_NE(std::find(f.domains.begin(), f.domains.end(), "bit.ly"), f.domains.end());
}

}  // namespace
}  // namespace veto::mobile
