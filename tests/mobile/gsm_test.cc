#include "mobile/gsm.h"

#include <string>

#include "gtest/gtest.h"

namespace veto::mobile {
namespace {

TEST(Gsm, BasicTableUnpacked) {
  // "@£$¥" and Greek capitals live in the low codes.
  std::string septets = {0x00, 0x01, 0x02, 0x03, 0x10, 0x13, 0x7F};
  EXPECT_EQ(GsmSeptetsToUtf8(septets), "@£$¥ΔΓà");
}

TEST(Gsm, ExtensionTable) {
  std::string septets = {0x1B, 0x65, 0x20, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x3C, 0x1B, 0x3E,
                         0x1B, 0x14, 0x1B, 0x40, 0x1B, 0x2F, 0x1B, 0x3D};
  EXPECT_EQ(GsmSeptetsToUtf8(septets), "€ {}[]^|\\~");
}

TEST(Gsm, UnknownExtensionFallsBackToBasic) {
  std::string septets = {0x1B, 0x41};  // not in the extension table: 'A'
  EXPECT_EQ(GsmSeptetsToUtf8(septets), "A");
}

TEST(Gsm, TrailingEscapeIsFlagged) {
  bool replaced = false;
  std::string septets = {0x41, 0x1B};
  EXPECT_EQ(GsmSeptetsToUtf8(septets, &replaced), "A");
  EXPECT_TRUE(replaced);
}

TEST(Gsm, PackedHello) {
  // The classic example: "hellohello" packed is E8329BFD4697D9EC37.
  absl::StatusOr<DecodedPayload> d = DecodeHexPayload("E8329BFD4697D9EC37", DataCoding::kGsm7Packed);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->text, "hellohello");
}

TEST(Gsm, PackRoundTripAllLengths) {
  const std::string text = "The quick brown fox jumps over the lazy dog €{}";
  for (size_t n = 1; n <= text.size(); ++n) {
    std::optional<std::string> sept = Utf8ToGsmSeptets(text.substr(0, n));
    if (!sept) continue;  // cut inside the multi-byte €
    const std::string packed = PackSeptets(*sept);
    std::string unpacked = UnpackSeptets(packed);
    // A 7-bit fill at the end of 8k-1 septets reads as '@': UnpackSeptets drops it.
    EXPECT_EQ(GsmSeptetsToUtf8(unpacked), text.substr(0, n)) << n;
  }
}

TEST(Gsm, Ucs2WithSurrogates) {
  absl::StatusOr<DecodedPayload> d = DecodeHexPayload("0048 00E9 D83D DE00", DataCoding::kUcs2);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->text, "Hé😀");
  EXPECT_FALSE(d->replaced);
}

TEST(Gsm, Ucs2LoneSurrogateReplaced) {
  absl::StatusOr<DecodedPayload> d = DecodeHexPayload("D83D0041", DataCoding::kUcs2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->text, "\xEF\xBF\xBD" "A");
  EXPECT_TRUE(d->replaced);
}

TEST(Gsm, UdhConcat8And16Bit) {
  absl::StatusOr<DecodedPayload> d =
      DecodeHexPayload("050003A70302" "0048", DataCoding::kUcs2, /*udhi=*/true);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(d->concat.has_value());
  EXPECT_EQ(d->concat->ref, 0xA7u);
  EXPECT_EQ(d->concat->total, 3u);
  EXPECT_EQ(d->concat->seq, 2u);
  EXPECT_EQ(d->text, "H");
  d = DecodeHexPayload("060804BEEF0201" "4869", DataCoding::kAscii, true);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->concat->ref, 0xBEEFu);
  EXPECT_EQ(d->text, "Hi");
}

TEST(Gsm, UdhWithPackedSevenBitSkipsFillBits) {
  // UDH of 6 octets (48 bits) → the text starts at septet 7 (49 bits).
  std::optional<std::string> sept = Utf8ToGsmSeptets("Hello world");
  ASSERT_TRUE(sept);
  std::string septets(7, '\0');  // placeholder septets covering UDH + fill
  septets += *sept;
  std::string packed = PackSeptets(septets);
  const std::string udh = {0x05, 0x00, 0x03, 0x01, 0x02, 0x01};
  for (size_t i = 0; i < udh.size(); ++i) packed[i] = udh[i];
  absl::StatusOr<DecodedPayload> d = DecodePayload(packed, DataCoding::kGsm7Packed, true);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->text, "Hello world");
  EXPECT_EQ(d->concat->total, 2u);
}

TEST(Gsm, DataCodingMapping) {
  EXPECT_EQ(*DataCodingFromSmpp(0), DataCoding::kGsm7);
  EXPECT_EQ(*DataCodingFromSmpp(8), DataCoding::kUcs2);
  EXPECT_EQ(*DataCodingFromSmpp(3), DataCoding::kLatin1);
  EXPECT_EQ(*DataCodingFromSmpp(0xF0), DataCoding::kGsm7);
  EXPECT_EQ(*DataCodingFromSmpp(0xF4), DataCoding::kBinary);
  EXPECT_EQ(*DataCodingFromSmpp(0x18), DataCoding::kUcs2);
  EXPECT_FALSE(DataCodingFromSmpp(5).ok());
  EXPECT_EQ(*DataCodingFromName("ucs2"), DataCoding::kUcs2);
  EXPECT_EQ(*DataCodingFromName("8"), DataCoding::kUcs2);
  EXPECT_FALSE(DataCodingFromName("utf-7").ok());
}

struct BadPayload {
  const char* hex;
  DataCoding coding;
  bool udhi;
  const char* error;
};

TEST(Gsm, NastyPayloads) {
  const BadPayload cases[] = {
      {"4G", DataCoding::kAscii, false, "invalid hex digit 'G' at offset 1"},
      {"414", DataCoding::kAscii, false, "odd number of hex digits"},
      {"004100", DataCoding::kUcs2, false, "UCS-2 text of odd length"},
      {"", DataCoding::kAscii, true, "UDH indicator set but no UDH"},
      {"0A0003", DataCoding::kAscii, true, "UDH length 10 exceeds the payload"},
      {"00", DataCoding::kBinary, false, "binary data_coding carries no text"},
      {"\xff\xfe", DataCoding::kAscii, false, "invalid hex digit '\\xff'"},
  };
  for (const BadPayload& c : cases) {
    absl::StatusOr<DecodedPayload> d = DecodeHexPayload(c.hex, c.coding, c.udhi);
    ASSERT_FALSE(d.ok()) << c.hex;
    EXPECT_NE(std::string(d.status().message()).find(c.error), std::string::npos)
        << c.hex << ": " << d.status();
  }
}

TEST(Gsm, MalformedUdhElementsAreIgnoredNotFatal) {
  // Concat element with seq 0 (invalid) and a truncated element.
  absl::StatusOr<DecodedPayload> d = DecodeHexPayload("050003010200" "41", DataCoding::kAscii, true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->bad_udh);
  EXPECT_FALSE(d->concat.has_value());
  EXPECT_EQ(d->text, "A");
  d = DecodeHexPayload("0300050A" "41", DataCoding::kAscii, true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->bad_udh);
}

TEST(Gsm, Latin1AndAscii) {
  EXPECT_EQ(DecodeHexPayload("E9E0", DataCoding::kLatin1)->text, "éà");
  absl::StatusOr<DecodedPayload> d = DecodeHexPayload("41E9", DataCoding::kAscii);
  EXPECT_EQ(d->text, "A\xEF\xBF\xBD");
  EXPECT_TRUE(d->replaced);
}

}  // namespace
}  // namespace veto::mobile
