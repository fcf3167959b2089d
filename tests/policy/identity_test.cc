#include "policy/identity.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace veto::policy {
namespace {

struct NormCase {
  std::string_view in;
  std::string_view want;  // empty: error expected
};

// ---------------------------------------------------------------------------------------------
// MSISDNs.

TEST(NormalizeMsisdnTest, Table) {
  const NormCase cases[] = {
      {"+15551230000", "+15551230000"},
      {" +1 (555) 123-0000 ", "+15551230000"},
      {"+44 (0)7700 900123", "+447700900123"},
      {"0044 7700 900123", "+447700900123"},
      {"+49.171.1234567", "+491711234567"},
      {"+1234567", "+1234567"},                  // 7 digits: shortest accepted
      {"+123456789012345", "+123456789012345"},  // 15 digits: longest
      {"+1234560", "+1234560"},
      {"+123456", ""},            // too short
      {"+1234567890123456", ""},  // 16 digits
      {"+0441234567", ""},        // country code cannot start with 0
      {"07700 900123", ""},       // national without a default country code
      {"+44 7700 9001x3", ""},
      {"", ""},
      {"+", ""},
  };
  for (const NormCase& c : cases) {
    absl::StatusOr<std::string> got = NormalizeMsisdn(c.in);
    if (c.want.empty()) {
      EXPECT_FALSE(got.ok()) << c.in << " -> " << *got;
    } else {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
      EXPECT_EQ(*got, c.want) << c.in;
    }
  }
}

TEST(NormalizeMsisdnTest, DefaultCountryCode) {
  EXPECT_EQ(*NormalizeMsisdn("07700 900123", "44"), "+447700900123");
  EXPECT_EQ(*NormalizeMsisdn("5551230000", "1"), "+15551230000");
  EXPECT_EQ(*NormalizeMsisdn("+33612345678", "44"), "+33612345678");  // already international
  EXPECT_EQ(NormalizeMsisdn("07700", "x").status().ToString(),
            "INVALID_ARGUMENT: not a country code (got \"x\")");
}

TEST(NormalizeMsisdnTest, ErrorMessage) {
  EXPECT_EQ(NormalizeMsisdn("+12-x").status().ToString(),
            "INVALID_ARGUMENT: not an E.164 MSISDN (got \"+12-x\")");
}

TEST(NormalizeMsisdnPatternTest, Table) {
  const NormCase cases[] = {
      {"+1900*", "+1900*"},
      {"+1 900 *", "+1900*"},
      {"00449*", "+449*"},
      {"+44770090012?", "+44770090012?"},
      {"+44 7700 ???*", "+447700???*"},
      {"+15551230000", "+15551230000"},
      {"+1*", "+1*"},
      {"+*", ""},     // no digit at all
      {"+0*", ""},    // leading zero
      {"+123?", ""},  // exact pattern shorter than 7 digits
      {"+19*0", ""},  // '*' only at the end
      {"1900*", ""},  // needs '+' or 00
      {"+1234567890123456*", ""},
  };
  for (const NormCase& c : cases) {
    absl::StatusOr<std::string> got = NormalizeMsisdnPattern(c.in);
    if (c.want.empty()) {
      EXPECT_FALSE(got.ok()) << c.in << " -> " << *got;
    } else {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
      EXPECT_EQ(*got, c.want) << c.in;
    }
  }
}

TEST(MsisdnPatternMatchesTest, PrefixAndWildcard) {
  EXPECT_TRUE(MsisdnPatternMatches("+1900*", "+19005551234"));
  EXPECT_TRUE(MsisdnPatternMatches("+1900*", "+1900"));
  EXPECT_FALSE(MsisdnPatternMatches("+1900*", "+1800555123"));
  EXPECT_TRUE(MsisdnPatternMatches("+44770090012?", "+447700900123"));
  EXPECT_FALSE(MsisdnPatternMatches("+44770090012?", "+4477009001234"));  // one digit only
  EXPECT_FALSE(MsisdnPatternMatches("+44770090012?", "+44770090012"));
  EXPECT_TRUE(MsisdnPatternMatches("+447700???*", "+447700123456"));
  EXPECT_TRUE(MsisdnPatternMatches("+15551230000", "+15551230000"));
  EXPECT_FALSE(MsisdnPatternMatches("+15551230000", "+155512300001"));
}

TEST(ShortCodeTest, Table) {
  EXPECT_EQ(*NormalizeShortCode("7726"), "7726");
  EXPECT_EQ(*NormalizeShortCode(" 12345678 "), "12345678");
  EXPECT_FALSE(NormalizeShortCode("12").ok());
  EXPECT_FALSE(NormalizeShortCode("123456789").ok());
  EXPECT_EQ(NormalizeShortCode("77a6").status().ToString(),
            "INVALID_ARGUMENT: not a short code (got \"77a6\")");
}

TEST(SenderIdTest, Table) {
  EXPECT_EQ(*NormalizeSenderId("MyBank"), "mybank");
  EXPECT_EQ(*NormalizeSenderId("PROMO*", true), "promo*");
  EXPECT_EQ(*NormalizeSenderId("Info 24"), "info 24");
  EXPECT_FALSE(NormalizeSenderId("PROMO*").ok());        // prefix not allowed here
  EXPECT_FALSE(NormalizeSenderId("123456").ok());        // no letter: that is a number
  EXPECT_FALSE(NormalizeSenderId("ABCDEFGHIJKL").ok());  // 12 > 11 characters
  EXPECT_FALSE(NormalizeSenderId("").ok());
  EXPECT_EQ(NormalizeSenderId("Bad\x01").status().ToString(),
            "INVALID_ARGUMENT: not an alphanumeric sender ID (got \"Bad\\x01\")");
}

TEST(ClassifySmsSenderTest, Kinds) {
  std::string out;
  EXPECT_EQ(ClassifySmsSender("+447700900123", &out), SmsSenderKind::kMsisdn);
  EXPECT_EQ(out, "+447700900123");
  EXPECT_EQ(ClassifySmsSender("447700900123", &out), SmsSenderKind::kMsisdn);  // '+' dropped
  EXPECT_EQ(out, "+447700900123");
  EXPECT_EQ(ClassifySmsSender("+44 7700 900123", &out), SmsSenderKind::kMsisdn);
  EXPECT_EQ(out, "+447700900123");
  EXPECT_EQ(ClassifySmsSender("7726", &out), SmsSenderKind::kShortCode);
  EXPECT_EQ(out, "7726");
  EXPECT_EQ(ClassifySmsSender("PayPal", &out), SmsSenderKind::kAlphanumeric);
  EXPECT_EQ(out, "paypal");
  EXPECT_EQ(ClassifySmsSender("", &out), SmsSenderKind::kInvalid);
  EXPECT_EQ(ClassifySmsSender("a\nb", &out), SmsSenderKind::kInvalid);
  EXPECT_EQ(ClassifySmsSender("12", &out), SmsSenderKind::kInvalid);
}

// ---------------------------------------------------------------------------------------------
// Domains, addresses, HELO.

TEST(NormalizeDomainTest, Table) {
  const NormCase cases[] = {
      {"Example.COM", "example.com"},
      {"mail.example.com.", "mail.example.com"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"bücher.example", "xn--bcher-kva.example"},  // IDN → punycode
      {"com", "com"},                               // a TLD may be listed
      {"_dmarc.example.com", "_dmarc.example.com"},
      {"foo..bar", ""},
      {"-foo.example", ""},
      {"foo-.example", ""},
      {"foo bar.example", ""},
      {"", ""},
      {".", ""},
      {"*.example.com", ""},
      {std::string_view("a\0b.com", 7), ""},
  };
  for (const NormCase& c : cases) {
    absl::StatusOr<std::string> got = NormalizeDomain(c.in);
    if (c.want.empty()) {
      EXPECT_FALSE(got.ok()) << c.in << " -> " << *got;
    } else {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
      EXPECT_EQ(*got, c.want) << c.in;
    }
  }
  EXPECT_EQ(NormalizeDomain("foo..bar").status().ToString(),
            "INVALID_ARGUMENT: not a domain (got \"foo..bar\")");
  EXPECT_FALSE(NormalizeDomain(std::string(64, 'a') + ".com").ok());  // label > 63
  const std::string label(63, 'a');
  EXPECT_TRUE(NormalizeDomain(label + "." + label + "." + label + "." + "a.com").ok());  // 253
  EXPECT_FALSE(NormalizeDomain(label + "." + label + "." + label + "." + label).ok());   // 255
}

TEST(NormalizeAddressTest, Table) {
  EXPECT_EQ(*NormalizeAddress("User@Example.COM"), "user@example.com");
  EXPECT_EQ(*NormalizeAddress("<user+tag@example.com>"), "user+tag@example.com");
  EXPECT_EQ(*NormalizeAddress("\"odd@local\"@example.com"), "\"odd@local\"@example.com");
  EXPECT_EQ(*NormalizeAddress("u@bücher.example"), "u@xn--bcher-kva.example");
  EXPECT_FALSE(NormalizeAddress("example.com").ok());
  EXPECT_FALSE(NormalizeAddress("@example.com").ok());
  EXPECT_FALSE(NormalizeAddress("user@").ok());
  EXPECT_FALSE(NormalizeAddress("us er@example.com").ok());
  EXPECT_FALSE(NormalizeAddress(std::string(65, 'a') + "@example.com").ok());
  EXPECT_EQ(NormalizeAddress("a@b..c").status().ToString(),
            "INVALID_ARGUMENT: not an email address (got \"a@b..c\")");
}

TEST(NormalizeHeloTest, Table) {
  EXPECT_EQ(*NormalizeHelo("MX1.Example.NET."), "mx1.example.net");
  EXPECT_EQ(*NormalizeHelo("[192.0.2.1]"), "[192.0.2.1]");
  EXPECT_EQ(*NormalizeHelo("[IPv6:2001:DB8::1]"), "[ipv6:2001:db8::1]");
  EXPECT_FALSE(NormalizeHelo("[not-an-ip]").ok());
  EXPECT_EQ(NormalizeHelo("bad helo").status().ToString(),
            "INVALID_ARGUMENT: not a HELO name (got \"bad helo\")");
}

TEST(ExtractAddressTest, Forms) {
  EXPECT_EQ(ExtractAddress("Alice <alice@example.com>"), "alice@example.com");
  EXPECT_EQ(ExtractAddress("\"A <b>\" <real@example.com>"), "real@example.com");
  EXPECT_EQ(ExtractAddress("  plain@example.com "), "plain@example.com");
  EXPECT_EQ(ExtractAddress("<>"), "");
  EXPECT_EQ(AddressDomain("a@b.example"), "b.example");
  EXPECT_EQ(AddressDomain("nodomain"), "");
}

// ---------------------------------------------------------------------------------------------
// IPs and CIDR.

TEST(ParseIpTest, Forms) {
  ASSERT_TRUE(ParseIp("192.0.2.1").has_value());
  EXPECT_TRUE(ParseIp("192.0.2.1")->is_v4);
  EXPECT_TRUE(ParseIp("[192.0.2.1]")->is_v4);
  EXPECT_FALSE(ParseIp("2001:db8::1")->is_v4);
  EXPECT_FALSE(ParseIp("IPv6:2001:db8::1")->is_v4);
  EXPECT_FALSE(ParseIp("[IPv6:2001:db8::1]")->is_v4);
  EXPECT_TRUE(ParseIp("::ffff:192.0.2.1")->is_v4);  // mapped counts as IPv4
  EXPECT_EQ(*ParseIp("::ffff:192.0.2.1"), *ParseIp("192.0.2.1"));
  EXPECT_FALSE(ParseIp("192.0.2").has_value());
  EXPECT_FALSE(ParseIp("192.0.2.256").has_value());
  EXPECT_FALSE(ParseIp("").has_value());
  EXPECT_FALSE(ParseIp("unknown").has_value());
  EXPECT_FALSE(ParseIp(std::string(100, '1')).has_value());
}

TEST(CidrTest, ContainsV4AndV6) {
  Cidr v4 = *ParseCidr("192.0.2.0/24");
  EXPECT_TRUE(v4.Contains(*ParseIp("192.0.2.200")));
  EXPECT_FALSE(v4.Contains(*ParseIp("192.0.3.1")));
  EXPECT_FALSE(v4.Contains(*ParseIp("::ffff:c000:3ff") /* 192.0.3.255 */));
  EXPECT_TRUE(v4.Contains(*ParseIp("::ffff:192.0.2.7")));
  EXPECT_EQ(v4.ToString(), "192.0.2.0/24");

  Cidr odd = *ParseCidr("10.0.0.0/9");
  EXPECT_TRUE(odd.Contains(*ParseIp("10.127.255.255")));
  EXPECT_FALSE(odd.Contains(*ParseIp("10.128.0.0")));

  Cidr v6 = *ParseCidr("2001:db8::/32");
  EXPECT_TRUE(v6.Contains(*ParseIp("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.Contains(*ParseIp("2001:db9::1")));
  EXPECT_FALSE(v6.Contains(*ParseIp("192.0.2.1")));  // families never mix

  Cidr all6 = *ParseCidr("::/0");
  EXPECT_TRUE(all6.Contains(*ParseIp("2001:db8::1")));
  EXPECT_FALSE(all6.Contains(*ParseIp("192.0.2.1")));
  Cidr all4 = *ParseCidr("0.0.0.0/0");
  EXPECT_TRUE(all4.Contains(*ParseIp("203.0.113.9")));

  Cidr host = *ParseCidr("192.0.2.1");
  EXPECT_EQ(host.prefix_len, 32);
  EXPECT_EQ(host.ToString(), "192.0.2.1");
  EXPECT_EQ(ParseCidr("2001:DB8::1")->ToString(), "2001:db8::1");
}

TEST(CidrTest, Errors) {
  EXPECT_EQ(ParseCidr("192.0.2.1/24").status().ToString(),
            "INVALID_ARGUMENT: CIDR block has host bits set (got \"192.0.2.1/24\", expected "
            "\"192.0.2.0/24\")");
  EXPECT_EQ(ParseCidr("2001:db8::1/32").status().ToString(),
            "INVALID_ARGUMENT: CIDR block has host bits set (got \"2001:db8::1/32\", expected "
            "\"2001:db8::/32\")");
  EXPECT_EQ(ParseCidr("192.0.2.0/33").status().ToString(),
            "INVALID_ARGUMENT: not an IP address or CIDR block (got \"192.0.2.0/33\")");
  EXPECT_FALSE(ParseCidr("2001:db8::/129").ok());
  EXPECT_FALSE(ParseCidr("192.0.2.0/").ok());
  EXPECT_FALSE(ParseCidr("192.0.2.0/-1").ok());
  EXPECT_FALSE(ParseCidr("example.com/24").ok());
}

// ---------------------------------------------------------------------------------------------
// Typed entries.

TEST(ParseIdentityEntryTest, Inference) {
  struct Case {
    std::string_view in;
    IdentityKind kind;
    std::string_view value;
  };
  const Case cases[] = {
      {"+1900*", IdentityKind::kMsisdn, "+1900*"},
      {"user@Example.com", IdentityKind::kAddress, "user@example.com"},
      {"7726", IdentityKind::kShortCode, "7726"},
      {"203.0.113.0/24", IdentityKind::kIp, "203.0.113.0/24"},
      {"2001:db8::/32", IdentityKind::kIp, "2001:db8::/32"},
      {"spam.example", IdentityKind::kDomain, "spam.example"},
      {"PROMO*", IdentityKind::kSenderId, "promo*"},
      {"MyBank", IdentityKind::kSenderId, "mybank"},
      {"alpha:Info.Co", IdentityKind::kSenderId, "info.co"},  // prefix wins over the '.'
      {"helo:mx.example.net", IdentityKind::kHelo, "mx.example.net"},
      {"domain:localhost", IdentityKind::kDomain, "localhost"},
      {"short:12345", IdentityKind::kShortCode, "12345"},
      {"msisdn:0044 7700 900123", IdentityKind::kMsisdn, "+447700900123"},
      {"addr:a@b.example", IdentityKind::kAddress, "a@b.example"},
      {"ip:192.0.2.1", IdentityKind::kIp, "192.0.2.1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<IdentityEntry> e = ParseIdentityEntry(c.in);
    ASSERT_TRUE(e.ok()) << c.in << ": " << e.status();
    EXPECT_EQ(e->kind, c.kind) << c.in;
    EXPECT_EQ(e->value, c.value) << c.in;
  }
  EXPECT_EQ(ParseIdentityEntry("447700900123").status().ToString(),
            "INVALID_ARGUMENT: not a list entry: a phone number needs a leading \"+\" (got "
            "\"447700900123\")");
  EXPECT_EQ(ParseIdentityEntry("short:12").status().ToString(),
            "INVALID_ARGUMENT: not a short code (got \"12\")");
  EXPECT_FALSE(ParseIdentityEntry("foo..bar").ok());
}

TEST(GotTest, EscapesAndCuts) {
  EXPECT_EQ(Got("a\"b\\c\n"), "(got \"a\\\"b\\\\c\\n\")");
  EXPECT_EQ(Got(std::string(100, 'x')), "(got \"" + std::string(80, 'x') + "...\")");
}

}  // namespace
}  // namespace veto::policy
