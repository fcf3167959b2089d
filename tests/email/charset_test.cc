#include "email/charset.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace veto::email {
namespace {

using namespace std::string_literals;

struct Converted {
  std::string out;
  CharsetResult r;
};

Converted Conv(std::string_view in, std::string_view charset) {
  Converted c;
  c.r = ConvertToUtf8(in, charset, &c.out);
  return c;
}

struct Words {
  std::string out;
  bool malformed = false;
};

Words Dec(std::string_view in) {
  Words w;
  DecodeEncodedWords(in, &w.out, &w.malformed);
  return w;
}

// Expected values below are written as UTF-8 text (the source encoding); inputs as escapes,
// produced with Python's codecs (e.g. "Привет".encode("cp1251")).

// --- the chain: ASCII, UTF-8, declared, fallback ----------------------------------------------

TEST(ConvertToUtf8Test, AsciiIsCopied) {
  Converted c = Conv("Hello, world\r\n\t\0!"s, "koi8-r");
  EXPECT_EQ(c.out, "Hello, world\r\n\t\0!"s);
  EXPECT_FALSE(c.r.guessed);
  EXPECT_FALSE(c.r.replaced);
  EXPECT_FALSE(c.r.unknown_charset);
  // Appends.
  std::string out = "> ";
  ConvertToUtf8("abc", "", &out);
  EXPECT_EQ(out, "> abc");
}

TEST(ConvertToUtf8Test, ValidUtf8WinsOverTheLabel) {
  Converted c = Conv("caf\xc3\xa9", "iso-8859-1");
  EXPECT_EQ(c.out, "café");
  EXPECT_FALSE(c.r.guessed);
  c = Conv("caf\xc3\xa9", "latin1");
  EXPECT_EQ(c.out, "café");
  c = Conv("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "windows-1251");
  EXPECT_EQ(c.out, "Привет");
  c = Conv("caf\xc3\xa9", "");
  EXPECT_EQ(c.out, "café");
  EXPECT_FALSE(c.r.guessed);
}

TEST(ConvertToUtf8Test, Windows1251) {
  Converted c = Conv("\xcf\xf0\xe8\xe2\xe5\xf2", "windows-1251");
  EXPECT_EQ(c.out, "Привет");
  EXPECT_FALSE(c.r.guessed);
  EXPECT_EQ(Conv("\xcf\xf0\xe8\xe2\xe5\xf2", "CP1251").out, "Привет");
  EXPECT_EQ(Conv("\xcf\xf0\xe8\xe2\xe5\xf2", "x-cp1251").out, "Привет");
  EXPECT_EQ(Conv("\xcf\xf0\xe8\xe2\xe5\xf2", " \"Windows-1251\" ").out, "Привет");
}

TEST(ConvertToUtf8Test, Koi8) {
  EXPECT_EQ(Conv("\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2", "koi8-r").out, "Привет мир");
  EXPECT_EQ(Conv("\xf0\xd2\xc9\xd7\xc5\xd4", "KOI8-U").out, "Привет");
}

TEST(ConvertToUtf8Test, Iso8859Family) {
  EXPECT_EQ(Conv("Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1", "iso-8859-2").out, "Zażółć gęślą");
  EXPECT_EQ(Conv("Za\xbf\xf3\xb3\xe6", "ISO_8859-2:1987").out, "Zażółć");
  EXPECT_EQ(Conv("Za\xbf\xf3\xb3\xe6", "latin2").out, "Zażółć");
  EXPECT_EQ(Conv("\xa4 100", "iso-8859-15").out, "€ 100");
  EXPECT_EQ(Conv("\xa4 100", "iso8859-15").out, "€ 100");
  EXPECT_EQ(Conv("\xa4 100", "latin9").out, "€ 100");
  EXPECT_EQ(Conv("\xc5\xeb\xeb\xe7\xed\xe9\xea\xdc", "windows-1253").out, "Ελληνικά");
  EXPECT_EQ(Conv("\xf9\xec\xe5\xed", "iso-8859-8-i").out, "שלום");
}

TEST(ConvertToUtf8Test, Latin1LabelsUseWindows1252) {
  for (std::string_view label : {"windows-1252", "cp1252", "iso-8859-1", "ISO8859-1", "iso_8859-1",
                                 "latin1", "l1", "cp819", "ISO_8859-1:1987"}) {
    Converted c = Conv("\x93quoted\x94 caf\xe9 \x80 5", label);
    EXPECT_EQ(c.out, "“quoted” café € 5") << label;
    EXPECT_FALSE(c.r.guessed) << label;
    EXPECT_FALSE(c.r.replaced) << label;
    EXPECT_FALSE(c.r.unknown_charset) << label;
  }
}

TEST(ConvertToUtf8Test, UndefinedWindows1252BytesBecomeReplacementCharacters) {
  Converted c = Conv("a\x81-\x8d-\x8f-\x90-\x9d-\xe9", "windows-1252");
  EXPECT_EQ(c.out, "a\uFFFD-\uFFFD-\uFFFD-\uFFFD-\uFFFD-é");
  EXPECT_TRUE(c.r.replaced);
  c = Conv("x\x81", "");
  EXPECT_EQ(c.out, "x\uFFFD");
  EXPECT_TRUE(c.r.replaced);
  EXPECT_TRUE(c.r.guessed);
}

TEST(ConvertToUtf8Test, MojibakeRule) {
  // Valid UTF-8 plus one stray Latin-1 byte: the whole text is Windows-1252 (SpamAssassin).
  Converted c = Conv("caf\xc3\xa9 \xe9", "");
  EXPECT_EQ(c.out, "cafÃ© é");
  EXPECT_TRUE(c.r.guessed);
  c = Conv("caf\xc3\xa9 \xe9", "iso-8859-1");
  EXPECT_EQ(c.out, "cafÃ© é");
  c = Conv("caf\xc3\xa9 \xe9", "utf-8");  // declared UTF-8 that is not
  EXPECT_EQ(c.out, "cafÃ© é");
  EXPECT_TRUE(c.r.guessed);
}

TEST(ConvertToUtf8Test, FailedDeclaredCharsetFallsBackToWindows1252) {
  // 0xBF is unassigned in ISO-8859-8.
  Converted c = Conv("\xf9\xec\xe5\xed \xbf", "iso-8859-8");
  EXPECT_EQ(c.out, "ùìåí ¿");
  EXPECT_TRUE(c.r.guessed);
  EXPECT_FALSE(c.r.unknown_charset);
}

TEST(ConvertToUtf8Test, UnknownAndGarbageLabels) {
  for (std::string_view label :
       {"x-unknown", "unknown-8bit", "default", "no-such-charset", "utf-8//TRANSLIT", "=?",
        "\xff\xfe", "a-label-that-is-far-too-long-to-be-any-charset-name-anyone-ever-used-0123"}) {
    Converted c = Conv("caf\xe9", label);
    EXPECT_EQ(c.out, "café") << label;
    EXPECT_TRUE(c.r.unknown_charset) << label;
    EXPECT_TRUE(c.r.guessed) << label;
    // Unknown labels do not stop ASCII from being ASCII.
    c = Conv("plain", label);
    EXPECT_EQ(c.out, "plain");
    EXPECT_TRUE(c.r.unknown_charset);
    EXPECT_FALSE(c.r.guessed);
  }
}

TEST(ConvertToUtf8Test, AsciiLabelWithEightBitBytesIsLikeNoLabel) {
  for (std::string_view label : {"us-ascii", "ascii", "ANSI_X3.4-1968", ""}) {
    Converted c = Conv("caf\xe9", label);
    EXPECT_EQ(c.out, "café") << label;
    EXPECT_TRUE(c.r.guessed) << label;
    EXPECT_FALSE(c.r.unknown_charset) << label;
  }
}

TEST(ConvertToUtf8Test, LabelsIconvKnowsByItsOwnName) {
  // Not in our alias table: passed to iconv as written.
  EXPECT_EQ(Conv("\xaf\xe0\xa8\xa2\xa5\xe2", "cp866").out, "привет");
  EXPECT_EQ(Conv("\xaf\xe0\xa8\xa2\xa5\xe2", "IBM866").out, "привет");
  EXPECT_EQ(Conv("\xca\xc7\xd1\xca", "tis-620").out, "สวัส");
}

// --- East Asian -------------------------------------------------------------------------------

TEST(ConvertToUtf8Test, Chinese) {
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "gb2312").out, "中文");
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "GBK").out, "中文");
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "gb_2312-80").out, "中文");
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "x-gbk").out, "中文");
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "euc-cn").out, "中文");
  // A GBK-only character (U+4E02) under a GB2312 label.
  EXPECT_EQ(Conv("\x81\x40", "gb2312").out, "丂");
  EXPECT_EQ(Conv("\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5", "big5").out, "中文測試");
  EXPECT_EQ(Conv("\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5", "big5-hkscs").out, "中文測試");
  EXPECT_EQ(Conv("\xa3\xe1", "big5").out, "€");  // CP950's euro sign
}

