// veto/policy/subscriber_store.h — per-subscriber rules (X.1242 user-specified rules) at
// operator scale.
//
// A SubscriberStore maps a normalised recipient — an E.164 MSISDN "+15551230000" or a
// lower-case mailbox "user@example.com" — to that subscriber's rules. Policy::Decide looks
// each recipient up once. The store is a small interface so that a Redis-backed store can
// replace the in-memory one later; MemorySubscriberStore is the embedded implementation:
// loaded from files at start and on reload, immutable afterwards, one hash probe per lookup,
// about a hundred bytes per subscriber with a few rules (policy/README.md has the figures).
//
//   MemorySubscriberStore::Builder b({.default_country_code = "44"});
//   VETO_RETURN_IF_ERROR(b.AddFile("/etc/veto/subscribers.tsv"));   // or b.Add(spec)
//   VETO_ASSIGN_OR_RETURN(std::shared_ptr<const MemorySubscriberStore> store,
//                         std::move(b).Build());                  // every problem at once
//   VETO_ASSIGN_OR_RETURN(auto policy, BuildPolicy(spec, store));
//
// ## The subscriber file format (TSV, one subscriber per line, UTF-8)
//
// The first field is the key; every further field is `name=value`, separated by TAB (a TAB
// cannot occur in a value; write "\t" inside a regex). Blank lines and lines starting with
// '#' are ignored. List fields repeat.
//
//   # key            fields (⇥ is a TAB; the first record is wrapped here, one line in the file)
//   +15551230000⇥tenant=acme⇥consent=yes⇥tz=Europe/Berlin⇥allow=+15557654321⇥allow=short:7726
//       ⇥deny=+1900*⇥deny=alpha:PROMO*⇥keyword=loan approved⇥regex=(?i)win.{0,10}prize
//       ⇥quiet=22:00-07:00⇥quiet_days=mon-fri⇥quiet_action=hold
//   user@example.com⇥deny=spam.example⇥deny=ip:203.0.113.0/24⇥action=quarantine
//
//   field         value                                            default
//   tenant        tenant name (from the policy spec)               by domain / number range
//   enabled       yes|no — the on/off switch of these rules        yes
//   consent       yes|no — may content be inspected (X.1247)       tenant / operator default
//   tz            IANA zone for quiet hours                        tenant / operator zone
//   allow, deny   a list entry (below)                             —
//   keyword       a phrase, case-insensitive (content)             —
//   regex         an RE2 pattern, ≤ 255 bytes (content)            —
//   action        action for deny/keyword/regex hits[+report]      operator.subscriber_action
//   quiet         HH:MM-HH:MM quiet hours, may wrap midnight       none
//   quiet_days    days the window starts on: mon-fri,sun           mon-sun
//   quiet_action  action during quiet hours[+report]               operator.quiet_action
//   quiet_bypass  yes|no — do allow-listed senders get through     yes
//
// List entries are typed by prefix — addr:, domain:, ip:, helo:, msisdn:, short:, alpha: —
// or inferred (identity.h ParseIdentityEntry): "+..." MSISDN (with '?' and a final '*'),
// "a@b" address, 3–8 digits short code, IP or CIDR, "x.y" domain, else alphanumeric ID.
// Email subscribers (key with '@') take email identities; SMS subscribers SMS identities.
// Subscriber actions must fit the channel and may not be redirect or throttle_sender (both
// reach beyond the subscriber's own mail).
//
// Thread-safety: a built store is immutable and safe for concurrent Find calls. A
// subscriber's regexes are compiled on first use, once, under a per-subscriber std::once_flag;
// lookups of subscribers without regexes take no lock at all. The Builder is single-threaded.
#ifndef VETO_POLICY_SUBSCRIBER_STORE_H_
#define VETO_POLICY_SUBSCRIBER_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "policy/content.h"
#include "policy/lists.h"
#include "policy/spec.h"
#include "policy/time_window.h"

