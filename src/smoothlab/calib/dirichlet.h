// Matrix scaling and Dirichlet calibration with ODIR (Kull et al., NeurIPS 2019, §3 and §4):
//   matrix:    q = softmax(W z + b)                     (z: logits)
//   dirichlet: q = softmax(W log p + b),  p = softmax(z)
// W ∈ R^{K×K}, b ∈ R^K, fitted by L-BFGS (lbfgs.h) on
//   mean_i −log q_iy + λ/(K(K−1)) Σ_{i≠j} W_ij² + μ/K Σ_j b_j²
// — the paper's Off-Diagonal and Intercept Regularisation, with its normalisation by the number of terms (the issue's
// λ·Σ W_ij² + μ·Σ b_j² with λ, μ rescaled by those counts). Without it the K² parameters over-fit with many classes.
// The start is W = I/T_TS, b = 0 (temperature scaling, at which the penalty is 0), or a warm start (warm_start()).
// W = I, b = 0 is the identity on log p for Dirichlet. Argmax may change. The objective and its gradient are computed
// by hand in float64 (detail::odir_objective, no autograd): O(N·K²) per evaluation — in plain loops for small K, in
// float64 matrix products (BLAS) from K = detail::kOdirBlasMinClasses on.
#pragma once

#include <utility>

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
  // The next fit starts from W [K, K], b [K] (e.g. the fit at a neighbouring λ, μ of a cross-validation grid) instead
  // of the temperature-scaling point: the same optimum, within the tolerance, in fewer evaluations. FitReport's
  // objective_before is then the objective there. Used once: a later fit starts from TS again.
  void warm_start(const torch::Tensor& weight, const torch::Tensor& bias);

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
  torch::Tensor start_w_, start_b_; // the warm start, undefined when none
};

namespace detail {
// The canonical representative of (W, b): Wc = W + 1 uᵀ with u_j = −Σ_{i≠j} W_ij / (K − 1), bc = b − mean(b) (the
// same map, the smallest penalty).
std::pair<torch::Tensor, torch::Tensor> odir_canonical(const torch::Tensor& w, const torch::Tensor& b);
// How odir_objective sums its rows. Auto: Loop below kOdirBlasMinClasses classes, Blas from there on (calib_bench's
// BM_OdirPath, N = 5000, idle 2-core AMD EPYC, 2026-12-04: at K = 3 / 10 / 32 / 64 loops 0.23 / 0.67 / 3.5 / 12 ms,
// BLAS 0.32 / 0.40 / 1.4 / 3.5 ms on 1 thread, as in compare.cpp's fold-parallel fits and the study's comparisons; on
// 2 threads loops 0.63 / 3.0 / 11 ms and BLAS 0.86 / 2.5 / 4.7 ms at K = 10 / 32 / 64, so a top-level fit at K ≈ 10
// is slower by BLAS, by a fraction of a millisecond per evaluation).
//   Loop: hand-written float64 loops on the calling thread, blocks of 256 rows summed in a fixed order.
//   Blas: blocks of rows through LibTorch's float64 addmm / exp (S = X Wcᵀ + bc, G = softmax − onehot, Σ Gᵀ X),
//         summed in a fixed order. Below 256 classes a block stays under LibTorch's grain size, so its element-wise
//         ops run on the calling thread (an earlier version split every op between threads and took 121 ms at K = 10
//         on a loaded machine); from 256 classes on, blocks of 4096 rows use LibTorch's intra-op threads. At K = 1000,
//         N = 50000 one evaluation took 5.5 s against the loops' 58 s (docs/performance.md). The two agree to 1e-12
//         relative (tests/calib/dirichlet_test.cpp); only the order of the sums differs.
enum class OdirPath { Auto, Loop, Blas };
inline constexpr int64_t kOdirBlasMinClasses = 8;
// The fitted objective at (W, b): with (Wc, bc) = odir_canonical(W, b),
//   mean_i −log softmax(Wc x_i + bc)_{y_i} + λ/(K(K−1)) Σ_{i≠j} Wc_ij² + μ/K Σ_j bc_j²,
// and, when grad_w and grad_b are given, its gradient with respect to W and b (written into them; undefined tensors
// are allocated). x: [N, K] features (logits, or log-probabilities for Dirichlet), labels [N] int64, w [K, K], b [K];
// all float64 contiguous CPU. Blocks of rows are summed in a fixed order (path: see OdirPath).
double odir_objective(
    const torch::Tensor& x,
    const torch::Tensor& labels,
    const torch::Tensor& w,
    const torch::Tensor& b,
    double lambda,
    double mu,
    torch::Tensor* grad_w = nullptr,
    torch::Tensor* grad_b = nullptr,
    OdirPath path = OdirPath::Auto);
} // namespace detail

} // namespace smoothlab::calib