TEST(ConvertToUtf8Test, Japanese) {
  for (std::string_view label : {"shift_jis", "Shift-JIS", "sjis", "x-sjis", "ms_kanji", "cp932"}) {
    EXPECT_EQ(Conv("\x93\xfa\x96{\x8c\xea", label).out, "日本語") << label;
  }
  EXPECT_EQ(Conv("\x5c\x7e", "shift_jis").out, "\\~");  // CP932 keeps ASCII as ASCII
  EXPECT_EQ(Conv("\xc6\xfc\xcb\xdc\xb8\xec", "euc-jp").out, "日本語");
  // ISO-2022-JP is 7-bit: it must be decoded although every byte is ASCII.
  Converted c = Conv("\x1b$BF|K\\8l\x1b(B!", "iso-2022-jp");
  EXPECT_EQ(c.out, "日本語!");
  EXPECT_FALSE(c.r.guessed);
  EXPECT_EQ(Conv("plain", "iso-2022-jp").out, "plain");
  EXPECT_EQ(Conv("\x1b$B!", "iso-2022-jp").out, "\x1b$B!");  // invalid: kept as it is
}

TEST(ConvertToUtf8Test, Korean) {
  for (std::string_view label : {"euc-kr", "ks_c_5601-1987", "cp949", "KS_C_5601-1987"}) {
    EXPECT_EQ(Conv("\xc7\xd1\xb1\xb9\xbe\xee", label).out, "한국어") << label;
  }
  EXPECT_EQ(Conv("\x8c\x63", "euc-kr").out, "똠");  // a UHC (CP949) extension syllable
}

