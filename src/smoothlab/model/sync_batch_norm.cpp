#include "smoothlab/model/sync_batch_norm.h"

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::model {

namespace {

RankSum& active_sum() {
  static RankSum sum; // one process group per process
  return sum;
}

// Forward: the sum over ranks; backward: the sum of the gradients over ranks (every rank's loss depends on every
// rank's statistics).
struct SumOverRanks : public torch::autograd::Function<SumOverRanks> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    auto y = x.clone();
    active_sum()(y);
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext*, torch::autograd::tensor_list g) {
    auto y = g[0].contiguous().clone();
    active_sum()(y);
    return {y};
  }
};

} // namespace

SyncBatchNorm::SyncBatchNorm(RankSum sum) {
  check(!active_sum(), "only one SyncBatchNorm scope at a time");
  active_sum() = std::move(sum);
}

SyncBatchNorm::~SyncBatchNorm() {
  active_sum() = nullptr;
}

bool sync_batch_norm_active() {
  return bool(active_sum());
}

torch::Tensor synced_batch_norm(
    const torch::Tensor& input,
    const torch::Tensor& weight,
    const torch::Tensor& bias,
    const torch::Tensor& running_mean,
    const torch::Tensor& running_var,
    const torch::Tensor& num_batches_tracked,
    double momentum,
    double eps) {
  // Statistics in float32 also under autocast, as LibTorch's batch norm keeps them.
  const auto x = input.scalar_type() == torch::kFloat ? input : input.to(torch::kFloat);
  const int64_t channels = x.size(1);
  std::vector<int64_t> dims = {0}, shape = {1, channels};
  for (int64_t d = 2; d < x.dim(); ++d) {
    dims.push_back(d);
    shape.push_back(1);
  }
  const double local_count = double(x.numel() / std::max<int64_t>(1, channels));
  // Two passes, as one process computes it: the global mean, then the global mean squared deviation.
  auto sums = SumOverRanks::apply(torch::cat({x.sum(dims), torch::full({1}, local_count, x.options())}));
  const double count = sums[channels].item<double>();
  check(count > 1, "synchronised batch norm needs more than one value per channel over all ranks, got {}", count);
  const auto mean = sums.slice(0, 0, channels) / count;
  const auto centered = x - mean.view(shape);
  const auto var = SumOverRanks::apply(centered.square().sum(dims)) / count;
  auto y = centered * torch::rsqrt(var + eps).view(shape);
  if (weight.defined())
    y = y * weight.view(shape) + bias.view(shape);
  if (running_mean.defined()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    const double m = momentum >= 0 ? momentum : 1.0 / num_batches_tracked.item<double>();
    running_mean.mul_(1 - m).add_(mean.detach(), m);
    running_var.mul_(1 - m).add_(var.detach() * (count / (count - 1)), m);
  }
  return y;
}

} // namespace smoothlab::model
