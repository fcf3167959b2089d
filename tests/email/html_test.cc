// Tests for email/html.h: rendering rules (SpamAssassin semantics §2.3), links (§4.1 B),
// hidden-text flags, entity decoding and hostile input.
#include "email/html.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace veto::email {
namespace {

// A string literal with embedded NULs, all of it.
template <size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string Render(std::string_view html) {
  HtmlResult r;
  RenderHtml(html, &r);
  return r.text;
}

HtmlResult Result(std::string_view html, size_t max_links = 1000) {
  HtmlResult r;
  RenderHtml(html, &r, max_links);
  return r;
}

// --- rendering -------------------------------------------------------------------------------

TEST(RenderHtmlTest, HeaderExample) {
  HtmlResult r = Result("<p>Hi <a href='http://x.example/'>there</a></p>");
  EXPECT_EQ(r.text, "\n\nHi there\n\n");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].url, "http://x.example/");
}

TEST(RenderHtmlTest, InlineTagsInsertNothing) {
  EXPECT_EQ(Render("<b>bold</b>text"), "boldtext");
  EXPECT_EQ(Render("<span>a</span><i>b</i><font>c</font><a>d</a><u>e</u>"), "abcde");
  EXPECT_EQ(Render("plain text only"), "plain text only");
}

TEST(RenderHtmlTest, SoftBreaks) {
  EXPECT_EQ(Render("<br><br>"), "\n\n");
  EXPECT_EQ(Render("a<br>b"), "a\nb");
  EXPECT_EQ(Render("<div>x</div>"), "\nx\n");
  EXPECT_EQ(Render("a</br>b"), "a\nb");  // closing tags insert too
  EXPECT_EQ(Render("a<br/>b<br />c"), "a\nb\nc");
  EXPECT_EQ(Render("<DIV>x</Div>"), "\nx\n");
}

TEST(RenderHtmlTest, SpaceBreaks) {
  EXPECT_EQ(Render("<li>one</li><li>two</li>"), " one  two ");
  EXPECT_EQ(Render("<td>a</td><th>b</th>"), " a  b ");
  EXPECT_EQ(Render("<dt>t</dt><dd>d</dd>"), " t  d ");
  EXPECT_EQ(Render("<h1>T</h1>x<h6>U</h6>"), " T x U ");
  EXPECT_EQ(Render("a<embed src=x>b"), "a b");
  EXPECT_EQ(Render("<h7>x</h7>"), "x");  // not a heading
}

TEST(RenderHtmlTest, ParagraphBreaks) {
  EXPECT_EQ(Render("<p>x</p>"), "\n\nx\n\n");
  EXPECT_EQ(Render("a<hr>b"), "a\n\nb");
  EXPECT_EQ(Render("<blockquote>q</blockquote>"), "\n\nq\n\n");
  EXPECT_EQ(Render("<pre>q</pre>"), "\n\nq\n\n");
  EXPECT_EQ(Render("<listing>q</listing>"), "\n\nq\n\n");
  EXPECT_EQ(Render("<plaintext>q"), "\n\nq");
  EXPECT_EQ(Render("<xmp>q</xmp>"), "\n\nq\n\n");
  EXPECT_EQ(Render("<title>My Title</title>"), "\n\nMy Title\n\n");
}

TEST(RenderHtmlTest, OneTrailingSpaceRemovedBeforeInsertedWhitespace) {
  EXPECT_EQ(Render("word <p>"), "word\n\n");
  EXPECT_EQ(Render("a <br>"), "a\n");
  EXPECT_EQ(Render("a   \t<br>"), "a\n");     // collapsed to one space first
  EXPECT_EQ(Render("a <b></b><br>"), "a\n");  // inline tags are not chunks of their own
}

TEST(RenderHtmlTest, LeadingSpaceDroppedAfterInsertedWhitespace) {
  EXPECT_EQ(Render("a <br> b"), "a\nb");
  EXPECT_EQ(Render("<br>\n\n  x"), "\nx");
  EXPECT_EQ(Render("<p> para</p>"), "\n\npara\n\n");
  // Only right after inserted whitespace: a whitespace-only chunk in between is a (now
  // empty) text chunk, so the next chunk keeps its space, as in SA.
  EXPECT_EQ(Render("<br> <b></b> x"), "\n x");
  // Not at the start of the document.
  EXPECT_EQ(Render("  a"), " a");
}

TEST(RenderHtmlTest, WhitespaceRunsCollapseWithinAChunk) {
  EXPECT_EQ(Render("a  \t\n\r\f\v b"), "a b");
  EXPECT_EQ(Render("x\r\n\r\ny"), "x y");
  // Each text chunk (text between two tags) is collapsed on its own, as SA's display_text
  // does, so spaces on both sides of an inline tag survive; normalisation merges them later.
  EXPECT_EQ(Render("a <b> b</b>"), "a  b");
  EXPECT_EQ(Render("a <!-- c --> b"), "a  b");
}

