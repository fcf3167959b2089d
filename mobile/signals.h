// veto/mobile/signals.h — behaviour across messages: rate, dispersion, duplicate content,
// spamtraps, indication information (URLs, call-back numbers), reports and shared
// intelligence (X.1247 and its supplement; the GSMA 7726 reporting pattern; X.1243-style
// exchange). Each becomes a scored Match of kind kSignal that the policy adds to the
// evidence (and counts even without content consent).
//
//   SignalOptions o;                          // thresholds, scores, caps (config [sms])
//   absl::StatusOr<std::unique_ptr<SignalEngine>> e = SignalEngine::Create(o);
//   MessageFeatures f = ExtractFeatures(message, (*e)->options());
//   std::vector<Match> signals;
//   absl::Status s = (*e)->Observe(f, now_seconds, &signals);   // updates state, scores
//   pipeline->Evaluate(message, ctx, now, signals);
//
// | signal id               | fires when (per message)                                          |
// | SMS_SENDER_RATE         | the sender sent ≥ rate_threshold messages in the sliding window    |
// | SMS_SENDER_DISPERSION   | ≥ dispersion_threshold distinct recipients in the window (HLL)     |
// | SMS_DUPLICATE_CONTENT   | near-identical text (SimHash) went to ≥ duplicate_threshold        |
// |                         | distinct recipients in the window                                  |
// | SMS_SPAMTRAP_RECIPIENT  | the recipient is a spamtrap (sender, text, URLs, numbers are then  |
// |                         | recorded as spam intelligence)                                     |
// | SMS_SENDER_REPORTED     | the sender's spam evidence (reports, traps, imports) ≥ threshold   |
// | SMS_CONTENT_REPORTED    | the text's fingerprint has such evidence                           |
// | SMS_URL_LISTED          | a URL's host or registered domain is listed or has evidence        |
// | SMS_CALLBACK_LISTED     | a call-back number in the text is listed or has evidence           |
//
// State is bounded: `max_senders`, `max_fingerprints` and `max_intel` entries, each expiring
// after `idle_expiry_seconds` without activity (intelligence after its TTL); a full table
// first drops expired entries, then its least recently seen eighth. Behaviour counters live in
// a BehaviourStore: in-process (default) or Redis (redis_store.h), so several nodes see the
// same sender's volume and fan-out.
//
// Thread-safety: SignalEngine is safe for concurrent use (state sharded under std::mutex,
// one short critical section per table per message).
#ifndef VETO_MOBILE_SIGNALS_H_
#define VETO_MOBILE_SIGNALS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/match.h"
#include "core/message.h"
#include "mobile/sketch.h"
#include "mobile/sms.h"

