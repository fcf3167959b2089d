#include "email/unicode.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace veto::email {
namespace {

using namespace std::string_literals;

std::string Norm(std::string_view in) {
  std::string out;
  NormalizeForMatch(in, &out);
  return out;
}

// utf8proc's own NFKC_Casefold over the whole string, for valid input.
std::string Reference(const std::string& in) {
  utf8proc_uint8_t* r =
      utf8proc_NFKC_Casefold(reinterpret_cast<const utf8proc_uint8_t*>(in.c_str()));
  if (r == nullptr) return "<error>";
  std::string s(reinterpret_cast<char*>(r));
  std::free(r);
  return s;
}

std::string Utf8(char32_t cp) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  return std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
}

TEST(NormalizeForMatchTest, AsciiIsLowerCased) {
  EXPECT_EQ(Norm("Hello, WORLD! [AZ] @ ` { 0123 az"), "hello, world! [az] @ ` { 0123 az");
  EXPECT_EQ(Norm(""), "");
  EXPECT_EQ(Norm("A"), "a");
  const std::string all = [] {
    std::string s;
    for (int c = 0; c < 128; ++c) s += static_cast<char>(c);
    return s;
  }();
  std::string expected = all;
  for (char& c : expected) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  EXPECT_EQ(Norm(all), expected);
  EXPECT_EQ(Norm(all + all + "x"), expected + expected + "x");  // every 8-byte alignment
}

TEST(NormalizeForMatchTest, AppendsToOutput) {
  std::string out = "> ";
  NormalizeForMatch("ABC", &out);
  EXPECT_EQ(out, "> abc");
}

TEST(NormalizeForMatchTest, CompatibilityAndCaseFolding) {
  EXPECT_EQ(Norm("\xef\xbc\xa6\xef\xbc\xb2\xef\xbc\xa5\xef\xbc\xa5"), "free");  // ＦＲＥＥ
  EXPECT_EQ(Norm("\xef\xac\x81nance"), "finance");                              // ﬁ ligature
  EXPECT_EQ(Norm("Stra\xc3\x9f"
                 "e"),
            "strasse");  // ß
  EXPECT_EQ(Norm("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2"), "привет");
  EXPECT_EQ(Norm("\xe2\x91\xa0\xe3\x8e\x8f\xe2\x84\xa2"), "1kgtm");  // ①㎏™
  EXPECT_EQ(Norm("\xc3\x80"
                 "B"),
            "\xc3\xa0"
            "b");                                             // ÀB
  EXPECT_EQ(Norm("\xc7\x85"), "d\xc5\xbe");                   // ǅ
  EXPECT_EQ(Norm("\xf0\x9d\x90\x80\xf0\x9d\x90\x81"), "ab");  // math bold A B
}

