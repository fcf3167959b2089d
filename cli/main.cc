// veto — the command-line front end: one binary, one subcommand per job.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: veto COMMAND [ARGS...]\n"
    "\n"
    "veto is an anti-spam filtering engine for email and SMS.\n"
    "\n"
    "Commands:\n"
    "  parse        print messages as veto normalises them (JSON): what the rules will see\n"
    "  scan         run the pipeline over messages: rules, score, policy action (text or JSONL)\n"
    "  check-rules  load and compile rule files, report every problem as file:line: RULE: ...\n"
    "  compile      compile the rules and print what was built\n"
    "  check-config load a configuration the way vetod does and report every problem\n"
    "  bench        throughput, latency and stage shares of the pipeline over a corpus\n"
    "  train        train a classifier (email or SMS) from labelled messages\n"
    "  learn        add labelled messages to a classifier model (feedback loop)\n"
    "  eval         measure a classifier (or k-fold cross-validate), alone and with the rules\n"
    "  sms          the SMS channel: replay a feed, reports, intelligence export/import,\n"
    "               Redis Streams consumer (veto sms --help)\n"
    "\n"
    "Run `veto COMMAND --help` for a command's options.\n"
    "  --version   print the version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("veto %s\n", VETO_VERSION);
    return 0;
  }
  if (cmd == "parse") return veto::cli::ParseCommand(args);
  if (cmd == "scan") return veto::cli::ScanCommand(args);
  if (cmd == "check-rules") return veto::cli::CheckRulesCommand(args);
  if (cmd == "compile") return veto::cli::CompileCommand(args);
  if (cmd == "check-config") return veto::cli::CheckConfigCommand(args);
  if (cmd == "bench") return veto::cli::BenchCommand(args);
  if (cmd == "train") return veto::cli::TrainCommand(args);
  if (cmd == "learn") return veto::cli::LearnCommand(args);
  if (cmd == "eval") return veto::cli::EvalCommand(args);
  if (cmd == "sms") return veto::cli::SmsCommand(args);
  std::fprintf(stderr, "veto: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
