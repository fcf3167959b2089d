#include "core/strings.h"
#include "rules/evals.h"


namespace veto::rules {

bool ParseEvalCall(std::string_view call, std::string* name, std::vector<std::string>* args) {
  call = StripWhitespace(call);
  size_t open = call.find('(');
  if (open == std::string_view::npos || call.back() != ')') return false;
  *name = std::string(StripWhitespace(call.substr(0, open)));
  std::string_view inner = call.substr(open + 1, call.size() - open - 2);
  args->clear();
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    std::string arg;
    if (inner[i] == '\'' || inner[i] == '"') {
      char q = inner[i++];
      while (i < inner.size() && inner[i] != q) {
        if (inner[i] == '\\' && i + 1 < inner.size()) ++i;
        arg.push_back(inner[i++]);
      }
      ++i;
    } else {
      while (i < inner.size() && inner[i] != ',') arg.push_back(inner[i++]);
      arg = std::string(StripWhitespace(arg));
    }
    args->push_back(std::move(arg));
  }
  return !name->empty();
}

std::optional<EvalFunction> FindEval(std::string_view call) {
  std::string name;
  std::vector<std::string> args;
  if (!ParseEvalCall(call, &name, &args)) return std::nullopt;
  if (name == "check_body_length" && args.size() == 1) {
    double max = 0;
    if (!ParseDouble(args[0], &max)) return std::nullopt;
    return EvalFunction([max](const Message& m) -> double {
      // The pristine body: what follows the header block of `full`.
      std::string_view full = m.full;
      size_t sep = full.find("\n\n");
      size_t len = sep == std::string_view::npos ? 0 : full.size() - sep - 2;
      return static_cast<double>(len) <= max ? 1 : 0;
    });
  }
  if (name == "check_header_count_range" && args.size() == 3) {
    double lo = 0, hi = 0;
    if (!ParseDouble(args[1], &lo) || !ParseDouble(args[2], &hi)) return std::nullopt;
    std::string header = args[0];
    return EvalFunction([header, lo, hi](const Message& m) -> double {
      double n = static_cast<double>(m.GetHeaders(header).size());
      return n >= lo && n <= hi ? 1 : 0;
    });
  }
  return std::nullopt;
}

}  // namespace veto::rules
