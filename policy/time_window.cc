#include "policy/time_window.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"
#include "policy/identity.h"

namespace veto::policy {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int DayIndex(std::string_view s) {
  for (size_t i = 0; i < kDays.size(); ++i) {
    if (kDays[i] == s) return static_cast<int>(i);
  }
  return -1;
}

// Monday = 0 … Sunday = 6.
int WeekdayIndex(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::monday:
      return 0;
    case absl::Weekday::tuesday:
      return 1;
    case absl::Weekday::wednesday:
      return 2;
    case absl::Weekday::thursday:
      return 3;
    case absl::Weekday::friday:
      return 4;
    case absl::Weekday::saturday:
      return 5;
    case absl::Weekday::sunday:
      return 6;
  }
  return 0;
}

// "HH:MM" → minutes; -1 if malformed. `allow_24` admits "24:00".
int ParseClock(std::string_view s, bool allow_24) {
  s = StripWhitespace(s);
  if (s.size() != 5 || s[2] != ':') return -1;
  for (int i : {0, 1, 3, 4}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return -1;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59) return -1;
  if (h == 24 && m == 0 && allow_24) return 1440;
  if (h > 23) return -1;
  return h * 60 + m;
}

}  // namespace

bool DailyWindow::ContainsCivil(absl::CivilSecond t) const {
  const int minute = t.hour() * 60 + t.minute();
  const absl::CivilDay day(t);
  const int today = WeekdayIndex(day);
  if (!wraps()) {
    return (days >> today & 1) && minute >= from_minute && minute < to_minute;
  }
  // Wrapping window: the evening part belongs to today, the morning part to yesterday.
  if (minute >= from_minute) return days >> today & 1;
  if (minute < to_minute) return days >> ((today + 6) % 7) & 1;
  return false;
}

std::string DailyWindow::ToString() const {
  return absl::StrFormat("%02d:%02d-%02d:%02d", from_minute / 60, from_minute % 60, to_minute / 60,
                         to_minute % 60);
}

absl::StatusOr<uint8_t> ParseDays(std::string_view days) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(Cat("not a day list like \"mon-fri,sun\" ", Got(days)));
  };
  uint8_t mask = 0;
  const std::string lower = AsciiLower(days);
  for (std::string_view part : Split(lower, ',')) {
    part = StripWhitespace(part);
    const size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      const int d = DayIndex(part);
      if (d < 0) return bad();
      mask |= static_cast<uint8_t>(1 << d);
      continue;
    }
    const int from = DayIndex(StripWhitespace(part.substr(0, dash)));
    const int to = DayIndex(StripWhitespace(part.substr(dash + 1)));
    if (from < 0 || to < 0) return bad();
    for (int d = from;; d = (d + 1) % 7) {
      mask |= static_cast<uint8_t>(1 << d);
      if (d == to) break;
    }
  }
  if (mask == 0) return bad();
  return mask;
}

absl::StatusOr<DailyWindow> ParseDailyWindow(std::string_view window, std::string_view days) {
  const size_t dash = window.find('-');
  const int from = dash == std::string_view::npos ? -1 : ParseClock(window.substr(0, dash), false);
  const int to = dash == std::string_view::npos ? -1 : ParseClock(window.substr(dash + 1), true);
  if (from < 0 || to < 0) {
    return absl::InvalidArgumentError(Cat("not a time window \"HH:MM-HH:MM\" ", Got(window)));
  }
  if (from == to) {
    return absl::InvalidArgumentError(Cat("empty time window ", Got(window)));
  }
  absl::StatusOr<uint8_t> mask = ParseDays(days);
  if (!mask.ok()) return mask.status();
  DailyWindow w;
  w.from_minute = static_cast<uint16_t>(from);
  w.to_minute = static_cast<uint16_t>(to);
  w.days = *mask;
  return w;
}

absl::StatusOr<absl::TimeZone> LoadZone(std::string_view name) {
  absl::TimeZone tz;
  const std::string n(StripWhitespace(name));
  // LoadTimeZone maps unknown names to UTC and returns false; "UTC" itself loads fine.
  if (n.empty() || n.find("..") != std::string::npos || !absl::LoadTimeZone(n, &tz)) {
    return absl::InvalidArgumentError(Cat("unknown time zone ", Got(name)));
  }
  return tz;
}

}  // namespace veto::policy
