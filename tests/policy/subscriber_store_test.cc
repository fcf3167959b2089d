#include "policy/subscriber_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::EmailMsg;
using testing::MakeEmail;
using testing::MakeSms;
using testing::SmsMsg;

std::shared_ptr<const MemorySubscriberStore> FromLines(const std::vector<std::string>& lines,
                                                       SubscriberStoreOptions options = {}) {
  MemorySubscriberStore::Builder b(std::move(options));
  for (size_t i = 0; i < lines.size(); ++i) {
    b.AddLine(lines[i], "subs.tsv:" + std::to_string(i + 1) + ": ");
  }
  absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>> s = std::move(b).Build();
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : nullptr;
}

// The error Build reports for these lines.
std::string Errors(const std::vector<std::string>& lines, SubscriberStoreOptions options = {}) {
  MemorySubscriberStore::Builder b(std::move(options));
  for (size_t i = 0; i < lines.size(); ++i) {
    b.AddLine(lines[i], "subs.tsv:" + std::to_string(i + 1) + ": ");
  }
  absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>> s = std::move(b).Build();
  if (s.ok()) return "OK";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

SubscriberView Find(const SubscriberStore& s, std::string_view key) {
  SubscriberHandle h;
  absl::StatusOr<bool> found = s.Find(key, &h);
  EXPECT_TRUE(found.ok() && *found) << key;
  return h.view;
}

Sender SmsFrom(std::string sender) {
  Sender s;
  Sender::FromMessage(*MakeSms({.sender = std::move(sender)}), "", &s);
  return s;
}

Sender EmailFrom(EmailMsg e) {
  Sender s;
  Sender::FromMessage(*MakeEmail(e), "", &s);
  return s;
}

const char kDocumentedSms[] =
    "+15551230000\ttenant=acme\tconsent=yes\ttz=Europe/Berlin\tallow=+15557654321\t"
    "allow=short:7726\tdeny=+1900*\tdeny=alpha:PROMO*\tkeyword=loan approved\t"
    "regex=(?i)win.{0,10}prize\tquiet=22:00-07:00\tquiet_days=mon-fri\tquiet_action=hold";
const char kDocumentedEmail[] =
    "user@example.com\tdeny=spam.example\tdeny=ip:203.0.113.0/24\taction=quarantine";

TEST(SubscriberStoreTest, ParsesTheDocumentedExamples) {
  auto store = FromLines({"# key\tfields...", "", kDocumentedSms, kDocumentedEmail});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 2u);

  SubscriberView v = Find(*store, "+15551230000");
  EXPECT_EQ(v.key, "+15551230000");
  EXPECT_EQ(v.tenant, "acme");
  EXPECT_TRUE(v.enabled);
  EXPECT_EQ(v.consent, std::optional<bool>(true));
  ASSERT_NE(v.time_zone, nullptr);
  EXPECT_EQ(v.time_zone->name(), "Europe/Berlin");
  ASSERT_TRUE(v.quiet.has_value());
  EXPECT_EQ(v.quiet->ToString(), "22:00-07:00");
  EXPECT_EQ(v.quiet->days, 0x1f);
  EXPECT_TRUE(v.quiet_allowlist_bypasses);
  ASSERT_TRUE(v.quiet_action.has_value());
  EXPECT_EQ(v.quiet_action->action, Action::kHold);
  EXPECT_FALSE(v.action.has_value());
  EXPECT_TRUE(v.has_content_rules());

  EXPECT_EQ(v.MatchAllow(SmsFrom("+15557654321"))->entry, "+15557654321");
  EXPECT_EQ(v.MatchAllow(SmsFrom("7726"))->entry, "7726");
  EXPECT_FALSE(v.MatchAllow(SmsFrom("+15557654322")).has_value());
  EXPECT_EQ(v.MatchDeny(SmsFrom("+19005550100"))->entry, "+1900*");
  EXPECT_EQ(v.MatchDeny(SmsFrom("PromoKing"))->entry, "promo*");
  EXPECT_EQ(v.MatchDeny(SmsFrom("PromoKing"))->kind, IdentityKind::kSenderId);
  EXPECT_FALSE(v.MatchDeny(SmsFrom("MyBank")).has_value());

  auto loan = MakeSms({.text = "Your LOAN   Approved today"});
  // normalized_body in real messages has whitespace collapsed; emulate that here.
  auto loan2 = MakeSms({.text = "Your LOAN Approved today"});
  EXPECT_EQ(*v.MatchKeyword(MessageText(*loan2)), "loan approved");
  EXPECT_FALSE(v.MatchKeyword(MessageText(*loan)).has_value());
  auto prize = MakeSms({.text = "you WIN a big PRIZE"});
  EXPECT_EQ(*v.MatchRegex(MessageText(*prize)), "(?i)win.{0,10}prize");
  EXPECT_FALSE(v.MatchRegex(MessageText(*loan2)).has_value());

  SubscriberView e = Find(*store, "user@example.com");
  EXPECT_EQ(e.tenant, "");
  EXPECT_EQ(e.consent, std::nullopt);
  EXPECT_EQ(e.time_zone, nullptr);
  EXPECT_FALSE(e.quiet.has_value());
  ASSERT_TRUE(e.action.has_value());
  EXPECT_EQ(e.action->action, Action::kQuarantine);
  EXPECT_EQ(e.regexes, nullptr);
  EXPECT_EQ(e.MatchDeny(EmailFrom({.mail_from = "x@news.spam.example"}))->entry, "spam.example");
  EXPECT_EQ(e.MatchDeny(EmailFrom({.client_ip = "203.0.113.77"}))->entry, "203.0.113.0/24");
  EXPECT_FALSE(e.MatchDeny(EmailFrom({.client_ip = "203.0.114.1"})).has_value());
  EXPECT_FALSE(e.MatchDeny(EmailFrom({.mail_from = "x@notspam.example"})).has_value());
}

