#include "mobile/signals.h"

#include <algorithm>
#include <cmath>

#include "core/json_line.h"
#include "core/status.h"
#include "core/strings.h"

namespace veto::mobile {

const std::string_view kSignalIds[8] = {
    "SMS_SENDER_RATE",        "SMS_SENDER_DISPERSION", "SMS_DUPLICATE_CONTENT",
    "SMS_SPAMTRAP_RECIPIENT", "SMS_SENDER_REPORTED",   "SMS_CONTENT_REPORTED",
    "SMS_URL_LISTED",         "SMS_CALLBACK_LISTED"};

namespace {

enum SignalIndex {
  kRate = 0, kDispersion, kDuplicate, kSpamtrap, kSenderReported, kContentReported, kUrl,
  kCallback
};
// counters_ layout
constexpr int kMessagesCounter = 0;
constexpr int kFiredCounter = 1;  // + signal index
constexpr int kStoreErrorsCounter = 9;
constexpr int kReportsAcceptedCounter = 10;
constexpr int kReportsDuplicateCounter = 11;

std::string Hex64(uint64_t v) {
  char buf[17];
  for (int i = 15; i >= 0; --i) {
    buf[i] = "0123456789abcdef"[v & 0xF];
    v >>= 4;
  }
  return std::string(buf, 16);
}

bool ParseHex64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

// ------------------------------------------------------------------------------------------
// The in-process behaviour store.

constexpr int kRateBuckets = 12;
constexpr size_t kShards = 64;

struct SenderState {
  uint32_t last_seen = 0;     // seconds
  uint32_t rate_bucket = 0;   // absolute index of the newest bucket
  uint32_t disp_window = 0;   // absolute index of the dispersion window
  uint16_t rate[kRateBuckets] = {};
  RecipientSet recipients;
};

struct FingerprintState {
  uint32_t last_seen = 0;
  uint32_t window = 0;
  RecipientSet recipients;
};

template <typename State>
struct Shard {
  mutable std::mutex mu;  // guards map, ops
  absl::flat_hash_map<uint64_t, State> map;
  uint64_t ops = 0;
};

// Drops expired entries; if still above 7/8 of `cap`, the least recently seen eighth.
template <typename State>
void MakeRoom(absl::flat_hash_map<uint64_t, State>* map, size_t cap, uint32_t now, int64_t idle,
              std::atomic<uint64_t>* expired, std::atomic<uint64_t>* evicted) {
  const int64_t horizon = static_cast<int64_t>(now) - idle;
  uint64_t n = 0;
  absl::erase_if(*map, [&](const auto& kv) {
    const bool old = static_cast<int64_t>(kv.second.last_seen) < horizon;
    n += old;
    return old;
  });
  expired->fetch_add(n, std::memory_order_relaxed);
  if (map->size() < cap - cap / 8 || map->empty()) return;
  std::vector<uint32_t> seen;
  seen.reserve(map->size());
  for (const auto& [k, v] : *map) seen.push_back(v.last_seen);
  auto nth = seen.begin() + seen.size() / 8;
  std::nth_element(seen.begin(), nth, seen.end());
  const uint32_t cut = *nth;
  n = 0;
  absl::erase_if(*map, [&](const auto& kv) {
    const bool old = kv.second.last_seen <= cut;
    n += old;
    return old;
  });
  evicted->fetch_add(n, std::memory_order_relaxed);
}

class MemoryBehaviourStore : public BehaviourStore {
 public:
  explicit MemoryBehaviourStore(const SignalOptions& o)
      : o_(o),
        sender_cap_(std::max<size_t>(o.max_senders / kShards, 8)),
        fp_cap_(std::max<size_t>(o.max_fingerprints / kShards, 8)),
        bucket_width_(std::max<int64_t>(o.rate_window_seconds / kRateBuckets, 1)) {}

