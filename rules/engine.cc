#include "rules/engine.h"

#include <hs/hs.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "core/strings.h"
#include "rules/evals.h"
#include "rules/header_values.h"
#include "rules/meta.h"
#include "rules/re2_set.h"
#include "rules/regex.h"
#include "rules/regex_analysis.h"

namespace veto::rules {
namespace {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

// On-disk cache of compiled databases. A file holds one database and the changes made to its
// patterns while building it (DatabaseMove: patterns moved to the PCRE2-only path or behind
// their literal gate); it is keyed by a hash of everything that determines the result
// (Hyperscan version and platform, each expression and flag as first given, the cost
// threshold and the compile budget), so a stale or foreign file is never used and a warm
// start replays the same changes. A damaged file is ignored.
// The header (magic and moves) ends with a KeyHasher checksum of itself: a damaged move would
// map Hyperscan's ids to the wrong patterns (hs_deserialize_database checks the database).
constexpr char kCacheMagic[8] = {'V', 'E', 'T', 'O', 'H', 'S', '0', '3'};
// The list of patterns found over the compile budget, in the cache directory.
constexpr char kSlowPatternsFile[] = "slow-patterns";
// Bumped whenever TranslateForHyperscan's output for the same regex changes.
constexpr int kTranslationVersion = 20;

// Two independent 64-bit hashes of a sequence of byte strings, 8 bytes at a time (a warm start
// keys ~100 databases by every expression they hold: a byte-at-a-time hash of those megabytes
// was a tenth of its CPU time). Each string is prefixed with its length, so pieces cannot run
// into each other. Stable across runs and builds (cache file names depend on it).
class KeyHasher {
 public:
  void Add(std::string_view s) {
    Mix(s.size());
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      Mix(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    Mix(tail);
  }
  void Add(uint64_t v) { Mix(v); }
  std::string Hex() const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a_),
                  static_cast<unsigned long long>(b_));
    return buf;
  }

 private:
  // The high and low halves of the 128-bit product, folded (as in wyhash).
  static uint64_t Fold(uint64_t x, uint64_t y) {
    unsigned __int128 p = static_cast<unsigned __int128>(x) * y;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  }
  void Mix(uint64_t w) {
    a_ = Fold(a_ ^ w, 0xa0761d6478bd642full);
    b_ = Fold(b_ ^ w ^ 0xe7037ed1a0b428dbull, 0x8ebc6af09c88c6e3ull);
  }
  uint64_t a_ = 0x243f6a8885a308d3ull;
  uint64_t b_ = 0x13198a2e03707344ull;
};

std::string CacheKey(const std::vector<std::string>& exprs, const std::vector<unsigned>& flags,
                     std::string_view salt) {
  hs_platform_info_t platform{};
  hs_populate_platform(&platform);
  KeyHasher h;
  h.Add(std::string_view(hs_version()));
  h.Add(platform.tune);
  h.Add(platform.cpu_features);
  h.Add(salt);
  h.Add(exprs.size());
  for (size_t i = 0; i < exprs.size(); ++i) {
    h.Add(flags[i]);
    h.Add(exprs[i]);
  }
  return h.Hex();
}

// One change CompileDatabase made to a database's pattern list, in order; `index` is the
// position in the expression list at that moment (kPcreOnly removes the entry).
struct DatabaseMove {
  enum Kind : uint32_t {
    kPcreOnly = 0,  // Hyperscan refused it, or it is over the compile budget without a gate
    kGate = 1,      // replaced by its literal gate (`expression`, `flags`, `gate_count`)
    kNote = 2,      // unchanged; `why` is reported
  };
  uint32_t kind = kPcreOnly;
  uint32_t index = 0;
  std::string why;
  std::string expression;
  uint32_t flags = 0;
  uint32_t gate_count = 1;
};

struct CachedDatabase {
  std::vector<DatabaseMove> moves;
  std::string serialized;
  size_t offset = 0;  // where the serialized database starts in `serialized`
};

bool ReadWholeFile(const std::string& path, std::string* data) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  bool ok = std::fseek(f, 0, SEEK_END) == 0;
  long size = ok ? std::ftell(f) : -1;
  ok = ok && size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
  if (ok) {
    data->resize(static_cast<size_t>(size));
    ok = std::fread(data->data(), 1, data->size(), f) == data->size();
  }
  std::fclose(f);
  return ok;
}

