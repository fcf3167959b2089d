#include "policy/time_window.h"

#include <gtest/gtest.h>

#include "tests/policy/test_util.h"

namespace veto::policy {
namespace {

using testing::Utc;

absl::TimeZone Zone(const char* name) {
  absl::StatusOr<absl::TimeZone> tz = LoadZone(name);
  EXPECT_TRUE(tz.ok()) << tz.status();
  return *tz;
}

DailyWindow Window(const char* window, const char* days = "mon-sun") {
  absl::StatusOr<DailyWindow> w = ParseDailyWindow(window, days);
  EXPECT_TRUE(w.ok()) << w.status();
  return *w;
}

TEST(ParseDailyWindowTest, Valid) {
  DailyWindow w = Window("22:00-07:00");
  EXPECT_EQ(w.from_minute, 22 * 60);
  EXPECT_EQ(w.to_minute, 7 * 60);
  EXPECT_TRUE(w.wraps());
  EXPECT_EQ(w.days, 0x7f);
  EXPECT_EQ(w.ToString(), "22:00-07:00");
  EXPECT_FALSE(Window("09:30-17:45").wraps());
  EXPECT_EQ(Window("00:00-24:00").to_minute, 1440);
  EXPECT_EQ(Window("08:00-09:00", "mon-fri").days, 0x1f);
  EXPECT_EQ(Window("08:00-09:00", "sat,sun").days, 0x60);
  EXPECT_EQ(Window("08:00-09:00", "fri-mon").days, 0x71);  // a range may wrap the week
  EXPECT_EQ(Window("08:00-09:00", "Mon-Wed, Fri").days, 0x17);
}

TEST(ParseDailyWindowTest, Errors) {
  struct Case {
    const char* window;
    const char* days;
    const char* error;
  };
  const Case cases[] = {
      {"22:00", "mon-sun", "not a time window \"HH:MM-HH:MM\" (got \"22:00\")"},
      {"25:00-07:00", "mon-sun", "not a time window \"HH:MM-HH:MM\" (got \"25:00-07:00\")"},
      {"22:60-07:00", "mon-sun", "not a time window \"HH:MM-HH:MM\" (got \"22:60-07:00\")"},
      {"24:00-07:00", "mon-sun", "not a time window \"HH:MM-HH:MM\" (got \"24:00-07:00\")"},
      {"9:00-17:00", "mon-sun", "not a time window \"HH:MM-HH:MM\" (got \"9:00-17:00\")"},
      {"07:00-07:00", "mon-sun", "empty time window (got \"07:00-07:00\")"},
      {"22:00-07:00", "weekdays", "not a day list like \"mon-fri,sun\" (got \"weekdays\")"},
      {"22:00-07:00", "", "not a day list like \"mon-fri,sun\" (got \"\")"},
      {"22:00-07:00", "mon-", "not a day list like \"mon-fri,sun\" (got \"mon-\")"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<DailyWindow> w = ParseDailyWindow(c.window, c.days);
    ASSERT_FALSE(w.ok()) << c.window << " " << c.days;
    EXPECT_EQ(w.status().ToString(), std::string("INVALID_ARGUMENT: ") + c.error);
  }
}

TEST(LoadZoneTest, KnownAndUnknown) {
  EXPECT_TRUE(LoadZone("Europe/Berlin").ok());
  EXPECT_TRUE(LoadZone("UTC").ok());
  EXPECT_EQ(LoadZone("Mars/Olympus").status().ToString(),
            "INVALID_ARGUMENT: unknown time zone (got \"Mars/Olympus\")");
  EXPECT_FALSE(LoadZone("").ok());
  EXPECT_FALSE(LoadZone("../../etc/passwd").ok());
}

TEST(DailyWindowTest, SameDayWindow) {
  const DailyWindow w = Window("09:00-17:00");
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 12, 8, 59), utc));
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 12, 9, 0), utc));
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 12, 16, 59), utc));
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 12, 17, 0), utc));  // end is exclusive
}

TEST(DailyWindowTest, WrapsMidnightAndBelongsToStartDay) {
  // Friday-night window: Fri 22:00 → Sat 07:00 only.
  const DailyWindow w = Window("22:00-07:00", "fri");
  const absl::TimeZone utc = absl::UTCTimeZone();
  // 2024-06-14 is a Friday.
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 14, 21, 59), utc));
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 14, 22, 0), utc));
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 14, 23, 59), utc));
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 15, 0, 0), utc));  // Saturday morning: Friday's window
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 15, 6, 59), utc));
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 15, 7, 0), utc));
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 15, 22, 30), utc));  // Saturday night: not listed
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 14, 3, 0), utc));    // Friday morning: Thursday's
}

TEST(DailyWindowTest, WholeDay) {
  const DailyWindow w = Window("00:00-24:00", "sun");
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 16, 0, 0), utc));  // Sunday
  EXPECT_TRUE(w.Contains(Utc(2024, 6, 16, 23, 59), utc));
  EXPECT_FALSE(w.Contains(Utc(2024, 6, 17, 0, 0), utc));  // Monday
}

