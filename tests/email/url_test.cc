#include "email/url.h"

#include <gtest/gtest.h>
#include <libpsl.h>

#include <string>
#include <string_view>
#include <vector>

namespace veto::email {
namespace {

using ::testing::TestWithParam;
using ::testing::Values;

std::vector<FoundUri> Extract(std::string_view text) {
  std::vector<FoundUri> out;
  EXPECT_TRUE(ExtractUris(text, &out)) << text;
  return out;
}

std::vector<std::string> Urls(std::string_view text) {
  std::vector<std::string> urls;
  for (const FoundUri& f : Extract(text)) urls.push_back(f.url);
  return urls;
}

using Strings = std::vector<std::string>;

// A string literal with embedded NULs, whole.
template <size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// ----------------------------------------------------------------------------------------------
// Candidate kinds.

TEST(ExtractUrisTest, SchemeUrls) {
  auto found = Extract("see http://example.com/a and https://Example.org:8443/b?c=d#e now");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].url, "http://example.com/a");
  EXPECT_EQ(found[0].raw, "http://example.com/a");
  EXPECT_EQ(found[0].host, "example.com");
  EXPECT_EQ(found[0].registered_domain, "example.com");
  EXPECT_FALSE(found[0].schemeless);
  EXPECT_FALSE(found[0].obfuscated);
  EXPECT_FALSE(found[0].idn);
  EXPECT_EQ(found[1].url, "https://example.org:8443/b?c=d#e");
  EXPECT_EQ(found[1].raw, "https://Example.org:8443/b?c=d#e");
  EXPECT_EQ(found[1].host, "example.org");
}

TEST(ExtractUrisTest, FtpAndOtherSchemes) {
  EXPECT_EQ(Urls("get ftp://ftp.example.org/pub/file.txt today"),
            Strings{"ftp://ftp.example.org/pub/file.txt"});
  auto found = Extract("open foo+bar://Host.Example/x now");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "foo+bar://host.example/x");
  EXPECT_EQ(found[0].host, "host.example");
  // A known scheme glued to a word keeps only the scheme.
  found = Extract("season.http://www.tesco.ie/Register/");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://www.tesco.ie/Register/");
  EXPECT_EQ(found[0].raw, "http://www.tesco.ie/Register/");
}

TEST(ExtractUrisTest, SchemeOnlyAndRejectedSchemesGiveNothing) {
  EXPECT_TRUE(Urls("http:// and https:// and ftp://").empty());
  EXPECT_TRUE(Urls("javascript://example.com/x").empty());
  EXPECT_TRUE(Urls("file://example.com/etc/passwd").empty());
  EXPECT_TRUE(Urls("at 10:30 Re:hello Note: this").empty());
}

TEST(ExtractUrisTest, WwwAndFtpPrefixes) {
  auto found = Extract("go to www.example.com/x now");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://www.example.com/x");
  EXPECT_EQ(found[0].raw, "www.example.com/x");
  EXPECT_TRUE(found[0].schemeless);
  EXPECT_EQ(found[0].registered_domain, "example.com");

  EXPECT_EQ(Urls("www2.example.com"), Strings{"http://www2.example.com/"});
  EXPECT_EQ(Urls("Www.Example.Com"), Strings{"http://www.example.com/"});
  found = Extract("ftp.example.org/pub");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "ftp://ftp.example.org/pub");
  EXPECT_TRUE(found[0].schemeless);
  // The TLD must still be real.
  EXPECT_TRUE(Urls("www.example and ftp.example").empty());
}

TEST(ExtractUrisTest, EmailAddressesBecomeMailto) {
  auto found = Extract("Write to John.Smith+tag@Example.CO.UK. Thanks");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "mailto:John.Smith+tag@example.co.uk");
  EXPECT_EQ(found[0].raw, "John.Smith+tag@Example.CO.UK");
  EXPECT_EQ(found[0].host, "example.co.uk");
  EXPECT_EQ(found[0].registered_domain, "example.co.uk");
  EXPECT_TRUE(found[0].schemeless);

  EXPECT_EQ(Urls("<sales@cheap.example.com>"), Strings{"mailto:sales@cheap.example.com"});
  EXPECT_EQ(Urls("mailto:bob@example.com?subject=Hi%20there"),
            Strings{"mailto:bob@example.com?subject=Hi%20there"});
  found = Extract("mailto:Bob@Example.COM");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].schemeless);
  EXPECT_EQ(found[0].host, "example.com");
}

TEST(ExtractUrisTest, EmailNegatives) {
  EXPECT_TRUE(Urls("user@localhost").empty());
  EXPECT_TRUE(Urls("x@y.z").empty());
  EXPECT_TRUE(Urls("foo@example.c0m").empty());
  EXPECT_TRUE(Urls("@@@@ @example.com").empty());
  EXPECT_TRUE(Urls("mailto:nobody mailto:foo@bar").empty());
}

