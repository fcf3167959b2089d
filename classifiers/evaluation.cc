#include "classifiers/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/strings.h"

namespace veto::classifiers {
namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<ScoredLabel> SortedDescending(const std::vector<ScoredLabel>& s) {
  std::vector<ScoredLabel> v = s;
  std::sort(v.begin(), v.end(),
            [](const ScoredLabel& a, const ScoredLabel& b) { return a.score > b.score; });
  return v;
}

// ROC points (fpr, tpr) at every distinct threshold, from (0,0) to (1,1).
std::vector<std::pair<double, double>> RocPoints(const std::vector<ScoredLabel>& s) {
  std::vector<ScoredLabel> v = SortedDescending(s);
  size_t pos = 0, neg = 0;
  for (const auto& x : v) (x.spam ? pos : neg)++;
  std::vector<std::pair<double, double>> pts = {{0, 0}};
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j].score == v[i].score) {
      (v[j].spam ? tp : fp)++;
      ++j;
    }
    pts.emplace_back(neg ? double(fp) / neg : 0, pos ? double(tp) / pos : 0);
    i = j;
  }
  return pts;
}

std::string F(double v, int prec = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

BinaryMetrics MetricsAt(const std::vector<ScoredLabel>& s, double threshold) {
  BinaryMetrics m;
  for (const auto& x : s) {
    bool pred = x.score >= threshold;
    if (x.spam) (pred ? m.tp : m.fn)++;
    else (pred ? m.fp : m.tn)++;
  }
  m.precision = m.tp + m.fp ? double(m.tp) / (m.tp + m.fp) : 0;
  m.recall = m.tp + m.fn ? double(m.tp) / (m.tp + m.fn) : 0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.fpr = m.fp + m.tn ? double(m.fp) / (m.fp + m.tn) : 0;
  m.accuracy = s.empty() ? 0 : double(m.tp + m.tn) / s.size();
  return m;
}

double RocAuc(const std::vector<ScoredLabel>& s) {
  // Mann-Whitney U with average ranks for ties.
  std::vector<ScoredLabel> v = s;
  std::sort(v.begin(), v.end(),
            [](const ScoredLabel& a, const ScoredLabel& b) { return a.score < b.score; });
  double rank_sum = 0;
  size_t pos = 0, neg = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j].score == v[i].score) ++j;
    double avg_rank = (i + 1 + j) / 2.0;  // ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (v[k].spam) {
        rank_sum += avg_rank;
        ++pos;
      } else {
        ++neg;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (double(pos) * neg);
}

OperatingPoint RecallAtFpr(const std::vector<ScoredLabel>& s, double max_fpr) {
  std::vector<ScoredLabel> v = SortedDescending(s);
  size_t pos = 0, neg = 0;
  for (const auto& x : v) (x.spam ? pos : neg)++;
  OperatingPoint best;
  best.max_fpr = max_fpr;
  best.threshold = std::numeric_limits<double>::infinity();
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j].score == v[i].score) {
      (v[j].spam ? tp : fp)++;
      ++j;
    }
    double fpr = neg ? double(fp) / neg : 0;
    if (fpr > max_fpr) break;
    i = j;
    double recall = pos ? double(tp) / pos : 0;
    // The highest threshold that reaches the best recall (no extra false positives).
    if (recall <= best.recall && best.threshold != std::numeric_limits<double>::infinity()) continue;
    best.threshold = v[j - 1].score;
    best.recall = pos ? double(tp) / pos : 0;
    best.fpr = fpr;
    best.fp = fp;
  }
  return best;
}

std::vector<int> StratifiedFolds(const std::vector<bool>& spam, int k, uint64_t seed) {
  std::vector<int> fold(spam.size(), 0);
  if (k <= 1) return fold;
  for (bool cls : {false, true}) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < spam.size(); ++i) {
      if (spam[i] == cls) idx.push_back(i);
    }
    uint64_t rng = seed * 2 + cls;
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[SplitMix(&rng) % i]);
    for (size_t i = 0; i < idx.size(); ++i) fold[idx[i]] = static_cast<int>(i % k);
  }
  return fold;
}

namespace {
double ClippedLogit(double p) {
  p = std::clamp(p, 1e-6, 1 - 1e-6);
  return std::log(p / (1 - p));
}
}  // namespace

