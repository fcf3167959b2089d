#include "policy/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace veto::policy {
namespace {

// Channel index into per-channel arrays.
constexpr int kEmailIndex = 0;
constexpr int kSmsIndex = 1;
int Ci(Channel c) { return c == Channel::kEmail ? kEmailIndex : kSmsIndex; }
Channel ChannelAt(int ci) { return ci == kEmailIndex ? Channel::kEmail : Channel::kSms; }
std::string_view ChannelWord(Channel c) { return c == Channel::kEmail ? "email" : "sms"; }
std::string_view ChannelAdjective(Channel c) {
  return c == Channel::kEmail ? "an email" : "an SMS";
}

constexpr std::array<std::string_view, kIdentityKindCount> kAllowRules = {
    "allow.addresses", "allow.domains",     "allow.ips",       "allow.helos",
    "allow.msisdns",   "allow.short_codes", "allow.sender_ids"};
constexpr std::array<std::string_view, kIdentityKindCount> kDenyRules = {
    "deny.addresses", "deny.domains",     "deny.ips",       "deny.helos",
    "deny.msisdns",   "deny.short_codes", "deny.sender_ids"};
constexpr std::array<std::string_view, kIdentityKindCount> kSpamtrapRules = {
    "spamtraps.addresses", "spamtraps.domains",     "spamtraps.ips",       "spamtraps.helos",
    "spamtraps.msisdns",   "spamtraps.short_codes", "spamtraps.sender_ids"};

std::string_view RuleName(const std::array<std::string_view, kIdentityKindCount>& names,
                          IdentityKind k) {
  return names[static_cast<size_t>(k)];
}

std::string FormatScore(double v) { return absl::StrFormat("%.2f", v); }

struct ContentRule {
  std::string id;
  RuleKind kind = RuleKind::kKeyword;
  TextField field = TextField::kText;
  std::optional<Channel> channel;
  std::optional<ActionSpec> action;
  double score = 0;
  KeywordSet keywords;
  std::unique_ptr<const RE2> re;
  std::string pattern;
  int prefilter_id = -1;  // index in CompiledLayer::prefilters[field]
};

struct CompiledLayer {
  veto::Layer layer = veto::Layer::kOperator;
  IdentityList allow, deny;
  std::array<ActionSpec, 2> deny_action;
  std::vector<ContentRule> content;
  std::array<RegexPrefilter, 3> prefilters;  // the layer's regexes, per TextField
};

struct OwnedReply {
  std::string code, enhanced_code, text;
  SmtpReply View() const { return {code, enhanced_code, text}; }
};

struct EmailActions {
  std::string flag_header = "X-Spam-Flag";
  std::string score_header = "X-Spam-Score";
  std::string report_header = "X-Spam-Report";
  std::string subject_prefix = "[SPAM] ";
  std::string redirect_to;
  OwnedReply reject{"550", "5.7.1", "Message rejected as spam"};
  OwnedReply tempfail{"451", "4.7.1", "Try again later"};
};

struct ChannelTable {
  std::vector<Threshold> rows;  // highest min first
  ActionSpec default_action;
  veto::Layer default_layer = veto::Layer::kOperator;
};

// What a recipient's tenant (or, without one, the operator) provides.
struct TenantData {
  std::string name;
  CompiledLayer layer;
  bool has_layer = false;
  std::array<ChannelTable, 2> tables;
  EmailActions email;
  std::string sms_tag_prefix = "[SPAM] ";
  std::optional<bool> consent;
  absl::TimeZone tz;
};

// A sender-list lookup, done at most once per message (the sender is the same for every
// recipient).
struct CachedListHit {
  bool done = false;
  std::optional<ListHit> hit;

  const std::optional<ListHit>& Get(const IdentityList& list, const Sender& sender) {
    if (!done) {
      done = true;
      hit = list.MatchSender(sender);
    }
    return hit;
  }
};

struct ContentResult {
  bool done = false;
  const ContentRule* decisive = nullptr;
  std::string_view decisive_entry;
  absl::InlinedVector<PolicyHit, 2> score_hits;
  double score = 0;
};

}  // namespace

namespace {

// Per-message state shared by all recipients: the sender, the text, and content results
// that do not depend on the recipient (operator rules, each tenant's rules).
struct Context {
  const Message& m;
  const Scores& scores;
  absl::Time now;
  Channel ch;
  int ci;
  double signal_total = 0;
  Sender sender;
  MessageText text;
  ContentResult op_content;
  CachedListHit op_deny, op_allow;
  // Per tenant met in this message: its list hits and content results.
  struct TenantCache {
    const TenantData* tenant = nullptr;
    CachedListHit allow, deny;
    ContentResult content;
  };
  absl::InlinedVector<TenantCache, 2> tenants;

  TenantCache& For(const TenantData* t) {
    for (TenantCache& c : tenants) {
      if (c.tenant == t) return c;
    }
    TenantCache& c = tenants.emplace_back();
    c.tenant = t;
    return c;
  }

  Context(const Message& msg, const Scores& s, absl::Time t)
      : m(msg), scores(s), now(t), ch(msg.channel), ci(Ci(msg.channel)), text(msg) {}
};

const ContentResult& EvaluateContent(const CompiledLayer& layer, Context& ctx, ContentResult& out) {
  if (out.done) return out;
  out.done = true;
  std::array<RegexPrefilter::CandidateSet, 3> candidates;
  std::array<bool, 3> filtered = {false, false, false};
  for (const ContentRule& rule : layer.content) {
    if (rule.channel.has_value() && *rule.channel != ctx.ch) continue;
    std::string_view entry;
    if (rule.kind == RuleKind::kKeyword) {
      const int i = rule.keywords.Find(ctx.text, rule.field);
      if (i < 0) continue;
      entry = rule.keywords.phrase(i);
    } else {
      const auto f = static_cast<size_t>(rule.field);
      if (!filtered[f]) {
        filtered[f] = true;
        layer.prefilters[f].Candidates(ctx.text, rule.field, &candidates[f]);
      }
      if (rule.prefilter_id >= 0 && !candidates[f][static_cast<size_t>(rule.prefilter_id)]) {
        continue;  // lacks the literals it needs: cannot match
      }
      const std::string_view t = ctx.text.Get(rule.field);
      if (!RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), *rule.re)) continue;
      entry = rule.pattern;
    }
    if (rule.action.has_value()) {
      if (out.decisive == nullptr) {
        out.decisive = &rule;
        out.decisive_entry = entry;
      }
    } else {
      out.score_hits.push_back(PolicyHit{layer.layer, rule.kind, rule.id, entry, rule.score});
      out.score += rule.score;
    }
  }
  return out;
}

