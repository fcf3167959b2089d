#include "policy/identity.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "core/message.h"
#include "core/strings.h"

namespace veto::policy {
namespace {

absl::Status Invalid(std::string_view what, std::string_view raw) {
  return absl::InvalidArgumentError(Cat(what, " ", Got(raw)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool IsSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t';
}

// Drops separators and an "(0)" trunk hint; keeps everything else for the caller to check.
std::string StripSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "(0)" && !out.empty()) {
      i += 2;
      continue;
    }
    if (!IsSeparator(s[i])) out.push_back(s[i]);
  }
  return out;
}

// Turns "+CC…" / "00CC…" / national digits into "+digits" without checking the digits.
bool ToInternational(std::string_view s, std::string_view default_cc, std::string* out) {
  if (s.starts_with('+')) {
    out->assign(s);
    return true;
  }
  if (s.starts_with("00")) {
    *out = Cat('+', s.substr(2));
    return true;
  }
  if (default_cc.empty()) return false;
  if (s.starts_with('0')) s.remove_prefix(1);
  *out = Cat('+', default_cc, s);
  return true;
}

bool ValidE164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  return AllDigits(s.substr(1));
}

bool ValidLabelChar(char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '_'; }

bool ValidAsciiDomain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!ValidLabelChar(c)) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool HasNonAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

bool IdnToAscii(std::string_view in, std::string* out) {
  std::string z(in);
  if (z.find('\0') != std::string::npos) return false;
  for (int flags : {IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT, IDN2_TRANSITIONAL | IDN2_NFC_INPUT}) {
    char* res = nullptr;
    if (idn2_to_ascii_8z(z.c_str(), &res, flags) == IDN2_OK && res != nullptr) {
      out->assign(res);
      idn2_free(res);
      return true;
    }
    idn2_free(res);
  }
  return false;
}

constexpr std::array<std::string_view, kIdentityKindCount> kListNames = {
    "addresses", "domains", "ips", "helos", "msisdns", "short_codes", "sender_ids"};

}  // namespace

std::string EscapeForError(std::string_view v) {
  constexpr size_t kMax = 80;
  std::string out;
  const std::string_view s = v.substr(0, kMax);
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Copy a well-formed UTF-8 sequence; escape anything else byte by byte.
      const size_t need = c >= 0xf0 && c <= 0xf4  ? 3
                          : c >= 0xe0             ? 2
                          : c >= 0xc2 && c < 0xe0 ? 1
                                                  : 0;
      bool ok = need > 0 && i + need < s.size();
      for (size_t k = 1; ok && k <= need; ++k) {
        ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      }
      if (ok) {
        out.append(s.substr(i, need + 1));
        i += need;
      } else {
        out += absl::StrFormat("\\x%02x", c);
      }
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(s[i]);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out.push_back(s[i]);
    }
  }
  if (v.size() > kMax) out += "...";
  return out;
}

std::string Got(std::string_view v) { return Cat("(got \"", EscapeForError(v), "\")"); }

// --------------------------------------------------------------------------------------------

absl::StatusOr<std::string> NormalizeMsisdn(std::string_view raw,
                                            std::string_view default_country_code) {
  std::string out;
  const std::string stripped = StripSeparators(StripWhitespace(raw));
  if (!AllDigits(default_country_code) && !default_country_code.empty()) {
    return Invalid("not a country code", default_country_code);
  }
  if (!ToInternational(stripped, default_country_code, &out) || !ValidE164(out)) {
    return Invalid("not an E.164 MSISDN", raw);
  }
  return out;
}

absl::StatusOr<std::string> NormalizeMsisdnPattern(std::string_view raw) {
  std::string s = StripSeparators(StripWhitespace(raw));
  if (s.starts_with("00")) s = Cat('+', std::string_view(s).substr(2));
  bool prefix = false;
  if (s.ends_with('*')) {
    prefix = true;
    s.pop_back();
  }
  const size_t digits = s.size() - (s.empty() ? 0 : 1);
  bool ok = s.size() >= 2 && s[0] == '+' && s[1] != '0' && digits <= 15 &&
            (prefix ? digits >= 1 : digits >= 7);
  for (size_t i = 1; ok && i < s.size(); ++i) ok = IsDigit(s[i]) || s[i] == '?';
  if (!ok) return Invalid("not an MSISDN pattern", raw);
  if (prefix) s.push_back('*');
  return s;
}

bool MsisdnPatternMatches(std::string_view pattern, std::string_view msisdn) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const char p = pattern[i];
    if (p == '*') return true;
    if (i >= msisdn.size()) return false;
    if (p == '?' ? !IsDigit(msisdn[i]) : p != msisdn[i]) return false;
  }
  return i == msisdn.size();
}

absl::StatusOr<std::string> NormalizeShortCode(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  if (s.size() < 3 || s.size() > 8 || !AllDigits(s)) return Invalid("not a short code", raw);
  return std::string(s);
}