// HTML::Parser, and so SA, does not parse markup inside these; their text is rendered.
TEST(RenderHtmlTest, RawTextElementsRenderTheirContentLiterally) {
  EXPECT_EQ(Render("<xmp><b>x</b>&amp;</XMP >y"), "\n\n<b>x</b>&amp;\n\ny");
  EXPECT_EQ(Render("<iframe src=x><b>x</b>&amp;</iframe>y"), "<b>x</b>&amp;y");
  EXPECT_EQ(Render("<iframe>a<script>c</script>d</iframe>e"), "a<script>c</script>de");
  EXPECT_EQ(Render("<plaintext>a</plaintext>b"), "\n\na</plaintext>b");
  EXPECT_EQ(Render("<title><b>x</b>&amp;</title>y"), "\n\n<b>x</b>&\n\ny");
  EXPECT_EQ(Render("<title>a</titlex>b</title>c"), "\n\na</titlex>b\n\nc");
  EXPECT_EQ(Render("<textarea>&nbsp;a  b<!-- c --></textarea>"), " a b<!-- c -->");
  EXPECT_EQ(Render("<iframe>never closed <b>x"), "never closed <b>x");
  EXPECT_EQ(Render("<noscript><b>x</b></noscript>y"), "xy");  // parsed as usual
}

TEST(RenderHtmlTest, TextAndAttributesOfOtherTagsAreNotRendered) {
  EXPECT_EQ(Render("<img src=x alt='ALT TEXT' title='T'>"), "");
  EXPECT_EQ(Render("<noscript>ns</noscript><textarea>ta</textarea>"), "nsta");
  EXPECT_EQ(Render("<input value='v' placeholder='p'><option>o</option>"), "o");
}

TEST(RenderHtmlTest, StrayLessThanIsText) {
  EXPECT_EQ(Render("a < b"), "a < b");
  EXPECT_EQ(Render("1<2"), "1<2");
  EXPECT_EQ(Render("<<<<"), "<<<<");
  EXPECT_EQ(Render("<"), "<");
  EXPECT_EQ(Render("</"), "</");
  EXPECT_EQ(Render("<<b>x"), "<x");
}

// --- dropped content -------------------------------------------------------------------------

TEST(RenderHtmlTest, ScriptAndStyleContentDropped) {
  EXPECT_EQ(Render("a<script>var x='<b>hi</b>';</script>b"), "ab");
  EXPECT_EQ(Render("a<SCRIPT type=x>alert(1)</ScRiPt >b"), "ab");
  EXPECT_EQ(Render("a<script>x</script\n>b"), "ab");
  EXPECT_EQ(Render("a<script>x</script/>b"), "ab");
  EXPECT_EQ(Render("a<style>p { color: red }</style>b"), "ab");
  EXPECT_EQ(Render("a<STYLE>x</Style>b"), "ab");
  // Only the matching name followed by a delimiter ends the raw text.
  EXPECT_EQ(Render("<script>x</scriptx>y</style></script>z"), "z");
  EXPECT_EQ(Render("<style>x</script>y</style>z"), "z");
  EXPECT_EQ(Render("<script/>hidden</script>shown"), "shown");
}

TEST(RenderHtmlTest, UnclosedScriptOrStyleRunsToTheEnd) {
  EXPECT_EQ(Render("a<script>never closed <p>hi"), "a");
  EXPECT_EQ(Render("a<style>never closed"), "a");
  EXPECT_EQ(Render("a<script>x</script"), "a");
  EXPECT_EQ(Render("a<script>x</scr"), "a");
}

TEST(RenderHtmlTest, CommentsDropped) {
  EXPECT_EQ(Render("a<!-- hidden -->b"), "ab");
  EXPECT_EQ(Render("a<!-- x --!>b"), "ab");
  EXPECT_EQ(Render("a<!-->b"), "ab");
  EXPECT_EQ(Render("a<!--->b"), "ab");
  EXPECT_EQ(Render("a<!---->b"), "ab");
  EXPECT_EQ(Render("a<!-- x ---->b"), "ab");
  EXPECT_EQ(Render("a<!-- -- > <b>x</b> -->b"), "ab");
  EXPECT_EQ(Render("a<!-- <!-- nested -->b-->"), "ab-->");
  EXPECT_EQ(Render("a<!-- unterminated <p>text"), "a");
  EXPECT_EQ(Render("a<!--[if mso]>x<![endif]-->b"), "ab");
}

TEST(RenderHtmlTest, BogusCommentsAndDeclarationsDropped) {
  EXPECT_EQ(Render("a<!x>b"), "ab");
  EXPECT_EQ(Render("a<!>b"), "ab");
  EXPECT_EQ(Render("a<?xml version='1.0'?>b"), "ab");
  EXPECT_EQ(Render("a</ x>b"), "ab");
  EXPECT_EQ(Render("a</>b"), "ab");
  EXPECT_EQ(Render("a</3>b"), "ab");
  EXPECT_EQ(Render("<!DOCTYPE html PUBLIC \"-//W3C//DTD\">x"), "x");
  EXPECT_EQ(Render("<![if !vml]>x<![endif]>"), "x");
  EXPECT_EQ(Render("a<!DOCTYPE"), "a");
}

TEST(RenderHtmlTest, CdataIsLiteralText) {
  EXPECT_EQ(Render("<![CDATA[x<y &amp; z]]>w"), "x<y &amp; zw");
  EXPECT_EQ(Render("<![CDATA[  a  ]]>"), " a ");
  EXPECT_EQ(Render("<![CDATA[unterminated <b>"), "unterminated <b>");
}

// --- entities and the pre-pass ---------------------------------------------------------------