std::string NormalizeRecipient(Channel ch, std::string_view raw, std::string_view cc) {
  std::string out;
  if (ch == Channel::kEmail) {
    std::string_view a = ExtractAddress(raw);
    for (char c : a) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        absl::StatusOr<std::string> n = NormalizeAddress(a);
        if (n.ok()) return *std::move(n);
        break;
      }
    }
    out.assign(a);
    AsciiLowerInPlace(out);
    if (out.ends_with('.')) out.pop_back();
    return out;
  }
  if (ClassifySmsSender(raw, &out) == SmsSenderKind::kMsisdn) return out;
  absl::StatusOr<std::string> n = NormalizeMsisdn(raw, cc);
  if (n.ok()) return *std::move(n);
  out.assign(StripWhitespace(raw));
  return out;
}

// One recipient being resolved: each step of the table in policy.h may record hits; the
// first that decides sets the action, and later steps are skipped.
struct Resolution {
  RecipientDecision& r;
  Channel ch;
  bool decided = false;
  double policy_score = 0;  // from operator/tenant score rules

  void Decide(const PolicyHit& hit, const ActionSpec& a) {
    r.hits.push_back(hit);
    r.decided_by = hit;
    r.action = a.action;
    r.report = a.report;
    decided = true;
  }
  void Pass(const PolicyHit& hit) { Decide(hit, ActionSpec{PassAction(ch), false}); }
  // A layer's content rules: score rules add up, the first rule with an action decides.
  void Content(const ContentResult& c, veto::Layer layer) {
    for (const PolicyHit& hit : c.score_hits) r.hits.push_back(hit);
    policy_score += c.score;
    if (c.decisive != nullptr) {
      Decide({layer, c.decisive->kind, c.decisive->id, c.decisive_entry}, *c.decisive->action);
    }
  }
};

PolicyHit ListRuleHit(veto::Layer layer, RuleKind kind,
                      const std::array<std::string_view, kIdentityKindCount>& names,
                      const ListHit& hit) {
  return {layer, kind, RuleName(names, hit.kind), hit.entry};
}

}  // namespace

struct Policy::Impl {
  CompiledLayer op;
  IdentityList spamtraps;
  std::array<ActionSpec, 2> spamtrap_action, subscriber_action, quiet_action, fail_action;
  ConsentSpec consent;
  std::string default_cc;
  TenantData base;  // no tenant: the operator's tables, actions and zone
  std::vector<std::unique_ptr<TenantData>> tenants;
  StringViewMap<const TenantData*> by_name;
  StringViewMap<const TenantData*> by_domain;
  uint64_t prefix_lengths = 0;
  StringViewMap<const TenantData*> by_prefix;

  const TenantData* TenantFor(Channel ch, std::string_view recipient) const;

  // The steps of the table in policy.h, for one recipient.
  void Resolve(const SubscriberStore* store, Context& ctx, RecipientDecision& r) const;
  void HardRules(Context& ctx, Resolution& res) const;  // 1–2
  void SubscriberRules(Context& ctx, const SubscriberView& sub, const TenantData& eff,
                       Resolution& res) const;                                      // 4–7
  void TenantRules(Context& ctx, const TenantData& tenant, Resolution& res) const;  // 8–10
  void ScoreRules(Context& ctx, const TenantData& eff, Resolution& res) const;      // 11–12
};

const TenantData* Policy::Impl::TenantFor(Channel ch, std::string_view recipient) const {
  if (recipient.empty()) return nullptr;
  if (ch == Channel::kEmail) {
    if (by_domain.empty()) return nullptr;
    std::string_view d = AddressDomain(recipient);
    while (!d.empty()) {
      auto it = by_domain.find(d);
      if (it != by_domain.end()) return it->second;
      const size_t dot = d.find('.');
      if (dot == std::string_view::npos) break;
      d.remove_prefix(dot + 1);
    }
    return nullptr;
  }
  if (prefix_lengths == 0) return nullptr;
  for (size_t n = std::min<size_t>(recipient.size(), 63) + 1; n-- > 0;) {
    if (!(prefix_lengths >> n & 1)) continue;
    auto it = by_prefix.find(recipient.substr(0, n));
    if (it != by_prefix.end()) return it->second;
  }
  return nullptr;
}

// --------------------------------------------------------------------------------------------
// Decide.

Policy::Policy() : impl_(std::make_unique<Impl>()) {}
Policy::~Policy() = default;

namespace {

void FillActionParams(const TenantData& eff, const Context& ctx, RecipientDecision* r);

}  // namespace

