#include "mobile/sms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/strings.h"
#include "policy/identity.h"

namespace veto::mobile {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

absl::Status BadTime(std::string_view s) {
  std::string shown(s.substr(0, 64));
  return absl::InvalidArgumentError(
      Cat("bad time \"", shown,
          "\" (expected Unix seconds or YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM])"));
}

}  // namespace

std::string_view LabelName(Label l) {
  switch (l) {
    case Label::kHam: return "ham";
    case Label::kSpam: return "spam";
    case Label::kNone: break;
  }
  return "";
}

absl::StatusOr<Label> ParseLabel(std::string_view s) {
  // The usual spellings first (fixed-size compares), then the general path.
  if (s.size() == 4 && std::memcmp(s.data(), "spam", 4) == 0) return Label::kSpam;
  if (s.size() == 3 && std::memcmp(s.data(), "ham", 3) == 0) return Label::kHam;
  s = StripWhitespace(s);
  if (s.empty()) return Label::kNone;
  if (s.size() <= 5) {
    const std::string l = AsciiLower(s);
    if (l == "spam" || l == "1" || l == "true") return Label::kSpam;
    if (l == "ham" || l == "0" || l == "false") return Label::kHam;
  }
  return absl::InvalidArgumentError(
      Cat("unknown label \"", s.substr(0, 32), "\" (expected spam or ham)"));
}

std::vector<std::string_view> SmsFlagNames(uint32_t flags) {
  static constexpr std::string_view kNames[] = {"replaced_chars",    "bad_udh",
                                                "incomplete",        "invalid_sender",
                                                "invalid_recipient", "text_truncated"};
  std::vector<std::string_view> out;
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (flags & (1u << i)) out.push_back(kNames[i]);
  }
  return out;
}

std::string NormalizeSender(std::string_view raw, bool* valid) {
  // The usual feed value, an E.164 number already normalised ("+447700900123": '+', a digit
  // other than 0, 7 to 15 digits in all), is returned as it is, as ClassifySmsSender would.
  if (raw.size() >= 8 && raw.size() <= 16 && raw[0] == '+' && raw[1] != '0') {
    bool digits = true;
    for (size_t i = 1; i < raw.size(); ++i) digits &= raw[i] >= '0' && raw[i] <= '9';
    if (digits) {
      if (valid) *valid = true;
      return std::string(raw);
    }
  }
  raw = StripWhitespace(raw);
  std::string out;
  const policy::SmsSenderKind kind = policy::ClassifySmsSender(raw, &out);
  if (kind != policy::SmsSenderKind::kInvalid) {
    if (valid) *valid = true;
    return out;
  }
  if (valid) *valid = raw.empty();
  return AsciiLower(raw.substr(0, 32));
}

absl::Status ParseTimestamp(std::string_view s, int64_t* unix_seconds, int32_t* utc_offset) {
  s = StripWhitespace(s);
  if (s.empty()) return BadTime(s);
  *utc_offset = 0;
  // Unix seconds as digits only (the usual form): no need to read it as a double.
  if (s.size() <= 12 &&
      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    *unix_seconds = v;
    return absl::OkStatus();
  }
  // Unix seconds, possibly with a fraction.
  if (s.find('-', 1) == std::string_view::npos && s.find(':') == std::string_view::npos) {
    double v = 0;
    if (!ParseDouble(s, &v) || !std::isfinite(v) || v < -1e12 || v > 1e12) return BadTime(s);
    *unix_seconds = static_cast<int64_t>(std::floor(v));
    return absl::OkStatus();
  }
  int year, mon, day, hh, mm, ss = 0;
  if (!Digits(s, 0, 4, &year) || s.size() < 16 || s[4] != '-' || !Digits(s, 5, 2, &mon) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &hh) || s[13] != ':' || !Digits(s, 14, 2, &mm)) {
    return BadTime(s);
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, pos + 1, 2, &ss)) return BadTime(s);
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      const size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == start) return BadTime(s);
    }
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) {
    return BadTime(s);
  }
  int offset = 0;
  if (pos < s.size()) {
    const char z = s[pos];
    if ((z == 'Z' || z == 'z') && pos + 1 == s.size()) {
      offset = 0;
    } else if (z == '+' || z == '-') {
      int oh = 0, om = 0;
      std::string_view rest = s.substr(pos + 1);
      if (rest.size() == 5 && rest[2] == ':' && Digits(rest, 0, 2, &oh) && Digits(rest, 3, 2, &om)) {
      } else if (rest.size() == 4 && Digits(rest, 0, 2, &oh) && Digits(rest, 2, 2, &om)) {
      } else if (rest.size() == 2 && Digits(rest, 0, 2, &oh)) {
      } else {
        return BadTime(s);
      }
      if (oh > 18 || om > 59) return BadTime(s);
      offset = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
    } else {
      return BadTime(s);
    }
  }
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  *unix_seconds = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
  *utc_offset = offset;
  return absl::OkStatus();
}

std::unique_ptr<Message> BuildMessage(const SmsRecord& r, const email::ParseOptions& options) {
  auto m = std::make_unique<Message>();
  BuildMessageInto(r, options, m.get());
  return m;
}

namespace {

void FillMessage(const SmsRecord& r, std::string_view sender, std::string_view recipient,
                  std::string_view text, const email::ParseOptions& options, Message* m) {
  m->sms.sender = sender;
  m->sms.recipient = recipient;
  m->sms.timestamp_unix = r.has_time ? r.timestamp_unix : 0;
  m->sms.utc_offset_seconds = r.utc_offset_seconds;
  m->sms.text = text;
  m->full = m->sms.text;
  // Sender and recipient as From/To headers: the rule language addresses them that way.
  m->all_headers.reserve(2);
  if (!r.sender.empty()) {
    m->all_headers.push_back({.name = "From", .raw = m->sms.sender, .value = m->sms.sender});
  }
  if (!r.recipient.empty()) {
    m->all_headers.push_back({.name = "To", .raw = m->sms.recipient, .value = m->sms.recipient});
  }
  m->header_count = static_cast<uint32_t>(m->all_headers.size());
  email::FinishPlainTextMessage(m, options);
}

}  // namespace

void BuildMessageInto(const SmsRecord& r, const email::ParseOptions& options, Message* m) {
  m->Reset();
  m->channel = Channel::kSms;
  Arena& a = m->arena();
  const std::string_view sender = a.Copy(r.sender);
  const std::string_view recipient = a.Copy(r.recipient);
  const std::string_view text = a.Copy(r.text);
  FillMessage(r, sender, recipient, text, options, m);
}

void BuildMessageViewing(const SmsRecord& r, const email::ParseOptions& options, Message* m) {
  m->Reset();
  m->channel = Channel::kSms;
  FillMessage(r, r.sender, r.recipient, r.text, options, m);
}

}  // namespace veto::mobile
