// Top-label histogram binning with equal-mass bins (histogram_binning.h).
#include "smoothlab/calib/histogram_binning.h"

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {

detail::Map1d HistogramBinning::fit_bins(const std::vector<double>& x, const std::vector<double>& y, int64_t bins) {
  detail::Map1d m;
  m.kind = detail::Map1d::Kind::Step;
  const int64_t n = int64_t(x.size());
  const int64_t count = std::min(bins, n);
  for (int64_t b = 0; b < count; ++b) {
    const int64_t begin = b * n / count, end = (b + 1) * n / count;
    double hits = 0;
    for (int64_t i = begin; i < end; ++i)
      hits += y[size_t(i)];
    m.x.push_back(x[size_t(end - 1)]);
    m.y.push_back(hits / double(end - begin));
  }
  return m;
}

detail::Map1d HistogramBinning::fit_map(const std::vector<double>& x, const std::vector<double>& y) const {
  check(bins_ >= 1, "--bins must be at least 1, got {}", bins_);
  return fit_bins(x, y, bins_);
}

} // namespace smoothlab::calib
