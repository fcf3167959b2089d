// veto/classifiers/model.h — the trained model as data, and its file format.
//
// A ModelData is what training produces and what a model file holds: the tokenizer settings
// (they define the feature space), the model parameters, and one entry per feature that was
// seen in training: Naive Bayes document counts (spam, ham) and the logistic-regression
// weight. `veto train` writes it, `veto learn` reads, updates and rewrites it, and
// classifier.h turns it into the immutable, fast Classifier.
//
//   absl::StatusOr<ModelData> data = ReadModelFile("classifiers/models/sms.model");
//   absl::Status s = WriteModelFile("out.model", *data);   // atomic (temp file + rename)
//
// File format, version 2 (all integers little-endian):
//
//   "VETOCLF\n"                               magic, 8 bytes
//   "key value\n" ...                         text header, one key per line, readable with
//   "end\n"                                   `head -20 FILE`; keys in kHeaderKeys order
//   u32 entry_count
//   entry_count x { varint index_delta,        index - previous index (first: index)
//                   varint spam_count, varint ham_count,
//                   f32 weight }
//   u64 checksum                              FNV-1a 64 of every byte before it
//
// Header keys: format (2), name, channel (email|sms), feature_bits, word_bigrams, char_ngram,
// char_ngram_max_bytes, char_ngram_min_word, max_body_bytes, kind (nb|lr|combined), nb_strength, nb_unknown,
// nb_min_dev, nb_max_tokens, ftrl_alpha, ftrl_beta, ftrl_l1, ftrl_l2, epochs, spam_messages,
// ham_messages, bias, header_words. Every key is required (format 1 files, which predate
// char_ngram_min_word, are read with it 0: n-grams of every word, as they were trained); an unknown key, a wrong format number, a bad
// checksum, unsorted or out-of-range indices, non-finite numbers or trailing bytes are errors
// (DataLoss for damage, InvalidArgument for a mismatch), never a crash.
//
// Thread-safety: plain data.
#ifndef VETO_CLASSIFIERS_MODEL_H_
#define VETO_CLASSIFIERS_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "classifiers/tokenizer.h"

namespace veto::classifiers {

inline constexpr uint32_t kModelFormatVersion = 2;

// Which model gives the probability.
enum class ModelKind : uint8_t {
  kNaiveBayes,  // Robinson/Fisher chi-square combining over token spam probabilities
  kLogistic,    // logistic regression over binary hashed features (FTRL-Proximal)
  kCombined,    // the mean of the two models' log-odds
};
std::string_view ModelKindName(ModelKind kind);
bool ParseModelKind(std::string_view name, ModelKind* kind);

struct ModelParams {
  ModelKind kind = ModelKind::kCombined;
  // Naive Bayes, as SpamBayes: f(w) = (s*x + n*p(w)) / (s + n), where p(w) is the token's
  // spam ratio normalised by class sizes and n its document count; tokens with
  // |f(w) - 0.5| <= min_dev are ignored; at most max_tokens of the strongest are combined.
  double nb_strength = 0.45;  // s
  double nb_unknown = 0.5;    // x
  double nb_min_dev = 0.1;
  uint32_t nb_max_tokens = 150;
  // FTRL-Proximal (McMahan et al. 2013) for the logistic weights.
  double ftrl_alpha = 0.1;
  double ftrl_beta = 1.0;
  double ftrl_l1 = 0.5;
  double ftrl_l2 = 1.0;
  uint32_t epochs = 10;  // passes over the training set, in a seeded shuffled order
};

struct FeatureEntry {
  uint32_t index = 0;
  uint32_t spam = 0;   // spam messages containing the feature
  uint32_t ham = 0;    // ham messages containing the feature
  float weight = 0;    // logistic weight
};

struct ModelData {
  std::string name;  // the default Match id, e.g. "BAYES_EMAIL"
  TokenizerOptions tokenizer;
  ModelParams params;
  uint64_t spam_messages = 0;
  uint64_t ham_messages = 0;
  double bias = 0;                    // logistic intercept
  std::vector<FeatureEntry> entries;  // sorted by index, unique
};

// Bytes of the file format above.
std::string SerializeModel(const ModelData& model);
// Parses and validates a model file's bytes. `source` names it in errors.
absl::StatusOr<ModelData> ParseModel(std::string_view bytes, std::string_view source = "model");

// NotFound / PermissionDenied etc. from the file system, else ParseModel's errors.
absl::StatusOr<ModelData> ReadModelFile(const std::string& path);
// Writes to PATH.tmp and renames over PATH.
absl::Status WriteModelFile(const std::string& path, const ModelData& model);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_MODEL_H_
