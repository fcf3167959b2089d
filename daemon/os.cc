#include "daemon/os.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/strings.h"

namespace veto::daemon {
namespace {

std::string Errno() { return std::strerror(errno); }

bool ParseUint(std::string_view s, int base, long max, long* out) {
  if (s.empty() || s.size() > 12) return false;
  std::string t(s);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(t.c_str(), &end, base);
  if (errno != 0 || *end != '\0' || v < 0 || v > max) return false;
  *out = v;
  return true;
}

absl::StatusOr<uid_t> LookupUser(const std::string& user, gid_t* primary_gid) {
  long n = 0;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  const int rc = ParseUint(user, 10, 0x7fffffff, &n)
                     ? getpwuid_r(static_cast<uid_t>(n), &pw, buf, sizeof(buf), &res)
                     : getpwnam_r(user.c_str(), &pw, buf, sizeof(buf), &res);
  if (rc != 0 || res == nullptr) return absl::NotFoundError(Cat("no such user: ", user));
  if (primary_gid != nullptr) *primary_gid = pw.pw_gid;
  return pw.pw_uid;
}

absl::StatusOr<gid_t> LookupGroup(const std::string& group) {
  long n = 0;
  if (ParseUint(group, 10, 0x7fffffff, &n)) return static_cast<gid_t>(n);
  struct group gr, *res = nullptr;
  char buf[8192];
  if (getgrnam_r(group.c_str(), &gr, buf, sizeof(buf), &res) != 0 || res == nullptr) {
    return absl::NotFoundError(Cat("no such group: ", group));
  }
  return gr.gr_gid;
}

}  // namespace

absl::StatusOr<ListenSpec> ParseListenSpec(std::string_view spec) {
  ListenSpec out;
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        Cat("daemon.listen: ", why, " (got \"", spec,
            "\", expected unix:/path/to/socket or inet:PORT@HOST)"));
  };
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return bad("no socket type");
  const std::string_view type = spec.substr(0, colon);
  const std::string_view rest = spec.substr(colon + 1);
  if (type == "unix" || type == "local") {
    if (rest.empty() || rest[0] != '/') return bad("the socket path must be absolute");
    if (rest.size() >= 108) return bad("socket path too long");
    out.kind = ListenSpec::Kind::kUnix;
    out.path = std::string(rest);
    out.milter_spec = Cat("unix:", rest);
    return out;
  }
  if (type == "inet" || type == "inet6") {
    out.kind = type == "inet" ? ListenSpec::Kind::kInet : ListenSpec::Kind::kInet6;
    const size_t at = rest.find('@');
    const std::string_view port = rest.substr(0, at);
    long p = 0;
    if (!ParseUint(port, 10, 65535, &p) || p == 0) return bad("bad port");
    out.port = static_cast<int>(p);
    if (at != std::string_view::npos) out.host = std::string(rest.substr(at + 1));
    if (at != std::string_view::npos && out.host.empty()) return bad("empty host");
    out.milter_spec = std::string(spec);
    return out;
  }
  return bad("unknown socket type");
}