TEST(SubscriberStoreTest, KeysAreNormalised) {
  auto store = FromLines({"07700 900123\tdeny=+1900*", "User@Example.COM\tdeny=bad.example"},
                         {.default_country_code = "44"});
  SubscriberHandle h;
  EXPECT_TRUE(*store->Find("+447700900123", &h));
  EXPECT_TRUE(*store->Find("user@example.com", &h));
  EXPECT_FALSE(*store->Find("User@Example.COM", &h));  // lookups take normalised keys
  EXPECT_FALSE(*store->Find("+447700900124", &h));
}

TEST(SubscriberStoreTest, SwitchesActionsAndReport) {
  auto store =
      FromLines({"+15551230001\tenabled=no\tconsent=no\taction=block+report\t"
                 "quiet=23:00-06:00\tquiet_bypass=no\tquiet_action=block"});
  SubscriberView v = Find(*store, "+15551230001");
  EXPECT_FALSE(v.enabled);
  EXPECT_EQ(v.consent, std::optional<bool>(false));
  EXPECT_EQ(v.action->action, Action::kBlock);
  EXPECT_TRUE(v.action->report);
  EXPECT_FALSE(v.quiet_allowlist_bypasses);
  EXPECT_EQ(v.quiet_action->action, Action::kBlock);
  EXPECT_FALSE(v.quiet_action->report);
}

