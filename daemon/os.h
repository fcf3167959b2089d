// veto/daemon/os.h — the operating-system chores of a daemon: listen specs, socket
// permissions, TCP_NODELAY on libmilter's listening socket, the pid file, privilege drop,
// going to the background.
//
//   absl::StatusOr<ListenSpec> l = ParseListenSpec("unix:/run/veto/veto.sock");
//   ... smfi_setconn / smfi_opensocket ...
//   ApplySocketOwnership(*l, "0660", "", "postfix");
//   SetNoDelayOnListener(*l);               // inet only
//   PidFile pid; pid.Write("/run/veto/vetod.pid");
//   DropPrivileges("veto", "");
//
// Thread-safety: call from the main thread during start-up (before threads exist for
// Daemonize and DropPrivileges).
#ifndef VETO_DAEMON_OS_H_
#define VETO_DAEMON_OS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace veto::daemon {

// A milter socket: "unix:/path" (or "local:/path"), "inet:PORT@HOST", "inet6:PORT@HOST".
struct ListenSpec {
  enum class Kind { kUnix, kInet, kInet6 } kind = Kind::kInet;
  std::string path;  // unix
  int port = 0;      // inet
  std::string host;  // inet ("" = any)
  // The spec in libmilter's syntax, for smfi_setconn.
  std::string milter_spec;
};

// Errors: InvalidArgument naming what is wrong ("daemon.listen: ...").
absl::StatusOr<ListenSpec> ParseListenSpec(std::string_view spec);

// chmod/chown of a unix socket file: `mode` octal ("0660"), `user`/`group` names or numbers
// ("" = unchanged). No-op for inet sockets.
absl::Status ApplySocketOwnership(const ListenSpec& spec, const std::string& mode,
                                  const std::string& user, const std::string& group);

// Finds libmilter's listening TCP socket for `spec` (libmilter does not expose it) among our
// open descriptors and sets TCP_NODELAY on it; Linux copies the option to every accepted
// socket, so replies made of several small writes are not held back by Nagle's algorithm
// waiting for the MTA's delayed ACK. Returns the descriptor, or NotFound.
absl::StatusOr<int> SetNoDelayOnListener(const ListenSpec& spec, bool nodelay);

// True if `fd` is a connected TCP socket (not a listener) whose local port is `port`: the check
// vetod makes before it trusts a descriptor read from libmilter's private context (milter.cc).
bool IsAcceptedTcpSocketOnPort(int fd, int port);

// Sends the ACK the kernel holds back for data already read from `fd` (TCP_QUICKACK), now
// rather than after the delayed-ACK timer (~40 ms). The MTA's next small write, held by Nagle's
// algorithm until that ACK, then leaves at once. Best effort.
void PushAck(int fd);

// Forks into the background (setsid, stdin/stdout/stderr to /dev/null, cwd /). The parent
// exits 0 once the child is running. Call before any thread exists.
absl::Status Daemonize();

// A pid file, removed by the destructor (best effort: after a privilege drop the directory
// may not let us).
class PidFile {
 public:
  PidFile() = default;
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  // Writes getpid() to `path` atomically (temp file + rename). Errors: Unavailable.
  absl::Status Write(const std::string& path);
  // chown of the file, so the dropped user may remove it.
  void Chown(const std::string& user);
  // Removes the file now (the destructor does it too). Idempotent.
  void Remove();

 private:
  std::string path_;
};

// setgroups/setgid/setuid to `user` (and `group`, or the user's primary group). No-op when
// `user` is empty. Errors: NotFound (no such user/group), PermissionDenied.
absl::Status DropPrivileges(const std::string& user, const std::string& group);

}  // namespace veto::daemon

#endif  // VETO_DAEMON_OS_H_
