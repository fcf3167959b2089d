#include "daemon/log.h"

#include <syslog.h>
#include <unistd.h>

#include <ctime>

#include "core/strings.h"

namespace veto::daemon {
namespace {

Log::Sink g_sink = Log::kStderr;

}  // namespace

absl::Status Log::Init(Sink sink, std::string_view facility) {
  struct Named {
    std::string_view name;
    int value;
  };
  static constexpr Named kFacilities[] = {
      {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
      {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
      {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
  int f = -1;
  for (const Named& n : kFacilities) {
    if (n.name == facility) f = n.value;
  }
  if (f < 0) {
    return absl::InvalidArgumentError(
        Cat("daemon.syslog_facility: unknown facility (got \"", facility,
            "\", expected mail, daemon, user or local0..local7)"));
  }
  g_sink = sink;
  if (sink == kSyslog) openlog("vetod", LOG_PID | LOG_NDELAY, f);
  return absl::OkStatus();
}

void Log::Write(int priority, std::string_view level, std::string_view line) {
  if (g_sink == kSyslog) {
    syslog(priority, "%.*s", static_cast<int>(line.size()), line.data());
    return;
  }
  char stamp[32];
  const time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string out = Cat(stamp, " vetod[", static_cast<long>(getpid()), "] ", level, ": ",
                              line, "\n");
  // One write per line: lines from different threads never interleave.
  const ssize_t n = write(2, out.data(), out.size());
  (void)n;
}

void Log::Info(std::string_view line) { Write(LOG_INFO, "info", line); }
void Log::Warning(std::string_view line) { Write(LOG_WARNING, "warning", line); }
void Log::Error(std::string_view line) { Write(LOG_ERR, "error", line); }

}  // namespace veto::daemon