absl::StatusOr<std::string> NormalizeSenderId(std::string_view raw, bool allow_prefix) {
  std::string_view s = StripWhitespace(raw);
  bool prefix = false;
  if (allow_prefix && s.ends_with('*')) {
    prefix = true;
    s.remove_suffix(1);
  }
  bool letter = false;
  bool ok = !s.empty() && s.size() <= 11;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || c == '*') ok = false;
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) letter = true;
  }
  if (!ok || !letter) return Invalid("not an alphanumeric sender ID", raw);
  std::string out = AsciiLower(s);
  if (prefix) out.push_back('*');
  return out;
}

SmsSenderKind ClassifySmsSender(std::string_view raw, std::string* out) {
  std::string_view s = StripWhitespace(raw);
  out->clear();
  if (s.empty()) return SmsSenderKind::kInvalid;
  if (s[0] == '+' && ValidE164(s)) {  // the common, already normalised case: no copy work
    out->assign(s);
    return SmsSenderKind::kMsisdn;
  }
  if (AllDigits(s)) {
    if (s.size() >= 3 && s.size() <= 8) {
      out->assign(s);
      return SmsSenderKind::kShortCode;
    }
    // International number without its '+' (some feeds drop it) or with a 00 prefix.
    *out = Cat('+', s.starts_with("00") ? s.substr(2) : s);
    if (ValidE164(*out)) return SmsSenderKind::kMsisdn;
    out->clear();
    return SmsSenderKind::kInvalid;
  }
  if (s[0] == '+') {
    absl::StatusOr<std::string> m = NormalizeMsisdn(s);
    if (m.ok()) {
      *out = *std::move(m);
      return SmsSenderKind::kMsisdn;
    }
    return SmsSenderKind::kInvalid;
  }
  bool letter = false;
  if (s.size() > 11) return SmsSenderKind::kInvalid;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return SmsSenderKind::kInvalid;
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) letter = true;
  }
  if (!letter) return SmsSenderKind::kInvalid;
  out->assign(s);
  AsciiLowerInPlace(*out);
  return SmsSenderKind::kAlphanumeric;
}

// --------------------------------------------------------------------------------------------

absl::StatusOr<std::string> NormalizeDomain(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  if (s.ends_with('.')) s.remove_suffix(1);
  std::string out;
  if (HasNonAscii(s)) {
    if (!IdnToAscii(s, &out)) return Invalid("not a domain", raw);
  } else {
    out.assign(s);
  }
  AsciiLowerInPlace(out);
  if (!ValidAsciiDomain(out)) return Invalid("not a domain", raw);
  return out;
}

absl::StatusOr<std::string> NormalizeAddress(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.size() > 254) {
    return Invalid("not an email address", raw);
  }
  std::string_view local = s.substr(0, at);
  for (char c : local) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == 0x7f) {
      return Invalid("not an email address", raw);
    }
  }
  absl::StatusOr<std::string> domain = NormalizeDomain(s.substr(at + 1));
  if (!domain.ok() || s.substr(at + 1).ends_with('.')) return Invalid("not an email address", raw);
  std::string out(local);
  AsciiLowerInPlace(out);
  out.push_back('@');
  out.append(*domain);
  return out;
}

absl::StatusOr<std::string> NormalizeHelo(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  if (s.starts_with('[')) {
    if (!s.ends_with(']') || !ParseIp(s).has_value()) return Invalid("not a HELO name", raw);
    return AsciiLower(s);
  }
  absl::StatusOr<std::string> d = NormalizeDomain(s);
  if (!d.ok()) return Invalid("not a HELO name", raw);
  return d;
}

std::string& AsciiLowerInPlace(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  return s;
}

std::string_view ExtractAddress(std::string_view v) {
  const size_t close = v.rfind('>');
  if (close != std::string_view::npos) {
    const size_t open = v.rfind('<', close);
    if (open != std::string_view::npos)
      return StripWhitespace(v.substr(open + 1, close - open - 1));
  }
  return StripWhitespace(v);
}

std::string_view AddressDomain(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// --------------------------------------------------------------------------------------------

std::optional<IpAddress> ParseIp(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.size() > 5 && EqualsIgnoreCase(s.substr(0, 5), "ipv6:")) s.remove_prefix(5);
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddress ip;
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    std::memcpy(&ip.bytes[12], v4, 4);
    ip.is_v4 = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  ip.is_v4 = std::memcmp(ip.bytes.data(), kMapped, 12) == 0;
  return ip;
}

