// vetod — veto's milter daemon. See daemon/README.md.
//
//   vetod --config FILE [--listen SPEC] [--foreground]
//
// Start-up order matters: the socket is created (and chmod/chown-ed) while still root, the
// process forks to the background before any thread exists, writes its pid file, drops
// privileges, and only then starts threads. Signals:
//
//   SIGHUP   reload: LoadConfig + Pipeline::Build on the main thread, then one pointer swap;
//            a failed reload logs why and keeps the running snapshot
//   SIGTERM  clean shutdown (SIGINT too)
//
// libmilter handles SIGHUP/SIGTERM/SIGINT itself in a sigwait thread and treats SIGHUP as
// "stop". To get reload, smfi_main runs on a thread of its own, every thread but the main one
// blocks the three signals, the main thread handles them (a handler writes to a pipe the main
// loop polls), and sigwait_shim.c takes them out of libmilter's sigwait set, so the main
// thread is the only one that can ever receive them.
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "config/pipeline.h"
#include "core/strings.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/milter.h"
#include "daemon/os.h"
#include "daemon/scanner.h"

namespace veto::daemon {
namespace {

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  const int saved = errno;
  const char c = static_cast<char>(sig);
  const ssize_t n = write(g_signal_pipe[1], &c, 1);
  (void)n;
  errno = saved;
}

constexpr char kUsage[] =
    "usage: vetod --config FILE [--listen SPEC] [--foreground]\n"
    "  --config FILE   configuration (config/veto.toml documents every key); \"\" = defaults\n"
    "  --listen SPEC   unix:/path/to/socket or inet:PORT@HOST (overrides daemon.listen)\n"
    "  --foreground    stay in the foreground and log to stderr\n"
    "signals: SIGHUP reloads config, rules and models; SIGTERM stops.\n";

struct Args {
  std::string config;
  bool have_config = false;
  std::string listen;
  bool foreground = false;
};

int ParseArgs(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "--config" || arg == "-c") {
      if (!value(&a->config)) return 2;
      a->have_config = true;
    } else if (arg.rfind("--config=", 0) == 0) {
      a->config = arg.substr(9);
      a->have_config = true;
    } else if (arg == "--listen" || arg == "-l") {
      if (!value(&a->listen)) return 2;
    } else if (arg.rfind("--listen=", 0) == 0) {
      a->listen = arg.substr(9);
    } else if (arg == "--foreground" || arg == "-f") {
      a->foreground = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 1;
    } else {
      std::fprintf(stderr, "vetod: unknown argument: %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (!a->have_config) {
    std::fprintf(stderr, "vetod: --config FILE is required (use --config \"\" for defaults)\n%s",
                 kUsage);
    return 2;
  }
  return 0;
}

absl::StatusOr<std::shared_ptr<const config::Pipeline>> Load(const Args& args,
                                                             config::BuildReport* report) {
  absl::StatusOr<config::Config> c = config::LoadConfig(args.config);
  if (!c.ok()) return c.status();
  if (!args.listen.empty()) c->daemon.listen = args.listen;
  return config::Pipeline::Build(*c, report);
}

std::string HostName() {
  char buf[256] = "";
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

int Main(int argc, char** argv) {
  Args args;
  if (int rc = ParseArgs(argc, argv, &args); rc != 0) return rc == 1 ? 0 : rc;
  (void)Log::Init(Log::kStderr, "mail");

  config::BuildReport report;
  absl::StatusOr<std::shared_ptr<const config::Pipeline>> pipeline = Load(args, &report);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "vetod: %s\n", std::string(pipeline.status().message()).c_str());
    return 1;
  }
  const config::DaemonConfig dc = (*pipeline)->config().daemon;
  if (dc.fail_mode != "tempfail" && dc.fail_mode != "accept") {
    std::fprintf(stderr, "vetod: daemon.fail_mode: expected tempfail or accept (got \"%s\")\n",
                 dc.fail_mode.c_str());
    return 1;
  }
  absl::StatusOr<ListenSpec> listen = ParseListenSpec(dc.listen);
  if (!listen.ok()) {
    std::fprintf(stderr, "vetod: %s\n", std::string(listen.status().message()).c_str());
    return 1;
  }
  if (!args.foreground && dc.log != "stderr") {
    if (absl::Status s = Log::Init(Log::kSyslog, dc.syslog_facility); !s.ok()) {
      std::fprintf(stderr, "vetod: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }

  SnapshotHolder snapshots;
  const std::string host = HostName();
  uint64_t generation = 1;
  snapshots.Set(MakeSnapshot(*pipeline, generation, host));
  pipeline = absl::StatusOr<std::shared_ptr<const config::Pipeline>>();  // the holder owns it

  const int workers =
      dc.threads > 0 ? dc.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  Metrics metrics(workers);
  metrics.SetSnapshotLoaded(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));

  // The milter socket, while still privileged. A unix socket is created private and then
  // given the configured mode, so it is never briefly open to everyone.
  std::string conn = listen->milter_spec;
  if (smfi_setconn(conn.data()) != MI_SUCCESS) {
    std::fprintf(stderr, "vetod: smfi_setconn %s failed\n", conn.c_str());
    return 1;
  }
  smfi_settimeout(300);
  smfi_setbacklog(256);
  MilterRuntime runtime;
  // The scanner exists only later (threads start after the fork); callbacks run only after
  // smfi_main starts, by which time it is set.
  runtime.snapshots = &snapshots;
  runtime.metrics = &metrics;
  runtime.no_reply_steps = listen->kind == ListenSpec::Kind::kUnix;
  if (listen->kind != ListenSpec::Kind::kUnix) runtime.tcp_port = listen->port;
  if (absl::Status s = RegisterMilter(&runtime); !s.ok()) {
    std::fprintf(stderr, "vetod: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const mode_t old_umask = umask(0177);
  const int opened = smfi_opensocket(true);
  umask(old_umask);
  if (opened != MI_SUCCESS) {
    std::fprintf(stderr, "vetod: cannot listen on %s (in use, or no permission)\n",
                 dc.listen.c_str());
    return 1;
  }
  if (absl::Status s = ApplySocketOwnership(*listen, dc.socket_mode, dc.socket_user,
                                            dc.socket_group);
      !s.ok()) {
    std::fprintf(stderr, "vetod: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (listen->kind != ListenSpec::Kind::kUnix) {
    absl::StatusOr<int> fd = SetNoDelayOnListener(*listen, dc.tcp_nodelay);
    if (!fd.ok()) Log::Warning(Cat("TCP_NODELAY not set: ", fd.status().message()));
  }

  if (!args.foreground) {
    if (absl::Status s = Daemonize(); !s.ok()) {
      std::fprintf(stderr, "vetod: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  PidFile pid_file;
  if (!dc.pid_file.empty()) {
    if (absl::Status s = pid_file.Write(dc.pid_file); !s.ok()) {
      Log::Error(std::string(s.message()));
      return 1;
    }
    pid_file.Chown(dc.user);
  }
  if (absl::Status s = DropPrivileges(dc.user, dc.group); !s.ok()) {
    Log::Error(std::string(s.message()));
    return 1;
  }

  // From here on threads exist. All of them block the signals the main thread handles.
  if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    Log::Error(Cat("pipe: ", std::strerror(errno)));
    return 1;
  }
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto scanner = std::make_unique<Scanner>(&snapshots, &metrics, workers,
                                           static_cast<size_t>(workers) * 64);
  runtime.scanner = scanner.get();

  std::unique_ptr<MetricsServer> http;
  if (!dc.metrics_listen.empty()) {
    http = std::make_unique<MetricsServer>(&metrics, [&snapshots] { return snapshots.Get() != nullptr; });
    if (absl::Status s = http->Start(dc.metrics_listen); !s.ok()) {
      Log::Error(std::string(s.message()));
      return 1;
    }
  }

  std::atomic<bool> milter_done{false};
  std::atomic<int> milter_rc{0};
  std::thread milter([&] {
    milter_rc = smfi_main();
    milter_done = true;
    OnSignal(0);  // wake the main loop
  });

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sa.sa_flags = SA_RESTART | SA_NODEFER;  // never blocked in this thread, even mid-handler
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);

  Log::Info(Cat("started: listen=", dc.listen, " workers=", workers, " rules=",
                report.rules.rules_total, " build=", static_cast<int>(report.build_seconds * 1000),
                "ms", http ? Cat(" metrics=", dc.metrics_listen) : std::string(),
                " pid=", static_cast<long>(getpid())));

  bool stopping = false;
  while (!milter_done) {
    struct pollfd p = {g_signal_pipe[0], POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    char sigs[64];
    const ssize_t n = read(g_signal_pipe[0], sigs, sizeof(sigs));
    bool reload = false;
    for (ssize_t i = 0; i < n; ++i) {
      if (sigs[i] == SIGHUP) reload = true;
      if (sigs[i] == SIGTERM || sigs[i] == SIGINT) stopping = true;
    }
    if (stopping) {
      Log::Info("SIGTERM/SIGINT: stopping");
      smfi_stop();
      break;
    }
    if (reload) {
      config::BuildReport r;
      const absl::Time t0 = absl::Now();
      absl::StatusOr<std::shared_ptr<const config::Pipeline>> p2 = Load(args, &r);
      if (!p2.ok()) {
        metrics.CountReload(false);
        Log::Error(Cat("reload failed, keeping the running configuration: ", p2.status().message()));
        continue;
      }
      const config::DaemonConfig& nd = (*p2)->config().daemon;
      if (nd.listen != dc.listen || nd.metrics_listen != dc.metrics_listen || nd.user != dc.user ||
          nd.threads != dc.threads) {
        Log::Warning("reload: daemon.listen, metrics_listen, user and threads take effect at restart");
      }
      snapshots.Set(MakeSnapshot(*std::move(p2), ++generation, host));
      metrics.CountReload(true);
      metrics.SetSnapshotLoaded(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
      Log::Info(Cat("reloaded: generation=", generation, " rules=", r.rules.rules_total,
                    " took=", absl::ToInt64Milliseconds(absl::Now() - t0), "ms"));
    }
  }
  milter.join();
  // libmilter does not join its connection threads: wait (bounded) for those still in a
  // callback before the scanner they use goes away.
  for (int i = 0; i < 100 && metrics.active_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (http) http->Stop();
  Log::Info(Cat("stopped", stopping ? "" : Cat(" (smfi_main returned ", milter_rc.load(), ")")));
  // libmilter does not join its connection threads, and one may still be on its way out of
  // a callback (counting into `metrics`, leaving the scanner) after the connection count
  // has dropped: destroying those objects would race it (TSan saw both). Nothing needs a
  // destructor to be durable — logs are flushed, the pid file is removed here — so leave
  // without running any.
  pid_file.Remove();
  std::fflush(nullptr);
  _exit(stopping ? 0 : 1);
}

}  // namespace
}  // namespace veto::daemon

int main(int argc, char** argv) { return veto::daemon::Main(argc, argv); }
