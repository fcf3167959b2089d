// veto/tests/run_command.h — runs a shell command from a test and collects what it prints.
//
//   CommandResult r = RunCommand(Cat(VETO_BIN, " eval sms --cv 5 --input F"));
//   EXPECT_EQ(r.status, 0) << r.out;
//
// For tests that drive the real binaries (cli_test, combination_test). Header-only.
#ifndef VETO_TESTS_RUN_COMMAND_H_
#define VETO_TESTS_RUN_COMMAND_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace veto::testutil {

struct CommandResult {
  int status = -1;  // exit status; -1 if it could not run or did not exit normally
  std::string out;  // stdout + stderr
};

// Runs `command` through /bin/sh with stderr merged into stdout.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  const std::string cmd = command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace veto::testutil

#endif  // VETO_TESTS_RUN_COMMAND_H_
