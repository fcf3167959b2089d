// veto/policy/time_window.h — daily wall-clock windows (X.1242 "time period" rules, quiet hours).
//
// A window is a span of local wall-clock time, "22:00-07:00", on chosen days of the week,
// evaluated in an IANA time zone (loaded from the system tzdata, /usr/share/zoneinfo). It is
// DST-correct because it compares *local civil time*: a 22:00–07:00 window ends at 07:00 local
// on the morning after a DST change, whatever the UTC offset was when it began. Times that do
// not exist locally (the skipped spring-forward hour) are never inside a window; times that
// occur twice (the repeated autumn hour) are inside it both times.
//
//   absl::StatusOr<DailyWindow> w = ParseDailyWindow("22:00-07:00", "mon-fri");
//   absl::TimeZone berlin;
//   absl::LoadTimeZone("Europe/Berlin", &berlin);
//   bool quiet = w->Contains(now, berlin);   // `now` is injected, never read from a clock here
//
// A window that wraps midnight belongs to the day it starts on: with days = "fri", the
// window 22:00-07:00 covers Friday 22:00 to Saturday 07:00.
//
// Thread-safety: DailyWindow is an immutable value; Contains is thread-safe.
#ifndef VETO_POLICY_TIME_WINDOW_H_
#define VETO_POLICY_TIME_WINDOW_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace veto::policy {

struct DailyWindow {
  uint16_t from_minute = 0;  // minutes after local midnight, 0–1439
  uint16_t to_minute = 0;    // 1–1440 (1440 = "24:00"); < from_minute means it wraps midnight
  uint8_t days = 0x7f;       // bit 0 = Monday … bit 6 = Sunday: the days a window starts on

  bool wraps() const { return to_minute <= from_minute; }

  // True if local civil time `t` falls inside the window.
  bool ContainsCivil(absl::CivilSecond t) const;
  // True if instant `now`, seen in `tz`, falls inside the window.
  bool Contains(absl::Time now, absl::TimeZone tz) const {
    return ContainsCivil(absl::ToCivilSecond(now, tz));
  }
  // "22:00-07:00" (days not included).
  std::string ToString() const;
};

// Parses "HH:MM-HH:MM" (24-hour; "24:00" allowed as an end) and a day list such as
// "mon-sun", "mon-fri", "sat,sun", "mon-wed,fri" (ranges may wrap: "fri-mon").
// Errors: `not a time window "HH:MM-HH:MM" (got "...")`, `empty time window (got "...")`,
// `not a day list like "mon-fri,sun" (got "...")`.
absl::StatusOr<DailyWindow> ParseDailyWindow(std::string_view window, std::string_view days);

// Parses only the day list (bit 0 = Monday).
absl::StatusOr<uint8_t> ParseDays(std::string_view days);

// Loads an IANA zone ("Europe/Berlin", "UTC") from the system tzdata. absl::LoadTimeZone
// silently falls back to UTC for unknown names; this reports them instead.
// Errors: `unknown time zone (got "...")`.
absl::StatusOr<absl::TimeZone> LoadZone(std::string_view name);

}  // namespace veto::policy

#endif  // VETO_POLICY_TIME_WINDOW_H_
