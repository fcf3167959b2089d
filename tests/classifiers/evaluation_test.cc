#include "classifiers/evaluation.h"

#include <cmath>

#include "gtest/gtest.h"

namespace veto::classifiers {
namespace {

std::vector<ScoredLabel> Sample() {
  // 4 spam, 6 ham.
  return {{0.9, true}, {0.8, true}, {0.7, false}, {0.6, true}, {0.4, false},
          {0.3, true}, {0.2, false}, {0.1, false}, {0.05, false}, {0.01, false}};
}

TEST(EvaluationTest, MetricsAtThreshold) {
  BinaryMetrics m = MetricsAt(Sample(), 0.5);
  EXPECT_EQ(m.tp, 3u);
  EXPECT_EQ(m.fp, 1u);
  EXPECT_EQ(m.fn, 1u);
  EXPECT_EQ(m.tn, 5u);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.75);
  EXPECT_DOUBLE_EQ(m.f1, 0.75);
  EXPECT_DOUBLE_EQ(m.fpr, 1.0 / 6);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.8);
  BinaryMetrics none = MetricsAt({}, 0.5);
  EXPECT_EQ(none.precision, 0);
}

TEST(EvaluationTest, RocAuc) {
  // Pairs (spam, ham) ranked correctly: 0.9,0.8 beat all 6 ham (12); 0.6 beats 5; 0.3 beats 4.
  EXPECT_DOUBLE_EQ(RocAuc(Sample()), (12.0 + 5 + 4) / 24);
  EXPECT_DOUBLE_EQ(RocAuc({{0.5, true}, {0.5, false}}), 0.5);  // a tie counts one half
  EXPECT_DOUBLE_EQ(RocAuc({{1, true}, {0, false}}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({{1, true}}), 0.5);
}

TEST(EvaluationTest, RecallAtFpr) {
  OperatingPoint zero = RecallAtFpr(Sample(), 0.0);
  EXPECT_DOUBLE_EQ(zero.recall, 0.5);
  EXPECT_DOUBLE_EQ(zero.threshold, 0.8);
  EXPECT_EQ(zero.fp, 0u);
  OperatingPoint one = RecallAtFpr(Sample(), 0.2);  // one ham of six allowed
  EXPECT_DOUBLE_EQ(one.recall, 0.75);
  EXPECT_DOUBLE_EQ(one.threshold, 0.6);
  EXPECT_EQ(one.fp, 1u);
  // Perfect separation: the highest threshold with full recall, no extra false positives.
  OperatingPoint perfect = RecallAtFpr({{0.9, true}, {0.8, true}, {0.2, false}, {0.1, false}}, 0.5);
  EXPECT_DOUBLE_EQ(perfect.recall, 1.0);
  EXPECT_DOUBLE_EQ(perfect.threshold, 0.8);
  EXPECT_EQ(perfect.fp, 0u);
  // Ties are taken whole.
  OperatingPoint tie = RecallAtFpr({{0.5, true}, {0.5, false}, {0.1, false}}, 0.4);
  EXPECT_DOUBLE_EQ(tie.recall, 0.0);
}

TEST(EvaluationTest, StratifiedFolds) {
  std::vector<bool> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 10 == 0);
  std::vector<int> f = StratifiedFolds(labels, 5);
  int spam_per_fold[5] = {}, per_fold[5] = {};
  for (size_t i = 0; i < f.size(); ++i) {
    ASSERT_GE(f[i], 0);
    ASSERT_LT(f[i], 5);
    per_fold[f[i]]++;
    spam_per_fold[f[i]] += labels[i];
  }
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(per_fold[k], 20);
    EXPECT_EQ(spam_per_fold[k], 2);
  }
  EXPECT_EQ(StratifiedFolds(labels, 5), f);  // deterministic
}

TEST(EvaluationTest, FitStackingLearnsWhichInputCarriesTheSignal) {
  // The classifier separates the classes; the rule score is noise.
  std::vector<StackingExample> ex;
  for (int i = 0; i < 200; ++i) {
    bool spam = i % 4 == 0;
    double p = spam ? 0.9 - 0.001 * (i % 50) : 0.1 + 0.001 * (i % 50);
    ex.push_back({static_cast<double>(i % 7), p, spam});
  }
  Stacking st = FitStacking(ex);
  EXPECT_GT(st.classifier, 0.5);
  EXPECT_LT(std::fabs(st.rules), st.classifier);
  EXPECT_GT(st.Apply(0, 0.95), 0);
  EXPECT_LT(st.Apply(0, 0.05), 0);
  EXPECT_TRUE(std::isfinite(FitStacking({}).bias));
  // Perfectly separable by one input: weights grow but stay finite.
  Stacking sep = FitStacking({{10, 0.5, true}, {0, 0.5, false}, {9, 0.5, true}, {1, 0.5, false}});
  EXPECT_GT(sep.rules, 0);
  EXPECT_TRUE(std::isfinite(sep.rules));
}

TEST(EvaluationTest, PlotSvg) {
  std::string svg = PlotSvg({{"classifier", Sample()}, {"rules", Sample()}}, "a <title> & more");
  EXPECT_TRUE(svg.starts_with("<svg "));
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_NE(svg.find("a &lt;title> &amp; more"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("AUC"), std::string::npos);
  EXPECT_TRUE(PlotSvg({}, "empty").ends_with("</svg>\n"));
}

}  // namespace
}  // namespace veto::classifiers
