// veto/rules/engine.h — the match stage: a RuleSet compiled into Hyperscan databases, run
// over a Message, giving rule hits and a score.
//
// Flow (DESIGN.md §1, step 2): every field class is scanned once against its own block-mode
// database — body elements, rawbody chunks, `full`, each URI, and one database per distinct
// header target (`Subject`, `From:addr`, `ALL`, ...) — with HS_FLAG_SINGLEMATCH. Patterns
// Hyperscan can only over-approximate (lookaround, backreferences, ...) are compiled with
// HS_FLAG_PREFILTER, patterns too expensive for it (a static cost estimate, regex.h) run
// behind their literal gate, and every such hit is confirmed with PCRE2 (or with RE2 where it
// can run the whole regex exactly, re2_set.h). A field's literal-less patterns run on RE2 sets
// (one lazily built DFA per group) instead of Hyperscan once it has enough of them;
// `tflags multiple` rules are
// counted with PCRE2 the way Perl's //g counts. Metas are then evaluated in dependency order
// with Perl semantics, and the scores of reported rules are summed.
//
//   absl::StatusOr<std::shared_ptr<const CompiledRules>> rules =
//       CompiledRules::Compile(rule_set, EngineOptions{});
//   std::unique_ptr<MatchScratch> scratch = (*rules)->NewScratch();   // one per thread
//   Scores scores;
//   (*rules)->Match(message, scratch.get(), &scores);
//
// Thread-safety: a CompiledRules is immutable and shared by all threads (std::shared_ptr
// <const>); each thread owns its MatchScratch.
#ifndef VETO_RULES_ENGINE_H_
#define VETO_RULES_ENGINE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/match.h"
#include "core/message.h"
#include "rules/rule.h"

namespace veto::rules {

struct EngineOptions {
  int score_set = 0;  // SpamAssassin score set 0-3 (0: local tests, no Bayes)
  // A safety net for patterns that cost Hyperscan far more than the static cost estimate
  // (kExpensiveCost in regex.h) predicts. A database whose compile takes more CPU than
  // budget x (8 + patterns / 8) (no stock database comes near) has each pattern compiled
  // alone; those over the budget run behind their literal gate, or on PCRE2 alone, and are
  // listed in CompileReport::notes. The decision is cached with the database (a warm start
  // is the same) and the pattern remembered in cache_dir, so a later build takes it off
  // Hyperscan before compiling. 0 turns the budget off.
  int compile_budget_ms = 250;
  // Directory for compiled databases (created if missing); empty: no cache. A restart with
  // unchanged rules loads from here instead of compiling.
  std::string cache_dir;
  // PCRE2 calls (prefilter confirms, `multiple` counts, PCRE2-only rules) allowed per
  // message. Each call is bounded by PCRE2's match limit, but a message of many paragraphs
  // can ask for very many; past the budget the remaining ones count as no match and the
  // message gets the hit kBudgetRule (score 0), so a verdict says it was only partly matched.
  // The SpamAssassin dev corpus needs at most 944 per message (stock rules + veto's).
  uint32_t confirm_budget = 5000;
};

// Reported (score 0) for a message whose matching stopped at EngineOptions::confirm_budget.
inline constexpr std::string_view kBudgetRule = "VETO_RULE_BUDGET";

// What compiling found, for `veto check-rules` and the logs.
struct CompileReport {
  size_t rules_total = 0;
  size_t rules_active = 0;       // non-zero score in the active set (plus `__` sub-rules)
  size_t exact = 0;              // Hyperscan matches them exactly
  size_t re2 = 0;                // exact or prefiltered, on RE2 sets instead (re2_set.h)
  size_t prefiltered = 0;        // Hyperscan prefilter + PCRE2 confirm
  size_t counted = 0;            // tflags multiple: counted with PCRE2
  size_t pcre_only = 0;          // Hyperscan refused them: PCRE2 alone (slow; in `notes`)
  size_t metas = 0;
  size_t evals_native = 0;
  size_t evals_unsupported = 0;  // value 0 in metas; listed in `problems`
  size_t databases = 0;          // Hyperscan databases
  size_t re2_sets = 0;           // RE2 sets (re2_set.h)
  size_t cache_hits = 0;         // databases loaded from the cache instead of compiled
  size_t database_bytes = 0;
  double compile_seconds = 0;
  std::vector<RuleError> problems;  // rules that could not be compiled, unsupported evals
  // Rules that run, but on a slower path: PCRE2 only, gated after going over the compile
  // budget, or a prefilter that fires on nearly any text (PCRE2 confirms nearly every text).
  std::vector<RuleError> notes;
};

class MatchScratch;

class CompiledRules {
 public:
  static absl::StatusOr<std::shared_ptr<const CompiledRules>> Compile(
      const RuleSet& rules, const EngineOptions& options, CompileReport* report = nullptr);
  virtual ~CompiledRules() = default;

  // Allocates matching state for one thread.
  virtual std::unique_ptr<MatchScratch> NewScratch() const = 0;

  // Appends the reported hits (no `__` rules, no zero scores) to `out` and adds their
  // scores to out->total. Match ids point into this CompiledRules.
  virtual void Match(const Message& message, MatchScratch* scratch, Scores* out) const = 0;

  // Every rule that hit, including `__` sub-rules, with its value (count, or meta value).
  // For tests and `veto scan --explain`.
  virtual std::vector<std::pair<std::string, double>> AllHits(const Message& message,
                                                              MatchScratch* scratch) const = 0;

  virtual size_t scratch_bytes() const = 0;
};

class MatchScratch {
 public:
  virtual ~MatchScratch() = default;
};

}  // namespace veto::rules

#endif  // VETO_RULES_ENGINE_H_