namespace veto::mobile {

struct SignalOptions {
  // Rate: messages per sender over a sliding window (12 buckets).
  int64_t rate_window_seconds = 60;
  uint32_t rate_threshold = 30;
  double rate_score = 2.0;
  // Dispersion: distinct recipients per sender per (tumbling) window.
  int64_t dispersion_window_seconds = 3600;
  uint32_t dispersion_threshold = 50;
  double dispersion_score = 2.5;
  // Duplicate content: distinct recipients of near-identical text per window.
  int64_t duplicate_window_seconds = 3600;
  uint32_t duplicate_threshold = 20;
  double duplicate_score = 2.0;
  int duplicate_max_distance = 3;  // SimHash bits (0..3)
  int duplicate_min_words = 4;     // shorter texts ("ok", "call me") are not fingerprinted
  // Spamtraps: recipients (MSISDNs / short codes) that never ask for messages.
  std::vector<std::string> spamtraps;
  double spamtrap_score = 5.0;
  double spamtrap_weight = 1.0;  // evidence recorded for the sender / text / URLs / numbers
  // Indication information.
  std::vector<std::string> listed_domains;  // hosts or registered domains
  std::vector<std::string> listed_numbers;  // call-back numbers (compared on the last 10 digits)
  double url_score = 3.0;
  double callback_score = 3.0;
  // Reports and intelligence.
  double report_threshold = 1.0;  // evidence weight at which the *_REPORTED signals fire
  double reported_sender_score = 3.0;
  double reported_content_score = 2.5;
  double default_reporter_weight = 1.0;
  std::vector<std::pair<std::string, double>> reporter_weights;  // reporter → weight (0..10)
  int64_t report_dedup_seconds = 86400;  // the same reporter on the same sender+text counts once
  int64_t intel_ttl_seconds = 7 * 86400;
  // Bounds.
  size_t max_senders = 1000000;
  size_t max_fingerprints = 1000000;
  size_t max_intel = 1000000;
  int64_t idle_expiry_seconds = 86400;
};

// Problems in `o` as "sms.key: problem (got X, expected Y)", one per entry; empty if fine.
std::vector<std::string> CheckSignalOptions(const SignalOptions& o);

// What the signals read from one message (computed without touching shared state).
struct MessageFeatures {
  std::string_view sender;     // normalised; empty if unknown
  std::string_view recipient;  // normalised; empty if unknown
  uint64_t sender_hash = 0;
  uint64_t recipient_hash = 0;
  uint64_t fingerprint = 0;  // SimHash; 0 = none (too few words)
  std::vector<std::string> domains;    // URL hosts and registered domains, lower case
  std::vector<std::string> callbacks;  // call-back numbers as digits (last 10 kept)
};

// Extracts features from a built SMS Message (BuildMessage): hashes, the SimHash of the
// text, URL hosts, and call-back numbers (FindCallbackNumber: 7+ digits, separators allowed).
MessageFeatures ExtractFeatures(const Message& m, int min_words = 4);
// The same into *out (every field replaced; its vectors' memory reused).
void ExtractFeaturesInto(const Message& m, int min_words, MessageFeatures* out);

// The leftmost match at or after `pos` of the call-back number pattern
// `\+?\d[\d .\-]{5,24}\d` (a digit run of 7+ digits with single separators, optionally
// after '+'), exactly as RE2 finds it (leftmost-first, greedy), written out because it runs
// over every text with 7 digits. False if there is none.
bool FindCallbackNumber(std::string_view text, size_t pos, std::string_view* match);

// The call-back-number key: the last 10 digits of `number`'s digits (fewer if shorter);
// "" if it has fewer than 7 digits.
std::string CallbackKey(std::string_view number);

// ------------------------------------------------------------------------------------------
// Behaviour counters: the part of the state that several nodes may share.

struct BehaviourQuery {
  std::string_view sender;  // empty: no sender counters
  uint64_t sender_hash = 0;
  uint64_t recipient_hash = 0;  // 0: no recipient
  uint64_t fingerprint = 0;     // canonical (near-duplicates mapped to one); 0: none
  int64_t now = 0;              // seconds
};

struct BehaviourCounts {
  uint32_t rate = 0;                // sender's messages in the sliding window, this one included
  uint32_t recipients = 0;          // sender's distinct recipients in the window
  uint32_t duplicate_recipients = 0;  // distinct recipients of this fingerprint in the window
};

struct BehaviourStats {
  size_t senders = 0;
  size_t fingerprints = 0;
  size_t memory_bytes = 0;  // tables, inline state and HLL registers
  uint64_t evicted = 0;
  uint64_t expired = 0;
  uint64_t errors = 0;      // store errors (Redis unreachable, ...)
};

class BehaviourStore {
 public:
  virtual ~BehaviourStore() = default;
  // Counts this message and returns the counters after it. Thread-safe.
  virtual absl::Status Observe(const BehaviourQuery& q, BehaviourCounts* out) = 0;
  // Several messages in order, as if observed one by one (Redis: one round trip). The
  // default calls Observe for each.
  virtual absl::Status ObserveBatch(const std::vector<BehaviourQuery>& qs,
                                    std::vector<BehaviourCounts>* out);
  virtual BehaviourStats Stats() const = 0;
  // A hint that a message from this sender (sender_hash) comes soon: the in-process store
  // starts loading its state into the caches. Changes nothing. Default: nothing.
  virtual void Prefetch(uint64_t sender_hash) { (void)sender_hash; }
};

// The in-process store: sharded tables keyed by 64-bit hashes.
std::unique_ptr<BehaviourStore> NewMemoryBehaviourStore(const SignalOptions& o);

// ------------------------------------------------------------------------------------------
// Spam intelligence: evidence about senders, texts, domains and numbers, from spamtraps,
// reports and peers; exported and imported as JSON Lines.

enum class IntelKind : uint8_t { kSender = 0, kFingerprint, kDomain, kCallback };
std::string_view IntelKindName(IntelKind k);  // "sender", "fingerprint", "domain", "callback"

struct IntelEntry {
  double weight = 0;      // accumulated evidence
  uint32_t count = 0;     // observations (reports, trap hits, imports)
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  int64_t expires = 0;    // last_seen + TTL
};

class Intelligence {
 public:
  Intelligence(size_t max_entries, int64_t default_ttl)
      : max_entries_(max_entries), default_ttl_(default_ttl) {}

  void Add(IntelKind kind, std::string_view key, double weight, int64_t now, int64_t ttl = 0);
  // Merges a whole entry (import): weights and counts add, first/last/expiry widen.
  void Merge(IntelKind kind, std::string_view key, const IntelEntry& e, int64_t now);
  // Evidence weight of the entry (0 if absent or expired).
  double Weight(IntelKind kind, std::string_view key, int64_t now) const;
  // A fingerprint's evidence, looking for near-identical fingerprints too.
  double FingerprintWeight(uint64_t fp, int64_t now) const;

