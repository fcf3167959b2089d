// veto/classifiers/tokenizer.h — a normalised Message to a set of hashed feature indices.
//
// The first step of the classify stage (DESIGN.md §1, step 3). It reads the fields the
// normaliser built (email/ or mobile/ + email::FinishPlainTextMessage), never raw bytes:
//
//   - words of `normalized_body` (already NFKC and case-folded by the normaliser), with
//     apostrophes inside words kept ("don't");
//   - word bigrams;
//   - byte n-grams inside space-padded words longer than n-2 bytes, for short texts (SMS):
//     robust to `fr33 c4sh`;
//     mixed letter/digit words also emit their de-leeted skeleton ("fr33" -> "free");
//   - number shapes (digit count), phone-number shapes (>= 10 digits, separators allowed),
//     short-code shapes (5-6 digits), currency (£ $ € ¥ followed by a number);
//   - length, capitals and '!' buckets of `body`;
//   - URLs: host and registered domain of each Message::uris entry, obfuscation, count;
//   - email only: From domain, Subject words (a separate namespace), mailer (X-Mailer /
//     User-Agent), the MIME tree (content types, charsets, attachment extensions, part count,
//     depth) and the normaliser's anomaly flags; with header_words (the email default), the
//     name of every top-level header and the words of its value, as Bayesian mail filters do.
//
// Every token is hashed (classifiers/hash.h, deterministic) into 2^feature_bits buckets; the
// result is a de-duplicated set (a word seen twice is one feature), in first-seen order.
//
//   Tokenizer tok(TokenizerOptions::Sms());
//   FeatureSet features;                 // reuse per thread: no allocation once warm
//   tok.Tokenize(message, &features);
//   for (uint32_t f : features.features()) ...
//
// Thread-safety: a Tokenizer is immutable; a FeatureSet belongs to one thread.
#ifndef VETO_CLASSIFIERS_TOKENIZER_H_
#define VETO_CLASSIFIERS_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/message.h"

namespace veto::classifiers {

// Token namespaces (part of the model format: changing one invalidates trained models).
enum TokenKind : uint64_t {
  kWord = 1,
  kBigram,
  kCharGram,
  kShape,     // number/phone/currency/length/caps shapes
  kUrlHost,
  kUrlDomain,
  kFromDomain,
  kSubjectWord,
  kMailer,
  kMime,      // content types, charsets, attachment extensions, part counts
  kFlag,      // normaliser anomaly flags
  kHeader,    // header names present, and words of header values
};

struct TokenizerOptions {
  Channel channel = Channel::kSms;
  // Size of the feature space: 2^feature_bits buckets (10..24). SMS: 2^17 (the model's
  // table is then 512 KB and stays in L2); email: 2^19 (2 MB).
  uint32_t feature_bits = 17;
  bool word_bigrams = true;
  // Byte n-gram length inside padded words (0: off), used when `normalized_body` is at most
  // char_ngram_max_bytes long.
  uint32_t char_ngram = 4;
  uint32_t char_ngram_max_bytes = 1024;
  // Only words of at least this many bytes get n-grams, and words that mix letters and
  // digits (obfuscations like "fr33" of any length); 0: every word. A short word's n-grams
  // say little its word token does not, while long words (concatenations, compounds, words
  // misspelt on purpose) are where sub-word pieces generalise. SMS default 8: on the dev
  // corpus every value from 6 to 12 beats n-grams of every word (classifiers/README.md).
  uint32_t char_ngram_min_word = 8;
  // Only this much of `normalized_body` is tokenised (bounds the cost of huge messages).
  uint32_t max_body_bytes = 64 * 1024;
  // Email: also the name of every top-level header and the words of its value (Date and
  // Message-ID values excepted), in a namespace per header name.
  bool header_words = false;

  static TokenizerOptions Sms() { return {}; }
  static TokenizerOptions Email() {
    TokenizerOptions o;
    o.channel = Channel::kEmail;
    o.feature_bits = 19;
    o.char_ngram = 0;
    o.header_words = true;
    return o;
  }
  // InvalidArgument for values out of range.
  absl::Status Validate() const;
};

// A de-duplicated set of feature indices; reusable scratch (keeps its capacity). Membership
// is a bitset over the feature space (16 KB for 2^17, 64 KB for 2^19: L1/L2-resident), so
// an Add is one load and one store, branch-free; Clear resets only the words that were used.
// The tokenizer writes into a raw buffer (Room, then AddUnchecked: no capacity check per
// feature) and Finish publishes it as features().
class FeatureSet {
 public:
  // Empties the set for features below 2^feature_bits.
  void Clear(uint32_t feature_bits);
  // Makes room for k more Adds without a capacity check (AddUnchecked).
  void Room(size_t k) {
    if (size_ + k > capacity_) Grow(size_ + k);
  }
  // `feature` must be below 2^feature_bits of the last Clear; Room(1) must have been made.
  void AddUnchecked(uint32_t feature) {
    uint64_t& word = seen_[feature >> 6];
    const uint64_t bit = uint64_t{1} << (feature & 63);
    buffer_[size_] = feature;
    size_ += (word & bit) == 0;  // kept only the first time: branch-free
    word |= bit;
  }
  void Add(uint32_t feature) {
    Room(1);
    AddUnchecked(feature);
  }
  // Publishes the features added since Clear as features().
  void Finish() { features_.assign(buffer_.get(), buffer_.get() + size_); }
  // The features in first-seen order, as of the last Finish (Tokenize calls it).
  const std::vector<uint32_t>& features() const { return features_; }
  size_t size() const { return features_.size(); }

 private:
  void Grow(size_t need);

  std::unique_ptr<uint32_t[]> buffer_;
  size_t size_ = 0, capacity_ = 0;
  std::vector<uint32_t> features_;
  std::vector<uint64_t> seen_;
};

class Tokenizer {
 public:
  explicit Tokenizer(const TokenizerOptions& options);
  const TokenizerOptions& options() const { return options_; }

  // Replaces *out with the features of `message`. Never fails; cost is linear in the
  // tokenised bytes (bounded by max_body_bytes) plus the number of URIs/parts/headers used.
  void Tokenize(const Message& message, FeatureSet* out) const;

  // The feature index of one token, for tests and tools.
  uint32_t Feature(TokenKind kind, std::string_view token) const;

 private:
  void TokenizeText(std::string_view text, bool char_grams, FeatureSet* out) const;
  void TokenizeEmailStructure(const Message& m, FeatureSet* out) const;
  void AddShape(std::string_view shape, FeatureSet* out) const;

  TokenizerOptions options_;
};

// The length of the run of plain word bytes at the start of [p, end): ASCII letters and
// digits, and non-ASCII bytes other than 0xC2 and 0xE2 (the lead bytes of Latin-1 and General
// Punctuation separators, which the tokenizer looks at one by one). Sets *digit if the run
// has an ASCII digit and *other if it has any other byte (leaves them alone otherwise). 16
// bytes at a time (SSE2) while 16 bytes from p are readable, i.e. below `readable_end` (at
// least `end`; bytes past `end` are read, never counted). Exposed for tests.
size_t PlainWordRun(const char* p, const char* end, const char* readable_end, bool* digit,
                    bool* other);

// Adds to the counts the ASCII capitals, ASCII letters and '!' of s (the tokenizer's length /
// capitals / exclamation shapes; 16 bytes at a time with SSE2, else 8). Exposed for tests.
void CountCapsAndBangs(std::string_view s, size_t* upper, size_t* letters, size_t* bangs);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_TOKENIZER_H_