  absl::Status Observe(const BehaviourQuery& q, BehaviourCounts* out) override {
    *out = BehaviourCounts();
    const uint32_t now = static_cast<uint32_t>(std::clamp<int64_t>(q.now, 0, UINT32_MAX));
    if (!q.sender.empty()) {
      Shard<SenderState>& sh = senders_[q.sender_hash % kShards];
      std::lock_guard<std::mutex> lock(sh.mu);
      if ((++sh.ops & 0xFFFF) == 0 || sh.map.size() >= sender_cap_) {
        if (sh.map.size() >= sender_cap_ || (sh.ops & 0xFFFF) == 0) {
          MakeRoom(&sh.map, sender_cap_, now, o_.idle_expiry_seconds, &expired_, &evicted_);
        }
      }
      SenderState& s = sh.map[q.sender_hash];
      // Sliding-window rate.
      const uint32_t bucket = static_cast<uint32_t>(now / bucket_width_);
      if (s.last_seen == 0 && s.rate_bucket == 0) s.rate_bucket = bucket;
      if (bucket > s.rate_bucket) {
        const uint32_t shift = std::min<uint32_t>(bucket - s.rate_bucket, kRateBuckets);
        for (uint32_t i = 1; i <= shift; ++i) s.rate[(s.rate_bucket + i) % kRateBuckets] = 0;
        s.rate_bucket = bucket;
      }
      if (s.rate_bucket - bucket < kRateBuckets) {  // older messages inside the window count
        uint16_t& c = s.rate[bucket % kRateBuckets];
        if (c < UINT16_MAX) ++c;
      }
      uint32_t rate = 0;
      for (uint16_t c : s.rate) rate += c;
      out->rate = rate;
      // Dispersion over a tumbling window.
      const uint32_t window =
          static_cast<uint32_t>(now / std::max<int64_t>(o_.dispersion_window_seconds, 1));
      if (window != s.disp_window) {
        if (window > s.disp_window) s.recipients.Clear();
        s.disp_window = std::max(window, s.disp_window);
      }
      if (q.recipient_hash != 0) s.recipients.Add(q.recipient_hash);
      out->recipients = s.recipients.Estimate();
      s.last_seen = std::max(s.last_seen, now);
    }
    if (q.fingerprint != 0 && q.recipient_hash != 0) {
      Shard<FingerprintState>& sh = fps_[Mix64(q.fingerprint) % kShards];
      std::lock_guard<std::mutex> lock(sh.mu);
      if (sh.map.size() >= fp_cap_ || (++sh.ops & 0xFFFF) == 0) {
        MakeRoom(&sh.map, fp_cap_, now, o_.idle_expiry_seconds, &expired_, &evicted_);
      }
      FingerprintState& f = sh.map[q.fingerprint];
      const uint32_t window =
          static_cast<uint32_t>(now / std::max<int64_t>(o_.duplicate_window_seconds, 1));
      if (window > f.window) {
        f.recipients.Clear();
        f.window = window;
      }
      f.recipients.Add(q.recipient_hash);
      out->duplicate_recipients = f.recipients.Estimate();
      f.last_seen = std::max(f.last_seen, now);
    }
    return absl::OkStatus();
  }

  void Prefetch(uint64_t sender_hash) override {
    Shard<SenderState>& sh = senders_[sender_hash % kShards];
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.map.prefetch(sender_hash);
  }

  BehaviourStats Stats() const override {
    BehaviourStats st;
    for (const auto& sh : senders_) {
      std::lock_guard<std::mutex> lock(sh.mu);
      st.senders += sh.map.size();
      st.memory_bytes += sh.map.capacity() * (sizeof(std::pair<uint64_t, SenderState>) + 1);
      for (const auto& [k, v] : sh.map) st.memory_bytes += v.recipients.HeapBytes();
    }
    for (const auto& sh : fps_) {
      std::lock_guard<std::mutex> lock(sh.mu);
      st.fingerprints += sh.map.size();
      st.memory_bytes += sh.map.capacity() * (sizeof(std::pair<uint64_t, FingerprintState>) + 1);
      for (const auto& [k, v] : sh.map) st.memory_bytes += v.recipients.HeapBytes();
    }
    st.evicted = evicted_.load();
    st.expired = expired_.load();
    return st;
  }