// Write then rename, so a reader never sees half a file. Failures leave no file behind.
void WriteFileAtomically(const std::string& path, std::string_view data) {
  std::string tmp = Cat(path, ".tmp.", static_cast<long>(getpid()));
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return;
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

bool ReadCache(const std::string& path, CachedDatabase* out) {
  std::string data;
  if (!ReadWholeFile(path, &data)) return false;
  size_t pos = 0;
  auto take = [&](void* dst, size_t len) {
    if (pos + len > data.size()) return false;
    std::memcpy(dst, data.data() + pos, len);
    pos += len;
    return true;
  };
  auto take_string = [&](std::string* s) {
    uint32_t len = 0;
    if (!take(&len, 4) || pos + len > data.size()) return false;
    s->assign(data, pos, len);
    pos += len;
    return true;
  };
  char magic[8];
  uint32_t count = 0;
  if (!take(magic, 8) || std::memcmp(magic, kCacheMagic, 8) != 0 || !take(&count, 4)) return false;
  for (uint32_t i = 0; i < count; ++i) {
    DatabaseMove m;
    if (!take(&m.kind, 4) || m.kind > DatabaseMove::kNote || !take(&m.index, 4) ||
        !take(&m.flags, 4) || !take(&m.gate_count, 4) || !take_string(&m.why) ||
        !take_string(&m.expression))
      return false;
    out->moves.push_back(std::move(m));
  }
  KeyHasher header;
  header.Add(std::string_view(data).substr(0, pos));
  const std::string sum = header.Hex();
  if (pos + sum.size() > data.size() || data.compare(pos, sum.size(), sum) != 0) return false;
  pos += sum.size();
  uint64_t size = 0;
  if (!take(&size, 8) || pos + size != data.size()) return false;
  out->serialized = std::move(data);  // no copy of the (large) database: skip the header
  out->offset = pos;
  return true;
}

void WriteCache(const std::string& path, const CachedDatabase& c) {
  std::string data(kCacheMagic, 8);
  auto put = [&](const void* src, size_t len) { data.append(static_cast<const char*>(src), len); };
  auto put_string = [&](const std::string& s) {
    uint32_t len = static_cast<uint32_t>(s.size());
    put(&len, 4);
    data.append(s);
  };
  uint32_t count = static_cast<uint32_t>(c.moves.size());
  put(&count, 4);
  for (const DatabaseMove& m : c.moves) {
    put(&m.kind, 4);
    put(&m.index, 4);
    put(&m.flags, 4);
    put(&m.gate_count, 4);
    put_string(m.why);
    put_string(m.expression);
  }
  KeyHasher header;
  header.Add(data);
  data += header.Hex();
  uint64_t size = c.serialized.size();
  put(&size, 8);
  data.append(c.serialized);
  WriteFileAtomically(path, data);
}

// Translations (TranslateForHyperscan) are cached too: for large patterns they include a
// trial Hyperscan compile, which otherwise dominates a warm start. One file per rule set,
// one line per regex rule in load order:
// "ok<TAB>flags<TAB>mode<TAB>cost<TAB>literal length<TAB>why<TAB>expression<TAB>RE2 program
// size<TAB>RE2 expression<TAB>exact RE2 expression<TAB>its program size" (mode 0 exact,
// 1 prefilter, 2 literal gate; the RE2 fields empty if none), "err<TAB>message" (PCRE2 only) or "bad<TAB>message"
// (neither engine can run it: a problem, not compiled again on a warm start)
// or "err<TAB>message", with backslash, tab and newline escaped.
std::string EscapeField(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string UnescapeField(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out.push_back(n == 't' ? '\t' : n == 'n' ? '\n' : n);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string EncodeTranslation(const absl::StatusOr<HyperscanPattern>& t) {
  if (absl::IsFailedPrecondition(t.status()))
    return Cat("bad\t", EscapeField(std::string(t.status().message())));
  if (!t.ok()) return Cat("err\t", EscapeField(std::string(t.status().message())));
  return Cat("ok\t", t->flags, "\t",
             t->gated ? 1 + static_cast<long long>(t->gate_count) : t->prefilter ? 1 : 0, "\t",
             static_cast<long long>(t->cost), "\t", static_cast<long long>(t->literal_length),
             "\t", EscapeField(t->why_prefilter), "\t", EscapeField(t->expression), "\t",
             t->re2_program, "\t", EscapeField(t->re2_expression), "\t",
             EscapeField(t->re2_exact), "\t", t->re2_exact_program);
}

bool DecodeTranslation(std::string_view line, absl::StatusOr<HyperscanPattern>* out) {
  std::vector<std::string_view> f = Split(line, '\t');
  if (f.size() == 2 && f[0] == "err") {
    *out = absl::InvalidArgumentError(UnescapeField(f[1]));
    return true;
  }
  if (f.size() == 2 && f[0] == "bad") {
    *out = absl::FailedPreconditionError(UnescapeField(f[1]));
    return true;
  }
  long long flags = 0, pre = 0, cost = 0, literal = 0, program = 0, exact_program = 0;
  if (f.size() != 11 || f[0] != "ok" || !ParseInt(f[1], &flags) || !ParseInt(f[2], &pre) ||
      !ParseInt(f[3], &cost) || !ParseInt(f[4], &literal) || literal < 0 ||
      !ParseInt(f[7], &program) || program < 0 || program > INT32_MAX ||
      !ParseInt(f[10], &exact_program) || exact_program < 0 || exact_program > INT32_MAX)
    return false;
  HyperscanPattern hp;
  hp.flags = static_cast<unsigned>(flags);
  hp.prefilter = pre != 0;
  hp.gated = pre >= 2;
  hp.gate_count = pre >= 2 ? static_cast<size_t>(pre - 1) : 1;
  hp.cost = static_cast<double>(cost);
  hp.literal_length = static_cast<size_t>(literal);
  hp.why_prefilter = UnescapeField(f[5]);
  hp.expression = UnescapeField(f[6]);
  hp.re2_program = static_cast<int>(program);
  hp.re2_expression = UnescapeField(f[8]);
  hp.re2_exact = UnescapeField(f[9]);
  hp.re2_exact_program = static_cast<int>(exact_program);
  *out = std::move(hp);
  return true;
}

// One regex rule as compiled: which slot it sets, how a Hyperscan hit is finished.
struct Pattern {
  int slot = -1;
  // Gated patterns whose gate needs several literals: Hyperscan reports every gate literal
  // match (no SINGLEMATCH) and the text is confirmed once this many have been seen.
  uint32_t gate_count = 1;
  bool prefilter = false;
  bool gated = false;  // Hyperscan matches its literal gate (prefilter is set too)
  bool multiple = false;
  bool nosubject = false;
  bool negate = false;
  uint32_t maxhits = 0;
  std::unique_ptr<ConfirmRegex> confirm;  // prefilter or multiple
  std::unique_ptr<Re2Regex> re2_confirm;  // confirms instead of `confirm` (counts stay PCRE2's)
};

// A block-mode database over one kind of text; Hyperscan ids index `patterns`.
struct Database {
  HsDatabase db;
  std::vector<int> patterns;  // hs id -> index into Engine::patterns_
  // Patterns Hyperscan refuses (too long, too complex) but PCRE2 runs: matched with PCRE2
  // alone on every text this database scans. Slow, so reported at compile time.
  std::vector<int> pcre_only;
  std::vector<int> counted_gates;  // patterns with gate_count > 1: their counts reset per text
  size_t bytes = 0;
  // Whether a pattern in `db` may match the empty buffer (HS_FLAG_ALLOWEMPTY). Hyperscan
  // refuses every other pattern that could, so without one a scan of "" reports nothing and
  // is skipped (a missing header: most header groups of every SMS).
  bool matches_empty = true;
  std::string name;  // "body", "header Subject", ... (profiling)
  int id = -1;       // index into Engine::all_dbs_ (profiling)
  // Instead of `db`: bare patterns (exact or prefilter forms) on one lazily built RE2 DFA
  // (re2_set.h); set index -> the same `patterns` entry as a Hyperscan id.
  std::unique_ptr<Re2Set> re2;
};

bool AnyAllowEmpty(const std::vector<unsigned>& flags) {
  for (unsigned f : flags) {
    if (f & HS_FLAG_ALLOWEMPTY) return true;
  }
  return false;
}

enum class Field { kBody, kRawBody, kFull, kUri };

// The databases of one field class (body, rawbody, full, uri): shards of up to
// kLightPerShard patterns that contain a literal of at least kShardLiteral bytes, and shards of
// kBarePerShard "bare" patterns without one. Hyperscan splits the first kind around their
// literals and compiles hundreds together in a second; the bare ones become automata that it
// tries to merge with each other, at a cost that grows much faster than their number (the 109
// bare body patterns of the stock set: 23 s CPU in one database, 3-4 s in shards of 6, while
// the 460 others take 2.5 s in one). Separate databases compile in parallel; each shard costs
// one more scan of the text.
struct Sharded {
  std::deque<Database> dbs;  // stable addresses: patterns and jobs point into it
  std::deque<std::vector<std::string>> exprs;  // compile time only
  std::deque<std::vector<unsigned>> flags;
  size_t light_shard = SIZE_MAX;  // compile time: the shards being filled
  size_t bare_shard = SIZE_MAX;
  size_t re2_shard = SIZE_MAX;
  int re2_program = 0;  // RE2 program size of the RE2 set being filled
  bool use_re2 = false;  // enough bare patterns with an RE2 form (kMinRe2Patterns)
};

constexpr size_t kShardLiteral = 3;
// RE2 sets replace a field's bare Hyperscan shards only from this many bare patterns with an
// RE2 form on: each RE2::Set::Match costs ~1,300 instructions even on a short text (the SMS
// replay with the 2 bundled bare patterns on a set: 28.1k -> 30.7k instructions per record),
// which pays only when it spares Hyperscan many automata.
constexpr size_t kMinRe2Patterns = 8;

// A pattern Hyperscan would run as an automaton of its own (no literal to split it around).
bool IsBare(const HyperscanPattern& hp) { return !hp.gated && hp.literal_length < kShardLiteral; }
bool IsSharded(RuleType t) {
  return t == RuleType::kBody || t == RuleType::kRawBody || t == RuleType::kFull ||
         t == RuleType::kUri;
}
constexpr size_t kBarePerShard = 6;
constexpr size_t kLightPerShard = 200;

struct HeaderGroup {
  HeaderSpec spec;             // what to read (modifiers, if-unset)
  Database db;                 // may be empty when the group has only `exists:` rules
  std::vector<int> negated;    // pattern indices of `!~` rules (hit when no match)
};

struct MimeHeaderGroup {
  HeaderSpec spec;
  Database db;
  std::vector<int> negated;
};

struct MetaRule {
  int slot;
  MetaExpression expr;
  // The value when every operand is 0, the usual case (most sub-rules do not hit): then the
  // expression need not be walked.
  double zero_value = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs fn(0..n-1) on up to four threads (the calling one included), each taking the next index.
void ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  unsigned n_threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads && t < n; ++t) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
}

// TranslateForHyperscan, and for a pattern Hyperscan cannot run, whether PCRE2 can: if not,
// a FailedPrecondition (a problem; the cache remembers it, so a warm start does not try again).
absl::StatusOr<HyperscanPattern> TranslateRule(const Rule& r) {
  absl::StatusOr<HyperscanPattern> translated = TranslateForHyperscan(r.regex);
  if (!translated.ok() && !absl::IsFailedPrecondition(translated.status())) {
    absl::StatusOr<std::unique_ptr<ConfirmRegex>> c = ConfirmRegex::Compile(r.regex);
    if (!c.ok()) {
      translated = absl::FailedPreconditionError(Cat(
          "neither engine can run it: ", translated.status().message(),
          translated.status().message() == c.status().message()
              ? std::string()
              : Cat("; ", c.status().message())));
    }
  }
  if (!translated.ok()) return translated;
  if (translated->prefilter) {
    // Hyperscan can only over-approximate it (syntax or cost): if RE2 can run it exactly, RE2
    // confirms the hits, in linear time.
    absl::StatusOr<HyperscanPattern> exact = TranslateExactly(r.regex);
    absl::StatusOr<std::string> re2 =
        exact.ok() ? Re2Expression(exact->expression, exact->flags, &translated->re2_exact_program)
                   : exact.status();
    if (re2.ok()) translated->re2_exact = *std::move(re2);
  }
  if (IsBare(*translated) && IsSharded(r.type)) {
    // Bare patterns run on RE2 sets (re2_set.h): exactly if RE2 can, else as a prefilter RE2
    // reads more widely (PCRE2 confirms its hits either way).
    if (!translated->re2_exact.empty()) {
      translated->re2_expression = translated->re2_exact;
      translated->re2_program = translated->re2_exact_program;
    } else {
      absl::StatusOr<std::string> re2 =
          Re2Expression(translated->expression, translated->flags, &translated->re2_program);
      if (re2.ok()) translated->re2_expression = *std::move(re2);
    }
  }
  return translated;
}

// VETO_PROFILE_PATTERNS=1: each scratch times the PCRE2 work per pattern and prints the most
// expensive patterns when it is freed (how the expensive rules were found; off by default).
bool ProfilePatterns() {
  static const bool on = std::getenv("VETO_PROFILE_PATTERNS") != nullptr;
  return on;
}

class Scratch : public MatchScratch {
 public:
  ~Scratch() override {
    if (hs != nullptr) hs_free_scratch(hs);
    if (!profile_ns.empty()) {
      std::vector<std::pair<double, size_t>> top;
      double total = 0;
      for (size_t i = 0; i < profile_ns.size(); ++i) {
        total += profile_ns[i];
        if (profile_ns[i] > 0) top.emplace_back(profile_ns[i], i);
      }
      std::sort(top.rbegin(), top.rend());
      if (!top.empty()) {
        std::fprintf(stderr, "PCRE2 time by pattern (total %.3f s; at most %u calls per message):\n",
                     total / 1e9, std::max(max_confirms, confirms));
      }
      std::vector<std::pair<double, size_t>> dbs;
      for (size_t i = 0; i < scan_ns.size(); ++i) dbs.emplace_back(scan_ns[i], i);
      std::sort(dbs.rbegin(), dbs.rend());
      double scan_total = 0;
      for (double ns : scan_ns) scan_total += ns;
      std::fprintf(stderr, "Hyperscan time by database (total %.3f s):\n", scan_total / 1e9);
      for (size_t k = 0; k < dbs.size() && k < 30; ++k) {
        size_t i = dbs[k].second;
        std::fprintf(stderr, "  %8.3f s %9zu scans %11zu bytes  %s\n", dbs[k].first / 1e9,
                     scan_calls[i], scan_bytes[i], scan_names[i].c_str());
      }
      for (size_t k = 0; k < top.size() && k < 40; ++k) {
        size_t i = top[k].second;
        std::fprintf(stderr, "  %8.3f s %9zu calls %9zu hits  %s\n", top[k].first / 1e9,
                     profile_calls[i], profile_hits[i], profile_names[i].c_str());
      }
    }
  }
  std::vector<double> profile_ns;  // per pattern, when profiling
  std::vector<size_t> profile_calls, profile_hits;
  std::vector<double> scan_ns;  // per database id
  std::vector<size_t> scan_calls, scan_bytes;
  std::vector<std::string> scan_names;
  std::vector<std::string> profile_names;
  hs_scratch_t* hs = nullptr;
  std::vector<int> re2_hits;  // one RE2 set's matches in the current text
  std::vector<double> values;
  std::vector<uint8_t> matched;   // per pattern, for negation within one scan target
  std::vector<uint32_t> counted;  // per slot: hits counted so far (maxhits)
  std::vector<uint32_t> gate_hits;  // per pattern: gate literal matches in the current text
  uint32_t confirm_budget = 0;      // EngineOptions::confirm_budget
  uint32_t confirms = 0;            // PCRE2 calls for the current message
  uint32_t max_confirms = 0;        // the most for any earlier message (profiling)
  bool over_budget = false;         // some were skipped
  // Whether another PCRE2 call fits the message's budget (counts it).
  bool TakeConfirm() {
    if (confirms >= confirm_budget) {
      over_budget = true;
      return false;
    }
    ++confirms;
    return true;
  }
};

struct ScanContext {
  const std::vector<Pattern>* patterns;
  const Database* db;
  Scratch* scratch;
  std::string_view text;
  size_t element;
};

class Engine : public CompiledRules {
 public:
  absl::Status Build(const RuleSet& set, const EngineOptions& options, CompileReport* report);

  std::unique_ptr<MatchScratch> NewScratch() const override {
    auto s = std::make_unique<Scratch>();
    for (const Database* d : all_dbs_) {
      if (d->db && hs_alloc_scratch(d->db.get(), &s->hs) != HS_SUCCESS) break;
    }
    s->values.assign(slot_names_.size(), 0);
    s->matched.assign(patterns_.size(), 0);
    s->counted.assign(slot_names_.size(), 0);
    s->gate_hits.assign(patterns_.size(), 0);
    s->confirm_budget = confirm_budget_;
    if (ProfilePatterns()) {
      s->profile_ns.assign(patterns_.size(), 0);
      s->profile_calls.assign(patterns_.size(), 0);
      s->profile_hits.assign(patterns_.size(), 0);
      for (const Pattern& p : patterns_) s->profile_names.push_back(slot_names_[p.slot]);
      s->scan_ns.assign(all_dbs_.size(), 0);
      s->scan_calls.assign(all_dbs_.size(), 0);
      s->scan_bytes.assign(all_dbs_.size(), 0);
      for (const Database* d : all_dbs_) {
        std::string name = Cat(d->name, " (", d->patterns.size(), ":");
        for (size_t k = 0; k < d->patterns.size() && k < 8; ++k)
          name += Cat(" ", slot_names_[patterns_[d->patterns[k]].slot]);
        s->scan_names.push_back(Cat(name, d->patterns.size() > 8 ? " ...)" : ")"));
      }
    }
    return s;
  }

  void Match(const Message& m, MatchScratch* scratch, Scores* out) const override {
    auto* s = static_cast<Scratch*>(scratch);
    Run(m, s);
    for (int slot : reported_) {
      double v = s->values[slot];
      if (v == 0) continue;
      veto::Match hit;
      hit.id = slot_names_[slot];
      hit.score = slot_scores_[slot];
      hit.count = v >= 1 ? static_cast<uint32_t>(v) : 1;
      hit.kind = MatchKind::kRule;
      out->Add(hit);
    }
    if (s->over_budget) out->Add({.id = kBudgetRule, .score = 0, .kind = MatchKind::kRule});
  }

  std::vector<std::pair<std::string, double>> AllHits(const Message& m,
                                                      MatchScratch* scratch) const override {
    auto* s = static_cast<Scratch*>(scratch);
    Run(m, s);
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < rule_slots_; ++i) {
      if (s->values[i] != 0) out.emplace_back(slot_names_[i], s->values[i]);
    }
    if (s->over_budget) out.emplace_back(std::string(kBudgetRule), 1);
    return out;
  }

  size_t scratch_bytes() const override {
    auto s = NewScratch();
    size_t n = 0;
    hs_scratch_size(static_cast<Scratch*>(s.get())->hs, &n);
    return n;
  }

 private:
  // Adds a pattern to `db`; hp == nullptr makes it PCRE2-only, `pcre_only_reason` says why.
  int AddPattern(const Rule& r, int slot, const HyperscanPattern* hp,
                 std::string_view pcre_only_reason, CompileReport* report,
                 std::vector<std::string>* exprs, std::vector<unsigned>* flags, Database* db);
  absl::Status CompileDatabase(std::vector<std::string>& exprs, std::vector<unsigned>& flags,
                               Database* db, CompileReport* report);
  // Builds db->re2 from its RE2 expressions (a few ms for the largest stock set; the DFA is
  // built as texts are matched), alongside the Hyperscan compiles.
  absl::Status BuildRe2Set(const std::vector<std::string>& exprs, Database* db,
                           CompileReport* report);
  // Takes pattern `pi` out of Hyperscan's hands: PCRE2 alone runs it on every text of `db`.
  void MoveToPcreOnly(int pi, const std::string& why, Database* db, CompileReport* report);
  // Applies one recorded change to a database being built (false: it could not be applied).
  bool ApplyMove(const DatabaseMove& m, std::vector<std::string>& exprs,
                 std::vector<unsigned>& flags, Database* db, CompileReport* report);
  DatabaseMove OffHyperscan(size_t index, const std::vector<std::string>& exprs,
                            const Database& db, std::string why) const;
  // Key of a pattern in the list of patterns found over the compile budget.
  std::string SlowKey(const std::string& expr, unsigned flags) const;
  void Run(const Message& m, Scratch* s) const;
  void Scan(const Database& db, std::string_view text, size_t element, Scratch* s) const;
  static int OnMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                     void* ctx);
  static int OnPatternHit(int pattern, ScanContext* ctx, bool confirmed);
  static bool Confirm(int pi, const Pattern& p, std::string_view text, Scratch* s);
  static size_t Count(int pi, const Pattern& p, std::string_view text, size_t max, Scratch* s);

  std::vector<std::string> slot_names_;  // rule names, then unknown meta operands
  std::vector<double> slot_scores_;
  size_t rule_slots_ = 0;
  std::vector<int> reported_;            // slots reported when hit
  std::vector<Pattern> patterns_;
  Sharded body_, rawbody_, full_, uri_;
  std::vector<HeaderGroup> headers_;
  std::vector<std::pair<HeaderSpec, int>> exists_;  // spec, slot
  std::vector<MimeHeaderGroup> mimeheaders_;
  std::vector<std::pair<EvalFunction, int>> evals_;
  std::vector<MetaRule> metas_;           // in dependency order
  std::vector<const Database*> all_dbs_;
  std::string cache_dir_;
  uint32_t confirm_budget_ = 0;
  absl::flat_hash_map<int, const Rule*> rule_of_slot_;  // compile time only
  // Whether the translation AddPattern is given came from the cache (compile time only).
  bool translation_from_cache_ = false;
  // Databases compile in parallel: guards `report`, all_dbs_ and the pcre_only lists.
  std::mutex compile_mu_;
  int compile_budget_ms_ = 0;  // EngineOptions::compile_budget_ms; 0: no budget
  // Patterns found over the compile budget (SlowKey -> CPU seconds alone), kept in the cache
  // directory (kSlowPatternsFile) so a later build takes them off Hyperscan before compiling.
  std::mutex slow_mu_;
  absl::flat_hash_map<std::string, double> slow_;
  bool slow_changed_ = false;
};

