// veto/rules/header_values.h — the string a `header` rule matches (semantics §3).
//
// SpamAssassin joins all occurrences of the named header (decoded, each ending in "\n"), or
// the addresses / display names (:addr / :name, joined with "\n"), or the raw text (:raw),
// handles the pseudo-headers (ALL, ToCc, MESSAGEID, EnvelopeFrom) and hides X-Spam-* headers
// that arrived with the message. A missing header matches as the empty string, or as the
// rule's [if-unset: ...] text. veto adds one pseudo-header, X-Veto-Flags: the names of the
// message's normaliser flags (core/message.h), space-separated.
//
//   bool present = false;
//   std::string text = HeaderTarget(message, rule.header, &present);
//
// Thread-safety: pure function of its arguments.
#ifndef VETO_RULES_HEADER_VALUES_H_
#define VETO_RULES_HEADER_VALUES_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"
#include "rules/rule.h"

namespace veto::rules {

// The text `spec` selects from the top-level headers of `message`. Sets *present to whether
// the header (after modifiers) produced any value.
std::string HeaderTarget(const Message& message, const HeaderSpec& spec, bool* present);

// For mimeheader rules: the last occurrence of `spec.name` in each MIME part (root and
// containers included, depth-first), decoded + "\n" or raw; missing ones as `if_unset`.
std::vector<std::string> MimeHeaderTargets(const Message& message, const HeaderSpec& spec);

// A canonical key naming what a spec reads ("subject", "from:addr", ...): rules with the same
// key share one scan of the same text.
std::string HeaderTargetKey(const HeaderSpec& spec);

// Address-list parsing used by :addr and :name (exposed for tests).
struct ParsedAddress {
  std::string address;
  std::string name;
};
std::vector<ParsedAddress> ParseAddressList(std::string_view value);

}  // namespace veto::rules

#endif  // VETO_RULES_HEADER_VALUES_H_
