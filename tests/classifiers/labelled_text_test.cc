#include "classifiers/labelled_text.h"

#include "gtest/gtest.h"

namespace veto::classifiers {
namespace {

struct Parsed {
  std::vector<LabelledText> texts;
  std::vector<FeedError> errors;
  size_t bad = 0;
};

Parsed Parse(std::string_view data, FeedFormat f) {
  Parsed p;
  p.bad = ParseLabelledTexts(data, f, &p.texts, &p.errors);
  return p;
}

TEST(LabelledTextTest, Tsv) {
  Parsed p = Parse("ham\tGo until jurong point\nspam\tFree entry\tin 2 a wkly comp\r\n\nHAM\tok\n",
                   FeedFormat::kTsv);
  ASSERT_EQ(p.texts.size(), 3u);
  EXPECT_EQ(p.bad, 0u);
  EXPECT_FALSE(p.texts[0].spam);
  EXPECT_TRUE(p.texts[1].spam);
  EXPECT_EQ(p.texts[1].text, "Free entry\tin 2 a wkly comp");
  EXPECT_EQ(p.texts[2].line, 4u);
}

TEST(LabelledTextTest, Csv) {
  Parsed p = Parse("label,text\nspam,\"Call now, \"\"free\"\"\nprize\"\nham,plain text,extra\n1,x\n",
                   FeedFormat::kCsv);
  ASSERT_EQ(p.texts.size(), 3u) << (p.errors.empty() ? "" : p.errors[0].message);
  EXPECT_TRUE(p.texts[0].spam);
  EXPECT_EQ(p.texts[0].text, "Call now, \"free\"\nprize");
  EXPECT_EQ(p.texts[1].text, "plain text");
  EXPECT_EQ(p.texts[1].line, 4u);
  EXPECT_TRUE(p.texts[2].spam);
}

TEST(LabelledTextTest, Jsonl) {
  Parsed p = Parse(
      "{\"label\":\"spam\",\"text\":\"Win \\u00a3100 \\ud83d\\ude00 now\\n\"}\n"
      "{\"id\": 7, \"meta\": {\"a\": [1, 2, {\"b\": null}]}, \"text\": \"hi\", \"label\": 0}\n"
      "{\"label\": true, \"text\": \"x\"}\n",
      FeedFormat::kJsonl);
  ASSERT_EQ(p.texts.size(), 3u) << (p.errors.empty() ? "" : p.errors[0].message);
  EXPECT_EQ(p.texts[0].text, "Win \xc2\xa3" "100 \xf0\x9f\x98\x80 now\n");
  EXPECT_FALSE(p.texts[1].spam);
  EXPECT_EQ(p.texts[1].text, "hi");
  EXPECT_TRUE(p.texts[2].spam);
}

// Each bad line is reported with its line number and reason; the good lines are still read.
TEST(LabelledTextTest, BadLines) {
  struct Case {
    FeedFormat format;
    const char* input;
    const char* message;
  };
  const Case cases[] = {
      {FeedFormat::kTsv, "no tab here\n", "no tab"},
      {FeedFormat::kTsv, "maybe\ttext\n", "unknown label 'maybe'"},
      {FeedFormat::kCsv, "spam,ok\nweird,text\n", "unknown label 'weird'"},
      {FeedFormat::kCsv, "spam,ok\nspam\n", "one field"},
      {FeedFormat::kCsv, "spam,\"never closed\n", "unterminated"},
      {FeedFormat::kJsonl, "not json\n", "expected a JSON object"},
      {FeedFormat::kJsonl, "{\"label\":\"spam\"}\n", "\"label\" and \"text\""},
      {FeedFormat::kJsonl, "{\"label\":\"spam\",\"text\":\"x\"} trailing\n", "unexpected data after the object"},
      {FeedFormat::kJsonl, "{\"label\":\"spam\",\"text\":\"\\x\"}\n", "invalid escape"},
      {FeedFormat::kJsonl, "{\"label\":\"spam\",\"text\":\"abc\n", "unterminated string"},
      {FeedFormat::kJsonl, "{\"label\":\"spam\",\"text\":5}\n", "not a string"},
      {FeedFormat::kJsonl, "{\"label\":\"eggs\",\"text\":\"x\"}\n", "unknown label"},
      {FeedFormat::kJsonl, "{\"label\":\"true\",\"text\":\"x\"}\n", "unknown label"},
      {FeedFormat::kJsonl, "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
       "nesting deeper than 16"},
      {FeedFormat::kJsonl, "{\"text\":\"\\ud800\", \"label\":\"ham\", }\n", "expected a string"},
      {FeedFormat::kJsonl, "{\"text\":\"x\", \"label\":\"ham\", \"m\": {1: 2}}\n", "at byte 34: expected a string"},
  };
  for (const Case& c : cases) {
    std::string input = std::string("ham\tfine\n");
    if (c.format == FeedFormat::kCsv) input = "ham,fine\n";
    if (c.format == FeedFormat::kJsonl) input = "{\"label\":\"ham\",\"text\":\"fine\"}\n";
    input += c.input;
    Parsed p = Parse(input, c.format);
    ASSERT_GE(p.errors.size(), 1u) << c.input;
    EXPECT_NE(p.errors[0].message.find(c.message), std::string::npos)
        << c.input << " -> " << p.errors[0].message;
    EXPECT_GE(p.errors[0].line, 2u) << c.input;
    EXPECT_GE(p.texts.size(), 1u) << c.input;
    EXPECT_EQ(p.texts[0].text, "fine");
  }
}

TEST(LabelledTextTest, ErrorListIsCapped) {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "junk\n";
  std::vector<LabelledText> texts;
  std::vector<FeedError> errors;
  EXPECT_EQ(ParseLabelledTexts(input, FeedFormat::kTsv, &texts, &errors, 10), 1000u);
  EXPECT_EQ(errors.size(), 10u);
}

TEST(LabelledTextTest, Formats) {
  FeedFormat f;
  EXPECT_TRUE(FeedFormatFromPath("a/b.CSV", &f));
  EXPECT_EQ(f, FeedFormat::kCsv);
  EXPECT_TRUE(FeedFormatFromPath("x.jsonl", &f));
  EXPECT_EQ(f, FeedFormat::kJsonl);
  EXPECT_FALSE(FeedFormatFromPath("x.bin", &f));
  EXPECT_TRUE(ParseFeedFormat("tsv", &f));
  EXPECT_FALSE(ParseFeedFormat("xml", &f));
  bool spam;
  EXPECT_TRUE(ParseLabel(" Spam ", &spam));
  EXPECT_TRUE(spam);
  EXPECT_FALSE(ParseLabel("spammy", &spam));
}

}  // namespace
}  // namespace veto::classifiers