TEST(RenderHtmlTest, NamedEntities) {
  EXPECT_EQ(Render("&amp;&lt;&gt;&quot;&apos;"), "&<>\"'");
  EXPECT_EQ(Render("caf&eacute;"), "caf\xc3\xa9");
  EXPECT_EQ(Render("&euro;"), "\xe2\x82\xac");
  EXPECT_EQ(Render("&NotEqualTilde;"), "\xe2\x89\x82\xcc\xb8");  // two code points
  EXPECT_EQ(Render("&bogus; &AMP;"), "&bogus; &");
}

TEST(RenderHtmlTest, LegacyEntitiesWithoutSemicolon) {
  EXPECT_EQ(Render("&amp"), "&");
  EXPECT_EQ(Render("&ampx"), "&x");
  EXPECT_EQ(Render("&copy 2024"), "\xc2\xa9 2024");
  EXPECT_EQ(Render("&copy2024"),
            "\xc2\xa9"
            "2024");
  EXPECT_EQ(Render("&notit;"), "\xc2\xacit;");  // longest legacy prefix
  EXPECT_EQ(Render("&notin;"), "\xe2\x88\x89");
  EXPECT_EQ(Render("&nbsp"), "\xc2\xa0");  // not the pre-pass: that needs the ';'
  EXPECT_EQ(Render("&eurox"), "&eurox");   // euro is not a legacy name
}