TEST(ConvertToUtf8Test, DamagedEastAsianTextKeepsItsCharacters) {
  // A Shift_JIS part cut inside its last character: U+FFFD for the dangling lead byte.
  Converted c = Conv("\x93\xfa\x96{\x8c\xea\x93", "shift_jis");
  EXPECT_EQ(c.out, "日本語\uFFFD");
  EXPECT_TRUE(c.r.replaced);
  EXPECT_FALSE(c.r.guessed);
}

TEST(ConvertToUtf8Test, MislabelledEastAsianTextIsGuessed) {
  // Shift_JIS sent as ISO-2022-JP (common in Japanese spam).
  const std::string sjis =
      "\x82\xb1\x82\xea\x82\xcd\x93\xfa\x96{\x8c\xea\x82\xcc\x83\x65\x83X\x83g\x82\xc5\x82\xb7"
      "\x81\x42";
  Converted c = Conv(sjis, "iso-2022-jp");
  EXPECT_EQ(c.out, "これは日本語のテストです。");
  EXPECT_TRUE(c.r.guessed);
}

// --- UTF-16, UTF-32, UTF-7 --------------------------------------------------------------------

TEST(ConvertToUtf8Test, Utf16WithBom) {
  EXPECT_EQ(Conv("\xff\xfeH\0i\0 \0\xac "s, "utf-16").out, "Hi €");
  EXPECT_EQ(Conv("\xfe\xff\0H\0i\0 \x20\xac"s, "utf-16").out, "Hi €");
  // The BOM decides even against the label.
  EXPECT_EQ(Conv("\xfe\xff\0H\0i"s, "utf-16le").out, "Hi");
}

