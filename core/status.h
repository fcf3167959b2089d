// veto/core/status.h — the tiny pair of status macros missing from Debian 12's Abseil
// (LTS 20220623 has no RETURN_IF_ERROR / ASSIGN_OR_RETURN).
//
//   absl::Status Load() {
//     VETO_RETURN_IF_ERROR(Open());
//     VETO_ASSIGN_OR_RETURN(auto rules, Parse(text));
//     ...
//   }
#ifndef VETO_CORE_STATUS_H_
#define VETO_CORE_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VETO_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status veto_status_ = (expr);        \
    if (!veto_status_.ok()) return veto_status_; \
  } while (0)

#define VETO_STATUS_CONCAT_INNER_(a, b) a##b
#define VETO_STATUS_CONCAT_(a, b) VETO_STATUS_CONCAT_INNER_(a, b)

#define VETO_ASSIGN_OR_RETURN(lhs, expr) \
  VETO_ASSIGN_OR_RETURN_IMPL_(VETO_STATUS_CONCAT_(veto_statusor_, __LINE__), lhs, expr)

#define VETO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

#endif  // VETO_CORE_STATUS_H_