TEST(ExtractUrisTest, SchemelessHosts) {
  auto found = Extract("visit example.com today");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://example.com/");
  EXPECT_EQ(found[0].raw, "example.com");
  EXPECT_TRUE(found[0].schemeless);
  EXPECT_FALSE(found[0].obfuscated);

  EXPECT_EQ(Urls("example.co.uk:8080/path?q=1"), Strings{"http://example.co.uk:8080/path?q=1"});
  EXPECT_EQ(Urls("a.b.example.co.uk"), Strings{"http://a.b.example.co.uk/"});
  EXPECT_EQ(Urls("(example.org)"), Strings{"http://example.org/"});
  EXPECT_EQ(Urls("Amazon.com rocks"), Strings{"http://amazon.com/"});
  EXPECT_EQ(Urls("ASP.NET rocks"), Strings{"http://asp.net/"});
  // CJK text has no spaces around the host.
  EXPECT_EQ(Urls("请访问example.com获取"), Strings{"http://example.com/"});
}

TEST(ExtractUrisTest, SchemelessMustStartAWord) {
  EXPECT_TRUE(Urls("path/to/b.example.com").empty());
  EXPECT_TRUE(Urls("x=b.example.com").empty());
  EXPECT_TRUE(Urls("@b.example.com").empty());
}

class ProseTest : public TestWithParam<const char*> {};

TEST_P(ProseTest, YieldsNothing) {
  std::vector<FoundUri> out;
  EXPECT_TRUE(ExtractUris(GetParam(), &out));
  EXPECT_TRUE(out.empty()) << GetParam() << " -> " << out[0].url;
}

INSTANTIATE_TEST_SUITE_P(ExtractUrisTest, ProseTest,
                         Values("I said so.Then I left", "e.g. this", "i.e. that", "version 1.2.3",
                                "end of sentence. Next", "end of sentence . Next one", "Mr. Smith",
                                "U.S.A.", "a.m. and p.m.", "pi is 3.14159", "call 555.123.4567",
                                "file.txt and archive.tar.gz", "etc.)", "lots of dots......",
                                "Example.Com", "I love her.love", "tokenizer.py", "README.md",
                                "the dot com bubble", "connect the dot to the line",
                                "does dot compare", "user . today", "so it ends . in time",
                                "hello [.] world", "smile (.) ok", "set {.} x", "a (dot) b",
                                "ratio [:] x", "the http :// thing", "hxxp: the", "h**p is a word",
                                "it was 3 . 5 m", ""));

// ----------------------------------------------------------------------------------------------
// Obfuscations.

struct ObfuscationCase {
  const char* text;
  const char* url;
  const char* raw;
  bool schemeless;
};

class ObfuscationTest : public TestWithParam<ObfuscationCase> {};

TEST_P(ObfuscationTest, DeobfuscatesAndFlags) {
  const ObfuscationCase& c = GetParam();
  auto found = Extract(std::string("see ") + c.text + " now");
  ASSERT_EQ(found.size(), 1u) << c.text;
  EXPECT_EQ(found[0].url, c.url);
  EXPECT_EQ(found[0].raw, c.raw);
  EXPECT_TRUE(found[0].obfuscated);
  EXPECT_EQ(found[0].schemeless, c.schemeless);
}

INSTANTIATE_TEST_SUITE_P(
    ExtractUrisTest, ObfuscationTest,
    Values(
        ObfuscationCase{"hxxp://example.com/a", "http://example.com/a", "hxxp://example.com/a",
                        false},
        ObfuscationCase{"HXXPS://example.com/", "https://example.com/", "HXXPS://example.com/",
                        false},
        ObfuscationCase{"h**p://example.com/", "http://example.com/", "h**p://example.com/", false},
        ObfuscationCase{"h__ps://example.com/", "https://example.com/", "h__ps://example.com/",
                        false},
        ObfuscationCase{"http ://example.com/", "http://example.com/", "http ://example.com/",
                        false},
        ObfuscationCase{"http: //example.com/", "http://example.com/", "http: //example.com/",
                        false},
        ObfuscationCase{"http[:]//example.com/", "http://example.com/", "http[:]//example.com/",
                        false},
        ObfuscationCase{"hxxp://bad[.]example[.]com/x", "http://bad.example.com/x",
                        "hxxp://bad[.]example[.]com/x", false},
        ObfuscationCase{"http://example(dot)net/", "http://example.net/", "http://example(dot)net/",
                        false},
        ObfuscationCase{"example[.]com", "http://example.com/", "example[.]com", true},
        ObfuscationCase{"example(.)com", "http://example.com/", "example(.)com", true},
        ObfuscationCase{"example{.}com", "http://example.com/", "example{.}com", true},
        ObfuscationCase{"example[dot]com", "http://example.com/", "example[dot]com", true},
        ObfuscationCase{"example(DOT)com/x", "http://example.com/x", "example(DOT)com/x", true},
        ObfuscationCase{"example dot com", "http://example.com/", "example dot com", true},
        ObfuscationCase{"spam dot example dot co dot uk", "http://spam.example.co.uk/",
                        "spam dot example dot co dot uk", true},
        ObfuscationCase{"example . com", "http://example.com/", "example . com", true},
        ObfuscationCase{"www . example . com/x", "http://www.example.com/x",
                        "www . example . com/x", true},
        ObfuscationCase{"bob@example[.]com", "mailto:bob@example.com", "bob@example[.]com", true}));

