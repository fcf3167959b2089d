#include "email/transfer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace veto::email {
namespace {

using namespace std::string_literals;

struct Decoded {
  std::string out;
  bool malformed = false;
  bool truncated = false;
};

Decoded B64(std::string_view in, size_t max_out = 0, std::string prefix = {}) {
  Decoded d;
  d.out = std::move(prefix);
  d.malformed = DecodeBase64(in, &d.out, max_out, &d.truncated).malformed;
  return d;
}

Decoded Qp(std::string_view in, size_t max_out = 0) {
  Decoded d;
  d.malformed = DecodeQuotedPrintable(in, &d.out, max_out, &d.truncated).malformed;
  return d;
}

Decoded Q(std::string_view in) {
  Decoded d;
  d.malformed = DecodeQEncoding(in, &d.out).malformed;
  return d;
}

// A plain reference encoder, to check the decoder's fast and slow paths against each other.
std::string EncodeBase64(std::string_view in, size_t line = 76, std::string_view eol = "\r\n") {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string body;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) body += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    body += kAlphabet[v >> 18];
    body += kAlphabet[(v >> 12) & 63];
    body += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    body += kAlphabet[v >> 18];
    body += kAlphabet[(v >> 12) & 63];
    body += kAlphabet[(v >> 6) & 63];
    body += '=';
  }
  std::string out;
  for (size_t k = 0; k < body.size(); k += line) {
    out += body.substr(k, line);
    out += eol;
  }
  return out;
}

std::string PseudoRandomBytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

// --- base64 -----------------------------------------------------------------------------------

TEST(Base64Test, Clean) {
  Decoded d = B64("SGVsbG8sIFdvcmxkIQ==");
  EXPECT_EQ(d.out, "Hello, World!");
  EXPECT_FALSE(d.malformed);
  EXPECT_FALSE(d.truncated);
}

TEST(Base64Test, CrlfAndLfLineBreaks) {
  std::string expected;
  for (int i = 0; i < 60; ++i) expected += static_cast<char>(i);
  const std::string crlf =
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n"
      "OTo7\r\n";
  EXPECT_EQ(B64(crlf).out, expected);
  EXPECT_FALSE(B64(crlf).malformed);
  std::string lf = crlf;
  lf.erase(std::remove(lf.begin(), lf.end(), '\r'), lf.end());
  EXPECT_EQ(B64(lf).out, expected);
  // Whitespace inside a quantum and leading/trailing blanks are not errors either.
  Decoded d = B64("  SG Vs\tbG\r\n8=  \n");
  EXPECT_EQ(d.out, "Hello");
  EXPECT_FALSE(d.malformed);
}

TEST(Base64Test, JunkIsSkippedAndReported) {
  Decoded d = B64("SGVs*bG8!");
  EXPECT_EQ(d.out, "Hello");
  EXPECT_TRUE(d.malformed);
  d =
      B64("SGVs\x80\xff"
          "bG8h");
  EXPECT_EQ(d.out, "Hello!");
  EXPECT_TRUE(d.malformed);
}

TEST(Base64Test, MissingPaddingDecodesTheTail) {
  EXPECT_EQ(B64("SGk").out, "Hi");
  EXPECT_FALSE(B64("SGk").malformed);
  EXPECT_EQ(B64("SA").out, "H");
  EXPECT_FALSE(B64("SA").malformed);
  // A single leftover character carries six bits: nothing to decode, and an error.
  Decoded d = B64("SGVsbG8sA");
  EXPECT_EQ(d.out, "Hello,");
  EXPECT_TRUE(d.malformed);
}

TEST(Base64Test, PaddingMidStreamContinuesDecoding) {
  // Concatenated encodings, each padded, decode as one stream.
  Decoded d = B64("SGk=SGk=");
  EXPECT_EQ(d.out, "HiHi");
  EXPECT_FALSE(d.malformed);
  d = B64("SA==\r\nSA==");
  EXPECT_EQ(d.out, "HH");
  EXPECT_FALSE(d.malformed);
  d = B64("SGk=\r\nSGVsbG8=");
  EXPECT_EQ(d.out, "HiHello");
  EXPECT_FALSE(d.malformed);
}

TEST(Base64Test, TextAfterPaddingIsNotDecoded) {
  // A footer after the encoding (its letters are base64 alphabet, its punctuation is not).
  Decoded d = B64("SGk=\r\n\r\n-- \r\nSent from my phone\r\n");
  EXPECT_EQ(d.out, "Hi");
  EXPECT_TRUE(d.malformed);
  d = B64("SGk=\r\nSG*k=");
  EXPECT_EQ(d.out, "Hi");
  EXPECT_TRUE(d.malformed);
  // Junk before any padding is skipped instead: there is no block boundary to stop at.
  d = B64("SG*k=");
  EXPECT_EQ(d.out, "Hi");
  EXPECT_TRUE(d.malformed);
  // Whitespace or nothing after the padding is fine.
  d = B64("SGk=\r\n\r\n");
  EXPECT_EQ(d.out, "Hi");
  EXPECT_FALSE(d.malformed);
}

