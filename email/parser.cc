#include "email/parser.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "core/strings.h"
#include "email/charset.h"
#include "email/html.h"
#include "email/transfer.h"
#include "email/unicode.h"
#include "email/url.h"

namespace veto::email {
namespace {

// Nesting is bounded by recursion on the C++ stack; whatever the options say, never deeper.
constexpr size_t kHardMaxDepth = 100;
// SpamAssassin cuts body elements at 2048 bytes and rawbody chunks between 2 and 4 KB.
constexpr size_t kBodyElementBytes = 2048;
constexpr size_t kRawChunkMin = 2048;
constexpr size_t kRawChunkMax = 4096;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Headers whose values SpamAssassin does not RFC 2047-decode (§3.2 step 4).
bool SkipsEncodedWords(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "Received", "Message-ID", "Resent-Message-ID", "Date", "Resent-Date",
      "MIME-Version", "References", "In-Reply-To"};
  for (std::string_view n : kNames) {
    if (EqualsIgnoreCase(name, n)) return true;
  }
  return name.size() > 5 && EqualsIgnoreCase(name.substr(0, 5), "List-");
}

// Content-Type / Content-Disposition: "token; name=value; name*=charset'lang'pct-encoded".
struct ParsedField {
  std::string_view token;  // before the first ';', trimmed, not lower-cased
  std::vector<std::pair<std::string_view, std::string>> params;  // name lower-cased later

  const std::string* Param(std::string_view name) const {
    // The last occurrence wins, as for duplicated headers.
    for (size_t i = params.size(); i-- > 0;) {
      if (EqualsIgnoreCase(params[i].first, name)) return &params[i].second;
    }
    return nullptr;
  }
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ParsedField ParseStructuredField(std::string_view v) {
  ParsedField f;
  size_t semi = v.find(';');
  f.token = StripWhitespace(v.substr(0, semi));
  size_t i = semi == std::string_view::npos ? v.size() : semi + 1;
  while (i < v.size() && f.params.size() < 64) {
    while (i < v.size() && (absl::ascii_isspace(static_cast<unsigned char>(v[i])) || v[i] == ';'))
      ++i;
    size_t name_begin = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') ++i;
    std::string_view name = StripWhitespace(v.substr(name_begin, i - name_begin));
    if (i >= v.size() || v[i] == ';') continue;  // a parameter without a value
    ++i;                                          // '='
    while (i < v.size() && IsWsp(v[i])) ++i;
    std::string value;
    if (i < v.size() && v[i] == '"') {
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value.push_back(v[i++]);
      }
      if (i < v.size()) ++i;  // closing quote
    } else {
      size_t b = i;
      while (i < v.size() && v[i] != ';') ++i;
      value = std::string(StripWhitespace(v.substr(b, i - b)));
    }
    // RFC 2231: name*=charset'lang'%XX..., continued as name*1*=..., name*2=...; segments
    // are joined in order of appearance, which is how every client writes them.
    size_t star = name.find('*');
    if (star != std::string_view::npos) {
      std::string_view base = name.substr(0, star);
      std::string_view section = name.substr(star + 1);  // "", "0", "0*", "1*", "*"...
      bool extended = name.back() == '*';
      bool first = section.empty() || section == "*" || section.starts_with("0");
      std::string charset;
      if (extended && first) {
        size_t q1 = value.find('\'');
        size_t q2 = q1 == std::string::npos ? q1 : value.find('\'', q1 + 1);
        if (q2 != std::string::npos) {
          charset = value.substr(0, q1);
          value = value.substr(q2 + 1);
        }
      }
      if (extended) {
        std::string bytes;
        for (size_t k = 0; k < value.size(); ++k) {
          if (value[k] == '%' && k + 2 < value.size() && HexValue(value[k + 1]) >= 0 &&
              HexValue(value[k + 2]) >= 0) {
            bytes.push_back(static_cast<char>(HexValue(value[k + 1]) * 16 + HexValue(value[k + 2])));
            k += 2;
          } else {
            bytes.push_back(value[k]);
          }
        }
        value.clear();
        ConvertToUtf8(bytes, charset, &value);
      }
      bool appended = false;
      if (!first) {
        for (auto& [n, v2] : f.params) {
          if (EqualsIgnoreCase(n, base)) {
            v2 += value;
            appended = true;
            break;
          }
        }
      }
      if (!appended) f.params.emplace_back(base, std::move(value));
      continue;
    }
    f.params.emplace_back(name, std::move(value));
  }
  return f;
}

// Streaming version of SpamAssassin's body whitespace rule (§2.2 step 7): a whitespace run
// holding two or more newlines (or a NUL) becomes "\n", any other run one space. Unicode
// spaces count as whitespace because our text is always UTF-8.
class WhitespaceCollapser {
 public:
  explicit WhitespaceCollapser(std::string* out) : out_(out) {}

