// Top-label isotonic regression (Zadrozny & Elkan 2002; top-label form of Gupta & Ramdas, ICLR 2022): per predicted
// class (top_label.h), the non-decreasing least-squares fit of correctness on confidence by pool-adjacent-violators,
// as scikit-learn's IsotonicRegression(out_of_bounds="clip") computes it: equal confidences are first merged (mean
// outcome, weight = count), the fitted values are interpolated linearly between the merged confidences, and held
// constant beyond the smallest and largest. Exact: no iteration. The map is monotone by construction.
#pragma once

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/top_label.h"

namespace smoothlab::calib {

class IsotonicCalibrator final : public Calibrator {
 public:
  // min_class_count: the fewest fit examples a predicted class needs for its own map (else the pooled one).
  explicit IsotonicCalibrator(int64_t min_class_count = 15) : min_class_count_(min_class_count) {}
  std::string name() const override {
    return "isotonic";
  }
  const detail::TopLabelMaps& maps() const {
    return maps_;
  }
  // Pool-adjacent-violators on sorted x (ascending) and y; knots kept as scikit-learn keeps them (a point whose
  // value equals both neighbours' is dropped: interpolation is unchanged).
  static detail::Map1d fit_isotonic(const std::vector<double>& x, const std::vector<double>& y);

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  int64_t min_class_count_;
  detail::TopLabelMaps maps_;
};

} // namespace smoothlab::calib
