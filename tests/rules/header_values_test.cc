#include "rules/header_values.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace veto::rules {
namespace {

std::vector<std::string> Addresses(std::string_view v) {
  std::vector<std::string> out;
  for (const ParsedAddress& a : ParseAddressList(v)) out.push_back(a.address + "|" + a.name);
  return out;
}

TEST(ParseAddressList, BareAddressesAndSmsSenders) {
  EXPECT_EQ(Addresses("a@example.com"), std::vector<std::string>{"a@example.com|"});
  EXPECT_EQ(Addresses("  +447700900123 \n"), std::vector<std::string>{"+447700900123|"});
  EXPECT_EQ(Addresses("vodafone"), std::vector<std::string>{"vodafone|"});
  EXPECT_TRUE(Addresses("").empty());
  EXPECT_TRUE(Addresses(" \t ").empty());
}

TEST(ParseAddressList, TheGeneralForms) {
  EXPECT_EQ(Addresses("\"Ann Lee\" <ann@example.com>"),
            std::vector<std::string>{"ann@example.com|Ann Lee"});
  EXPECT_EQ(Addresses("ann@example.com (Ann  Lee)"),
            std::vector<std::string>{"ann@example.com|Ann Lee"});
  EXPECT_EQ(Addresses("a@x.com, b@y.org; c@z.net"),
            (std::vector<std::string>{"a@x.com|", "b@y.org|", "c@z.net|"}));
  EXPECT_TRUE(Addresses("undisclosed-recipients:;").empty());
  EXPECT_EQ(Addresses("team: a@x.com"), std::vector<std::string>{"a@x.com|"});
  EXPECT_EQ(Addresses("a  b@x.com"), std::vector<std::string>{"a b@x.com|"});
}

TEST(HeaderTarget, FlagsPseudoHeader) {
  Message m;
  HeaderSpec spec;
  spec.name = "X-Veto-Flags";
  bool present = true;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "");
  EXPECT_FALSE(present);
  spec.has_if_unset = true;
  spec.if_unset = "none";
  EXPECT_EQ(HeaderTarget(m, spec, &present), "none");
  EXPECT_FALSE(present);
  m.flags.Set(MessageFlag::kCrlf);
  m.flags.Set(MessageFlag::kBadBase64);
  EXPECT_EQ(HeaderTarget(m, spec, &present), "crlf bad_base64\n");
  EXPECT_TRUE(present);
}

TEST(HeaderTarget, SmsSenderAsFromAddr) {
  Message m;
  m.all_headers.push_back({.name = "From", .raw = "+447700900123", .value = "+447700900123"});
  m.header_count = 1;
  HeaderSpec spec;
  spec.name = "From";
  spec.addr = true;
  bool present = false;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "+447700900123");
  EXPECT_TRUE(present);
  spec.name = "Reply-To";
  EXPECT_EQ(HeaderTarget(m, spec, &present), "");
  EXPECT_FALSE(present);
}

TEST(HeaderTarget, OnceTwiceAndModifiers) {
  Message m;
  m.all_headers.push_back({.name = "Subject", .raw = " Hi", .value = "Hi"});
  m.all_headers.push_back({.name = "to", .raw = " \"Ann\" <a@x.com>", .value = "\"Ann\" <a@x.com>"});
  m.all_headers.push_back({.name = "Received", .raw = " one", .value = "one"});
  m.all_headers.push_back({.name = "Received", .raw = " two", .value = "two"});
  m.all_headers.push_back({.name = "Cc", .raw = " ", .value = ""});
  m.header_count = 5;
  bool present = false;
  HeaderSpec spec;
  spec.name = "subject";
  EXPECT_EQ(HeaderTarget(m, spec, &present), "Hi\n");
  EXPECT_TRUE(present);
  spec.name = "Received";
  EXPECT_EQ(HeaderTarget(m, spec, &present), "one\ntwo\n");
  spec.last = true;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "two\n");
  spec = HeaderSpec();
  spec.name = "To";
  spec.addr = true;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "a@x.com");
  EXPECT_TRUE(present);
  spec.name = "Cc";
  spec.has_if_unset = true;
  spec.if_unset = "unset";
  EXPECT_EQ(HeaderTarget(m, spec, &present), "unset");
  EXPECT_FALSE(present);
  spec.addr = false;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "\n");  // present, empty value
  EXPECT_TRUE(present);
  spec.name = "X-Spam-Status";
  m.all_headers.push_back({.name = "X-Spam-Status", .raw = " Yes", .value = "Yes"});
  m.header_count = 6;
  EXPECT_EQ(HeaderTarget(m, spec, &present), "unset");  // arrived X-Spam-* are invisible
  EXPECT_FALSE(present);
}

}  // namespace
}  // namespace veto::rules