TEST(Base64Test, BadPaddingIsReported) {
  Decoded d = B64("SGk==");  // one '=' too many
  EXPECT_EQ(d.out, "Hi");
  EXPECT_TRUE(d.malformed);
  d = B64("S=Gk=");  // '=' after a single sextet
  EXPECT_TRUE(d.malformed);
  d = B64("=SGk=");  // '=' before any data
  EXPECT_EQ(d.out, "Hi");
  EXPECT_TRUE(d.malformed);
}

TEST(Base64Test, Empty) {
  Decoded d = B64("");
  EXPECT_EQ(d.out, "");
  EXPECT_FALSE(d.malformed);
  EXPECT_FALSE(d.truncated);
  d = B64(" \r\n\t ");
  EXPECT_EQ(d.out, "");
  EXPECT_FALSE(d.malformed);
}

TEST(Base64Test, AppendsToExistingOutput) { EXPECT_EQ(B64("SGk=", 0, "> ").out, "> Hi"); }

TEST(Base64Test, MaxOutTruncates) {
  Decoded d = B64("SGVsbG8sIFdvcmxkIQ==", 5);
  EXPECT_EQ(d.out, "Hello");
  EXPECT_TRUE(d.truncated);
  d = B64("SGVsbG8sIFdvcmxkIQ==", 13);  // exactly the decoded size
  EXPECT_EQ(d.out, "Hello, World!");
  EXPECT_FALSE(d.truncated);
  d = B64("SGVsbG8sIFdvcmxkIQ==", 14);
  EXPECT_EQ(d.out, "Hello, World!");
  EXPECT_FALSE(d.truncated);
  // The limit is on the whole string, including what it held before.
  d = B64("SGVsbG8sIFdvcmxkIQ==", 5, "abc");
  EXPECT_EQ(d.out, "abcHe");
  EXPECT_TRUE(d.truncated);
  d = B64("SGk", 1);  // inside the unpadded tail
  EXPECT_EQ(d.out, "H");
  EXPECT_TRUE(d.truncated);
  d = B64("SGk", 1, "xy");  // already over the limit
  EXPECT_EQ(d.out, "xy");
  EXPECT_TRUE(d.truncated);
}

TEST(Base64Test, RoundTripsWithEveryLayout) {
  for (size_t n : {0u, 1u, 2u, 3u, 57u, 58u, 1000u, 65537u}) {
    const std::string data = PseudoRandomBytes(n, static_cast<uint32_t>(n));
    for (size_t line : {4u, 76u, 77u, 1000000u}) {
      for (std::string_view eol : {"\r\n", "\n", " "}) {
        Decoded d = B64(EncodeBase64(data, line, eol));
        ASSERT_EQ(d.out, data) << n << " " << line;
        EXPECT_FALSE(d.malformed);
      }
    }
    // Truncating at every small limit gives a prefix.
    const std::string enc = EncodeBase64(data);
    for (size_t limit = 1; limit < std::min<size_t>(n, 10); ++limit) {
      Decoded d = B64(enc, limit);
      EXPECT_EQ(d.out, data.substr(0, limit));
      EXPECT_TRUE(d.truncated);
    }
  }
}

// --- quoted-printable -------------------------------------------------------------------------

TEST(QuotedPrintableTest, Escapes) {
  Decoded d = Qp("Hello=20World=21");
  EXPECT_EQ(d.out, "Hello World!");
  EXPECT_FALSE(d.malformed);
  d = Qp("caf=e9 caf=E9 =3d");  // lower-case hex is accepted
  EXPECT_EQ(d.out, "caf\xe9 caf\xe9 =");
  EXPECT_FALSE(d.malformed);
  EXPECT_EQ(Qp("=00").out, "\0"s);
}

TEST(QuotedPrintableTest, SoftLineBreaks) {
  EXPECT_EQ(Qp("abc=\ndef").out, "abcdef");
  EXPECT_EQ(Qp("abc=\r\ndef").out, "abcdef");
  EXPECT_EQ(Qp("abc= \t \r\ndef").out, "abcdef");  // '=' then trailing blanks
  EXPECT_EQ(Qp("a=3D=\nb").out, "a=b");            // an escape, then the soft break
  EXPECT_FALSE(Qp("abc=\r\ndef").malformed);
}

TEST(QuotedPrintableTest, InvalidEscapesAreKept) {
  Decoded d = Qp("a=ZZb");
  EXPECT_EQ(d.out, "a=ZZb");
  EXPECT_TRUE(d.malformed);
  d = Qp("x=4");  // too short at the end
  EXPECT_EQ(d.out, "x=4");
  EXPECT_TRUE(d.malformed);
  d = Qp("==41");
  EXPECT_EQ(d.out, "=A");
  EXPECT_TRUE(d.malformed);
  d = Qp("a=\rb\n");  // '=' before a bare CR is not a line break
  EXPECT_EQ(d.out, "a=\rb\n");
  EXPECT_TRUE(d.malformed);
}