Decision Policy::Decide(const Message& m, const Scores& scores, absl::Time now) const {
  Decision d;
  d.channel = m.channel;
  d.evidence_score = scores.total;
  Context ctx(m, scores, now);
  const Impl& p = *impl_;

  static const std::string kNoRecipient;
  const size_t n =
      m.channel == Channel::kEmail ? std::max<size_t>(1, m.envelope.rcpt_to.size()) : 1;
  d.recipients.resize(n);
  // Normalise every recipient first and let the store start fetching their records, so the
  // cache misses (or remote round trips) overlap the sender work below.
  for (size_t i = 0; i < n; ++i) {
    std::string_view raw = m.channel == Channel::kSms   ? m.sms.recipient
                           : m.envelope.rcpt_to.empty() ? std::string_view(kNoRecipient)
                                                        : m.envelope.rcpt_to[i];
    d.recipients[i].recipient = NormalizeRecipient(m.channel, raw, p.default_cc);
    if (store_ != nullptr && !d.recipients[i].recipient.empty()) {
      store_->Prefetch(d.recipients[i].recipient, 0);
    }
  }
  d.evidence.reserve(scores.matches.size());
  for (const Match& x : scores.matches) {
    if (x.kind == MatchKind::kSignal) ctx.signal_total += x.score;
    if (!x.hidden) d.evidence.push_back(x);
  }
  Sender::FromMessage(m, p.default_cc, &ctx.sender);
  // With several recipients, fetching every entry before resolving the first overlaps their
  // misses; with one there is nothing to overlap it with, so the second stage is skipped.
  if (store_ != nullptr && n > 1) {
    for (const RecipientDecision& r : d.recipients) {
      if (!r.recipient.empty()) store_->Prefetch(r.recipient, 1);
    }
  }
  int strictest = -1;
  for (RecipientDecision& r : d.recipients) {
    p.Resolve(store_.get(), ctx, r);
    if (ActionSeverity(r.action) > strictest) {
      strictest = ActionSeverity(r.action);
      d.action = r.action;
    }
  }
  return d;
}

void Policy::Impl::Resolve(const SubscriberStore* store, Context& ctx, RecipientDecision& r) const {
  const int ci = ctx.ci;
  const Channel ch = ctx.ch;
  Resolution res{r, ch};

  // Steps 1–2 need no subscriber record, so they run while the store is still fetching it
  // (and still apply when the store is down).
  HardRules(ctx, res);

  // The subscriber, its tenant and consent.
  SubscriberHandle h;
  bool found = false;
  if (store != nullptr && !r.recipient.empty()) {
    absl::StatusOr<bool> looked_up = store->Find(r.recipient, &h);
    if (!looked_up.ok()) {
      r.note = Cat("subscriber store: ", looked_up.status().ToString());
      if (!res.decided) {
        res.Decide({veto::Layer::kOperator, RuleKind::kFailMode, "subscriber_store", ""},
                   fail_action[ci]);
      }
    } else {
      found = *looked_up;
    }
  }
  const SubscriberView& sub = h.view;
  const TenantData* tenant = nullptr;
  if (found && !sub.tenant.empty()) {
    auto it = by_name.find(sub.tenant);
    if (it != by_name.end()) tenant = it->second;
  }
  if (tenant == nullptr) tenant = TenantFor(ch, r.recipient);
  const TenantData& eff = tenant != nullptr ? *tenant : base;
  r.tenant = tenant != nullptr ? std::string_view(tenant->name) : std::string_view();
  r.subscriber = found;
  r.subscriber_enabled = found && sub.enabled;
  r.thresholds = eff.tables[ci].rows;
  r.default_action = eff.tables[ci].default_action.action;

  std::optional<bool> c = found ? sub.consent : std::nullopt;
  if (!c.has_value() && tenant != nullptr) c = tenant->consent;
  if (!c.has_value()) {
    const bool required = ch == Channel::kEmail ? consent.email_required : consent.sms_required;
    c = required ? consent.default_consent : true;
  }
  r.content_inspected = *c;

  // 3: operator content rules.
  if (!res.decided && r.content_inspected && !op.content.empty()) {
    res.Content(EvaluateContent(op, ctx, ctx.op_content), veto::Layer::kOperator);
  }
  if (!res.decided && found) {
    if (sub.enabled) {
      SubscriberRules(ctx, sub, eff, res);
    } else {
      r.note = "subscriber rules switched off";
    }
  }
  if (!res.decided && tenant != nullptr) TenantRules(ctx, *tenant, res);
  ScoreRules(ctx, eff, res);
  FillActionParams(eff, ctx, &r);
}

void Policy::Impl::HardRules(Context& ctx, Resolution& res) const {
  if (auto hit = spamtraps.MatchRecipient(ctx.ch, res.r.recipient)) {
    res.Decide(ListRuleHit(veto::Layer::kOperator, RuleKind::kSpamtrap, kSpamtrapRules, *hit),
               spamtrap_action[ctx.ci]);
    return;
  }
  if (const auto& hit = ctx.op_deny.Get(op.deny, ctx.sender)) {
    res.Decide(ListRuleHit(veto::Layer::kOperator, RuleKind::kDenyList, kDenyRules, *hit),
               op.deny_action[ctx.ci]);
  }
}

void Policy::Impl::SubscriberRules(Context& ctx, const SubscriberView& sub, const TenantData& eff,
                                   Resolution& res) const {
  const ActionSpec sub_action = sub.action.value_or(subscriber_action[ctx.ci]);
  const ActionSpec quiet_action_spec = sub.quiet_action.value_or(quiet_action[ctx.ci]);
  bool quiet = false;
  if (sub.quiet.has_value()) {
    const absl::TimeZone& tz = sub.time_zone != nullptr ? *sub.time_zone : eff.tz;
    const absl::CivilSecond local = absl::ToCivilSecond(ctx.now, tz);
    quiet = sub.quiet->ContainsCivil(local);
    if (quiet) {
      res.r.note = absl::StrFormat("quiet hours %s in %s (local time %02d:%02d)",
                                   sub.quiet->ToString(), tz.name(), local.hour(), local.minute());
    }
  }
  const PolicyHit quiet_hit{veto::Layer::kSubscriber, RuleKind::kQuietHours, "quiet_hours", ""};
  // 4: allow list (quiet hours may still hold the message back).
  if (auto hit = sub.MatchAllow(ctx.sender)) {
    const PolicyHit allow_hit =
        ListRuleHit(veto::Layer::kSubscriber, RuleKind::kAllowList, kAllowRules, *hit);
    if (quiet && !sub.quiet_allowlist_bypasses) {
      res.r.hits.push_back(allow_hit);
      res.Decide(quiet_hit, quiet_action_spec);
    } else {
      res.Pass(allow_hit);
    }
    return;
  }
  // 5: block list.
  if (auto hit = sub.MatchDeny(ctx.sender)) {
    res.Decide(ListRuleHit(veto::Layer::kSubscriber, RuleKind::kDenyList, kDenyRules, *hit),
               sub_action);
    return;
  }
  // 6: quiet hours.
  if (quiet) {
    res.Decide(quiet_hit, quiet_action_spec);
    return;
  }
  // 7: keywords and regexes (content).
  if (!res.r.content_inspected) return;
  if (auto phrase = sub.MatchKeyword(ctx.text)) {
    res.Decide({veto::Layer::kSubscriber, RuleKind::kKeyword, "keywords", *phrase}, sub_action);
  } else if (auto pattern = sub.MatchRegex(ctx.text)) {
    res.Decide({veto::Layer::kSubscriber, RuleKind::kRegex, "regexes", *pattern}, sub_action);
  }
}

