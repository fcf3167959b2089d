#include "classifiers/model.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace veto::classifiers {
namespace {

ModelData Sample() {
  ModelData m;
  m.name = "TEST_MODEL";
  m.tokenizer = TokenizerOptions::Sms();
  m.tokenizer.feature_bits = 12;
  m.params.kind = ModelKind::kCombined;
  m.spam_messages = 10;
  m.ham_messages = 20;
  m.bias = -0.25;
  m.entries = {{1, 3, 0, 0.5f}, {7, 0, 4, -1.25f}, {300, 10, 20, 0.0f}, {4095, 1, 1, 2.0f}};
  return m;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Replaces the trailing checksum so a deliberate change is judged on its content.
std::string Reseal(std::string bytes) {
  bytes.resize(bytes.size() - 8);
  uint64_t h = Fnv1a(bytes);
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  return bytes;
}

std::string ReplaceHeader(std::string bytes, const std::string& from, const std::string& to) {
  size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  bytes.replace(at, from.size(), to);
  return Reseal(bytes);
}

TEST(ModelFileTest, RoundTrip) {
  ModelData m = Sample();
  std::string bytes = SerializeModel(m);
  EXPECT_TRUE(bytes.starts_with("VETOCLF\nformat 2\nname TEST_MODEL\n"));
  auto back = ParseModel(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, "TEST_MODEL");
  EXPECT_EQ(back->tokenizer.feature_bits, 12u);
  EXPECT_EQ(back->tokenizer.channel, Channel::kSms);
  EXPECT_EQ(back->params.kind, ModelKind::kCombined);
  EXPECT_DOUBLE_EQ(back->bias, -0.25);
  EXPECT_DOUBLE_EQ(back->params.nb_strength, m.params.nb_strength);
  ASSERT_EQ(back->entries.size(), 4u);
  EXPECT_EQ(back->entries[3].index, 4095u);
  EXPECT_EQ(back->entries[1].ham, 4u);
  EXPECT_FLOAT_EQ(back->entries[1].weight, -1.25f);
  EXPECT_EQ(SerializeModel(*back), bytes);
}

// A format 1 file (no char_ngram_min_word: models trained with n-grams of every word) still
// loads, and tokenises as it was trained.
TEST(ModelFileTest, ReadsFormat1) {
  std::string v2 = SerializeModel(Sample());
  std::string v1 = ReplaceHeader(ReplaceHeader(v2, "format 2\n", "format 1\n"),
                                 "char_ngram_min_word 8\n", "");
  auto m = ParseModel(v1);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->tokenizer.char_ngram_min_word, 0u);
}

TEST(ModelFileTest, FileRoundTripAndMissingFile) {
  std::string path = ::testing::TempDir() + "/model_test.model";
  ASSERT_TRUE(WriteModelFile(path, Sample()).ok());
  auto back = ReadModelFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->entries.size(), 4u);
  std::remove(path.c_str());
  EXPECT_EQ(ReadModelFile(path).status().code(), absl::StatusCode::kNotFound);
}