double Stacking::Apply(double rule_score, double p) const {
  return rules * rule_score + classifier * ClippedLogit(p) + bias;
}

Stacking FitStacking(const std::vector<StackingExample>& examples) {
  double w[3] = {0, 0, 0};  // rules, classifier, bias
  constexpr double kL2 = 1e-3;
  for (int iter = 0; iter < 50; ++iter) {
    double g[3] = {kL2 * w[0], kL2 * w[1], 0};
    double h[3][3] = {{kL2, 0, 0}, {0, kL2, 0}, {0, 0, 1e-9}};
    for (const StackingExample& e : examples) {
      double x[3] = {e.rule_score, ClippedLogit(e.probability), 1};
      double z = std::clamp(w[0] * x[0] + w[1] * x[1] + w[2], -35.0, 35.0);
      double p = 1 / (1 + std::exp(-z));
      double r = p - (e.spam ? 1 : 0), v = p * (1 - p);
      for (int a = 0; a < 3; ++a) {
        g[a] += r * x[a];
        for (int b = 0; b < 3; ++b) h[a][b] += v * x[a] * x[b];
      }
    }
    // Solve h * d = g (3x3, Gaussian elimination with partial pivoting).
    double m[3][4];
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 3; ++b) m[a][b] = h[a][b];
      m[a][3] = g[a];
    }
    bool singular = false;
    for (int c = 0; c < 3 && !singular; ++c) {
      int piv = c;
      for (int r = c + 1; r < 3; ++r) {
        if (std::fabs(m[r][c]) > std::fabs(m[piv][c])) piv = r;
      }
      if (std::fabs(m[piv][c]) < 1e-12) {
        singular = true;
        break;
      }
      for (int k = 0; k < 4; ++k) std::swap(m[c][k], m[piv][k]);
      for (int r = 0; r < 3; ++r) {
        if (r == c) continue;
        double f = m[r][c] / m[c][c];
        for (int k = c; k < 4; ++k) m[r][k] -= f * m[c][k];
      }
    }
    if (singular) break;
    double step = 0;
    for (int a = 0; a < 3; ++a) {
      double d = m[a][3] / m[a][a];
      w[a] -= d;
      step = std::max(step, std::fabs(d));
    }
    if (step < 1e-9) break;
  }
  return {w[0], w[1], w[2]};
}