bool Engine::Confirm(int pi, const Pattern& p, std::string_view text, Scratch* s) {
  // Past the budget a pattern counts as not matched, so its rule does not hit — and a `!~`
  // rule, which hits when its pattern does not match, counts it as matched for the same
  // reason: skipped work never makes a rule hit.
  if (!s->TakeConfirm()) return p.negate;
  auto matches = [&] {
    bool hit = false;
    if (p.re2_confirm && p.re2_confirm->Matches(text, &hit)) return hit;
    return p.confirm->Matches(text);
  };
  if (s->profile_ns.empty()) return matches();
  auto t0 = std::chrono::steady_clock::now();
  bool hit = matches();
  s->profile_ns[pi] +=
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  ++s->profile_calls[pi];
  s->profile_hits[pi] += hit ? 1 : 0;
  return hit;
}

size_t Engine::Count(int pi, const Pattern& p, std::string_view text, size_t max, Scratch* s) {
  if (!s->TakeConfirm()) return 0;
  if (s->profile_ns.empty()) return p.confirm->CountMatches(text, max);
  auto t0 = std::chrono::steady_clock::now();
  size_t n = p.confirm->CountMatches(text, max);
  s->profile_ns[pi] +=
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  ++s->profile_calls[pi];
  s->profile_hits[pi] += n;
  return n;
}

