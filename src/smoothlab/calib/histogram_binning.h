// Top-label histogram binning (Zadrozny & Elkan 2001; top-label form of Gupta & Ramdas, ICLR 2022, Algorithm 2):
// per predicted class (top_label.h), the fit examples' confidences are sorted and split into M equal-mass bins (the
// example of rank r, 0-based, in bin ⌊r·M/n⌋; M = min(bins, n)); each bin maps to its examples' accuracy. A new
// confidence goes to the first bin whose largest fit confidence is ≥ it (the last bin beyond). Exact: no iteration.
#pragma once

#include "smoothlab/calib/top_label.h"

namespace smoothlab::calib {

class HistogramBinning final : public TopLabelCalibrator {
 public:
  // bins: equal-mass bins per map; also the fewest fit examples a predicted class needs for its own map.
  explicit HistogramBinning(int64_t bins = 15) : TopLabelCalibrator(detail::Map1d::Kind::Step), bins_(bins) {}
  std::string name() const override {
    return "histogram";
  }
  // The 1-D fit on sorted confidences x and 0/1 outcomes y.
  static detail::Map1d fit_bins(const std::vector<double>& x, const std::vector<double>& y, int64_t bins);

 protected:
  detail::Map1d fit_map(const std::vector<double>& x, const std::vector<double>& y) const override;
  int64_t min_class_count() const override {
    return bins_;
  }
  nlohmann::json settings() const override {
    return {{"bins", bins_}};
  }
  void load_settings(const nlohmann::json& parameters) override {
    bins_ = parameters.value("bins", bins_);
  }

 private:
  int64_t bins_;
};

} // namespace smoothlab::calib
