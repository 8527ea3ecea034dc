// Synchronised batch norm (PyTorch's nn.SyncBatchNorm): in training mode, while a SyncBatchNorm scope is alive, every
// batch norm of the models normalises with the mean and variance of the global batch (all ranks' examples), and its
// backward sums the statistics' gradients over the ranks, so 2 ranks × batch B compute what 1 process computes with
// batch 2B. Running statistics are updated with the global mean and the unbiased global variance, as PyTorch does.
//
// The ranks' sum comes from the caller (train/ hands in distributed::Group::all_reduce_sum), so the models do not
// depend on the communication layer. Evaluation mode, and no scope, leave batch norm as LibTorch computes it.
#pragma once

#include <functional>

#include <torch/nn/modules/batchnorm.h>
#include <torch/types.h>

namespace smoothlab::model {

// In place: the element-wise sum of t over the ranks.
using RankSum = std::function<void(const torch::Tensor& t)>;

// While alive (one at a time; it spans forward and backward), batch norm in training mode is synchronised.
class SyncBatchNorm {
 public:
  explicit SyncBatchNorm(RankSum sum);
  ~SyncBatchNorm();
  SyncBatchNorm(const SyncBatchNorm&) = delete;
  SyncBatchNorm& operator=(const SyncBatchNorm&) = delete;
};

bool sync_batch_norm_active();

// Training-mode batch norm over the global batch (the SyncBatchNorm scope's ranks). x: [N, C, ...].
torch::Tensor synced_batch_norm(
    const torch::Tensor& x,
    const torch::Tensor& weight,
    const torch::Tensor& bias,
    const torch::Tensor& running_mean,
    const torch::Tensor& running_var,
    const torch::Tensor& num_batches_tracked,
    double momentum, // < 0: the cumulative average (momentum None)
    double eps);

// bn(x), synchronised in training mode while a SyncBatchNorm scope is alive.
template <typename BatchNorm>
torch::Tensor batch_norm(BatchNorm& bn, const torch::Tensor& x) {
  if (!bn->is_training() || !sync_batch_norm_active())
    return bn(x);
  return synced_batch_norm(
      x,
      bn->weight,
      bn->bias,
      bn->running_mean,
      bn->running_var,
      bn->num_batches_tracked,
      bn->options.momentum().has_value() ? *bn->options.momentum() : -1.0,
      bn->options.eps());
}

} // namespace smoothlab::model