TEST(RenderHtmlTest, NumericEntities) {
  EXPECT_EQ(Render("&#65;&#x42;&#X43;&#68"), "ABCD");
  EXPECT_EQ(Render("&#0000065;"), "A");
  EXPECT_EQ(Render("&#x1F600;"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(Render("&#0;"), "\xef\xbf\xbd");
  EXPECT_EQ(Render("&#xD800;"), "\xef\xbf\xbd");
  EXPECT_EQ(Render("&#xDFFF;"), "\xef\xbf\xbd");
  EXPECT_EQ(Render("&#x110000;"), "\xef\xbf\xbd");
  EXPECT_EQ(Render("&#99999999999999999999;"), "\xef\xbf\xbd");
  EXPECT_EQ(Render("&#128;"), "\xe2\x82\xac");  // Windows-1252 euro
  EXPECT_EQ(Render("&#x93;"), "\xe2\x80\x9c");  // not turned into '"': no textual pre-pass
  EXPECT_EQ(Render("&#x81;"), "\xc2\x81");      // undefined in 1252: kept
  EXPECT_EQ(Render("&#;&#x;&#xg;"), "&#;&#x;&#xg;");
  EXPECT_EQ(Render("a & b &"), "a & b &");
}

TEST(RenderHtmlTest, DecodedWhitespaceCollapses) {
  EXPECT_EQ(Render("a&#10;&#10;b"), "a b");
  EXPECT_EQ(Render("a &#32; b"), "a b");
}

TEST(RenderHtmlTest, NbspPrePass) {
  EXPECT_EQ(Render("a&nbsp;b"), "a b");
  EXPECT_EQ(Render("a &nbsp; &nbsp;b"), "a b");
  EXPECT_EQ(Render("&amp;nbsp;"), "&nbsp;");
  EXPECT_EQ(Render("&NBSP;"), "&NBSP;");  // the pre-pass is case-sensitive; no such entity
  EXPECT_EQ(Render("<br>&nbsp;x"), "\nx");
}

TEST(RenderHtmlTest, CurlyDoubleQuotesBecomeAscii) {
  EXPECT_EQ(Render("\xe2\x80\x9cquoted\xe2\x80\x9d"), "\"quoted\"");
  EXPECT_EQ(Render("\xe2\x80\x98single\xe2\x80\x99"), "\xe2\x80\x98single\xe2\x80\x99");
  EXPECT_EQ(Render("&ldquo;x&rdquo;"), "\xe2\x80\x9cx\xe2\x80\x9d");
  EXPECT_EQ(Render("\xe2\x82\xac"), "\xe2\x82\xac");
}

TEST(DecodeHtmlEntityTest, Contract) {
  std::string out;
  EXPECT_EQ(DecodeHtmlEntity("&amp;rest", &out), 5u);
  EXPECT_EQ(out, "&");
  out.clear();
  EXPECT_EQ(DecodeHtmlEntity("&ampx", &out), 4u);
  EXPECT_EQ(out, "&");
  out.clear();
  EXPECT_EQ(DecodeHtmlEntity("&#x41;", &out), 6u);
  EXPECT_EQ(out, "A");
  out.clear();
  EXPECT_EQ(DecodeHtmlEntity("&#65", &out), 4u);
  EXPECT_EQ(out, "A");
  out.clear();
  EXPECT_EQ(DecodeHtmlEntity("&nbsp;", &out), 6u);
  EXPECT_EQ(out, "\xc2\xa0");
  out = "keep";
  EXPECT_EQ(DecodeHtmlEntity("&zz;", &out), 0u);
  EXPECT_EQ(DecodeHtmlEntity("&", &out), 0u);
  EXPECT_EQ(DecodeHtmlEntity("&#", &out), 0u);
  EXPECT_EQ(DecodeHtmlEntity("&#x", &out), 0u);
  EXPECT_EQ(DecodeHtmlEntity("x&amp;", &out), 0u);
  EXPECT_EQ(DecodeHtmlEntity("", &out), 0u);
  EXPECT_EQ(out, "keep");
}

// --- links -----------------------------------------------------------------------------------

struct LinkCase {
  std::string html;
  std::string_view tag;
  std::string_view attr;
  UriSource source;
};

TEST(RenderHtmlLinksTest, EveryLinkTagAndAttribute) {
  const LinkCase cases[] = {
      {"<a href='U'>x</a>", "a", "href", UriSource::kHtmlLink},
      {"<area href='U'>", "area", "href", UriSource::kHtmlLink},
      {"<link rel=stylesheet href='U'>", "link", "href", UriSource::kHtmlLink},
      {"<a data-saferedirecturl='U'>x</a>", "a", "data-saferedirecturl", UriSource::kHtmlLink},
      {"<img src='U'>", "img", "src", UriSource::kHtmlResource},
      {"<frame src='U'>", "frame", "src", UriSource::kHtmlResource},
      {"<iframe src='U'></iframe>", "iframe", "src", UriSource::kHtmlResource},
      {"<embed src='U'>", "embed", "src", UriSource::kHtmlResource},
      {"<script src='U'></script>", "script", "src", UriSource::kHtmlResource},
      {"<bgsound src='U'>", "bgsound", "src", UriSource::kHtmlResource},
      {"<form action='U'></form>", "form", "action", UriSource::kHtmlForm},
      {"<body background='U'>", "body", "background", UriSource::kHtmlResource},
      {"<table background='U'>", "table", "background", UriSource::kHtmlResource},
      {"<tr background='U'>", "tr", "background", UriSource::kHtmlResource},
      {"<td background='U'>", "td", "background", UriSource::kHtmlResource},
      {"<base href='U'>", "base", "href", UriSource::kHtmlOther},
      {"<meta http-equiv=refresh content='0; url=U'>", "meta", "content", UriSource::kHtmlOther},
  };
  for (const LinkCase& c : cases) {
    std::string html = c.html;
    html.replace(html.find('U'), 1, "http://u.example/p?q=1");
    HtmlResult r = Result(html);
    ASSERT_EQ(r.links.size(), 1u) << html;
    EXPECT_EQ(r.links[0].url, "http://u.example/p?q=1") << html;
    EXPECT_EQ(r.links[0].tag, c.tag) << html;
    EXPECT_EQ(r.links[0].attr, c.attr) << html;
    EXPECT_EQ(r.links[0].source, c.source) << html;
  }
}

TEST(RenderHtmlLinksTest, AttributesThatAreNotLinks) {
  const char* cases[] = {
      "<img href='http://x/'>",
      "<a src='http://x/'>x</a>",
      "<div background='http://x/'>",
      "<th background='http://x/'>",
      "<p action='http://x/'>",
      "<meta content='0;url=http://x/'>",
      "<a href=''>x</a>",
      "<a href='  '>x</a>",
      "<img src=>",
      "<input src='http://x/'>",
      "<a title='http://x/'>x</a>",
      "</a href='http://x/'>",
  };
  for (const char* html : cases) {
    EXPECT_TRUE(Result(html).links.empty()) << html;
  }
}

TEST(RenderHtmlLinksTest, DocumentOrderAndBothAnchorAttributes) {
  HtmlResult r =
      Result("<img src=1><a href=2 data-saferedirecturl=3>x</a><form action=4><img src=5>");
  ASSERT_EQ(r.links.size(), 5u);
  EXPECT_EQ(r.links[0].url, "1");
  EXPECT_EQ(r.links[1].url, "2");
  EXPECT_EQ(r.links[1].attr, "href");
  EXPECT_EQ(r.links[2].url, "3");
  EXPECT_EQ(r.links[2].attr, "data-saferedirecturl");
  EXPECT_EQ(r.links[3].url, "4");
  EXPECT_EQ(r.links[4].url, "5");
}

TEST(RenderHtmlLinksTest, ValuesDecodedAndTrimmed) {
  HtmlResult r =
      Result(Bytes("<a href=\" \n\thttp://a.example/?x=1&amp;y=2&lt&copy=3&#x41; \r\n\">1</a>"
                   "<a href='&nbsp;http://b.example/&nbsp;'>2</a>"
                   "<a href=\"\xc2\xa0http://c.example/\xc2\xa0\">3</a>"
                   "<a href=&#104;ttp://d.example/>4</a>"
                   "<A HREF=HTTP://E.EXAMPLE/>5</A>"
                   "<a href=\"http://f.ex\xef\xbb\xbf"
                   "ample/\">6</a>"
                   "<a href=\"\x00http\">7</a>"));
  ASSERT_EQ(r.links.size(), 7u);
  EXPECT_EQ(r.links[0].url, "http://a.example/?x=1&y=2<&copy=3A");
  EXPECT_EQ(r.links[1].url, "http://b.example/");
  EXPECT_EQ(r.links[2].url, "http://c.example/");
  EXPECT_EQ(r.links[3].url, "http://d.example/");
  EXPECT_EQ(r.links[4].url, "HTTP://E.EXAMPLE/");  // values keep their case
  EXPECT_EQ(r.links[5].url, "http://f.example/");  // U+FEFF stripped from link targets
  EXPECT_EQ(r.links[6].url, "\xef\xbf\xbdhttp");   // NUL becomes U+FFFD
}

TEST(RenderHtmlLinksTest, PrePassAppliesInsideTags) {
  HtmlResult r = Result(
      "<a href=\xe2\x80\x9chttp://q.example/ x\xe2\x80\x9d>1</a>"
      "<a&nbsp;href=http://n.example/&nbsp;title=t>2</a>"
      "<a href='it\xe2\x80\x9ds'>3</a>");
  ASSERT_EQ(r.links.size(), 3u);
  EXPECT_EQ(r.links[0].url, "http://q.example/ x");
  EXPECT_EQ(r.links[1].url, "http://n.example/");
  EXPECT_EQ(r.links[2].url, "it\"s");
  EXPECT_EQ(r.text, "123");
}

TEST(RenderHtmlLinksTest, QuotingStyles) {
  HtmlResult r = Result(
      "<a href=\"d q\">1</a><a href='s q'>2</a><a href=u/q>3</a><a href = \"sp\" >4</a>"
      "<a/href=\"slash\">5</a><a x=1href=bad y href=ok>6</a><a href=\"x\"href=\"dup\">7</a>");
  ASSERT_EQ(r.links.size(), 7u);
  EXPECT_EQ(r.links[0].url, "d q");
  EXPECT_EQ(r.links[1].url, "s q");
  EXPECT_EQ(r.links[2].url, "u/q");
  EXPECT_EQ(r.links[3].url, "sp");
  EXPECT_EQ(r.links[4].url, "slash");
  EXPECT_EQ(r.links[5].url, "ok");
  EXPECT_EQ(r.links[6].url, "x");  // the first of duplicated attributes wins
  EXPECT_EQ(r.text, "1234567");
}

TEST(RenderHtmlLinksTest, CappedAt8192Bytes) {
  std::string long_url = "http://x.example/" + std::string(20000, 'a');
  HtmlResult r = Result("<a href=\"" + long_url + "\">t</a><img src=" + long_url + ">");
  ASSERT_EQ(r.links.size(), 2u);
  EXPECT_EQ(r.links[0].url, long_url.substr(0, 8192));
  EXPECT_EQ(r.links[1].url, long_url.substr(0, 8192));
  // Leading padding is trimmed before the cap, so it cannot push the URL out.
  r = Result("<a href=\"" + std::string(100000, ' ') + "http://late.example/\">t</a>");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].url, "http://late.example/");
  // Trailing padding past the cap is trimmed too.
  std::string exact = "http://y.example/" + std::string(8192 - 17, 'b');
  r = Result("<a href=\"" + exact + std::string(100, ' ') + "\">t</a>");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].url, exact);
}

