#include "daemon/scanner.h"

#include <algorithm>
#include <utility>

#include "core/strings.h"

namespace veto::daemon {
namespace {

uint32_t Bit(Action a) { return 1u << static_cast<unsigned>(a); }

void AddAction(const std::optional<policy::ActionSpec>& spec, Action fallback, uint32_t* out) {
  *out |= Bit(spec.has_value() ? spec->action : fallback);
}

void AddLayerRules(const policy::LayerSpec& l, uint32_t* out) {
  for (const auto& k : l.keywords) {
    if (k.action.has_value() && (!k.channel || *k.channel == Channel::kEmail)) {
      *out |= Bit(k.action->action);
    }
  }
  for (const auto& r : l.regexes) {
    if (r.action.has_value() && (!r.channel || *r.channel == Channel::kEmail)) {
      *out |= Bit(r.action->action);
    }
  }
}

void AddChannel(const policy::ChannelSpec& c, uint32_t* out) {
  for (const auto& t : c.thresholds) {
    if (t.min.has_value()) *out |= Bit(t.action);
  }
  if (c.default_action.has_value()) *out |= Bit(c.default_action->action);
}

}  // namespace

uint32_t PossibleEmailActions(const config::Config& config) {
  const policy::PolicySpec& p = config.policy;
  const policy::OperatorSpec& op = p.operator_layer;
  uint32_t out = Bit(Action::kAccept) | Bit(Action::kTag);
  AddChannel(op.email, &out);
  AddLayerRules(op, &out);
  bool any_deny = !op.deny.empty();
  for (const policy::TenantSpec& t : p.tenants) {
    AddChannel(t.email, &out);
    AddLayerRules(t, &out);
    if (!t.deny.empty()) {
      any_deny = true;
      if (t.deny_action.email.has_value()) out |= Bit(t.deny_action.email->action);
    }
  }
  if (any_deny) AddAction(op.deny_action.email, Action::kReject, &out);
  if (!op.spamtraps.empty()) AddAction(op.spamtrap_action.email, Action::kDiscard, &out);
  if (!config.subscribers.empty() || !config.subscriber_files.empty()) {
    AddAction(op.subscriber_action.email, Action::kQuarantine, &out);
    AddAction(op.quiet_action.email, Action::kQuarantine, &out);
    AddAction(op.fail_action.email, Action::kTempfail, &out);
    for (const policy::SubscriberSpec& s : config.subscribers) {
      if (s.action.has_value()) out |= Bit(s.action->action);
      if (s.quiet.has_value() && s.quiet->action.has_value()) out |= Bit(s.quiet->action->action);
    }
    if (!config.subscriber_files.empty()) {
      // Subscriber files may name any action: assume every email action.
      for (size_t a = 0; a <= static_cast<size_t>(Action::kDiscard); ++a) out |= 1u << a;
    }
  }
  return out;
}

std::shared_ptr<const Snapshot> MakeSnapshot(std::shared_ptr<const config::Pipeline> pipeline,
                                             uint64_t generation, const std::string& host) {
  auto s = std::make_shared<Snapshot>();
  const config::Config& c = pipeline->config();
  s->possible_actions = PossibleEmailActions(c);
  s->plan_options.host = host;
  // Our headers: the built-in names and every name a layer configures, so forged copies are
  // removed whichever tenant a message is for.
  std::vector<std::string>& own = s->plan_options.own_headers;
  auto add = [&](const std::optional<std::string>& name, const char* fallback) {
    own.push_back(name.has_value() ? *name : fallback);
  };
  const policy::EmailActionsSpec& ea = c.policy.operator_layer.email_actions;
  add(ea.flag_header, "X-Spam-Flag");
  add(ea.score_header, "X-Spam-Score");
  add(ea.report_header, "X-Spam-Report");
  for (const policy::TenantSpec& t : c.policy.tenants) {
    if (t.email_actions.flag_header) own.push_back(*t.email_actions.flag_header);
    if (t.email_actions.score_header) own.push_back(*t.email_actions.score_header);
    if (t.email_actions.report_header) own.push_back(*t.email_actions.report_header);
  }
  if (!c.daemon.oversize_header.empty()) own.push_back(c.daemon.oversize_header);
  own.erase(std::remove(own.begin(), own.end(), std::string()), own.end());
  s->built = absl::Now();
  s->generation = generation;
  s->pipeline = std::move(pipeline);
  return s;
}

struct Scanner::Job {
  ScanRequest request;
  std::shared_ptr<const Snapshot> snapshot;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu; `result` is written before and read after it is set
  absl::StatusOr<ScanResult> result = absl::UnknownError("not run");