TEST(ExtractUrisTest, SlashNormalisationIsNotObfuscation) {
  for (const char* text : {"http:\\\\example.com\\a", "http:/example.com/a",
                           "http:///example.com/a", "http:example.com/a"}) {
    auto found = Extract(text);
    ASSERT_EQ(found.size(), 1u) << text;
    EXPECT_EQ(found[0].url, "http://example.com/a") << text;
    EXPECT_FALSE(found[0].obfuscated) << text;
  }
  EXPECT_EQ(Urls("http:www.example.com"), Strings{"http://www.example.com/"});
  // Without slashes the host needs a dot, or prose like "http:is" would count.
  EXPECT_TRUE(Urls("http:is a protocol").empty());
}

// ----------------------------------------------------------------------------------------------
// Delimiters, punctuation and parentheses.

TEST(ExtractUrisTest, Delimiters) {
  for (std::string d : {">", "<", "\"", "`", "}", "]", "{", "[", "|", " ", "\t", "\n", "\r", "\x1b",
                        "\xC2\xA0", "\xE2\x80\x9D", "\xC2\xBB", "\xE3\x80\x80"}) {
    std::string text = "http://example.com/a" + d + "b";
    EXPECT_EQ(Urls(text), Strings{"http://example.com/a"}) << text;
  }
  auto found = Extract("“example.com”");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].raw, "example.com");
  EXPECT_EQ(Urls("<http://example.com/a>"), Strings{"http://example.com/a"});
  EXPECT_EQ(Urls("\"http://example.com/b\""), Strings{"http://example.com/b"});
  EXPECT_EQ(Urls("«http://example.com/a»"), Strings{"http://example.com/a"});
}

TEST(ExtractUrisTest, TrailingPunctuationIsStripped) {
  for (char c : std::string_view("-~!@#^&*()_+=:;'?,.")) {
    std::string text = std::string("http://example.com/a") + c + " next";
    auto found = Extract(text);
    ASSERT_EQ(found.size(), 1u) << text;
    EXPECT_EQ(found[0].url, "http://example.com/a") << text;
    EXPECT_EQ(found[0].raw, "http://example.com/a") << text;
  }
  EXPECT_EQ(Urls("http://example.com/a?!.,"), Strings{"http://example.com/a"});
  EXPECT_EQ(Urls("visit example.com."), Strings{"http://example.com/"});
  EXPECT_EQ(Urls("www.example.com/path?x=1,"), Strings{"http://www.example.com/path?x=1"});
  EXPECT_EQ(Urls("visit example.com-- great"), Strings{"http://example.com/"});
}

TEST(ExtractUrisTest, UnbalancedParenthesisCutsTheUrl) {
  auto found = Extract("(see http://x.example/a)");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://x.example/a");
  EXPECT_EQ(found[0].raw, "http://x.example/a");
  EXPECT_EQ(Urls("(http://x.example/a)b"), Strings{"http://x.example/a"});
  // Balanced parentheses stay, including a closing one at the end.
  EXPECT_EQ(Urls("see http://en.wikipedia.org/wiki/Foo_(bar)."),
            Strings{"http://en.wikipedia.org/wiki/Foo_(bar)"});
  EXPECT_EQ(Urls("(see http://en.wikipedia.org/wiki/Foo_(bar))"),
            Strings{"http://en.wikipedia.org/wiki/Foo_(bar)"});
  EXPECT_EQ(Urls("(example.com/a)"), Strings{"http://example.com/a"});
}

// The scanner looks at 16 bytes at a time and at the last few one by one: every kind of
// candidate must be found wherever it falls, in texts of every length around a block.
TEST(ExtractUrisTest, FoundAtEveryOffset) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://a.example/x", "http://a.example/x"},
      {"example.com", "http://example.com/"},
      {"bad[.]example.com", "http://bad.example.com/"},
      {"bad dot example dot com", "http://bad.example.com/"},
      {"spam . example . com", "http://spam.example.com/"},
      {"hxxp://b.example", "http://b.example/"},
      {"http[:]//c.example", "http://c.example/"},
      {"me@d.example.com", "mailto:me@d.example.com"},
      {"www.e.com", "http://www.e.com/"}};
  for (const auto& [candidate, url] : cases) {
    for (size_t before = 0; before < 40; ++before) {
      for (size_t after : {0, 1, 2, 17, 33}) {
        std::string text = std::string(before, 'w').substr(0, before ? before - 1 : 0) +
                           (before ? " " : "") + candidate + (after ? " " : "") +
                           std::string(after ? after - 1 : 0, 'z');
        EXPECT_EQ(Urls(text), Strings{url}) << "[" << text << "]";
      }
    }
  }
}