TEST(RenderHtmlLinksTest, Base) {
  HtmlResult r = Result("<base href=' http://base.example/dir/ '><a href='rel/x.html'>x</a>");
  EXPECT_EQ(r.base, "http://base.example/dir/");
  ASSERT_EQ(r.links.size(), 2u);
  EXPECT_EQ(r.links[0].url, "http://base.example/dir/");
  EXPECT_EQ(r.links[0].tag, "base");
  EXPECT_EQ(r.links[1].url, "rel/x.html");  // not resolved here
  EXPECT_EQ(Result("<base href=/relative/>").base, "");
  EXPECT_EQ(Result("<base href=javascript:x>").base, "");
  EXPECT_EQ(Result("<base href=HTTPS://a/><base href=ftp://b/>").base, "ftp://b/");
  EXPECT_EQ(Result("<a href=http://x/>x</a>").base, "");
  // SA drops a trailing file name and makes the base end in '/'.
  EXPECT_EQ(Result("<base href=http://b.example/dir/index.html>").base, "http://b.example/dir/");
  EXPECT_EQ(Result("<base href=http://b.example/dir>").base, "http://b.example/dir/");
  EXPECT_EQ(Result("<base href=http://b.example>").base, "http://b.example/");
  EXPECT_EQ(Result("<base href=http://b.example/a.b.c>").base, "http://b.example/a.b.c/");
  EXPECT_EQ(Result("<base href=http://b.example/x.abcde>").base, "http://b.example/x.abcde/");
  EXPECT_EQ(Result("<base href=ftp://f.example/x.tar.gz>").base, "ftp://f.example/x./");
  HtmlResult r2 = Result("<base href='http://b.example/d/p.php'>");
  ASSERT_EQ(r2.links.size(), 1u);
  EXPECT_EQ(r2.links[0].url, "http://b.example/d/p.php");  // the link itself is unchanged
  EXPECT_EQ(r2.base, "http://b.example/d/");
}

TEST(RenderHtmlLinksTest, MetaRefresh) {
  auto url = [](std::string_view html) {
    HtmlResult r = Result(html);
    return r.links.empty() ? std::string("<none>") : r.links[0].url;
  };
  EXPECT_EQ(url("<meta http-equiv=\"Refresh\" content=\"5; URL=http://m.example/\">"),
            "http://m.example/");
  EXPECT_EQ(url("<meta http-equiv=refresh content=\"0;url='http://q.example/a b'\">"),
            "http://q.example/a b");
  EXPECT_EQ(url("<meta content=\"0 , url = http://s.example/ \" http-equiv=REFRESH>"),
            "http://s.example/");
  EXPECT_EQ(url("<meta http-equiv=refresh content=\"5\">"), "<none>");
  EXPECT_EQ(url("<meta http-equiv=refresh content=\"0; curl=http://x/\">"), "<none>");
  // As in SA: the last url=, and an unquoted URL ends at ';'.
  EXPECT_EQ(url("<meta http-equiv=refresh content=\"0; url=http://a/; url=http://b/;x\">"),
            "http://b/");
  EXPECT_EQ(url("<meta http-equiv=refresh content=\"0;url='http://q/a;b'\">"), "http://q/a;b");
  EXPECT_EQ(url("<meta http-equiv=content-type content=\"url=http://x/\">"), "<none>");
}