  void Append(std::string_view s) {
    // Output never outgrows input + 1 byte, so write through a raw pointer into space
    // reserved up front: appending word by word to the std::string was the hot spot.
    size_t old = out_->size();
    out_->resize(old + s.size() + 1);
    char* w = out_->data() + old;
    const char* p = s.data();
    const char* end = p + s.size();
    // Locals, not members: stores through `w` (a char*) may alias *this, which otherwise
    // forces the compiler to reload and store the state on every byte.
    bool in_ws = in_ws_;
    int newlines = newlines_;
    auto emit = [&](char* at) {
      *at++ = newlines >= 2 ? '\n' : ' ';
      in_ws = false;
      newlines = 0;
      return at;
    };
    while (p < end) {
#if defined(__SSE2__)
      // Copy runs of printable ASCII 16 bytes at a time. As signed bytes, both controls and
      // spaces (< 0x21) and every non-ASCII byte (negative) compare below 0x21, so one
      // compare finds the next byte that needs a look.
      if (!in_ws && end - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        unsigned mask = _mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
        if (mask == 0) {
          w += 16;
          p += 16;
          continue;
        }
        // Prose: the only bytes that need a look are single spaces between visible ASCII.
        // Each such space stays one space, so the block is already its own output, up to a
        // space in the last lane (what follows it is not known yet).
        const unsigned spaces =
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
        if (mask == spaces && (spaces & (spaces >> 1)) == 0) {
          const int n = (spaces & 0x8000) ? 15 : 16;
          w += n;
          p += n;
          continue;
        }
        unsigned n = __builtin_ctz(mask);
        w += n;
        p += n;
      }
#endif
      unsigned char c = static_cast<unsigned char>(*p);
      uint8_t cls = kClass[c];
      if (c == ' ' && !in_ws && end - p >= 2 && kClass[static_cast<unsigned char>(p[1])] == 0) {
        // One space between words (the common case) stays one space: what the run logic
        // below would emit, without the round trip through in_ws.
        *w++ = ' ';
        ++p;
      } else if (cls == 0) {
        if (in_ws) w = emit(w);
        *w++ = static_cast<char>(c);
        ++p;
      } else if (cls == 1) {  // ASCII whitespace
        in_ws = true;
        newlines += c == '\n';
        ++p;
      } else if (c == 0) {
        in_ws = true;
        newlines += 2;
        ++p;
      } else if (size_t len = UnicodeSpaceLength(p, end); len > 0) {
        in_ws = true;
        p += len;
      } else {
        if (in_ws) w = emit(w);
        *w++ = static_cast<char>(c);
        ++p;
      }
    }
    in_ws_ = in_ws;
    newlines_ = newlines;
    out_->resize(w - out_->data());
  }

  void Finish() {
    if (!in_ws_) return;
    out_->push_back(newlines_ >= 2 ? '\n' : ' ');
    in_ws_ = false;
    newlines_ = 0;
  }

