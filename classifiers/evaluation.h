// veto/classifiers/evaluation.h — measuring a spam filter honestly.
//
// Scores in, figures out: the confusion matrix and precision/recall/F1/FPR at a threshold,
// ROC AUC, the recall reachable at a given ham false-positive rate, stratified
// cross-validation folds, and an SVG of ROC curves and score histograms. Used by `veto eval`.
//
//   std::vector<ScoredLabel> s = ...;                 // one per message: score, is spam
//   BinaryMetrics m = MetricsAt(s, 0.5);              // spam iff score >= 0.5
//   double auc = RocAuc(s);
//   OperatingPoint op = RecallAtFpr(s, 0.001);        // best recall with FPR <= 0.1%
//
// "Positive" is spam throughout. Thread-safety: pure functions.
#ifndef VETO_CLASSIFIERS_EVALUATION_H_
#define VETO_CLASSIFIERS_EVALUATION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace veto::classifiers {

struct ScoredLabel {
  double score = 0;  // higher = more spammy (a probability or a summed score)
  bool spam = false;
};

struct BinaryMetrics {
  size_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision = 0, recall = 0, f1 = 0, fpr = 0, accuracy = 0;
};

BinaryMetrics MetricsAt(const std::vector<ScoredLabel>& scored, double threshold);

// Area under the ROC curve (ties count one half). 0.5 if a class is empty.
double RocAuc(const std::vector<ScoredLabel>& scored);

struct OperatingPoint {
  double max_fpr = 0;    // the FPR limit asked for
  double threshold = 0;  // spam iff score >= threshold; +inf if no threshold qualifies
  double recall = 0;
  double fpr = 0;
  size_t fp = 0;
};

// The highest recall with ham FPR <= max_fpr, and the threshold that gives it.
OperatingPoint RecallAtFpr(const std::vector<ScoredLabel>& scored, double max_fpr);

// Fold number (0..k-1) for each label: each class shuffled with a fixed seed, then dealt
// round-robin, so every fold has the class ratio of the whole set.
std::vector<int> StratifiedFolds(const std::vector<bool>& spam, int k, uint64_t seed = 1);

// A learned combination of the rule score and the classifier's P(spam):
//   z = rules * rule_score + classifier * logit(p) + bias      (logit clipped at ±13.8)
// In rule-score units the classifier is then worth (classifier / rules) * logit(p).
struct Stacking {
  double rules = 0, classifier = 0, bias = 0;
  double Apply(double rule_score, double p) const;
};

struct StackingExample {
  double rule_score = 0;
  double probability = 0.5;  // must come from a model that did not see the example
  bool spam = false;
};

// Logistic regression on the two inputs (Newton's method, L2 penalty 1e-3, at most 50
// iterations). Deterministic.
Stacking FitStacking(const std::vector<StackingExample>& examples);

struct Curve {
  std::string name;
  std::vector<ScoredLabel> scored;
};

// An SVG with the ROC curves (FPR on a log axis, 0.01%..100%) and, for the first curve,
// histograms of the scores of ham and spam.
std::string PlotSvg(const std::vector<Curve>& curves, const std::string& title);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_EVALUATION_H_
