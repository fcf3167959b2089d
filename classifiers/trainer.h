// veto/classifiers/trainer.h — training and incremental learning of ModelData.
//
// Training works on tokenised examples (so cross-validation tokenises each message once):
//
//   Tokenizer tok(TokenizerOptions::Sms());
//   std::vector<Example> examples;          // features from tok.Tokenize, label
//   TrainOptions opts;                      // name, tokenizer, params
//   absl::StatusOr<ModelData> model = Train(examples, AllIndices(examples.size()), opts);
//   Learn(&*model, features, /*spam=*/true);   // the feedback loop (`veto learn`)
//
// Naive Bayes counts are exact document counts. The logistic weights are trained with
// FTRL-Proximal over `epochs` passes in an order shuffled by a fixed seed, so training is
// deterministic. Learn() adds one message to the counts and takes one gradient step on the
// weights with FTRL's per-feature rate, approximating its gradient history by the feature's
// document count (the model file does not keep FTRL's accumulators).
//
// Thread-safety: functions over caller-owned data.
#ifndef VETO_CLASSIFIERS_TRAINER_H_
#define VETO_CLASSIFIERS_TRAINER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "classifiers/model.h"

namespace veto::classifiers {

struct Example {
  std::vector<uint32_t> features;  // de-duplicated, each < 2^feature_bits
  bool spam = false;
};

struct TrainOptions {
  std::string name = "CLASSIFIER";
  TokenizerOptions tokenizer;
  ModelParams params;
  uint64_t seed = 1;
};

// Trains on examples[i] for i in `subset`. InvalidArgument if a class has no examples, the
// options are invalid, or a feature is outside the feature space.
absl::StatusOr<ModelData> Train(const std::vector<Example>& examples,
                                const std::vector<size_t>& subset, const TrainOptions& options);

// Adds one labelled message to `model`.
void Learn(ModelData* model, const std::vector<uint32_t>& features, bool spam);

std::vector<size_t> AllIndices(size_t n);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_TRAINER_H_