TEST(ExtractUrisTest, OrderOfAppearance) {
  auto found = Extract(
      "Buy now at www.cheap.example.com or hxxp://x[.]example[.]net, mail sales@cheap.co.uk");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].url, "http://www.cheap.example.com/");
  EXPECT_EQ(found[1].url, "http://x.example.net/");
  EXPECT_TRUE(found[1].obfuscated);
  EXPECT_EQ(found[2].url, "mailto:sales@cheap.co.uk");
  EXPECT_FALSE(found[0].obfuscated);
  EXPECT_FALSE(found[2].obfuscated);
}

TEST(ExtractUrisTest, UrlInsideUrlIsNotSeparate) {
  EXPECT_EQ(Urls("http://a.example.com/r?u=http://b.example.com/x"),
            Strings{"http://a.example.com/r?u=http://b.example.com/x"});
  EXPECT_EQ(Urls("http://a.example.com/user@b.example.com"),
            Strings{"http://a.example.com/user@b.example.com"});
}

// ----------------------------------------------------------------------------------------------
// Canonical form.

TEST(ExtractUrisTest, IdnHostsBothWays) {
  auto found = Extract("http://bücher.example/");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://xn--bcher-kva.example/");
  EXPECT_EQ(found[0].host, "xn--bcher-kva.example");
  EXPECT_EQ(found[0].host_unicode, "bücher.example");
  EXPECT_EQ(found[0].raw, "http://bücher.example/");
  EXPECT_TRUE(found[0].idn);

  found = Extract("http://XN--BCHER-KVA.example/x");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://xn--bcher-kva.example/x");
  EXPECT_EQ(found[0].host_unicode, "bücher.example");
  EXPECT_TRUE(found[0].idn);

  found = Extract("bücher.de ist gut");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://xn--bcher-kva.de/");
  EXPECT_EQ(found[0].host_unicode, "bücher.de");
  EXPECT_TRUE(found[0].schemeless);

  // Undecodable punycode: still flagged, host_unicode falls back to the host.
  found = Extract("http://xn--zz.com/");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].idn);
  EXPECT_EQ(found[0].host_unicode, "xn--zz.com");
}

TEST(CanonicalizeUriTest, HostCaseTrailingDotUserinfoFragment) {
  auto f = CanonicalizeUri("HTTP://User:Pw@WWW.Example.COM./Path?Q=A#Frag");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://User:Pw@www.example.com/Path?Q=A#Frag");
  EXPECT_EQ(f->host, "www.example.com");
  EXPECT_EQ(f->registered_domain, "example.com");
  EXPECT_EQ(CanonicalizeUri("http://example.com")->url, "http://example.com/");
  EXPECT_EQ(CanonicalizeUri("http://example.com?x=1")->url, "http://example.com/?x=1");
  EXPECT_EQ(CanonicalizeUri("http://%65xample.com/")->url, "http://example.com/");
}

TEST(CanonicalizeUriTest, PercentEncoding) {
  EXPECT_EQ(CanonicalizeUri("http://example.com/%7Euser/a%2fb%41?q=%3d%26%20x#f%7e")->url,
            "http://example.com/~user/a%2FbA?q=%3D%26%20x#f~");
  // Reserved characters stay escaped, upper-cased.
  EXPECT_EQ(CanonicalizeUri("http://example.com/%25%2f%3f%23%26%3d%2b%3b")->url,
            "http://example.com/%25%2F%3F%23%26%3D%2B%3B");
  EXPECT_EQ(CanonicalizeUri("http://example.com/a b")->url, "http://example.com/a%20b");
  const std::string controls = std::string("http://example.com/a\x01\x7f") + "b";
  EXPECT_EQ(CanonicalizeUri(controls)->url, "http://example.com/a%01%7Fb");
  EXPECT_EQ(CanonicalizeUri("http://example.com/ü?q=ü")->url, "http://example.com/%C3%BC?q=%C3%BC");
  EXPECT_EQ(CanonicalizeUri("http://example.com/%zz%4g%")->url, "http://example.com/%25zz%254g%25");
  EXPECT_EQ(CanonicalizeUri("http://example.com/<\">")->url, "http://example.com/%3C%22%3E");
  // Escapes of non-printable bytes are kept.
  EXPECT_EQ(CanonicalizeUri("http://example.com/%c3%bc%0a%20")->url,
            "http://example.com/%C3%BC%0A%20");
}

TEST(CanonicalizeUriTest, DefaultPorts) {
  EXPECT_EQ(CanonicalizeUri("http://example.com:80/")->url, "http://example.com/");
  EXPECT_EQ(CanonicalizeUri("https://example.com:443/x")->url, "https://example.com/x");
  EXPECT_EQ(CanonicalizeUri("http://example.com:0080/")->url, "http://example.com/");
  EXPECT_EQ(CanonicalizeUri("http://example.com:443/")->url, "http://example.com:443/");
  EXPECT_EQ(CanonicalizeUri("https://example.com:80/")->url, "https://example.com:80/");
  EXPECT_EQ(CanonicalizeUri("http://example.com:8080")->url, "http://example.com:8080/");
  EXPECT_EQ(CanonicalizeUri("http://example.com:/")->url, "http://example.com/");
  EXPECT_EQ(CanonicalizeUri("ftp://example.com:21/pub")->url, "ftp://example.com/pub");
  EXPECT_EQ(Urls("https://example.com:443"), Strings{"https://example.com/"});
}

