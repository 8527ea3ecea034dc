// Ensemble temperature scaling (Zhang, Kailkhura & Han, ICML 2020, "Mix-n-Match", §3.1):
//   q = w₀·softmax(z/T) + w₁·softmax(z) + w₂/K,   w on the simplex
// T is the temperature-scaling fit (temperature.h); then w minimises the mean NLL, which is convex in w: damped Newton
// from the centroid finds an interior minimum (stop: max |∂f/∂(w₀, w₁)| ≤ tolerance), otherwise the minimum lies on
// an edge of the triangle, where each 1-D problem is solved by bisection on its monotone derivative (stop: |f'| ≤
// tolerance); the best candidate wins. FitReport::gradient_norm is the steepest feasible descent slope at the result.
// The third term mixes in the uniform distribution: it is post-hoc label smoothing with ε = w₂
// (Müller et al.'s q = (1 − ε)·p + ε/K applied after training), so ETS contains a smoothing step by construction.
// The authors' code fits T and w by mean squared error by default; we fit both by NLL, the objective every other
// calibrator here minimises. Argmax is unchanged (a mixture of two order-preserving maps and a constant).
#pragma once

#include <array>

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib {

class EnsembleTemperature final : public Calibrator {
 public:
  EnsembleTemperature(double tolerance = 1e-6, int64_t max_iterations = 500)
      : tolerance_(tolerance), max_iterations_(max_iterations) {}
  std::string name() const override {
    return "ets";
  }
  double temperature() const {
    return temperature_;
  }
  const std::array<double, 3>& weights() const {
    return weights_;
  }
  // Sets T > 0 and w (non-negative, summing to 1 within 1e-9).
  void set(double temperature, const std::array<double, 3>& weights, int64_t classes);

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  double tolerance_;
  int64_t max_iterations_;
  double temperature_ = 1.0;
  std::array<double, 3> weights_{1.0, 0.0, 0.0};
};

} // namespace smoothlab::calib
