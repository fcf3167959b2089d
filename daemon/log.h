// veto/daemon/log.h — vetod's log: syslog (facility mail by default) or stderr.
//
// One line per message (milter.cc) plus start-up, reload and error lines.
//
//   Log::Init(Log::kSyslog, "mail");
//   Log::Info(Cat("qid=", id, " action=reject ..."));
//
// Thread-safety: Init once at start-up (before threads); the writers are thread-safe (one
// write(2) per line on stderr, syslog(3) otherwise).
#ifndef VETO_DAEMON_LOG_H_
#define VETO_DAEMON_LOG_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace veto::daemon {

class Log {
 public:
  enum Sink { kStderr, kSyslog };
  // `facility`: mail, daemon, local0..local7, user. Errors: InvalidArgument (unknown facility).
  static absl::Status Init(Sink sink, std::string_view facility);
  static void Info(std::string_view line);
  static void Warning(std::string_view line);
  static void Error(std::string_view line);

 private:
  static void Write(int priority, std::string_view level, std::string_view line);
};

}  // namespace veto::daemon

#endif  // VETO_DAEMON_LOG_H_
