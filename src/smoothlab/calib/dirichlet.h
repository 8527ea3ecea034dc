// Matrix scaling and Dirichlet calibration with ODIR (Kull et al., NeurIPS 2019, §3 and §4):
//   matrix:    q = softmax(W z + b)                     (z: logits)
//   dirichlet: q = softmax(W log p + b),  p = softmax(z)
// W ∈ R^{K×K}, b ∈ R^K, fitted by L-BFGS (lbfgs.h) on
//   mean_i −log q_iy + λ/(K(K−1)) Σ_{i≠j} W_ij² + μ/K Σ_j b_j²
// — the paper's Off-Diagonal and Intercept Regularisation, with its normalisation by the number of terms (the issue's
// λ·Σ W_ij² + μ·Σ b_j² with λ, μ rescaled by those counts). Without it the K² parameters over-fit with many classes.
// The start is W = I/T_TS, b = 0 (temperature scaling, at which the penalty is 0). W = I, b = 0 is the identity on
// log p for Dirichlet. Argmax may change. Cost per evaluation: O(N·K²) (a [N,K]×[K,K] product).
#pragma once

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib {

class LinearCalibrator final : public Calibrator {
 public:
  enum class Input { Logits, LogProbabilities }; // matrix scaling | Dirichlet calibration

  LinearCalibrator(
      Input input,
      double lambda = 1e-3,
      double mu = 1e-3,
      double tolerance = 1e-6,
      int64_t max_iterations = 500)
      : input_(input), lambda_(lambda), mu_(mu), tolerance_(tolerance), max_iterations_(max_iterations) {}
  std::string name() const override {
    return input_ == Input::Logits ? "matrix" : "dirichlet";
  }
  const torch::Tensor& weight() const {
    return w_;
  }
  const torch::Tensor& bias() const {
    return b_;
  }
  double lambda() const {
    return lambda_;
  }
  double mu() const {
    return mu_;
  }
  // Sets W [K, K] and b [K] directly.
  void set(const torch::Tensor& weight, const torch::Tensor& bias);

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  torch::Tensor features(const torch::Tensor& logits) const;
  Input input_;
  double lambda_, mu_, tolerance_;
  int64_t max_iterations_;
  torch::Tensor w_, b_; // float64 [K, K], [K]
};

} // namespace smoothlab::calib
