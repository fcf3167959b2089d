// Quality on the dev corpora (../shared/corpora): 5-fold stratified cross-validation with the
// default training recipe of each channel, held to the targets, and the bundled
// models checked against the corpora they were trained on. Skips when the corpora are absent.
#include <fstream>
#include <sstream>

#include "classifiers/classifier.h"
#include "classifiers/evaluation.h"
#include "classifiers/labelled_text.h"
#include "classifiers/trainer.h"
#include "cli/input.h"
#include "gtest/gtest.h"
#include "tests/classifiers/test_util.h"

namespace veto::classifiers {
namespace {

const std::string kCorpora = std::string(VETO_SHARED_DIR) + "/corpora";

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

// Tokenised examples of a corpus with the given tokenizer.
std::vector<Example> SmsExamples(const Tokenizer& tok) {
  std::ifstream f(kCorpora + "/sms/sms_spam_collection_dev.tsv");
  std::stringstream ss;
  ss << f.rdbuf();
  std::vector<LabelledText> texts;
  std::vector<FeedError> errors;
  EXPECT_EQ(ParseLabelledTexts(ss.str(), FeedFormat::kTsv, &texts, &errors), 0u);
  std::vector<Example> out;
  FeatureSet fs;
  for (const auto& t : texts) {
    tok.Tokenize(*testing::Sms(t.text), &fs);
    out.push_back({fs.features(), t.spam});
  }
  return out;
}

std::vector<Example> EmailExamples(const Tokenizer& tok) {
  std::vector<Example> out;
  FeatureSet fs;
  for (bool spam : {false, true}) {
    std::string path = kCorpora + "/email/spamassassin_dev_" + (spam ? "spam" : "ham") + ".tar.gz";
    absl::Status s = cli::ForEachMessage(path, [&](const cli::InputMessage& in) {
      tok.Tokenize(*testing::Email(in.bytes), &fs);
      out.push_back({fs.features(), spam});
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return out;
}

std::vector<ScoredLabel> CrossValidate(const std::vector<Example>& ex, const TrainOptions& o) {
  std::vector<bool> labels;
  for (const auto& e : ex) labels.push_back(e.spam);
  std::vector<int> fold = StratifiedFolds(labels, 5);
  std::vector<ScoredLabel> scored(ex.size());
  for (int f = 0; f < 5; ++f) {
    std::vector<size_t> train, test;
    for (size_t i = 0; i < ex.size(); ++i) (fold[i] == f ? test : train).push_back(i);
    auto data = Train(ex, train, o);
    EXPECT_TRUE(data.ok()) << data.status();
    auto c = Classifier::Create(*data, {});
    for (size_t i : test) scored[i] = {(*c)->Probability(ex[i].features), ex[i].spam};
  }
  return scored;
}

TEST(CorpusTest, SmsCrossValidationMeetsTarget) {
  if (!Exists(kCorpora + "/sms/sms_spam_collection_dev.tsv")) GTEST_SKIP() << "no ../shared/corpora/sms";
  TrainOptions o;
  o.tokenizer = TokenizerOptions::Sms();
  o.params.kind = ModelKind::kCombined;
  std::vector<ScoredLabel> s = CrossValidate(SmsExamples(Tokenizer(o.tokenizer)), o);
  OperatingPoint op = RecallAtFpr(s, 0.002);
  EXPECT_GE(op.recall, 0.95) << "SMS spam recall at ham FPR <= 0.2%";
  EXPECT_GE(RocAuc(s), 0.99);
}

TEST(CorpusTest, EmailCrossValidationMeetsTarget) {
  if (!Exists(kCorpora + "/email/spamassassin_dev_ham.tar.gz")) GTEST_SKIP() << "no ../shared/corpora/email";
  TrainOptions o;
  o.tokenizer = TokenizerOptions::Email();
  o.params.kind = ModelKind::kLogistic;
  std::vector<ScoredLabel> s = CrossValidate(EmailExamples(Tokenizer(o.tokenizer)), o);
  OperatingPoint op = RecallAtFpr(s, 0.002);
  EXPECT_GE(op.recall, 0.98) << "email spam recall at ham FPR <= 0.2%";
  EXPECT_GE(RocAuc(s), 0.999);
}

TEST(CorpusTest, BundledModelsFitTheirTrainingData) {
  if (!Exists(kCorpora + "/email/spamassassin_dev_ham.tar.gz") ||
      !Exists(kCorpora + "/sms/sms_spam_collection_dev.tsv")) {
    GTEST_SKIP() << "no ../shared/corpora";
  }
  for (const char* name : {"sms.model", "email.model"}) {
    auto c = LoadClassifier(std::string(VETO_SOURCE_DIR) + "/classifiers/models/" + name, {});
    ASSERT_TRUE(c.ok()) << c.status();
    std::vector<Example> ex = (*c)->channel() == Channel::kSms ? SmsExamples((*c)->tokenizer())
                                                               : EmailExamples((*c)->tokenizer());
    std::vector<ScoredLabel> s;
    for (const auto& e : ex) s.push_back({(*c)->Probability(e.features), e.spam});
    EXPECT_GE(MetricsAt(s, 0.5).accuracy, 0.99) << name;
    EXPECT_EQ((*c)->spam_messages() + (*c)->ham_messages(), ex.size()) << name;
  }
}

}  // namespace
}  // namespace veto::classifiers