void Policy::Impl::TenantRules(Context& ctx, const TenantData& tenant, Resolution& res) const {
  if (!tenant.has_layer) return;
  const CompiledLayer& tl = tenant.layer;
  Context::TenantCache& cache = ctx.For(&tenant);
  if (const auto& hit = cache.allow.Get(tl.allow, ctx.sender)) {
    res.Pass(ListRuleHit(veto::Layer::kTenant, RuleKind::kAllowList, kAllowRules, *hit));
  } else if (const auto& deny = cache.deny.Get(tl.deny, ctx.sender)) {
    res.Decide(ListRuleHit(veto::Layer::kTenant, RuleKind::kDenyList, kDenyRules, *deny),
               tl.deny_action[ctx.ci]);
  } else if (res.r.content_inspected && !tl.content.empty()) {
    res.Content(EvaluateContent(tl, ctx, cache.content), veto::Layer::kTenant);
  }
}

void Policy::Impl::ScoreRules(Context& ctx, const TenantData& eff, Resolution& res) const {
  RecipientDecision& r = res.r;
  // 11: the operator's allow list.
  if (!res.decided) {
    if (const auto& hit = ctx.op_allow.Get(op.allow, ctx.sender)) {
      res.Pass(ListRuleHit(veto::Layer::kOperator, RuleKind::kAllowList, kAllowRules, *hit));
    }
  }
  // 12: score → thresholds (computed even when decided, for the explanation).
  r.score = (r.content_inspected ? ctx.scores.total : ctx.signal_total) + res.policy_score;
  if (res.decided) return;
  for (const Threshold& row : r.thresholds) {
    if (r.score >= row.min) {
      res.Decide({row.layer, RuleKind::kThreshold, "thresholds", ActionName(row.action), row.min},
                 ActionSpec{row.action, row.report});
      return;
    }
  }
  const ChannelTable& table = eff.tables[ctx.ci];
  res.Decide({table.default_layer, RuleKind::kDefault, "default_action",
              ActionName(table.default_action.action)},
             table.default_action);
}

namespace {

std::string Explanation(const Context& ctx, const RecipientDecision& r) {
  std::string out =
      Cat("score=", FormatScore(r.score), " action=", ActionName(r.action),
          " by=", LayerName(r.decided_by.layer), "/", RuleKindName(r.decided_by.kind));
  if (!r.decided_by.entry.empty()) out += Cat(":", r.decided_by.entry);
  if (!r.content_inspected) out += Cat(" content=off");
  out += Cat(" tests=");
  bool first = true;
  for (const Match& x : ctx.scores.matches) {
    if (x.hidden || (!r.content_inspected && x.kind != MatchKind::kSignal)) continue;
    out += Cat(first ? "" : ",", x.id, "(", FormatScore(x.score), ")");
    first = false;
  }
  for (const PolicyHit& h : r.hits) {
    if (h.kind != RuleKind::kKeyword && h.kind != RuleKind::kRegex) continue;
    out += Cat(first ? "" : ",", h.rule, "(", FormatScore(h.score), ")");
    first = false;
  }
  if (first) out.append("none");
  return out;
}

void FillActionParams(const TenantData& eff, const Context& ctx, RecipientDecision* r) {
  if (ctx.ch == Channel::kSms) {
    if (r->action == Action::kTag) r->prefix = eff.sms_tag_prefix;
    return;
  }
  const EmailActions& a = eff.email;
  switch (r->action) {
    case Action::kReject:
      r->reply = a.reject.View();
      return;
    case Action::kTempfail:
      r->reply = a.tempfail.View();
      return;
    case Action::kTag:
    case Action::kRewriteSubject:
    case Action::kQuarantine:
    case Action::kRedirect:
      if (!a.flag_header.empty()) r->add_headers.push_back({a.flag_header, "YES"});
      if (!a.score_header.empty())
        r->add_headers.push_back({a.score_header, FormatScore(r->score)});
      if (!a.report_header.empty())
        r->add_headers.push_back({a.report_header, Explanation(ctx, *r)});
      if (r->action == Action::kRewriteSubject) r->prefix = a.subject_prefix;
      if (r->action == Action::kRedirect) r->redirect_to = a.redirect_to;
      return;
    default:
      return;
  }
}

}  // namespace

// --------------------------------------------------------------------------------------------
// Compilation and validation.

class PolicyCompiler {
 public:
  PolicyCompiler(const PolicySpec& spec, const SubscriberStore* store)
      : spec_(spec), store_(store), policy_(new Policy()), p_(*policy_->impl_) {}

  std::vector<SpecProblem> Run();
  std::unique_ptr<Policy> Take(std::shared_ptr<const SubscriberStore> store) {
    policy_->store_ = std::move(store);
    return std::move(policy_);
  }

 private:
  void P(std::string path, std::string problem) {
    problems_.push_back({std::move(path), std::move(problem)});
  }