TEST(ConvertToUtf8Test, Utf16WithoutBom) {
  EXPECT_EQ(Conv("H\0i\0 \0\xac "s, "utf-16le").out, "Hi €");
  EXPECT_EQ(Conv("\0H\0i\0 \x20\xac"s, "utf-16be").out, "Hi €");
  // Byte order guessed from where the zero (high) bytes are.
  EXPECT_EQ(Conv("H\0i\0 \0\xac "s, "utf-16").out, "Hi €");
  EXPECT_EQ(Conv("\0H\0i\0 \x20\xac"s, "utf-16").out, "Hi €");
  // Cyrillic has no zero bytes, but its high bytes are all 0x04.
  const std::string le = "\x1f\x04\x40\x04\x38\x04\x32\x04\x35\x04\x42\x04";
  const std::string be = "\x04\x1f\x04\x40\x04\x38\x04\x32\x04\x35\x04\x42";
  EXPECT_EQ(Conv(le, "utf-16").out, "Привет");
  EXPECT_EQ(Conv(be, "utf-16").out, "Привет");
  EXPECT_EQ(Conv(le, "UTF-16LE").out, "Привет");
  EXPECT_EQ(Conv(be, "UTF-16BE").out, "Привет");
  // An odd trailing byte is replaced, the rest kept.
  Converted c = Conv("H\0i\0!"s, "utf-16le");
  EXPECT_EQ(c.out, "Hi\uFFFD");
  EXPECT_TRUE(c.r.replaced);
  // Plain ASCII under a UTF-16 label was mislabelled: kept.
  EXPECT_EQ(Conv("Hello world", "utf-16").out, "Hello world");
}

TEST(ConvertToUtf8Test, Utf32) {
  EXPECT_EQ(Conv("H\0\0\0i\0\0\0 \0\0\0\xac \0\0"s, "utf-32le").out, "Hi €");
  EXPECT_EQ(Conv("\0\0\0H\0\0\0i\0\0\0 \0\0 \xac"s, "utf-32be").out, "Hi €");
  EXPECT_EQ(Conv("\xff\xfe\0\0H\0\0\0i\0\0\0"s, "utf-32").out, "Hi");
  EXPECT_EQ(Conv("H\0\0\0i\0\0\0"s, "utf-32").out, "Hi");
  EXPECT_EQ(Conv("\0\0\0H\0\0\0i"s, "utf-32").out, "Hi");
}

TEST(ConvertToUtf8Test, Utf7) {
  EXPECT_EQ(Conv("+BB8EQAQ4BDIENQRC-", "utf-7").out, "Привет");
  EXPECT_EQ(Conv("+BB8EQAQ4BDIENQRC-", "unicode-1-1-utf-7").out, "Привет");
  EXPECT_EQ(Conv("Hi Mom -+Jjo--!", "UTF-7").out, "Hi Mom -☺-!");
  EXPECT_EQ(Conv("+AGEAYgBj-", "utf-7").out, "abc");
  // Without the label it is just ASCII.
  EXPECT_EQ(Conv("+BB8EQAQ4BDIENQRC-", "").out, "+BB8EQAQ4BDIENQRC-");
}

// --- no label: guessing -----------------------------------------------------------------------

TEST(ConvertToUtf8Test, NoLabelDefaultsToWindows1252) {
  Converted c = Conv(
      "\x93Hi\x94 M\xfcller und S\xf6hne, Stra\xdf"
      "e",
      "");
  EXPECT_EQ(c.out, "“Hi” Müller und Söhne, Straße");
  EXPECT_TRUE(c.r.guessed);
  EXPECT_FALSE(c.r.unknown_charset);
  // Cyrillic without a label is not mistaken for Chinese: it gets Windows-1252, as in
  // SpamAssassin.
  c = Conv(
      "\xcf\xf0\xe8\xe2\xe5\xf2, \xfd\xf2\xee \xf2\xe5\xf1\xf2 \xed\xe0 \xf0\xf3\xf1\xf1\xea\xee"
      "\xec \xff\xe7\xfb\xea\xe5",
      "");
  EXPECT_EQ(c.out, "Ïðèâåò, ýòî òåñò íà ðóññêîì ÿçûêå");
  c = Conv("\xcf\xf0\xe8\xe2\xe5\xf2\xcf\xf0\xe8\xe2\xe5\xf2", "");  // even-length, no spaces
  EXPECT_EQ(c.out, "ÏðèâåòÏðèâåò");
  c = Conv("\xc5\xeb\xeb\xe7\xed\xe9\xea\xdc \xea\xe5\xdf\xec\xe5\xed\xe1 \xe5\xe4\xfe", "");
  EXPECT_EQ(c.out, "ÅëëçíéêÜ êåßìåíá åäþ");
}

