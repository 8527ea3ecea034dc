// Spline recalibration (Gupta, Rahimi, Ajanthan, Mensink, Sminchisescu & Hartley, "Calibration of Neural Networks
// using Splines", ICLR 2021, §4), as the authors' recalibrate.py runs it: the top-label confidences s of the fit split,
// sorted, against their percentile u_i = i / (n − 1); the cumulative calibration error
// E(u_i) = (1/n) Σ_{j ≤ i} (correct_j − s_j) is fitted by least squares with a natural cubic spline with `knots`
// equally spaced knots on [0, 1] (6, the paper's setting); its derivative is the local accuracy − confidence, so
// s_i + E'(u_i) is the recalibrated confidence of the i-th sorted fit confidence. A new confidence gets the linear
// interpolation between those knots (constant beyond the ends), clipped to [0, 1]; the other classes share the rest
// (top_label.h: one pooled map, as the paper fits it). Exact: one least-squares solve.
//
// The authors' interpolated_function swaps the two neighbours' weights (a point next to a knot gets the other knot's
// value); smoothlab interpolates as np.interp does (tests/golden/spline_golden.json records both).
#pragma once

#include <limits>

#include "smoothlab/calib/top_label.h"

namespace smoothlab::calib {

class SplineCalibrator final : public TopLabelCalibrator {
 public:
  explicit SplineCalibrator(int64_t knots = 6)
      : TopLabelCalibrator(detail::Map1d::Kind::LinearClipped), knots_(knots) {}
  std::string name() const override {
    return "spline";
  }
  int64_t knots() const {
    return knots_;
  }
  // The recalibration map of sorted confidences x (ascending) and their correctness y: knots (x_i, x_i + E'(u_i)).
  // Needs at least `knots` points.
  static detail::Map1d fit_spline(const std::vector<double>& x, const std::vector<double>& y, int64_t knots);

 protected:
  detail::Map1d fit_map(const std::vector<double>& x, const std::vector<double>& y) const override {
    return fit_spline(x, y, knots_);
  }
  int64_t min_class_count() const override {
    return std::numeric_limits<int64_t>::max(); // one pooled map, as the paper fits it
  }
  nlohmann::json settings() const override {
    return {{"knots", knots_}};
  }
  void load_settings(const nlohmann::json& parameters) override {
    knots_ = parameters.value("knots", knots_);
  }

 private:
  int64_t knots_;
};

} // namespace smoothlab::calib