 private:
  // U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
  static size_t UnicodeSpaceLength(const char* p, const char* end) {
    auto b = [&](int k) { return static_cast<unsigned char>(p[k]); };
    size_t n = end - p;
    if (b(0) == 0xC2 && n >= 2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;
    if (n < 3) return 0;
    if (b(0) == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;
    if (b(0) == 0xE2 && b(1) == 0x80 &&
        ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
      return 3;
    if (b(0) == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;
    if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
    return 0;
  }

  // 0: ordinary byte; 1: ASCII whitespace; 2: NUL or possible start of a Unicode space.
  static constexpr std::array<uint8_t, 256> kClass = [] {
    std::array<uint8_t, 256> t{};
    for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) t[c] = 1;
    for (unsigned char c : {0x00, 0xC2, 0xE1, 0xE2, 0xE3}) t[c] = 2;
    return t;
  }();

  std::string* out_;
  bool in_ws_ = false;
  int newlines_ = 0;
};

// Cuts `text` (UTF-8) to `max_chars` characters the way SpamAssassin's body_part_scan_size
// does: just after the first "\n" within 1024 characters of the limit, else after the first
// space within 1024 characters, else exactly at the limit.
std::string_view TruncateChars(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return text;  // fewer bytes than the limit: fewer characters
  size_t chars = 0, i = 0;
  while (i < text.size() && chars < max_chars) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
    ++i;
  }
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  if (i >= text.size()) return text;
  size_t limit = i;
  for (char want : {'\n', ' '}) {
    size_t j = limit, extra = 0;
    while (j < text.size() && extra < 1024) {
      if (text[j] == want) return text.substr(0, j + 1);
      if ((static_cast<unsigned char>(text[j]) & 0xC0) != 0x80) ++extra;
      ++j;
    }
  }
  return text.substr(0, limit);
}

// Adds `u` to m->uris unless its url is already there; honours the URI cap.
void AddUriTo(Message* m, absl::flat_hash_set<std::string_view>* seen, size_t max_uris,
              FoundUri&& u, UriSource source) {
  if (u.url.empty() || seen->contains(u.url)) return;
  if (m->uris.size() >= max_uris) {
    m->flags.Set(MessageFlag::kLimitUris);
    return;
  }
  Arena& a = m->arena();
  Uri out;
  out.url = a.Copy(u.url);
  out.raw = u.raw == u.url ? out.url : a.Copy(u.raw);
  out.host = a.Copy(u.host);
  out.host_unicode = u.host_unicode == u.host ? out.host : a.Copy(u.host_unicode);
  out.registered_domain = a.Copy(u.registered_domain);
  out.source = source;
  out.obfuscated = u.obfuscated;
  out.schemeless = u.schemeless;
  if (u.obfuscated) m->flags.Set(MessageFlag::kUrlObfuscated);
  if (u.idn) m->flags.Set(MessageFlag::kIdnHost);
  seen->insert(out.url);
  m->uris.push_back(out);
}

// Splits `body` ("subject\nparagraph\n...") into elements of at most ~2 KB (§2.2 step 9):
// at each "\n" (kept), and a long paragraph just after the last space at or before 2048
// bytes, else at 2048 bytes moved back to a UTF-8 character start.
void SplitBodyElements(std::string_view body, std::vector<std::string_view>* out) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl + 1;
    while (end - pos > kBodyElementBytes + 1) {
      size_t cut = body.rfind(' ', pos + kBodyElementBytes);
      if (cut == std::string_view::npos || cut < pos) {
        cut = pos + kBodyElementBytes;
        while (cut > pos + 1 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
      } else {
        ++cut;  // keep the space with the first chunk
      }
      out->push_back(body.substr(pos, cut - pos));
      pos = cut;
    }
    out->push_back(body.substr(pos, end - pos));
    pos = end;
  }
}

// Sets `body` (a copy of `text`), its elements and the normalised body; the same for email
// and SMS. `scratch` is working space.
void SetBodyFields(Message* m, std::string_view text, std::string* scratch) {
  m->body = m->arena().Copy(text);
  m->body_elements.clear();
  SplitBodyElements(m->body, &m->body_elements);
  scratch->clear();
  NormalizeForMatch(m->body, scratch);
  m->normalized_body = m->arena().Copy(*scratch);
}

// Adds the URLs found in the text of the body elements (Subject included) to m->uris.
void AddTextUris(Message* m, absl::flat_hash_set<std::string_view>* seen, size_t max_uris) {
  std::vector<FoundUri> found;
  for (std::string_view element : m->body_elements) {
    found.clear();
    ExtractUris(element, &found, max_uris);
    for (FoundUri& u : found) AddUriTo(m, seen, max_uris, std::move(u), UriSource::kText);
    if (m->flags.Has(MessageFlag::kLimitUris)) return;
  }
}

std::string& ThreadBuffer(int which) {
  thread_local std::string buffers[2];
  std::string& b = buffers[which];
  if (b.capacity() > (8u << 20)) std::string().swap(b);  // don't pin a huge message's memory
  b.clear();
  return b;
}

class Parser {
 public:
  Parser(Message* m, const ParseOptions& o) : m_(m), o_(o) {
    m_->all_headers.reserve(48);
    m_->parts.reserve(4);
  }

  void Run(std::string_view raw);

 private:
  // Parses a header block at the start of `text`; appends fields to all_headers and returns
  // the offset where the body starts.
  size_t ParseHeaders(std::string_view text);
  void AddHeader(std::string_view name, std::string_view raw);
  std::string_view DecodeHeaderValue(std::string_view name, std::string_view raw);

  // Fills the content fields of parts[index] from its headers, then splits or decodes `body`.
  void ParsePart(int index, std::string_view body);
  void SetContentFields(int index);
  void SplitMultipart(int index, std::string_view body);
  void ParseEmbeddedMessage(int index, std::string_view body);
  void DecodeLeaf(int index, std::string_view body);
  int NewPart(int parent);
  std::string_view LowerCopy(std::string_view s);