int Engine::OnMatch(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  auto* c = static_cast<ScanContext*>(ctx);
  int pi = c->db->patterns[id];
  const Pattern& p = (*c->patterns)[pi];
  if (p.gate_count > 1) {
    // Every match of (?:X){n} contains n gate literals, ending at n different offsets; a
    // repeated report only makes the count larger (a confirm more, never a miss).
    uint32_t& seen = c->scratch->gate_hits[pi];
    if (seen >= p.gate_count) return 0;  // this text was handed on already
    if (++seen < p.gate_count) return 0;
  }
  return OnPatternHit(pi, c, /*confirmed=*/false);
}

int Engine::OnPatternHit(int pi, ScanContext* c, bool confirmed) {
  const Pattern& p = (*c->patterns)[pi];
  Scratch* s = c->scratch;
  if (p.nosubject && c->element == 0) return 0;
  // Already decided by an earlier text: nothing to confirm or count.
  if (!p.negate) {
    if (!p.multiple && s->values[p.slot] != 0) return 0;
    if (p.multiple && p.maxhits > 0 && s->counted[p.slot] >= p.maxhits) return 0;
  }
  if (p.prefilter && !confirmed && !Confirm(pi, p, c->text, s)) return 0;
  s->matched[pi] = 1;
  if (p.negate) return 0;  // decided after the scan
  if (p.multiple) {
    uint32_t& done = s->counted[p.slot];
    if (p.maxhits > 0 && done >= p.maxhits) return 0;
    size_t n = Count(pi, p, c->text, p.maxhits > 0 ? p.maxhits - done : 0, s);
    done += static_cast<uint32_t>(n);
    s->values[p.slot] += static_cast<double>(n);
  } else {
    s->values[p.slot] = 1;
  }
  return 0;
}

void Engine::Scan(const Database& db, std::string_view text, size_t element, Scratch* s) const {
  ScanContext ctx{&patterns_, &db, s, text, element};
  for (int pi : db.counted_gates) s->gate_hits[pi] = 0;
  const bool scan = (db.db || db.re2) && (!text.empty() || db.matches_empty);
  auto run = [&] {
    if (db.db) {
      hs_scan(db.db.get(), text.data(), static_cast<unsigned>(text.size()), 0, s->hs,
              &Engine::OnMatch, &ctx);
      return;
    }
    db.re2->Match(text, &s->re2_hits);
    for (int id : s->re2_hits) OnMatch(static_cast<unsigned>(id), 0, 0, 0, &ctx);
  };
  if (scan && !s->scan_ns.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    s->scan_ns[db.id] +=
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    ++s->scan_calls[db.id];
    s->scan_bytes[db.id] += text.size();
  } else if (scan) {
    run();
  }
  for (int pi : db.pcre_only) {
    const Pattern& p = patterns_[pi];
    if (p.nosubject && element == 0) continue;
    if (!p.multiple && !p.negate && s->values[p.slot] != 0) continue;  // already decided
    if (Confirm(pi, p, text, s)) OnPatternHit(pi, &ctx, /*confirmed=*/true);
  }
}

void Engine::Run(const Message& m, Scratch* s) const {
  std::fill(s->values.begin(), s->values.end(), 0);
  s->max_confirms = std::max(s->max_confirms, s->confirms);
  s->confirms = 0;
  s->over_budget = false;
  std::fill(s->counted.begin(), s->counted.end(), 0);
  for (const Database& db : body_.dbs) {
    for (size_t i = 0; i < m.body_elements.size(); ++i) Scan(db, m.body_elements[i], i, s);
  }
  for (const Database& db : rawbody_.dbs) {
    for (size_t i = 0; i < m.rawbody_elements.size(); ++i) Scan(db, m.rawbody_elements[i], i, s);
  }
  for (const Database& db : full_.dbs) Scan(db, m.full, 0, s);
  for (const Uri& u : m.uris) {
    // SpamAssassin's URI list holds HTML attribute values as written plus cleaned variants,
    // but never a schemeless text form ("www.x.com" only as "http://www.x.com").
    for (const Database& db : uri_.dbs) {
      if (u.source == UriSource::kText && u.schemeless) {
        Scan(db, u.url, 0, s);
      } else {
        Scan(db, u.raw, 0, s);
        if (u.raw != u.url) Scan(db, u.url, 0, s);
      }
    }
  }
  for (const HeaderGroup& g : headers_) {
    bool present = false;
    std::string text = HeaderTarget(m, g.spec, &present);
    for (int pi : g.negated) s->matched[pi] = 0;
    Scan(g.db, text, 0, s);
    for (int pi : g.negated) {
      if (!s->matched[pi]) s->values[patterns_[pi].slot] = 1;
    }
  }
  for (const auto& [spec, slot] : exists_) {
    // Through HeaderTarget, so pseudo-headers (ToCc, MESSAGEID, ...) and the X-Spam-*
    // exclusion behave as for regex rules.
    bool present = false;
    HeaderTarget(m, spec, &present);
    if (present) s->values[slot] = 1;
  }
  for (const MimeHeaderGroup& g : mimeheaders_) {
    std::vector<std::string> texts = MimeHeaderTargets(m, g.spec);
    for (size_t i = 0; i < texts.size(); ++i) Scan(g.db, texts[i], i, s);
    // SpamAssassin's negated mimeheader rules always hit (§3.8); no stock rule has one.
    for (int pi : g.negated) s->values[patterns_[pi].slot] = 1;
  }
  for (const auto& [fn, slot] : evals_) {
    double v = fn(m);
    if (v != 0) s->values[slot] = v > 0 ? v : 1;
  }
  for (const MetaRule& meta : metas_) {
    const double* values = s->values.data();
    bool all_zero = true;
    for (int op : meta.expr.operands()) {
      if (values[op] != 0) {
        all_zero = false;
        break;
      }
    }
    double v = all_zero ? meta.zero_value : meta.expr.Evaluate(values);
    s->values[meta.slot] = v == 0 ? 0 : (v > 0 ? v : 1);
  }
}

int Engine::AddPattern(const Rule& r, int slot, const HyperscanPattern* hp,
                       std::string_view pcre_only_reason, CompileReport* report,
                       std::vector<std::string>* exprs,
                       std::vector<unsigned>* flags, Database* db) {
  Pattern p;
  p.slot = slot;
  p.prefilter = hp == nullptr || hp->prefilter;
  p.gated = hp != nullptr && hp->gated;
  p.multiple = r.multiple;
  p.maxhits = r.maxhits;
  p.nosubject = r.nosubject && r.type == RuleType::kBody;
  p.negate = r.header.negate;
  p.gate_count = hp != nullptr && hp->gated ? static_cast<uint32_t>(std::max<size_t>(1, hp->gate_count)) : 1;
  if (hp != nullptr && (p.prefilter || p.multiple) && (hp->prefilter || translation_from_cache_)) {
    // TranslateForHyperscan found PCRE2 compiles it (prefilter and gated patterns), or an
    // earlier run did (a cached translation): compiled when first needed.
    p.confirm = ConfirmRegex::CompileLazily(r.regex);
  } else if (p.prefilter || p.multiple) {
    absl::StatusOr<std::unique_ptr<ConfirmRegex>> c = ConfirmRegex::Compile(r.regex);
    if (!c.ok() && hp == nullptr) {
      report->problems.push_back({r.file, r.line, r.name, std::string(pcre_only_reason)});
      return -1;
    }
    if (!c.ok()) {
      report->problems.push_back({r.file, r.line, r.name,
                                  Cat("PCRE2 cannot compile: ", c.status().message())});
      return -1;
    }
    p.confirm = *std::move(c);
  }
  if (p.prefilter && hp != nullptr && !hp->re2_exact.empty())
    p.re2_confirm = std::make_unique<Re2Regex>(hp->re2_exact, hp->re2_exact_program);
  if (p.multiple) ++report->counted;
  patterns_.push_back(std::move(p));
  int index = static_cast<int>(patterns_.size() - 1);
  if (hp == nullptr) {
    ++report->pcre_only;
    report->notes.push_back({r.file, r.line, r.name, std::string(pcre_only_reason)});
    db->pcre_only.push_back(index);
    return index;
  }
  if (hp->prefilter) ++report->prefiltered;
  else ++report->exact;
  db->patterns.push_back(index);
  exprs->push_back(hp->expression);
  // SINGLEMATCH: a hit is all we need from Hyperscan; counting is PCRE2's job. Gates that
  // need several literals are counted here instead.
  if (patterns_[index].gate_count > 1) {
    db->counted_gates.push_back(index);
    flags->push_back(hp->flags);
  } else {
    flags->push_back(hp->flags | HS_FLAG_SINGLEMATCH);
  }
  return index;
}