TEST(RenderHtmlLinksTest, AnchorText) {
  HtmlResult r = Result("<a href=http://x/> Click   <b>here</b>\n now </a> after");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].anchor_text, "Click here now");
  EXPECT_EQ(r.text, " Click here now  after");

  r = Result(
      "<a href=1>one<a href=2>two</a><img src=3><a href=4 data-saferedirecturl=5>"
      "<br>five</a>");
  ASSERT_EQ(r.links.size(), 5u);
  EXPECT_EQ(r.links[0].anchor_text, "one");  // a new <a> closes the previous one
  EXPECT_EQ(r.links[1].anchor_text, "two");
  EXPECT_EQ(r.links[2].anchor_text, "");  // not an anchor
  EXPECT_EQ(r.links[3].anchor_text, "five");
  EXPECT_EQ(r.links[4].anchor_text, "five");

  r = Result("<a href=1>unclosed <i>to</i> the end");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].anchor_text, "unclosed to the end");

  r = Result("<a href=1>vis<script>hidden</script>ible</a>");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].anchor_text, "visible");
}

TEST(RenderHtmlLinksTest, AnchorTextCappedAtUtf8Boundary) {
  std::string e_acute;
  for (int i = 0; i < 300; ++i) e_acute += "\xc3\xa9";
  HtmlResult r = Result("<a href=1>" + e_acute + "</a><a href=2>x" + e_acute + "</a>");
  ASSERT_EQ(r.links.size(), 2u);
  EXPECT_EQ(r.links[0].anchor_text, e_acute.substr(0, 256));
  EXPECT_EQ(r.links[1].anchor_text, "x" + e_acute.substr(0, 254));
  r = Result("<a href=1>" + std::string(1000, 'w') + "</a>");
  EXPECT_EQ(r.links[0].anchor_text, std::string(256, 'w'));
}

TEST(RenderHtmlLinksTest, MaxLinks) {
  std::string html;
  for (int i = 0; i < 10; ++i) html += "<img src=http://x/" + std::to_string(i) + ">";
  HtmlResult r = Result(html, 3);
  ASSERT_EQ(r.links.size(), 3u);
  EXPECT_EQ(r.links[2].url, "http://x/2");
  EXPECT_TRUE(Result(html, 0).links.empty());
  EXPECT_EQ(Result("<base href=http://b/>", 0).base, "http://b/");
}

TEST(RenderHtmlTest, TagCountCountsStartTags) {
  EXPECT_EQ(Result("<a><b></b><br/></a><!-- <x> --><!DOCTYPE x>").tag_count, 3u);
  EXPECT_EQ(Result("<script><b></b></script><o:p>").tag_count, 2u);
  EXPECT_EQ(Result("no tags < here").tag_count, 0u);
  EXPECT_EQ(Result("<a href=x").tag_count, 0u);  // cut off by EOF: dropped
}

// --- hidden text -----------------------------------------------------------------------------

struct FlagCase {
  std::string html;
  bool invisible;
  bool tiny;
  bool color;
};

