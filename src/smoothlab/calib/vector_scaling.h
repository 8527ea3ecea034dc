// Vector scaling (Guo et al. 2017 §4.2): q = softmax(a ⊙ z + b), a, b ∈ R^K, fitted by minimising the mean NLL on
// held-out logits with L-BFGS (lbfgs.h) from a = 1/T_TS·1, b = 0 (the temperature-scaling solution, so the fit is
// never worse than TS, whose softmax(z/T) is the case a = (1/T)·1, b = 0). Argmax may change (b shifts classes).
// Cost per objective evaluation: O(N·K).
#pragma once

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib {

class VectorScaling final : public Calibrator {
 public:
  VectorScaling(double tolerance = 1e-6, int64_t max_iterations = 500)
      : tolerance_(tolerance), max_iterations_(max_iterations) {}
  std::string name() const override {
    return "vector";
  }
  const torch::Tensor& scale() const {
    return a_;
  }
  const torch::Tensor& bias() const {
    return b_;
  }
  // Sets a and b ([K] each) directly, e.g. a = (1/T)·1, b = 0 to reproduce temperature scaling.
  void set(const torch::Tensor& scale, const torch::Tensor& bias);

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  double tolerance_;
  int64_t max_iterations_;
  torch::Tensor a_, b_; // float64 [K]
};

} // namespace smoothlab::calib
