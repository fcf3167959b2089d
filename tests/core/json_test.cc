// JsonWriter::WriteQuoted (the pointer form the SMS verdicts use) writes exactly what
// AppendQuoted appends, within QuotedBound.
#include "core/json.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace veto {
namespace {

std::string ViaWrite(std::string_view s) {
  // Guard bytes after the bound catch a write past it.
  std::string buf(JsonWriter::QuotedBound(s.size()) + 16, '\x7f');
  char* end = JsonWriter::WriteQuoted(s, buf.data());
  EXPECT_LE(static_cast<size_t>(end - buf.data()), JsonWriter::QuotedBound(s.size()));
  for (size_t i = JsonWriter::QuotedBound(s.size()); i < buf.size(); ++i) {
    EXPECT_EQ(buf[i], '\x7f') << "wrote past the bound";
  }
  return std::string(buf.data(), end);
}

std::string ViaAppend(std::string_view s) {
  std::string out;
  JsonWriter::AppendQuoted(s, &out);
  return out;
}

TEST(Json, WriteQuotedEqualsAppendQuotedOnNastyInputs) {
  const std::vector<std::string> cases = {
      "", "a", "plain ascii text that is longer than sixteen bytes, twice over........",
      "quote \" and backslash \\ inside", "\n\r\t\b\f\x01\x1f", std::string("nul\0inside", 10),
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "\xC3", "\xE0\x80\x80 overlong",
      "\xED\xA0\x80 surrogate", "\xF4\x90\x80\x80 too big", "\xFF\xFE bad bytes",
      "sixteen bytes ok\"then a quote", "0123456789abcdef0123456789abcde\\",
      std::string(100, 'x') + "\x80" + std::string(40, 'y'), std::string(33, '"'),
  };
  for (const std::string& c : cases) EXPECT_EQ(ViaWrite(c), ViaAppend(c)) << c;
}

TEST(Json, WriteQuotedShortStringsWithOneSpecialByteAnywhere) {
  for (size_t n = 1; n <= 20; ++n) {
    for (size_t pos = 0; pos < n; ++pos) {
      for (char special : {'"', '\\', '\x01', '\x1f', '\x20', '\x7f', '\x80', '\xC3', '\xFF', '!', '~'}) {
        std::string s(n, 'a');
        s[pos] = special;
        ASSERT_EQ(ViaWrite(s), ViaAppend(s)) << n << " " << pos << " " << int(special);
      }
    }
  }
}

TEST(Json, WriteQuotedEqualsAppendQuotedOnRandomBytes) {
  std::mt19937 rng(7);
  // Mostly printable bytes with some of every class, lengths around the 16-byte blocks.
  const std::string alphabet = std::string("abc XYZ09.,\"\\\n\t\x01\x7f\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xFF\x80");
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 70, ' ');
    for (char& ch : s) {
      ch = (rng() % 4 == 0) ? alphabet[rng() % alphabet.size()] : static_cast<char>('a' + rng() % 26);
    }
    ASSERT_EQ(ViaWrite(s), ViaAppend(s)) << i;
  }
}

}  // namespace
}  // namespace veto