  void Finish(absl::StatusOr<ScanResult> r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    done = true;
    cv.notify_all();
  }
  bool Wait(absl::Duration d) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return done; });
  }
};

Scanner::Scanner(const SnapshotHolder* snapshots, Metrics* metrics, int workers,
                 size_t max_queue)
    : snapshots_(snapshots), metrics_(metrics), max_queue_(std::max<size_t>(1, max_queue)) {
  workers = std::max(1, workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
}

Scanner::~Scanner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  // Anything still queued: wake its waiter (it has usually timed out already).
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& job : queue_) job->Finish(absl::UnavailableError("stopping"));
  queue_.clear();
}

absl::StatusOr<ScanResult> Scanner::Scan(ScanRequest request, absl::Duration deadline) {
  auto job = std::make_shared<Job>();
  job->snapshot = snapshots_->Get();
  if (job->snapshot == nullptr) return absl::UnavailableError("no pipeline loaded");
  job->request = std::move(request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("stopping");
    if (queue_.size() >= max_queue_) {
      return absl::ResourceExhaustedError(Cat("scan queue full (", queue_.size(), " waiting)"));
    }
    queue_.push_back(job);
    // Notified under the lock: once it is released this caller touches only `job`, so a
    // Scanner being destroyed at shutdown (it takes mu_ first) cannot free cv_ under a
    // notify still in progress (a TSan report in the Postfix test).
    cv_.notify_one();
  }
  if (!job->Wait(deadline)) {
    return absl::DeadlineExceededError(
        Cat("scan not done within ", absl::ToInt64Milliseconds(deadline), " ms"));
  }
  std::lock_guard<std::mutex> lock(job->mu);
  return std::move(job->result);
}

void Scanner::WorkerLoop(int index) {
  (void)index;
  std::shared_ptr<const config::Pipeline> ctx_owner;
  std::unique_ptr<config::Pipeline::Context> ctx;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const Snapshot& snap = *job->snapshot;
    if (ctx_owner != snap.pipeline) {
      // A new snapshot since this worker's last message (start-up or reload): new scratch.
      ctx.reset();
      ctx_owner = snap.pipeline;
      ctx = ctx_owner->NewContext();
    }
    job->Finish(ScanNow(snap, ctx.get(), job->request));
  }
  ctx.reset();
}

absl::StatusOr<ScanResult> Scanner::ScanNow(const Snapshot& snapshot,
                                            config::Pipeline::Context* ctx,
                                            const ScanRequest& request) {
  const config::Pipeline& p = *snapshot.pipeline;
  absl::StatusOr<std::unique_ptr<Message>> m = p.ParseEmail(request.raw);
  if (!m.ok()) return absl::InvalidArgumentError(Cat("parse: ", m.status().message()));
  (*m)->envelope = request.envelope;
  const config::Verdict v = p.Evaluate(**m, ctx, absl::Now());

  ScanResult r;
  PlanInput in;
  in.decision = &v.decision;
  in.rcpts = request.raw_rcpts;
  in.headers = request.headers;
  in.options = &snapshot.plan_options;
  r.plan = PlanActions(in);
  r.action = r.plan.action;
  r.generation = snapshot.generation;

  // The recipient whose action was carried out, for the score and the reason in the log.
  const RecipientDecision* top = nullptr;
  for (const RecipientDecision& rd : v.decision.recipients) {
    if (top == nullptr || ActionSeverity(rd.action) > ActionSeverity(top->action)) top = &rd;
  }
  r.score = top != nullptr ? top->score : v.decision.evidence_score;
  if (top != nullptr) {
    r.decided_by = Cat(RuleKindName(top->decided_by.kind), top->decided_by.rule.empty() ? "" : ":",
                       top->decided_by.rule);
  }
  std::vector<const Match*> hits;
  for (const Match& x : v.decision.evidence) {
    if (!x.hidden) hits.push_back(&x);
  }
  std::stable_sort(hits.begin(), hits.end(),
                   [](const Match* a, const Match* b) { return a->score > b->score; });
  for (const Match* x : hits) {
    r.rules.emplace_back(x->id);
    r.rule_scores.push_back(x->score);
  }
  return r;
}

}  // namespace veto::daemon
