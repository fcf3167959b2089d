#include "config/pipeline.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "classifiers/classifier.h"
#include "config/paths.h"
#include "core/strings.h"
#include "email/parser.h"
#include "policy/subscriber_store.h"
#include "rules/loader.h"

namespace veto::config {
namespace {

class ContextImpl final : public Pipeline::Context {
 public:
  rules::MatchScratch* rule_scratch() override { return scratch.get(); }
  std::unique_ptr<rules::MatchScratch> scratch;
};

}  // namespace

std::vector<std::string> RulePaths(const RulesConfig& rules) {
  std::vector<std::string> paths;
  if (rules.default_rules) paths.push_back(DefaultRulesDir());
  paths.insert(paths.end(), rules.paths.begin(), rules.paths.end());
  return paths;
}

rules::EngineOptions EngineOptionsFor(const RulesConfig& rules) {
  rules::EngineOptions eo;
  eo.score_set = rules.score_set;
  eo.compile_budget_ms = rules.compile_budget_ms;
  eo.confirm_budget = static_cast<uint32_t>(rules.confirm_budget);
  eo.cache_dir = rules.cache_dir.empty()     ? DefaultCacheDir()
                 : rules.cache_dir == "none" ? std::string()
                                             : rules.cache_dir;
  return eo;
}

struct Pipeline::Impl {
  // Indexed by Channel (kEmail, kSms); null when off or absent.
  std::shared_ptr<const classifiers::Classifier> classifier[2];
};

namespace {

// Loads the channel's model: the configured file (an error if it cannot be used), else the
// bundled one (skipped with a note if it is missing, so veto runs without models too).
absl::Status LoadChannelClassifier(const ClassifierConfig& cc, Channel channel,
                                   std::shared_ptr<const classifiers::Classifier>* out,
                                   BuildReport* r) {
  const char* key = channel == Channel::kEmail ? "classifiers.email" : "classifiers.sms";
  if (!cc.enabled) return absl::OkStatus();
  std::string path = cc.model;
  bool bundled = path.empty();
  if (bundled) {
    path = DefaultModelsDir() + (channel == Channel::kEmail ? "/email.model" : "/sms.model");
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      r->notes.push_back(Cat(key, ": no bundled model at ", path, "; classifier off"));
      return absl::OkStatus();
    }
  }
  classifiers::ClassifierOptions o;
  o.id = cc.id;
  o.points_per_logodds = cc.points_per_logodds;
  o.max_score = cc.max_score;
  o.min_score = cc.min_score;
  o.check_channel = true;
  o.channel = channel;
  auto c = classifiers::LoadClassifier(path, o);
  if (!c.ok()) return absl::InvalidArgumentError(Cat(key, ".model: ", c.status().message()));
  *out = *std::move(c);
  return absl::OkStatus();
}

}  // namespace

Pipeline::Pipeline() = default;
Pipeline::~Pipeline() = default;

