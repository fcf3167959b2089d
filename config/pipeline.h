// veto/config/pipeline.h — every stage built from one Config: parse → match → classify → decide.
//
// A Pipeline is an immutable snapshot (compiled rules, models, policy, subscribers) shared by
// all threads; reload builds a new one off the hot path and swaps the std::shared_ptr, so a
// message in flight finishes on the snapshot it started with. Each thread owns a Context
// (the rule engine's scratch).
//
//   absl::StatusOr<std::shared_ptr<const Pipeline>> p = Pipeline::Build(config);
//   std::unique_ptr<Pipeline::Context> ctx = (*p)->NewContext();     // one per thread
//   absl::StatusOr<std::unique_ptr<Message>> m = (*p)->ParseEmail(raw);
//   (*m)->envelope ... (fill what the MTA told us)
//   Verdict v = (*p)->Evaluate(**m, ctx.get(), absl::Now());
//   v.decision.action ...;   policy::DecisionToJson(v.decision)
//
// Lifetime: a Verdict borrows from the Pipeline (rule ids, policy strings): keep the
// shared_ptr alive while the Verdict is used.
#ifndef VETO_CONFIG_PIPELINE_H_
#define VETO_CONFIG_PIPELINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "core/decision.h"
#include "core/match.h"
#include "core/message.h"
#include "policy/policy.h"
#include "rules/engine.h"

namespace veto::config {

// What building found, for `veto check-config` and the logs.
struct BuildReport {
  std::vector<std::string> rule_files;          // files read, in order
  std::vector<rules::RuleError> rule_errors;    // lines that could not be loaded (skipped)
  rules::CompileReport rules;
  std::vector<std::string> notes;  // e.g. "classifiers.sms: model ... not found, off"
  size_t subscribers = 0;
  double build_seconds = 0;
};

// Where one Evaluate call spent its time, in nanoseconds (for `veto bench`).
struct StageTimes {
  int64_t match_ns = 0;     // rules
  int64_t classify_ns = 0;  // the channel's classifier
  int64_t policy_ns = 0;    // the policy decision
};

// The evidence and the decision for one message.
struct Verdict {
  Scores scores;
  Decision decision;
};

// The rule paths `rules` asks for: the bundled set first (unless default_rules is off), then
// rules.paths. And the engine options it implies (cache_dir "" → DefaultCacheDir(), "none" →
// no cache). Shared by Pipeline::Build and the rules-only commands (check-rules, compile).
std::vector<std::string> RulePaths(const RulesConfig& rules);
rules::EngineOptions EngineOptionsFor(const RulesConfig& rules);

class Pipeline {
 public:
  // Builds every stage: loads and compiles the rules (using the cache), loads the models and
  // the subscriber files, compiles the policy. Errors: InvalidArgument listing every problem
  // (rule errors as file:line: RULE: problem; policy problems with their key paths).
  static absl::StatusOr<std::shared_ptr<const Pipeline>> Build(const Config& config,
                                                               BuildReport* report = nullptr);

  // Per-thread state. Not thread-safe; cheap to keep, costly to create per message.
  class Context {
   public:
    virtual ~Context() = default;
    // The rule engine's scratch (for rules().AllHits and the like).
    virtual rules::MatchScratch* rule_scratch() = 0;
  };
  std::unique_ptr<Context> NewContext() const;

  // Parses raw RFC 5322 bytes with the configured limits.
  absl::StatusOr<std::unique_ptr<Message>> ParseEmail(std::string_view raw) const;

  // Runs rules, the channel's classifier and the policy over `m`. `extra` evidence (e.g.
  // mobile/'s behaviour signals, kind kSignal) is added to the scores before the decision.
  // Never fails.
  Verdict Evaluate(const Message& m, Context* ctx, absl::Time now,
                   const std::vector<Match>& extra = {}) const;
  // The same, adding each stage's time to *times (three clock reads more per message).
  Verdict EvaluateTimed(const Message& m, Context* ctx, absl::Time now, StageTimes* times,
                        const std::vector<Match>& extra = {}) const;

  // One message at a time inside, stage by stage outside: the rules for every message of the
  // group, then the classifier for each, then the policy for each, so each stage's code and
  // tables stay in the caches across the group (the SMS replay evaluates its records in
  // groups). out[i] is what EvaluateTimed(*messages[i], ctx, now[i], times, *extras[i])
  // gives; times (may be null) gets each stage's time for the whole group.
  void EvaluateGroup(const Message* const* messages, size_t n, Context* ctx,
                     const absl::Time* now, const std::vector<Match>* const* extras,
                     StageTimes* times, Verdict* out) const;

  const Config& config() const { return config_; }
  const policy::Policy& policy() const { return *policy_; }
  const rules::CompiledRules& rules() const { return *rules_; }

  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

 private:
  struct Impl;
  Pipeline();

  Config config_;
  std::shared_ptr<const rules::CompiledRules> rules_;
  std::shared_ptr<const policy::Policy> policy_;
  std::unique_ptr<Impl> impl_;  // classifiers (when the classifiers/ folder exists)
};

}  // namespace veto::config

#endif  // VETO_CONFIG_PIPELINE_H_
