#include "classifiers/classifier.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/strings.h"

namespace veto::classifiers {
namespace {

constexpr double kClip = 1e-6;  // combining: probabilities clipped to [kClip, 1 - kClip]

double Logit(double p) {
  p = std::clamp(p, kClip, 1 - kClip);
  return std::log(p / (1 - p));
}

double Sigmoid(double z) {
  z = std::clamp(z, -35.0, 35.0);
  return 1.0 / (1.0 + std::exp(-z));
}

struct Scratch {
  FeatureSet features;
  std::vector<int32_t> clues;  // clue strengths, for top-N selection
};

Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

namespace {

// Tables for the series below: 1/i (a multiplication instead of a division per term) and
// ln((i - 1)!) (the largest term of the backward sum).
struct Chi2Tables {
  static constexpr size_t kSize = 1024;
  double inverse[kSize];
  double ln_factorial_below[kSize];  // ln((i - 1)!)
  Chi2Tables() {
    inverse[0] = 0;
    ln_factorial_below[0] = 0;
    for (size_t i = 1; i < kSize; ++i) {
      inverse[i] = 1.0 / static_cast<double>(i);
      ln_factorial_below[i] = std::lgamma(static_cast<double>(i));
    }
  }
};
const Chi2Tables& Tables() {
  static const Chi2Tables t;
  return t;
}

}  // namespace

double Chi2Q(double x2, size_t half_dof) {
  // Q = e^-m * sum_{i < n} m^i / i!, the Poisson(m) probability of fewer than n events.
  const Chi2Tables& t = Tables();
  const double m = x2 / 2.0;
  const size_t n = std::max<size_t>(half_dof, 1);
  if (m > static_cast<double>(n) && n < Chi2Tables::kSize) {
    // Past the peak: the terms only grow with i, so sum from the largest (i = n - 1) down,
    // each term i/m of the one above, and stop once they no longer change the sum (a
    // confident message's ham side: m is often many times n, and this takes a few steps).
    double term = std::exp(-m + static_cast<double>(n - 1) * std::log(m) - t.ln_factorial_below[n]);
    double sum = term;
    for (size_t i = n - 1; i >= 1; --i) {
      term *= static_cast<double>(i) / m;
      sum += term;
      if (term <= sum * 1e-17) break;
    }
    return std::min(sum, 1.0);
  }
  double term = std::exp(-m);
  double sum = term;
  for (size_t i = 1; i < n; ++i) {
    term *= m * (i < Chi2Tables::kSize ? t.inverse[i] : 1.0 / static_cast<double>(i));
    sum += term;
    // Past the peak (i > m) the terms only shrink: stop once they no longer change the sum.
    if (static_cast<double>(i) > m && term <= sum * 1e-17) break;
  }
  return std::min(sum, 1.0);
}

void Chi2QPair(double x2a, double x2b, size_t half_dof, double* qa, double* qb) {
  const size_t n = std::max<size_t>(half_dof, 1);
  const double ma = x2a / 2.0, mb = x2b / 2.0;
  // The Horner form of both sums, sum_{i < n} m^i / i! = 1 + m(1 + m/2(1 + ... (1 + m/(n-1)))):
  // a fixed n - 1 steps with no exit test, the two independent chains interleaved. Every
  // step adds positive terms (no cancellation), and each partial sum is at most e^m, so
  // nothing overflows for m < 700 (where e^-m is still a normal double); beyond that, or
  // past the tables, the one-at-a-time path.
  constexpr double kHornerMaxM = 700.0;
  if (n >= Chi2Tables::kSize || !(ma >= 0 && ma < kHornerMaxM && mb >= 0 && mb < kHornerMaxM)) {
    *qa = Chi2Q(x2a, half_dof);
    *qb = Chi2Q(x2b, half_dof);
    return;
  }
  const Chi2Tables& t = Tables();
  double sa = 1.0, sb = 1.0;
  for (size_t i = n - 1; i >= 1; --i) {
    const double inv = t.inverse[i];
    sa = 1.0 + sa * (ma * inv);
    sb = 1.0 + sb * (mb * inv);
  }
  *qa = std::min(std::exp(-ma) * sa, 1.0);
  *qb = std::min(std::exp(-mb) * sb, 1.0);
}

absl::Status ClassifierOptions::Validate() const {
  if (!id.empty()) {
    bool ok = id.size() <= 64;
    for (char c : id) {
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.');
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          Cat("classifier: id: expected 1-64 of [A-Za-z0-9_.-] (got '", id.substr(0, 64), "')"));
    }
  }
  if (!(points_per_logodds >= 0 && points_per_logodds <= 100)) {
    return absl::InvalidArgumentError(
        Cat("classifier: points_per_logodds must be in [0, 100] (got ", points_per_logodds, ")"));
  }
  if (!(max_score >= 0 && max_score <= 1e6)) {
    return absl::InvalidArgumentError(
        Cat("classifier: max_score must be 0 (no cap) or positive (got ", max_score, ")"));
  }
  if (!(min_score <= 0 && min_score >= -1e6)) {
    return absl::InvalidArgumentError(
        Cat("classifier: min_score must be 0 (no cap) or negative (got ", min_score, ")"));
  }
  return absl::OkStatus();
}

Classifier::Classifier(const ModelData& model, const ClassifierOptions& options)
    : id_(options.id.empty() ? model.name : options.id),
      tokenizer_(model.tokenizer),
      params_(model.params),
      spam_messages_(model.spam_messages),
      ham_messages_(model.ham_messages),
      bias_(model.bias),
      points_per_logodds_(options.points_per_logodds),
      max_score_(options.max_score),
      min_score_(options.min_score) {
  const size_t space = size_t{1} << model.tokenizer.feature_bits;
  const bool nb = params_.kind != ModelKind::kLogistic, lr = params_.kind != ModelKind::kNaiveBayes;
  // Naive Bayes levels: level k in 1..255 stands for log-odds evenly spaced over
  // [-kMaxLogit, kMaxLogit] (steps of 0.11); level 0 is "no evidence".
  const double kMaxLogit = std::log((1 - kClip) / kClip);
  auto level_logit = [&](int k) { return -kMaxLogit + 2 * kMaxLogit * (k - 1) / 254.0; };
  auto q = [](double ln) { return static_cast<int32_t>(std::lround(ln * kLnScale)); };
  nb_levels_[0] = {0, 0, 0};
  for (int k = 1; k < 256; ++k) {
    double f = 1 / (1 + std::exp(-level_logit(k)));
    const bool clue = std::fabs(f - 0.5) > params_.nb_min_dev;
    nb_levels_[k] = clue ? NbLevel{q(std::log(f)), q(std::log1p(-f)), 1} : NbLevel{0, 0, 0};
  }
  float max_weight = 0;
  if (lr) {
    for (const FeatureEntry& e : model.entries) max_weight = std::max(max_weight, std::fabs(e.weight));
  }
  weight_scale_ = max_weight > 0 ? max_weight / 32000.0 : 1.0;
  slots_.assign(space, Slot{0, 0, 0});
  const double nspam = std::max<double>(spam_messages_, 1);
  const double nham = std::max<double>(ham_messages_, 1);
  const double s = params_.nb_strength, x = params_.nb_unknown;
  for (const FeatureEntry& e : model.entries) {
    Slot& slot = slots_[e.index];
    if (lr) slot.weight = static_cast<int16_t>(std::lround(e.weight / weight_scale_));
    if (!nb || (e.spam == 0 && e.ham == 0)) continue;
    double b = e.spam / nspam, g = e.ham / nham;
    double pw = b / (b + g);
    double n = static_cast<double>(e.spam) + e.ham;
    double f = std::clamp((s * x + n * pw) / (s + n), kClip, 1 - kClip);
    double logit = std::log(f / (1 - f));
    slot.nb_level = static_cast<uint8_t>(
        std::clamp(std::lround((logit + kMaxLogit) / (2 * kMaxLogit) * 254.0) + 1, 1L, 255L));
  }
}

absl::StatusOr<std::shared_ptr<const Classifier>> Classifier::Create(
    const ModelData& model, const ClassifierOptions& options) {
  absl::Status s = options.Validate();
  if (!s.ok()) return s;
  s = model.tokenizer.Validate();
  if (!s.ok()) return s;
  if (options.check_channel && options.channel != model.tokenizer.channel) {
    return absl::FailedPreconditionError(
        Cat("classifier: model '", model.name, "' was trained for ",
            model.tokenizer.channel == Channel::kEmail ? "email" : "sms", ", not ",
            options.channel == Channel::kEmail ? "email" : "sms"));
  }
  const uint32_t space = uint32_t{1} << model.tokenizer.feature_bits;
  for (const FeatureEntry& e : model.entries) {
    if (e.index >= space) return absl::InvalidArgumentError("classifier: feature out of range");
  }
  return std::shared_ptr<const Classifier>(new Classifier(model, options));
}

double Classifier::NaiveBayes(const std::vector<uint32_t>& features, double* z) const {
  // One branch-free pass over the slots (the loads of all features overlap) gives both the
  // Naive Bayes sums and the logistic sum.
  int64_t sum_f = 0, sum_1mf = 0, wsum = 0;
  size_t n = 0;
  const Slot* slots = slots_.data();
  for (uint32_t f : features) {
    const Slot s = slots[f];
    const NbLevel& l = nb_levels_[s.nb_level];
    sum_f += l.ln_f;
    sum_1mf += l.ln_1mf;
    n += l.clue;
    wsum += s.weight;
  }
  if (z != nullptr) *z = bias_ + static_cast<double>(wsum) * weight_scale_;
  if (n == 0) return 0.5;
  if (n > params_.nb_max_tokens) {
    // Keep the max_tokens strongest clues: find the cut-off level strength, then sum the
    // clues above it (ties at the cut-off included up to the limit).
    auto strength = [&](const NbLevel& l) { return std::max(l.ln_f, l.ln_1mf); };
    auto& clues = ThreadScratch().clues;
    clues.clear();
    for (uint32_t f : features) {
      const NbLevel& l = nb_levels_[slots[f].nb_level];
      if (l.clue) clues.push_back(strength(l));
    }
    size_t k = params_.nb_max_tokens;
    std::nth_element(clues.begin(), clues.begin() + (k - 1), clues.end(), std::greater<int32_t>());
    int32_t cut = clues[k - 1];
    size_t above = 0;
    for (int32_t c : clues) above += c > cut;
    size_t ties_left = k - above;
    sum_f = sum_1mf = 0;
    n = 0;
    for (uint32_t f : features) {
      const NbLevel& l = nb_levels_[slots[f].nb_level];
      if (!l.clue || strength(l) < cut) continue;
      if (strength(l) == cut) {
        if (ties_left == 0) continue;
        --ties_left;
      }
      sum_f += l.ln_f;
      sum_1mf += l.ln_1mf;
      ++n;
    }
  }
  double q_spam = 0, q_ham = 0;
  Chi2QPair(-2.0 * (sum_1mf / kLnScale), -2.0 * (sum_f / kLnScale), n, &q_spam, &q_ham);
  double spam = 1.0 - q_spam;
  double ham = 1.0 - q_ham;
  return (spam - ham + 1.0) / 2.0;
}

double Classifier::LogisticZ(const std::vector<uint32_t>& features) const {
  int64_t wsum = 0;
  const Slot* slots = slots_.data();
  for (uint32_t f : features) wsum += slots[f].weight;
  return bias_ + static_cast<double>(wsum) * weight_scale_;
}

double Classifier::Probability(const std::vector<uint32_t>& features) const {
  switch (params_.kind) {
    case ModelKind::kNaiveBayes:
      return NaiveBayes(features, nullptr);
    case ModelKind::kLogistic:
      return Sigmoid(LogisticZ(features));
    case ModelKind::kCombined: {
      double z = 0;
      double nb = NaiveBayes(features, &z);
      return Sigmoid(0.5 * (Logit(nb) + z));
    }
  }
  return 0.5;
}

double Classifier::ScoreFor(double p) const {
  double score = points_per_logodds_ * Logit(p);
  if (max_score_ > 0) score = std::min(score, max_score_);
  if (min_score_ < 0) score = std::max(score, min_score_);
  return score;
}

Match Classifier::Classify(const Message& m) const {
  Scratch& s = ThreadScratch();
  tokenizer_.Tokenize(m, &s.features);
  double p = Probability(s.features.features());
  Match out;
  out.id = id_;
  out.kind = MatchKind::kClassifier;
  out.probability = p;
  out.score = ScoreFor(p);
  out.count = 1;
  out.hidden = false;
  return out;
}

size_t Classifier::memory_bytes() const {
  return sizeof(*this) + slots_.capacity() * sizeof(Slot) +
         id_.capacity();
}

absl::StatusOr<std::shared_ptr<const Classifier>> LoadClassifier(
    const std::string& path, const ClassifierOptions& options) {
  absl::StatusOr<ModelData> model = ReadModelFile(path);
  if (!model.ok()) return model.status();
  return Classifier::Create(*model, options);
}

}  // namespace veto::classifiers
