// Top-label isotonic regression (Zadrozny & Elkan 2002; top-label form of Gupta & Ramdas, ICLR 2022): per predicted
// class (top_label.h), the non-decreasing least-squares fit of correctness on confidence by pool-adjacent-violators,
// as scikit-learn's IsotonicRegression(out_of_bounds="clip") computes it: equal confidences are first merged (mean
// outcome, weight = count), the fitted values are interpolated linearly between the merged confidences, and held
// constant beyond the smallest and largest. Exact: no iteration. The map is monotone by construction.
#pragma once

#include "smoothlab/calib/top_label.h"

namespace smoothlab::calib {

class IsotonicCalibrator final : public TopLabelCalibrator {
 public:
  // min_class_count: the fewest fit examples a predicted class needs for its own map (else the pooled one).
  explicit IsotonicCalibrator(int64_t min_class_count = 15)
      : TopLabelCalibrator(detail::Map1d::Kind::Linear), min_class_count_(min_class_count) {}
  std::string name() const override {
    return "isotonic";
  }
  // Pool-adjacent-violators on sorted x (ascending) and y; knots kept as scikit-learn keeps them (a point whose
  // value equals both neighbours' is dropped: interpolation is unchanged).
  static detail::Map1d fit_isotonic(const std::vector<double>& x, const std::vector<double>& y);

 protected:
  detail::Map1d fit_map(const std::vector<double>& x, const std::vector<double>& y) const override {
    return fit_isotonic(x, y);
  }
  int64_t min_class_count() const override {
    return min_class_count_;
  }
  nlohmann::json settings() const override {
    return {{"min_class_count", min_class_count_}};
  }
  void load_settings(const nlohmann::json& parameters) override {
    min_class_count_ = parameters.value("min_class_count", min_class_count_);
  }

 private:
  int64_t min_class_count_;
};

} // namespace smoothlab::calib
