#include "rules/header_values.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/strings.h"

namespace veto::rules {
namespace {

constexpr size_t kAllCap = 64 * 1024;  // `ALL` is capped at 64 KB (§3.3)

bool IsXSpam(std::string_view name) {
  return name.size() >= 7 && EqualsIgnoreCase(name.substr(0, 7), "X-Spam-");
}

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  bool ws = false;
  for (char c : s) {
    if (IsAsciiSpace(c)) {
      ws = true;
      continue;
    }
    if (ws && !out.empty()) out.push_back(' ');
    ws = false;
    out.push_back(c);
  }
  return out;
}

// Raw values keep folds; SpamAssassin's :raw value also keeps the leading space and ends in
// "\n" (§3.2).
std::string RawValue(const Header& h) { return Cat(h.raw, "\n"); }

std::string UnfoldedRaw(const Header& h) {
  std::string out;
  for (size_t i = 0; i < h.raw.size(); ++i) {
    if (h.raw[i] == '\n') {
      while (i + 1 < h.raw.size() && (h.raw[i + 1] == ' ' || h.raw[i + 1] == '\t')) ++i;
      out.push_back(' ');
    } else {
      out.push_back(h.raw[i]);
    }
  }
  return Cat(out, "\n");
}

std::vector<const Header*> Named(const Message& m, std::string_view name) {
  if (IsXSpam(name)) return {};  // deleted before the checks (§3.7)
  return m.GetHeaders(name);
}

// The first host-looking token: after an '@' first, then anywhere (§3.4).
std::string FindHost(std::string_view v) {
  auto host_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  };
  auto scan = [&](size_t from) -> std::string {
    size_t b = from;
    while (b < v.size() && host_char(v[b])) ++b;
    std::string_view h = v.substr(from, b - from);
    while (!h.empty() && h.back() == '.') h.remove_suffix(1);
    if (h.find('.') == std::string_view::npos) return "";
    return AsciiLower(h);
  };
  size_t at = v.find('@');
  if (at != std::string_view::npos) {
    std::string h = scan(at + 1);
    if (!h.empty()) return h;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (host_char(v[i]) && (i == 0 || !host_char(v[i - 1]))) {
      std::string h = scan(i);
      if (!h.empty() && std::isalpha(static_cast<unsigned char>(h.back()))) return h;
    }
  }
  return "";
}

// Registrable domain without a public-suffix list (rules/ may not use email/'s libpsl code):
// the last two labels, or three when the second-level label is a common generic one
// (co.uk, com.au, ...). Good enough for :domain, which the stock rules barely use.
std::string Domain(std::string_view host) {
  std::vector<std::string_view> labels;
  size_t pos = 0;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string_view::npos) dot = host.size();
    labels.push_back(host.substr(pos, dot - pos));
    pos = dot + 1;
  }
  if (labels.size() <= 2) return std::string(host);
  std::string_view second = labels[labels.size() - 2];
  static constexpr std::string_view kGeneric[] = {"co", "com", "net", "org", "ac", "gov",
                                                  "edu", "ne", "or", "go"};
  size_t keep = 2;
  if (labels.back().size() == 2 &&
      std::find(std::begin(kGeneric), std::end(kGeneric), second) != std::end(kGeneric))
    keep = 3;
  keep = std::min(keep, labels.size());
  std::string out;
  for (size_t i = labels.size() - keep; i < labels.size(); ++i) {
    if (!out.empty()) out.push_back('.');
    out.append(labels[i]);
  }
  return out;
}

std::string FindIp(std::string_view v, bool reverse) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i])) ||
        (i > 0 && (std::isalnum(static_cast<unsigned char>(v[i - 1])) || v[i - 1] == '.')))
      continue;
    int parts[4];
    size_t j = i;
    int n = 0;
    for (; n < 4; ++n) {
      size_t b = j;
      int val = 0;
      while (j < v.size() && std::isdigit(static_cast<unsigned char>(v[j])) && j - b < 3)
        val = val * 10 + (v[j++] - '0');
      if (j == b || val > 255) break;
      parts[n] = val;
      if (n < 3) {
        if (j >= v.size() || v[j] != '.') break;
        ++j;
      }
    }
    if (n == 4 && (j >= v.size() || !std::isdigit(static_cast<unsigned char>(v[j])))) {
      if (reverse) return Cat(parts[3], ".", parts[2], ".", parts[1], ".", parts[0]);
      return Cat(parts[0], ".", parts[1], ".", parts[2], ".", parts[3]);
    }
  }
  return "";
}

}  // namespace

namespace {

// A bare address ("a@example.com", an SMS sender "+447700900123"): no separators, quotes,
// comments, brackets or inner spaces, so ParseAddressList's general path would return exactly
// it (trimmed) as the one address, without a display name. The common case (every SMS).
constexpr std::array<bool, 256> kNotBare = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {',', ';', '"', '(', ')', '<', '>', ':', '\\', ' ', '\t', '\n', '\r',
                          '\f', '\v'}) {
    t[c] = true;
  }
  return t;
}();

