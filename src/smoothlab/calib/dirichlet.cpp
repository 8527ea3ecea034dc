// Matrix scaling and Dirichlet calibration with ODIR by L-BFGS (dirichlet.h).
#include "smoothlab/calib/dirichlet.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/calib/lbfgs.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

void LinearCalibrator::set(const torch::Tensor& weight, const torch::Tensor& bias) {
  check(
      bias.dim() == 1 && weight.dim() == 2 && weight.size(0) == bias.size(0) && weight.size(1) == bias.size(0),
      "{}: weight must be [K, K] and bias [K]",
      name());
  w_ = weight.to(torch::kFloat64).clone();
  b_ = bias.to(torch::kFloat64).clone();
  load_parameters(parameters(), b_.size(0));
}

torch::Tensor LinearCalibrator::features(const torch::Tensor& logits) const {
  return input_ == Input::Logits ? logits : torch::log_softmax(logits, 1);
}

FitReport LinearCalibrator::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  check(lambda_ >= 0 && mu_ >= 0, "{}: ODIR λ and μ must be ≥ 0, got {} and {}", name(), lambda_, mu_);
  const int64_t k = logits.size(1);
  const double t = fit_temperature(logits, labels).temperature;
  const auto x = features(logits);
  auto w = (torch::eye(k, torch::kFloat64) / t).requires_grad_(true);
  auto b = torch::zeros({k}, torch::kFloat64).requires_grad_(true);
  const auto off_diagonal = 1.0 - torch::eye(k, torch::kFloat64);
  const double lambda = lambda_ / double(k * (k - 1)), mu = mu_ / double(k);
  // Softmax ignores adding one vector u to every row of W (and one constant to b): q is the same, only the penalty
  // changes. Both are set to their penalty-minimising values (u_j = −mean_{i≠j} W_ij, c = −mean b), so the
  // objective is the ODIR problem's minimum over each such class — the same optimum, with the directions along which
  // only the weak penalty acts (curvature λ/(K(K−1))) made exactly flat, where L-BFGS otherwise stalls.
  auto canonical = [&](const torch::Tensor& w, const torch::Tensor& b) {
    const auto u = -((w * off_diagonal).sum(0) / double(k - 1));
    return std::make_pair(w + u.unsqueeze(0), b - b.mean());
  };
  auto report = detail::minimise_lbfgs(
      {w, b},
      [&] {
        const auto [wc, bc] = canonical(w, b);
        auto nll = torch::nll_loss(torch::log_softmax(torch::addmm(bc, x, wc.t()), 1), labels);
        return nll + lambda * (wc * wc * off_diagonal).sum() + mu * (bc * bc).sum();
      },
      tolerance_,
      max_iterations_);
  torch::NoGradGuard no_grad;
  const auto [wc, bc] = canonical(w.detach(), b.detach());
  w_ = wc.clone();
  b_ = bc.clone();
  return report;
}

torch::Tensor LinearCalibrator::log_probs_impl(const torch::Tensor& logits) const {
  return torch::log_softmax(torch::addmm(b_, features(logits), w_.t()), 1);
}

nlohmann::json LinearCalibrator::parameters() const {
  return {{"weight", detail::to_vector(w_)}, {"bias", detail::to_vector(b_)}, {"lambda", lambda_}, {"mu", mu_}};
}

void LinearCalibrator::set_parameters(const nlohmann::json& parameters, int64_t classes) {
  w_ = detail::tensor_from_json(parameters, "weight", {classes, classes});
  b_ = detail::tensor_from_json(parameters, "bias", {classes});
  lambda_ = parameters.value("lambda", lambda_);
  mu_ = parameters.value("mu", mu_);
}

} // namespace smoothlab::calib
