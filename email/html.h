// veto/email/html.h — HTML to visible text, links and hidden-text tricks.
//
// A hand-written tokenizer after the HTML5 tokenizer states (data, tag open, tag name,
// attribute name/value in all three quoting styles, comments, bogus comments, DOCTYPE,
// CDATA/marked sections, raw text in <script>/<style>), not regexes. It renders text the way
// SpamAssassin 4.0.1 does (../shared/docs/spamassassin-semantics.md §2.3):
//   - text of <script>, <style> and comments dropped; entities decoded (named, &#NN;, &#xNN;);
//   - "\n" (soft break) for br/div, " " for li/th/td/dt/dd/embed/h1-h6, "\n\n" (paragraph)
//     for p/hr/blockquote/pre/listing/plaintext/xmp/title, on opening and closing tags;
//   - runs of ASCII whitespace in text become one space;
//   - URLs from a/area/link href, img/frame/iframe/embed/script/bgsound src, form action,
//     body/table/tr/td background, base href, meta refresh url=.
// Hidden text is still rendered (as SpamAssassin does) but flagged.
//
//   HtmlResult r;
//   RenderHtml("<p>Hi <a href='http://x.example/'>there</a></p>", &r);
//   // r.text == "\n\nHi there\n\n", r.links[0].url == "http://x.example/"
//
// Thread-safety: pure function.
#ifndef VETO_EMAIL_HTML_H_
#define VETO_EMAIL_HTML_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"

namespace veto::email {

struct HtmlLink {
  std::string url;            // attribute value, entity-decoded, trimmed (not resolved)
  std::string_view tag;       // lower-case tag name ("a", "img", ...), static storage
  std::string_view attr;      // lower-case attribute name ("href", "src", ...), static storage
  UriSource source = UriSource::kHtmlLink;
  std::string anchor_text;    // for <a>: its rendered text, whitespace-collapsed, <= 256 bytes
};

struct HtmlResult {
  std::string text;                // rendered text, UTF-8
  std::vector<HtmlLink> links;     // in document order, at most `max_links`
  std::string base;                // <base href> as SA resolves with it, if any (see .cc)
  bool invisible_text = false;     // text under display:none or visibility:hidden
  bool tiny_font = false;          // text under font-size 0/1px (CSS) or <font size=0/1>
  bool color_match = false;        // text colour equal to the background colour
  size_t tag_count = 0;
};

// Renders `html` (UTF-8, or any ASCII-compatible bytes, which pass through) into `out`
// (cleared first). Bounded: output is at most 2x input plus entity expansion; links capped.
void RenderHtml(std::string_view html, HtmlResult* out, size_t max_links = 1000);

// Decodes one HTML character reference starting at `s[0] == '&'`. On success appends the
// UTF-8 bytes to `out` and returns the number of input bytes consumed; returns 0 if `s` does
// not start with a reference (the caller then emits '&' literally).
size_t DecodeHtmlEntity(std::string_view s, std::string* out);

}  // namespace veto::email

#endif  // VETO_EMAIL_HTML_H_