  // An action for channel `ch` at `path`; also records redirect uses for the later check.
  bool CheckAction(const ActionSpec& a, Channel ch, const std::string& path,
                   const TenantData* scope);
  void ResolveChannelActions(const ChannelActions& spec, const std::string& path,
                             const std::array<ActionSpec, 2>& defaults,
                             std::array<ActionSpec, 2>* out, const TenantData* scope);
  void CompileLayer(const LayerSpec& spec, const std::string& path, veto::Layer layer,
                    const std::array<ActionSpec, 2>& deny_defaults, CompiledLayer* out,
                    const TenantData* scope);
  void CompileContent(const LayerSpec& spec, const std::string& path, veto::Layer layer,
                      CompiledLayer* out, const TenantData* scope);
  void ResolveEmailActions(const EmailActionsSpec& spec, const std::string& path,
                           EmailActions* out);
  void CheckReply(const SmtpReplySpec& r, char klass, const std::string& path, OwnedReply* out);
  void CheckOneLine(const std::string& v, const std::string& path);
  void CompileOperatorTable(const ChannelSpec& spec, Channel ch, const std::string& path,
                            ChannelTable* out);
  void CompileTenantTable(const ChannelSpec& spec, Channel ch, const std::string& path,
                          const ChannelTable& base, ChannelTable* out, const TenantData* scope);
  void CheckSortedRows(std::vector<Threshold>* rows, const std::string& path);
  void CompileTenant(const TenantSpec& spec, size_t index);

  const PolicySpec& spec_;
  const SubscriberStore* store_;
  std::unique_ptr<Policy> policy_;
  Policy::Impl& p_;
  std::vector<SpecProblem> problems_;
  RegexLimits limits_;
  // Where `redirect` is configured, and for which tenant (null: operator scope).
  std::vector<std::pair<std::string, const TenantData*>> redirects_;
};

bool PolicyCompiler::CheckAction(const ActionSpec& a, Channel ch, const std::string& path,
                                 const TenantData* scope) {
  if (!ActionFitsChannel(a.action, ch)) {
    P(path, absl::StrFormat("\"%s\" is not %s action (expected one of %s)", ActionName(a.action),
                            ChannelAdjective(ch),
                            ch == Channel::kEmail
                                ? "accept, tag, rewrite_subject, quarantine, redirect, reject, "
                                  "tempfail, discard"
                                : "deliver, tag, hold, block, throttle_sender"));
    return false;
  }
  if (a.action == Action::kRedirect) redirects_.emplace_back(path, scope);
  return true;
}

void PolicyCompiler::ResolveChannelActions(const ChannelActions& spec, const std::string& path,
                                           const std::array<ActionSpec, 2>& defaults,
                                           std::array<ActionSpec, 2>* out,
                                           const TenantData* scope) {
  *out = defaults;
  for (int ci : {kEmailIndex, kSmsIndex}) {
    const std::optional<ActionSpec>& a = ci == kEmailIndex ? spec.email : spec.sms;
    if (!a.has_value()) continue;
    const Channel ch = ChannelAt(ci);
    if (CheckAction(*a, ch, Cat(path, ".", ChannelWord(ch)), scope)) (*out)[ci] = *a;
  }
}

void PolicyCompiler::CompileLayer(const LayerSpec& spec, const std::string& path, veto::Layer layer,
                                  const std::array<ActionSpec, 2>& deny_defaults,
                                  CompiledLayer* out, const TenantData* scope) {
  out->layer = layer;
  out->allow.Build(spec.allow, path + ".allow", &problems_);
  out->deny.Build(spec.deny, path + ".deny", &problems_);
  ResolveChannelActions(spec.deny_action, path + ".deny_action", deny_defaults, &out->deny_action,
                        scope);
  CompileContent(spec, path, layer, out, scope);
}

void PolicyCompiler::CompileContent(const LayerSpec& spec, const std::string& path,
                                    veto::Layer layer, CompiledLayer* out,
                                    const TenantData* scope) {
  (void)layer;
  absl::flat_hash_set<std::string> ids;
  auto common = [&](const std::string& rpath, const std::string& id,
                    const std::optional<ActionSpec>& action, double score,
                    const std::optional<Channel>& channel) {
    bool ok = true;
    if (id.empty()) {
      P(rpath + ".id", "missing");
      ok = false;
    } else if (!ids.insert(id).second) {
      P(rpath + ".id", absl::StrFormat("duplicate rule id \"%s\" in %s", id, path));
      ok = false;
    }
    if (!std::isfinite(score)) {
      P(rpath + ".score", absl::StrFormat("not a finite number (got %f)", score));
      ok = false;
    }
    if (action.has_value() && score != 0) {
      P(rpath, "has both an action and a score (expected one of them)");
      ok = false;
    } else if (!action.has_value() && score == 0) {
      P(rpath, "needs an action or a non-zero score");
      ok = false;
    }
    if (action.has_value()) {
      if (channel.has_value()) {
        ok = CheckAction(*action, *channel, rpath + ".action", scope) && ok;
      } else {
        for (Channel ch : {Channel::kEmail, Channel::kSms}) {
          if (!ActionFitsChannel(action->action, ch)) {
            P(rpath + ".action",
              absl::StrFormat("\"%s\" is not %s action; set .channel for a rule of one channel",
                              ActionName(action->action), ChannelAdjective(ch)));
            ok = false;
            break;
          }
        }
      }
    }
    return ok;
  };
  for (size_t i = 0; i < spec.keywords.size(); ++i) {
    const KeywordRuleSpec& k = spec.keywords[i];
    const std::string rpath = Cat(path, ".keywords[", i, "]");
    bool ok = common(rpath, k.id, k.action, k.score, k.channel);
    std::vector<std::string> folded;
    if (k.phrases.empty()) {
      P(rpath + ".phrases", "empty (expected at least one phrase)");
      ok = false;
    }
    for (size_t j = 0; j < k.phrases.size(); ++j) {
      absl::StatusOr<std::string> f = FoldPhrase(k.phrases[j]);
      if (!f.ok()) {
        P(Cat(rpath, ".phrases[", j, "]"), std::string(f.status().message()));
        ok = false;
      } else {
        folded.push_back(*std::move(f));
      }
    }
    if (!ok) continue;
    ContentRule& r = out->content.emplace_back();
    r.id = k.id;
    r.kind = RuleKind::kKeyword;
    r.field = k.field;
    r.channel = k.channel;
    r.action = k.action;
    r.score = k.score;
    r.keywords = KeywordSet::FromFolded(std::move(folded));
  }
  for (size_t i = 0; i < spec.regexes.size(); ++i) {
    const RegexRuleSpec& x = spec.regexes[i];
    const std::string rpath = Cat(path, ".regexes[", i, "]");
    bool ok = common(rpath, x.id, x.action, x.score, x.channel);
    absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex(x.pattern, limits_);
    if (!re.ok()) {
      P(rpath + ".pattern", std::string(re.status().message()));
      ok = false;
    }
    if (!ok) continue;
    ContentRule& r = out->content.emplace_back();
    r.id = x.id;
    r.kind = RuleKind::kRegex;
    r.field = x.field;
    r.channel = x.channel;
    r.action = x.action;
    r.score = x.score;
    r.re = *std::move(re);
    r.pattern = x.pattern;
    RegexPrefilter& filter = out->prefilters[static_cast<size_t>(x.field)];
    const int id = filter.size();
    if (filter.Add(x.pattern, limits_)) r.prefilter_id = id;  // else: always run it
  }
  for (RegexPrefilter& f : out->prefilters) f.Compile();
}