// Every damaged or mismatched file gives a specific error, never a crash.
TEST(ModelFileTest, BadFiles) {
  const std::string good = SerializeModel(Sample());
  struct Case {
    const char* what;
    std::string bytes;
    absl::StatusCode code;
    const char* message;
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  std::string huge_count = good;
  {
    size_t at = huge_count.find("end\n") + 4;
    huge_count[at + 3] = 0x7f;
    huge_count = Reseal(huge_count);
  }
  std::string dup = good;
  {
    // Second entry's index delta (byte after the first entry's 7 bytes) set to 0.
    size_t at = dup.find("end\n") + 4 + 4;
    dup[at + 7] = 0;
    dup = Reseal(dup);
  }
  std::string nan_weight = good;
  {
    size_t at = nan_weight.find("end\n") + 4 + 4 + 3;  // first entry's weight
    uint32_t bits = 0x7fc00000;
    std::memcpy(&nan_weight[at], &bits, 4);
    nan_weight = Reseal(nan_weight);
  }
  std::string out_of_range = good;
  {
    // Last entry: delta 4095-300=3795 (2 varint bytes); make it larger.
    size_t at = out_of_range.find("end\n") + 4 + 4 + 7 + 7 + 8;
    out_of_range[at + 1] = 0x7f;
    out_of_range = Reseal(out_of_range);
  }
  std::string trailing = good;
  trailing.insert(trailing.size() - 8, "x");
  trailing = Reseal(trailing);
  const Case cases[] = {
      {"empty", "", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"other file", "hello world, this is not a model\n", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"magic only", "VETOCLF\n", absl::StatusCode::kDataLoss, "truncated"},
      {"truncated", good.substr(0, good.size() - 20), absl::StatusCode::kDataLoss, "checksum"},
      {"bit flip", flipped, absl::StatusCode::kDataLoss, "checksum"},
      {"newer format", ReplaceHeader(good, "format 2\n", "format 3\n"),
       absl::StatusCode::kInvalidArgument, "format 3 is not supported"},
      {"format 2 without char_ngram_min_word",
       ReplaceHeader(good, "char_ngram_min_word 8\n", ""), absl::StatusCode::kInvalidArgument,
       "missing key 'char_ngram_min_word'"},
      {"bad char_ngram_min_word", ReplaceHeader(good, "char_ngram_min_word 8\n", "char_ngram_min_word 99\n"),
       absl::StatusCode::kInvalidArgument, "char_ngram_min_word"},
      {"unknown key", ReplaceHeader(good, "epochs 10\n", "epochz 10\n"),
       absl::StatusCode::kInvalidArgument, "unknown key 'epochz'"},
      {"missing key", ReplaceHeader(good, "epochs 10\n", ""), absl::StatusCode::kInvalidArgument,
       "missing key 'epochs'"},
      {"duplicate key", ReplaceHeader(good, "epochs 10\n", "epochs 10\nepochs 10\n"),
       absl::StatusCode::kInvalidArgument, "duplicate key"},
      {"bad channel", ReplaceHeader(good, "channel sms\n", "channel fax\n"),
       absl::StatusCode::kInvalidArgument, "channel"},
      {"bits too large", ReplaceHeader(good, "feature_bits 12\n", "feature_bits 40\n"),
       absl::StatusCode::kInvalidArgument, "feature_bits"},
      {"bits too small for entries", ReplaceHeader(good, "feature_bits 12\n", "feature_bits 10\n"),
       absl::StatusCode::kDataLoss, "out of range"},
      {"bad kind", ReplaceHeader(good, "kind combined\n", "kind svm\n"),
       absl::StatusCode::kInvalidArgument, "kind"},
      {"nan number", ReplaceHeader(good, "bias -0.25\n", "bias nan\n"),
       absl::StatusCode::kInvalidArgument, "bias"},
      {"bad name", ReplaceHeader(good, "name TEST_MODEL\n", "name a b\n"),
       absl::StatusCode::kInvalidArgument, "name"},
      {"counts above messages", ReplaceHeader(good, "ham_messages 20\n", "ham_messages 2\n"),
       absl::StatusCode::kDataLoss, "count larger"},
      {"no end line", ReplaceHeader(good, "\nend\n", "\nfin\n"), absl::StatusCode::kDataLoss,
       "no 'end' line"},
      {"huge entry count", huge_count, absl::StatusCode::kDataLoss, "entry count"},
      {"duplicate index", dup, absl::StatusCode::kDataLoss, "duplicate feature index"},
      {"nan weight", nan_weight, absl::StatusCode::kDataLoss, "weight not finite"},
      {"index out of range", out_of_range, absl::StatusCode::kDataLoss, "out of range"},
      {"trailing bytes", trailing, absl::StatusCode::kDataLoss, "trailing bytes"},
  };
  for (const Case& c : cases) {
    auto r = ParseModel(c.bytes, "m.model");
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status();
    EXPECT_NE(std::string(r.status().message()).find(c.message), std::string::npos)
        << c.what << ": " << r.status();
    EXPECT_TRUE(std::string(r.status().message()).starts_with("m.model: ")) << c.what;
  }
}

TEST(ModelFileTest, EveryTruncationFailsCleanly) {
  const std::string good = SerializeModel(Sample());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseModel(good.substr(0, n)).ok()) << n;
    // Cut, then given a valid checksum: the structure itself must be rejected.
    if (n + 8 != good.size()) {
      EXPECT_FALSE(ParseModel(Reseal(good.substr(0, n) + std::string(8, '\0'))).ok()) << n;
    }
  }
}

}  // namespace
}  // namespace veto::classifiers