bool IsBareAddress(std::string_view value, std::string_view* bare) {
  *bare = StripWhitespace(value);
  for (char c : *bare) {
    if (kNotBare[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace

std::vector<ParsedAddress> ParseAddressList(std::string_view value) {
  std::vector<ParsedAddress> out;
  if (std::string_view bare; IsBareAddress(value, &bare)) {
    if (!bare.empty()) out.push_back({std::string(bare), std::string()});
    return out;
  }
  // Split at commas outside quotes, angle brackets and comments.
  std::vector<std::string_view> items;
  int angle = 0, paren = 0;
  bool quote = false;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    char c = i < value.size() ? value[i] : ',';
    if (quote) {
      if (c == '\\') ++i;
      else if (c == '"') quote = false;
      continue;
    }
    if (c == '"') quote = true;
    else if (c == '(') ++paren;
    else if (c == ')' && paren > 0) --paren;
    else if (c == '<') ++angle;
    else if (c == '>' && angle > 0) --angle;
    else if ((c == ',' || c == ';') && angle == 0 && paren == 0) {
      items.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  for (std::string_view item : items) {
    item = StripWhitespace(item);
    if (item.empty()) continue;
    // Group syntax ("undisclosed-recipients:") yields nothing (§3.4).
    size_t colon = item.find(':');
    size_t lt = item.find('<');
    size_t at = item.find('@');
    if (colon != std::string_view::npos && (lt == std::string_view::npos || colon < lt) &&
        (at == std::string_view::npos || colon < at)) {
      std::string_view rest = StripWhitespace(item.substr(colon + 1));
      if (rest.empty()) continue;
      item = rest;
      lt = item.find('<');
    }
    ParsedAddress a;
    std::string comment;
    auto strip_comments = [&](std::string_view s) {
      std::string r;
      int depth = 0;
      for (char c : s) {
        if (c == '(') {
          if (depth++ == 0) continue;
        } else if (c == ')' && depth > 0) {
          if (--depth == 0) continue;
        }
        if (depth > 0) comment.push_back(c);
        else r.push_back(c);
      }
      return r;
    };
    if (lt != std::string_view::npos) {
      size_t gt = item.find('>', lt);
      std::string_view addr = item.substr(lt + 1, gt == std::string_view::npos ? gt : gt - lt - 1);
      a.address = std::string(StripWhitespace(addr));
      std::string name = strip_comments(item.substr(0, lt));
      name = CollapseWhitespace(name);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
        name = name.substr(1, name.size() - 2);
      a.name = name;
    } else {
      a.address = CollapseWhitespace(strip_comments(item));
      a.name = CollapseWhitespace(comment);
    }
    if (a.name.size() >= 2 && a.name.front() == '\'' && a.name.back() == '\'')
      a.name = a.name.substr(1, a.name.size() - 2);
    if (a.address.empty() && a.name.empty()) continue;
    out.push_back(std::move(a));
  }
  return out;
}

std::string HeaderTargetKey(const HeaderSpec& s) {
  std::string key = s.name;
  if (s.name != "ALL" && s.name != "MESSAGEID") key = AsciiLower(key);
  for (auto [on, mod] : {std::pair{s.first, ":first"}, {s.last, ":last"}, {s.raw, ":raw"},
                         {s.addr, ":addr"}, {s.display_name, ":name"}, {s.host, ":host"},
                         {s.domain, ":domain"}, {s.ip, ":ip"}, {s.revip, ":revip"}}) {
    if (on) key += mod;
  }
  if (s.has_if_unset) key += Cat("[if-unset:", s.if_unset, "]");
  return key;
}

std::string HeaderTarget(const Message& m, const HeaderSpec& spec, bool* present) {
  std::vector<std::string> values;
  bool newline_terminated = true;
  // A view: == against a literal then checks the length first (std::string == const char*
  // measures and compares the literal each time; this runs for every header group of every
  // message).
  const std::string_view name = spec.name;
  if (name == "ALL") {
    std::string all;
    for (const Header& h : m.Headers()) {
      if (spec.raw) {
        all += Cat(h.name, ":", h.raw, "\n");
      } else if (!IsXSpam(h.name)) {
        all += Cat(h.name, ": ", h.value, "\n");
      }
      if (all.size() >= kAllCap) {
        all.resize(kAllCap);
        break;
      }
    }
    *present = !all.empty();
    return all;
  }
  if (EqualsIgnoreCase(name, "X-Veto-Channel")) {
    // veto's own pseudo-header: "email" or "sms", so a rule can be limited to one channel.
    *present = true;
    return m.channel == Channel::kSms ? "sms\n" : "email\n";
  }
  if (EqualsIgnoreCase(name, "X-Veto-Flags")) {
    // veto's own pseudo-header: the normaliser's flags, so rules can use them.
    if (m.flags.empty()) {
      *present = false;
      return spec.has_if_unset ? spec.if_unset : std::string();
    }
    std::vector<std::string_view> flags = m.flags.Names();
    *present = !flags.empty();
    if (flags.empty()) return spec.has_if_unset ? spec.if_unset : std::string();
    return Cat(Join(flags, " "), "\n");
  }
  std::vector<const Header*> hs;
  if (name == "MESSAGEID") {
    for (const char* n : {"X-Message-Id", "Resent-Message-Id", "X-Original-Message-ID",
                          "Message-Id"}) {
      for (const Header* h : Named(m, n)) {
        if (!h->value.empty()) hs.push_back(h);
      }
    }
  } else if (EqualsIgnoreCase(name, "ToCc")) {
    hs = Named(m, "To");
    for (const Header* h : Named(m, "Cc")) hs.push_back(h);
  } else if (EqualsIgnoreCase(name, "EnvelopeFrom")) {
    // The MTA's envelope sender when we have it, else the headers SpamAssassin falls back
    // to (§3.3). No trailing newline.
    std::string from = m.envelope.mail_from;
    if (from.empty()) {
      for (const char* n : {"X-Envelope-From", "Envelope-Sender", "Return-Path"}) {
        std::vector<const Header*> v = Named(m, n);
        if (v.empty()) continue;
        std::vector<ParsedAddress> a = ParseAddressList(v.front()->raw);
        if (!a.empty()) from = a.front().address;
        break;
      }
    }
    *present = !from.empty();
    if (!*present && spec.has_if_unset) return spec.if_unset;
    return from;
  } else {
    // The common case without temporaries: an ordinary header, its decoded value or its
    // bare :addr, present at most once (SMS From/To; Subject, Date, ... of most mail). Gives
    // what the general code below gives.
    if (!spec.raw && !spec.display_name && !spec.host && !spec.domain && !spec.ip &&
        !spec.revip && !IsXSpam(name)) {
      const Header* only = nullptr;
      int count = 0;
      const uint32_t end = m.parts.empty() ? static_cast<uint32_t>(m.all_headers.size())
                                           : m.parts[0].header_end;
      for (uint32_t i = 0; i < end && count < 2; ++i) {
        if (EqualsIgnoreCase(m.all_headers[i].name, name)) {
          only = &m.all_headers[i];
          ++count;
        }
      }
      std::string_view bare;
      if (count == 0 || (count == 1 && (!spec.addr || IsBareAddress(only->raw, &bare)))) {
        if (count == 1 && !spec.addr) {
          *present = true;
          return Cat(only->value, "\n");
        }
        if (count == 1 && !bare.empty()) {
          *present = true;
          return std::string(bare);
        }
        *present = false;
        return spec.has_if_unset ? spec.if_unset : std::string();
      }
    }
    hs = Named(m, name);
  }
  if (!hs.empty() && (spec.first || spec.last)) {
    const Header* keep = spec.first ? hs.front() : hs.back();
    hs.assign(1, keep);
  }

  if (spec.addr || spec.display_name) {
    newline_terminated = false;
    for (const Header* h : hs) {
      // :addr parses the raw value; :name wants decoded display names.
      for (const ParsedAddress& a : ParseAddressList(spec.addr || spec.raw ? h->raw : h->value)) {
        if (spec.addr && !a.address.empty()) values.push_back(a.address);
        if (spec.display_name && !a.name.empty()) values.push_back(a.name);
      }
    }
  } else {
    for (const Header* h : hs) {
      bool unfold_raw = EqualsIgnoreCase(name, "ToCc") || name == "MESSAGEID";
      values.push_back(spec.raw ? (unfold_raw ? UnfoldedRaw(*h) : RawValue(*h))
                                : Cat(h->value, "\n"));
    }
  }
  if (spec.host || spec.domain || spec.ip || spec.revip) {
    std::vector<std::string> derived;
    for (const std::string& v : values) {
      std::string d;
      if (spec.ip || spec.revip) {
        d = FindIp(v, spec.revip);
      } else {
        d = spec.addr ? AsciiLower(v.substr(v.rfind('@') == std::string::npos
                                                            ? 0
                                                            : v.rfind('@') + 1))
                      : FindHost(v);
        if (spec.domain && !d.empty()) d = Domain(d);
      }
      if (!d.empty()) derived.push_back(std::move(d));
    }
    values = std::move(derived);
    newline_terminated = false;
  }
  *present = !values.empty();
  if (values.empty()) return spec.has_if_unset ? spec.if_unset : std::string();
  if (newline_terminated) return Join(values, "");
  return Join(values, "\n");
}

std::vector<std::string> MimeHeaderTargets(const Message& m, const HeaderSpec& spec) {
  std::vector<std::string> out;
  for (const MimePart& p : m.parts) {
    const Header* last = nullptr;
    for (uint32_t i = p.header_begin; i < p.header_end && i < m.all_headers.size(); ++i) {
      if (EqualsIgnoreCase(m.all_headers[i].name, spec.name)) last = &m.all_headers[i];
    }
    if (last == nullptr) {
      out.push_back(spec.if_unset);
    } else if (spec.raw) {
      out.push_back(std::string(StripWhitespace(last->raw)));
    } else {
      out.push_back(Cat(last->value, "\n"));
    }
  }
  return out;
}

}  // namespace veto::rules