 private:
  const SignalOptions o_;
  const size_t sender_cap_;
  const size_t fp_cap_;
  const int64_t bucket_width_;
  mutable Shard<SenderState> senders_[kShards];
  mutable Shard<FingerprintState> fps_[kShards];
  std::atomic<uint64_t> expired_{0};
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace

std::vector<std::string> CheckSignalOptions(const SignalOptions& o) {
  std::vector<std::string> p;
  auto positive = [&](std::string_view key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) p.push_back(Cat("sms.", key, ": out of range (got ", v, ", expected ",
                                          lo, "..", hi, ")"));
  };
  auto score = [&](std::string_view key, double v) {
    if (!std::isfinite(v) || v < -100 || v > 100) {
      p.push_back(Cat("sms.", key, ": out of range (got ", v, ", expected -100..100)"));
    }
  };
  positive("rate_window_seconds", o.rate_window_seconds, 1, 86400 * 7);
  positive("rate_threshold", o.rate_threshold, 1, 1000000000);
  positive("dispersion_window_seconds", o.dispersion_window_seconds, 1, 86400 * 30);
  positive("dispersion_threshold", o.dispersion_threshold, 1, 1000000000);
  positive("duplicate_window_seconds", o.duplicate_window_seconds, 1, 86400 * 30);
  positive("duplicate_threshold", o.duplicate_threshold, 1, 1000000000);
  positive("duplicate_max_distance", o.duplicate_max_distance, 0, 3);
  positive("duplicate_min_words", o.duplicate_min_words, 1, 1000);
  positive("report_dedup_seconds", o.report_dedup_seconds, 0, 86400 * 365);
  positive("intel_ttl_seconds", o.intel_ttl_seconds, 1, 86400 * 3650);
  positive("max_senders", static_cast<int64_t>(o.max_senders), 64, 1000000000);
  positive("max_fingerprints", static_cast<int64_t>(o.max_fingerprints), 64, 1000000000);
  positive("max_intel", static_cast<int64_t>(o.max_intel), 16, 1000000000);
  positive("idle_expiry_seconds", o.idle_expiry_seconds, 1, 86400 * 365);
  score("rate_score", o.rate_score);
  score("dispersion_score", o.dispersion_score);
  score("duplicate_score", o.duplicate_score);
  score("spamtrap_score", o.spamtrap_score);
  score("url_score", o.url_score);
  score("callback_score", o.callback_score);
  score("reported_sender_score", o.reported_sender_score);
  score("reported_content_score", o.reported_content_score);
  if (!(o.report_threshold > 0) || o.report_threshold > 1e6) {
    p.push_back(Cat("sms.report_threshold: out of range (got ", o.report_threshold,
                    ", expected > 0)"));
  }
  if (!(o.default_reporter_weight >= 0) || o.default_reporter_weight > 10) {
    p.push_back(Cat("sms.default_reporter_weight: out of range (got ", o.default_reporter_weight,
                    ", expected 0..10)"));
  }
  if (!(o.spamtrap_weight >= 0) || o.spamtrap_weight > 10) {
    p.push_back(Cat("sms.spamtrap_weight: out of range (got ", o.spamtrap_weight,
                    ", expected 0..10)"));
  }
  for (size_t i = 0; i < o.reporter_weights.size(); ++i) {
    const double w = o.reporter_weights[i].second;
    if (!(w >= 0) || w > 10) {
      p.push_back(Cat("sms.reporter_weights.", o.reporter_weights[i].first,
                      ": out of range (got ", w, ", expected 0..10)"));
    }
  }
  for (size_t i = 0; i < o.spamtraps.size(); ++i) {
    bool valid = true;
    NormalizeSender(o.spamtraps[i], &valid);
    if (!valid || o.spamtraps[i].empty()) {
      p.push_back(Cat("sms.spamtraps[", i, "]: not an MSISDN or short code (got \"",
                      o.spamtraps[i], "\")"));
    }
  }
  for (size_t i = 0; i < o.listed_numbers.size(); ++i) {
    if (CallbackKey(o.listed_numbers[i]).empty()) {
      p.push_back(Cat("sms.listed_numbers[", i, "]: not a phone number (got \"",
                      o.listed_numbers[i], "\", expected 7 or more digits)"));
    }
  }
  for (size_t i = 0; i < o.listed_domains.size(); ++i) {
    const std::string& d = o.listed_domains[i];
    if (d.empty() || d.find_first_of(" /:@") != std::string::npos || d.size() > 253) {
      p.push_back(Cat("sms.listed_domains[", i, "]: not a domain (got \"", d, "\")"));
    }
  }
  return p;
}

bool FindCallbackNumber(std::string_view text, size_t pos, std::string_view* match) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  auto in_class = [&](char c) { return digit(c) || c == ' ' || c == '.' || c == '-'; };
  const size_t n = text.size();
  for (size_t s = pos; s < n; ++s) {
    // The leftmost start: an optional '+' (taken when a match follows it), then a digit d.
    const size_t d = text[s] == '+' ? s + 1 : s;
    if (d >= n || !digit(text[d])) continue;
    // [\d .\-]{5,24}\d, greedy: the last digit f with d + 6 <= f <= d + 25 and every byte
    // between d and f in the class.
    const size_t limit = std::min(n, d + 26);
    size_t run_end = d + 1;
    while (run_end < limit && in_class(text[run_end])) ++run_end;
    for (size_t f = run_end; f-- > d + 6;) {
      if (digit(text[f])) {
        *match = text.substr(s, f + 1 - s);
        return true;
      }
    }
  }
  return false;
}

std::string CallbackKey(std::string_view number) {
  std::string digits;
  for (char c : number) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  if (digits.size() < 7) return "";
  if (digits.size() > 10) digits.erase(0, digits.size() - 10);
  return digits;
}

MessageFeatures ExtractFeatures(const Message& m, int min_words) {
  MessageFeatures f;
  ExtractFeaturesInto(m, min_words, &f);
  return f;
}

void ExtractFeaturesInto(const Message& m, int min_words, MessageFeatures* out) {
  MessageFeatures& f = *out;
  f.sender_hash = f.recipient_hash = f.fingerprint = 0;
  f.domains.clear();
  f.callbacks.clear();
  f.sender = m.sms.sender;
  f.recipient = m.sms.recipient;
  if (!f.sender.empty()) f.sender_hash = StableHash(f.sender);
  if (!f.recipient.empty()) f.recipient_hash = StableHash(f.recipient) | 1;
  int words = 0;
  const uint64_t fp = SimHash(m.sms.text, &words);
  if (words >= min_words) f.fingerprint = fp == 0 ? 1 : fp;
  for (const Uri& u : m.uris) {
    if (u.host.empty()) continue;
    // The host and each parent down to the registered domain, so a listed
    // "bad.example.com" catches "www.bad.example.com".
    std::string_view h = u.host;
    while (!h.empty()) {
      if (std::find(f.domains.begin(), f.domains.end(), h) == f.domains.end()) {
        f.domains.emplace_back(h);
      }
      if (h == u.registered_domain || u.registered_domain.empty()) break;
      const size_t dot = h.find('.');
      if (dot == std::string_view::npos || h.size() - dot - 1 < u.registered_domain.size()) break;
      h.remove_prefix(dot + 1);
    }
    if (f.domains.size() > 64) break;
  }
  // Call-back numbers, only when the text holds 7 digits at all (most do not).
  std::string_view text = m.sms.text;
  int digits = 0;
  for (char ch : text) digits += ch >= '0' && ch <= '9';
  if (digits >= 7) {
    size_t pos = 0;
    int guard = 0;
    std::string_view cand;
    while (guard++ < 32 && pos < text.size() && FindCallbackNumber(text, pos, &cand)) {
      pos = static_cast<size_t>(cand.data() - text.data()) + cand.size();
      // Split on double separators ("12 - 34"): each side is its own candidate.
      size_t start = 0;
      for (size_t i = 0; i <= cand.size(); ++i) {
        const bool sep_run = i + 1 < cand.size() && !(cand[i] >= '0' && cand[i] <= '9') &&
                             !(cand[i + 1] >= '0' && cand[i + 1] <= '9');
        if (i == cand.size() || sep_run) {
          std::string key = CallbackKey(cand.substr(start, i - start));
          if (!key.empty() &&
              std::find(f.callbacks.begin(), f.callbacks.end(), key) == f.callbacks.end()) {
            f.callbacks.push_back(std::move(key));
          }
          start = i + 1;
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------

std::string_view IntelKindName(IntelKind k) {
  switch (k) {
    case IntelKind::kSender: return "sender";
    case IntelKind::kFingerprint: return "fingerprint";
    case IntelKind::kDomain: return "domain";
    case IntelKind::kCallback: return "callback";
  }
  return "sender";
}

std::string Intelligence::Key(IntelKind kind, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  k.append(key);
  return k;
}

namespace {

// The lookup key in a per-thread buffer: lookups run per message and must not allocate.
const std::string& LookupKey(IntelKind kind, std::string_view key) {
  thread_local std::string k;
  k.clear();
  k.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  k.append(key);
  return k;
}

}  // namespace

void Intelligence::MakeRoom(int64_t now) {
  absl::erase_if(entries_, [&](const auto& kv) {
    const bool dead = kv.second.expires <= now;
    if (dead && kv.first[0] == '0' + static_cast<int>(IntelKind::kFingerprint)) {
      uint64_t fp;
      if (ParseHex64(std::string_view(kv.first).substr(1), &fp)) fingerprints_.Erase(fp);
    }
    return dead;
  });
  size_.store(entries_.size(), std::memory_order_relaxed);
  if (entries_.size() < max_entries_) return;
  // Still full: drop the weakest eighth.
  std::vector<double> w;
  w.reserve(entries_.size());
  for (const auto& [k, v] : entries_) w.push_back(v.weight);
  auto nth = w.begin() + w.size() / 8;
  std::nth_element(w.begin(), nth, w.end());
  const double cut = *nth;
  size_t budget = entries_.size() / 8 + 1;
  absl::erase_if(entries_, [&](const auto& kv) {
    if (budget == 0 || kv.second.weight > cut) return false;
    --budget;
    if (kv.first[0] == '0' + static_cast<int>(IntelKind::kFingerprint)) {
      uint64_t fp;
      if (ParseHex64(std::string_view(kv.first).substr(1), &fp)) fingerprints_.Erase(fp);
    }
    return true;
  });
  size_.store(entries_.size(), std::memory_order_relaxed);
}

void Intelligence::Add(IntelKind kind, std::string_view key, double weight, int64_t now,
                       int64_t ttl) {
  if (ttl <= 0) ttl = default_ttl_;
  Merge(kind, key,
        IntelEntry{.weight = weight, .count = 1, .first_seen = now, .last_seen = now,
                   .expires = now + ttl},
        now);
}

void Intelligence::Merge(IntelKind kind, std::string_view key, const IntelEntry& in,
                         int64_t now) {
  if (key.empty() || !(in.weight > 0) || in.expires <= now) return;
  std::unique_lock<std::shared_mutex> lock(mu_);
  std::string k = Key(kind, key);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) MakeRoom(now);
    IntelEntry e;
    e.first_seen = in.first_seen;
    it = entries_.emplace(std::move(k), e).first;
    if (kind == IntelKind::kFingerprint) {
      uint64_t fp;
      if (ParseHex64(key, &fp)) fingerprints_.Insert(fp);
    }
  }
  IntelEntry& e = it->second;
  e.weight += in.weight;
  e.count += in.count;
  e.first_seen = std::min(e.first_seen, in.first_seen);
  e.last_seen = std::max(e.last_seen, in.last_seen);
  e.expires = std::max(e.expires, in.expires);
  size_.store(entries_.size(), std::memory_order_relaxed);
}

double Intelligence::Weight(IntelKind kind, std::string_view key, int64_t now) const {
  if (key.empty()) return 0;
  if (size_.load(std::memory_order_relaxed) == 0) return 0;
  const std::string& k = LookupKey(kind, key);
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end() || it->second.expires <= now) return 0;
  return it->second.weight;
}

double Intelligence::FingerprintWeight(uint64_t fp, int64_t now) const {
  if (fp == 0 || size_.load(std::memory_order_relaxed) == 0) return 0;
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = entries_.find(LookupKey(IntelKind::kFingerprint, Hex64(fp)));
  if (it != entries_.end() && it->second.expires > now) return it->second.weight;
  std::optional<uint64_t> near = fingerprints_.FindNear(fp);
  if (!near) return 0;
  it = entries_.find(LookupKey(IntelKind::kFingerprint, Hex64(*near)));
  if (it == entries_.end() || it->second.expires <= now) return 0;
  return it->second.weight;
}

size_t Intelligence::Export(int64_t now, std::string* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<const std::pair<const std::string, IntelEntry>*> live;
  for (const auto& kv : entries_) {
    if (kv.second.expires > now) live.push_back(&kv);
  }
  std::sort(live.begin(), live.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* kv : live) {
    const IntelKind kind = static_cast<IntelKind>(kv->first[0] - '0');
    const IntelEntry& e = kv->second;
    std::string key = kv->first.substr(1);
    // JSON string escaping for keys (senders are printable; be safe anyway).
    std::string esc;
    for (char c : key) {
      if (c == '"' || c == '\\') {
        esc.push_back('\\');
        esc.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        esc.append(buf);
      } else {
        esc.push_back(c);
      }
    }
    char num[64];
    std::snprintf(num, sizeof num, "%.6g", e.weight);
    out->append(Cat("{\"kind\":\"", IntelKindName(kind), "\",\"key\":\"", esc,
                    "\",\"weight\":", num, ",\"count\":", e.count, ",\"first_seen\":",
                    e.first_seen, ",\"last_seen\":", e.last_seen,
                    ",\"ttl\":", std::max<int64_t>(e.expires - now, 1), "}\n"));
  }
  return live.size();
}

absl::Status Intelligence::ImportLine(std::string_view line, double trust, int64_t now) {
  std::vector<JsonField> fields;
  absl::Status s = ParseJsonLine(line, &fields);
  if (!s.ok()) return s;
  std::string kind_name, key;
  double weight = -1, ttl = 0;
  long long count = 1, first = now, last = now;
  for (const JsonField& f : fields) {
    if (f.key == "kind" && f.type == JsonField::kString) kind_name = f.value;
    else if (f.key == "key" && f.type == JsonField::kString) key = f.value;
    else if (f.key == "weight" && f.type == JsonField::kNumber) ParseDouble(f.value, &weight);
    else if (f.key == "ttl" && f.type == JsonField::kNumber) ParseDouble(f.value, &ttl);
    else if (f.key == "count" && f.type == JsonField::kNumber) ParseInt(f.value, &count);
    else if (f.key == "first_seen" && f.type == JsonField::kNumber) ParseInt(f.value, &first);
    else if (f.key == "last_seen" && f.type == JsonField::kNumber) ParseInt(f.value, &last);
  }
  IntelKind kind;
  if (kind_name == "sender") kind = IntelKind::kSender;
  else if (kind_name == "fingerprint") kind = IntelKind::kFingerprint;
  else if (kind_name == "domain") kind = IntelKind::kDomain;
  else if (kind_name == "callback") kind = IntelKind::kCallback;
  else {
    return absl::InvalidArgumentError(
        Cat("unknown kind \"", kind_name.substr(0, 32),
            "\" (expected sender, fingerprint, domain or callback)"));
  }
  if (key.empty() || key.size() > 256) {
    return absl::InvalidArgumentError("missing or over-long \"key\"");
  }
  if (kind == IntelKind::kFingerprint) {
    uint64_t fp;
    if (!ParseHex64(key, &fp)) {
      return absl::InvalidArgumentError(
          Cat("fingerprint key \"", key.substr(0, 32), "\" is not 16 hex digits"));
    }
    key = Hex64(fp);
  } else if (kind == IntelKind::kSender) {
    key = NormalizeSender(key);
  } else if (kind == IntelKind::kCallback) {
    key = CallbackKey(key);
    if (key.empty()) return absl::InvalidArgumentError("callback key has fewer than 7 digits");
  } else {
    key = AsciiLower(key);
  }
  if (!(weight >= 0) || !std::isfinite(weight) || weight > 1e6) {
    return absl::InvalidArgumentError("missing or bad \"weight\" (expected a number >= 0)");
  }
  if (!(ttl >= 0) || ttl > 86400.0 * 3650) {
    return absl::InvalidArgumentError("bad \"ttl\" (expected 0..315360000 seconds)");
  }
  const double w = weight * trust;
  if (!(w > 0)) return absl::OkStatus();
  // "ttl" is what was left at export time; it counts from now.
  const int64_t ttl_s = ttl > 0 ? static_cast<int64_t>(ttl) : default_ttl_;
  Merge(kind, key,
        IntelEntry{.weight = w,
                   .count = static_cast<uint32_t>(std::clamp<long long>(count, 1, 1000000000)),
                   .first_seen = std::min<int64_t>(first, now),
                   .last_seen = std::min<int64_t>(std::max<long long>(last, first), now),
                   .expires = now + ttl_s},
        now);
  return absl::OkStatus();
}

size_t Intelligence::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return entries_.size();
}

size_t Intelligence::MemoryBytes() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = entries_.capacity() * (sizeof(std::pair<std::string, IntelEntry>) + 1);
  for (const auto& [k, v] : entries_) n += k.capacity() > 15 ? k.capacity() + 1 : 0;
  return n + fingerprints_.MemoryBytes();
}

// ------------------------------------------------------------------------------------------

SignalEngine::SignalEngine(const SignalOptions& o, std::unique_ptr<BehaviourStore> store)
    : options_(o),
      store_(store ? std::move(store) : NewMemoryBehaviourStore(o)),
      intel_(std::make_unique<Intelligence>(o.max_intel, o.intel_ttl_seconds)),
      fp_index_(o.duplicate_max_distance) {
  for (const std::string& t : o.spamtraps) spamtraps_.insert(NormalizeSender(t));
  for (const std::string& d : o.listed_domains) listed_domains_.insert(AsciiLower(d));
  for (const std::string& n : o.listed_numbers) listed_numbers_.insert(CallbackKey(n));
  for (const auto& [r, w] : o.reporter_weights) reporter_weights_[r] = w;
}

SignalEngine::~SignalEngine() = default;

absl::StatusOr<std::unique_ptr<SignalEngine>> SignalEngine::Create(
    const SignalOptions& o, std::unique_ptr<BehaviourStore> store) {
  std::vector<std::string> problems = CheckSignalOptions(o);
  if (!problems.empty()) return absl::InvalidArgumentError(Join(problems, "\n"));
  return std::unique_ptr<SignalEngine>(new SignalEngine(o, std::move(store)));
}

std::unique_ptr<BehaviourStore> NewMemoryBehaviourStore(const SignalOptions& o) {
  return std::make_unique<MemoryBehaviourStore>(o);
}

void SignalEngine::Prefetch(const MessageFeatures& f) {
  if (f.fingerprint != 0) {
    std::lock_guard<std::mutex> lock(fp_mu_);
    fp_index_.Prefetch(f.fingerprint);
  }
  if (!f.sender.empty()) store_->Prefetch(f.sender_hash);
}

uint64_t SignalEngine::CanonicalFingerprint(uint64_t fp) {
  if (fp == 0) return 0;
  std::lock_guard<std::mutex> lock(fp_mu_);
  if (std::optional<uint64_t> near = fp_index_.FindNear(fp)) return *near;
  if (++fp_inserts_ > options_.max_fingerprints) {
    // The index is a cache of cluster representatives: starting it over bounds its memory.
    // Counters keyed by old representatives then age out of the store.
    fp_index_.Clear();
    fp_inserts_ = 1;
  }
  fp_index_.Insert(fp);
  return fp;
}

void SignalEngine::Fire(int index, double score, uint32_t count, std::vector<Match>* out) {
  out->push_back({.id = kSignalIds[index], .score = score, .count = count,
                  .kind = MatchKind::kSignal});
  counters_[kFiredCounter + index].fetch_add(1, std::memory_order_relaxed);
}

bool SignalEngine::Prepare(const MessageFeatures& f, int64_t now, std::vector<Match>* out,
                           BehaviourQuery* q) {
  counters_[kMessagesCounter].fetch_add(1, std::memory_order_relaxed);
  const uint64_t canonical = CanonicalFingerprint(f.fingerprint);

  // Spamtrap: this message is spam by definition; remember what it carried.
  thread_local std::string recipient;
  recipient.assign(f.recipient);
  if (!spamtraps_.empty() && !f.recipient.empty() && spamtraps_.contains(recipient)) {
    Fire(kSpamtrap, options_.spamtrap_score, 1, out);
    const double w = options_.spamtrap_weight;
    intel_->Add(IntelKind::kSender, f.sender, w, now);
    if (canonical) intel_->Add(IntelKind::kFingerprint, Hex64(canonical), w, now);
    for (const std::string& d : f.domains) intel_->Add(IntelKind::kDomain, d, w, now);
    for (const std::string& c : f.callbacks) intel_->Add(IntelKind::kCallback, c, w, now);
  }

  // Intelligence and lists: no shared counters needed.
  const double sender_w = intel_->Weight(IntelKind::kSender, f.sender, now);
  if (sender_w >= options_.report_threshold) {
    Fire(kSenderReported, options_.reported_sender_score,
         static_cast<uint32_t>(std::lround(sender_w)), out);
  }
  const double fp_w = intel_->FingerprintWeight(canonical, now);
  if (fp_w >= options_.report_threshold) {
    Fire(kContentReported, options_.reported_content_score,
         static_cast<uint32_t>(std::lround(fp_w)), out);
  }
  uint32_t url_hits = 0;
  for (const std::string& d : f.domains) {
    if (listed_domains_.contains(d) ||
        intel_->Weight(IntelKind::kDomain, d, now) >= options_.report_threshold) {
      ++url_hits;
    }
  }
  if (url_hits) Fire(kUrl, options_.url_score, url_hits, out);
  uint32_t number_hits = 0;
  for (const std::string& c : f.callbacks) {
    if (listed_numbers_.contains(c) ||
        intel_->Weight(IntelKind::kCallback, c, now) >= options_.report_threshold) {
      ++number_hits;
    }
  }
  if (number_hits) Fire(kCallback, options_.callback_score, number_hits, out);

  // Behaviour counters: only when there is a sender, or a text and a recipient to count.
  if (f.sender.empty() && (canonical == 0 || f.recipient_hash == 0)) return false;
  *q = BehaviourQuery{.sender = f.sender,
                      .sender_hash = f.sender_hash,
                      .recipient_hash = f.recipient_hash,
                      .fingerprint = canonical,
                      .now = now};
  return true;
}

void SignalEngine::Score(const BehaviourCounts& c, std::vector<Match>* out) {
  if (c.rate >= options_.rate_threshold) Fire(kRate, options_.rate_score, c.rate, out);
  if (c.recipients >= options_.dispersion_threshold) {
    Fire(kDispersion, options_.dispersion_score, c.recipients, out);
  }
  if (c.duplicate_recipients >= options_.duplicate_threshold) {
    Fire(kDuplicate, options_.duplicate_score, c.duplicate_recipients, out);
  }
}

absl::Status SignalEngine::Observe(const MessageFeatures& f, int64_t now,
                                   std::vector<Match>* out) {
  BehaviourQuery q;
  if (!Prepare(f, now, out, &q)) return absl::OkStatus();
  BehaviourCounts c;
  absl::Status s = store_->Observe(q, &c);
  if (!s.ok()) {
    counters_[kStoreErrorsCounter].fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  Score(c, out);
  return absl::OkStatus();
}

absl::Status SignalEngine::ObserveBatch(const std::vector<const MessageFeatures*>& fs,
                                        const std::vector<int64_t>& now,
                                        std::vector<std::vector<Match>>* out) {
  out->resize(fs.size());
  std::vector<BehaviourQuery> queries;
  std::vector<size_t> index;
  queries.reserve(fs.size());
  for (size_t i = 0; i < fs.size(); ++i) {
    BehaviourQuery q;
    if (Prepare(*fs[i], now[i], &(*out)[i], &q)) {
      queries.push_back(q);
      index.push_back(i);
    }
  }
  if (queries.empty()) return absl::OkStatus();
  std::vector<BehaviourCounts> counts;
  absl::Status s = store_->ObserveBatch(queries, &counts);
  if (!s.ok()) {
    counters_[kStoreErrorsCounter].fetch_add(queries.size(), std::memory_order_relaxed);
    return s;
  }
  for (size_t k = 0; k < index.size(); ++k) Score(counts[k], &(*out)[index[k]]);
  return absl::OkStatus();
}

absl::Status BehaviourStore::ObserveBatch(const std::vector<BehaviourQuery>& qs,
                                          std::vector<BehaviourCounts>* out) {
  out->assign(qs.size(), BehaviourCounts());
  for (size_t i = 0; i < qs.size(); ++i) {
    VETO_RETURN_IF_ERROR(Observe(qs[i], &(*out)[i]));
  }
  return absl::OkStatus();
}

bool SignalEngine::Report(std::string_view reporter, const MessageFeatures& f, int64_t now) {
  const uint64_t canonical = CanonicalFingerprint(f.fingerprint);
  const uint64_t key = Mix64(StableHash(reporter) ^ Mix64(f.sender_hash + 1) ^ (canonical * 3));
  {
    std::lock_guard<std::mutex> lock(report_mu_);
    auto [it, inserted] = report_seen_.try_emplace(key, now);
    if (!inserted) {
      if (now - it->second < options_.report_dedup_seconds) {
        counters_[kReportsDuplicateCounter].fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      it->second = now;
    }
    if (report_seen_.size() > options_.max_intel) {
      const int64_t horizon = now - options_.report_dedup_seconds;
      absl::erase_if(report_seen_, [&](const auto& kv) { return kv.second < horizon; });
      if (report_seen_.size() > options_.max_intel) report_seen_.clear();
    }
  }
  counters_[kReportsAcceptedCounter].fetch_add(1, std::memory_order_relaxed);
  double w = options_.default_reporter_weight;
  if (auto it = reporter_weights_.find(std::string(reporter)); it != reporter_weights_.end()) {
    w = it->second;
  }
  if (!(w > 0)) return true;
  intel_->Add(IntelKind::kSender, f.sender, w, now);
  if (canonical) intel_->Add(IntelKind::kFingerprint, Hex64(canonical), w, now);
  // URLs and numbers in reported texts count at half weight: a report names the sender and
  // the text; the links in it are strong but indirect evidence.
  for (const std::string& d : f.domains) intel_->Add(IntelKind::kDomain, d, w / 2, now);
  for (const std::string& c : f.callbacks) intel_->Add(IntelKind::kCallback, c, w / 2, now);
  return true;
}

SignalStats SignalEngine::Stats() const {
  SignalStats s;
  s.messages = counters_[kMessagesCounter].load();
  for (int i = 0; i < 8; ++i) s.fired[i] = counters_[kFiredCounter + i].load();
  s.store_errors = counters_[kStoreErrorsCounter].load();
  s.reports_accepted = counters_[kReportsAcceptedCounter].load();
  s.reports_duplicate = counters_[kReportsDuplicateCounter].load();
  return s;
}

}  // namespace veto::mobile
