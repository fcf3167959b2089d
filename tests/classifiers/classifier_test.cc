#include "classifiers/classifier.h"

#include <cmath>
#include <thread>
#include <vector>

#include "classifiers/trainer.h"
#include "gtest/gtest.h"
#include "tests/classifiers/test_util.h"

namespace veto::classifiers {
namespace {

using testing::Sms;

const char* kSpam[] = {
    "WINNER! You have won a £1000 prize. Call 09061701461 to claim now",
    "FREE entry to win a brand new phone. Text WIN to 87121",
    "Congratulations you won cash! Claim your prize, call 09050000301",
    "URGENT! Your mobile won £2000 bonus. Call 09066364589 now to claim",
    "Free ringtone! Text TONE to 85023 now, 150p/msg",
    "You have been selected for a free holiday prize, call 08712300220",
};
const char* kHam[] = {
    "Are we still meeting for lunch tomorrow?",
    "Ok I'll call you when I get home",
    "Can you pick up some milk on the way back",
    "Sorry, running late, be there in 10 minutes",
    "Happy birthday! Hope you have a great day",
    "Did you see the game last night? What a finish",
    "I'm at the library, see you later",
    "Thanks for dinner, it was lovely",
};

std::shared_ptr<const Classifier> TrainSmall(ModelKind kind, ClassifierOptions copts = {}) {
  TrainOptions o;
  o.name = "TEST_SMS";
  o.tokenizer = TokenizerOptions::Sms();
  o.params.kind = kind;
  Tokenizer tok(o.tokenizer);
  FeatureSet fs;
  std::vector<Example> examples;
  for (const char* t : kSpam) {
    tok.Tokenize(*Sms(t), &fs);
    examples.push_back({fs.features(), true});
  }
  for (const char* t : kHam) {
    tok.Tokenize(*Sms(t), &fs);
    examples.push_back({fs.features(), false});
  }
  auto data = Train(examples, AllIndices(examples.size()), o);
  EXPECT_TRUE(data.ok()) << data.status();
  auto c = Classifier::Create(*data, copts);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(Chi2QTest, KnownValues) {
  EXPECT_DOUBLE_EQ(Chi2Q(0, 5), 1.0);
  EXPECT_NEAR(Chi2Q(2, 1), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(Chi2Q(4, 2), std::exp(-2.0) * 3, 1e-12);  // e^-m (1 + m), m = 2
  EXPECT_GE(Chi2Q(1e6, 3), 0.0);
  EXPECT_LE(Chi2Q(1e6, 3), 1e-100);
}

// Both ways of summing (forward below the peak, backward past it) against a plain
// long-double forward sum, over the range Naive Bayes produces (up to 150 clues).
TEST(Chi2QTest, MatchesReferenceSum) {
  for (size_t n : {1, 2, 3, 10, 37, 74, 150}) {
    for (double m : {0.01, 0.5, 1.0, 2.0, 9.9, 10.0, 10.1, 36.0, 40.0, 74.5, 80.0, 150.0, 160.0,
                     300.0, 700.0}) {
      long double term = std::exp(-static_cast<long double>(m)), sum = term;
      for (size_t i = 1; i < n; ++i) {
        term *= m / static_cast<long double>(i);
        sum += term;
      }
      double want = static_cast<double>(std::min<long double>(sum, 1.0L));
      double got = Chi2Q(2 * m, n);
      EXPECT_NEAR(got, want, 1e-12 * want + 1e-300) << "m=" << m << " n=" << n;
      // The pair form (Horner, both sides at once) gives the same values, in either slot.
      double a = -1, b = -1;
      Chi2QPair(2 * m, 2 * 0.25, n, &a, &b);
      EXPECT_NEAR(a, want, 1e-12 * want + 1e-300) << "pair, m=" << m << " n=" << n;
      Chi2QPair(2 * 3.0, 2 * m, n, &a, &b);
      EXPECT_NEAR(b, want, 1e-12 * want + 1e-300) << "pair, m=" << m << " n=" << n;
    }
  }
}

class KindTest : public ::testing::TestWithParam<ModelKind> {};

TEST_P(KindTest, SeparatesUnseenSpamFromHam) {
  auto c = TrainSmall(GetParam());
  Match spam = c->Classify(*Sms("You won a FREE prize! Call 09061701461 to claim your cash"));
  Match ham = c->Classify(*Sms("see you at lunch tomorrow, I'll call when I get home"));
  EXPECT_GT(spam.probability, 0.5) << ModelKindName(GetParam());
  EXPECT_LT(ham.probability, 0.5) << ModelKindName(GetParam());
  for (const Match& m : {spam, ham}) {
    EXPECT_EQ(m.id, "TEST_SMS");
    EXPECT_EQ(m.kind, MatchKind::kClassifier);
    EXPECT_GE(m.probability, 0.0);
    EXPECT_LE(m.probability, 1.0);
    EXPECT_DOUBLE_EQ(m.score, c->ScoreFor(m.probability));
  }
  // Nothing known: neutral-ish, still a valid probability.
  Match empty = c->Classify(*Sms(""));
  EXPECT_GE(empty.probability, 0.0);
  EXPECT_LE(empty.probability, 1.0);
}

INSTANTIATE_TEST_SUITE_P(All, KindTest,
                         ::testing::Values(ModelKind::kNaiveBayes, ModelKind::kLogistic,
                                           ModelKind::kCombined));

TEST(ClassifierTest, ScoreMappingAndId) {
  ClassifierOptions o;
  o.id = "MY_SMS_MODEL";
  o.points_per_logodds = 2;
  o.max_score = 5;
  o.min_score = -3;
  auto c = TrainSmall(ModelKind::kCombined, o);
  EXPECT_EQ(c->id(), "MY_SMS_MODEL");
  EXPECT_NEAR(c->ScoreFor(0.9), 2 * std::log(9.0), 1e-12);
  EXPECT_NEAR(c->ScoreFor(0.2), 2 * std::log(0.25), 1e-12);
  EXPECT_DOUBLE_EQ(c->ScoreFor(0.5), 0);
  EXPECT_DOUBLE_EQ(c->ScoreFor(0.99), 5);    // capped: 2 * 4.6 > 5
  EXPECT_DOUBLE_EQ(c->ScoreFor(0.0), -3);    // floored
  EXPECT_EQ(c->Classify(*Sms("hello")).id, "MY_SMS_MODEL");
}

// The default: 4 points per unit of log-odds on both sides, not capped, strictly increasing
// (a cap would make confident messages tie and let the rules alone order them).
TEST(ClassifierTest, DefaultMappingIsLinearInLogOdds) {
  ClassifierOptions o;
  ASSERT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.points_per_logodds, 4.0);
  auto c = TrainSmall(ModelKind::kCombined);
  double prev = -1e9;
  for (double p = 0.0005; p < 1.0; p += 0.001) {
    double s = c->ScoreFor(p);
    EXPECT_GT(s, prev) << p;
    prev = s;
  }
  EXPECT_DOUBLE_EQ(c->ScoreFor(0.5), 0.0);
  EXPECT_NEAR(c->ScoreFor(0.99), 4 * std::log(99.0), 1e-9);
  EXPECT_NEAR(c->ScoreFor(0.9995), 4 * std::log(1999.0), 1e-9);
  EXPECT_NEAR(c->ScoreFor(1.0), 4 * std::log((1 - 1e-6) / 1e-6), 1e-6);  // clipped, finite
  EXPECT_NEAR(c->ScoreFor(0.0), -4 * std::log((1 - 1e-6) / 1e-6), 1e-6);
  EXPECT_NEAR(c->ScoreFor(0.78), 5.06, 0.01);  // the tag threshold
}

TEST(ClassifierOptionsTest, BadOptions) {
  struct Case {
    const char* what;
    ClassifierOptions o;
    const char* message;
  };
  ClassifierOptions negative, huge, nan_slope, bad_id, bad_max, bad_min;
  negative.points_per_logodds = -1;
  huge.points_per_logodds = 101;
  nan_slope.points_per_logodds = std::nan("");
  bad_id.id = "has space";
  bad_max.max_score = -2;
  bad_min.min_score = 2;
  for (const Case& c :
       {Case{"negative", negative, "points_per_logodds must be in [0, 100]"},
        Case{"huge", huge, "points_per_logodds"}, Case{"nan", nan_slope, "points_per_logodds"},
        Case{"bad id", bad_id, "id:"}, Case{"bad max", bad_max, "max_score"},
        Case{"bad min", bad_min, "min_score"}}) {
    absl::Status s = c.o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(std::string(s.message()).find(c.message), std::string::npos) << c.what << ": " << s;
  }
}

TEST(ClassifierTest, ChannelCheck) {
  TrainOptions o;
  o.tokenizer = TokenizerOptions::Sms();
  std::vector<Example> ex = {{{1, 2}, true}, {{3, 4}, false}};
  auto data = Train(ex, AllIndices(2), o);
  ASSERT_TRUE(data.ok());
  ClassifierOptions copts;
  copts.check_channel = true;
  copts.channel = Channel::kEmail;
  auto c = Classifier::Create(*data, copts);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  copts.channel = Channel::kSms;
  EXPECT_TRUE(Classifier::Create(*data, copts).ok());
}

TEST(TrainerTest, ErrorsAndDeterminism) {
  TrainOptions o;
  o.tokenizer = TokenizerOptions::Sms();
  std::vector<Example> only_spam = {{{1, 2}, true}};
  EXPECT_EQ(Train(only_spam, AllIndices(1), o).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<Example> out_of_space = {{{1u << 30}, true}, {{3}, false}};
  EXPECT_EQ(Train(out_of_space, AllIndices(2), o).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Example> ex = {{{1, 2, 5}, true}, {{3, 4, 5}, false}, {{1, 6}, true}};
  auto a = Train(ex, AllIndices(3), o), b = Train(ex, AllIndices(3), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(SerializeModel(*a), SerializeModel(*b));
}

TEST(TrainerTest, LearnMovesTheModel) {
  TrainOptions o;
  o.tokenizer = TokenizerOptions::Sms();
  Tokenizer tok(o.tokenizer);
  FeatureSet fs;
  std::vector<Example> ex;
  for (const char* t : kSpam) {
    tok.Tokenize(*Sms(t), &fs);
    ex.push_back({fs.features(), true});
  }
  for (const char* t : kHam) {
    tok.Tokenize(*Sms(t), &fs);
    ex.push_back({fs.features(), false});
  }
  auto data = Train(ex, AllIndices(ex.size()), o);
  ASSERT_TRUE(data.ok());
  tok.Tokenize(*Sms("quarterly synergy report attached"), &fs);
  std::vector<uint32_t> f = fs.features();
  double before = (*Classifier::Create(*data, {}))->Probability(f);
  for (int i = 0; i < 5; ++i) Learn(&*data, f, true);
  double after = (*Classifier::Create(*data, {}))->Probability(f);
  EXPECT_GT(after, before);
  EXPECT_EQ(data->spam_messages, 11u);
  // Still a valid model file.
  EXPECT_TRUE(ParseModel(SerializeModel(*data)).ok());
}

TEST(ClassifierTest, ConcurrentClassifyMatchesSerial) {
  auto c = TrainSmall(ModelKind::kCombined);
  std::vector<std::unique_ptr<Message>> msgs;
  for (const char* t : kSpam) msgs.push_back(Sms(t));
  for (const char* t : kHam) msgs.push_back(Sms(t));
  std::vector<double> serial;
  for (const auto& m : msgs) serial.push_back(c->Classify(*m).probability);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        for (size_t i = 0; i < msgs.size(); ++i) {
          if (c->Classify(*msgs[i]).probability != serial[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : mismatches) EXPECT_EQ(n, 0);
}

TEST(LoadClassifierTest, Errors) {
  EXPECT_EQ(LoadClassifier("/nonexistent/x.model", {}).status().code(), absl::StatusCode::kNotFound);
  std::string path = ::testing::TempDir() + "/not_a_model";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("hello", f);
  std::fclose(f);
  auto c = LoadClassifier(path, {});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  std::remove(path.c_str());
}

TEST(LoadClassifierTest, BundledModels) {
  for (const char* name : {"email.model", "sms.model"}) {
    auto c = LoadClassifier(std::string(VETO_SOURCE_DIR) + "/classifiers/models/" + name, {});
    ASSERT_TRUE(c.ok()) << name << ": " << c.status();
    EXPECT_EQ((*c)->channel(), std::string(name) == "sms.model" ? Channel::kSms : Channel::kEmail);
    EXPECT_EQ((*c)->id(), std::string(name) == "sms.model" ? "CLASSIFIER_SMS" : "BAYES_EMAIL");
  }
}

}  // namespace
}  // namespace veto::classifiers
