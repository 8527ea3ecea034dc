// Top-label isotonic regression by pool-adjacent-violators (isotonic.h).
#include "smoothlab/calib/isotonic.h"

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {

detail::Map1d IsotonicCalibrator::fit_isotonic(const std::vector<double>& x, const std::vector<double>& y) {
  // Merge equal x: mean y, weight = count.
  std::vector<double> ux, uy, w;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!ux.empty() && x[i] == ux.back()) {
      uy.back() += y[i];
      w.back() += 1;
    } else {
      ux.push_back(x[i]);
      uy.push_back(y[i]);
      w.push_back(1);
    }
  }
  for (size_t i = 0; i < uy.size(); ++i)
    uy[i] /= w[i];
  // Pool adjacent violators: a stack of blocks (weighted mean, weight, first index).
  std::vector<double> mean, weight;
  std::vector<size_t> start;
  for (size_t i = 0; i < ux.size(); ++i) {
    mean.push_back(uy[i]);
    weight.push_back(w[i]);
    start.push_back(i);
    while (mean.size() > 1 && mean[mean.size() - 2] > mean.back()) {
      const double wsum = weight[weight.size() - 2] + weight.back();
      const double m = (mean[mean.size() - 2] * weight[weight.size() - 2] + mean.back() * weight.back()) / wsum;
      mean.pop_back();
      weight.pop_back();
      start.pop_back();
      mean.back() = m;
      weight.back() = wsum;
    }
  }
  std::vector<double> fitted(ux.size());
  for (size_t b = 0; b < mean.size(); ++b) {
    const size_t end = b + 1 < start.size() ? start[b + 1] : ux.size();
    for (size_t i = start[b]; i < end; ++i)
      fitted[i] = mean[b];
  }
  detail::Map1d m;
  m.kind = detail::Map1d::Kind::Linear;
  for (size_t i = 0; i < ux.size(); ++i) {
    const bool interior = i > 0 && i + 1 < ux.size();
    if (interior && fitted[i] == fitted[i - 1] && fitted[i] == fitted[i + 1])
      continue;
    m.x.push_back(ux[i]);
    m.y.push_back(fitted[i]);
  }
  return m;
}

} // namespace smoothlab::calib