void Engine::MoveToPcreOnly(int pi, const std::string& why, Database* db,
                            CompileReport* report) {
  std::lock_guard<std::mutex> lock(compile_mu_);
  Pattern& p = patterns_[pi];
  const Rule* r = rule_of_slot_[p.slot];
  if (p.prefilter) --report->prefiltered;
  else --report->exact;
  if (!p.confirm) {
    absl::StatusOr<std::unique_ptr<ConfirmRegex>> c = ConfirmRegex::Compile(r->regex);
    if (!c.ok()) {
      report->problems.push_back({r->file, r->line, r->name,
                                  Cat(why, "; PCRE2: ", c.status().message())});
      return;
    }
    p.confirm = *std::move(c);
  }
  p.prefilter = true;
  db->pcre_only.push_back(pi);
  ++report->pcre_only;
  report->notes.push_back({r->file, r->line, r->name, Cat(why, "; matched with PCRE2 only")});
}

namespace {

// Texts for the load-time check of prefilter patterns that fire on nearly anything: short
// chunks over different alphabets (lower case and spaces, upper case, digits, punctuation,
// white space, bytes >= 0x80, all bytes, words), from a fixed generator, so the check is
// deterministic. A pattern that fires on nearly all of them would fire on nearly every text.
const std::vector<std::string>& FiringProbeTexts() {
  static const std::vector<std::string> texts = [] {
    static const char* const kAlphabets[] = {
        "abcdefghijklmnopqrstuvwxyz    ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", " \t\r\n\n"};
    static const char* const kWords[] = {"the", "of", "and", "meeting", "Tuesday", "report",
                                         "thanks", "see", "you", "at", "noon", "invoice"};
    std::vector<std::string> out;
    uint32_t state = 12345;
    auto next = [&] {
      state = state * 1103515245u + 12345u;
      return state >> 8;
    };
    for (size_t k = 0; k < 48; ++k) {
      std::string t;
      size_t kind = k % 8;
      while (t.size() < 40) {
        if (kind < 5) {
          std::string_view a = kAlphabets[kind];
          t.push_back(a[next() % a.size()]);
        } else if (kind == 5) {
          t.push_back(static_cast<char>(0x80 + next() % 0x80));
        } else if (kind == 6) {
          t.push_back(static_cast<char>(next() % 256));
        } else {
          t += Cat(kWords[next() % std::size(kWords)], next() % 5 == 0 ? ". " : " ");
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  }();
  return texts;
}

// For each expression of `db`: on how many FiringProbeTexts it reports a match.
std::vector<size_t> CountProbeFirings(const hs_database_t* db, size_t n_exprs) {
  std::vector<size_t> fired(n_exprs, 0);
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) return fired;
  struct Ctx {
    std::vector<size_t>* fired;
    std::vector<size_t> last;  // text number + 1 each id was last counted for
    size_t text = 0;
  } ctx{&fired, std::vector<size_t>(n_exprs, 0)};
  auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned,
                     void* c) -> int {
    auto* x = static_cast<Ctx*>(c);
    if (id < x->last.size() && x->last[id] != x->text + 1) {
      x->last[id] = x->text + 1;
      ++(*x->fired)[id];
    }
    return 0;
  };
  for (const std::string& t : FiringProbeTexts()) {
    hs_scan(db, t.data(), static_cast<unsigned>(t.size()), 0, scratch, on_match, &ctx);
    ++ctx.text;
  }
  hs_free_scratch(scratch);
  return fired;
}

// Patterns at or over this share of the probe texts "fire on nearly everything".
constexpr double kFiringShare = 0.9;

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// This thread's CPU seconds to compile one expression alone (whether or not it compiles): how
// the compile budget and VETO_DEBUG_COMPILE=2 find the patterns Hyperscan finds expensive.
double CompileAloneSeconds(const std::string& expr, unsigned flags) {
  hs_database_t* one = nullptr;
  hs_compile_error_t* err = nullptr;
  const double t0 = ThreadCpuSeconds();
  if (hs_compile(expr.c_str(), flags, HS_MODE_BLOCK, nullptr, &one, &err) == HS_SUCCESS) {
    hs_free_database(one);
  } else {
    hs_free_compile_error(err);
  }
  return ThreadCpuSeconds() - t0;
}

std::string OverBudget(double alone, double budget) {
  return Cat("compile over budget (", Seconds(alone), " CPU alone, budget ", Seconds(budget), ")");
}

}  // namespace

bool Engine::ApplyMove(const DatabaseMove& m, std::vector<std::string>& exprs,
                       std::vector<unsigned>& flags, Database* db, CompileReport* report) {
  if (m.index >= exprs.size()) return false;
  int pi = db->patterns[m.index];
  Pattern& p = patterns_[pi];
  switch (m.kind) {
    case DatabaseMove::kPcreOnly:
      exprs.erase(exprs.begin() + m.index);
      flags.erase(flags.begin() + m.index);
      db->patterns.erase(db->patterns.begin() + m.index);
      MoveToPcreOnly(pi, m.why, db, report);
      return true;
    case DatabaseMove::kGate: {
      std::lock_guard<std::mutex> lock(compile_mu_);
      const Rule* r = rule_of_slot_[p.slot];
      if (!p.confirm) {
        absl::StatusOr<std::unique_ptr<ConfirmRegex>> c = ConfirmRegex::Compile(r->regex);
        if (!c.ok()) return false;
        p.confirm = *std::move(c);
      }
      if (!p.prefilter) {
        --report->exact;
        ++report->prefiltered;
      }
      p.prefilter = true;
      p.gated = true;
      p.gate_count = std::max<uint32_t>(1, m.gate_count);
      exprs[m.index] = m.expression;
      // As AddPattern: SINGLEMATCH unless the gate needs several literals (counted per text).
      flags[m.index] = m.flags | (p.gate_count > 1 ? 0u : unsigned{HS_FLAG_SINGLEMATCH});
      if (p.gate_count > 1) db->counted_gates.push_back(pi);
      report->notes.push_back({r->file, r->line, r->name, m.why});
      return true;
    }
    case DatabaseMove::kNote: {
      std::lock_guard<std::mutex> lock(compile_mu_);
      const Rule* r = rule_of_slot_[p.slot];
      report->notes.push_back({r->file, r->line, r->name, m.why});
      return true;
    }
  }
  return false;
}

// Takes expression `index` of a database off Hyperscan's own automata: behind its literal gate
// when AnalyzeExpression finds one of at least kMinGateLength bytes (and it is not a gate
// already), else PCRE2 alone. `why` says what was wrong with it.
DatabaseMove Engine::OffHyperscan(size_t index, const std::vector<std::string>& exprs,
                                  const Database& db, std::string why) const {
  DatabaseMove m;
  m.index = static_cast<uint32_t>(index);
  const Pattern& p = patterns_[db.patterns[index]];
  ExpressionFacts facts = p.gated ? ExpressionFacts{} : AnalyzeExpression(exprs[index]);
  if (!facts.gate.empty() && facts.gate_min_length >= kMinGateLength) {
    m.kind = DatabaseMove::kGate;
    m.expression = GateExpression(facts.gate, 1);
    m.flags = HS_FLAG_CASELESS;
    m.gate_count = static_cast<uint32_t>(std::max<size_t>(1, facts.gate_count));
    m.why = Cat(why, "; gated by ", facts.gate.size(), " literal",
                facts.gate.size() == 1 ? "" : "s", " (shortest ", facts.gate_min_length,
                " bytes), PCRE2 confirms");
  } else {
    m.kind = DatabaseMove::kPcreOnly;
    m.why = std::move(why);
  }
  return m;
}

std::string Engine::SlowKey(const std::string& expr, unsigned flags) const {
  return CacheKey({expr}, {flags}, Cat("slow/", compile_budget_ms_));
}

absl::Status Engine::CompileDatabase(std::vector<std::string>& exprs, std::vector<unsigned>& flags,
                                     Database* db, CompileReport* report) {
  // VETO_DEBUG_COMPILE: each database's compile CPU time (this thread's), on stderr.
  struct Timer {
    size_t n;
    std::string names;
    double t0 = ThreadCpuSeconds();
    ~Timer() {
      if (std::getenv("VETO_DEBUG_COMPILE") != nullptr) {
        std::fprintf(stderr, "compile: %zu patterns %.2f s CPU (%s)\n", n,
                     ThreadCpuSeconds() - t0, names.c_str());
      }
    }
  } timer{exprs.size(), ""};
  if (std::getenv("VETO_DEBUG_COMPILE") != nullptr) {
    for (size_t k = 0; k < db->patterns.size() && k < 6; ++k)
      timer.names += Cat(k > 0 ? " " : "", slot_names_[patterns_[db->patterns[k]].slot]);
    if (db->patterns.size() > 6) timer.names += " ...";
    if (std::string_view(std::getenv("VETO_DEBUG_COMPILE")) == "2") {
      // Each pattern compiled alone, for finding the ones Hyperscan finds expensive.
      for (size_t k = 0; k < exprs.size(); ++k) {
        std::fprintf(stderr, "pattern: %.3f s CPU alone %s\n", CompileAloneSeconds(exprs[k], flags[k]),
                     slot_names_[patterns_[db->patterns[k]].slot].c_str());
      }
    }
  }
  std::string cache_path;
  if (!cache_dir_.empty() && !exprs.empty()) {
    cache_path = Cat(cache_dir_, "/",
                     CacheKey(exprs, flags, Cat(kExpensiveCost, "/", compile_budget_ms_)),
                     ".hsdb");
    CachedDatabase cached;
    if (ReadCache(cache_path, &cached)) {
      // Replay the recorded changes on copies (a damaged file must leave the lists as they
      // were), then load.
      bool ok = true;
      std::vector<std::string> x = exprs;
      std::vector<unsigned> f = flags;
      std::vector<int> order = db->patterns;
      for (const DatabaseMove& m : cached.moves) {
        if (m.index >= x.size()) {
          ok = false;
          break;
        }
        if (m.kind == DatabaseMove::kPcreOnly) {
          x.erase(x.begin() + m.index);
          f.erase(f.begin() + m.index);
          order.erase(order.begin() + m.index);
        }
      }
      hs_database_t* loaded = nullptr;
      if (ok && hs_deserialize_database(cached.serialized.data() + cached.offset,
                                        cached.serialized.size() - cached.offset, &loaded) == HS_SUCCESS) {
        for (const DatabaseMove& m : cached.moves) ApplyMove(m, exprs, flags, db, report);
        db->db.reset(loaded);
        db->matches_empty = AnyAllowEmpty(flags);
        hs_database_size(loaded, &db->bytes);
        std::lock_guard<std::mutex> lock(compile_mu_);
        report->database_bytes += db->bytes;
        ++report->databases;
        ++report->cache_hits;
        all_dbs_.push_back(db);
        return absl::OkStatus();
      }
    }
  }
  CachedDatabase to_cache;
  auto move = [&](DatabaseMove m) {
    if (ApplyMove(m, exprs, flags, db, report)) to_cache.moves.push_back(std::move(m));
  };
  const double pattern_budget = compile_budget_ms_ / 1000.0;
  // Patterns an earlier compile found over the budget (remembered in the cache directory):
  // off Hyperscan before the first attempt, so a reload that changes other rules of this
  // database does not stall on them again.
  if (pattern_budget > 0) {
    std::vector<std::pair<size_t, double>> known;
    {
      std::lock_guard<std::mutex> lock(slow_mu_);
      for (size_t i = 0; i < exprs.size(); ++i) {
        auto it = slow_.find(SlowKey(exprs[i], flags[i]));
        if (it != slow_.end()) known.emplace_back(i, it->second);
      }
    }
    for (auto k = known.rbegin(); k != known.rend(); ++k) {
      move(OffHyperscan(k->first, exprs, *db, OverBudget(k->second, pattern_budget)));
    }
  }
  bool budget_checked = false, firing_checked = false;
  while (!exprs.empty()) {
    std::vector<const char*> ptrs;
    std::vector<unsigned> ids;
    for (size_t i = 0; i < exprs.size(); ++i) {
      ptrs.push_back(exprs[i].c_str());
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* out = nullptr;
    hs_compile_error_t* err = nullptr;
    double t0 = ThreadCpuSeconds();
    hs_error_t rc = hs_compile_multi(ptrs.data(), flags.data(), ids.data(),
                                     static_cast<unsigned>(ptrs.size()), HS_MODE_BLOCK, nullptr,
                                     &out, &err);
    double seconds = ThreadCpuSeconds() - t0;
    if (rc == HS_SUCCESS) {
      HsDatabase compiled(out);
      // The compile budget: a database over a generous multiple of the per-pattern budget
      // (no stock database comes near it) has its patterns compiled alone, and those over the
      // per-pattern budget leave Hyperscan's automata; then it is compiled again. CPU time of
      // this thread, so load from other processes hardly matters.
      const double db_budget =
          pattern_budget * (8 + static_cast<double>(exprs.size()) / 8);
      if (pattern_budget > 0 && !budget_checked && seconds > db_budget) {
        budget_checked = true;
        std::vector<std::pair<size_t, double>> slow;
        for (size_t k = 0; k < exprs.size(); ++k) {
          if (patterns_[db->patterns[k]].gated) continue;  // literals: never the slow part
          const double alone = CompileAloneSeconds(exprs[k], flags[k]);
          if (alone > pattern_budget) slow.emplace_back(k, alone);
        }
        {
          std::lock_guard<std::mutex> lock(slow_mu_);
          for (const auto& [k, alone] : slow) slow_[SlowKey(exprs[k], flags[k])] = alone;
          if (!slow.empty()) slow_changed_ = true;
        }
        for (auto k = slow.rbegin(); k != slow.rend(); ++k) {
          move(OffHyperscan(k->first, exprs, *db, OverBudget(k->second, pattern_budget)));
        }
        if (slow.empty()) {
          std::lock_guard<std::mutex> lock(compile_mu_);
          report->notes.push_back(
              {"", 0, "",
               Cat("a database of ", exprs.size(), " patterns took ", Seconds(seconds),
                   " CPU to compile (budget ", Seconds(db_budget),
                   "), though no pattern alone is over ", Seconds(pattern_budget))});
        } else {
          continue;  // compile again without them
        }
      }
      // Prefilter patterns that fire on nearly any text would have PCRE2 confirm nearly every
      // text: behind their literal gate if they have one, else reported.
      if (!firing_checked) {
        firing_checked = true;
        std::vector<size_t> fired = CountProbeFirings(compiled.get(), exprs.size());
        const size_t probes = FiringProbeTexts().size();
        bool changed = false;
        for (size_t k = 0; k < exprs.size(); ++k) {
          const Pattern& p = patterns_[db->patterns[k]];
          if (std::getenv("VETO_DEBUG_COMPILE") != nullptr && 2 * fired[k] >= probes) {
            std::fprintf(stderr, "probe: %s fires on %zu of %zu probe texts (%s)\n",
                         slot_names_[p.slot].c_str(), fired[k], probes,
                         p.gated ? "gate" : p.prefilter ? "prefilter" : "exact");
          }
          if (!p.prefilter || p.gated ||
              static_cast<double>(fired[k]) < kFiringShare * static_cast<double>(probes))
            continue;
          std::string why = Cat("prefilter fires on ", fired[k], " of ", probes,
                                " probe texts");
          DatabaseMove m = OffHyperscan(k, exprs, *db, why);
          if (m.kind == DatabaseMove::kGate) {
            changed = true;
          } else {
            m.kind = DatabaseMove::kNote;  // no gate: it stays, and PCRE2 confirms every text
            m.why = Cat(why, "; no literal gate, so PCRE2 confirms nearly every text");
          }
          move(std::move(m));
        }
        if (changed) continue;  // compile again with the gates
      }
      if (!cache_path.empty()) {
        char* bytes = nullptr;
        size_t length = 0;
        if (hs_serialize_database(compiled.get(), &bytes, &length) == HS_SUCCESS) {
          to_cache.serialized.assign(bytes, length);
          std::free(bytes);
          WriteCache(cache_path, to_cache);
        }
      }
      db->db = std::move(compiled);
      db->matches_empty = AnyAllowEmpty(flags);
      hs_database_size(db->db.get(), &db->bytes);
      std::lock_guard<std::mutex> lock(compile_mu_);
      report->database_bytes += db->bytes;
      ++report->databases;
      all_dbs_.push_back(db);
      return absl::OkStatus();
    }
    // Drop the one pattern Hyperscan names and try again; a database-wide failure (e.g.
    // resource limits) gives up on this database.
    int bad = err != nullptr ? err->expression : -1;
    std::string msg = err != nullptr && err->message != nullptr ? err->message : "unknown error";
    hs_free_compile_error(err);
    if (bad < 0 || bad >= static_cast<int>(exprs.size())) {
      return absl::InternalError(Cat("Hyperscan: ", msg));
    }
    DatabaseMove m;
    m.kind = DatabaseMove::kPcreOnly;
    m.index = static_cast<uint32_t>(bad);
    m.why = Cat("Hyperscan: ", msg);
    move(std::move(m));
  }
  return absl::OkStatus();
}

absl::Status Engine::BuildRe2Set(const std::vector<std::string>& exprs, Database* db,
                                 CompileReport* report) {
  for (const std::string& e : exprs) {
    if (absl::Status st = db->re2->Add(e); !st.ok()) return st;  // Re2Expression checked it
  }
  db->matches_empty = false;  // Re2Expression refuses patterns that match ""
  absl::Status st = db->re2->Compile();
  std::lock_guard<std::mutex> lock(compile_mu_);
  if (!st.ok()) {
    // Still matched, one pattern at a time.
    for (int pi : db->patterns) {
      const Rule* r = rule_of_slot_[patterns_[pi].slot];
      report->notes.push_back({r->file, r->line, r->name,
                               Cat(st.message(), "; matched with RE2 pattern by pattern")});
    }
  }
  all_dbs_.push_back(db);
  ++report->re2_sets;
  return absl::OkStatus();
}

absl::Status Engine::Build(const RuleSet& set, const EngineOptions& options,
                           CompileReport* report) {
  auto start = std::chrono::steady_clock::now();
  int score_set = std::clamp(options.score_set, 0, 3);
  cache_dir_ = options.cache_dir;
  confirm_budget_ = options.confirm_budget;
  compile_budget_ms_ = std::max(0, options.compile_budget_ms);
  if (!cache_dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cache_dir_, ec);
    if (ec) {
      report->notes.push_back({"", 0, "", Cat("cache dir ", cache_dir_, ": ", ec.message(),
                                              "; compiling without a cache")});
      cache_dir_.clear();
    }
  }
  report->rules_total = set.rules.size();
  // Patterns earlier builds found over the compile budget: "key<TAB>seconds" lines.
  if (!cache_dir_.empty() && compile_budget_ms_ > 0) {
    if (std::string data; ReadWholeFile(Cat(cache_dir_, "/", kSlowPatternsFile), &data)) {
      for (std::string_view line : Split(data, '\n')) {
        std::vector<std::string_view> f = Split(line, '\t');
        double seconds = 0;
        if (f.size() == 2 && f[0].size() == 32 && ParseDouble(f[1], &seconds))
          slow_[std::string(f[0])] = seconds;
      }
    }
  }

  // Slots: every defined rule, then names metas mention that are not defined (value 0).
  absl::flat_hash_map<std::string, int> slot_of;
  for (const Rule& r : set.rules) {
    slot_of[r.name] = static_cast<int>(slot_names_.size());
    slot_names_.push_back(r.name);
    slot_scores_.push_back(r.scores[score_set]);
  }
  rule_slots_ = slot_names_.size();
  auto resolve = [&](std::string_view name) {
    auto it = slot_of.find(std::string(name));
    if (it != slot_of.end()) return it->second;
    int slot = static_cast<int>(slot_names_.size());
    slot_of[std::string(name)] = slot;
    slot_names_.emplace_back(name);
    slot_scores_.push_back(0);
    return slot;
  };

  std::vector<std::string> all_names;
  for (const Rule& r : set.rules) all_names.push_back(r.name);
  all_names.insert(all_names.end(), set.score_only.begin(), set.score_only.end());

  // Adds a pattern of a sharded field to a light or a bare shard (Sharded).
  auto add_sharded = [&](const Rule& r, int slot, const HyperscanPattern* hp,
                         const std::string& why, Sharded& field) {
    bool bare = hp != nullptr && IsBare(*hp);
    bool re2 = bare && field.use_re2 && !hp->re2_expression.empty();
    size_t& current = re2 ? field.re2_shard : bare ? field.bare_shard : field.light_shard;
    size_t limit = re2 ? Re2Set::kMaxPatterns : bare ? kBarePerShard : kLightPerShard;
    bool full = current != SIZE_MAX && field.exprs[current].size() >= limit;
    if (re2 && current != SIZE_MAX && field.re2_program + hp->re2_program > Re2Set::kMaxProgram)
      full = true;  // a DFA's states multiply with its patterns' sizes
    if (current == SIZE_MAX || full) {
      if (re2) field.re2_program = 0;
      current = field.dbs.size();
      field.dbs.emplace_back();
      field.exprs.emplace_back();
      field.flags.emplace_back();
      if (re2) field.dbs.back().re2 = std::make_unique<Re2Set>();
    }
    size_t shard = current;
    int pi = AddPattern(r, slot, hp, why, report, &field.exprs[shard], &field.flags[shard],
                        &field.dbs[shard]);
    if (pi >= 0 && re2) {
      field.exprs[shard].back() = hp->re2_expression;
      field.re2_program += hp->re2_program;
      Pattern& p = patterns_[pi];
      if (p.prefilter && hp->re2_expression == hp->re2_exact) {
        p.prefilter = false;  // the set runs it exactly: nothing to confirm
        p.re2_confirm.reset();
        --report->prefiltered;
        ++report->exact;
      }
      ++report->re2;
    }
  };
  absl::flat_hash_map<std::string, size_t> header_group_of, mime_group_of;
  std::vector<std::vector<std::string>> header_x, mime_x;
  std::vector<std::vector<unsigned>> header_f, mime_f;
  // Metas are parsed after all slots exist; remember them.
  std::vector<const Rule*> meta_rules;

  // Cached translations for exactly this list of regexes (and this Hyperscan), if any.
  std::vector<absl::StatusOr<HyperscanPattern>> cached_translations;
  std::vector<std::string> new_translations;
  std::string translations_path;
  // The regex rules, in load order: what the loop below translates, and what the cached
  // translations are keyed by.
  std::vector<const Rule*> to_translate;
  for (const Rule& r : set.rules) {
    if (r.scores[score_set] == 0 || r.type == RuleType::kMeta || r.type == RuleType::kEval ||
        (r.type == RuleType::kHeader && r.header.exists))
      continue;
    to_translate.push_back(&r);
  }
  if (!cache_dir_.empty()) {
    std::string key_input = Cat(hs_version(), "|", kTranslationVersion, "|", kExpensiveCost);
    for (const Rule* r : to_translate)
      key_input += Cat("\x01", r->regex.pattern, "\x02", r->regex.modifiers);
    translations_path = Cat(cache_dir_, "/", CacheKey({key_input}, {0}, ""), ".translations");
    if (std::string data; ReadWholeFile(translations_path, &data)) {
      for (std::string_view line : Split(data, '\n')) {
        if (line.empty()) continue;
        absl::StatusOr<HyperscanPattern> t = absl::UnknownError("");
        if (!DecodeTranslation(line, &t)) {
          cached_translations.clear();  // damaged: translate afresh
          break;
        }
        cached_translations.push_back(std::move(t));
      }
    }
  }
  size_t translation_index = 0;
  double translate_t0 = ThreadCpuSeconds();
  auto wall_t0 = std::chrono::steady_clock::now();
  // Without a (complete) cached list, translate every regex rule up front, in parallel: each
  // translation is independent (and includes PCRE2 compiles and Hyperscan syntax checks).
  std::vector<absl::StatusOr<HyperscanPattern>> fresh_translations;
  if (cached_translations.size() < to_translate.size()) {
    size_t from = cached_translations.size();
    fresh_translations.resize(to_translate.size(), absl::UnknownError(""));
    const char* debug = std::getenv("VETO_DEBUG_COMPILE");
    const bool per_rule = debug != nullptr && std::string_view(debug) == "2";
    ParallelFor(to_translate.size() - from, [&](size_t i) {
      double t0 = per_rule ? ThreadCpuSeconds() : 0;
      fresh_translations[from + i] = TranslateRule(*to_translate[from + i]);
      if (per_rule) {
        std::fprintf(stderr, "translation: %.3f s CPU %s\n", ThreadCpuSeconds() - t0,
                     to_translate[from + i]->name.c_str());
      }
    });
  }

  // How many bare patterns with an RE2 form each field has (kMinRe2Patterns).
  {
    absl::flat_hash_map<RuleType, size_t> re2_forms;
    for (size_t i = 0; i < to_translate.size(); ++i) {
      const absl::StatusOr<HyperscanPattern>& t =
          i < cached_translations.size() ? cached_translations[i] : fresh_translations[i];
      if (t.ok() && IsBare(*t) && !t->re2_expression.empty()) ++re2_forms[to_translate[i]->type];
    }
    for (auto [type, field] : {std::pair{RuleType::kBody, &body_}, {RuleType::kRawBody, &rawbody_},
                               {RuleType::kFull, &full_}, {RuleType::kUri, &uri_}}) {
      field->use_re2 = re2_forms[type] >= kMinRe2Patterns;
    }
  }

  for (const Rule& r : set.rules) {
    int slot = slot_of[r.name];
    // Zero-score rules are not run at all (§1.8); metas see 0.
    if (r.scores[score_set] == 0) continue;
    ++report->rules_active;
    bool is_sub = r.name.starts_with("__");
    if (!is_sub) reported_.push_back(slot);
    if (r.type == RuleType::kMeta) {
      meta_rules.push_back(&r);
      continue;
    }
    if (r.type == RuleType::kEval) {
      std::optional<EvalFunction> fn = FindEval(r.eval_call);
      if (fn.has_value()) {
        evals_.emplace_back(*fn, slot);
        ++report->evals_native;
      } else {
        ++report->evals_unsupported;
        report->problems.push_back({r.file, r.line, r.name,
                                    Cat("eval not supported (value 0): ", r.eval_call)});
      }
      continue;
    }
    if (r.type == RuleType::kHeader && r.header.exists) {
      exists_.emplace_back(r.header, slot);
      continue;
    }
    rule_of_slot_[slot] = &r;
    translation_from_cache_ = translation_index < cached_translations.size();
    absl::StatusOr<HyperscanPattern> translated =
        translation_from_cache_ ? cached_translations[translation_index]
                                : std::move(fresh_translations[translation_index]);
    ++translation_index;
    if (!translations_path.empty()) new_translations.push_back(EncodeTranslation(translated));
    if (absl::IsFailedPrecondition(translated.status())) {
      report->problems.push_back({r.file, r.line, r.name,
                                  std::string(translated.status().message())});
      continue;
    }
    const HyperscanPattern* hp = translated.ok() ? &*translated : nullptr;
    std::string why;
    if (!translated.ok()) {
      why = Cat("Hyperscan cannot run it (", translated.status().message(),
                "); matched with PCRE2 only");
    }
    switch (r.type) {
      case RuleType::kBody:
        add_sharded(r, slot, hp, why, body_);
        break;
      case RuleType::kRawBody:
        add_sharded(r, slot, hp, why, rawbody_);
        break;
      case RuleType::kFull:
        add_sharded(r, slot, hp, why, full_);
        break;
      case RuleType::kUri:
        add_sharded(r, slot, hp, why, uri_);
        break;
      case RuleType::kHeader: {
        HeaderSpec key_spec = r.header;
        key_spec.negate = false;
        std::string key = HeaderTargetKey(key_spec);
        auto [it, inserted] = header_group_of.try_emplace(key, headers_.size());
        if (inserted) {
          headers_.emplace_back();
          headers_.back().spec = key_spec;
          header_x.emplace_back();
          header_f.emplace_back();
        }
        HeaderGroup& g = headers_[it->second];
        int pi = AddPattern(r, slot, hp, why, report, &header_x[it->second], &header_f[it->second],
                            &g.db);
        if (pi >= 0 && r.header.negate) g.negated.push_back(pi);
        break;
      }
      case RuleType::kMimeHeader: {
        HeaderSpec key_spec = r.header;
        key_spec.negate = false;
        std::string key = HeaderTargetKey(key_spec);
        auto [it, inserted] = mime_group_of.try_emplace(key, mimeheaders_.size());
        if (inserted) {
          mimeheaders_.emplace_back();
          mimeheaders_.back().spec = key_spec;
          mime_x.emplace_back();
          mime_f.emplace_back();
        }
        MimeHeaderGroup& g = mimeheaders_[it->second];
        int pi = AddPattern(r, slot, hp, why, report, &mime_x[it->second], &mime_f[it->second],
                            &g.db);
        if (pi >= 0 && r.header.negate) g.negated.push_back(pi);
        break;
      }
      default:
        break;
    }
  }

  if (std::getenv("VETO_DEBUG_COMPILE") != nullptr) {
    std::fprintf(stderr, "translate: %zu regexes (%zu cached) %.2f s wall, %.2f s CPU (this thread)\n",
                 translation_index, cached_translations.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_t0).count(),
                 ThreadCpuSeconds() - translate_t0);
  }
  if (!translations_path.empty() && cached_translations.size() != translation_index) {
    WriteFileAtomically(translations_path, Join(new_translations, "\n"));
  }

