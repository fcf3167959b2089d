// veto/rules/evals.h — the `eval:` rules veto implements natively.
//
// SpamAssassin's eval rules call Perl functions of its plugins. veto runs the ones listed in
// FindEval natively; every other eval rule is reported once at compile time as unsupported
// and has value 0 in metas (never silently a hit). Implemented today:
//   check_body_length(N)               pristine body length <= N bytes
//   check_header_count_range(H, a, b)  number of H headers within [a, b]
//
// Thread-safety: the returned functions are pure.
#ifndef VETO_RULES_EVALS_H_
#define VETO_RULES_EVALS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"

namespace veto::rules {

// Returns the rule's value for a message: 0 no hit, otherwise the hit value.
using EvalFunction = std::function<double(const Message&)>;

// Looks up `call` ("check_body_length('500')"); nullopt when veto has no implementation or the
// arguments do not parse.
std::optional<EvalFunction> FindEval(std::string_view call);

// Splits "name(arg, 'arg2', \"arg3\")" into name and unquoted arguments.
bool ParseEvalCall(std::string_view call, std::string* name, std::vector<std::string>* args);

}  // namespace veto::rules

#endif  // VETO_RULES_EVALS_H_