TEST(CanonicalizeUriTest, NumericIpHosts) {
  struct Case {
    const char* in;
    const char* url;
  } cases[] = {
      {"http://0x7f.0.0.1/", "http://127.0.0.1/"},
      {"http://2130706433/", "http://127.0.0.1/"},
      {"http://017700000001/", "http://127.0.0.1/"},
      {"http://0300.0250.0.1/x", "http://192.168.0.1/x"},
      {"http://0xC0A80001/", "http://192.168.0.1/"},
      {"http://10.1/", "http://10.0.0.1/"},
      {"http://192.168.1.1:8080/x", "http://192.168.1.1:8080/x"},
      {"http://[2001:DB8::1]/", "http://[2001:db8::1]/"},
      {"http://[::1]:8080/x", "http://[::1]:8080/x"},
      {"http://256.1.1.1/", "http://256.1.1.1/"},
      {"http://08.1.1.1/", "http://08.1.1.1/"},
      {"http://4294967296/", "http://4294967296/"},
  };
  for (const Case& c : cases) {
    auto f = CanonicalizeUri(c.in);
    ASSERT_TRUE(f) << c.in;
    EXPECT_EQ(f->url, c.url) << c.in;
    EXPECT_EQ(f->registered_domain, f->host) << c.in;
  }
  auto found = Extract("see http://0x7f.0.0.1/ now");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].url, "http://127.0.0.1/");
  EXPECT_EQ(found[0].host, "127.0.0.1");
  EXPECT_EQ(found[0].registered_domain, "127.0.0.1");
}

TEST(CanonicalizeUriTest, Mailto) {
  auto f = CanonicalizeUri("mailto:Bob@Example.COM?subject=Hi");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "mailto:Bob@example.com?subject=Hi");
  EXPECT_EQ(f->host, "example.com");
  f = CanonicalizeUri("MAILTO:bob@b%C3%BCcher.example");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "mailto:bob@xn--bcher-kva.example");
  EXPECT_EQ(f->host_unicode, "bücher.example");
  EXPECT_TRUE(f->idn);
  f = CanonicalizeUri("mailto:nobody");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "mailto:nobody");
  EXPECT_EQ(f->host, "");
  EXPECT_EQ(f->registered_domain, "");
}

TEST(CanonicalizeUriTest, RejectedValues) {
  for (const char* v :
       {"", "   ", "\t\n", "#top", "  #", "javascript:alert(1)", " JavaScript:void(0)",
        "vbscript:x", "data:text/html,x", "DATA:image/png;base64,AAAA", "cid:part1@example.com",
        "mid:x@y", "about:blank", "tel:+15551234", "file:///etc/passwd", "http:", "http://",
        "http:///", "https://:80/"}) {
    EXPECT_FALSE(CanonicalizeUri(v)) << v;
    EXPECT_FALSE(CanonicalizeUri(v, "http://base.example/")) << v;
  }
}

TEST(CanonicalizeUriTest, TrimsAndKeepsRaw) {
  auto f = CanonicalizeUri(" \xC2\xA0\xEF\xBB\xBF http://example.com/a\nb \r\n");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://example.com/ab");
  EXPECT_EQ(f->raw, "http://example.com/ab");
}

TEST(CanonicalizeUriTest, RelativeWithoutBaseIsVerbatim) {
  for (const char* v : {"/img/x.png", "rel/link.html", "//g", "?q=1", "../x"}) {
    auto f = CanonicalizeUri(v);
    ASSERT_TRUE(f) << v;
    EXPECT_EQ(f->url, v);
    EXPECT_EQ(f->raw, v);
    EXPECT_EQ(f->host, "");
    EXPECT_EQ(f->registered_domain, "");
  }
  // A base that is not absolute and hierarchical is no base.
  EXPECT_EQ(CanonicalizeUri("rel/link.html", "mailto:x@example.com")->url, "rel/link.html");
  EXPECT_EQ(CanonicalizeUri("rel/link.html", "data:x")->url, "rel/link.html");
  EXPECT_EQ(CanonicalizeUri("rel/link.html", "/only/a/path")->url, "rel/link.html");
}

TEST(CanonicalizeUriTest, SchemelessWww) {
  auto f = CanonicalizeUri("www.Example.com/a b");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://www.example.com/a%20b");
  EXPECT_TRUE(f->schemeless);
  EXPECT_EQ(f->registered_domain, "example.com");
  EXPECT_EQ(CanonicalizeUri("www.example.com", "http://base.example/dir/")->url,
            "http://www.example.com/");
}

struct ResolveCase {
  const char* ref;
  const char* url;
};

class Rfc3986Test : public TestWithParam<ResolveCase> {};