TEST(QuotedPrintableTest, EqualsAtEndOfInputIsASoftBreak) {
  // The MIME parser hands over the last line without its break, so the final soft break
  // arrives as a bare "=".
  Decoded d = Qp("line one\nend=");
  EXPECT_EQ(d.out, "line one\nend");
  EXPECT_FALSE(d.malformed);
  EXPECT_EQ(Qp("end=  ").out, "end");
  EXPECT_EQ(Qp("=").out, "");
}

TEST(QuotedPrintableTest, TrailingWhitespaceBeforeLineBreaksIsRemoved) {
  EXPECT_EQ(Qp("abc  \ndef\t\n").out, "abc\ndef\n");
  EXPECT_EQ(Qp("abc \t\r\n").out, "abc\n");
  EXPECT_EQ(Qp("abc=20\n").out, "abc \n");  // encoded whitespace stays
  EXPECT_EQ(Qp("abc  ").out, "abc  ");      // no line break: SpamAssassin keeps it
}

TEST(QuotedPrintableTest, CrlfBecomesLf) {
  EXPECT_EQ(Qp("a\r\nb\r\n\r\nc").out, "a\nb\n\nc");
  EXPECT_EQ(Qp("a=0D=0Ab").out, "a\nb");  // decoded CRLF as well, as SpamAssassin does
  EXPECT_EQ(Qp("a=0D\nb").out, "a\nb");
  EXPECT_EQ(Qp("a=0Db").out, "a\rb");
  EXPECT_EQ(Qp("a\rb").out, "a\rb");
}

TEST(QuotedPrintableTest, LongPlainRunsAndEmpty) {
  std::string line(5000, 'x');
  EXPECT_EQ(Qp(line + "\r\n" + line).out, line + "\n" + line);
  Decoded d = Qp("");
  EXPECT_EQ(d.out, "");
  EXPECT_FALSE(d.malformed);
}

TEST(QuotedPrintableTest, MaxOutTruncates) {
  Decoded d = Qp("abc=3Ddef\nghi", 4);
  EXPECT_EQ(d.out, "abc=");
  EXPECT_TRUE(d.truncated);
  d = Qp("abc=3Ddef\nghi", 11);
  EXPECT_EQ(d.out, "abc=def\nghi");
  EXPECT_FALSE(d.truncated);
  d = Qp("abc\n", 3);
  EXPECT_EQ(d.out, "abc");
  EXPECT_TRUE(d.truncated);
}

// --- RFC 2047 Q -------------------------------------------------------------------------------

TEST(QEncodingTest, UnderscoreAndEscapes) {
  Decoded d = Q("Hello_World=21");
  EXPECT_EQ(d.out, "Hello World!");
  EXPECT_FALSE(d.malformed);
  EXPECT_EQ(Q("caf=C3=A9").out, "caf\xc3\xa9");
  EXPECT_EQ(Q("=5f=5F").out, "__");
  EXPECT_EQ(Q("").out, "");
}

TEST(QEncodingTest, InvalidEscapesAreKept) {
  Decoded d = Q("a=zzb");
  EXPECT_EQ(d.out, "a=zzb");
  EXPECT_TRUE(d.malformed);
  d = Q("a=");
  EXPECT_EQ(d.out, "a=");
  EXPECT_TRUE(d.malformed);
  d = Q("a=4");
  EXPECT_EQ(d.out, "a=4");
  EXPECT_TRUE(d.malformed);
}

// --- hostile input ----------------------------------------------------------------------------

TEST(TransferNastyInputTest, NoCrashAndBoundedOutput) {
  const std::string mb_of_eq_q = [] {
    std::string s;
    while (s.size() < (1u << 20)) s += "=?";
    return s;
  }();
  const std::string inputs[] = {
      "",
      std::string(1000, '='),
      std::string(1000, '*'),
      std::string(4096, '\xff'),
      mb_of_eq_q,
      "=\r\n=\r\n=\n=",
      "\0\0\0\0=\0=0"s,
      "\xe2\x82\xf0\x9f"s,
      std::string(100000, '\n'),
      "AAAA=A=AA=AAA==",
  };
  for (const std::string& in : inputs) {
    Decoded d = B64(in);
    EXPECT_LE(d.out.size(), in.size() / 4 * 3 + 3);
    d = B64(in, 7);
    EXPECT_LE(d.out.size(), 7u);
    d = Qp(in);
    EXPECT_LE(d.out.size(), in.size());
    d = Qp(in, 7);
    EXPECT_LE(d.out.size(), 7u);
    d = Q(in);
    EXPECT_LE(d.out.size(), in.size());
  }
}

}  // namespace
}  // namespace veto::email