absl::Status ApplySocketOwnership(const ListenSpec& spec, const std::string& mode,
                                  const std::string& user, const std::string& group) {
  if (spec.kind != ListenSpec::Kind::kUnix) return absl::OkStatus();
  if (!mode.empty()) {
    long m = 0;
    if (!ParseUint(mode, 8, 07777, &m)) {
      return absl::InvalidArgumentError(
          Cat("daemon.socket_mode: not an octal mode (got \"", mode, "\", expected e.g. 0660)"));
    }
    if (chmod(spec.path.c_str(), static_cast<mode_t>(m)) != 0) {
      return absl::PermissionDeniedError(Cat("chmod ", spec.path, ": ", Errno()));
    }
  }
  if (user.empty() && group.empty()) return absl::OkStatus();
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!user.empty()) {
    absl::StatusOr<uid_t> u = LookupUser(user, nullptr);
    if (!u.ok()) return absl::NotFoundError(Cat("daemon.socket_user: ", u.status().message()));
    uid = *u;
  }
  if (!group.empty()) {
    absl::StatusOr<gid_t> g = LookupGroup(group);
    if (!g.ok()) return absl::NotFoundError(Cat("daemon.socket_group: ", g.status().message()));
    gid = *g;
  }
  if (chown(spec.path.c_str(), uid, gid) != 0) {
    return absl::PermissionDeniedError(Cat("chown ", spec.path, ": ", Errno()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> SetNoDelayOnListener(const ListenSpec& spec, bool nodelay) {
  if (spec.kind == ListenSpec::Kind::kUnix) return absl::NotFoundError("not a TCP socket");
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return absl::UnavailableError(Cat("/proc/self/fd: ", Errno()));
  int found = -1;
  while (struct dirent* e = readdir(dir)) {
    long fd = 0;
    if (!ParseUint(e->d_name, 10, 1 << 30, &fd) || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        !listening) {
      continue;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) continue;
    int port = -1;
    if (ss.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    if (port != spec.port) continue;
    const int on = nodelay ? 1 : 0;
    if (setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
      closedir(dir);
      return absl::UnavailableError(Cat("setsockopt TCP_NODELAY: ", Errno()));
    }
    found = static_cast<int>(fd);
    break;
  }
  closedir(dir);
  if (found < 0) return absl::NotFoundError(Cat("no listening socket on port ", spec.port));
  return found;
}

bool IsAcceptedTcpSocketOnPort(int fd, int port) {
  if (fd < 0 || port <= 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int type = 0, listening = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  len = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) return false;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) return false;
  int local = -1;
  if (ss.ss_family == AF_INET) {
    local = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    local = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  sl = sizeof(ss);
  return local == port && getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0;
}

void PushAck(int fd) {
  const int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

absl::Status Daemonize() {
  const pid_t pid = fork();
  if (pid < 0) return absl::UnavailableError(Cat("fork: ", Errno()));
  if (pid > 0) _exit(0);
  if (setsid() < 0) return absl::UnavailableError(Cat("setsid: ", Errno()));
  if (chdir("/") != 0) return absl::UnavailableError(Cat("chdir /: ", Errno()));
  const int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  return absl::OkStatus();
}

PidFile::~PidFile() { Remove(); }

void PidFile::Remove() {
  if (!path_.empty()) unlink(path_.c_str());
  path_.clear();
}

absl::Status PidFile::Write(const std::string& path) {
  const std::string tmp = Cat(path, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(Cat("pid file ", tmp, ": ", Errno()));
  const std::string text = Cat(static_cast<long>(getpid()), "\n");
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::UnavailableError(Cat("pid file ", path, ": ", Errno()));
  }
  path_ = path;
  return absl::OkStatus();
}

void PidFile::Chown(const std::string& user) {
  if (path_.empty() || user.empty()) return;
  gid_t gid = 0;
  absl::StatusOr<uid_t> uid = LookupUser(user, &gid);
  if (uid.ok() && chown(path_.c_str(), *uid, gid) != 0) {
    // Not fatal: the file is then left behind at exit.
  }
}

absl::Status DropPrivileges(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return absl::OkStatus();
  gid_t gid = static_cast<gid_t>(-1);
  uid_t uid = static_cast<uid_t>(-1);
  if (!user.empty()) {
    absl::StatusOr<uid_t> u = LookupUser(user, &gid);
    if (!u.ok()) return absl::NotFoundError(Cat("daemon.user: ", u.status().message()));
    uid = *u;
  }
  if (!group.empty()) {
    absl::StatusOr<gid_t> g = LookupGroup(group);
    if (!g.ok()) return absl::NotFoundError(Cat("daemon.group: ", g.status().message()));
    gid = *g;
  }
  if (getuid() != 0 && geteuid() != 0) {
    if (uid == getuid()) return absl::OkStatus();  // already that user
    return absl::PermissionDeniedError("daemon.user: changing user needs root");
  }
  if (setgroups(1, &gid) != 0 || setgid(gid) != 0) {
    return absl::PermissionDeniedError(Cat("setgid ", gid, ": ", Errno()));
  }
  if (uid != static_cast<uid_t>(-1) && setuid(uid) != 0) {
    return absl::PermissionDeniedError(Cat("setuid ", uid, ": ", Errno()));
  }
  if (uid != 0 && uid != static_cast<uid_t>(-1) && setuid(0) == 0) {
    return absl::InternalError("privilege drop did not stick (setuid(0) succeeded)");
  }
  return absl::OkStatus();
}

}  // namespace veto::daemon