TEST_P(Rfc3986Test, ResolvesAgainstBase) {
  auto f = CanonicalizeUri(GetParam().ref, "http://a/b/c/d;p?q");
  ASSERT_TRUE(f) << GetParam().ref;
  EXPECT_EQ(f->url, GetParam().url) << GetParam().ref;
  EXPECT_EQ(f->raw, GetParam().ref);
}

// RFC 3986 §5.4.1 and §5.4.2. Differences by design: "#s" is rejected (a fragment), "//g" gets
// the empty path "/", and "http:g" is read as http://g/ (slashes after "http:" are implied).
INSTANTIATE_TEST_SUITE_P(
    CanonicalizeUriTest, Rfc3986Test,
    Values(ResolveCase{"g:h", "g:h"}, ResolveCase{"g", "http://a/b/c/g"},
           ResolveCase{"./g", "http://a/b/c/g"}, ResolveCase{"g/", "http://a/b/c/g/"},
           ResolveCase{"/g", "http://a/g"}, ResolveCase{"//g", "http://g/"},
           ResolveCase{"?y", "http://a/b/c/d;p?y"}, ResolveCase{"g?y", "http://a/b/c/g?y"},
           ResolveCase{"g#s", "http://a/b/c/g#s"}, ResolveCase{"g?y#s", "http://a/b/c/g?y#s"},
           ResolveCase{";x", "http://a/b/c/;x"}, ResolveCase{"g;x", "http://a/b/c/g;x"},
           ResolveCase{"g;x?y#s", "http://a/b/c/g;x?y#s"}, ResolveCase{".", "http://a/b/c/"},
           ResolveCase{"./", "http://a/b/c/"}, ResolveCase{"..", "http://a/b/"},
           ResolveCase{"../", "http://a/b/"}, ResolveCase{"../g", "http://a/b/g"},
           ResolveCase{"../..", "http://a/"}, ResolveCase{"../../", "http://a/"},
           ResolveCase{"../../g", "http://a/g"}, ResolveCase{"../../../g", "http://a/g"},
           ResolveCase{"../../../../g", "http://a/g"}, ResolveCase{"/./g", "http://a/g"},
           ResolveCase{"/../g", "http://a/g"}, ResolveCase{"g.", "http://a/b/c/g."},
           ResolveCase{".g", "http://a/b/c/.g"}, ResolveCase{"g..", "http://a/b/c/g.."},
           ResolveCase{"..g", "http://a/b/c/..g"}, ResolveCase{"./../g", "http://a/b/g"},
           ResolveCase{"./g/.", "http://a/b/c/g/"}, ResolveCase{"g/./h", "http://a/b/c/g/h"},
           ResolveCase{"g/../h", "http://a/b/c/h"},
           ResolveCase{"g;x=1/./y", "http://a/b/c/g;x=1/y"},
           ResolveCase{"g;x=1/../y", "http://a/b/c/y"},
           ResolveCase{"g?y/./x", "http://a/b/c/g?y/./x"},
           ResolveCase{"g?y/../x", "http://a/b/c/g?y/../x"},
           ResolveCase{"g#s/./x", "http://a/b/c/g#s/./x"},
           ResolveCase{"g#s/../x", "http://a/b/c/g#s/../x"}, ResolveCase{"http:g", "http://g/"},
           ResolveCase{"..\\g", "http://a/b/g"}));

TEST(CanonicalizeUriTest, BaseIsCanonicalisedFirst) {
  EXPECT_EQ(CanonicalizeUri("g", "HTTP://A/b/c")->url, "http://a/b/g");
  EXPECT_EQ(CanonicalizeUri("g", "http:\\\\a\\b\\c")->url, "http://a/b/g");
  EXPECT_EQ(CanonicalizeUri("x", "http://a")->url, "http://a/x");
  auto f = CanonicalizeUri("../img/Ä.png", "http://www.example.co.uk/dir/page.html");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://www.example.co.uk/img/%C3%84.png");
  EXPECT_EQ(f->registered_domain, "example.co.uk");
}

TEST(CanonicalizeUriTest, IsIdempotentAndMatchesTextExtraction) {
  for (const char* v :
       {"HTTP://User@Example.COM:80/a%41/%2f?x=%7e&y=%20#F", "http://bücher.example/ü",
        "https://0x7f.1/a b", "mailto:Bob@Example.COM?subject=a%20b", "ftp://x.example/%zz",
        "news:comp.lang.c", "http://[2001:DB8::1]:8080/"}) {
    auto once = CanonicalizeUri(v);
    ASSERT_TRUE(once) << v;
    auto twice = CanonicalizeUri(once->url);
    ASSERT_TRUE(twice) << v;
    EXPECT_EQ(twice->url, once->url) << v;
  }
  auto text = Extract("see HTTP://Example.COM:80/a%41 now");
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].url, CanonicalizeUri("HTTP://Example.COM:80/a%41")->url);
}

TEST(CanonicalizeUriTest, InvalidUtf8HostIsEscaped) {
  auto f = CanonicalizeUri("http://\xff\xfe.example/");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://%FF%FE.example/");
  EXPECT_TRUE(f->idn);
}