namespace veto::policy {

namespace internal {

// Large blocks (>= 2 MiB) come from mmap with MADV_HUGEPAGE, so random lookups in a store of
// a million subscribers take far fewer TLB misses; smaller blocks use operator new.
void* HugeAllocate(size_t bytes);
void HugeDeallocate(void* p, size_t bytes);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator conversion
  T* allocate(size_t n) { return static_cast<T*>(HugeAllocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { HugeDeallocate(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

// An immutable byte buffer in huge pages (the frozen pool).
class HugeBuffer {
 public:
  HugeBuffer() = default;
  ~HugeBuffer();
  // Replaces the contents with a copy of `bytes`.
  void Assign(std::string_view bytes);
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace internal

// A subscriber's regexes, compiled on first use (once, thread-safe).
class LazyRegexes {
 public:
  // The compiled regexes in the order of the subscriber's regex entries in `rules` (the
  // encoded rule bytes of SubscriberView). An entry is null if it failed to compile (the
  // builder compiles every pattern once at load, so this does not happen in practice).
  const std::vector<std::unique_ptr<const RE2>>& Get(std::string_view rules,
                                                     const RegexLimits& limits) const;

 private:
  mutable std::once_flag once_;
  mutable std::vector<std::unique_ptr<const RE2>> compiled_;
};

// One subscriber, as Policy reads it. Borrowed from the store (see SubscriberHandle).
struct SubscriberView {
  std::string_view key;
  std::string_view tenant;  // empty: none named
  bool enabled = true;
  std::optional<bool> consent;
  const absl::TimeZone* time_zone = nullptr;  // null: the tenant's / operator's
  std::optional<ActionSpec> action;
  std::optional<DailyWindow> quiet;
  std::optional<ActionSpec> quiet_action;
  bool quiet_allowlist_bypasses = true;
  std::string_view rules;                // encoded list entries, keywords, regexes
  const LazyRegexes* regexes = nullptr;  // null: no regexes
  const RegexLimits* regex_limits = nullptr;

  // The first allow / deny entry matching the sender (entries in file order).
  std::optional<ListHit> MatchAllow(const Sender& s) const;
  std::optional<ListHit> MatchDeny(const Sender& s) const;
  // The first keyword phrase (folded) found in the message text, or nullopt.
  std::optional<std::string_view> MatchKeyword(const MessageText& text) const;
  // The first regex pattern matching the message text (compiling them lazily), or nullopt.
  std::optional<std::string_view> MatchRegex(const MessageText& text) const;
  bool has_content_rules() const;
};

// A lookup result. `owner` keeps `view`'s storage alive for stores that materialise
// subscribers per lookup (a remote store); it is null for MemorySubscriberStore, whose views
// live as long as the store.
struct SubscriberHandle {
  SubscriberView view;
  std::shared_ptr<const void> owner;
};

// The store interface Policy uses.
class SubscriberStore {
 public:
  virtual ~SubscriberStore() = default;

  // Looks up a normalised key ("+E164" or "local@domain", see NormalizeSubscriberKey).
  // Returns true and fills `out` if the subscriber exists, false if not. An error means the
  // store could not answer (a remote store is down): Policy then applies its fail mode.
  virtual absl::StatusOr<bool> Find(std::string_view key, SubscriberHandle* out) const = 0;

  // Hints that Find(key) follows soon, so memory (or network) latency overlaps other work.
  // Decide calls stage 0 for every recipient first, stage 1 a little later, then Find. An
  // in-memory store loads the index slot in stage 0 and the subscriber's entry in stage 1; a
  // remote store may start an asynchronous fetch. The default does nothing.
  virtual void Prefetch(std::string_view key, int stage) const {
    (void)key;
    (void)stage;
  }

  // Tenant names subscribers refer to (BuildPolicy checks that each exists).
  virtual std::vector<std::string> TenantNames() const = 0;

  // Number of subscribers.
  virtual size_t size() const = 0;
};

// Normalises a subscriber key or a recipient: an MSISDN (E.164, national numbers with
// `default_country_code`) or a mailbox. Sets `*channel` to the channel it belongs to.
// Errors: `not an MSISDN or email address (got "...")`.
absl::StatusOr<std::string> NormalizeSubscriberKey(std::string_view key,
                                                   std::string_view default_country_code,
                                                   Channel* channel);

struct SubscriberStoreOptions {
  std::string default_country_code;  // for national numbers in keys/entries
  RegexLimits regex_limits{.max_mem = 1 << 20, .max_pattern_bytes = 255};
  bool compile_regexes_on_load = true;  // validate patterns at load by compiling them once
  size_t max_problems = 100;            // problems kept in detail; the rest are counted
};

class MemorySubscriberStore final : public SubscriberStore {
 public:
  class Builder {
   public:
    explicit Builder(SubscriberStoreOptions options = {});
    ~Builder();
    Builder(const Builder&) = delete;
    Builder& operator=(const Builder&) = delete;

    // Pre-sizes for `n` subscribers (optional; avoids rehashing while loading).
    void Reserve(size_t n);
    // Validates and adds one subscriber. Problems are recorded as
    // "<where>subscribers.<key>.<field>: <problem>" and the subscriber is skipped.
    // Returns false if it had problems.
    bool Add(const SubscriberSpec& spec, std::string_view where = "");
    // Parses one line of the file format (no trailing newline) and adds it. `where` is
    // "file:line: ". Blank and comment lines are accepted and ignored.
    bool AddLine(std::string_view line, std::string_view where = "");
    // Adds every line of a file. Only I/O errors are returned here (NotFound /
    // Unavailable); problems in lines are collected for Build.
    absl::Status AddFile(const std::string& path);
    // Problems found so far (at most options.max_problems) and how many in total.
    const std::vector<SpecProblem>& problems() const { return problems_; }
    size_t problem_count() const { return problem_count_; }

    // The store, or InvalidArgument listing every problem (one per line; "... and N more").
    absl::StatusOr<std::shared_ptr<const MemorySubscriberStore>> Build() &&;

   private:
    void Problem(std::string path, std::string problem);
    bool ParseLine(std::string_view line, std::string_view where, SubscriberSpec* spec);

    SubscriberStoreOptions options_;
    std::unique_ptr<MemorySubscriberStore> store_;
    std::vector<SpecProblem> problems_;
    size_t problem_count_ = 0;
    absl::flat_hash_map<std::string, uint16_t> tenant_ids_;
    absl::flat_hash_map<std::string, uint16_t> zone_ids_;
  };

  // Bytes held, by part (capacities, not sizes).
  struct MemoryUsage {
    size_t pool = 0;     // per subscriber: 16-byte header, key, encoded rules
    size_t index = 0;    // hash index (4-byte slots + control bytes)
    size_t regexes = 0;  // lazy-regex slots (compiled regexes come on top, when used)
    size_t tables = 0;   // tenant names and time zones (shared by all subscribers)
    size_t total() const { return pool + index + regexes + tables; }
  };
  MemoryUsage memory() const;

  absl::StatusOr<bool> Find(std::string_view key, SubscriberHandle* out) const override;
  void Prefetch(std::string_view key, int stage) const override;
  std::vector<std::string> TenantNames() const override { return tenants_; }
  size_t size() const override { return size_; }

  MemorySubscriberStore(const MemorySubscriberStore&) = delete;
  MemorySubscriberStore& operator=(const MemorySubscriberStore&) = delete;

 private:
  friend class Builder;
  MemorySubscriberStore();

  // Every subscriber is one contiguous pool entry: a 16-byte header, the key, the encoded
  // rules. The index slot holds the entry's offset, so a lookup touches the index slot and then
  // a single pool entry (two dependent cache misses at worst; Prefetch starts the first).
  struct Header {  // read and written with memcpy: pool entries are not aligned
    uint16_t rules_len = 0;
    uint8_t key_len = 0;
    uint8_t flags = 0;
    uint16_t tenant = 0;  // 0 = none; else tenants_[tenant - 1]
    uint16_t zone = 0;    // 0 = none; else zones_[zone - 1]
    uint8_t action = 0;   // low 7 bits Action, bit 7 report
    uint8_t quiet_action = 0;
    uint8_t quiet_days = 0;
    uint8_t has_regex = 0;
    uint16_t quiet_from = 0;
    uint16_t quiet_to = 0;
  };
  static_assert(sizeof(Header) == 16);

  std::string_view KeyOf(uint32_t offset) const {
    const char* base = pool_data_ + offset;
    const auto len = static_cast<uint8_t>(base[2]);  // Header::key_len
    return std::string_view(base + sizeof(Header), len);
  }

  // The index holds pool offsets; hashing and equality read the key from the pool, so a
  // slot costs 4 bytes (+1 control byte) instead of a string.
  struct KeyHash {
    using is_transparent = void;
    const MemorySubscriberStore* store = nullptr;
    size_t operator()(uint32_t o) const { return StringViewHash()(store->KeyOf(o)); }
    size_t operator()(std::string_view k) const { return StringViewHash()(k); }
  };
  struct KeyEq {
    using is_transparent = void;
    const MemorySubscriberStore* store = nullptr;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view b) const { return store->KeyOf(a) == b; }
    bool operator()(std::string_view a, uint32_t b) const { return a == store->KeyOf(b); }
  };

  size_t size_ = 0;
  std::string pool_;                 // while building
  internal::HugeBuffer frozen_;      // after Build: the pool, in huge pages
  const char* pool_data_ = nullptr;  // pool_.data() while building, frozen_.data() after
  absl::flat_hash_set<uint32_t, KeyHash, KeyEq, internal::HugePageAllocator<uint32_t>> index_;
  absl::flat_hash_map<uint32_t, uint32_t> regex_slot_;  // pool offset → regexes_ index
  std::vector<std::string> tenants_;
  std::vector<absl::TimeZone> zones_;
  std::unique_ptr<LazyRegexes[]> regexes_;
  size_t regex_count_ = 0;
  RegexLimits regex_limits_;
};

}  // namespace veto::policy

#endif  // VETO_POLICY_SUBSCRIBER_STORE_H_
