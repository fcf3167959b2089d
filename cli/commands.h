// veto/cli/commands.h — the `veto` subcommands. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 an input or processing error (reported on
// stderr), 2 a usage error.
#ifndef VETO_CLI_COMMANDS_H_
#define VETO_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace veto::cli {

int ParseCommand(const std::vector<std::string>& args);
int ScanCommand(const std::vector<std::string>& args);
int CheckRulesCommand(const std::vector<std::string>& args);
int CompileCommand(const std::vector<std::string>& args);
int SmsCommand(const std::vector<std::string>& args);
int CheckConfigCommand(const std::vector<std::string>& args);
int BenchCommand(const std::vector<std::string>& args);
int TrainCommand(const std::vector<std::string>& args);
int LearnCommand(const std::vector<std::string>& args);
int EvalCommand(const std::vector<std::string>& args);

}  // namespace veto::cli

#endif  // VETO_CLI_COMMANDS_H_
