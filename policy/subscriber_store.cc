#include "policy/subscriber_store.h"

#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <new>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace veto::policy {
namespace {

// Encoded rules: a sequence of entries [tag][len][payload], tag = list << 4 | kind.
// IP payloads are [is_v4][bits in the 128-bit form][16 address bytes] followed by the text.
enum RuleList : uint8_t { kAllow = 0, kDeny = 1, kKeyword = 2, kRegex = 3 };
constexpr size_t kIpBinary = 18;

enum Flag : uint8_t {
  kEnabled = 1 << 0,
  kConsentSet = 1 << 1,
  kConsent = 1 << 2,
  kActionSet = 1 << 3,
  kQuiet = 1 << 4,
  kQuietBypass = 1 << 5,
  kQuietActionSet = 1 << 6,
};

struct Entry {
  RuleList list;
  uint8_t kind;
  std::string_view payload;
};

// Walks the encoded entries. The encoding is produced by the Builder only, so it is trusted.
template <typename F>
bool ForEachEntry(std::string_view rules, F&& f) {
  size_t i = 0;
  while (i + 2 <= rules.size()) {
    const auto tag = static_cast<uint8_t>(rules[i]);
    const auto len = static_cast<uint8_t>(rules[i + 1]);
    const Entry e{static_cast<RuleList>(tag >> 4), static_cast<uint8_t>(tag & 0x0f),
                  rules.substr(i + 2, len)};
    if (f(e)) return true;
    i += 2 + len;
  }
  return false;
}

void AppendEntry(RuleList list, uint8_t kind, std::string_view payload, std::string* out) {
  out->push_back(static_cast<char>(list << 4 | kind));
  out->push_back(static_cast<char>(static_cast<uint8_t>(payload.size())));
  out->append(payload);
}

bool DomainMatches(std::string_view domain, std::string_view entry) {
  if (domain.size() < entry.size() || !domain.ends_with(entry)) return false;
  return domain.size() == entry.size() || domain[domain.size() - entry.size() - 1] == '.';
}

std::string_view IpText(std::string_view payload) { return payload.substr(kIpBinary); }

bool IpMatches(std::string_view payload, const IpAddress& ip) {
  const bool v4 = payload[0] != 0;
  if (v4 != ip.is_v4) return false;
  const int bits = static_cast<uint8_t>(payload[1]);
  IpAddress base;
  std::memcpy(base.bytes.data(), payload.data() + 2, 16);
  return MaskIp(ip, bits).bytes == base.bytes;
}

// Does entry `e` (an allow/deny identity) match the sender? Returns the text to report.
std::optional<std::string_view> EntryMatches(const Entry& e, const Sender& s) {
  const auto kind = static_cast<IdentityKind>(e.kind);
  if (s.channel == Channel::kEmail) {
    switch (kind) {
      case IdentityKind::kAddress:
        if ((!s.mail_from.empty() && s.mail_from == e.payload) || s.from_header == e.payload) {
          return e.payload;
        }
        return std::nullopt;
      case IdentityKind::kDomain:
        if ((!s.mail_from_domain.empty() && DomainMatches(s.mail_from_domain, e.payload)) ||
            (!s.from_header_domain.empty() && DomainMatches(s.from_header_domain, e.payload))) {
          return e.payload;
        }
        return std::nullopt;
      case IdentityKind::kIp:
        if (s.ip.has_value() && IpMatches(e.payload, *s.ip)) return IpText(e.payload);
        return std::nullopt;
      case IdentityKind::kHelo:
        if (!s.helo.empty() && s.helo == e.payload) return e.payload;
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }
  switch (kind) {
    case IdentityKind::kMsisdn:
      if (s.sms_kind == SmsSenderKind::kMsisdn && MsisdnPatternMatches(e.payload, s.sms_sender)) {
        return e.payload;
      }
      return std::nullopt;
    case IdentityKind::kShortCode:
      if (s.sms_kind == SmsSenderKind::kShortCode && s.sms_sender == e.payload) return e.payload;
      return std::nullopt;
    case IdentityKind::kSenderId:
      if (s.sms_kind != SmsSenderKind::kAlphanumeric) return std::nullopt;
      if (e.payload.ends_with('*')
              ? s.sms_sender.starts_with(e.payload.substr(0, e.payload.size() - 1))
              : s.sms_sender == e.payload) {
        return e.payload;
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<ListHit> MatchList(std::string_view rules, RuleList list, const Sender& s) {
  std::optional<ListHit> hit;
  ForEachEntry(rules, [&](const Entry& e) {
    if (e.list != list) return false;
    if (auto text = EntryMatches(e, s)) {
      hit = ListHit{static_cast<IdentityKind>(e.kind), *text};
      return true;
    }
    return false;
  });
  return hit;
}

template <typename List>  // IdentityListSpec, const or not
auto& ListFor(List& l, IdentityKind k) {
  switch (k) {
    case IdentityKind::kAddress:
      return l.addresses;
    case IdentityKind::kDomain:
      return l.domains;
    case IdentityKind::kIp:
      return l.ips;
    case IdentityKind::kHelo:
      return l.helos;
    case IdentityKind::kMsisdn:
      return l.msisdns;
    case IdentityKind::kShortCode:
      return l.short_codes;
    case IdentityKind::kSenderId:
      return l.sender_ids;
  }
  return l.addresses;
}

std::optional<bool> ParseBool(std::string_view v) {
  const std::string s = AsciiLower(v);
  if (s == "yes" || s == "on" || s == "true" || s == "1") return true;
  if (s == "no" || s == "off" || s == "false" || s == "0") return false;
  return std::nullopt;
}

std::optional<ActionSpec> ParseActionSpec(std::string_view v) {
  ActionSpec a;
  if (v.ends_with("+report")) {
    a.report = true;
    v.remove_suffix(7);
  }
  std::optional<Action> action = ActionFromName(v);
  if (!action.has_value()) return std::nullopt;
  a.action = *action;
  return a;
}

uint8_t PackAction(const ActionSpec& a) {
  return static_cast<uint8_t>(static_cast<uint8_t>(a.action) | (a.report ? 0x80 : 0));
}

ActionSpec UnpackAction(uint8_t v) {
  return ActionSpec{static_cast<Action>(v & 0x7f), (v & 0x80) != 0};
}

// Subscriber-chosen actions act on the subscriber's own mail only.
std::optional<std::string> CheckSubscriberAction(const ActionSpec& a, Channel ch) {
  if (!ActionFitsChannel(a.action, ch)) {
    return absl::StrFormat("\"%s\" is not an %s action", ActionName(a.action),
                           ch == Channel::kEmail ? "email" : "SMS");
  }
  if (a.action == Action::kRedirect || a.action == Action::kThrottleSender) {
    return absl::StrFormat("\"%s\" is not available to subscribers", ActionName(a.action));
  }
  return std::nullopt;
}

}  // namespace

// --------------------------------------------------------------------------------------------

namespace internal {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
size_t RoundUp(size_t n) { return (n + kHugePage - 1) / kHugePage * kHugePage; }
}  // namespace

void* HugeAllocate(size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  void* p =
      mmap(nullptr, RoundUp(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, RoundUp(bytes), MADV_HUGEPAGE);  // a hint: without THP it is plain memory
  return p;
}

void HugeDeallocate(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kHugePage) {
    ::operator delete(p);
    return;
  }
  munmap(p, RoundUp(bytes));
}

void HugeBuffer::Assign(std::string_view bytes) {
  HugeDeallocate(data_, size_);
  data_ = nullptr;
  size_ = bytes.size();
  if (size_ == 0) return;
  data_ = static_cast<char*>(HugeAllocate(size_));
  std::memcpy(data_, bytes.data(), size_);
}

HugeBuffer::~HugeBuffer() { HugeDeallocate(data_, size_); }

}  // namespace internal

const std::vector<std::unique_ptr<const RE2>>& LazyRegexes::Get(std::string_view rules,
                                                                const RegexLimits& limits) const {
  std::call_once(once_, [&] {
    ForEachEntry(rules, [&](const Entry& e) {
      if (e.list != kRegex) return false;
      absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex(e.payload, limits);
      compiled_.push_back(re.ok() ? *std::move(re) : nullptr);
      return false;
    });
  });
  return compiled_;
}

std::optional<ListHit> SubscriberView::MatchAllow(const Sender& s) const {
  return MatchList(rules, kAllow, s);
}

std::optional<ListHit> SubscriberView::MatchDeny(const Sender& s) const {
  return MatchList(rules, kDeny, s);
}

std::optional<std::string_view> SubscriberView::MatchKeyword(const MessageText& text) const {
  const std::string_view folded = text.folded();
  const std::string_view plain = folded.empty() ? text.Get(TextField::kText) : std::string_view();
  std::optional<std::string_view> hit;
  ForEachEntry(rules, [&](const Entry& e) {
    if (e.list != kKeyword) return false;
    const bool found = folded.empty() ? ContainsIgnoringAsciiCase(plain, e.payload)
                                      : FindBytes(folded, e.payload) != std::string_view::npos;
    if (found) hit = e.payload;
    return found;
  });
  return hit;
}

std::optional<std::string_view> SubscriberView::MatchRegex(const MessageText& text) const {
  if (regexes == nullptr) return std::nullopt;
  const auto& compiled = regexes->Get(rules, *regex_limits);
  const std::string_view t = text.Get(TextField::kText);
  const re2::StringPiece piece(t.data(), t.size());
  size_t j = 0;
  std::optional<std::string_view> hit;
  ForEachEntry(rules, [&](const Entry& e) {
    if (e.list != kRegex) return false;
    const RE2* re = j < compiled.size() ? compiled[j].get() : nullptr;
    ++j;
    if (re != nullptr && RE2::PartialMatch(piece, *re)) {
      hit = e.payload;
      return true;
    }
    return false;
  });
  return hit;
}

bool SubscriberView::has_content_rules() const {
  return ForEachEntry(rules, [](const Entry& e) { return e.list == kKeyword || e.list == kRegex; });
}

absl::StatusOr<std::string> NormalizeSubscriberKey(std::string_view key,
                                                   std::string_view default_country_code,
                                                   Channel* channel) {
  std::string_view k = StripWhitespace(key);
  if (k.find('@') != std::string_view::npos) {
    absl::StatusOr<std::string> a = NormalizeAddress(k);
    if (a.ok()) {
      *channel = Channel::kEmail;
      return a;
    }
  } else {
    absl::StatusOr<std::string> m = NormalizeMsisdn(k, default_country_code);
    if (m.ok()) {
      *channel = Channel::kSms;
      return m;
    }
  }
  return absl::InvalidArgumentError(Cat("not an MSISDN or email address ", Got(key)));
}

// --------------------------------------------------------------------------------------------

MemorySubscriberStore::MemorySubscriberStore() : index_(0, KeyHash{this}, KeyEq{this}) {}

MemorySubscriberStore::Builder::Builder(SubscriberStoreOptions options)
    : options_(std::move(options)), store_(new MemorySubscriberStore()) {}

MemorySubscriberStore::Builder::~Builder() = default;

void MemorySubscriberStore::Builder::Reserve(size_t n) { store_->index_.reserve(n); }

void MemorySubscriberStore::Builder::Problem(std::string path, std::string problem) {
  ++problem_count_;
  if (problems_.size() < options_.max_problems) {
    problems_.push_back({std::move(path), std::move(problem)});
  }
}

bool MemorySubscriberStore::Builder::Add(const SubscriberSpec& spec, std::string_view where) {
  const size_t before = problem_count_;
  const std::string base = Cat(where, "subscribers.", spec.key);
  auto problem = [&](std::string_view field, std::string msg) {
    Problem(field.empty() ? base : Cat(base, ".", field), std::move(msg));
  };
  Channel ch = Channel::kSms;
  absl::StatusOr<std::string> key =
      NormalizeSubscriberKey(spec.key, options_.default_country_code, &ch);
  if (!key.ok()) {
    problem("", std::string(key.status().message()));
    return false;
  }
  MemorySubscriberStore& s = *store_;
  if (s.index_.contains(std::string_view(*key))) problem("", "duplicate subscriber key");

  std::string rules;
  // Lists.
  for (const auto& [list, name, spec_list] :
       {std::tuple{kAllow, "allow", &spec.allow}, std::tuple{kDeny, "deny", &spec.deny}}) {
    for (int k = 0; k < kIdentityKindCount; ++k) {
      const auto kind = static_cast<IdentityKind>(k);
      const std::vector<std::string>& entries = ListFor(*spec_list, kind);
      for (size_t i = 0; i < entries.size(); ++i) {
        const std::string field = Cat(name, ".", IdentityKindListName(kind), "[", i, "]");
        if (IsEmailIdentity(kind) != (ch == Channel::kEmail)) {
          problem(field, Cat(ch == Channel::kEmail ? "an SMS identity in an email "
                                                   : "an email identity in an SMS ",
                             "subscriber's list ", Got(entries[i])));
          continue;
        }
        if (kind == IdentityKind::kIp) {
          absl::StatusOr<Cidr> c = ParseCidr(entries[i]);
          if (!c.ok()) {
            problem(field, std::string(c.status().message()));
            continue;
          }
          std::string payload(kIpBinary, '\0');
          payload[0] = c->base.is_v4 ? 1 : 0;
          payload[1] = static_cast<char>(c->base.is_v4 ? 96 + c->prefix_len : c->prefix_len);
          std::memcpy(payload.data() + 2, c->base.bytes.data(), 16);
          payload += c->ToString();
          AppendEntry(list, static_cast<uint8_t>(kind), payload, &rules);
          continue;
        }
        absl::StatusOr<std::string> v = NormalizeIdentity(kind, entries[i]);
        if (!v.ok()) {
          problem(field, std::string(v.status().message()));
          continue;
        }
        AppendEntry(list, static_cast<uint8_t>(kind), *v, &rules);
      }
    }
  }
  // Content rules.
  for (size_t i = 0; i < spec.keywords.size(); ++i) {
    absl::StatusOr<std::string> f = FoldPhrase(spec.keywords[i]);
    if (!f.ok()) {
      problem(Cat("keywords[", i, "]"), std::string(f.status().message()));
    } else if (f->size() > 255) {
      problem(Cat("keywords[", i, "]"),
              absl::StrFormat("phrase longer than 255 bytes (got %d bytes)", f->size()));
    } else {
      AppendEntry(kKeyword, 0, *f, &rules);
    }
  }
  bool has_regex = false;
  for (size_t i = 0; i < spec.regexes.size(); ++i) {
    const std::string& p = spec.regexes[i];
    const std::string field = Cat("regexes[", i, "]");
    if (p.size() > options_.regex_limits.max_pattern_bytes || p.size() > 255) {
      problem(field, absl::StrFormat("regex longer than %d bytes (got %d bytes)",
                                     std::min<size_t>(options_.regex_limits.max_pattern_bytes, 255),
                                     p.size()));
      continue;
    }
    if (options_.compile_regexes_on_load) {
      absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex(p, options_.regex_limits);
      if (!re.ok()) {
        problem(field, std::string(re.status().message()));
        continue;
      }
    }
    AppendEntry(kRegex, 0, p, &rules);
    has_regex = true;
  }

  Header r;
  if (spec.enabled) r.flags |= kEnabled;
  if (spec.consent.has_value()) r.flags |= kConsentSet | (*spec.consent ? kConsent : 0);
  if (spec.action.has_value()) {
    if (auto err = CheckSubscriberAction(*spec.action, ch)) {
      problem("action", *err);
    } else {
      r.flags |= kActionSet;
      r.action = PackAction(*spec.action);
    }
  }
  if (spec.quiet.has_value()) {
    absl::StatusOr<DailyWindow> w = ParseDailyWindow(spec.quiet->window, spec.quiet->days);
    if (!w.ok()) {
      const bool days = std::string(w.status().message()).starts_with("not a day");
      problem(days ? "quiet.days" : "quiet.window", std::string(w.status().message()));
    } else {
      r.flags |= kQuiet | (spec.quiet->allowlist_bypasses ? kQuietBypass : 0);
      r.quiet_from = w->from_minute;
      r.quiet_to = w->to_minute;
      r.quiet_days = w->days;
    }
    if (spec.quiet->action.has_value()) {
      if (auto err = CheckSubscriberAction(*spec.quiet->action, ch)) {
        problem("quiet.action", *err);
      } else {
        r.flags |= kQuietActionSet;
        r.quiet_action = PackAction(*spec.quiet->action);
      }
    }
  }
  if (!spec.tenant.empty()) {
    auto [it, inserted] = tenant_ids_.try_emplace(spec.tenant, 0);
    if (inserted) {
      if (s.tenants_.size() >= 65535) {
        problem("tenant", "more than 65535 distinct tenants");
      } else {
        s.tenants_.push_back(spec.tenant);
        it->second = static_cast<uint16_t>(s.tenants_.size());
      }
    }
    r.tenant = it->second;
  }
  if (!spec.time_zone.empty()) {
    auto it = zone_ids_.find(spec.time_zone);
    if (it != zone_ids_.end()) {
      r.zone = it->second;
    } else {
      absl::StatusOr<absl::TimeZone> tz = LoadZone(spec.time_zone);
      if (!tz.ok()) {
        problem("time_zone", std::string(tz.status().message()));
      } else if (s.zones_.size() >= 65535) {
        problem("time_zone", "more than 65535 distinct time zones");
      } else {
        s.zones_.push_back(*tz);
        r.zone = static_cast<uint16_t>(s.zones_.size());
        zone_ids_.emplace(spec.time_zone, r.zone);
      }
    }
  }
  if (rules.size() > 65535) {
    problem("", absl::StrFormat("rules too long (got %d bytes encoded, expected at most 65535)",
                                rules.size()));
  }
  if (s.pool_.size() + sizeof(Header) + key->size() + rules.size() > UINT32_MAX) {
    problem("", "store full: more than 4 GiB of keys and rules");
  }
  if (problem_count_ != before) return false;

  const auto offset = static_cast<uint32_t>(s.pool_.size());
  r.key_len = static_cast<uint8_t>(key->size());
  r.rules_len = static_cast<uint16_t>(rules.size());
  if (has_regex) {
    r.has_regex = 1;
    s.regex_slot_.emplace(offset, static_cast<uint32_t>(s.regex_count_++));
  }
  char header[sizeof(Header)];
  std::memcpy(header, &r, sizeof(Header));
  s.pool_.append(header, sizeof(Header));
  s.pool_.append(*key);
  s.pool_.append(rules);
  s.pool_data_ = s.pool_.data();  // appending may have moved it; the index hashes through it
  s.index_.insert(offset);
  ++s.size_;
  return true;
}

bool MemorySubscriberStore::Builder::ParseLine(std::string_view line, std::string_view where,
                                               SubscriberSpec* spec) {
  const size_t before = problem_count_;
  std::vector<std::string_view> fields = Split(line, '\t');
  spec->key = std::string(StripWhitespace(fields[0]));
  const std::string base = Cat(where, "subscribers.", spec->key);
  if (spec->key.empty()) {
    std::string_view w = where;
    if (w.ends_with(": ")) w.remove_suffix(2);
    Problem(std::string(w), "missing subscriber key in the first field");
    return false;
  }
  size_t allow_i = 0, deny_i = 0;
  StringViewSet seen;
  for (size_t f = 1; f < fields.size(); ++f) {
    std::string_view field = StripWhitespace(fields[f]);
    if (field.empty()) continue;
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      Problem(base, Cat("field ", f + 1, ": not name=value ", Got(field)));
      continue;
    }
    const std::string_view name = StripWhitespace(field.substr(0, eq));
    const std::string_view value = StripWhitespace(field.substr(eq + 1));
    const std::string path = Cat(base, ".", name);
    const bool repeatable =
        name == "allow" || name == "deny" || name == "keyword" || name == "regex";
    if (!repeatable && !seen.insert(name).second) {
      Problem(path, "given twice");
      continue;
    }
    if (name == "allow" || name == "deny") {
      size_t& idx = name == "allow" ? allow_i : deny_i;
      absl::StatusOr<IdentityEntry> e = ParseIdentityEntry(value);
      if (!e.ok()) {
        Problem(Cat(path, "[", idx, "]"), std::string(e.status().message()));
      } else {
        ListFor(name == "allow" ? spec->allow : spec->deny, e->kind).push_back(std::move(e->value));
      }
      ++idx;
    } else if (name == "keyword") {
      spec->keywords.emplace_back(value);
    } else if (name == "regex") {
      spec->regexes.emplace_back(value);
    } else if (name == "tenant") {
      spec->tenant = std::string(value);
    } else if (name == "tz") {
      spec->time_zone = std::string(value);
    } else if (name == "enabled" || name == "consent" || name == "quiet_bypass") {
      std::optional<bool> b = ParseBool(value);
      if (!b.has_value()) {
        Problem(path, Cat("not yes or no ", Got(value)));
      } else if (name == "enabled") {
        spec->enabled = *b;
      } else if (name == "consent") {
        spec->consent = *b;
      } else {
        if (!spec->quiet.has_value()) spec->quiet.emplace();
        spec->quiet->allowlist_bypasses = *b;
      }
    } else if (name == "action" || name == "quiet_action") {
      std::optional<ActionSpec> a = ParseActionSpec(value);
      if (!a.has_value()) {
        Problem(path, Cat("not an action ", Got(value)));
      } else if (name == "action") {
        spec->action = *a;
      } else {
        if (!spec->quiet.has_value()) spec->quiet.emplace();
        spec->quiet->action = *a;
      }
    } else if (name == "quiet") {
      if (!spec->quiet.has_value()) spec->quiet.emplace();
      spec->quiet->window = std::string(value);
    } else if (name == "quiet_days") {
      if (!spec->quiet.has_value()) spec->quiet.emplace();
      spec->quiet->days = std::string(value);
    } else {
      Problem(path,
              "unknown field (expected tenant, enabled, consent, tz, allow, deny, keyword, "
              "regex, action, quiet, quiet_days, quiet_action or quiet_bypass)");
    }
  }
  if (spec->quiet.has_value() && spec->quiet->window.empty()) {
    Problem(base + ".quiet", "quiet_days, quiet_action or quiet_bypass given without quiet");
  }
  return problem_count_ == before;
}

bool MemorySubscriberStore::Builder::AddLine(std::string_view line, std::string_view where) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  const std::string_view trimmed = StripWhitespace(line);
  if (trimmed.empty() || trimmed.starts_with('#')) return true;
  SubscriberSpec spec;
  if (!ParseLine(line, where, &spec)) return false;
  return Add(spec, where);
}

absl::Status MemorySubscriberStore::Builder::AddFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.is_open()) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open subscriber file \"%s\": %s", path, std::strerror(errno)));
  }
  std::string line;
  size_t n = 0;
  std::string where;
  while (std::getline(in, line)) {
    ++n;
    where = Cat(path, ":", n, ": ");
    AddLine(line, where);
  }
  if (in.bad()) {
    return absl::UnavailableError(absl::StrFormat("error reading \"%s\" after line %d", path, n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>>
MemorySubscriberStore::Builder::Build() && {
  if (problem_count_ > 0) {
    std::vector<std::string> lines;
    lines.reserve(problems_.size() + 1);
    for (const SpecProblem& p : problems_) lines.push_back(p.ToString());
    if (problem_count_ > problems_.size()) {
      lines.push_back(Cat("... and ", problem_count_ - problems_.size(), " more problems"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  MemorySubscriberStore& s = *store_;
  // Freeze the pool into huge pages; the index keeps its offsets.
  s.frozen_.Assign(s.pool_);
  s.pool_data_ = s.frozen_.data();
  std::string().swap(s.pool_);
  s.regex_limits_ = options_.regex_limits;
  if (s.regex_count_ > 0) s.regexes_.reset(new LazyRegexes[s.regex_count_]);
  return std::shared_ptr<const MemorySubscriberStore>(std::move(store_));
}

// --------------------------------------------------------------------------------------------

MemorySubscriberStore::MemoryUsage MemorySubscriberStore::memory() const {
  MemoryUsage m;
  m.pool = frozen_.size() + pool_.capacity();
  m.index = index_.capacity() * (sizeof(uint32_t) + 1) + 16;
  m.regexes =
      regex_count_ * sizeof(LazyRegexes) + regex_slot_.capacity() * (2 * sizeof(uint32_t) + 1);
  for (const std::string& t : tenants_) m.tables += sizeof(std::string) + t.capacity();
  m.tables += zones_.capacity() * sizeof(absl::TimeZone);
  return m;
}

void MemorySubscriberStore::Prefetch(std::string_view key, int stage) const {
  if (stage == 0) {
    index_.prefetch(key);
    return;
  }
  auto it = index_.find(key);
  if (it == index_.end()) return;
  const char* entry = pool_data_ + *it;
  __builtin_prefetch(entry);
  __builtin_prefetch(entry + 64);
}

absl::StatusOr<bool> MemorySubscriberStore::Find(std::string_view key,
                                                 SubscriberHandle* out) const {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  const uint32_t offset = *it;
  Header r;
  std::memcpy(&r, pool_data_ + offset, sizeof(Header));
  SubscriberView& v = out->view;
  v = SubscriberView();
  out->owner.reset();
  const char* entry = pool_data_ + offset + sizeof(Header);
  v.key = std::string_view(entry, r.key_len);
  v.rules = std::string_view(entry + r.key_len, r.rules_len);
  if (r.tenant != 0) v.tenant = tenants_[r.tenant - 1];
  if (r.zone != 0) v.time_zone = &zones_[r.zone - 1];
  v.enabled = (r.flags & kEnabled) != 0;
  if (r.flags & kConsentSet) v.consent = (r.flags & kConsent) != 0;
  if (r.flags & kActionSet) v.action = UnpackAction(r.action);
  if (r.flags & kQuiet) {
    v.quiet = DailyWindow{r.quiet_from, r.quiet_to, r.quiet_days};
    v.quiet_allowlist_bypasses = (r.flags & kQuietBypass) != 0;
  }
  if (r.flags & kQuietActionSet) v.quiet_action = UnpackAction(r.quiet_action);
  if (r.has_regex) {
    auto slot = regex_slot_.find(offset);
    if (slot != regex_slot_.end()) {
      v.regexes = &regexes_[slot->second];
      v.regex_limits = &regex_limits_;
    }
  }
  return true;
}

}  // namespace veto::policy