TEST(ConvertToUtf8Test, NoLabelEastAsianIsGuessed) {
  struct Case {
    std::string bytes;
    std::string_view text;
  } cases[] = {
      {"\xd5\xe2\xca\xc7\xd2\xbb\xb8\xf6\xc3\xe2\xb7\xd1\xb5\xc4\xd6\xd0\xce\xc4\xb2\xe2\xca\xd4"
       "\xa3\xac\xc7\xeb\xc1\xaa\xcf\xb5\xce\xd2\xc3\xc7\xa1\xa3",
       "这是一个免费的中文测试，请联系我们。"},  // GB2312
      {"\xb3o\xacO\xa4@\xad\xd3\xa7K\xb6O\xaa\xba\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5\xa1"
       "A\xbd\xd0"
       "\xc1p\xc3\xb4\xa7\xda\xad\xcc\xa1"
       "C",
       "這是一個免費的中文測試，請聯繫我們。"},  // Big5
      {"\x82\xb1\x82\xea\x82\xcd\x93\xfa\x96{\x8c\xea\x82\xcc\x83"
       "e\x83X\x83g\x82\xc5\x82\xb7"
       "\x81"
       "B",
       "これは日本語のテストです。"},  // Shift_JIS
      {"\xa4\xb3\xa4\xec\xa4\xcf\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xc6\xa5\xb9\xa5\xc8\xa4\xc7"
       "\xa4\xb9\xa1\xa3",
       "これは日本語のテストです。"},  // EUC-JP
      {"\xc0\xcc\xb0\xcd\xc0\xba \xc7\xd1\xb1\xb9\xbe\xee \xc5\xd7\xbd\xba\xc6\xae\xc0\xd4\xb4\xcf"
       "\xb4\xd9.",
       "이것은 한국어 테스트입니다."},  // EUC-KR
      // Short GB2312: every lead byte is in EUC-KR's Hangul rows, so it also reads as four
      // Hangul syllables; the frequent-character test tells them apart.
      {"\xb4\xfa\xbf\xaa\xb7\xa2\xc6\xb1", "代开发票"},
      {"\xb4\xeb\xc3\xe2 \xbb\xf3\xb4\xe3", "대출 상담"},
      {"\xa5\xbb\xa4\xbd\xa5q\xb4\xa3\xa8\xd1\xc0u\xb4"
       "f\xb6U\xb4\xda\xaa"
       "A\xb0\xc8",
       "本公司提供優惠貸款服務"},  // Big5
      {"\xb1\xc0\xde\xd9\xc4\x8f\xee\x95\xf1\x82\xf0\x82\xa8\x93\xcd\x82\xaf\x82\xb5\x82"
       "\xdc\x82\xb7",
       "ｱﾀﾞﾙﾄ情報をお届けします"},  // Shift_JIS with halfwidth katakana
  };
  for (const Case& c : cases) {
    Converted r = Conv(c.bytes, "");
    EXPECT_EQ(r.out, c.text);
    EXPECT_TRUE(r.r.guessed);
  }
  // Too short to tell: Windows-1252.
  EXPECT_EQ(Conv("\xd6\xd0\xce\xc4", "").out, "ÖÐÎÄ");
  // Thai (TIS-620) bytes also fall in the GB2312 range; without a label it is Windows-1252.
  EXPECT_EQ(
      Conv("\xca\xc7\xd1\xca\xb4\xd5\xa4\xc3\xd1\xba \xe2\xbb\xc3\xe2\xc1\xaa\xd1\xe8\xb9\xbe\xd4"
           "\xe0\xc8\xc9",
           "")
          .out,
      "ÊÇÑÊ´Õ¤ÃÑº â»ÃâÁªÑè¹¾ÔàÈÉ");
}

// --- IsValidUtf8 ------------------------------------------------------------------------------

TEST(IsValidUtf8Test, Strict) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii that is longer than sixteen bytes"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf\xee\x80\x80"));  // U+D7FF, U+E000
  EXPECT_TRUE(IsValidUtf8("\0"s));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // surrogate U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));         // lone continuation
  EXPECT_FALSE(IsValidUtf8("abc\xe2\x82"));  // truncated at the end
  EXPECT_FALSE(
      IsValidUtf8("\xe2\x82"
                  "abc"));  // truncated in the middle
  EXPECT_FALSE(IsValidUtf8("0123456789abcdef0123456789abcdef\xc3"));
}

