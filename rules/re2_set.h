// veto/rules/re2_set.h — literal-less patterns on RE2's lazy DFA instead of Hyperscan.
//
// A pattern without a literal of a few bytes ("bare": `\b(?:[a-z]{8,}[\s\.]+){6}`, the
// look-alike-letter families) becomes an automaton of its own in Hyperscan that runs over
// every byte; a handful of them in one database cost Hyperscan seconds to compile and each
// still scans at ~500 MB/s alone, so 60 of them scan at a few MB/s. RE2::Set runs them together
// in one lazily built DFA, which after warming up scans the dev corpus's body texts 3-4x faster
// than Hyperscan's bare shards and compiles in milliseconds (rules/README, "RE2 sets").
//
// Hyperscan translations (regex.h) go here rewritten by Re2Expression: an exact one so that RE2
// matches exactly the same texts, a prefilter (PCRE2 confirms its hits) so that RE2 matches at
// least those texts; anything it cannot rewrite that way stays on Hyperscan.
//
//   absl::StatusOr<std::string> e = Re2Expression(hs.expression, hs.flags);
//   Re2Set set;  set.Add(*e);  ...  set.Compile();
//   set.Match(text, &hits);  // indices of Add calls whose pattern matches somewhere in text
//
// Thread-safety: after Compile, Match may be called from any number of threads (RE2 guards its
// DFA cache itself).
#ifndef VETO_RULES_RE2_SET_H_
#define VETO_RULES_RE2_SET_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include <re2/set.h>

namespace veto::rules {

// Rewrites an exact Hyperscan expression with its HS_FLAG_* flags (CASELESS, DOTALL,
// MULTILINE, SINGLEMATCH) as an RE2 expression over Latin-1 bytes that matches the same
// texts: case folding made explicit for ASCII letters (RE2 would also fold Latin-1 letters,
// Hyperscan does not), `\s` as [\t-\r ] (RE2's lacks \v), `.` as an explicit class, `$`
// outside multi-line mode (before a final newline too) only where nothing can follow it.
// Fails (InvalidArgument, with the construct) for anything else the two read differently:
// lookaround, back-references, multi-line `^`, UTF-8 mode, ALLOWEMPTY, ...
// With HS_FLAG_PREFILTER the result only has to match every text the expression matches:
// lookarounds are dropped, atomic groups and possessive repeats made plain, back-references
// become "any text", `$` any line end, multi-line `^` RE2's.
// `program_size`, if given, gets RE2's program size for it (instructions): what its share of a
// set's DFA grows with.
absl::StatusOr<std::string> Re2Expression(std::string_view expression, unsigned hs_flags,
                                          int* program_size = nullptr);

// A group of Re2Expression patterns matched together.
class Re2Set {
 public:
  // Patterns per set and DFA memory per set: more patterns per DFA means more states, and a
  // DFA that runs out of memory restarts its cache (16 patterns in 16 MB never did on the dev
  // corpus; 60 in 8 MB thrashed at 2 s per corpus pass).
  static constexpr size_t kMaxPatterns = 16;
  static constexpr int kMaxProgram = 1000;  // summed program sizes (a larger pattern: alone)
  static constexpr int64_t kMaxMemory = 16 << 20;

  explicit Re2Set(int64_t max_memory = kMaxMemory);
  ~Re2Set();
  Re2Set(Re2Set&&) noexcept;
  Re2Set& operator=(Re2Set&&) noexcept;

  // Adds a pattern (an Re2Expression result); its index is size() before the call. Fails if
  // RE2 refuses it (e.g. a repeat over 1000).
  absl::Status Add(const std::string& expression);
  // Fails (ResourceExhausted) when the patterns together are too large for the memory budget;
  // Match then runs them one by one (a slower, never a wrong, result).
  absl::Status Compile();
  size_t size() const;

  // Sets `hits` to the indices of the patterns that match somewhere in `text`, in any order. Should the
  // DFA run out of memory (or the set not compile), each pattern is matched on its own (RE2
  // then falls back to its NFA where needed): slower, never a missed match. A DFA that fills
  // its memory only restarts its cache (slower too, still linear in the text).
  void Match(std::string_view text, std::vector<int>* hits) const;
  // How many Match calls ran the patterns one by one (the DFA ran out of memory).
  size_t fallbacks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One Re2Expression pattern matched alone, compiled on first use (thread-safe): the confirm of
// a prefilter or literal-gated pattern whose exact form RE2 can run — linear where PCRE2
// backtracks (the stock `__FILL_THIS_FORM_*` patterns: 10-30x faster over the dev corpus).
class Re2Regex {
 public:
  // `program_size`: Re2Expression's, for the DFA budget (0 if unknown: the smallest budget).
  Re2Regex(std::string expression, int program_size);
  ~Re2Regex();
  // Sets *hit and returns true, or returns false when RE2 cannot decide (its DFA could not
  // start in the memory budget): the caller asks PCRE2 instead.
  bool Matches(std::string_view text, bool* hit) const;

 private:
  std::string expression_;
  int program_size_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<re2::RE2::Set> set_;  // a set of one (see re2_set.cc on RE2 objects)
};

}  // namespace veto::rules

#endif  // VETO_RULES_RE2_SET_H_
