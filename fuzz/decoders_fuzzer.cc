// libFuzzer target: each decoder on its own — base64, quoted-printable, Q, charset
// conversion under a label chosen by the first byte, RFC 2047 words, normalisation, HTML
// rendering and URL extraction/canonicalisation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "email/charset.h"
#include "email/html.h"
#include "email/transfer.h"
#include "email/unicode.h"
#include "email/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kCharsets[] = {"",          "utf-8",      "iso-8859-1", "windows-1251",
                                          "koi8-r",    "gb2312",     "big5",       "shift_jis",
                                          "euc-jp",    "euc-kr",     "iso-2022-jp", "utf-16",
                                          "utf-16le",  "utf-7",      "x-unknown",  "us-ascii"};
  std::string_view charset = kCharsets[data[0] % 16];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string out;
  bool flag = false;
  veto::email::DecodeBase64(in, &out, 1 << 20, &flag);
  out.clear();
  veto::email::DecodeQuotedPrintable(in, &out, 1 << 20, &flag);
  out.clear();
  veto::email::DecodeQEncoding(in, &out);
  out.clear();
  veto::email::ConvertToUtf8(in, charset, &out);
  if (!veto::email::IsValidUtf8(out)) __builtin_trap();  // conversion always yields UTF-8
  std::string norm;
  veto::email::NormalizeForMatch(out, &norm);
  out.clear();
  veto::email::DecodeEncodedWords(in, &out, &flag);
  veto::email::HtmlResult html;
  veto::email::RenderHtml(in, &html, 100);
  std::vector<veto::email::FoundUri> uris;
  veto::email::ExtractUris(in, &uris, 100);
  if (uris.size() > 100) __builtin_trap();
  for (const auto& link : html.links) (void)veto::email::CanonicalizeUri(link.url, html.base);
  (void)veto::email::CanonicalizeUri(in, "http://a/b/c/d;p?q");
  return 0;
}