  // Every database compiles on its own: in parallel, largest first, so the cold compile is
  // bounded by the biggest one (or the sum over the cores), not the sum.
  struct Job {
    std::vector<std::string>* exprs;
    std::vector<unsigned>* flags;
    Database* db;
  };
  std::vector<Job> jobs;
  for (Sharded* field : {&body_, &rawbody_, &full_, &uri_}) {
    for (size_t i = 0; i < field->dbs.size(); ++i)
      jobs.push_back({&field->exprs[i], &field->flags[i], &field->dbs[i]});
  }
  for (size_t i = 0; i < headers_.size(); ++i)
    jobs.push_back({&header_x[i], &header_f[i], &headers_[i].db});
  for (size_t i = 0; i < mimeheaders_.size(); ++i)
    jobs.push_back({&mime_x[i], &mime_f[i], &mimeheaders_[i].db});
  // Total expression length stands in for the compile work.
  auto weight = [](const Job& j) {
    size_t n = 0;
    for (const std::string& e : *j.exprs) n += e.size();
    return n;
  };
  std::stable_sort(jobs.begin(), jobs.end(),
                   [&](const Job& a, const Job& b) { return weight(a) > weight(b); });
  std::vector<absl::Status> results(jobs.size());
  ParallelFor(jobs.size(), [&](size_t i) {
    results[i] = jobs[i].db->re2 ? BuildRe2Set(*jobs[i].exprs, jobs[i].db, report)
                                 : CompileDatabase(*jobs[i].exprs, *jobs[i].flags, jobs[i].db, report);
  });
  for (const absl::Status& st : results) {
    if (!st.ok()) return st;
  }
  // Threads finish in any order; keep the scratch allocation order fixed.
  std::sort(all_dbs_.begin(), all_dbs_.end());
  for (auto [field, name] : {std::pair{&body_, "body"}, {&rawbody_, "rawbody"}, {&full_, "full"},
                             {&uri_, "uri"}}) {
    for (size_t i = 0; i < field->dbs.size(); ++i) {
      field->dbs[i].name = i == 0 ? std::string(name)
                                  : Cat(name, field->dbs[i].re2 ? " re2 " : " shard ", i);
    }
    field->exprs.clear();
    field->flags.clear();
  }
  for (HeaderGroup& g : headers_) g.db.name = Cat("header ", HeaderTargetKey(g.spec));
  for (MimeHeaderGroup& g : mimeheaders_) g.db.name = Cat("mimeheader ", HeaderTargetKey(g.spec));
  for (size_t i = 0; i < all_dbs_.size(); ++i) const_cast<Database*>(all_dbs_[i])->id = static_cast<int>(i);

