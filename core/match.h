// veto/core/match.h — evidence about one message: rule hits and classifier scores.
//
// The match stage (rules/) turns a Message into Matches; classifiers (classifiers/) append
// their own entries under their ids; policy/ reads the result and produces a Decision.
//
//   Scores s;
//   s.Add({.id = "SUBJ_ALL_CAPS", .score = 1.5, .count = 1, .kind = MatchKind::kRule});
//   s.total;   // 1.5
//
// Thread-safety: a Scores belongs to one message's scan.
#ifndef VETO_CORE_MATCH_H_
#define VETO_CORE_MATCH_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace veto {

enum class MatchKind : uint8_t {
  kRule,        // a content rule (header, body, uri, meta, ...)
  kClassifier,  // a trained model's contribution
  kSignal,      // a behavioural signal (rate, fan-out, duplicates, reports)
};

// One piece of evidence. `id` points into storage that outlives the scan (the compiled rule
// set, the model, the signal table), never into the message.
struct Match {
  std::string_view id;
  double score = 0;     // contribution to the total
  uint32_t count = 1;   // hit count (tflags multiple), 1 otherwise
  MatchKind kind = MatchKind::kRule;
  double probability = -1;  // classifiers: P(spam) in [0, 1]; -1 when not applicable
  bool hidden = false;      // not reported (SpamAssassin `__` sub-rules, zero scores)
};

struct Scores {
  std::vector<Match> matches;
  double total = 0;

  void Add(const Match& m) {
    matches.push_back(m);
    total += m.score;
  }
};

}  // namespace veto

#endif  // VETO_CORE_MATCH_H_