TEST(SubscriberStoreTest, BadLinesReportFileLineAndKeyPath) {
  struct Case {
    std::string line;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"+1555\tdeny=+1900*",
       "subs.tsv:1: subscribers.+1555: not an MSISDN or email address (got \"+1555\")"},
      {"\tdeny=+1900*", "subs.tsv:1: missing subscriber key in the first field"},
      {"+15551230000\tdeny=+1-9x",
       "subs.tsv:1: subscribers.+15551230000.deny[0]: "
       "not an MSISDN pattern (got \"+1-9x\")"},
      {"+15551230000\tdeny=+1900*\tdeny=447700900123",
       "subs.tsv:1: subscribers.+15551230000.deny[1]: not a list entry: a phone number needs a "
       "leading \"+\" (got \"447700900123\")"},
      {"+15551230000\tallow=spam.example",
       "subs.tsv:1: subscribers.+15551230000.allow.domains[0]: an email identity in an SMS "
       "subscriber's list (got \"spam.example\")"},
      {"user@example.com\tdeny=short:7726",
       "subs.tsv:1: subscribers.user@example.com.deny.short_codes[0]: an SMS identity in an email "
       "subscriber's list (got \"7726\")"},
      {"+15551230000\tcolour=blue",
       "subs.tsv:1: subscribers.+15551230000.colour: unknown field (expected tenant, enabled, "
       "consent, tz, allow, deny, keyword, regex, action, quiet, quiet_days, quiet_action or "
       "quiet_bypass)"},
      {"+15551230000\tdeny",
       "subs.tsv:1: subscribers.+15551230000: field 2: not name=value "
       "(got \"deny\")"},
      {"+15551230000\tconsent=maybe",
       "subs.tsv:1: subscribers.+15551230000.consent: not yes or no (got \"maybe\")"},
      {"+15551230000\ttz=Mars/Olympus",
       "subs.tsv:1: subscribers.+15551230000.time_zone: unknown time zone (got \"Mars/Olympus\")"},
      {"+15551230000\taction=reject",
       "subs.tsv:1: subscribers.+15551230000.action: \"reject\" is not an SMS action"},
      {"+15551230000\taction=throttle_sender",
       "subs.tsv:1: subscribers.+15551230000.action: \"throttle_sender\" is not available to "
       "subscribers"},
      {"user@example.com\taction=redirect",
       "subs.tsv:1: subscribers.user@example.com.action: \"redirect\" is not available to "
       "subscribers"},
      {"+15551230000\taction=explode",
       "subs.tsv:1: subscribers.+15551230000.action: not an action (got \"explode\")"},
      {"+15551230000\tquiet=22:00",
       "subs.tsv:1: subscribers.+15551230000.quiet.window: not a time window \"HH:MM-HH:MM\" "
       "(got \"22:00\")"},
      {"+15551230000\tquiet=22:00-07:00\tquiet_days=someday",
       "subs.tsv:1: subscribers.+15551230000.quiet.days: not a day list like \"mon-fri,sun\" "
       "(got \"someday\")"},
      {"+15551230000\tquiet_action=hold",
       "subs.tsv:1: subscribers.+15551230000.quiet: quiet_days, quiet_action or quiet_bypass "
       "given without quiet"},
      {"+15551230000\ttenant=a\ttenant=b",
       "subs.tsv:1: subscribers.+15551230000.tenant: given twice"},
      {"+15551230000\tregex=(a)\\1",
       "subs.tsv:1: subscribers.+15551230000.regexes[0]: invalid regex: invalid escape "
       "sequence: \\1 (got \"(a)\\\\1\")"},
      {"+15551230000\tregex=\\pL{1000}",
       "subs.tsv:1: subscribers.+15551230000.regexes[0]: regex too large for max_mem=1048576 "
       "(got \"\\\\pL{1000}\")"},
      {"+15551230000\tregex=" + std::string(256, 'a'),
       "subs.tsv:1: subscribers.+15551230000.regexes[0]: regex longer than 255 bytes "
       "(got 256 bytes)"},
      {"+15551230000\tkeyword=\xff",
       "subs.tsv:1: subscribers.+15551230000.keywords[0]: not valid UTF-8 (got \"\\xff\")"},
  };
  for (const Case& c : cases) EXPECT_EQ(Errors({c.line}), c.error) << c.line;
}

TEST(SubscriberStoreTest, ReportsEveryProblemAndDuplicates) {
  EXPECT_EQ(Errors({"+15551230000\tdeny=+1900*", "+1 555 123 0000\tdeny=+1800*",
                    "+15551230002\tdeny=x..y\tconsent=perhaps"}),
            "subs.tsv:2: subscribers.+1 555 123 0000: duplicate subscriber key\n"
            "subs.tsv:3: subscribers.+15551230002.deny[0]: not a domain (got \"x..y\")\n"
            "subs.tsv:3: subscribers.+15551230002.consent: not yes or no (got \"perhaps\")");
}

TEST(SubscriberStoreTest, CapsTheProblemList) {
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) lines.push_back("bad" + std::to_string(i));
  const std::string err = Errors(lines, {.max_problems = 2});
  EXPECT_EQ(err,
            "subs.tsv:1: subscribers.bad0: not an MSISDN or email address (got \"bad0\")\n"
            "subs.tsv:2: subscribers.bad1: not an MSISDN or email address (got \"bad1\")\n"
            "... and 3 more problems");
}

