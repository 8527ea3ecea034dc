// KS, debiased squared and netcal-style average calibration errors (estimators.h).
#include "smoothlab/calib/estimators.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "smoothlab/calib/ece.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {
namespace {

void check_pairs(const std::vector<double>& f, const std::vector<double>& y, const char* what) {
  check(f.size() == y.size(), "{}: {} confidences but {} outcomes", what, f.size(), y.size());
}

std::vector<size_t> order_by(const std::vector<double>& f) {
  std::vector<size_t> order(f.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f[a] < f[b]; });
  return order;
}

} // namespace

double ks_error(const std::vector<double>& confidence, const std::vector<double>& outcome) {
  check_pairs(confidence, outcome, "KS error");
  const double n = double(confidence.size());
  double scores = 0, hits = 0, worst = 0;
  for (size_t i : order_by(confidence)) {
    scores += confidence[i];
    hits += outcome[i];
    worst = std::max(worst, std::abs(scores / n - hits / n));
  }
  return worst;
}

DebiasedError debiased_squared_ce(
    const std::vector<double>& confidence,
    const std::vector<double>& outcome,
    int64_t bins) {
  check_pairs(confidence, outcome, "debiased calibration error");
  check(bins >= 1, "--bins must be at least 1, got {}", bins);
  DebiasedError out;
  const int64_t n = int64_t(confidence.size());
  if (n == 0)
    return out;
  std::vector<double> sorted = confidence;
  std::sort(sorted.begin(), sorted.end());
  const int64_t parts = std::min(bins, n);
  // numpy.array_split: the first n mod parts parts hold ⌊n/parts⌋ + 1 values.
  std::vector<double> edges;
  int64_t begin = 0;
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t size = n / parts + (p < n % parts ? 1 : 0);
    const int64_t end = begin + size;
    if (p + 1 < parts)
      edges.push_back((sorted[size_t(end - 1)] + sorted[size_t(end)]) / 2.0);
    begin = end;
  }
  edges.push_back(1.0);
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  const size_t m = edges.size();
  std::vector<double> count(m + 1, 0), f_sum(m + 1, 0), y_sum(m + 1, 0); // m + 1: beyond the last edge
  for (int64_t i = 0; i < n; ++i) {
    const size_t b = size_t(std::lower_bound(edges.begin(), edges.end(), confidence[size_t(i)]) - edges.begin());
    count[b] += 1;
    f_sum[b] += confidence[size_t(i)];
    y_sum[b] += outcome[size_t(i)];
  }
  for (size_t b = 0; b <= m; ++b) {
    if (count[b] < 2)
      continue;
    const double f = f_sum[b] / count[b], y = y_sum[b] / count[b];
    out.squared += count[b] / double(n) * ((f - y) * (f - y) - y * (1 - y) / (count[b] - 1));
  }
  out.l2 = std::sqrt(std::max(out.squared, 0.0));
  return out;
}

double netcal_ace(const std::vector<double>& confidence, const std::vector<double>& outcome, int64_t bins) {
  check_pairs(confidence, outcome, "ACE");
  std::vector<uint8_t> correct(outcome.size());
  for (size_t i = 0; i < outcome.size(); ++i)
    correct[i] = outcome[i] > 0.5 ? 1 : 0;
  const auto b = equal_width_bins(confidence, correct, bins);
  double sum = 0;
  int64_t used = 0;
  for (size_t m = 0; m < b.size(); ++m) {
    if (b.count[m] == 0)
      continue;
    sum += std::abs(b.accuracy(m) - b.confidence(m));
    ++used;
  }
  return used ? sum / double(used) : 0.0;
}

} // namespace smoothlab::calib