TEST(NormalizeForMatchTest, Composition) {
  EXPECT_EQ(Norm("e\xcc\x81"), "\xc3\xa9");      // e + U+0301 -> é
  EXPECT_EQ(Norm("E\xcc\x81X"), "\xc3\xa9x");    // with an ASCII upper-case starter
  EXPECT_EQ(Norm("<\xcc\xb8"), "\xe2\x89\xae");  // < + U+0338 -> ≮
  EXPECT_EQ(Norm("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "\xea\xb0\x81");  // jamo -> 각
  // Marks are put in canonical order: U+0323 (220) before U+0307 (230).
  EXPECT_EQ(Norm("q\xcc\x87\xcc\xa3"), "q\xcc\xa3\xcc\x87");
  EXPECT_EQ(Norm("\xe1\xb8\x8b\xcc\xa3"), "\xe1\xb8\x8d\xcc\x87");  // ḋ + U+0323 -> ḍ + U+0307
}

TEST(NormalizeForMatchTest, InvisibleCharactersAreRemoved) {
  // Zero-width space, non-joiner, joiner, LRM, RLM, word joiner, invisible operators, BOM.
  for (char32_t cp : {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063,
                      0x2064, 0xFEFF, 0x00AD, 0x034F}) {
    std::string in = "F";  // (not "F" + ...: GCC 12 warns falsely on that, -Wrestrict)
    in += Utf8(cp);
    in += "REE";
    EXPECT_EQ(Norm(in), "free") << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_EQ(Norm("fr\xc2\xad"
                 "ee"),
            "free");                                // soft hyphen
  EXPECT_EQ(Norm("\xe2\x80\x8b\xe2\x80\x8b"), "");  // nothing but invisibles
  EXPECT_EQ(Norm("x\xe2\x80\xae"
                 "evil"),
            "xevil");                             // bidi override: ignorable
  EXPECT_EQ(Norm("\xef\xbb\xbfHello"), "hello");  // leading BOM
}

TEST(NormalizeForMatchTest, LineStructureIsKept) {
  EXPECT_EQ(Norm("Para ONE\n\nPara TWO\n"), "para one\n\npara two\n");
  EXPECT_EQ(Norm("\xc3\x89t\xc3\xa9\n\xc3\x89t\xc3\xa9"), "\xc3\xa9t\xc3\xa9\n\xc3\xa9t\xc3\xa9");
  // A combining mark right after a line break is not moved onto the previous line.
  EXPECT_EQ(Norm("a\n\xcc\x81"), "a\n\xcc\x81");
  EXPECT_EQ(Norm("a\r\nb\t\0c"s), "a\r\nb\t\0c"s);
}

TEST(NormalizeForMatchTest, InvalidBytesBecomeReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(Norm("a\xff"
                 "b"),
            "a" + fffd + "b");
  EXPECT_EQ(Norm("\x80"), fffd);
  EXPECT_EQ(Norm("x\xe2\x82"), "x" + fffd);  // truncated: one U+FFFD
  EXPECT_EQ(Norm("\xe2\x82"
                 "A"),
            fffd + "a");
  EXPECT_EQ(Norm("\xf0\x9f\x98"), fffd);
  EXPECT_EQ(Norm("\xc0\xaf"), fffd + fffd);             // overlong
  EXPECT_EQ(Norm("\xed\xa0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(Norm("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);
}

TEST(NormalizeForMatchTest, AgreesWithUtf8proc) {
  // Random mixes of ASCII, characters with interesting normalisation behaviour (marks, jamo,
  // compatibility forms, ignorables, kana voicing marks in both widths, astral characters) and
  // ill-formed bytes. The reference is utf8proc's NFKC_Casefold of the same text with each
  // ill-formed sequence already replaced by U+FFFD. (No piece starts with a continuation byte,
  // which could complete a truncated piece before it.)
  struct Piece {
    std::string raw;
    std::string valid;
  };
  std::vector<Piece> pieces;
  for (char32_t cp : {U'A',
                      U'z',
                      U' ',
                      U'\n',
                      U'.',
                      U'e',
                      U'E',
                      U'a',
                      U'<',
                      char32_t{0x00C0},
                      char32_t{0x00DF},
                      char32_t{0x00E9},
                      char32_t{0x0130},
                      char32_t{0x0301},
                      char32_t{0x0323},
                      char32_t{0x0307},
                      char32_t{0x0308},
                      char32_t{0x0338},
                      char32_t{0x0344},
                      char32_t{0x0345},
                      char32_t{0x0399},
                      char32_t{0x03A3},
                      char32_t{0x0410},
                      char32_t{0x0418},
                      char32_t{0x0438},
                      char32_t{0x0306},
                      char32_t{0x0439},
                      char32_t{0x0F40},
                      char32_t{0x0F71},
                      char32_t{0x0F72},
                      char32_t{0x0F73},
                      char32_t{0x1100},
                      char32_t{0x1161},
                      char32_t{0x11A8},
                      char32_t{0x1E0B},
                      char32_t{0x1FB3},
                      char32_t{0x2126},
                      char32_t{0x212B},
                      char32_t{0x2460},
                      char32_t{0x3000},
                      char32_t{0x3099},
                      char32_t{0x304B},
                      char32_t{0x30AB},
                      char32_t{0x4E2D},
                      char32_t{0xAC00},
                      char32_t{0xAC01},
                      char32_t{0xFB01},
                      char32_t{0xFDFA},
                      char32_t{0xFF21},
                      char32_t{0xFF76},
                      char32_t{0xFF9E},
                      char32_t{0xFFFD},
                      char32_t{0x1D400},
                      char32_t{0x10400},
                      char32_t{0x1F600},
                      char32_t{0x00AD},
                      char32_t{0x200B},
                      char32_t{0x200D},
                      char32_t{0xFEFF},
                      char32_t{0x2063},
                      char32_t{0x034F},
                      char32_t{0xFE0F}}) {
    pieces.push_back({Utf8(cp), Utf8(cp)});
  }
  const std::string fffd = "\xef\xbf\xbd";
  pieces.push_back({"\xff", fffd});
  pieces.push_back({"\xe2\x82", fffd});
  pieces.push_back({"\xf0\x9f\x98", fffd});
  pieces.push_back({"\xed\xa0\x80", fffd + fffd + fffd});
  pieces.push_back({"\xc0\xaf", fffd + fffd});

  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  for (int iter = 0; iter < 20000; ++iter) {
    std::string raw;
    std::string valid;
    const uint32_t len = next() % 40;
    for (uint32_t i = 0; i < len; ++i) {
      const Piece& piece = pieces[next() % pieces.size()];
      raw += piece.raw;
      valid += piece.valid;
    }
    ASSERT_EQ(Norm(raw), Reference(valid)) << valid;
  }
}

TEST(NormalizeForMatchTest, LongNonAsciiRuns) {
  // Runs longer than the internal buffer are cut only where composition cannot cross.
  std::string in;
  std::string expected;
  for (int i = 0; i < 3000; ++i) {
    in +=
        "\xd0\x90"
        "e\xcc\x81";  // "А" "e" U+0301 (no ASCII between runs)
    expected += "\xd0\xb0\xc3\xa9";
  }
  EXPECT_EQ(Norm(in), expected);
  std::string cjk;
  for (int i = 0; i < 5000; ++i) cjk += "\xe4\xb8\xad\xef\xbc\xa1";  // 中Ａ
  std::string cjk_expected;
  for (int i = 0; i < 5000; ++i)
    cjk_expected +=
        "\xe4\xb8\xad"
        "a";
  EXPECT_EQ(Norm(cjk), cjk_expected);
}

TEST(NormalizeForMatchTest, NastyInputs) {
  std::string eq_q;
  while (eq_q.size() < (1u << 20)) eq_q += "=?";
  std::string marks = "a";
  for (int i = 0; i < 20000; ++i) marks += "\xcc\x81";  // 20000 combining acutes
  const std::string inputs[] = {
      "",
      std::string(1000, '='),
      std::string(1000, '\xff'),
      std::string(1000, '\x80'),
      eq_q,
      marks,
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\0\0\0\0"s,
      std::string(100000, '\n'),
      "\xef\xb7\xba",  // U+FDFA, the longest compatibility expansion
  };
  for (const std::string& in : inputs) {
    std::string out;
    NormalizeForMatch(in, &out);
    EXPECT_LE(out.size(), in.size() * 18 + 16);
    EXPECT_EQ(utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(out.data()),
                                 static_cast<utf8proc_ssize_t>(out.size()), nullptr, 0,
                                 static_cast<utf8proc_option_t>(0)) >= 0,
              true);  // valid UTF-8
  }
  EXPECT_EQ(Norm(eq_q), eq_q);
}

}  // namespace
}  // namespace veto::email