// --- RFC 2047 ---------------------------------------------------------------------------------

TEST(EncodedWordsTest, QAndB) {
  Words w = Dec("=?utf-8?Q?caf=C3=A9_au_lait?=");
  EXPECT_EQ(w.out, "café au lait");
  EXPECT_FALSE(w.malformed);
  EXPECT_EQ(Dec("=?UTF-8?B?Y2Fmw6k=?=").out, "café");
  EXPECT_EQ(Dec("=?utf-8?q?caf=c3=a9?=").out, "café");  // lower-case q and hex
  EXPECT_EQ(Dec("=?utf-8?b?Y2Fmw6k=?=").out, "café");   // lower-case b
  EXPECT_EQ(Dec("=?windows-1251?B?z/Do4uXy?=").out, "Привет");
  EXPECT_EQ(Dec("=?koi8-r?Q?=F0=D2=C9=D7=C5=D4?=").out, "Привет");
  EXPECT_EQ(Dec("=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=").out, "日本語");
  EXPECT_EQ(Dec("=?gb2312?B?1eLKx9bQzsQ=?=").out, "这是中文");
  EXPECT_EQ(Dec("=?utf-8*en?q?hi?=").out, "hi");  // RFC 2231 language
  EXPECT_EQ(Dec("=?utf-8?q?"
                "?=")
                .out,
            "");
}

TEST(EncodedWordsTest, TextAroundWords) {
  EXPECT_EQ(Dec("Re: =?utf-8?q?caf=C3=A9?= (2)").out, "Re: café (2)");
  EXPECT_EQ(Dec("x=?utf-8?q?a_b?=y").out, "xa by");  // even inside a word
  EXPECT_EQ(Dec("plain text").out, "plain text");
  EXPECT_EQ(Dec("").out, "");
}

TEST(EncodedWordsTest, WhitespaceBetweenAdjacentWordsIsDropped) {
  EXPECT_EQ(Dec("=?utf-8?q?a?= =?utf-8?q?b?=").out, "ab");
  EXPECT_EQ(Dec("=?utf-8?q?a?=\r\n\t =?utf-8?q?b?=  =?iso-8859-1?q?c?=").out, "abc");
  EXPECT_EQ(Dec("=?utf-8?q?a?= x =?utf-8?q?b?=").out, "a x b");
  EXPECT_EQ(Dec("=?utf-8?q?a?=  ").out, "a  ");  // trailing space is not between words
  EXPECT_EQ(Dec("=?utf-8?q?a_?= =?utf-8?q?b?=").out, "a b");
}

TEST(EncodedWordsTest, MultibyteCharacterSplitAcrossWords) {
  EXPECT_EQ(Dec("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=").out, "café");
  EXPECT_EQ(Dec("=?UTF-8?B?ww==?=\r\n =?utf-8?B?qQ==?=").out, "é");
  EXPECT_EQ(Dec("=?utf-8?b?ww==?==?utf-8?q?=A9?=").out, "é");  // B then Q, no space
  // Different charsets are converted separately.
  EXPECT_EQ(Dec("=?iso-8859-1?q?caf=E9?= =?utf-8?q?_=C3=A9?=").out, "café é");
}

TEST(EncodedWordsTest, UnknownCharsetInAWord) {
  Words w = Dec("=?x-unknown?q?caf=E9?=");
  EXPECT_EQ(w.out, "café");
  EXPECT_FALSE(w.malformed);
  EXPECT_EQ(Dec("=?bogus?q?caf=C3=A9?=").out, "café");
}

