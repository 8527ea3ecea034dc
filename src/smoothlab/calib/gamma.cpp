// Equivalent smoothing γ of a teacher's softened predictions (see gamma.h).
#include "smoothlab/calib/gamma.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {

double equivalent_smoothing(const torch::Tensor& logits, const torch::Tensor& labels, double temperature) {
  if (!(temperature > 0 && std::isfinite(temperature)))
    throw Error(fmt::format("--temperature must be positive, got {}", temperature));
  check(
      logits.dim() == 2 && logits.size(1) >= 2,
      "equivalent smoothing: logits must be [N, K] with K >= 2, got {}",
      c10::str(logits.sizes()));
  check(
      labels.dim() == 1 && labels.size(0) == logits.size(0),
      "equivalent smoothing: labels must be [N] = [{}], got {}",
      logits.size(0),
      c10::str(labels.sizes()));
  check(logits.size(0) > 0, "equivalent smoothing: no examples");
  const int64_t K = logits.size(1);
  auto y = labels.to(torch::kCPU, torch::kInt64);
  check(
      y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < K,
      "equivalent smoothing: labels must be in [0, {}), got [{}, {}]",
      K,
      y.min().item<int64_t>(),
      y.max().item<int64_t>());
  auto log_p = torch::log_softmax(logits.detach().to(torch::kCPU, torch::kFloat64) / temperature, 1);
  // Σ_{k≠y} p_k summed directly (not 1 − p_y): exact even when the teacher is nearly one-hot.
  auto is_true = torch::zeros_like(log_p, torch::kBool).scatter_(1, y.unsqueeze(1), true);
  auto wrong_mass = log_p.exp().masked_fill(is_true, 0.0).sum(1);
  return wrong_mass.mean().item<double>() * double(K) / double(K - 1);
}

} // namespace smoothlab::calib