  void BuildBody();
  void BuildRawBody();
  void BuildUris();
  void AddUri(FoundUri&& u, UriSource source);

  Message* m_;
  const ParseOptions& o_;
  size_t decoded_total_ = 0;
  absl::flat_hash_set<std::string_view> seen_uris_;
  struct HtmlLinks {
    std::string base;
    std::vector<HtmlLink> links;
  };
  std::vector<HtmlLinks> html_links_;
  // Working buffers are per thread, so their capacity survives from message to message
  // instead of growing from nothing each time.
  std::string& scratch_ = ThreadBuffer(0);
};

int Parser::NewPart(int parent) {
  m_->parts.emplace_back();
  int index = static_cast<int>(m_->parts.size() - 1);
  MimePart& p = m_->parts[index];
  p.parent = parent;
  if (parent >= 0) {
    p.depth = m_->parts[parent].depth + 1;
    m_->parts[parent].children.push_back(index);
  }
  return index;
}

std::string_view Parser::LowerCopy(std::string_view s) {
  if (s.empty()) return {};
  char* p = m_->arena().Allocate(s.size());
  for (size_t i = 0; i < s.size(); ++i) p[i] = absl::ascii_tolower(static_cast<unsigned char>(s[i]));
  return {p, s.size()};
}

void Parser::Run(std::string_view raw) {
  if (raw.size() > o_.max_message_bytes) {
    raw = raw.substr(0, o_.max_message_bytes);
    m_->flags.Set(MessageFlag::kLimitMessageSize);
  }
  std::string_view input = m_->arena().Copy(raw);

  // mbox "From " separator: "From" + whitespace, but not "From:" (§2.1).
  if (input.size() > 5 && input.starts_with("From") && IsWsp(input[4])) {
    size_t nl = input.find('\n');
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    m_->flags.Set(MessageFlag::kMboxFromLine);
  }
  m_->full = input;

  // CRLF mode when the first or the last line ends in CRLF; then the text we parse uses LF.
  std::string_view text = input;
  size_t first_nl = input.find('\n');
  bool crlf = first_nl != std::string_view::npos && first_nl > 0 && input[first_nl - 1] == '\r';
  if (!crlf && input.size() >= 2 && input.ends_with("\r\n")) crlf = true;
  if (crlf) {
    m_->flags.Set(MessageFlag::kCrlf);
    char* p = m_->arena().Allocate(input.size());
    size_t n = 0;
    for (size_t i = 0; i < input.size(); ++i) {
      if (input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n') continue;
      p[n++] = input[i];
    }
    m_->arena().Shrink(p, input.size(), n);
    text = {p, n};
  }

  int root = NewPart(-1);
  m_->parts[root].header_begin = 0;
  size_t body_at = ParseHeaders(text);
  m_->parts[root].header_end = static_cast<uint32_t>(m_->all_headers.size());
  m_->header_count = m_->parts[root].header_end;
  ParsePart(root, text.substr(std::min(body_at, text.size())));

  BuildBody();
  BuildRawBody();
  BuildUris();
}

size_t Parser::ParseHeaders(std::string_view text) {
  size_t pos = 0;
  int malformed = 0;
  size_t kept = 0;
  bool have_current = false;
  std::string_view cur_name;
  size_t cur_raw_begin = 0, cur_raw_end = 0;

  auto flush = [&] {
    if (!have_current) return;
    have_current = false;
    if (kept >= o_.max_headers) {
      m_->flags.Set(MessageFlag::kLimitHeaderCount);
      return;
    }
    ++kept;
    AddHeader(cur_name, text.substr(cur_raw_begin, cur_raw_end - cur_raw_begin));
  };

  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, line_end - pos);
    if (line.empty() || line == "\r") {
      flush();
      return next;
    }
    if (line.starts_with("--")) {  // a boundary where the blank line was forgotten
      flush();
      return pos;
    }
    if (IsWsp(line[0])) {
      if (have_current) {
        cur_raw_end = line_end;
        pos = next;
        continue;
      }
      // A continuation with nothing to continue: malformed, handled below.
    }
    // "name:" where name is printable ASCII without ':' or space, then optional blanks.
    size_t i = 0;
    while (i < line.size() && line[i] > 32 && line[i] < 127 && line[i] != ':') ++i;
    size_t name_end = i;
    while (i < line.size() && IsWsp(line[i])) ++i;
    bool valid = name_end > 0 && i < line.size() && line[i] == ':';
    flush();
    if (!valid) {
      m_->flags.Set(MessageFlag::kMalformedHeader);
      if (++malformed >= 4) return pos;  // the fourth bad line starts the body (§2.1)
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        pos = next;
        continue;
      }
      name_end = colon;
      while (name_end > 0 && IsWsp(line[name_end - 1])) --name_end;
      i = colon;
      if (name_end == 0) {
        pos = next;
        continue;
      }
    }
    have_current = true;
    cur_name = line.substr(0, name_end);
    cur_raw_begin = pos + i + 1;
    cur_raw_end = line_end;
    pos = next;
  }
  flush();
  return text.size();
}

