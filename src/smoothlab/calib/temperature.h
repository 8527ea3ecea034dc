// Temperature scaling ([G] §4.2, [M] §3): one T > 0 for all classes, q̂ = softmax(z/T), fitted by minimising
// the NLL on held-out (validation) logits — never on the test split. Accuracy is unchanged (argmax is).
//
// With β = 1/T and u_ik = z_ik − max_k z_ik:
//   NLL(β)   = mean_i [log Σ_k exp(β u_ik) − β u_iy]
//   NLL'(β)  = mean_i [E_p u_i − u_iy],   NLL''(β) = mean_i Var_p u_i ≥ 0
// so NLL is convex in β and the minimiser is the root of NLL'. The solver is safeguarded Newton on β, from
// β = 1: every evaluation shrinks a bracket [lo, hi] (NLL' < 0 at lo, > 0 at hi; it starts as
// [1/max_temperature, 1/min_temperature]); Newton steps are limited to a factor 4; a step that leaves the
// bracket becomes regula falsi (or bisection in log β) once both ends are known, else a factor-4 step
// towards the unknown end. So it always converges, and T stays in [min_temperature, max_temperature]
// (at_bound: the optimum lies outside). It also stops when the NLL is flat (|β·NLL'| < 1e-12, e.g. separable
// data, where any small T is optimal). Each iteration is one fused pass over the logits (kernels.h);
// typically 5–8 iterations.
// The returned NLL is never worse than at T = 1 (if it were, T = 1 is returned).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib {

struct TemperatureOptions {
  TORCH_ARG(double, min_temperature) = 1e-2;
  TORCH_ARG(double, max_temperature) = 1e2;
  TORCH_ARG(double, tolerance) = 1e-7; // stop when a step changes β by less than tolerance·β (float32 sums)
  TORCH_ARG(int64_t, max_iterations) = 100;

 public:
  // Throws Error naming the options as the CLI spells them (--min-temperature, --max-temperature); fit_temperature
  // calls it.
  void validate() const;
};

struct TemperatureFit {
  double temperature = 1.0;
  double nll_before = 0, nll_after = 0; // mean NLL at T = 1 and at the fitted T
  int64_t iterations = 0; // NLL evaluations (one pass over the logits each)
  bool converged = false;
  bool at_bound = false; // the optimum lies beyond [min_temperature, max_temperature]
  int64_t count = 0; // samples fitted on
};

// logits: [N, K] float logits (not probabilities: rows of values in [0, 1] summing to 1 are refused);
// labels: [N] integer in [0, K). Throws Error on bad shapes, labels, NaN/Inf, N = 0 or K < 2.
TemperatureFit fit_temperature(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const TemperatureOptions& options = {});

// The same fit on row-major float32 logits [n, k] with labels in [0, k), row i counted weights[i] times (a bootstrap
// resample's multiplicities without building it; nullptr: once each): the paired bootstrap of study/evidence.h refits
// the temperature on each resample of the validation split. The caller vouches for the values (finite logits, labels
// in range), which the tensor overload checks; count is Σ weights.
TemperatureFit fit_temperature(
    const float* logits,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t n,
    int64_t k,
    const TemperatureOptions& options = {});

// Mean NLL of softmax(z/T) and its derivatives with respect to β = 1/T (for checks and grid searches).
struct NllPoint {
  double nll = 0, d_beta = 0, d2_beta = 0;
};
NllPoint temperature_nll(const torch::Tensor& logits, const torch::Tensor& labels, double temperature);

nlohmann::json to_json(const TemperatureFit& fit);
TemperatureFit fit_from_json(const nlohmann::json& j); // the inverse; throws nlohmann::json::exception

// Temperature scaling behind the Calibrator interface ("temperature"): fit_temperature's solver and stopping rule
// (FitReport::tolerance is its relative step in β; gradient_norm is |NLL'(β)| at the result).
class TemperatureCalibrator final : public Calibrator {
 public:
  explicit TemperatureCalibrator(TemperatureOptions options = {}) : options_(options) {}
  std::string name() const override {
    return "temperature";
  }
  double temperature() const {
    return temperature_;
  }
  const TemperatureFit& fit_result() const {
    return fit_;
  }

 protected:
  FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) override;
  torch::Tensor log_probs_impl(const torch::Tensor& logits) const override;
  nlohmann::json parameters() const override;
  void set_parameters(const nlohmann::json& parameters, int64_t classes) override;

 private:
  TemperatureOptions options_;
  TemperatureFit fit_;
  double temperature_ = 1.0;
};

} // namespace smoothlab::calib
