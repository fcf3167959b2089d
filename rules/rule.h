// veto/rules/rule.h — a rule as loaded from a SpamAssassin-syntax .cf file.
//
// The loader (loader.h) turns rule files into a RuleSet: one Rule per defined name, with the
// last definition winning as in SpamAssassin (../shared/docs/spamassassin-semantics.md §1.6),
// scores for the four score sets, tflags, priority and where it was defined. The engine
// (engine.h) compiles a RuleSet into Hyperscan databases.
//
// Thread-safety: plain values; a RuleSet is built once and then only read.
#ifndef VETO_RULES_RULE_H_
#define VETO_RULES_RULE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "rules/regex.h"

namespace veto::rules {

enum class RuleType : uint8_t {
  kHeader,
  kBody,
  kRawBody,
  kFull,
  kUri,
  kMeta,
  kMimeHeader,
  kEval,  // `eval:` rules of any type: run natively when veto implements them
};

std::string_view RuleTypeName(RuleType type);

// What a header rule reads (§3): `Subject`, `From:addr`, `ALL`, `exists:X-Foo`, ...
struct HeaderSpec {
  std::string name;  // as written; pseudo-names ALL, MESSAGEID, ToCc, EnvelopeFrom, ...
  bool raw = false;
  bool addr = false;
  bool display_name = false;  // the `:name` modifier
  bool host = false;
  bool domain = false;
  bool ip = false;
  bool revip = false;
  bool first = false;
  bool last = false;
  bool exists = false;    // `exists:Name`
  bool negate = false;    // `!~`
  bool has_if_unset = false;
  std::string if_unset;   // `[if-unset: STRING]`
};

struct Rule {
  std::string name;
  RuleType type = RuleType::kBody;
  RuleType eval_target = RuleType::kBody;  // for kEval: body, header, rawbody, full, uri
  std::string definition;                  // the text after the name, as written
  PerlRegex regex;                         // regex rule types
  HeaderSpec header;                       // kHeader, kMimeHeader
  std::string meta;                        // kMeta expression (rules_matching expanded later)
  std::string eval_call;                   // kEval: "check_foo('a', 2)"

  std::array<double, 4> scores = {1, 1, 1, 1};
  bool has_score = false;
  std::string description;
  std::string tflags;      // as written (tflags replaces, does not append)
  bool multiple = false;
  uint32_t maxhits = 0;    // 0 = unlimited
  bool nosubject = false;
  bool nice = false;
  bool net = false;
  bool learn = false;
  int priority = 0;

  std::string file;        // where the winning definition was
  int line = 0;
};

// A problem found while loading, reported as "file:line: RULE: problem".
struct RuleError {
  std::string file;
  int line = 0;
  std::string rule;     // empty when the line names no rule
  std::string message;
  std::string ToString() const;
};

struct RuleSet {
  std::vector<Rule> rules;                         // in order of first definition
  absl::flat_hash_map<std::string, size_t> index;  // name -> position in `rules`
  // Names with only a `score` line (visible to rules_matching, value 0 in metas).
  std::vector<std::string> score_only;
  std::vector<RuleError> errors;
  std::vector<std::string> files_read;
  std::vector<std::string> plugins;                // loaded plugin classes
  size_t ignored_directives = 0;                   // config lines that are not about rules

  const Rule* Find(std::string_view name) const {
    auto it = index.find(std::string(name));
    return it == index.end() ? nullptr : &rules[it->second];
  }
};

}  // namespace veto::rules

#endif  // VETO_RULES_RULE_H_