// ----------------------------------------------------------------------------------------------
// Host helpers.

TEST(RegisteredDomainTest, PublicSuffixList) {
  EXPECT_EQ(RegisteredDomain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(RegisteredDomain("WWW.Example.COM."), "example.com");
  EXPECT_EQ(RegisteredDomain("example.com"), "example.com");
  EXPECT_EQ(RegisteredDomain("city.kawasaki.jp"), "city.kawasaki.jp");
  EXPECT_EQ(RegisteredDomain("x.y.github.io"), "y.github.io");
  EXPECT_EQ(RegisteredDomain("xn--bcher-kva.co.uk"), "xn--bcher-kva.co.uk");
  EXPECT_EQ(RegisteredDomain("a.bücher.co.uk"), "xn--bcher-kva.co.uk");
  // The host itself: IP literals, public suffixes, single labels.
  EXPECT_EQ(RegisteredDomain("1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(RegisteredDomain("[2001:db8::1]"), "[2001:db8::1]");
  EXPECT_EQ(RegisteredDomain("co.uk"), "co.uk");
  EXPECT_EQ(RegisteredDomain("com"), "com");
  EXPECT_EQ(RegisteredDomain("localhost"), "localhost");
  EXPECT_EQ(RegisteredDomain("256.1.1.1"), "256.1.1.1");
  EXPECT_EQ(RegisteredDomain(""), "");
  // Repeated calls (served from the cache) agree.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(RegisteredDomain("a.b.example.co.uk"), "example.co.uk");
}

// RegisteredDomain caches libpsl's answers per host and per parent, and walks up to the first
// parent it knows: the answer must not depend on which hosts were asked before, whatever the
// wildcard and exception rules around them ("*.kawasaki.jp", "!city.kawasaki.jp").
TEST(RegisteredDomainTest, AgreesWithLibpslWhateverWasAskedBefore) {
  std::vector<std::string> hosts;
  for (std::string_view group :
       {"kawasaki.jp x.kawasaki.jp a.x.kawasaki.jp city.kawasaki.jp a.city.kawasaki.jp",
        "b.a.city.kawasaki.jp github.io y.github.io x.y.github.io blogspot.com",
        "a.blogspot.com b.a.blogspot.com co.uk example.co.uk a.example.co.uk uk com",
        "example.com www.example.com a.b.c.d.example.com ck www.ck foo.ck a.foo.ck",
        "s3.amazonaws.com bucket.s3.amazonaws.com amazonaws.com x.amazonaws.com"}) {
    while (!group.empty()) {
      size_t space = group.find(' ');
      hosts.emplace_back(group.substr(0, space));
      group.remove_prefix(space == std::string_view::npos ? group.size() : space + 1);
    }
  }
  auto expected = [](const std::string& host) {
    const char* r = psl_registrable_domain(psl_builtin(), host.c_str());
    return r != nullptr ? std::string(r) : host;
  };
  for (int order = 0; order < 2; ++order) {
    std::vector<std::string> ask = hosts;
    if (order == 1) ask.assign(hosts.rbegin(), hosts.rend());  // children before parents
    for (int round = 0; round < 2; ++round) {
      for (const std::string& host : ask) EXPECT_EQ(RegisteredDomain(host), expected(host)) << host;
    }
  }
}

TEST(HostConversionTest, BothWays) {
  EXPECT_EQ(HostToAscii("bücher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(HostToAscii("BÜCHER.Example"), "xn--bcher-kva.example");
  EXPECT_EQ(HostToAscii("Example.COM"), "example.com");
  EXPECT_EQ(HostToAscii("рф.рф"), "xn--p1ai.xn--p1ai");
  EXPECT_EQ(HostToUnicode("xn--bcher-kva.example"), "bücher.example");
  EXPECT_EQ(HostToUnicode("xn--p1ai"), "рф");
  EXPECT_EQ(HostToUnicode("example.com"), "example.com");
  // Failures give the input back.
  EXPECT_EQ(HostToUnicode("xn--zz.com"), "xn--zz.com");
  EXPECT_EQ(HostToAscii("a\xff.com"), "a\xff.com");
  EXPECT_EQ(HostToAscii(Bytes("a\0b\xc3\xbc")), Bytes("a\0b\xc3\xbc"));
}

// ----------------------------------------------------------------------------------------------
// Limits and hostile input.

TEST(ExtractUrisTest, MaxUrisCap) {
  const std::string text = "a.example.com b.example.com c.example.com d.example.com e.example.com";
  std::vector<FoundUri> out;
  EXPECT_FALSE(ExtractUris(text, &out, 3));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].url, "http://c.example.com/");

  out.clear();
  EXPECT_TRUE(ExtractUris(text, &out, 5));
  EXPECT_EQ(out.size(), 5u);

  // The cap counts what `out` already holds.
  out.assign(2, FoundUri{});
  EXPECT_FALSE(ExtractUris(text, &out, 3));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].url, "http://a.example.com/");

  out.assign(3, FoundUri{});
  EXPECT_TRUE(ExtractUris("no links here", &out, 3));
  EXPECT_EQ(out.size(), 3u);
  EXPECT_FALSE(ExtractUris("one.example.com", &out, 3));
  EXPECT_EQ(out.size(), 3u);

  out.clear();
  EXPECT_FALSE(ExtractUris(text, &out, 0));
  EXPECT_TRUE(out.empty());
}

TEST(ExtractUrisTest, LongUrlsAreTruncated) {
  std::string text = "x http://example.com/" + std::string(20000, 'a') + " http://next.example/";
  auto found = Extract(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].url.size(), 8192u);
  EXPECT_EQ(found[0].raw.size(), 8192u);
  EXPECT_EQ(found[0].url.substr(0, 21), "http://example.com/aa");
  EXPECT_EQ(found[1].url, "http://next.example/");

  // Escaping can only grow a URL: the cap holds and no half escape is left at the end.
  auto f = CanonicalizeUri("http://example.com/" + std::string(10000, '"'));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url.size(), 8191u);
  EXPECT_EQ(f->url.substr(f->url.size() - 6), "%22%22");
}

