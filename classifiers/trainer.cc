#include "classifiers/trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/strings.h"

namespace veto::classifiers {
namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Sigmoid(double z) {
  z = std::clamp(z, -35.0, 35.0);
  return 1.0 / (1.0 + std::exp(-z));
}

// FTRL-Proximal state for one coordinate.
struct Ftrl {
  double z = 0, n = 0;
  double Weight(const ModelParams& p, bool regularise) const {
    double l1 = regularise ? p.ftrl_l1 : 0, l2 = regularise ? p.ftrl_l2 : 0;
    if (std::fabs(z) <= l1) return 0;
    double sign = z < 0 ? -1 : 1;
    return -(z - sign * l1) / ((p.ftrl_beta + std::sqrt(n)) / p.ftrl_alpha + l2);
  }
  void Update(const ModelParams& p, double g, double w) {
    double sigma = (std::sqrt(n + g * g) - std::sqrt(n)) / p.ftrl_alpha;
    z += g - sigma * w;
    n += g * g;
  }
};

}  // namespace

std::vector<size_t> AllIndices(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

absl::StatusOr<ModelData> Train(const std::vector<Example>& examples,
                                const std::vector<size_t>& subset, const TrainOptions& options) {
  absl::Status s = options.tokenizer.Validate();
  if (!s.ok()) return s;
  const ModelParams& p = options.params;
  if (!(p.ftrl_alpha > 0) || p.ftrl_beta < 0 || p.ftrl_l1 < 0 || p.ftrl_l2 < 0 ||
      !(p.nb_strength > 0) || p.nb_unknown < 0 || p.nb_unknown > 1 || p.nb_min_dev < 0 ||
      p.nb_min_dev > 0.5 || p.nb_max_tokens == 0) {
    return absl::InvalidArgumentError("train: model parameters out of range");
  }
  const uint32_t space = uint32_t{1} << options.tokenizer.feature_bits;
  ModelData m;
  m.name = options.name;
  m.tokenizer = options.tokenizer;
  m.params = p;
  std::vector<uint32_t> spam(space, 0), ham(space, 0);
  for (size_t i : subset) {
    if (i >= examples.size()) return absl::InvalidArgumentError("train: example index out of range");
    const Example& e = examples[i];
    for (uint32_t f : e.features) {
      if (f >= space) {
        return absl::InvalidArgumentError(
            Cat("train: feature ", f, " outside the feature space of 2^", m.tokenizer.feature_bits));
      }
      (e.spam ? spam : ham)[f]++;
    }
    (e.spam ? m.spam_messages : m.ham_messages)++;
  }
  if (m.spam_messages == 0 || m.ham_messages == 0) {
    return absl::InvalidArgumentError(Cat("train: need both spam and ham (got ", m.spam_messages,
                                          " spam, ", m.ham_messages, " ham)"));
  }

  // Logistic regression, FTRL-Proximal, deterministic shuffled passes.
  std::vector<Ftrl> ftrl;
  Ftrl bias;
  if (p.kind != ModelKind::kNaiveBayes) {
    ftrl.resize(space);
    std::vector<size_t> order = subset;
    uint64_t rng = options.seed;
    std::vector<double> w;
    for (uint32_t epoch = 0; epoch < p.epochs; ++epoch) {
      for (size_t i = order.size(); i > 1; --i) {
        std::swap(order[i - 1], order[SplitMix(&rng) % i]);
      }
      for (size_t idx : order) {
        const Example& e = examples[idx];
        w.resize(e.features.size());
        double zsum = bias.Weight(p, false);
        for (size_t k = 0; k < e.features.size(); ++k) {
          w[k] = ftrl[e.features[k]].Weight(p, true);
          zsum += w[k];
        }
        double g = Sigmoid(zsum) - (e.spam ? 1.0 : 0.0);
        for (size_t k = 0; k < e.features.size(); ++k) ftrl[e.features[k]].Update(p, g, w[k]);
        bias.Update(p, g, bias.Weight(p, false));
      }
    }
    m.bias = bias.Weight(p, false);
  }
  for (uint32_t f = 0; f < space; ++f) {
    float weight = ftrl.empty() ? 0.0f : static_cast<float>(ftrl[f].Weight(p, true));
    if (spam[f] == 0 && ham[f] == 0 && weight == 0) continue;
    // A logistic-only model keeps only features with a weight (L1 zeroes most of them):
    // the counts would only serve Learn's step size, which then starts afresh.
    if (p.kind == ModelKind::kLogistic && weight == 0) continue;
    m.entries.push_back({f, spam[f], ham[f], weight});
  }
  return m;
}

void Learn(ModelData* m, const std::vector<uint32_t>& features, bool spam) {
  const ModelParams& p = m->params;
  const uint32_t space = uint32_t{1} << m->tokenizer.feature_bits;
  // Make sure every feature has an entry (entries stay sorted).
  std::vector<uint32_t> sorted;
  for (uint32_t f : features) {
    if (f < space) sorted.push_back(f);
  }
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<FeatureEntry> merged;
  merged.reserve(m->entries.size() + sorted.size());
  size_t a = 0, b = 0;
  while (a < m->entries.size() || b < sorted.size()) {
    if (b == sorted.size() || (a < m->entries.size() && m->entries[a].index < sorted[b])) {
      merged.push_back(m->entries[a++]);
    } else if (a == m->entries.size() || sorted[b] < m->entries[a].index) {
      merged.push_back({sorted[b++], 0, 0, 0.0f});
    } else {
      merged.push_back(m->entries[a++]);
      ++b;
    }
  }
  m->entries.swap(merged);
  // One gradient step and the count updates.
  std::vector<FeatureEntry*> hits;
  double z = m->bias;
  for (uint32_t f : sorted) {
    auto it = std::lower_bound(m->entries.begin(), m->entries.end(), f,
                               [](const FeatureEntry& e, uint32_t v) { return e.index < v; });
    hits.push_back(&*it);
    z += it->weight;
  }
  if (p.kind != ModelKind::kNaiveBayes) {
    double g = Sigmoid(z) - (spam ? 1.0 : 0.0);
    for (FeatureEntry* e : hits) {
      double n = static_cast<double>(e->spam) + e->ham + 1;
      double rate = p.ftrl_alpha / (p.ftrl_beta + std::sqrt(n));
      e->weight = static_cast<float>(std::clamp(e->weight - rate * g, -1e5, 1e5));
    }
  }
  for (FeatureEntry* e : hits) (spam ? e->spam : e->ham)++;
  (spam ? m->spam_messages : m->ham_messages)++;
}

}  // namespace veto::classifiers
