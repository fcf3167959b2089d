#include "email/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace veto::email {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Fixture(const std::string& name) {
  std::ifstream f(std::string(VETO_SOURCE_DIR) + "/tests/data/email/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<Message> Parse(std::string_view raw, const ParseOptions& o = {}) {
  absl::StatusOr<std::unique_ptr<Message>> m = ParseMessage(raw, o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : std::make_unique<Message>();
}

std::vector<std::string> UriList(const Message& m) {
  std::vector<std::string> out;
  for (const Uri& u : m.uris) out.emplace_back(u.url);
  return out;
}

TEST(ParserTest, PlainMessageFields) {
  auto m = Parse(Fixture("plain.eml"));
  EXPECT_TRUE(m->flags.Has(MessageFlag::kMboxFromLine));
  EXPECT_FALSE(m->full.starts_with("From sender"));
  EXPECT_TRUE(m->full.starts_with("Return-Path:"));
  ASSERT_NE(m->LastHeader("subject"), nullptr);
  EXPECT_EQ(m->LastHeader("subject")->value, "Café meeting tomorrow");
  EXPECT_EQ(m->LastHeader("subject")->raw, " =?UTF-8?Q?Caf=C3=A9?= meeting\n tomorrow");
  EXPECT_EQ(m->FirstHeader("Received")->value,
            "from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.net with ESMTP "
            "id ABC123 for <rcpt@example.net>; Mon, 1 Jan 2024 00:00:00 +0000");
  EXPECT_EQ(m->Headers().size(), 9u);
  EXPECT_EQ(m->body,
            "Café meeting tomorrow\nHello,\nLet us meet at the cafe tomorrow. Details are at "
            "http://www.example.com/meeting?id=7 as usual.\nRegards ");
  EXPECT_THAT(m->body_elements,
              ElementsAre("Café meeting tomorrow\n", "Hello,\n",
                          "Let us meet at the cafe tomorrow. Details are at "
                          "http://www.example.com/meeting?id=7 as usual.\n",
                          "Regards "));
  EXPECT_THAT(UriList(*m), Contains("http://www.example.com/meeting?id=7"));
  ASSERT_EQ(m->rawbody_elements.size(), 1u);
  EXPECT_TRUE(m->rawbody_elements[0].starts_with("Hello,\n\nLet us meet"));
  EXPECT_TRUE(m->normalized_body.starts_with("café meeting tomorrow\nhello,\n"));
}

TEST(ParserTest, MultipartAlternativeDecodesAndRendersBothParts) {
  auto m = Parse(Fixture("multipart_alternative.eml"));
  ASSERT_EQ(m->parts.size(), 3u);
  EXPECT_EQ(m->parts[0].content_type, "multipart/alternative");
  EXPECT_EQ(m->parts[0].boundary, "ALT-BOUNDARY");
  EXPECT_THAT(m->parts[0].children, ElementsAre(1, 2));
  const MimePart& text = m->parts[1];
  EXPECT_EQ(text.transfer_encoding, "quoted-printable");
  EXPECT_EQ(text.charset, "iso-8859-1");
  // The line break before the boundary belongs to the boundary.
  EXPECT_EQ(text.text, "Dear friend,\n\nClick http://promo.example.net/go?u=1 now! Café crème.");
  const MimePart& html = m->parts[2];
  EXPECT_EQ(html.content_type, "text/html");
  EXPECT_THAT(std::string(html.text), HasSubstr("Click here now!"));
  EXPECT_THAT(std::string(m->body), HasSubstr("Click here now!"));
  EXPECT_THAT(std::string(m->body), Not(HasSubstr("not text")));
  EXPECT_THAT(std::string(m->body), Not(HasSubstr("hidden comment")));
  EXPECT_THAT(std::string(m->body), Not(HasSubstr("preamble")));
  EXPECT_THAT(std::string(m->body), Not(HasSubstr("epilogue")));
  EXPECT_THAT(std::string(m->body), HasSubstr("secret words"));  // rendered, but flagged
  EXPECT_TRUE(m->flags.Has(MessageFlag::kHtmlInvisibleText));
  EXPECT_EQ(m->body_elements[0], "Special offer\n");
  EXPECT_THAT(UriList(*m), Contains("http://promo.example.net/go?u=1"));
  EXPECT_THAT(UriList(*m), Contains("http://img.example.net/pixel.gif"));
  // rawbody keeps the HTML markup, one element per part here (each under 2 KB).
  ASSERT_EQ(m->rawbody_elements.size(), 2u);
  EXPECT_THAT(std::string(m->rawbody_elements[1]), HasSubstr("<script>"));
}

TEST(ParserTest, NestedMessageLeavesFeedBodyButNotHeaders) {
  auto m = Parse(Fixture("nested_rfc822.eml"));
  // root, text, message/rfc822, inner root, inner text, inner attachment
  ASSERT_EQ(m->parts.size(), 6u);
  EXPECT_EQ(m->parts[2].content_type, "message/rfc822");
  EXPECT_THAT(m->parts[2].children, ElementsAre(3));
  EXPECT_EQ(m->parts[3].content_type, "multipart/mixed");
  EXPECT_EQ(m->parts[3].depth, 2);
  EXPECT_EQ(m->parts[5].effective_type, "text/html");  // by its name page.html
  EXPECT_EQ(m->parts[5].filename, "page.html");
  EXPECT_EQ(m->GetHeaders("Subject").size(), 1u);
  EXPECT_EQ(m->body_elements[0], "Fwd: forwarded\n");
  EXPECT_THAT(std::string(m->body), HasSubstr("see the attached message"));
  EXPECT_THAT(std::string(m->body), HasSubstr("inner text part"));
  EXPECT_THAT(std::string(m->body), HasSubstr("html by name"));
  EXPECT_THAT(std::string(m->body), Not(HasSubstr("Inner subject")));
  // The inner headers are kept with their part.
  const MimePart& inner = m->parts[3];
  ASSERT_GT(inner.header_end, inner.header_begin);
  EXPECT_EQ(m->all_headers[inner.header_begin].name, "From");
}

TEST(ParserTest, MissingFinalBoundaryKeepsLastPart) {
  auto m = Parse(Fixture("broken_boundary.eml"));
  EXPECT_TRUE(m->flags.Has(MessageFlag::kMissingFinalBoundary));
  EXPECT_EQ(m->body, "broken\nfirst part second part never closed ");
}

TEST(ParserTest, MissingBoundaryParameterIsGuessed) {
  auto m = Parse(Fixture("no_boundary_param.eml"));
  EXPECT_TRUE(m->flags.Has(MessageFlag::kMissingBoundary));
  EXPECT_EQ(m->parts.size(), 2u);
  EXPECT_EQ(m->body, "no boundary parameter\nguessed part text");
}

TEST(ParserTest, BoundaryNeverFoundKeepsTextAsOnePart) {
  auto m = Parse(
      "Subject: s\nContent-Type: multipart/mixed; boundary=zzz\n\nno delimiters at all\n");
  EXPECT_TRUE(m->flags.Has(MessageFlag::kMissingBoundary));
  EXPECT_EQ(m->body, "s\nno delimiters at all ");
}

TEST(ParserTest, CharsetsInHeadersAndBody) {
  auto m = Parse(Fixture("charsets.eml"));
  EXPECT_EQ(m->FirstHeader("From")->value, "Иван <ivan@example.ru>");
  EXPECT_EQ(m->FirstHeader("Subject")->value, "Привет мир");
  EXPECT_EQ(m->FirstHeader("X-Raw-Latin1")->value, "café");
  EXPECT_EQ(m->FirstHeader("X-Raw-Latin1")->raw, " caf\xe9");
  EXPECT_TRUE(m->flags.Has(MessageFlag::kEightBitHeaders));
  EXPECT_EQ(m->parts[0].charset, "koi8-r");
  EXPECT_EQ(m->body, "Привет мир\nТекст письма в KOI8-R. ");
  EXPECT_EQ(m->normalized_body, "привет мир\nтекст письма в koi8-r. ");
}

TEST(ParserTest, CrlfMessage) {
  auto m = Parse(Fixture("crlf.eml"));
  EXPECT_TRUE(m->flags.Has(MessageFlag::kCrlf));
  EXPECT_EQ(m->FirstHeader("Subject")->value, "crlf line two");
  EXPECT_EQ(m->body, "crlf line two\nline one line two ");
  EXPECT_TRUE(m->full.ends_with("line two\r\n"));  // `full` keeps the bytes as sent
}

TEST(ParserTest, MalformedHeaderLinesAndFourthEndsHeaders) {
  auto m = Parse("Subject: x\nBad Header: kept\nno colon here\n:empty\nnot a header\nbody?\n");
  EXPECT_TRUE(m->flags.Has(MessageFlag::kMalformedHeader));
  ASSERT_NE(m->FirstHeader("Bad Header"), nullptr);
  EXPECT_EQ(m->FirstHeader("Bad Header")->value, "kept");
  EXPECT_EQ(m->body, "x\nnot a header body? ");
}

TEST(ParserTest, Rfc2231FilenameAndDigestDefault) {
  auto m = Parse(
      "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in digest\n\ndigest "
      "body\n--d\nContent-Type: application/pdf\nContent-Disposition: attachment;\n "
      "filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n\nxx\n--d--\n");
  ASSERT_GE(m->parts.size(), 4u);
  EXPECT_EQ(m->parts[1].content_type, "message/rfc822");
  EXPECT_THAT(std::string(m->body), HasSubstr("digest body"));
  const MimePart& pdf = m->parts.back();
  EXPECT_EQ(pdf.content_type, "application/pdf");
  EXPECT_EQ(pdf.disposition, "attachment");
  EXPECT_EQ(pdf.filename, "résumé.pdf");
}

TEST(ParserTest, TextPartsJoinAndNonTextLeafBreaksParagraph) {
  auto m = Parse(
      "Subject: j\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\npart one line\n--b\n\n"
      "part two line\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBO\n"
      "--b\n\npart four\n--b--\n");
  EXPECT_EQ(m->body, "j\npart one line part two line\npart four");
}

TEST(ParserTest, LongParagraphSplitIntoElements) {
  std::string word(5000, 'x');
  auto m = Parse("Subject: long\n\n" + word + " tail\n");
  ASSERT_EQ(m->body_elements.size(), 4u);
  EXPECT_EQ(m->body_elements[1].size(), 2048u);
  EXPECT_EQ(m->body_elements[2].size(), 2048u);
  EXPECT_EQ(m->body_elements[3], std::string(5000 - 4096, 'x') + " tail ");
}

TEST(ParserTest, RawbodyChunksCoverThePartWithoutGaps) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "line number " + std::to_string(i) + " of filler text\n";
  auto m = Parse("Subject: raw\n\n" + text);
  ASSERT_GT(m->rawbody_elements.size(), 1u);
  std::string joined;
  for (std::string_view e : m->rawbody_elements) {
    EXPECT_LE(e.size(), 4096u);
    joined.append(e);
  }
  EXPECT_EQ(joined, text);
  for (size_t i = 0; i + 1 < m->rawbody_elements.size(); ++i) {
    EXPECT_GE(m->rawbody_elements[i].size(), 2048u);
    EXPECT_EQ(m->rawbody_elements[i].back(), '\n');
  }
}

