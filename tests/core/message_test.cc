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
