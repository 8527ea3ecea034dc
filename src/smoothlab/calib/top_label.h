// Top-label recalibration with re-normalisation (Gupta & Ramdas, ICLR 2022, §2–3), shared by histogram binning and
// isotonic regression: for each predicted class c = argmax_k z_k, a monotone 1-D map g_c of the confidence
// p̂ = max_k softmax(z)_k fitted on the fit examples predicted as c (the top-label condition: P(Y = c | c(X) = c,
// p̂)), with one pooled map over all classes for predicted classes with fewer than `min_class_count` fit examples.
// The calibrated distribution gives the top class g_c(p̂) and the other classes 1 − g_c(p̂) in proportion to their
// softmax probabilities (detail::renormalise_top_label), so argmax is unchanged wherever g_c(p̂) ≥ 1/2.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib::detail {

// A 1-D map by its knots: Step: g(p) = y[i] for the first i with p ≤ x[i] (y.back() beyond); Linear: np.interp's
// piecewise-linear interpolation, constant beyond the ends (scikit-learn's IsotonicRegression.predict with
// out_of_bounds="clip"); LinearClipped: Linear, then clipped to [0, 1] (spline recalibration, whose knot values may
// leave [0, 1]; the other kinds' lie in it). x ascending.
struct Map1d {
  enum class Kind { Step, Linear, LinearClipped };
  Kind kind = Kind::Step;
  std::vector<double> x, y;
  double operator()(double p) const;
};

// fit_1d(confidence ascending, correct in the same order) → map.
using Fit1d = std::function<Map1d(const std::vector<double>&, const std::vector<double>&)>;

struct TopLabelMaps {
  Map1d pooled;
  std::map<int64_t, Map1d> per_class; // predicted classes with at least min_class_count fit examples

  // logits: float32 or float64 [N, K], contiguous CPU (taken a block of rows at a time); labels int64 [N].
  void fit(const torch::Tensor& logits, const torch::Tensor& labels, int64_t min_class_count, const Fit1d& fit_1d);
  // The calibrated top-label confidence of a row with confidence p̂ predicted as class `prediction`.
  double map(double confidence, int64_t prediction) const;
  // Calibrated top-label confidence [N] of logits [N, K].
  torch::Tensor confidence(const torch::Tensor& logits) const;
  torch::Tensor log_probs(const torch::Tensor& logits) const;
  nlohmann::json to_json() const;
  // Throws Error on a malformed map (lengths, order, values outside [0, 1], class out of [0, classes)).
  void from_json(const nlohmann::json& j, int64_t classes, Map1d::Kind kind);
};

} // namespace smoothlab::calib::detail

namespace smoothlab::calib {

// The body shared by the top-label calibrators (histogram binning, isotonic regression, spline recalibration): fit
// the maps with fit_map, apply them with re-normalisation, save them with the method's own settings. Exact fits.
class TopLabelCalibrator : public Calibrator {
 public:
  const detail::TopLabelMaps& maps() const {
    return maps_;
  }

 protected:
  explicit TopLabelCalibrator(detail::Map1d::Kind kind) : kind_(kind) {}
  // The 1-D map of sorted confidences x and 0/1 outcomes y.
  virtual detail::Map1d fit_map(const std::vector<double>& x, const std::vector<double>& y) const = 0;
  // The fewest fit examples a predicted class needs for its own map (else the pooled one).
  virtual int64_t min_class_count() const = 0;
  // The method's settings saved beside the maps ({"bins": 15}), and read back (keeping the current value when absent).
  virtual nlohmann::json settings() const = 0;
  virtual void load_settings(const nlohmann::json& parameters) = 0;

  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) final;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const final;
  nlohmann::json parameters() const final;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) final;
  bool takes_float32() const final {
    return true;
  }

 private:
  detail::Map1d::Kind kind_;
  detail::TopLabelMaps maps_;
};

} // namespace smoothlab::calib