  // Metas: parse, then order so that every meta runs after the metas it depends on. Cycles
  // leave the metas involved disabled (value 0), as SpamAssassin does.
  std::vector<MetaRule> parsed;
  absl::flat_hash_map<int, size_t> meta_index;  // slot -> index in parsed
  for (const Rule* r : meta_rules) {
    std::string text = r->meta.find("rules_matching(") == std::string::npos
                           ? r->meta
                           : ExpandRulesMatching(r->meta, all_names, r->name);
    absl::StatusOr<MetaExpression> e = MetaExpression::Parse(text, resolve);
    if (!e.ok()) {
      report->problems.push_back({r->file, r->line, r->name,
                                  Cat("meta: ", e.status().message())});
      continue;
    }
    meta_index[slot_of[r->name]] = parsed.size();
    parsed.push_back({slot_of[r->name], *std::move(e)});
    int max_operand = -1;
    for (int op : parsed.back().expr.operands()) max_operand = std::max(max_operand, op);
    std::vector<double> zeros(static_cast<size_t>(max_operand + 1), 0.0);
    parsed.back().zero_value = parsed.back().expr.Evaluate(zeros.data());
    ++report->metas;
  }
  std::vector<int> state(parsed.size(), 0);  // 0 new, 1 visiting, 2 done, 3 cyclic
  std::function<bool(size_t)> visit = [&](size_t i) -> bool {
    if (state[i] == 2) return true;
    if (state[i] == 1 || state[i] == 3) return false;
    state[i] = 1;
    bool ok = true;
    for (int dep : parsed[i].expr.operands()) {
      auto it = meta_index.find(dep);
      if (it != meta_index.end() && !visit(it->second)) ok = false;
    }
    if (!ok) {
      state[i] = 3;
      report->problems.push_back(
          {"", 0, slot_names_[parsed[i].slot], "meta: dependency cycle (disabled)"});
      return false;
    }
    state[i] = 2;
    metas_.push_back(std::move(parsed[i]));
    return true;
  };
  for (size_t i = 0; i < parsed.size(); ++i) visit(i);

  if (slow_changed_ && !cache_dir_.empty()) {
    std::vector<std::string> lines;
    for (const auto& [key, seconds] : slow_) lines.push_back(Cat(key, "\t", seconds));
    std::sort(lines.begin(), lines.end());
    WriteFileAtomically(Cat(cache_dir_, "/", kSlowPatternsFile), Join(lines, "\n"));
  }
  rule_of_slot_.clear();  // points into the caller's RuleSet: compile time only
  report->compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledRules>> CompiledRules::Compile(
    const RuleSet& rules, const EngineOptions& options, CompileReport* report) {
  CompileReport local;
  if (report == nullptr) report = &local;
  auto engine = std::make_shared<Engine>();
  absl::Status s = engine->Build(rules, options, report);
  if (!s.ok()) return s;
  return std::shared_ptr<const CompiledRules>(std::move(engine));
}

}  // namespace veto::rules