IpAddress MaskIp(const IpAddress& ip, int bits) {
  IpAddress out = ip;
  for (int i = 0; i < 16; ++i) {
    const int keep = bits - i * 8;
    if (keep >= 8) continue;
    out.bytes[i] = keep <= 0 ? 0 : static_cast<uint8_t>(out.bytes[i] & (0xff << (8 - keep)));
  }
  return out;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.is_v4 != base.is_v4) return false;
  const int bits = base.is_v4 ? 96 + prefix_len : prefix_len;
  return MaskIp(ip, bits).bytes == base.bytes;
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (base.is_v4) {
    inet_ntop(AF_INET, &base.bytes[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, base.bytes.data(), buf, sizeof buf);
  }
  std::string out = buf;
  if (prefix_len < (base.is_v4 ? 32 : 128)) out += Cat("/", prefix_len);
  return out;
}

absl::StatusOr<Cidr> ParseCidr(std::string_view raw) {
  std::string_view s = StripWhitespace(raw);
  const size_t slash = s.find('/');
  std::optional<IpAddress> ip = ParseIp(s.substr(0, slash));
  if (!ip.has_value()) return Invalid("not an IP address or CIDR block", raw);
  Cidr c;
  c.base = *ip;
  const int max = ip->is_v4 ? 32 : 128;
  c.prefix_len = max;
  if (slash != std::string_view::npos) {
    std::string_view len = s.substr(slash + 1);
    if (len.empty() || len.size() > 3 || !AllDigits(len)) {
      return Invalid("not an IP address or CIDR block", raw);
    }
    c.prefix_len = std::stoi(std::string(len));
    if (c.prefix_len > max) return Invalid("not an IP address or CIDR block", raw);
  }
  const IpAddress masked = MaskIp(c.base, ip->is_v4 ? 96 + c.prefix_len : c.prefix_len);
  if (masked.bytes != c.base.bytes) {
    Cidr fixed = c;
    fixed.base = masked;
    return absl::InvalidArgumentError(Cat("CIDR block has host bits set (got \"",
                                          EscapeForError(raw), "\", expected \"", fixed.ToString(),
                                          "\")"));
  }
  return c;
}

// --------------------------------------------------------------------------------------------

std::string_view IdentityKindListName(IdentityKind kind) {
  const auto i = static_cast<size_t>(kind);
  return i < kListNames.size() ? kListNames[i] : std::string_view("unknown");
}

absl::StatusOr<std::string> NormalizeIdentity(IdentityKind kind, std::string_view raw) {
  switch (kind) {
    case IdentityKind::kAddress:
      return NormalizeAddress(raw);
    case IdentityKind::kDomain:
      return NormalizeDomain(raw);
    case IdentityKind::kHelo:
      return NormalizeHelo(raw);
    case IdentityKind::kMsisdn:
      return NormalizeMsisdnPattern(raw);
    case IdentityKind::kShortCode:
      return NormalizeShortCode(raw);
    case IdentityKind::kSenderId:
      return NormalizeSenderId(raw, /*allow_prefix=*/true);
    case IdentityKind::kIp: {
      absl::StatusOr<Cidr> c = ParseCidr(raw);
      if (!c.ok()) return c.status();
      return c->ToString();
    }
  }
  return absl::InvalidArgumentError("unknown identity kind");
}

absl::StatusOr<IdentityEntry> ParseIdentityEntry(std::string_view raw) {
  static constexpr std::pair<std::string_view, IdentityKind> kPrefixes[] = {
      {"addr:", IdentityKind::kAddress},   {"domain:", IdentityKind::kDomain},
      {"ip:", IdentityKind::kIp},          {"helo:", IdentityKind::kHelo},
      {"msisdn:", IdentityKind::kMsisdn},  {"short:", IdentityKind::kShortCode},
      {"alpha:", IdentityKind::kSenderId},
  };
  std::string_view s = StripWhitespace(raw);
  IdentityEntry e;
  bool typed = false;
  for (const auto& [prefix, kind] : kPrefixes) {
    if (s.starts_with(prefix)) {
      e.kind = kind;
      s.remove_prefix(prefix.size());
      typed = true;
      break;
    }
  }
  if (!typed) {
    if (s.starts_with('+')) {
      e.kind = IdentityKind::kMsisdn;
    } else if (s.find('@') != std::string_view::npos) {
      e.kind = IdentityKind::kAddress;
    } else if (AllDigits(s)) {
      if (s.size() > 8)
        return Invalid("not a list entry: a phone number needs a leading \"+\"", raw);
      e.kind = IdentityKind::kShortCode;
    } else if (ParseCidr(s).ok()) {
      e.kind = IdentityKind::kIp;
    } else if (s.find('.') != std::string_view::npos) {
      e.kind = IdentityKind::kDomain;
    } else {
      e.kind = IdentityKind::kSenderId;
    }
  }
  absl::StatusOr<std::string> v = NormalizeIdentity(e.kind, s);
  if (!v.ok()) return v.status();
  e.value = *std::move(v);
  return e;
}

}  // namespace veto::policy