TEST(SubscriberStoreTest, AddFile) {
  const std::string path = ::testing::TempDir() + "/policy_subscribers_test.tsv";
  {
    std::ofstream out(path);
    out << "# test file\r\n"
        << kDocumentedSms << "\r\n"
        << kDocumentedEmail << "\n"
        << "+15551239999\tdeny=+1900*\n";
  }
  MemorySubscriberStore::Builder b;
  ASSERT_TRUE(b.AddFile(path).ok());
  absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>> s = std::move(b).Build();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->size(), 3u);
  std::remove(path.c_str());

  MemorySubscriberStore::Builder missing;
  absl::Status st = missing.AddFile("/nonexistent/subscribers.tsv");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);

  // Problems in a file carry file:line.
  const std::string bad = ::testing::TempDir() + "/policy_subscribers_bad.tsv";
  {
    std::ofstream out(bad);
    out << "+15551230000\tdeny=+1900*\n\n+15551230001\tquiet=25:00-01:00\n";
  }
  MemorySubscriberStore::Builder bb;
  ASSERT_TRUE(bb.AddFile(bad).ok());
  absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>> sb = std::move(bb).Build();
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(std::string(sb.status().message()),
            bad +
                ":3: subscribers.+15551230001.quiet.window: not a time window \"HH:MM-HH:MM\" "
                "(got \"25:00-01:00\")");
  std::remove(bad.c_str());
}

TEST(SubscriberStoreTest, AddFromSpec) {
  MemorySubscriberStore::Builder b;
  SubscriberSpec s;
  s.key = "+15551230000";
  s.deny.msisdns = {"+1900*"};
  s.deny.sender_ids = {"PROMO*"};
  s.keywords = {"Claim your prize"};
  s.quiet = QuietHoursSpec{.window = "22:00-07:00"};
  EXPECT_TRUE(b.Add(s));
  SubscriberSpec bad;
  bad.key = "+15551230001";
  bad.deny.domains = {"x.example"};
  EXPECT_FALSE(b.Add(bad));
  ASSERT_EQ(b.problems().size(), 1u);
  EXPECT_EQ(b.problems()[0].ToString(),
            "subscribers.+15551230001.deny.domains[0]: an email identity in an SMS subscriber's "
            "list (got \"x.example\")");
}

TEST(SubscriberStoreTest, LazyRegexesCompileOnceUnderConcurrency) {
  auto store = FromLines({"+15551230000\tregex=(?i)free\\s+money\tregex=(?i)crypto.{0,5}now"});
  SubscriberView v = Find(*store, "+15551230000");
  ASSERT_NE(v.regexes, nullptr);
  auto hit = MakeSms({.text = "get FREE   money"});
  auto hit2 = MakeSms({.text = "buy CRYPTO now"});
  auto miss = MakeSms({.text = "hello"});
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (v.MatchRegex(MessageText(*hit)).has_value()) ++hits;
        if (v.MatchRegex(MessageText(*hit2)) == "(?i)crypto.{0,5}now") ++hits;
        if (v.MatchRegex(MessageText(*miss)).has_value()) hits += 1000;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(hits.load(), 8 * 200 * 2);
  // Every lookup of the same subscriber sees the same compiled slot.
  EXPECT_EQ(Find(*store, "+15551230000").regexes, v.regexes);
}

TEST(SubscriberStoreTest, MemoryIsBoundedPerSubscriber) {
  constexpr int kN = 100000;
  MemorySubscriberStore::Builder b;
  b.Reserve(kN);
  for (int i = 0; i < kN; ++i) {
    SubscriberSpec s;
    s.key = "+1555" + std::to_string(1000000 + i);
    s.allow.msisdns = {"+1555" + std::to_string(2000000 + i)};
    s.deny.msisdns = {"+1900*"};
    s.deny.sender_ids = {"PROMO*"};
    s.keywords = {"loan approved"};
    ASSERT_TRUE(b.Add(s)) << b.problems()[0].ToString();
  }
  auto store = *std::move(b).Build();
  const MemorySubscriberStore::MemoryUsage m = store->memory();
  const double per = static_cast<double>(m.total()) / kN;
  EXPECT_LT(per, 128.0) << "pool=" << m.pool << " index=" << m.index;
  EXPECT_GT(per, 24.0);
  SubscriberHandle h;
  EXPECT_TRUE(*store->Find("+15551099999", &h));
  EXPECT_EQ(h.view.MatchDeny(SmsFrom("+19001234567"))->entry, "+1900*");
}

TEST(NormalizeSubscriberKeyTest, Channels) {
  Channel ch;
  EXPECT_EQ(*NormalizeSubscriberKey("+1 555 123 0000", "", &ch), "+15551230000");
  EXPECT_EQ(ch, Channel::kSms);
  EXPECT_EQ(*NormalizeSubscriberKey("A@B.example", "", &ch), "a@b.example");
  EXPECT_EQ(ch, Channel::kEmail);
  EXPECT_FALSE(NormalizeSubscriberKey("nobody", "", &ch).ok());
}

}  // namespace
}  // namespace veto::policy