TEST(ParserTest, BodyPartTruncatedAtScanSize) {
  ParseOptions o;
  o.body_part_scan_chars = 100;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word ";
  auto m = Parse("Subject: t\n\n" + text, o);
  // No newline: cut just after the first space at or after 100 characters ("word " x 21).
  EXPECT_EQ(m->parts[0].text.size(), 105u);
}

TEST(ParserTest, LimitsGiveTruncatedValidMessages) {
  ParseOptions o;
  o.max_parts = 3;
  std::string many = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 10; ++i) many += "--b\n\npart " + std::to_string(i) + "\n";
  many += "--b--\n";
  auto m = Parse(many, o);
  EXPECT_TRUE(m->flags.Has(MessageFlag::kLimitParts));
  EXPECT_EQ(m->parts.size(), 3u);

  ParseOptions d;
  d.max_depth = 3;
  std::string deep;
  for (int i = 0; i < 10; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
  }
  deep += "\ninnermost\n";
  auto md = Parse(deep, d);
  EXPECT_TRUE(md->flags.Has(MessageFlag::kLimitDepth));
  for (const MimePart& p : md->parts) EXPECT_LE(p.depth, 3);

  ParseOptions h;
  h.max_headers = 5;
  std::string hdrs;
  for (int i = 0; i < 20; ++i) hdrs += "X-H" + std::to_string(i) + ": v\n";
  auto mh = Parse(hdrs + "\nbody\n", h);
  EXPECT_TRUE(mh->flags.Has(MessageFlag::kLimitHeaderCount));
  EXPECT_EQ(mh->Headers().size(), 5u);

  ParseOptions s;
  s.max_message_bytes = 64;
  auto ms = Parse("Subject: size\n\n" + std::string(1000, 'a'), s);
  EXPECT_TRUE(ms->flags.Has(MessageFlag::kLimitMessageSize));
  EXPECT_EQ(ms->full.size(), 64u);

  ParseOptions v;
  v.max_header_value_bytes = 10;
  auto mv = Parse("Subject: " + std::string(100, 'v') + "\n\nb\n", v);
  EXPECT_TRUE(mv->flags.Has(MessageFlag::kLimitHeaderLength));
  EXPECT_EQ(mv->FirstHeader("Subject")->value, "vvvvvvvvv");  // 10 raw bytes, leading space

  ParseOptions dec;
  dec.max_decoded_bytes = 10;
  auto mdec = Parse("Content-Transfer-Encoding: base64\n\n" + std::string(400, 'Q') + "\n", dec);
  EXPECT_TRUE(mdec->flags.Has(MessageFlag::kLimitDecodedSize));
  EXPECT_LE(mdec->parts[0].decoded.size(), 10u);
}

