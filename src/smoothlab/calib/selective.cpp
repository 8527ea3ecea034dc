// Selective classification: AURC, E-AURC, AUGRC, the risk–coverage curve and logit normalisation (selective.h).
#include "smoothlab/calib/selective.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {
namespace {

template <typename T>
RankedScores rank(const std::vector<T>& score) {
  RankedScores r;
  r.order.resize(score.size());
  std::iota(r.order.begin(), r.order.end(), int64_t(0));
  for (size_t i = 0; i < score.size(); ++i)
    check(std::isfinite(double(score[i])), "selective classification: score {} is not finite", i);
  std::stable_sort(
      r.order.begin(), r.order.end(), [&](int64_t a, int64_t b) { return score[size_t(a)] > score[size_t(b)]; });
  for (size_t i = 0; i < r.order.size(); ++i)
    if (i == 0 || score[size_t(r.order[i])] != score[size_t(r.order[i - 1])])
      r.block_begin.push_back(int64_t(i));
  r.block_begin.push_back(int64_t(r.order.size()));
  return r;
}

// Σ_{j=a+1}^{a+m} 1/j for integer a ≥ 0, m ≥ 1.
double harmonic_range(double a, double m) {
  double h = 0;
  for (double j = a + m; j > a; j -= 1)
    h += 1 / j;
  return h;
}

// One tie block's size (weighted) and errors.
struct Block {
  double size = 0, errors = 0;
};

template <typename F>
void for_each_block(const RankedScores& ranked, const std::vector<uint8_t>& correct, const uint32_t* w, F&& f) {
  check(
      correct.size() == ranked.size(),
      "selective classification: {} scores but {} outcomes",
      ranked.size(),
      correct.size());
  for (size_t b = 0; b + 1 < ranked.block_begin.size(); ++b) {
    Block block;
    for (int64_t i = ranked.block_begin[b]; i < ranked.block_begin[b + 1]; ++i) {
      const auto k = size_t(ranked.order[size_t(i)]);
      const double weight = w ? double(w[k]) : 1.0;
      block.size += weight;
      block.errors += weight * (1 - correct[k]);
    }
    if (block.size > 0)
      f(block);
  }
}

} // namespace

RankedScores rank_scores(const std::vector<double>& score) {
  return rank(score);
}
RankedScores rank_scores(const std::vector<float>& score) {
  return rank(score);
}

double oracle_aurc(double total, double errors) {
  if (!(total > 0))
    return NAN;
  // Σ_{i=N−E+1}^{N} (i − N + E)/i = Σ (1 − (N − E)/i) over those i.
  const double correct = total - errors;
  return errors > 0 ? (errors - correct * harmonic_range(correct, errors)) / total : 0.0;
}

SelectiveMetrics selective_metrics(
    const RankedScores& ranked,
    const std::vector<uint8_t>& correct,
    const uint32_t* weights) {
  SelectiveMetrics m;
  double before = 0, errors_before = 0, risk_sum = 0, error_sum = 0;
  for_each_block(ranked, correct, weights, [&](const Block& b) {
    // Positions a+1..a+m with mean errors e_a + j·E_b/m at position a+j:
    //   Σ_j (e_a + j·E_b/m)/(a + j) = e_a·H + (E_b/m)·(m − a·H),  H = Σ_j 1/(a + j)
    //   Σ_j (e_a + j·E_b/m)        = m·e_a + E_b·(m + 1)/2
    const double h = harmonic_range(before, b.size);
    risk_sum += errors_before * h + b.errors / b.size * (b.size - before * h);
    error_sum += b.size * errors_before + b.errors * (b.size + 1) / 2;
    before += b.size;
    errors_before += b.errors;
  });
  m.total = before;
  m.errors = errors_before;
  if (!(before > 0)) {
    m.aurc = m.oracle_aurc = m.e_aurc = m.augrc = NAN;
    return m;
  }
  m.aurc = risk_sum / before;
  m.oracle_aurc = oracle_aurc(before, errors_before);
  m.e_aurc = m.aurc - m.oracle_aurc;
  m.augrc = error_sum / (before * before);
  return m;
}

RiskCoverage risk_coverage(const RankedScores& ranked, const std::vector<uint8_t>& correct, int64_t points) {
  check(points >= 1, "risk–coverage curve: points must be at least 1, got {}", points);
  // The cumulative errors at block ends; e(x) is linear inside each block.
  std::vector<double> ends{0}, errs{0};
  for_each_block(ranked, correct, nullptr, [&](const Block& b) {
    ends.push_back(ends.back() + b.size);
    errs.push_back(errs.back() + b.errors);
  });
  RiskCoverage out;
  const double total = ends.back();
  if (!(total > 0))
    return out;
  size_t b = 1;
  for (int64_t p = 1; p <= points; ++p) {
    const double c = double(p) / double(points), x = c * total;
    while (b + 1 < ends.size() && ends[b] < x)
      ++b;
    const double e = errs[b - 1] + (errs[b] - errs[b - 1]) * (x - ends[b - 1]) / (ends[b] - ends[b - 1]);
    out.coverage.push_back(c);
    out.risk.push_back(e / x);
  }
  return out;
}

std::vector<double> softmax_rest_mass(const float* logits, int64_t n, int64_t classes, double beta) {
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    const auto top = std::max_element(z, z + classes) - z;
    double sum = 0;
    for (int64_t j = 0; j < classes; ++j)
      if (j != top)
        sum += std::exp(beta * (double(z[j]) - double(z[top])));
    out[size_t(i)] = sum;
  }
  return out;
}

std::vector<float> top_confidence(const std::vector<double>& rest_mass) {
  std::vector<float> out(rest_mass.size());
  for (size_t i = 0; i < rest_mass.size(); ++i)
    out[i] = float(1.0 / (1.0 + rest_mass[i]));
  return out;
}

std::vector<double> normalised_max_logit(const float* logits, int64_t n, int64_t classes, double p) {
  check(p >= 1, "logit normalisation: p must be at least 1, got {}", p);
  check(classes >= 1, "logit normalisation needs at least one class");
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    double norm = 0, top = -INFINITY, scale = 0;
    for (int64_t k = 0; k < classes; ++k) {
      top = std::max(top, double(z[k]));
      scale = std::max(scale, std::abs(double(z[k])));
    }
    if (scale == 0) {
      out[size_t(i)] = 0;
      continue;
    }
    for (int64_t k = 0; k < classes; ++k) // scaled by the largest |z_k| so that |z|^p cannot overflow
      norm += std::pow(std::abs(double(z[k])) / scale, p);
    out[size_t(i)] = top / (scale * std::pow(norm, 1 / p));
  }
  return out;
}

LogitNormChoice choose_logit_norm(const float* logits, const int64_t* labels, int64_t n, int64_t classes, int max_p) {
  check(max_p >= 1, "logit normalisation: max_p must be at least 1, got {}", max_p);
  std::vector<uint8_t> correct(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    correct[size_t(i)] = uint8_t(int64_t(std::max_element(z, z + classes) - z) == labels[i]);
  }
  LogitNormChoice best;
  best.aurc = INFINITY;
  for (int p = 1; p <= max_p; ++p) {
    const double a = selective_metrics(rank_scores(normalised_max_logit(logits, n, classes, p)), correct).aurc;
    if (a < best.aurc) {
      best.aurc = a;
      best.p = p;
    }
  }
  if (!std::isfinite(best.aurc))
    best.aurc = NAN; // no examples
  return best;
}

} // namespace smoothlab::calib