void PolicyCompiler::CheckOneLine(const std::string& v, const std::string& path) {
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') {
      P(path, Cat("not one line of text ", Got(v)));
      return;
    }
  }
}

void PolicyCompiler::CheckReply(const SmtpReplySpec& r, char klass, const std::string& path,
                                OwnedReply* out) {
  bool ok = true;
  if (r.code.size() != 3 || r.code[0] != klass || !absl::ascii_isdigit(r.code[1]) ||
      !absl::ascii_isdigit(r.code[2]) || r.code[1] > '5') {
    P(path + ".code", absl::StrFormat("not a %cxx reply code %s", klass, Got(r.code)));
    ok = false;
  }
  if (!r.enhanced_code.empty()) {
    // class.subject.detail: 1 digit, 1–3 digits, 1–3 digits (RFC 3463).
    std::vector<std::string_view> parts = Split(r.enhanced_code, '.');
    bool good = parts.size() == 3 && parts[0].size() == 1 && parts[0][0] == klass;
    for (size_t i = 1; good && i < 3; ++i) {
      good = !parts[i].empty() && parts[i].size() <= 3;
      for (char c : parts[i]) good = good && absl::ascii_isdigit(static_cast<unsigned char>(c));
    }
    if (!good) {
      P(path + ".enhanced_code", absl::StrFormat("not an enhanced status code like \"%c.7.1\" %s",
                                                 klass, Got(r.enhanced_code)));
      ok = false;
    }
  }
  bool printable = !r.text.empty() && r.text.size() <= 400;
  for (char c : r.text) printable = printable && c >= 0x20 && c <= 0x7e;
  if (!printable) {
    P(path + ".text", Cat("not printable ASCII on one line (1-400 characters) ", Got(r.text)));
    ok = false;
  }
  if (ok) *out = OwnedReply{r.code, r.enhanced_code, r.text};
}

void PolicyCompiler::ResolveEmailActions(const EmailActionsSpec& spec, const std::string& path,
                                         EmailActions* out) {
  auto header = [&](const std::optional<std::string>& v, const char* key, std::string* dst) {
    if (!v.has_value()) return;
    bool ok = true;
    for (char c : *v) ok = ok && c >= 33 && c <= 126 && c != ':';
    if (!ok) {
      P(Cat(path, ".", key), Cat("not a header field name ", Got(*v)));
      return;
    }
    *dst = *v;
  };
  header(spec.flag_header, "flag_header", &out->flag_header);
  header(spec.score_header, "score_header", &out->score_header);
  header(spec.report_header, "report_header", &out->report_header);
  if (spec.subject_prefix.has_value()) {
    CheckOneLine(*spec.subject_prefix, path + ".subject_prefix");
    out->subject_prefix = *spec.subject_prefix;
  }
  if (spec.redirect_to.has_value()) {
    absl::StatusOr<std::string> a = NormalizeAddress(*spec.redirect_to);
    if (!a.ok()) {
      P(path + ".redirect_to", std::string(a.status().message()));
    } else {
      out->redirect_to = *std::move(a);
    }
  }
  if (spec.reject_reply.has_value()) {
    CheckReply(*spec.reject_reply, '5', path + ".reject_reply", &out->reject);
  }
  if (spec.tempfail_reply.has_value()) {
    CheckReply(*spec.tempfail_reply, '4', path + ".tempfail_reply", &out->tempfail);
  }
}

void PolicyCompiler::CheckSortedRows(std::vector<Threshold>* rows, const std::string& path) {
  std::stable_sort(rows->begin(), rows->end(),
                   [](const Threshold& a, const Threshold& b) { return a.min > b.min; });
  for (size_t i = 1; i < rows->size(); ++i) {
    // A clash between two inherited rows was already reported for the operator's table.
    const bool inherited = (*rows)[i].layer == veto::Layer::kOperator &&
                           (*rows)[i - 1].layer == veto::Layer::kOperator &&
                           path.starts_with("tenants.");
    if ((*rows)[i].min == (*rows)[i - 1].min && !inherited) {
      P(path, absl::StrFormat("rows \"%s\" and \"%s\" have the same min %g",
                              ActionName((*rows)[i - 1].action), ActionName((*rows)[i].action),
                              (*rows)[i].min));
    }
  }
}