void Parser::AddHeader(std::string_view name, std::string_view raw) {
  if (name.size() > o_.max_header_name_bytes) {
    name = name.substr(0, o_.max_header_name_bytes);
    m_->flags.Set(MessageFlag::kLimitHeaderLength);
  }
  if (raw.size() > o_.max_header_value_bytes) {
    raw = raw.substr(0, o_.max_header_value_bytes);
    m_->flags.Set(MessageFlag::kLimitHeaderLength);
  }
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  m_->all_headers.push_back({name, raw, DecodeHeaderValue(name, raw)});
}

std::string_view Parser::DecodeHeaderValue(std::string_view name, std::string_view raw) {
  // One pass to classify: most values are short plain ASCII and need no copy at all.
  bool folded = std::memchr(raw.data(), '\n', raw.size()) != nullptr;
  bool cr = std::memchr(raw.data(), '\r', raw.size()) != nullptr;
  bool encoded = std::memchr(raw.data(), '=', raw.size()) != nullptr &&
                 raw.find("=?") != std::string_view::npos;
  bool eight_bit = false;
  {
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= raw.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, raw.data() + i, 8);
      acc |= word;
    }
    for (; i < raw.size(); ++i) acc |= static_cast<unsigned char>(raw[i]);
    eight_bit = (acc & 0x8080808080808080ull) != 0;
  }
  encoded = encoded && !SkipsEncodedWords(name);
  if (eight_bit) m_->flags.Set(MessageFlag::kEightBitHeaders);
  if (!folded && !eight_bit && !encoded && !cr) {
    return StripWhitespace(raw);  // the common case: a view, no copy
  }
  // Unfold: a newline and the blanks after it become one space; blanks before it stay.
  std::string unfolded;
  unfolded.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      while (i + 1 < raw.size() && IsWsp(raw[i + 1])) ++i;
      unfolded.push_back(' ');
    } else if (raw[i] != '\r' || (i + 1 < raw.size() && raw[i + 1] == '\n')) {
      if (raw[i] != '\r') unfolded.push_back(raw[i]);
    }
  }
  std::string_view trimmed = StripWhitespace(unfolded);
  scratch_.clear();
  if (encoded) {
    bool bad = false;
    DecodeEncodedWords(trimmed, &scratch_, &bad);
    if (bad) m_->flags.Set(MessageFlag::kEncodedWordError);
  } else if (eight_bit) {
    CharsetResult r = ConvertToUtf8(trimmed, "", &scratch_);
    if (r.replaced) m_->flags.Set(MessageFlag::kInvalidBytesReplaced);
  } else {
    scratch_.assign(trimmed);
  }
  return m_->arena().Copy(scratch_);
}

void Parser::SetContentFields(int index) {
  MimePart& p = m_->parts[index];
  const Header* ct = nullptr;
  const Header* cte = nullptr;
  const Header* cd = nullptr;
  for (uint32_t i = p.header_begin; i < p.header_end; ++i) {
    const Header& h = m_->all_headers[i];
    // The last occurrence of each wins (§2.1).
    if (EqualsIgnoreCase(h.name, "Content-Type")) ct = &h;
    else if (EqualsIgnoreCase(h.name, "Content-Transfer-Encoding")) cte = &h;
    else if (EqualsIgnoreCase(h.name, "Content-Disposition")) cd = &h;
  }
  bool in_digest = p.parent >= 0 && m_->parts[p.parent].content_type == "multipart/digest";
  std::string_view default_type = in_digest ? "message/rfc822" : "text/plain";
  std::string_view filename;
  if (ct != nullptr) {
    ParsedField f = ParseStructuredField(ct->value);
    std::string_view type = f.token;
    size_t slash = type.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= type.size()) {
      p.content_type = default_type;
    } else {
      p.content_type = LowerCopy(type);
    }
    if (const std::string* cs = f.Param("charset")) p.charset = LowerCopy(StripWhitespace(*cs));
    if (const std::string* b = f.Param("boundary")) p.boundary = m_->arena().Copy(*b);
    if (const std::string* n = f.Param("name")) filename = m_->arena().Copy(*n);
  } else {
    p.content_type = default_type;
  }
  if (cte != nullptr) {
    std::string_view v = cte->value;
    size_t semi = v.find_first_of("; \t(");
    p.transfer_encoding = LowerCopy(StripWhitespace(v.substr(0, semi)));
  }
  if (cd != nullptr) {
    ParsedField f = ParseStructuredField(cd->value);
    p.disposition = LowerCopy(f.token);
    if (const std::string* n = f.Param("filename")) filename = m_->arena().Copy(*n);
    else if (const std::string* n2 = f.Param("name")) filename = m_->arena().Copy(*n2);
  }
  p.filename = filename;

  // Effective type, as SpamAssassin renders it (§2.1 "Part types").
  std::string_view t = p.content_type;
  if (t.starts_with("text/") && t != "text/html" && t != "text/x-vcard" && t != "text/calendar") {
    p.effective_type = "text/plain";
  } else {
    p.effective_type = t;
  }
  std::string_view fn = filename;
  auto ends_with_ci = [&](std::string_view suffix) {
    return fn.size() >= suffix.size() && EqualsIgnoreCase(fn.substr(fn.size() - suffix.size()), suffix);
  };
  if (!p.is_multipart() && (ends_with_ci(".htm") || ends_with_ci(".html") || ends_with_ci(".shtml"))) {
    p.effective_type = "text/html";
  }
}

