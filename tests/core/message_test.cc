#include "core/message.h"

#include <gtest/gtest.h>

#include "core/arena.h"

namespace veto {
namespace {

TEST(ArenaTest, ViewsSurviveManyAllocations) {
  Arena arena(16);
  std::string_view first = arena.Copy("first value");
  for (int i = 0; i < 1000; ++i) arena.Copy("filler filler filler");
  EXPECT_EQ(first, "first value");
  EXPECT_EQ(arena.bytes_used(), 11u + 1000u * 20u);
}

TEST(ArenaTest, ShrinkReturnsUnusedTail) {
  Arena arena;
  char* p = arena.Allocate(100);
  arena.Shrink(p, 100, 10);
  EXPECT_EQ(arena.bytes_used(), 10u);
  char* q = arena.Allocate(5);
  EXPECT_EQ(q, p + 10);
}

TEST(ArenaTest, ResetReusesTheFirstBlock) {
  Arena arena(64);
  char* first = arena.Allocate(10);
  arena.Copy(std::string(200, 'x'));  // an oversized block of its own
  arena.Allocate(60);                 // and one more standard block
  arena.Reset();
  EXPECT_EQ(arena.bytes_used(), 0u);
  EXPECT_EQ(arena.Allocate(10), first);  // the first block again, from its start
  std::string_view v = arena.Copy("after reset");
  EXPECT_EQ(v, "after reset");
}

TEST(ArenaTest, ResetDropsAnOversizedFirstBlock) {
  Arena arena(16);
  arena.Copy(std::string(100, 'y'));  // first block larger than the standard size
  arena.Reset();
  EXPECT_EQ(arena.bytes_used(), 0u);
  EXPECT_EQ(arena.Copy("z"), "z");
}

TEST(MessageTest, ResetMakesAnEmptyMessage) {
  Message m;
  m.channel = Channel::kSms;
  m.envelope.mail_from = "a@example.com";
  m.envelope.rcpt_to.push_back("b@example.com");
  m.sms.sender = m.arena().Copy("+447700900123");
  m.sms.timestamp_unix = 5;
  m.full = m.arena().Copy("text");
  m.all_headers.push_back({.name = "From", .raw = m.sms.sender, .value = m.sms.sender});
  m.parts.emplace_back();
  m.body = m.full;
  m.body_elements.push_back(m.body);
  m.rawbody_elements.push_back(m.body);
  m.normalized_body = m.body;
  m.uris.emplace_back();
  m.flags.Set(MessageFlag::kCrlf);
  m.header_count = 1;
  m.Reset();
  EXPECT_EQ(m.channel, Channel::kEmail);
  EXPECT_TRUE(m.envelope.mail_from.empty());
  EXPECT_TRUE(m.envelope.rcpt_to.empty());
  EXPECT_TRUE(m.sms.sender.empty());
  EXPECT_EQ(m.sms.timestamp_unix, 0);
  EXPECT_TRUE(m.full.empty());
  EXPECT_TRUE(m.all_headers.empty());
  EXPECT_TRUE(m.parts.empty());
  EXPECT_TRUE(m.body.empty());
  EXPECT_TRUE(m.body_elements.empty());
  EXPECT_TRUE(m.rawbody_elements.empty());
  EXPECT_TRUE(m.normalized_body.empty());
  EXPECT_TRUE(m.uris.empty());
  EXPECT_TRUE(m.flags.empty());
  EXPECT_EQ(m.header_count, 0u);
  EXPECT_EQ(m.arena().bytes_used(), 0u);
}

TEST(FlagsTest, NamesInEnumOrder) {
  Flags f;
  EXPECT_TRUE(f.empty());
  f.Set(MessageFlag::kLimitDepth);
  f.Set(MessageFlag::kMboxFromLine);
  EXPECT_TRUE(f.Has(MessageFlag::kLimitDepth));
  EXPECT_FALSE(f.Has(MessageFlag::kCrlf));
  std::vector<std::string_view> names = f.Names();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "mbox_from_line");
  EXPECT_EQ(names[1], "limit_depth");
}

TEST(FlagsTest, EveryFlagHasAName) {
  for (uint32_t i = 0; i < static_cast<uint32_t>(MessageFlag::kCount_); ++i) {
    EXPECT_NE(FlagName(static_cast<MessageFlag>(i)), "unknown") << i;
  }
}

TEST(MessageTest, HeaderLookupIsCaseInsensitiveAndKeepsDuplicates) {
  Message m;
  m.all_headers = {{"Received", " a", "a"}, {"subject", " one", "one"},
                   {"Received", " b", "b"}, {"SUBJECT", " two", "two"}};
  MimePart root;
  root.header_end = 3;  // the 4th header belongs to a child part
  m.parts.push_back(root);
  EXPECT_EQ(m.GetHeaders("RECEIVED").size(), 2u);
  ASSERT_NE(m.LastHeader("Subject"), nullptr);
  EXPECT_EQ(m.LastHeader("Subject")->value, "one");
  EXPECT_EQ(m.FirstHeader("received")->value, "a");
  EXPECT_EQ(m.FirstHeader("X-Missing"), nullptr);
  EXPECT_EQ(m.Headers().size(), 3u);
}

}  // namespace
}  // namespace veto

namespace veto {
namespace {

// The inline EqualsIgnoreCase agrees with the plain definition (ASCII A-Z folded, every other
// byte compared as it is) on every pair of bytes.
TEST(Message, EqualsIgnoreCaseOnEveryBytePair) {
  auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
  for (int x = 0; x < 256; ++x) {
    for (int y = 0; y < 256; ++y) {
      const char a[2] = {'k', static_cast<char>(x)};
      const char b[2] = {'K', static_cast<char>(y)};
      ASSERT_EQ(EqualsIgnoreCase(std::string_view(a, 2), std::string_view(b, 2)),
                lower(static_cast<unsigned char>(x)) == lower(static_cast<unsigned char>(y)))
          << x << " " << y;
    }
  }
  EXPECT_FALSE(EqualsIgnoreCase("From", "Fro"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(EqualsIgnoreCase("X-Veto-FLAGS", "x-veto-flags"));
}

}  // namespace
}  // namespace veto