std::string PlotSvg(const std::vector<Curve>& curves, const std::string& title) {
  // Two panels side by side: ROC (log FPR) and score histograms.
  const double W = 980, H = 440, pw = 400, ph = 320, x0 = 70, y0 = 60, x1 = 560;
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  std::string o = Cat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", W, "\" height=\"",
                      H, "\" font-family=\"sans-serif\" font-size=\"12\">\n",
                      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
                      "<text x=\"", W / 2, "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">");
  for (char c : title) {
    if (c == '<') o += "&lt;";
    else if (c == '&') o += "&amp;";
    else o.push_back(c);
  }
  o += "</text>\n";
  // ROC panel.
  const double lmin = -4;  // log10 FPR 0.01%
  auto px = [&](double fpr) {
    double l = fpr <= 0 ? lmin : std::max(lmin, std::log10(fpr));
    return x0 + (l - lmin) / -lmin * pw;
  };
  auto py = [&](double tpr) { return y0 + ph - tpr * ph; };
  o += Cat("<rect x=\"", x0, "\" y=\"", y0, "\" width=\"", pw, "\" height=\"", ph,
           "\" fill=\"none\" stroke=\"#444\"/>\n");
  for (int e = -4; e <= 0; ++e) {
    double x = px(std::pow(10.0, e));
    o += Cat("<line x1=\"", x, "\" y1=\"", y0, "\" x2=\"", x, "\" y2=\"", y0 + ph,
             "\" stroke=\"#ddd\"/>\n<text x=\"", x, "\" y=\"", y0 + ph + 16,
             "\" text-anchor=\"middle\">", F(100 * std::pow(10.0, e), e < -2 ? 2 : e < 0 ? 1 : 0),
             "%</text>\n");
  }
  for (int t = 0; t <= 10; t += 2) {
    double y = py(t / 10.0);
    o += Cat("<line x1=\"", x0, "\" y1=\"", y, "\" x2=\"", x0 + pw, "\" y2=\"", y,
             "\" stroke=\"#ddd\"/>\n<text x=\"", x0 - 6, "\" y=\"", y + 4,
             "\" text-anchor=\"end\">", F(t / 10.0), "</text>\n");
  }
  o += Cat("<text x=\"", x0 + pw / 2, "\" y=\"", y0 + ph + 36,
           "\" text-anchor=\"middle\">ham false-positive rate (log scale)</text>\n",
           "<text x=\"", x0 - 44, "\" y=\"", y0 + ph / 2, "\" transform=\"rotate(-90 ", x0 - 44,
           " ", y0 + ph / 2, ")\" text-anchor=\"middle\">spam recall</text>\n");
  for (size_t c = 0; c < curves.size(); ++c) {
    const char* color = kColors[c % 5];
    std::string pts;
    double prev_y = py(0);
    bool first = true;
    for (const auto& [fpr, tpr] : RocPoints(curves[c].scored)) {
      double x = px(fpr), y = py(tpr);
      if (!first) pts += Cat(" ", x, ",", prev_y);  // step curve
      pts += Cat(first ? "" : " ", x, ",", y);
      prev_y = y;
      first = false;
    }
    o += Cat("<polyline fill=\"none\" stroke=\"", color, "\" stroke-width=\"2\" points=\"", pts,
             "\"/>\n<text x=\"", x0 + 10, "\" y=\"", y0 + ph - 12 - 16 * (curves.size() - 1 - c),
             "\" fill=\"", color, "\">", curves[c].name, " (AUC ",
             F(RocAuc(curves[c].scored), 4), ")</text>\n");
  }
  // Histogram panel for the first curve.
  if (!curves.empty() && !curves[0].scored.empty()) {
    const auto& s = curves[0].scored;
    double lo = s[0].score, hi = s[0].score;
    for (const auto& x : s) {
      lo = std::min(lo, x.score);
      hi = std::max(hi, x.score);
    }
    if (hi <= lo) hi = lo + 1;
    constexpr int kBins = 25;
    size_t ham[kBins] = {}, spam[kBins] = {};
    for (const auto& x : s) {
      int b = std::min(kBins - 1, static_cast<int>((x.score - lo) / (hi - lo) * kBins));
      (x.spam ? spam : ham)[b]++;
    }
    double maxlog = 1;
    for (int b = 0; b < kBins; ++b) {
      maxlog = std::max({maxlog, std::log10(1.0 + ham[b]), std::log10(1.0 + spam[b])});
    }
    o += Cat("<rect x=\"", x1, "\" y=\"", y0, "\" width=\"", pw, "\" height=\"", ph,
             "\" fill=\"none\" stroke=\"#444\"/>\n");
    double bw = pw / kBins;
    for (int b = 0; b < kBins; ++b) {
      double hh = std::log10(1.0 + ham[b]) / maxlog * ph, hs = std::log10(1.0 + spam[b]) / maxlog * ph;
      o += Cat("<rect x=\"", x1 + b * bw + 1, "\" y=\"", y0 + ph - hh, "\" width=\"", bw / 2 - 1,
               "\" height=\"", hh, "\" fill=\"#1f77b4\"><title>ham ", ham[b], "</title></rect>\n",
               "<rect x=\"", x1 + b * bw + bw / 2, "\" y=\"", y0 + ph - hs, "\" width=\"",
               bw / 2 - 1, "\" height=\"", hs, "\" fill=\"#d62728\"><title>spam ", spam[b],
               "</title></rect>\n");
    }
    for (int t = 0; t <= 4; ++t) {
      double x = x1 + t * pw / 4;
      o += Cat("<text x=\"", x, "\" y=\"", y0 + ph + 16, "\" text-anchor=\"middle\">",
               F(lo + (hi - lo) * t / 4, 2), "</text>\n");
    }
    o += Cat("<text x=\"", x1 + pw / 2, "\" y=\"", y0 + ph + 36, "\" text-anchor=\"middle\">",
             curves[0].name, " score: ham (blue), spam (red); count on a log scale</text>\n");
  }
  o += "</svg>\n";
  return o;
}

}  // namespace veto::classifiers
