// veto/classifiers/classifier.h — a trained model, loaded once, classifying messages.
//
// The classify stage of the pipeline (DESIGN.md §1, step 3): a normalised Message in, one
// Match out (kind kClassifier, P(spam) in `probability`, a score from a configurable
// probability -> score mapping) under the model's id, next to the rule hits.
//
//   ClassifierOptions opts;                          // defaults below; config/ fills it
//   absl::StatusOr<std::shared_ptr<const Classifier>> c =
//       LoadClassifier("classifiers/models/sms.model", opts);
//   if (!c.ok()) ...                                 // clear error, e.g. damaged file
//   Match m = (*c)->Classify(message);               // any thread, no locks
//   scores.Add(m);
//
// Thread-safety: a Classifier is immutable after loading and shared by all threads
// (std::shared_ptr<const Classifier>; a reload swaps the pointer). Classify keeps one small
// reusable scratch per thread (thread_local), so the per-message path does not allocate once
// a thread has warmed up.
#ifndef VETO_CLASSIFIERS_CLASSIFIER_H_
#define VETO_CLASSIFIERS_CLASSIFIER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "classifiers/model.h"
#include "classifiers/tokenizer.h"
#include "core/match.h"
#include "core/message.h"

namespace veto::classifiers {

// How a loaded model reports. Plain data, every field has a default (config/ fills it from
// TOML: e.g. [classifiers.email] id = "BAYES_EMAIL", points_per_logodds = 4).
struct ClassifierOptions {
  // The Match id. Empty (default): the name stored in the model file ("BAYES_EMAIL" for the
  // bundled email model, "CLASSIFIER_SMS" for the SMS one).
  std::string id;
  // The score is linear in the log-odds: points_per_logodds * ln(p / (1 - p)), with p
  // clipped to [1e-6, 1 - 1e-6] (so |score| <= 13.8 * points_per_logodds). With the default
  // 4: P 0.78 scores +5, P 0.95 +11.8, P 0.98 +15.6; P 0.1 scores -8.8. Linear and not
  // capped, so adding it to rule scores keeps the classifier's ranking (a cap makes every
  // confident message tie and lets the rules alone order them: classifiers/README.md,
  // Quality). 4 sits in the middle of the range (3-8) where rules + classifier is at least
  // as good as the better of the two on both dev corpora, with veto's and SpamAssassin's rules.
  double points_per_logodds = 4.0;
  // Optional caps: the score is at most max_score when max_score > 0 (e.g. 14 with a reject
  // threshold of 15: the classifier alone never rejects), and at least min_score when
  // min_score < 0. 0: no cap.
  double max_score = 0;
  double min_score = 0;
  // If set, loading fails unless the model was trained for this channel.
  bool check_channel = false;
  Channel channel = Channel::kEmail;

  // InvalidArgument naming the problem (points_per_logodds outside [0, 100], max_score < 0,
  // min_score > 0, an id that is not 1-64 of [A-Za-z0-9_.-]).
  absl::Status Validate() const;
};

class Classifier {
 public:
  // Builds the lookup tables from `model` (validated by ParseModel or produced by Train).
  static absl::StatusOr<std::shared_ptr<const Classifier>> Create(const ModelData& model,
                                                                  const ClassifierOptions& options);

  // P(spam) in [0, 1], the mapped score, under id(). `m` must be a normalised message of
  // the model's channel (any channel works, but features then mean little).
  Match Classify(const Message& m) const;

  // P(spam) of a tokenised message (features from tokenizer()).
  double Probability(const std::vector<uint32_t>& features) const;
  // The score the mapping gives for a probability.
  double ScoreFor(double probability) const;

  const Tokenizer& tokenizer() const { return tokenizer_; }
  std::string_view id() const { return id_; }
  Channel channel() const { return tokenizer_.options().channel; }
  ModelKind kind() const { return params_.kind; }
  uint64_t spam_messages() const { return spam_messages_; }
  uint64_t ham_messages() const { return ham_messages_; }
  // Bytes of the in-memory tables.
  size_t memory_bytes() const;

 private:
  Classifier(const ModelData& model, const ClassifierOptions& options);
  // P(spam) by Naive Bayes; also the logistic sum into *z when z is not null.
  double NaiveBayes(const std::vector<uint32_t>& features, double* z) const;
  double LogisticZ(const std::vector<uint32_t>& features) const;

  // One 4-byte slot per feature bucket, so a feature costs one cache access for both models
  // and the SMS table (2^17) is 512 KB: the logistic weight in fixed point (weight_scale_
  // per unit) and the token's Naive Bayes f(w) as an index into nb_levels_, 255 levels
  // evenly spaced in log-odds (0 = no evidence).
  struct Slot {
    int16_t weight;
    uint8_t nb_level;
    uint8_t unused;
  };
  // What a Naive Bayes level contributes, ln values in fixed point (kLnScale units): `clue`
  // is 1 when the level is a clue (|f - 0.5| > min_dev), and then ln_f, ln_1mf are ln f and
  // ln(1 - f); all 0 otherwise (so the hot loop only adds). 16 bytes: indexed by a shift.
  struct alignas(16) NbLevel {
    int32_t ln_f;
    int32_t ln_1mf;
    int32_t clue;
  };
  static constexpr double kLnScale = 2048;
  std::string id_;
  Tokenizer tokenizer_;
  ModelParams params_;
  uint64_t spam_messages_, ham_messages_;
  double bias_;
  double weight_scale_ = 1;  // logistic weight = Slot::weight * weight_scale_
  NbLevel nb_levels_[256];
  std::vector<Slot> slots_;
  double points_per_logodds_, max_score_, min_score_;
};

// Reads, validates and loads a model file. Errors: the file's (NotFound, ...), ParseModel's
// (DataLoss for a damaged file, InvalidArgument for a mismatched one), options.Validate()'s,
// FailedPrecondition for a channel mismatch.
absl::StatusOr<std::shared_ptr<const Classifier>> LoadClassifier(const std::string& path,
                                                                 const ClassifierOptions& options);

// Chi-square survival function Q(x2 | 2*half_dof) for even degrees of freedom (SpamBayes).
double Chi2Q(double x2, size_t half_dof);
// Chi2Q(x2a, half_dof) and Chi2Q(x2b, half_dof) at once (the two sides of the combining rule):
// the same values to ~1e-13 relative, in a fixed number of steps without branches.
void Chi2QPair(double x2a, double x2b, size_t half_dof, double* qa, double* qb);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_CLASSIFIER_H_