TEST(RenderHtmlFlagsTest, Table) {
  const FlagCase cases[] = {
      {"plain <b>text</b>", false, false, false},
      // display / visibility
      {"<span style=\"display:none\">x</span>", true, false, false},
      {"<div style=\"DISPLAY : None !important\">x</div>", true, false, false},
      {"<span style='display: block'>x</span>", false, false, false},
      {"<span style=\"visibility:hidden\">x</span>", true, false, false},
      {"<div style=\"visibility:hidden\"><span style=\"visibility:visible\">x</span></div>", false,
       false, false},
      {"<div style=\"display:none\"><span style=\"display:inline\">x</span></div>", true, false,
       false},
      {"<span style=\"display:none\">  \n </span>x", false, false, false},
      {"<span style=\"display:none\">&nbsp;&#160;</span>x", false, false, false},
      {"<span style=\"display:none\"></span>x", false, false, false},
      {"<div style=\"display:none\"><p>x", true, false, false},            // unclosed
      {"<div style=\"display:none\"></span>x</div>", true, false, false},  // stray end tag
      {"<div style=\"display:none\"><div></div>x</div>", true, false, false},
      {"<div style=\"display:none\"><div></div></div>x", false, false, false},
      {"<p style=\"display:none\">a</p>", true, false, false},
      {"<p style=\"display:none\"><div>x</div>", false, false, false},  // <div> closes <p>
      {"<img style=\"display:none\">x", false, false, false},           // void: no content
      {"<span style=\"display:none\"><script>x</script><style>y</style></span>z", false, false,
       false},
      // tiny fonts
      {"<span style=\"font-size:0\">x</span>", false, true, false},
      {"<span style=\"font-size:0px\">x</span>", false, true, false},
      {"<span style=\"font-size: 1px\">x</span>", false, true, false},
      {"<span style=\"font-size:0pt\">x</span>", false, true, false},
      {"<span style=\"font-size:1pt\">x</span>", false, true, false},
      {"<span style=\"font-size:0.5px\">x</span>", false, true, false},
      {"<span style=\"font-size:0em\">x</span>", false, true, false},
      {"<span style=\"font: 0/0 a\">x</span>", false, true, false},
      {"<span style=\"font: bold 1px Arial\">x</span>", false, true, false},
      {"<font size=1>x</font>", false, true, false},
      {"<font size=\"0\">x</font>", false, true, false},
      {"<font size=-2>x</font>", false, true, false},
      {"<span style=\"font-size:2px\">x</span>", false, false, false},
      {"<span style=\"font-size:12px\">x</span>", false, false, false},
      {"<span style=\"font-size:0.8em\">x</span>", false, false, false},
      {"<span style=\"font: 700 12px Arial\">x</span>", false, false, false},
      {"<font size=2>x</font>", false, false, false},
      {"<font size=+1>x</font>", false, false, false},
      {"<font size=-1>x</font>", false, false, false},
      {"<span style=\"font-size:0\"><span style=\"font-size:14px\">x</span></span>", false, false,
       false},
      {"<span style=\"font-size:0\"></span>x", false, false, false},
      // colours: default is black on white
      {"<font color=white>x</font>", false, false, true},
      {"<font color=\"#FFF\">x</font>", false, false, true},
      {"<font color=ffffff>x</font>", false, false, true},
      {"<span style=\"color:#ffffff\">x</span>", false, false, true},
      {"<span style=\"color:rgb(255, 255, 255)\">x</span>", false, false, true},
      {"<body bgcolor=\"#000000\">x", false, false, true},
      {"<body bgcolor=black text=white>x", false, false, false},
      {"<body bgcolor=black><font color=white>x</font></body>", false, false, false},
      {"<table bgcolor=\"#ff0000\"><tr><td><font color=red>x</font></td></tr></table>", false,
       false, true},
      {"<td bgcolor=blue><span style=\"color:#00f\">x</span></td>", false, false, true},
      {"<div style=\"background-color:#123456;color:#123456\">x</div>", false, false, true},
      {"<div style=\"background: url(a b.png) #abc no-repeat; color: #aabbcc\">x</div>", false,
       false, true},
      {"<div style=\"background:#fff\"><font color=\"#000\">x</font></div>", false, false, false},
      {"<font color=red>x</font>", false, false, false},
      {"<font color=white> </font>x", false, false, false},
      {"<font color=white></font>x", false, false, false},
      {"<table bgcolor=red><tr><td>a</td></tr></table><font color=red>x</font>", false, false,
       false},
      {"<table bgcolor=red><tr><td>a<td><font color=red>x", false, false, true},
      {"<table><tr><td bgcolor=red>a<td><font color=red>x", false, false, false},
      {"<table bgcolor=red></table><font color=red>x</font>", false, false, false},
      {"<div bgcolor=white>x</div>", false, false, false},  // browsers ignore div bgcolor
      // A new cell, row or item closes the open one and whatever is left open inside it.
      {"<table><tr><td><font color=white><td>x", false, false, false},
      {"<table><tr><td><font color=white><tr><td>x", false, false, false},
      {"<table><tr><td><font color=white><table><tr><td><td>x", false, false, true},
      {"<ul><li><span style=\"display:none\"><li>x", false, false, false},
      {"<ul><li><span style=\"display:none\"><ul><li><li>x", true, false, false},
      {"<dl><dt><font size=1><dd>x", false, false, false},
      {"<select><option style=\"display:none\"><option>x", false, false, false},
      {"<font color=transparent>x</font>", false, false, false},
      {"<font color=bogus>x</font>", false, false, false},
  };
  for (const FlagCase& c : cases) {
    HtmlResult r = Result(c.html);
    EXPECT_EQ(r.invisible_text, c.invisible) << c.html;
    EXPECT_EQ(r.tiny_font, c.tiny) << c.html;
    EXPECT_EQ(r.color_match, c.color) << c.html;
  }
}

TEST(RenderHtmlFlagsTest, HiddenTextIsStillRendered) {
  HtmlResult r = Result("a<span style=\"display:none\">hidden</span>b");
  EXPECT_TRUE(r.invisible_text);
  EXPECT_EQ(r.text, "ahiddenb");
}

TEST(RenderHtmlFlagsTest, HiddenChunksKeepTheirSpacesLikeSa) {
  // SA marks such chunks "invisible": their leading space survives an inserted break, and the
  // next break does not trim their trailing space.
  EXPECT_EQ(Render("<br><span style='display:none'> x</span>"), "\n x");
  EXPECT_EQ(Render("<span style='display:none'>x </span><br>"), "x \n");
  EXPECT_EQ(Render("<br><span> x</span>"), "\nx");
  EXPECT_EQ(Render("<span>x </span><br>"), "x\n");
}

TEST(RenderHtmlFlagsTest, StyleSurvivesDeepUnclosedNesting) {
  std::string html = "<div style=\"display:none\">";
  for (int i = 0; i < 1000; ++i) html += "<span>";
  html += "x";
  EXPECT_TRUE(Result(html).invisible_text);
  // Once more elements are open than the stack holds, the newest ones still count.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<b>";
  EXPECT_TRUE(Result(deep + "<font color=white>x").color_match);
  EXPECT_FALSE(Result(deep + "x").color_match);
}

// --- hostile input ---------------------------------------------------------------------------

