#include "smoothlab/train/grad_scaler.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::train {

void GradScalerOptions::validate() const {
  check(init_scale > 0 && std::isfinite(init_scale), "init_scale must be positive and finite, got {}", init_scale);
  check(
      growth_factor > 1 && std::isfinite(growth_factor),
      "growth_factor must be greater than 1 and finite, got {}",
      growth_factor);
  check(backoff_factor > 0 && backoff_factor < 1, "backoff_factor must be in (0, 1), got {}", backoff_factor);
  check(growth_interval >= 1, "growth_interval must be at least 1, got {}", growth_interval);
}

GradScaler::GradScaler(bool enabled, GradScalerOptions options)
    : enabled_(enabled), options_(options), scale_(enabled ? options.init_scale : 1.0) {
  options_.validate();
}

torch::Tensor GradScaler::scale_loss(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_ : loss;
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  if (!enabled_)
    return true;
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  std::vector<torch::Tensor> finite;
  for (const auto& p : parameters) {
    auto g = p.grad();
    if (!g.defined())
      continue;
    g.mul_(inverse);
    finite.push_back(torch::isfinite(g).all());
  }
  // One device-to-host transfer for the whole model.
  return finite.empty() || torch::stack(finite).all().item<bool>();
}

void GradScaler::update(bool grads_finite) {
  if (!enabled_)
    return;
  if (!grads_finite) {
    scale_ *= options_.backoff_factor;
    good_steps_ = 0;
  } else if (++good_steps_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    good_steps_ = 0;
  }
}

torch::Tensor GradScaler::state() const {
  return torch::tensor({scale_, double(good_steps_)}, torch::kFloat64);
}

bool GradScaler::valid_state(const torch::Tensor& state) {
  if (!state.defined() || state.numel() != 2 || !state.is_floating_point())
    return false;
  const auto s = state.to(torch::kFloat64).contiguous();
  const double scale = s[0].item<double>(), steps = s[1].item<double>();
  return std::isfinite(scale) && scale > 0 && std::isfinite(steps) && steps >= 0 && steps == std::floor(steps);
}

void GradScaler::load_state(const torch::Tensor& state) {
  if (!valid_state(state))
    throw Error(
        "grad scaler state: expected [scale > 0, steps ≥ 0] (a damaged checkpoint)",
        "rerun training with --force to start over");
  const auto s = state.to(torch::kFloat64).contiguous();
  scale_ = s[0].item<double>();
  good_steps_ = int64_t(s[1].item<double>());
}

} // namespace smoothlab::train