TEST(ExtractUrisTest, NulAndControlBytesEndUrls) {
  EXPECT_EQ(Urls(Bytes("see http://exa\0mple.com/ ok")),
            (Strings{"http://exa/", "http://mple.com/"}));
  EXPECT_EQ(Urls(Bytes("example.com\0/x")), Strings{"http://example.com/"});
  EXPECT_EQ(Urls(Bytes("http://example.com/a\x01b")), Strings{"http://example.com/a"});
}

struct NastyCase {
  const char* name;
  std::string text;
  size_t max_found;
};

std::string Repeat(std::string_view unit, size_t bytes) {
  std::string s;
  s.reserve(bytes + unit.size());
  while (s.size() < bytes) s.append(unit);
  return s;
}

class NastyInputTest : public TestWithParam<NastyCase> {};

TEST_P(NastyInputTest, BoundedAndSafe) {
  const NastyCase& c = GetParam();
  std::vector<FoundUri> out;
  ExtractUris(c.text, &out);
  EXPECT_LE(out.size(), c.max_found) << c.name;
  for (const FoundUri& f : out) {
    EXPECT_LE(f.url.size(), 8192u) << c.name;
    EXPECT_LE(f.raw.size(), 8192u) << c.name;
    EXPECT_FALSE(f.url.empty()) << c.name;
  }
  // Attribute values are bounded too.
  auto f = CanonicalizeUri(c.text, "http://base.example/");
  if (f) {
    EXPECT_LE(f->url.size(), 8192u) << c.name;
  }
}

constexpr size_t kMiB = 1 << 20;

INSTANTIATE_TEST_SUITE_P(
    ExtractUrisTest, NastyInputTest,
    Values(NastyCase{"empty", "", 0}, NastyCase{"only dots", std::string(kMiB, '.'), 0},
           NastyCase{"dot label dot", Repeat("a.", kMiB), 0},
           NastyCase{"one long word", std::string(kMiB, 'a'), 0},
           NastyCase{"scheme alone", "http://", 0}, NastyCase{"open bracket", "http://[", 0},
           NastyCase{"ats", "@@@@", 0}, NastyCase{"many ats", Repeat("@", kMiB), 0},
           NastyCase{"local at", Repeat("a@", kMiB), 0},
           NastyCase{"repeated scheme", Repeat("http://", kMiB), 1},
           NastyCase{"repeated spaced scheme", Repeat("http:// ", kMiB), 0},
           NastyCase{"repeated obfuscated dots", Repeat("a[.]", kMiB), 0},
           NastyCase{"repeated spaced dots", Repeat("a . ", kMiB), 0},
           NastyCase{"repeated dot words", Repeat("a dot ", kMiB), 0},
           NastyCase{"repeated colons", Repeat("a:", kMiB), 0},
           NastyCase{"repeated parens", Repeat("(", kMiB), 0},
           NastyCase{"url with parens", "http://a.example/" + Repeat("(", kMiB), 1},
           NastyCase{"long host", Repeat("ab.", kMiB) + "com", 1},
           NastyCase{"huge port", "http://example.com:99999999999999999999999/", 1},
           NastyCase{"port junk", "http://example.com:80abc/", 1},
           NastyCase{"invalid utf8", "\xff\xfe\xfd.com \xc3.com \xe2\x80.com http://\xff\xfe/", 1},
           NastyCase{"nuls", Bytes("http://\0\0\0.com/\0@\0.\0"), 0},
           NastyCase{"non-ascii dots", Repeat("\xc3\xa9.", kMiB), 0},
           NastyCase{"many urls", Repeat("x.example.com ", kMiB), 10000},
           NastyCase{"many emails", Repeat("a@b.example.com ", kMiB), 10000},
           NastyCase{"ipv6 junk", Repeat("http://[::::::::::::", 100000), 0},
           NastyCase{"percent junk", "http://example.com/" + Repeat("%", 100000), 1}));

}  // namespace
}  // namespace veto::email