TEST(RenderHtmlNastyTest, NoCrashAndBoundedOutput) {
  const std::string cases[] = {
      "",
      "<",
      "<<<<",
      "</",
      "<!",
      "<!-",
      "<!--",
      "<!---",
      "<![CDATA[",
      "<![CDATA[x]",
      "<?",
      "<a",
      "<a ",
      "<a href",
      "<a href=",
      "<a href=\"",
      "<a href='x",
      "<a href=x",
      "<a href=x/",
      "<a /",
      "<a =",
      "<a =x>y",
      "<=>",
      "< a>",
      "&",
      "&#",
      "&#x",
      "&#x1",
      "&am",
      "&nbsp",
      "x&nbsp;",
      "<script",
      "<script>",
      "<script></",
      "<script></script",
      "<style>a",
      "</script>",
      "</a></div></p></body></html>",
      Bytes("a\0b<b\0>\0"),
      Bytes("<a href=\"\0\">x</a>"),
      "\xff\xfe\xe2\x80",
      "\xe2",
      "\xe2\x80",
      "<a href=\xe2\x80\x9c",
      "<a href=\xe2\x80",
      "<a\xe2\x80\x9c>",
      "<!DOCTYPE",
      "<p/",
      "<p/>",
      "</p",
      "<a b c d e f>",
      "<a href=&",
      "<a href='&#x",
      "<a href=\"&nbsp",
      "<meta http-equiv=refresh content=\"url=",
      "<meta http-equiv=refresh content=\"url='x",
      "<font size=99999999999999999999>x",
      "<font size=->x",
      "<span style=\";;::;:\">x",
      "<span style=\"color:rgb(\">x",
      "<span style=\"color:#\">x",
      "<span style=\"font:\">x",
      "<span style=\"font-size:.\">x",
      "<span style=\"font-size:99999999999999999999999px\">x",
      "<span style=\"background:((((\">x",
      "&#x" + std::string(1000, 'F') + ";",
      "&" + std::string(1000, 'a') + ";",
      std::string(1000, '&'),
  };
  for (const std::string& html : cases) {
    HtmlResult r;
    RenderHtml(html, &r, 10);
    EXPECT_LE(r.text.size(), 2 * html.size() + 8) << html;
    EXPECT_LE(r.links.size(), 10u) << html;
  }
}

TEST(RenderHtmlNastyTest, ExactResultsAtEof) {
  EXPECT_EQ(Render(Bytes("a\0b")), Bytes("a\0b"));
  EXPECT_EQ(Render("x<a href="), "x");
  EXPECT_TRUE(Result("x<a href=").links.empty());
  EXPECT_EQ(Render("x<a href='y"), "x");
  EXPECT_EQ(Render("x<p"), "x");
  EXPECT_EQ(Render("x<p "), "x");
  EXPECT_EQ(Render("x<!--"), "x");
  EXPECT_EQ(Render("x&"), "x&");
  EXPECT_EQ(Render("x&#"), "x&#");
  EXPECT_EQ(Render("\xff\xfe"), "\xff\xfe");  // invalid UTF-8 passes through
  EXPECT_EQ(Render("\xe2\x80"), "\xe2\x80");
}

TEST(RenderHtmlNastyTest, HundredThousandNestedDivs) {
  std::string html;
  for (int i = 0; i < 100000; ++i) html += "<div>";
  html += "x";
  for (int i = 0; i < 100000; ++i) html += "</div>";
  HtmlResult r = Result(html);
  EXPECT_EQ(r.text, std::string(100000, '\n') + "x" + std::string(100000, '\n'));
  EXPECT_EQ(r.tag_count, 100000u);
}

TEST(RenderHtmlNastyTest, ManyStrayEndTagsOverAFullStack) {
  std::string html;
  for (int i = 0; i < 300; ++i) html += "<span>";
  for (int i = 0; i < 200000; ++i) html += "</x>";
  html += "done";
  EXPECT_EQ(Render(html), "done");
}

TEST(RenderHtmlNastyTest, HugeValuesAndRuns) {
  const std::string mb(1 << 20, 'a');
  HtmlResult r = Result("<a href=\"" + mb + "\">t</a>");
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].url.size(), 8192u);
  EXPECT_EQ(r.text, "t");

  r = Result("<div title=\"" + mb + "\" style=\"" + mb + "\">t</div>");
  EXPECT_EQ(r.text, "\nt\n");

  r = Result("<a href=" + mb);  // unquoted, cut off by EOF
  EXPECT_TRUE(r.links.empty());
  EXPECT_EQ(r.text, "");

  const std::string lts(1 << 20, '<');
  EXPECT_EQ(Render(lts), lts);
  EXPECT_EQ(Render("<!--" + mb), "");
  EXPECT_EQ(Render("<script>" + mb), "");
  EXPECT_EQ(Render(std::string(1 << 20, ' ')), " ");

  std::string anchors;
  for (int i = 0; i < 100000; ++i) anchors += "<a href=x>";
  r = Result(anchors + "t");
  EXPECT_EQ(r.links.size(), 1000u);
  EXPECT_EQ(r.links.back().anchor_text, "");
  EXPECT_EQ(r.text, "t");

  std::string entities;
  for (int i = 0; i < 100000; ++i) entities += "&#x10FFFF;";
  r = Result(entities);
  EXPECT_EQ(r.text.size(), 400000u);
}

TEST(RenderHtmlTest, ResultIsClearedBetweenCalls) {
  HtmlResult r;
  RenderHtml("<base href=http://b/><font color=white>x<a href=y>z</a>", &r);
  EXPECT_FALSE(r.links.empty());
  RenderHtml("plain", &r);
  EXPECT_EQ(r.text, "plain");
  EXPECT_TRUE(r.links.empty());
  EXPECT_EQ(r.base, "");
  EXPECT_FALSE(r.color_match);
  EXPECT_EQ(r.tag_count, 0u);
}

}  // namespace
}  // namespace veto::email
