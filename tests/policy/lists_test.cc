#include "policy/lists.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::EmailMsg;
using testing::MakeEmail;
using testing::MakeSms;
using testing::SmsMsg;

IdentityList Build(const IdentityListSpec& spec) {
  IdentityList l;
  std::vector<SpecProblem> problems;
  l.Build(spec, "test", &problems);
  EXPECT_TRUE(problems.empty()) << problems[0].ToString();
  return l;
}

Sender EmailSender(const EmailMsg& e) {
  Sender s;
  Sender::FromMessage(*MakeEmail(e), "", &s);
  return s;
}

Sender SmsSender(std::string sender) {
  Sender s;
  Sender::FromMessage(*MakeSms({.sender = std::move(sender)}), "", &s);
  return s;
}

// The matched entry, or "-" for no match.
std::string Hit(const IdentityList& l, const Sender& s) {
  std::optional<ListHit> h = l.MatchSender(s);
  return h.has_value() ? std::string(h->entry) : "-";
}

TEST(SenderTest, EmailIdentitiesNormalised) {
  Sender s = EmailSender({.mail_from = "<Bob@Mail.Example.ORG>",
                          .client_ip = "IPv6:2001:DB8::5",
                          .helo = "MX.Example.org.",
                          .from_header = "\"Bob\" <bob@Header.Example>"});
  EXPECT_EQ(s.mail_from, "bob@mail.example.org");
  EXPECT_EQ(s.mail_from_domain, "mail.example.org");
  EXPECT_EQ(s.from_header, "bob@header.example");
  EXPECT_EQ(s.from_header_domain, "header.example");
  ASSERT_TRUE(s.ip.has_value());
  EXPECT_FALSE(s.ip->is_v4);
  EXPECT_EQ(s.helo, "mx.example.org");
}

TEST(SenderTest, NullSender) {
  Sender s = EmailSender({.mail_from = "<>"});
  EXPECT_EQ(s.mail_from, "");
  EXPECT_EQ(s.mail_from_domain, "");
}

TEST(IdentityListTest, DomainsMatchSubdomainsNotLookalikes) {
  IdentityList l = Build({.domains = {"Example.COM", "spam.test"}});
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@example.com"})), "example.com");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@mail.eu.example.com"})), "example.com");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@notexample.com"})), "-");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@example.com.evil.test"})), "-");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@x.spam.test."})), "spam.test");
  // The header From domain counts too.
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "bounce@esp.test", .from_header = "x@example.com"})),
            "example.com");
}

TEST(IdentityListTest, TldEntry) {
  IdentityList l = Build({.domains = {"zip"}});
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@offer.zip"})), "zip");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "a@zip.example"})), "-");
}

TEST(IdentityListTest, AddressesExactCaseInsensitive) {
  IdentityList l = Build({.addresses = {"Boss@Example.com"}});
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "<boss@example.COM>"})), "boss@example.com");
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "boss2@example.com"})), "-");
  EXPECT_EQ(
      Hit(l, EmailSender({.mail_from = "x@y.test", .from_header = "Boss <BOSS@example.com>"})),
      "boss@example.com");
}

TEST(IdentityListTest, CidrV4) {
  IdentityList l = Build({.ips = {"203.0.113.0/24", "198.51.100.7", "10.0.0.0/8"}});
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "203.0.113.99"})), "203.0.113.0/24");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "198.51.100.7"})), "198.51.100.7");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "198.51.100.8"})), "-");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "10.200.1.1"})), "10.0.0.0/8");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "[::ffff:203.0.113.5]"})), "203.0.113.0/24");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "11.0.0.1"})), "-");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = ""})), "-");
}

TEST(IdentityListTest, CidrV6AndMostSpecificFirst) {
  IdentityList l = Build({.ips = {"2001:db8::/32", "2001:db8:1::/48", "::/0"}});
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "2001:db8:1::9"})), "2001:db8:1::/48");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "2001:db8:2::9"})), "2001:db8::/32");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "2a00::1"})), "::/0");
  EXPECT_EQ(Hit(l, EmailSender({.client_ip = "192.0.2.1"})), "-");  // IPv6 blocks: not IPv4
}

