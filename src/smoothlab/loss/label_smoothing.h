// Label-smoothed cross-entropy ([S] §7, [M] §1.1), with PyTorch's exact semantics.
//
//   q_k = (1 − ε)·[k = y] + ε/K            (ε spread over ALL K classes)
//   loss = −Σ_k q_k log p_k = logsumexp(z) − (1 − ε)·z_y − (ε/K)·Σ_k z_k
//
// Class weights w: loss_i = (1 − ε)·w_y·(−log p_y) + (ε/K)·Σ_k w_k·(−log p_k); `mean` divides by Σ_i w_{y_i}
// over non-ignored samples; ignore_index samples contribute 0. Probability targets t: the target becomes
// (1 − ε)·t + ε/K and `mean` divides by N. Inputs [N, C] or [N, C, d1, ...] (class dimension 1).
#pragma once

#include <torch/arg.h>
#include <torch/types.h>

namespace smoothlab::loss {

enum class Reduction { None, Mean, Sum };

// Which implementation computes the loss: ours, or LibTorch's composite cross_entropy(..., label_smoothing).
enum class Implementation { Fused, LibTorch };

struct LabelSmoothingOptions {
  TORCH_ARG(double, smoothing) = 0.0;
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
  TORCH_ARG(torch::Tensor, weight) = {};       // [C] float, optional
  TORCH_ARG(int64_t, ignore_index) = -100;     // class-index targets only
  TORCH_ARG(Implementation, implementation) = Implementation::Fused;
};

// logits: [N, C] or [N, C, d1, ...] float; target: int64 class indices [N] / [N, d1, ...], or float
// probabilities of the logits' shape. Returns a scalar, or the per-element losses for Reduction::None.
torch::Tensor label_smoothing_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                            const LabelSmoothingOptions& options = {});

// LibTorch's own composite, torch::nn::functional::cross_entropy(..., label_smoothing): the reference path.
torch::Tensor libtorch_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                     const LabelSmoothingOptions& options);

Implementation parse_implementation(const std::string& name);  // "fused" | "libtorch"
const char* implementation_name(Implementation impl);

}  // namespace smoothlab::loss