TEST(ParserTest, ZeroLimitIsAnError) {
  ParseOptions o;
  o.max_parts = 0;
  EXPECT_FALSE(ParseMessage("Subject: x\n\ny\n", o).ok());
}

// Hostile inputs: each must parse OK into a valid, bounded message.
TEST(ParserTest, NastyInputsParse) {
  std::string deep_nest;
  for (int i = 0; i < 5000; ++i) deep_nest += "Content-Type: message/rfc822\n\n";
  std::string many_boundaries = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 20000; ++i) many_boundaries += "--b\n";
  std::string long_header = "Subject: " + std::string(1 << 20, 'x') + "\n\nbody\n";
  std::string folded_forever = "Subject: a\n";
  for (int i = 0; i < 10000; ++i) folded_forever += " =?utf-8?q?x?=\n";
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i * 37 + 11));
  const std::vector<std::string> inputs = {
      "",
      "\n",
      "\n\n\n",
      "From ",
      "From x\n",
      "Subject:",
      "Subject: x",
      ":\n:\n:\n:\n",
      "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
      "Content-Type: multipart/mixed; boundary=\"(.*)+?[\"\n\n--(.*)+?[\nx\n",
      "Content-Type: text/plain; charset=\"\n\nx\n",
      "Content-Type: text/plain; charset=no-such-charset-xyz\n\n\xff\xfe\xfd\n",
      "Content-Type: text/html\n\n<a href=",
      "Content-Type: text/html\n\n<script>",
      "Content-Transfer-Encoding: base64\n\n====\n",
      "Content-Transfer-Encoding: quoted-printable\n\n=\n=Z\n=",
      "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n",
      "Content-Type: message/rfc822\n\n",
      "Subject: =?x?B?=?=\n\n",
      std::string("Subject: nul\0byte\n\nbody\0more\n", 28),
      "Subject: \xc3\x28\xa0\xa1\n\n\xc3\x28\n",
      deep_nest,
      many_boundaries,
      long_header,
      folded_forever,
      junk,
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Message>> m = ParseMessage(inputs[i]);
    ASSERT_TRUE(m.ok()) << "input " << i;
    const Message& msg = **m;
    ASSERT_FALSE(msg.body_elements.empty()) << "input " << i;
    // The elements tile `body` exactly, and `body` starts with the (possibly long) Subject line.
    std::string joined;
    for (std::string_view e : msg.body_elements) joined.append(e);
    EXPECT_EQ(joined, msg.body) << "input " << i;
    EXPECT_NE(msg.body.find('\n'), std::string_view::npos) << "input " << i;
    EXPECT_LE(msg.parts.size(), 1000u) << "input " << i;
    for (const MimePart& p : msg.parts) EXPECT_LE(p.depth, 20) << "input " << i;
  }
}

}  // namespace
}  // namespace veto::email
