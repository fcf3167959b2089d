// Listen specs, socket ownership, TCP_NODELAY on a listening socket, the pid file.
#include "daemon/os.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace veto::daemon {
namespace {

TEST(OsTest, ParseListenSpec) {
  absl::StatusOr<ListenSpec> s = ParseListenSpec("inet:11332@127.0.0.1");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ListenSpec::Kind::kInet);
  EXPECT_EQ(s->port, 11332);
  EXPECT_EQ(s->host, "127.0.0.1");
  s = ParseListenSpec("unix:/run/veto/veto.sock");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, ListenSpec::Kind::kUnix);
  EXPECT_EQ(s->path, "/run/veto/veto.sock");
  EXPECT_EQ(s->milter_spec, "unix:/run/veto/veto.sock");
  EXPECT_TRUE(ParseListenSpec("local:/tmp/x.sock").ok());
  EXPECT_TRUE(ParseListenSpec("inet6:8891@::1").ok());
  EXPECT_TRUE(ParseListenSpec("inet:8891").ok());
  for (const char* bad : {"", "8891", "inet:", "inet:0@127.0.0.1", "inet:70000@h", "inet:x@h",
                          "inet:25@", "unix:", "unix:relative.sock", "tcp:25@h",
                          "unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    absl::StatusOr<ListenSpec> r = ParseListenSpec(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("daemon.listen"), std::string::npos);
    }
  }
}

TEST(OsTest, SocketModeAndGroup) {
  char dir[] = "/tmp/veto_os_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ListenSpec spec = *ParseListenSpec("unix:" + path);
  ASSERT_TRUE(ApplySocketOwnership(spec, "0660", "", "").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_TRUE(ApplySocketOwnership(spec, "0600", "", std::to_string(getgid())).ok());
  EXPECT_FALSE(ApplySocketOwnership(spec, "rw-", "", "").ok());
  EXPECT_FALSE(ApplySocketOwnership(spec, "0660", "no-such-user-veto", "").ok());
  EXPECT_FALSE(ApplySocketOwnership(spec, "0660", "", "no-such-group-veto").ok());
  close(fd);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(OsTest, NoDelayIsSetOnTheListenerAndInherited) {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(l, 4), 0);
  socklen_t len = sizeof(a);
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  ListenSpec spec;
  spec.kind = ListenSpec::Kind::kInet;
  spec.port = ntohs(a.sin_port);
  absl::StatusOr<int> fd = SetNoDelayOnListener(spec, true);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(*fd, l);
  // An accepted socket inherits it (what the daemon relies on).
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const int s = accept(l, nullptr, nullptr);
  int on = 0;
  len = sizeof(on);
  getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, &len);
  EXPECT_EQ(on, 1);
  close(s);
  close(c);
  spec.port = 1;  // nobody listens there in this process
  EXPECT_FALSE(SetNoDelayOnListener(spec, true).ok());
  close(l);
}

TEST(OsTest, IsAcceptedTcpSocketOnPort) {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(l, 4), 0);
  socklen_t len = sizeof(a);
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const int s = accept(l, nullptr, nullptr);
  EXPECT_TRUE(IsAcceptedTcpSocketOnPort(s, port));
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(l, port));      // the listener
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(c, port));      // the client end: another local port
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(s, port + 1));  // another port
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(-1, port));
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(0x7fff, port));  // not open
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(sv[0], port));  // a unix socket
  const int f = open("/dev/null", O_RDONLY);
  EXPECT_FALSE(IsAcceptedTcpSocketOnPort(f, port));  // not a socket
  PushAck(s);  // best effort: no error on a connected socket, none either on a bad one
  PushAck(-1);
  close(f);
  close(sv[0]);
  close(sv[1]);
  close(s);
  close(c);
  close(l);
}

TEST(OsTest, PidFile) {
  char dir[] = "/tmp/veto_os_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/vetod.pid";
  {
    PidFile p;
    ASSERT_TRUE(p.Write(path).ok());
    std::ifstream in(path);
    long pid = 0;
    in >> pid;
    EXPECT_EQ(pid, static_cast<long>(getpid()));
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);  // removed by the destructor
  PidFile q;
  EXPECT_FALSE(q.Write(std::string(dir) + "/no/such/dir/vetod.pid").ok());
  rmdir(dir);
}

TEST(OsTest, DropPrivilegesUnknownUser) {
  EXPECT_TRUE(DropPrivileges("", "").ok());
  EXPECT_EQ(DropPrivileges("no-such-user-veto", "").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace veto::daemon