absl::StatusOr<std::shared_ptr<const Pipeline>> Pipeline::Build(const Config& config,
                                                                BuildReport* report) {
  auto start = std::chrono::steady_clock::now();
  BuildReport local;
  BuildReport& r = report != nullptr ? *report : local;
  std::shared_ptr<Pipeline> p(new Pipeline());
  p->config_ = config;
  p->impl_ = std::make_unique<Impl>();

  // Rules: the bundled set first (unless switched off), then the configured paths. Bad rule
  // lines are skipped (as SpamAssassin does) and listed in the report.
  rules::RuleSet set;
  if (absl::Status s = rules::LoadRules(RulePaths(config.rules), rules::LoadOptions{}, &set);
      !s.ok()) {
    return absl::InvalidArgumentError(Cat("rules: ", s.message()));
  }
  r.rule_files = set.files_read;
  r.rule_errors = set.errors;
  auto compiled = rules::CompiledRules::Compile(set, EngineOptionsFor(config.rules), &r.rules);
  if (!compiled.ok()) return absl::InvalidArgumentError(Cat("rules: ", compiled.status().message()));
  p->rules_ = *std::move(compiled);

  // Subscribers: files, then the few written inline.
  std::shared_ptr<const policy::SubscriberStore> store;
  if (!config.subscriber_files.empty() || !config.subscribers.empty()) {
    policy::SubscriberStoreOptions so;
    so.default_country_code = config.policy.operator_layer.default_country_code;
    so.regex_limits.max_mem = std::min<int64_t>(so.regex_limits.max_mem,
                                                config.policy.operator_layer.regex_limits.max_mem);
    policy::MemorySubscriberStore::Builder b(so);
    for (const std::string& f : config.subscriber_files) {
      if (absl::Status s = b.AddFile(f); !s.ok()) {
        return absl::InvalidArgumentError(Cat("subscribers.files: ", s.message()));
      }
    }
    for (const policy::SubscriberSpec& s : config.subscribers) b.Add(s);
    auto built = std::move(b).Build();
    if (!built.ok()) return built.status();
    r.subscribers = (*built)->size();
    store = *std::move(built);
  }
  auto policy = policy::BuildPolicy(config.policy, store);
  if (!policy.ok()) return policy.status();
  p->policy_ = *std::move(policy);

  for (Channel ch : {Channel::kEmail, Channel::kSms}) {
    const ClassifierConfig& cc =
        ch == Channel::kEmail ? config.email_classifier : config.sms_classifier;
    if (absl::Status s = LoadChannelClassifier(cc, ch, &p->impl_->classifier[static_cast<int>(ch)], &r);
        !s.ok()) {
      return s;
    }
  }
  r.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::shared_ptr<const Pipeline>(std::move(p));
}

std::unique_ptr<Pipeline::Context> Pipeline::NewContext() const {
  auto c = std::make_unique<ContextImpl>();
  c->scratch = rules_->NewScratch();
  return c;
}

absl::StatusOr<std::unique_ptr<Message>> Pipeline::ParseEmail(std::string_view raw) const {
  return email::ParseMessage(raw, config_.limits.parse);
}

namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Verdict Pipeline::EvaluateTimed(const Message& m, Context* ctx, absl::Time now,
                                StageTimes* times, const std::vector<Match>& extra) const {
  Verdict v;
  const Message* messages[] = {&m};
  const std::vector<Match>* extras[] = {&extra};
  EvaluateGroup(messages, 1, ctx, &now, extras, times, &v);
  return v;
}

void Pipeline::EvaluateGroup(const Message* const* messages, size_t n, Context* ctx,
                             const absl::Time* now, const std::vector<Match>* const* extras,
                             StageTimes* times, Verdict* out) const {
  auto* c = static_cast<ContextImpl*>(ctx);
  int64_t t0 = times != nullptr ? NowNs() : 0;
  for (size_t i = 0; i < n; ++i) {
    // A fresh Verdict's scores, keeping the match list's memory (callers pass the same
    // verdicts group after group); the decision is replaced below.
    out[i].scores.matches.clear();
    out[i].scores.total = 0;
    rules_->Match(*messages[i], c->scratch.get(), &out[i].scores);
  }
  int64_t t1 = times != nullptr ? NowNs() : 0;
  for (size_t i = 0; i < n; ++i) {
    if (const auto& cl = impl_->classifier[static_cast<int>(messages[i]->channel)]) {
      out[i].scores.Add(cl->Classify(*messages[i]));
    }
    for (const Match& e : *extras[i]) out[i].scores.Add(e);
  }
  int64_t t2 = times != nullptr ? NowNs() : 0;
  for (size_t i = 0; i < n; ++i) {
    out[i].decision = policy_->Decide(*messages[i], out[i].scores, now[i]);
  }
  if (times != nullptr) {
    int64_t t3 = NowNs();
    times->match_ns += t1 - t0;
    times->classify_ns += t2 - t1;
    times->policy_ns += t3 - t2;
  }
}

Verdict Pipeline::Evaluate(const Message& m, Context* ctx, absl::Time now,
                           const std::vector<Match>& extra) const {
  return EvaluateTimed(m, ctx, now, nullptr, extra);
}

}  // namespace veto::config