TEST(EncodedWordsTest, MalformedWordsAreKeptVerbatim) {
  struct Case {
    std::string_view in;
    std::string_view out;
  } cases[] = {
      {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},  // unknown encoding
      {"=?utf-8?q?abc", "=?utf-8?q?abc"},      // no "?="
      {"=?utf-8?q?abc?", "=?utf-8?q?abc?"},
      {"=?utf-8?q?a?b?=", "=?utf-8?q?a?b?="},  // '?' inside the text
      {"=?utf-8?", "=?utf-8?"},
      {"a =?utf-8?qq?x?= b", "a =?utf-8?qq?x?= b"},
      {"=?utf-8?x?a?= =?utf-8?q?b?=", "=?utf-8?x?a?= b"},  // only the bad word is kept
  };
  for (const Case& c : cases) {
    Words w = Dec(c.in);
    EXPECT_EQ(w.out, c.out) << c.in;
    EXPECT_TRUE(w.malformed) << c.in;
  }
  // "=?" that does not start a charset token is just text.
  for (std::string_view in : {"a =? b", "=?",
                              "=?"
                              "?q?x?=",
                              "1+1=?", "=?=?=?"}) {
    Words w = Dec(in);
    EXPECT_EQ(w.out, in);
    EXPECT_FALSE(w.malformed) << in;
  }
  // A bad escape inside a good word.
  Words w = Dec("=?utf-8?q?a=ZZ?=");
  EXPECT_EQ(w.out, "a=ZZ");
  EXPECT_TRUE(w.malformed);
}

TEST(EncodedWordsTest, RawEightBitText) {
  EXPECT_EQ(Dec("caf\xe9 =?utf-8?q?ok?=").out, "café ok");
  EXPECT_EQ(Dec("caf\xc3\xa9 =?utf-8?q?ok?=").out, "café ok");
  EXPECT_EQ(Dec("\x93quoted\x94").out, "“quoted”");
}

TEST(EncodedWordsTest, MalformedFlagIsOnlySet) {
  bool malformed = true;
  std::string out;
  DecodeEncodedWords("=?utf-8?q?fine?=", &out, &malformed);
  EXPECT_TRUE(malformed);  // left as the caller had it
  DecodeEncodedWords("=?utf-8?q?fine?=", &out, nullptr);
  EXPECT_EQ(out, "finefine");
}

// --- hostile input ----------------------------------------------------------------------------

TEST(CharsetNastyInputTest, NoCrashAndBoundedOutput) {
  std::string mb_of_eq_q;
  while (mb_of_eq_q.size() < (1u << 20)) mb_of_eq_q += "=?";
  std::string mb_of_words;
  while (mb_of_words.size() < (1u << 20)) mb_of_words += "=?a?q?";
  std::string long_word = "=?utf-8?b?" + std::string(100000, 'A') + "?=";
  const std::string inputs[] = {
      "",
      std::string(1000, '='),
      std::string(1000, '*'),
      std::string(1000, '\xff'),
      std::string(1000, '\x80'),
      mb_of_eq_q,
      mb_of_words,
      long_word,
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\0\0\0\0\0"s,
      "\xff\xfe\0"s,
      "\x1b$B\x1b(B\x1b$",
      "=?utf-8?q?\xe2\x82?= =?utf-8?q?=E2=82?=",
  };
  const std::string_view labels[] = {"",       "utf-8",       "windows-1252", "koi8-r", "shift_jis",
                                     "gb2312", "big5",        "euc-kr",       "utf-16", "utf-32le",
                                     "utf-7",  "iso-2022-jp", "x-unknown",    "cp866"};
  for (const std::string& in : inputs) {
    for (std::string_view label : labels) {
      Converted c = Conv(in, label);
      EXPECT_LE(c.out.size(), in.size() * 4 + 16) << label;
      EXPECT_TRUE(IsValidUtf8(c.out)) << label;
    }
    Words w = Dec(in);
    EXPECT_LE(w.out.size(), in.size() * 4 + 16);
    EXPECT_TRUE(IsValidUtf8(w.out));
  }
}

TEST(CharsetThreadTest, ConcurrentConversions) {
  // Each thread has its own iconv descriptors.
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 500; ++i) {
        std::string out;
        ConvertToUtf8("\xcf\xf0\xe8\xe2\xe5\xf2", "windows-1251", &out);
        ConvertToUtf8("\x93\xfa\x96{\x8c\xea", "shift_jis", &out);
        ConvertToUtf8("\xa4\xa4\xa4\xe5", "big5", &out);
        ConvertToUtf8("x", "label-" + std::to_string(i % 40), &out);  // churns the cache
        if (out != "Привет日本語中文x") ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace veto::email