  // Writes every live entry as one JSON object per line:
  //   {"kind":"sender","key":"+447700900123","weight":2.5,"count":3,
  //    "first_seen":1714563296,"last_seen":1714570000,"ttl":604800}
  // Returns the number written.
  size_t Export(int64_t now, std::string* out) const;
  // Reads one exported line, multiplying its weight by `trust` (0..1). Errors name the
  // problem (bad JSON, unknown kind, missing key/weight).
  absl::Status ImportLine(std::string_view line, double trust, int64_t now);

  size_t size() const;
  size_t MemoryBytes() const;

 private:
  static std::string Key(IntelKind kind, std::string_view key);
  void MakeRoom(int64_t now);

  const size_t max_entries_;
  const int64_t default_ttl_;
  // std::mutex / std::shared_mutex rather than absl::Mutex: Debian's Abseil is not built
  // with TSan annotations, so only the standard ones let ThreadSanitizer check this code.
  mutable std::shared_mutex mu_;  // guards entries_ and fingerprints_
  absl::flat_hash_map<std::string, IntelEntry> entries_;
  std::atomic<size_t> size_{0};  // entries_.size(), readable without the lock
  NearDupIndex fingerprints_;
};

// ------------------------------------------------------------------------------------------

struct SignalStats {
  uint64_t messages = 0;
  uint64_t fired[8] = {};  // per signal, in the table order above
  uint64_t store_errors = 0;
  uint64_t reports_accepted = 0;
  uint64_t reports_duplicate = 0;
};

// The signal ids, in table order (string literals: they outlive every scan).
extern const std::string_view kSignalIds[8];

class SignalEngine {
 public:
  // Validates `o` (InvalidArgument with CheckSignalOptions' lines). `store` null: in-process.
  static absl::StatusOr<std::unique_ptr<SignalEngine>> Create(
      const SignalOptions& o, std::unique_ptr<BehaviourStore> store = nullptr);
  ~SignalEngine();

  // Counts the message in the behaviour state and appends the signals that fire. A store
  // error (Redis down) is returned after the signals that need no store were appended; the
  // caller decides (the replay counts it and goes on).
  absl::Status Observe(const MessageFeatures& f, int64_t now, std::vector<Match>* out);
  // A hint that `f` is observed soon (the replay gives it two messages ahead): the state its
  // observation reads — the near-duplicate index bands, the sender's counters — starts loading
  // into the caches, which those large tables otherwise miss. Changes nothing.
  void Prefetch(const MessageFeatures& f);
  // The same for several messages at once, in order; (*out)[i] gets message i's signals. One
  // store round trip for all (the Redis consumer's batches).
  absl::Status ObserveBatch(const std::vector<const MessageFeatures*>& fs,
                            const std::vector<int64_t>& now,
                            std::vector<std::vector<Match>>* out);

  // A user report (GSMA 7726): reporter, reported sender, text, time. Adds the reporter's
  // weight to the sender's and the text's evidence (and its URLs' and numbers'), once per
  // (reporter, sender, text) within report_dedup_seconds. Returns false for a duplicate.
  bool Report(std::string_view reporter, const MessageFeatures& f, int64_t now);

  Intelligence& intel() { return *intel_; }
  const Intelligence& intel() const { return *intel_; }
  const SignalOptions& options() const { return options_; }
  SignalStats Stats() const;
  BehaviourStats BehaviourState() const { return store_->Stats(); }

 private:
  SignalEngine(const SignalOptions& o, std::unique_ptr<BehaviourStore> store);
  uint64_t CanonicalFingerprint(uint64_t fp);
  // The signals that need no store; false if the message needs no store counters either.
  bool Prepare(const MessageFeatures& f, int64_t now, std::vector<Match>* out,
               BehaviourQuery* q);
  void Score(const BehaviourCounts& c, std::vector<Match>* out);
  void Fire(int index, double score, uint32_t count, std::vector<Match>* out);

  SignalOptions options_;
  std::unique_ptr<BehaviourStore> store_;
  std::unique_ptr<Intelligence> intel_;
  absl::flat_hash_set<std::string> spamtraps_;
  absl::flat_hash_set<std::string> listed_domains_;
  absl::flat_hash_set<std::string> listed_numbers_;
  absl::flat_hash_map<std::string, double> reporter_weights_;

  mutable std::mutex fp_mu_;  // guards fp_index_, fp_inserts_
  NearDupIndex fp_index_;
  uint64_t fp_inserts_ = 0;

  mutable std::mutex report_mu_;  // guards report_seen_
  absl::flat_hash_map<uint64_t, int64_t> report_seen_;

  // messages, fired[8], store_errors, reports_accepted, reports_duplicate
  std::atomic<uint64_t> counters_[12] = {};
};

}  // namespace veto::mobile

#endif  // VETO_MOBILE_SIGNALS_H_
