// rules/re2_set.h across threads (label "concurrent": the TSan preset runs it): one Re2Set and
// one Re2Regex shared by several threads, including the lazy compile of the RE2 confirm and of
// the pattern-by-pattern fallback, give each thread the single-threaded results.
#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "rules/re2_set.h"

namespace veto::rules {
namespace {

std::vector<std::string> Texts() {
  std::mt19937 rng(11);
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) {
    std::string t;
    int n = 20 + static_cast<int>(rng() % 200);
    for (int k = 0; k < n; ++k) t += "ab c1x\xe9\n"[rng() % 9];
    texts.push_back(t);
  }
  return texts;
}

std::vector<std::vector<int>> MatchAll(const Re2Set& set, const std::vector<std::string>& texts) {
  std::vector<std::vector<int>> out;
  for (const std::string& t : texts) {
    std::vector<int> hits;
    set.Match(t, &hits);
    std::sort(hits.begin(), hits.end());
    out.push_back(hits);
  }
  return out;
}

TEST(Re2ThreadsTest, SharedSetsAndConfirmsGiveEveryThreadTheSameResults) {
  const std::vector<std::string> patterns = {"a[^\\n]{0,3}b", "\\bc\\d", "x\\xe9+", "(?:ab){2}",
                                             "[a-c]{5}", "1x\\n"};
  Re2Set roomy, tiny(1 << 10);  // tiny: too small to compile, matched pattern by pattern
  for (const std::string& p : patterns) {
    ASSERT_TRUE(roomy.Add(p).ok());
    ASSERT_TRUE(tiny.Add(p).ok());
  }
  ASSERT_TRUE(roomy.Compile().ok());
  ASSERT_FALSE(tiny.Compile().ok());
  const std::vector<std::string> texts = Texts();
  // Expected results from fresh objects, on this thread.
  Re2Set reference;
  for (const std::string& p : patterns) ASSERT_TRUE(reference.Add(p).ok());
  ASSERT_TRUE(reference.Compile().ok());
  const auto expected = MatchAll(reference, texts);
  Re2Regex reference_confirm("(?:ab|c1)[^\\n]{2}x", 0);
  std::vector<bool> expected_confirm;
  for (const std::string& t : texts) {
    bool hit = false;
    ASSERT_TRUE(reference_confirm.Matches(t, &hit));
    expected_confirm.push_back(hit);
  }

  Re2Regex confirm("(?:ab|c1)[^\\n]{2}x", 0);  // compiled by whichever thread comes first
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 3; ++round) {
        if (MatchAll(roomy, texts) != expected) ++failures[k];
        if (MatchAll(tiny, texts) != expected) ++failures[k];
        for (size_t i = 0; i < texts.size(); ++i) {
          bool hit = false;
          if (!confirm.Matches(texts[i], &hit) || hit != expected_confirm[i]) ++failures[k];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(failures[k], 0) << "thread " << k;
  EXPECT_GT(tiny.fallbacks(), 0u);
}

}  // namespace
}  // namespace veto::rules