void PolicyCompiler::CompileOperatorTable(const ChannelSpec& spec, Channel ch,
                                          const std::string& path, ChannelTable* out) {
  const std::string tpath = path + ".thresholds";
  absl::flat_hash_set<Action> seen;
  for (size_t i = 0; i < spec.thresholds.size(); ++i) {
    const ThresholdSpec& t = spec.thresholds[i];
    const std::string rpath = Cat(tpath, "[", i, "]");
    bool ok = CheckAction(ActionSpec{t.action, t.report}, ch, rpath + ".action", nullptr);
    if (ok && !seen.insert(t.action).second) {
      P(rpath + ".action", absl::StrFormat("duplicate row for \"%s\"", ActionName(t.action)));
      ok = false;
    }
    if (!t.min.has_value()) {
      P(rpath + ".min", "missing");
      ok = false;
    } else if (!std::isfinite(*t.min)) {
      P(rpath + ".min", absl::StrFormat("not a finite number (got %f)", *t.min));
      ok = false;
    }
    if (ok) out->rows.push_back(Threshold{*t.min, t.action, t.report, veto::Layer::kOperator});
  }
  CheckSortedRows(&out->rows, tpath);
  out->default_action = ActionSpec{PassAction(ch), false};
  out->default_layer = veto::Layer::kOperator;
  if (spec.default_action.has_value() &&
      CheckAction(*spec.default_action, ch, path + ".default_action", nullptr)) {
    out->default_action = *spec.default_action;
  }
}

void PolicyCompiler::CompileTenantTable(const ChannelSpec& spec, Channel ch,
                                        const std::string& path, const ChannelTable& base,
                                        ChannelTable* out, const TenantData* scope) {
  const std::string tpath = path + ".thresholds";
  *out = base;
  absl::flat_hash_set<Action> seen;
  for (size_t i = 0; i < spec.thresholds.size(); ++i) {
    const ThresholdSpec& t = spec.thresholds[i];
    const std::string rpath = Cat(tpath, "[", i, "]");
    if (!CheckAction(ActionSpec{t.action, t.report}, ch, rpath + ".action", scope)) continue;
    if (!seen.insert(t.action).second) {
      P(rpath + ".action", absl::StrFormat("duplicate row for \"%s\"", ActionName(t.action)));
      continue;
    }
    auto it = std::find_if(out->rows.begin(), out->rows.end(),
                           [&](const Threshold& row) { return row.action == t.action; });
    if (!t.min.has_value()) {
      if (it == out->rows.end()) {
        P(rpath, absl::StrFormat("removes \"%s\", which the operator's %s table does not have",
                                 ActionName(t.action), ChannelWord(ch)));
      } else {
        out->rows.erase(it);
      }
      continue;
    }
    if (!std::isfinite(*t.min)) {
      P(rpath + ".min", absl::StrFormat("not a finite number (got %f)", *t.min));
      continue;
    }
    const Threshold row{*t.min, t.action, t.report, veto::Layer::kTenant};
    if (it != out->rows.end()) {
      *it = row;
    } else {
      out->rows.push_back(row);
    }
  }
  CheckSortedRows(&out->rows, tpath);
  if (spec.default_action.has_value() &&
      CheckAction(*spec.default_action, ch, path + ".default_action", scope)) {
    out->default_action = *spec.default_action;
    out->default_layer = veto::Layer::kTenant;
  }
}

void PolicyCompiler::CompileTenant(const TenantSpec& spec, size_t index) {
  bool name_ok = !spec.name.empty();
  for (char c : spec.name) {
    name_ok = name_ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                          c == '-' || c == '.');
  }
  if (!name_ok) {
    P(Cat("tenants[", index, "].name"),
      Cat("not a tenant name: letters, digits, '_', '-', '.' ", Got(spec.name)));
    return;
  }
  const std::string path = Cat("tenants.", spec.name);
  if (p_.by_name.contains(spec.name)) {
    P(path + ".name", "duplicate tenant name");
    return;
  }
  auto owned = std::make_unique<TenantData>();
  TenantData& t = *owned;
  t.name = spec.name;
  t.has_layer = true;
  t.consent = spec.consent;
  CompileLayer(spec, path, veto::Layer::kTenant, p_.op.deny_action, &t.layer, &t);
  t.email = p_.base.email;
  ResolveEmailActions(spec.email_actions, path + ".email_actions", &t.email);
  t.sms_tag_prefix = p_.base.sms_tag_prefix;
  if (spec.sms_actions.tag_prefix.has_value()) {
    CheckOneLine(*spec.sms_actions.tag_prefix, path + ".sms_actions.tag_prefix");
    t.sms_tag_prefix = *spec.sms_actions.tag_prefix;
  }
  CompileTenantTable(spec.email, Channel::kEmail, path + ".email", p_.base.tables[kEmailIndex],
                     &t.tables[kEmailIndex], &t);
  CompileTenantTable(spec.sms, Channel::kSms, path + ".sms", p_.base.tables[kSmsIndex],
                     &t.tables[kSmsIndex], &t);
  t.tz = p_.base.tz;
  if (!spec.time_zone.empty()) {
    absl::StatusOr<absl::TimeZone> tz = LoadZone(spec.time_zone);
    if (!tz.ok()) {
      P(path + ".time_zone", std::string(tz.status().message()));
    } else {
      t.tz = *tz;
    }
  }
  for (size_t i = 0; i < spec.domains.size(); ++i) {
    const std::string dpath = Cat(path, ".domains[", i, "]");
    absl::StatusOr<std::string> d = NormalizeDomain(spec.domains[i]);
    if (!d.ok()) {
      P(dpath, std::string(d.status().message()));
      continue;
    }
    auto [it, inserted] = p_.by_domain.emplace(*d, &t);
    if (!inserted && it->second != &t) {
      P(dpath, absl::StrFormat("\"%s\" already belongs to tenant \"%s\"", *d, it->second->name));
    }
  }
  for (size_t i = 0; i < spec.msisdn_prefixes.size(); ++i) {
    const std::string ppath = Cat(path, ".msisdn_prefixes[", i, "]");
    absl::StatusOr<std::string> m = NormalizeMsisdnPattern(spec.msisdn_prefixes[i]);
    if (!m.ok() || !m->ends_with('*') || m->find('?') != std::string::npos) {
      P(ppath, Cat("not an MSISDN prefix like \"+4477009*\" ", Got(spec.msisdn_prefixes[i])));
      continue;
    }
    std::string prefix = m->substr(0, m->size() - 1);
    auto [it, inserted] = p_.by_prefix.emplace(prefix, &t);
    if (!inserted && it->second != &t) {
      P(ppath, absl::StrFormat("\"%s\" already belongs to tenant \"%s\"", *m, it->second->name));
      continue;
    }
    p_.prefix_lengths |= uint64_t{1} << std::min<size_t>(prefix.size(), 63);
  }
  p_.by_name.emplace(t.name, &t);
  p_.tenants.push_back(std::move(owned));
}