TEST(IdentityListTest, Helo) {
  IdentityList l = Build({.helos = {"Bad.Example", "[192.0.2.1]"}});
  EXPECT_EQ(Hit(l, EmailSender({.helo = "bad.example."})), "bad.example");
  EXPECT_EQ(Hit(l, EmailSender({.helo = "sub.bad.example"})), "-");  // HELO is exact
  EXPECT_EQ(Hit(l, EmailSender({.helo = "[192.0.2.1]"})), "[192.0.2.1]");
}

TEST(IdentityListTest, MsisdnExactPrefixWildcard) {
  IdentityList l = Build({.msisdns = {"+15551230000", "+1900*", "+4477009*", "+44770090012?"}});
  EXPECT_EQ(Hit(l, SmsSender("+15551230000")), "+15551230000");
  EXPECT_EQ(Hit(l, SmsSender("+19005550100")), "+1900*");
  EXPECT_EQ(Hit(l, SmsSender("+447700900999")), "+4477009*");  // longest prefix wins ...
  EXPECT_EQ(Hit(l, SmsSender("+447700800123")), "-");
  EXPECT_EQ(Hit(l, SmsSender("+15551230001")), "-");
  Build({.msisdns = {"+44770090012?"}});
  IdentityList w = Build({.msisdns = {"+44770090012?"}});
  EXPECT_EQ(Hit(w, SmsSender("+447700900125")), "+44770090012?");
  EXPECT_EQ(Hit(w, SmsSender("+4477009001255")), "-");
  // Email identities never match SMS and vice versa.
  EXPECT_EQ(Hit(l, EmailSender({.mail_from = "+19005550100@sms.example"})), "-");
}

TEST(IdentityListTest, ShortCodesAndSenderIds) {
  IdentityList l = Build({.short_codes = {"7726"}, .sender_ids = {"PayPal", "PROMO*"}});
  EXPECT_EQ(Hit(l, SmsSender("7726")), "7726");
  EXPECT_EQ(Hit(l, SmsSender("77260")), "-");
  EXPECT_EQ(Hit(l, SmsSender("PAYPAL")), "paypal");
  EXPECT_EQ(Hit(l, SmsSender("PayPal1")), "-");
  EXPECT_EQ(Hit(l, SmsSender("PromoKing")), "promo*");
  EXPECT_EQ(Hit(l, SmsSender("PROMO")), "promo*");
  EXPECT_EQ(Hit(l, SmsSender("Promp")), "-");
  // A short code entry does not match an MSISDN with the same digits.
  IdentityList sc = Build({.short_codes = {"12345678"}});
  EXPECT_EQ(Hit(sc, SmsSender("+12345678")), "-");
}

TEST(IdentityListTest, Recipients) {
  IdentityList traps = Build({.addresses = {"trap@example.com"},
                              .domains = {"traps.example.net"},
                              .msisdns = {"+15550000000"}});
  EXPECT_EQ(traps.MatchRecipient(Channel::kEmail, "trap@example.com")->entry, "trap@example.com");
  EXPECT_EQ(traps.MatchRecipient(Channel::kEmail, "any@x.traps.example.net")->entry,
            "traps.example.net");
  EXPECT_FALSE(traps.MatchRecipient(Channel::kEmail, "user@example.com").has_value());
  EXPECT_EQ(traps.MatchRecipient(Channel::kSms, "+15550000000")->entry, "+15550000000");
  EXPECT_FALSE(traps.MatchRecipient(Channel::kSms, "+15550000001").has_value());
}

TEST(IdentityListTest, ProblemsCarryKeyPaths) {
  IdentityList l;
  std::vector<SpecProblem> problems;
  l.Build({.domains = {"ok.example", "foo..bar"}, .ips = {"192.0.2.1/24"}, .msisdns = {"+1x"}},
          "tenants.t.deny", &problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].ToString(), "tenants.t.deny.domains[1]: not a domain (got \"foo..bar\")");
  EXPECT_EQ(problems[1].ToString(),
            "tenants.t.deny.ips[0]: CIDR block has host bits set (got \"192.0.2.1/24\", "
            "expected \"192.0.2.0/24\")");
  EXPECT_EQ(problems[2].ToString(),
            "tenants.t.deny.msisdns[0]: not an MSISDN pattern (got \"+1x\")");
  EXPECT_EQ(l.size(), 1u);  // the good entry is kept
}

}  // namespace
}  // namespace veto::policy