// Europe/Berlin springs forward on 2024-03-31 at 02:00 CET (01:00 UTC) to 03:00 CEST, and
// falls back on 2024-10-27 at 03:00 CEST (01:00 UTC) to 02:00 CET. A 22:00–07:00 window
// must end at 07:00 *local* on both mornings; computing with a fixed offset would be an hour
// off on one side of each change.
TEST(DailyWindowDstTest, BerlinSpringForward) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  const DailyWindow w = Window("22:00-07:00");
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 30, 21, 0), berlin));  // Sat 22:00 CET: starts
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 30, 20, 59), berlin));
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 31, 0, 59), berlin));   // 01:59 CET
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 31, 1, 0), berlin));    // 03:00 CEST (02:xx skipped)
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 31, 4, 59), berlin));   // 06:59 CEST
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 31, 5, 0), berlin));   // 07:00 CEST: over
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 31, 5, 30), berlin));  // 07:30 CEST (06:30 at +1h)
}

TEST(DailyWindowDstTest, BerlinFallBack) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  const DailyWindow w = Window("22:00-07:00");
  EXPECT_TRUE(w.Contains(Utc(2024, 10, 26, 20, 0), berlin));  // Sat 22:00 CEST
  EXPECT_FALSE(w.Contains(Utc(2024, 10, 26, 19, 59), berlin));
  EXPECT_TRUE(w.Contains(Utc(2024, 10, 27, 5, 30), berlin));  // 06:30 CET (07:30 at +2h)
  EXPECT_TRUE(w.Contains(Utc(2024, 10, 27, 5, 59), berlin));  // 06:59 CET
  EXPECT_FALSE(w.Contains(Utc(2024, 10, 27, 6, 0), berlin));  // 07:00 CET
}

TEST(DailyWindowDstTest, SkippedHourIsNeverInside) {
  // America/New_York springs forward on 2024-03-10 at 02:00 EST (07:00 UTC) to 03:00 EDT.
  const absl::TimeZone ny = Zone("America/New_York");
  const DailyWindow w = Window("02:00-03:00");
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 10, 6, 59), ny));  // 01:59 EST
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 10, 7, 0), ny));   // 03:00 EDT
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 11, 6, 30), ny));   // next day 02:30 EDT
}

TEST(DailyWindowDstTest, RepeatedHourIsInsideTwice) {
  // America/New_York falls back on 2024-11-03 at 02:00 EDT (06:00 UTC) to 01:00 EST.
  const absl::TimeZone ny = Zone("America/New_York");
  const DailyWindow w = Window("01:00-02:30");
  EXPECT_FALSE(w.Contains(Utc(2024, 11, 3, 4, 59), ny));  // 00:59 EDT
  EXPECT_TRUE(w.Contains(Utc(2024, 11, 3, 5, 30), ny));   // 01:30 EDT
  EXPECT_TRUE(w.Contains(Utc(2024, 11, 3, 6, 30), ny));   // 01:30 EST, again
  EXPECT_TRUE(w.Contains(Utc(2024, 11, 3, 7, 15), ny));   // 02:15 EST
  EXPECT_FALSE(w.Contains(Utc(2024, 11, 3, 7, 45), ny));  // 02:45 EST
}

TEST(DailyWindowDstTest, NewYorkOvernightAcrossChanges) {
  const absl::TimeZone ny = Zone("America/New_York");
  const DailyWindow w = Window("21:00-06:00", "sat");
  // Sat 2024-03-09 21:00 EST = 02:00 UTC Sunday; ends Sun 06:00 EDT = 10:00 UTC.
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 10, 2, 0), ny));
  EXPECT_TRUE(w.Contains(Utc(2024, 3, 10, 9, 59), ny));
  EXPECT_FALSE(w.Contains(Utc(2024, 3, 10, 10, 0), ny));
  // Sat 2024-11-02 21:00 EDT = 01:00 UTC; ends Sun 06:00 EST = 11:00 UTC.
  EXPECT_TRUE(w.Contains(Utc(2024, 11, 3, 1, 0), ny));
  EXPECT_TRUE(w.Contains(Utc(2024, 11, 3, 10, 59), ny));
  EXPECT_FALSE(w.Contains(Utc(2024, 11, 3, 11, 0), ny));
}

TEST(DailyWindowTest, SameInstantDifferentZones) {
  const DailyWindow w = Window("22:00-07:00");
  const absl::Time t = Utc(2024, 6, 12, 21, 30);             // 21:30 UTC
  EXPECT_TRUE(w.Contains(t, Zone("Europe/Berlin")));         // 23:30 CEST
  EXPECT_FALSE(w.Contains(t, Zone("America/New_York")));     // 17:30 EDT
  EXPECT_TRUE(w.Contains(t, Zone("Asia/Tokyo")));            // 06:30 JST next day
  EXPECT_TRUE(w.Contains(t, Zone("Asia/Kolkata")));          // 03:00 IST (+05:30)
  EXPECT_FALSE(w.Contains(t, Zone("America/Los_Angeles")));  // 14:30 PDT
}

}  // namespace
}  // namespace veto::policy