std::vector<SpecProblem> PolicyCompiler::Run() {
  const OperatorSpec& op = spec_.operator_layer;
  const std::string path = "operator";
  limits_ = op.regex_limits;
  if (limits_.max_mem <= 0) {
    P("operator.regex_limits.max_mem",
      absl::StrFormat("must be positive (got %d)", limits_.max_mem));
    limits_.max_mem = RegexLimits().max_mem;
  }
  if (limits_.max_pattern_bytes == 0) {
    P("operator.regex_limits.max_pattern_bytes", "must be positive (got 0)");
    limits_.max_pattern_bytes = RegexLimits().max_pattern_bytes;
  }
  if (!op.default_country_code.empty()) {
    bool ok = op.default_country_code.size() <= 3 && op.default_country_code[0] != '0';
    for (char c : op.default_country_code)
      ok = ok && absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!ok) {
      P("operator.default_country_code",
        Cat("not a country code: 1-3 digits ", Got(op.default_country_code)));
    } else {
      p_.default_cc = op.default_country_code;
    }
  }
  absl::StatusOr<absl::TimeZone> tz = LoadZone(op.time_zone);
  if (!tz.ok()) {
    P("operator.time_zone", std::string(tz.status().message()));
  } else {
    p_.base.tz = *tz;
  }
  p_.consent = op.consent;

  using A = Action;
  CompileLayer(op, path, veto::Layer::kOperator,
               {ActionSpec{A::kReject, false}, ActionSpec{A::kBlock, false}}, &p_.op, nullptr);
  p_.spamtraps.Build(op.spamtraps, "operator.spamtraps", &problems_);
  ResolveChannelActions(op.spamtrap_action, "operator.spamtrap_action",
                        {ActionSpec{A::kDiscard, true}, ActionSpec{A::kBlock, true}},
                        &p_.spamtrap_action, nullptr);
  ResolveChannelActions(op.subscriber_action, "operator.subscriber_action",
                        {ActionSpec{A::kQuarantine, false}, ActionSpec{A::kHold, false}},
                        &p_.subscriber_action, nullptr);
  ResolveChannelActions(op.quiet_action, "operator.quiet_action",
                        {ActionSpec{A::kQuarantine, false}, ActionSpec{A::kHold, false}},
                        &p_.quiet_action, nullptr);
  ResolveChannelActions(op.fail_action, "operator.fail_action",
                        {ActionSpec{A::kTempfail, false}, ActionSpec{A::kDeliver, false}},
                        &p_.fail_action, nullptr);
  ResolveEmailActions(op.email_actions, "operator.email_actions", &p_.base.email);
  if (op.sms_actions.tag_prefix.has_value()) {
    CheckOneLine(*op.sms_actions.tag_prefix, "operator.sms_actions.tag_prefix");
    p_.base.sms_tag_prefix = *op.sms_actions.tag_prefix;
  }
  CompileOperatorTable(op.email, Channel::kEmail, "operator.email", &p_.base.tables[kEmailIndex]);
  CompileOperatorTable(op.sms, Channel::kSms, "operator.sms", &p_.base.tables[kSmsIndex]);

  for (size_t i = 0; i < spec_.tenants.size(); ++i) CompileTenant(spec_.tenants[i], i);

  // Every `redirect` needs a spam mailbox where it can apply: the operator's for operator-level
  // rules (they reach every tenant), the tenant's (or inherited) one for tenant rules.
  for (const auto& [rpath, scope] : redirects_) {
    if (scope == nullptr && p_.base.email.redirect_to.empty()) {
      P(rpath, "\"redirect\" needs operator.email_actions.redirect_to");
    } else if (scope != nullptr && scope->email.redirect_to.empty()) {
      P(rpath, absl::StrFormat("\"redirect\" needs tenants.%s.email_actions.redirect_to or "
                               "operator.email_actions.redirect_to",
                               scope->name));
    }
  }
  if (store_ != nullptr) {
    for (const std::string& name : store_->TenantNames()) {
      if (!p_.by_name.contains(name)) {
        P("subscribers", absl::StrFormat("tenant \"%s\" is not defined in tenants", name));
      }
    }
  }
  return std::move(problems_);
}

std::vector<SpecProblem> CheckPolicySpec(const PolicySpec& spec,
                                         const SubscriberStore* subscribers) {
  PolicyCompiler c(spec, subscribers);
  return c.Run();
}

absl::StatusOr<std::shared_ptr<const Policy>> BuildPolicy(
    const PolicySpec& spec, std::shared_ptr<const SubscriberStore> subscribers) {
  PolicyCompiler c(spec, subscribers.get());
  std::vector<SpecProblem> problems = c.Run();
  if (!problems.empty()) {
    std::vector<std::string> lines;
    lines.reserve(problems.size());
    for (const SpecProblem& p : problems) lines.push_back(p.ToString());
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  return std::shared_ptr<const Policy>(c.Take(std::move(subscribers)));
}

}  // namespace veto::policy