void Parser::ParsePart(int index, std::string_view body) {
  SetContentFields(index);
  MimePart& p = m_->parts[index];
  p.raw_body = body;
  size_t max_depth = std::min(o_.max_depth, kHardMaxDepth);
  std::string_view type = p.content_type;
  bool nested = type == "message/rfc822" || type == "message/global";
  if ((p.is_multipart() || nested) && static_cast<size_t>(p.depth) >= max_depth) {
    m_->flags.Set(MessageFlag::kLimitDepth);
    DecodeLeaf(index, body);
    return;
  }
  if (p.is_multipart()) {
    SplitMultipart(index, body);
  } else if (nested) {
    ParseEmbeddedMessage(index, body);
  } else {
    DecodeLeaf(index, body);
  }
}

// True if `line` is "--boundary" or "--boundary--", followed only by blanks (RFC 2046 §5.1.1).
// Sets *close for the closing form.
bool IsDelimiter(std::string_view line, std::string_view boundary, bool* close) {
  if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') return false;
  if (line.substr(2, boundary.size()) != boundary) return false;
  std::string_view rest = line.substr(2 + boundary.size());
  *close = rest.starts_with("--");
  if (*close) rest.remove_prefix(2);
  for (char c : rest) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void Parser::SplitMultipart(int index, std::string_view body) {
  std::string_view boundary = m_->parts[index].boundary;
  if (boundary.empty()) {
    // No boundary parameter: take the first "--xxx" line as the boundary, as clients that
    // forgot the parameter still wrote one.
    m_->flags.Set(MessageFlag::kMissingBoundary);
    size_t pos = 0;
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      std::string_view line = body.substr(pos, nl == std::string_view::npos ? body.npos : nl - pos);
      if (line.size() > 2 && line.starts_with("--")) {
        std::string_view b = StripWhitespace(line.substr(2));
        if (b.ends_with("--")) b.remove_suffix(2);
        if (!b.empty()) boundary = b;
        break;
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
  }

  // Collect the delimiter lines: [begin, end) of each line, and whether it closes.
  struct Delim {
    size_t begin, end;
    bool close;
  };
  std::vector<Delim> delims;
  if (!boundary.empty()) {
    std::string needle = "--";
    needle.append(boundary);
    size_t pos = 0;
    while ((pos = body.find(needle, pos)) != std::string_view::npos) {
      if (pos == 0 || body[pos - 1] == '\n') {
        size_t nl = body.find('\n', pos);
        size_t end = nl == std::string_view::npos ? body.size() : nl;
        bool close = false;
        if (IsDelimiter(body.substr(pos, end - pos), boundary, &close)) {
          delims.push_back({pos, nl == std::string_view::npos ? end : nl + 1, close});
          if (close) break;
        }
        pos = end;
      } else {
        pos += needle.size();
      }
    }
  }

  if (delims.empty()) {
    // Nothing to split on: keep the whole body as one plain-text child, so its text is still
    // scanned rather than lost.
    m_->flags.Set(MessageFlag::kMissingBoundary);
    if (m_->parts.size() >= o_.max_parts) {
      m_->flags.Set(MessageFlag::kLimitParts);
      return;
    }
    int child = NewPart(index);
    m_->parts[child].header_begin = m_->parts[child].header_end =
        static_cast<uint32_t>(m_->all_headers.size());
    ParsePart(child, body);
    return;
  }
  if (!delims.back().close) m_->flags.Set(MessageFlag::kMissingFinalBoundary);

  for (size_t k = 0; k < delims.size(); ++k) {
    if (delims[k].close) break;
    size_t begin = delims[k].end;
    size_t end = k + 1 < delims.size() ? delims[k + 1].begin : body.size();
    // The line break before a delimiter belongs to the delimiter (§2.1).
    if (k + 1 < delims.size() && end > begin && body[end - 1] == '\n') --end;
    if (end < begin) end = begin;
    if (m_->parts.size() >= o_.max_parts) {
      m_->flags.Set(MessageFlag::kLimitParts);
      return;
    }
    std::string_view chunk = body.substr(begin, end - begin);
    int child = NewPart(index);
    m_->parts[child].header_begin = static_cast<uint32_t>(m_->all_headers.size());
    size_t body_at = ParseHeaders(chunk);
    m_->parts[child].header_end = static_cast<uint32_t>(m_->all_headers.size());
    ParsePart(child, chunk.substr(std::min(body_at, chunk.size())));
  }
}

void Parser::ParseEmbeddedMessage(int index, std::string_view body) {
  // An encoded message/rfc822 is unusual but seen; decode it first so its headers parse.
  DecodeLeaf(index, body);
  if (m_->parts.size() >= o_.max_parts) {
    m_->flags.Set(MessageFlag::kLimitParts);
    return;
  }
  std::string_view inner = m_->parts[index].decoded;
  int child = NewPart(index);
  m_->parts[child].header_begin = static_cast<uint32_t>(m_->all_headers.size());
  size_t body_at = ParseHeaders(inner);
  m_->parts[child].header_end = static_cast<uint32_t>(m_->all_headers.size());
  ParsePart(child, inner.substr(std::min(body_at, inner.size())));
}

void Parser::DecodeLeaf(int index, std::string_view body) {
  MimePart& p = m_->parts[index];
  std::string_view cte = p.transfer_encoding;
  size_t budget = decoded_total_ < o_.max_decoded_bytes ? o_.max_decoded_bytes - decoded_total_ : 0;
  bool truncated = false;
  if (cte == "base64" || cte == "quoted-printable") {
    scratch_.clear();
    // A budget of 0 means "no limit" to the decoders; one byte keeps it a limit.
    size_t max_out = budget == 0 ? 1 : budget;
    TransferDecodeResult r = cte == "base64"
                                 ? DecodeBase64(body, &scratch_, max_out, &truncated)
                                 : DecodeQuotedPrintable(body, &scratch_, max_out, &truncated);
    if (budget == 0) {
      scratch_.clear();
      truncated = !body.empty();
    }
    if (r.malformed) {
      m_->flags.Set(cte == "base64" ? MessageFlag::kBadBase64 : MessageFlag::kBadQuotedPrintable);
    }
    bool texty = p.content_type.starts_with("text/") || p.content_type.starts_with("message/");
    if (cte == "base64" && texty) {
      // SpamAssassin turns CRLF into LF in decoded base64 text (§2.1 "Transfer decoding").
      size_t n = 0;
      for (size_t i = 0; i < scratch_.size(); ++i) {
        if (scratch_[i] == '\r' && i + 1 < scratch_.size() && scratch_[i + 1] == '\n') continue;
        scratch_[n++] = scratch_[i];
      }
      scratch_.resize(n);
    }
    p.decoded = m_->arena().Copy(scratch_);
  } else {
    if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary" && cte != "7-bit" &&
        cte != "8-bit") {
      m_->flags.Set(MessageFlag::kUnknownEncoding);
    }
    if (body.size() > budget) {
      body = body.substr(0, budget);
      truncated = true;
    }
    p.decoded = body;  // identity encodings: a view, no copy
  }
  if (truncated) m_->flags.Set(MessageFlag::kLimitDecodedSize);
  decoded_total_ += p.decoded.size();

  std::string_view et = p.effective_type;
  if (et != "text/plain" && et != "text/html") return;
  if (!p.children.empty()) return;
  scratch_.clear();
  CharsetResult cr = ConvertToUtf8(p.decoded, p.charset, &scratch_);
  if (cr.unknown_charset) m_->flags.Set(MessageFlag::kUnknownCharset);
  if (cr.guessed) m_->flags.Set(MessageFlag::kCharsetGuessed);
  if (cr.replaced) m_->flags.Set(MessageFlag::kInvalidBytesReplaced);
  if (et == "text/html" && !scratch_.empty()) {
    HtmlResult html;
    RenderHtml(scratch_, &html);
    if (html.invisible_text) m_->flags.Set(MessageFlag::kHtmlInvisibleText);
    if (html.tiny_font) m_->flags.Set(MessageFlag::kHtmlTinyFont);
    if (html.color_match) m_->flags.Set(MessageFlag::kHtmlColorMatch);
    html_links_.push_back({std::move(html.base), std::move(html.links)});
    m_->parts[index].text = m_->arena().Copy(TruncateChars(html.text, o_.body_part_scan_chars));
  } else {
    m_->parts[index].text = m_->arena().Copy(TruncateChars(scratch_, o_.body_part_scan_chars));
  }
}

void Parser::BuildBody() {
  std::string& text = ThreadBuffer(1);
  const Header* subject = m_->LastHeader("Subject");
  if (subject != nullptr) text.append(subject->value);
  text.push_back('\n');
  WhitespaceCollapser ws(&text);
  bool any = false;
  for (const MimePart& p : m_->parts) {
    if (!p.is_leaf()) continue;
    if (any) ws.Append("\n");  // every leaf, text or not, starts on a new line (§2.2 step 2)
    if (!p.text.empty()) {
      ws.Append(p.text);
      any = true;
    }
  }
  ws.Finish();
  SetBodyFields(m_, text, &scratch_);
}

void Parser::BuildRawBody() {
  for (const MimePart& p : m_->parts) {
    if (!p.is_leaf()) continue;
    std::string_view t = p.effective_type;
    if (!(t.starts_with("text") || t.starts_with("message")) || t == "text/calendar") continue;
    std::string_view d = p.decoded;
    if (d.size() > o_.rawbody_part_scan_bytes) {
      // Cut after "\n", else ">", else " " within 1 KB of the limit; else a hard cut.
      size_t limit = o_.rawbody_part_scan_bytes, cut = limit;
      for (char want : {'\n', '>', ' '}) {
        size_t j = d.find(want, limit);
        if (j != std::string_view::npos && j - limit < 1024) {
          cut = j + 1;
          break;
        }
      }
      d = d.substr(0, cut);
    }
    if (d.size() <= kRawChunkMin) {
      if (!d.empty()) m_->rawbody_elements.push_back(d);
      continue;
    }
    size_t o = 0;
    while (d.size() - o > kRawChunkMax) {
      size_t end = std::string_view::npos;
      for (char want : {'\n', '>', ' '}) {
        size_t j = d.find(want, o + kRawChunkMin);
        if (j != std::string_view::npos && j + 1 - o <= kRawChunkMax) {
          end = j + 1;
          break;
        }
      }
      if (end == std::string_view::npos) end = o + kRawChunkMin + 1;
      m_->rawbody_elements.push_back(d.substr(o, end - o));
      o = end;
    }
    m_->rawbody_elements.push_back(d.substr(o));
  }
}

void Parser::AddUri(FoundUri&& u, UriSource source) {
  AddUriTo(m_, &seen_uris_, o_.max_uris, std::move(u), source);
}

void Parser::BuildUris() {
  AddTextUris(m_, &seen_uris_, o_.max_uris);
  if (m_->flags.Has(MessageFlag::kLimitUris)) return;
  for (HtmlLinks& part : html_links_) {
    for (HtmlLink& link : part.links) {
      std::optional<FoundUri> u = CanonicalizeUri(link.url, part.base);
      if (u.has_value()) AddUri(std::move(*u), link.source);
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Message>> ParseMessage(std::string_view raw,
                                                      const ParseOptions& options) {
  if (options.max_message_bytes == 0 || options.max_headers == 0 || options.max_parts == 0 ||
      options.max_header_name_bytes == 0 || options.max_header_value_bytes == 0 ||
      options.body_part_scan_chars == 0 || options.rawbody_part_scan_bytes == 0) {
    return absl::InvalidArgumentError("ParseOptions: limits must be positive");
  }
  auto message = std::make_unique<Message>();
  message->channel = Channel::kEmail;
  Parser parser(message.get(), options);
  parser.Run(raw);
  return message;
}

void FinishPlainTextMessage(Message* m, const ParseOptions& options) {
  // Per-thread working space: this runs once per SMS, where allocations were a visible cost.
  std::string& text = ThreadBuffer(1);
  text.push_back('\n');
  WhitespaceCollapser ws(&text);
  ws.Append(TruncateChars(m->sms.text, options.body_part_scan_chars));
  ws.Finish();
  SetBodyFields(m, text, &ThreadBuffer(0));
  m->uris.clear();
  absl::flat_hash_set<std::string_view> seen;
  AddTextUris(m, &seen, options.max_uris);
}

}  // namespace veto::email
