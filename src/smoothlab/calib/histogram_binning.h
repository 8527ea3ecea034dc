// Top-label histogram binning (Zadrozny & Elkan 2001; top-label form of Gupta & Ramdas, ICLR 2022, Algorithm 2):
// per predicted class (top_label.h), the fit examples' confidences are sorted and split into M equal-mass bins (the
// example of rank r, 0-based, in bin ⌊r·M/n⌋; M = min(bins, n)); each bin maps to its examples' accuracy. A new
// confidence goes to the first bin whose largest fit confidence is ≥ it (the last bin beyond). Exact: no iteration.
#pragma once

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/top_label.h"

namespace smoothlab::calib {

class HistogramBinning final : public Calibrator {
 public:
  // bins: equal-mass bins per map; also the fewest fit examples a predicted class needs for its own map.
  explicit HistogramBinning(int64_t bins = 15) : bins_(bins) {}
  std::string name() const override {
    return "histogram";
  }
  const detail::TopLabelMaps& maps() const {
    return maps_;
  }
  // The 1-D fit on sorted confidences x and 0/1 outcomes y.
  static detail::Map1d fit_bins(const std::vector<double>& x, const std::vector<double>& y, int64_t bins);

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  int64_t bins_;
  detail::TopLabelMaps maps_;
};

} // namespace smoothlab::calib
