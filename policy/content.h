// veto/policy/content.h — keyword and regex matching over a message's text, for policy rules.
//
// Policy content rules (operator, tenant and subscriber keywords and regexes) run over the
// text fields the normalisers already produced, never over raw bytes:
//
//   field        email                                  SMS
//   text         Message::body (Subject line + text)    SmsFields::text (else body)
//   subject      the Subject header (decoded)           empty
//   normalized   Message::normalized_body               Message::normalized_body
//
// Keywords are phrases compared case-insensitively: a phrase is folded as email/ folds the
// normalised body (NFKC + case folding, invisible characters removed, whitespace runs → one
// space) and searched in `normalized_body`; if a message has no normalised body (it was not
// built by a normaliser), or the field is `subject`, the search is ASCII case-insensitive.
//
// Regexes are untrusted input (tenants and subscribers write them): they are compiled with
// RE2 only — linear time, no backreferences or lookaround — under a memory cap, and searched
// (unanchored) in the field as written; use (?i) for case-insensitivity.
//
//   absl::StatusOr<std::unique_ptr<const RE2>> re = CompileRegex("(?i)win.{0,10}prize", {});
//   absl::StatusOr<KeywordSet> k = KeywordSet::Build({"Claim your PRIZE"});
//   MessageText text(message);
//   bool hit = RE2::PartialMatch(text.Get(TextField::kText), **re);
//   int which = k->Find(text, TextField::kText);     // index of the phrase, or -1
//
// Thread-safety: KeywordSet and compiled RE2s are immutable and shared by all threads;
// a MessageText belongs to one Decide call.
#ifndef VETO_POLICY_CONTENT_H_
#define VETO_POLICY_CONTENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "core/message.h"
#include "re2/filtered_re2.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace veto::policy {

enum class TextField : uint8_t { kText = 0, kSubject, kNormalized };

// "text", "subject", "normalized".
std::string_view TextFieldName(TextField f);

// Limits for untrusted patterns.
struct RegexLimits {
  int64_t max_mem = 8 << 20;        // RE2::Options::max_mem: bytes for the compiled program + DFA
  size_t max_pattern_bytes = 4096;  // longer patterns are refused before parsing
};

// Compiles `pattern` with RE2 (UTF-8, no capture groups, errors not logged).
// Errors (InvalidArgument):
//   `invalid regex: missing ): (got "(abc")`                — RE2's own message
//   `regex too large for max_mem=1048576 (got "(a{1000}){1000}")`
//   `regex longer than 4096 bytes (got 5000 bytes)`
absl::StatusOr<std::unique_ptr<const RE2>> CompileRegex(std::string_view pattern,
                                                        const RegexLimits& limits);

// Folds a keyword phrase as described above. Errors: `empty phrase (got "...")`,
// `not valid UTF-8 (got "...")`.
absl::StatusOr<std::string> FoldPhrase(std::string_view phrase);

// The first position of `needle` in `haystack`, or std::string_view::npos: an exact byte
// search like string_view::find, but it tests the needle's first and last byte at 16
// positions at once (SSE2) and compares the rest only there, which matters for the short,
// common-letter phrases keyword rules are made of.
size_t FindBytes(std::string_view haystack, std::string_view needle);

// True if `needle` (lower-case ASCII bytes, other bytes exact) occurs in `haystack` ignoring
// ASCII case.
bool ContainsIgnoringAsciiCase(std::string_view haystack, std::string_view needle);

// Lazily computed views of one message's text fields (see the table above).
class MessageText {
 public:
  explicit MessageText(const Message& m) : m_(m) {}

  std::string_view Get(TextField f) const;
  // The folded text keyword phrases compare with, or empty if the message has none.
  std::string_view folded() const { return m_.normalized_body; }
  // Get(f) with ASCII letters lower-cased (computed once), and whether it is pure ASCII.
  std::string_view LowerAscii(TextField f, bool* ascii) const;

 private:
  const Message& m_;
  mutable bool subject_done_ = false;
  mutable std::string_view subject_;
  mutable bool lower_done_[3] = {false, false, false};
  mutable bool lower_ascii_[3] = {true, true, true};
  mutable std::string lower_[3];
};

// Narrows a list of regexes searched in the same text to those that can match, with RE2's
// FilteredRE2: each regex needs some literal "atoms" ("bit.ly", "tinyurl.com"), and a regex
// none of whose atom sets occurs in the text cannot match, so it is not run. Texts with
// non-ASCII bytes skip the filter (every regex is a candidate), so the filter never changes a
// result, it only saves time.
class RegexPrefilter {
 public:
  RegexPrefilter() = default;
  RegexPrefilter(RegexPrefilter&&) = default;
  RegexPrefilter& operator=(RegexPrefilter&&) = default;

  // Adds the next regex (ids count from 0 in Add order). Returns false if RE2 refuses it
  // (patterns should have passed CompileRegex first).
  bool Add(std::string_view pattern, const RegexLimits& limits);
  // Call once after the last Add.
  void Compile();
  // Sets (*candidates)[i] for every regex i that may match `text` (of the given field).
  using CandidateSet = absl::InlinedVector<char, 16>;
  void Candidates(const MessageText& text, TextField field, CandidateSet* candidates) const;
  int size() const { return count_; }

 private:
  std::unique_ptr<re2::FilteredRE2> filter_;
  std::vector<std::string> atoms_;
  int count_ = 0;
};

// A list of folded phrases with a first-match search. Large lists (> 32 phrases) use an
// RE2::Set of literals, so the cost stays linear in the text, not in the list.
class KeywordSet {
 public:
  // Folds every phrase (FoldPhrase). Errors: the first bad phrase, prefixed by "[i]: ".
  static absl::StatusOr<KeywordSet> Build(const std::vector<std::string>& phrases);
  // From phrases already folded (by FoldPhrase).
  static KeywordSet FromFolded(std::vector<std::string> folded);

  KeywordSet() = default;
  KeywordSet(KeywordSet&&) = default;
  KeywordSet& operator=(KeywordSet&&) = default;

  // Index of the first phrase (in list order) found in `field` of `text`, or -1.
  int Find(const MessageText& text, TextField field) const;
  const std::string& phrase(int i) const { return phrases_[i]; }
  size_t size() const { return phrases_.size(); }
  bool empty() const { return phrases_.empty(); }

 private:
  std::vector<std::string> phrases_;
  std::unique_ptr<RE2::Set> set_;  // case-insensitive literals; only for large lists
};

}  // namespace veto::policy

#endif  // VETO_POLICY_CONTENT_H_
