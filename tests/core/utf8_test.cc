#include "core/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace veto {
namespace {

// A table of valid and invalid sequences (RFC 3629), each at the start of a string.
TEST(Utf8Test, ValidLengthTable) {
  struct Case {
    std::string bytes;
    size_t want;
  };
  const Case cases[] = {
      {"a", 1},
      {"\x7f", 1},
      {"\xc3\xa9", 2},               // é
      {"\xe2\x82\xac", 3},           // €
      {"\xf0\x9f\x98\x80", 4},       // U+1F600
      {"\xf4\x8f\xbf\xbf", 4},       // U+10FFFF, the last
      {"\xc0\xaf", 0},               // overlong '/'
      {"\xc1\xbf", 0},               // overlong
      {"\xe0\x80\xaf", 0},           // overlong, 3 bytes
      {"\xf0\x80\x80\xaf", 0},       // overlong, 4 bytes
      {"\xed\xa0\x80", 0},           // U+D800, a surrogate
      {"\xed\xbf\xbf", 0},           // U+DFFF
      {"\xf4\x90\x80\x80", 0},       // above U+10FFFF
      {"\xf5\x80\x80\x80", 0},       // lead byte never valid
      {"\x80", 0},                   // continuation without a lead
      {"\xc3", 0},                   // truncated
      {"\xe2\x82", 0},               // truncated
      {"\xe2\x28\xa1", 0},           // bad continuation
      {"\xff", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ValidUtf8Length(c.bytes, 0), c.want) << testing::PrintToString(c.bytes);
  }
  // Not at the start: the length of the sequence at i, bounded by the string's end.
  EXPECT_EQ(ValidUtf8Length("x\xc3\xa9", 1), 2u);
  EXPECT_EQ(ValidUtf8Length("x\xc3", 1), 0u);
}

// The decoder under ValidUtf8Length: code points, and how much an ill-formed sequence
// consumes (the maximal subpart, so a truncated sequence is one replacement).
TEST(Utf8Test, DecodeCodePointsAndMaximalSubparts) {
  struct Case {
    std::string bytes;
    char32_t want;
    size_t len;
  };
  const Case cases[] = {
      {"a", U'a', 1},
      {"\xc3\xa9", 0xE9, 2},
      {"\xef\xbf\xbd", 0xFFFD, 3},  // U+FFFD itself is valid
      {"\xf0\x9f\x98\x80", 0x1F600, 4},
      {"\xe2\x82", kIllFormedUtf8, 2},      // truncated: both bytes, one replacement
      {"\xe2\x82x", kIllFormedUtf8, 2},     // cut short by an ASCII byte
      {"\xe2\x28\xa1", kIllFormedUtf8, 1},  // bad second byte: the lead alone
      {"\xed\xa0\x80", kIllFormedUtf8, 1},  // surrogate: E0-ED rules on the second byte
      {"\xf4\x90\x80\x80", kIllFormedUtf8, 1},
      {"\x80", kIllFormedUtf8, 1},
  };
  for (const Case& c : cases) {
    const auto* p = reinterpret_cast<const uint8_t*>(c.bytes.data());
    size_t len = 0;
    EXPECT_EQ(DecodeUtf8(p, p + c.bytes.size(), &len), c.want) << testing::PrintToString(c.bytes);
    EXPECT_EQ(len, c.len) << testing::PrintToString(c.bytes);
  }
}

}  // namespace
}  // namespace veto
