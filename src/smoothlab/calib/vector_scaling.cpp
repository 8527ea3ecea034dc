// Vector scaling: L-BFGS on (a, b) from the temperature-scaling solution (vector_scaling.h).
#include "smoothlab/calib/vector_scaling.h"

#include <torch/torch.h>

#include "smoothlab/calib/lbfgs.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

void VectorScaling::set(const torch::Tensor& scale, const torch::Tensor& bias) {
  check(scale.dim() == 1 && bias.sizes() == scale.sizes(), "vector scaling: scale and bias must both be [K]");
  a_ = scale.to(torch::kFloat64).clone();
  b_ = bias.to(torch::kFloat64).clone();
  load_parameters(parameters(), a_.size(0));
}

FitReport VectorScaling::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  const int64_t k = logits.size(1);
  const double t = fit_temperature(logits, labels).temperature;
  auto a = torch::full({k}, 1.0 / t, torch::kFloat64).requires_grad_(true);
  auto b = torch::zeros({k}, torch::kFloat64).requires_grad_(true);
  auto report = detail::minimise_lbfgs(
      {a, b},
      [&] { return torch::nll_loss(torch::log_softmax(logits * a + b, 1), labels); },
      tolerance_,
      max_iterations_);
  a_ = a.detach().clone();
  b_ = b.detach().clone();
  return report;
}

torch::Tensor VectorScaling::log_probs_impl(const torch::Tensor& logits) const {
  return torch::log_softmax(logits * a_ + b_, 1);
}

nlohmann::json VectorScaling::parameters() const {
  return {{"scale", detail::to_vector(a_)}, {"bias", detail::to_vector(b_)}};
}

void VectorScaling::set_parameters(const nlohmann::json& parameters, int64_t classes) {
  a_ = detail::tensor_from_json(parameters, "scale", {classes});
  b_ = detail::tensor_from_json(parameters, "bias", {classes});
}

} // namespace smoothlab::calib
