// Label-smoothed cross-entropy ([S] §7, [M] §1.1), with PyTorch's exact semantics.
//
//   q_k = (1 − ε)·[k = y] + ε/K            (ε spread over ALL K classes)
//   loss = −Σ_k q_k log p_k = logsumexp(z) − (1 − ε)·z_y − (ε/K)·Σ_k z_k
//
// Class weights w: loss_i = (1 − ε)·w_y·(−log p_y) + (ε/K)·Σ_k w_k·(−log p_k); `mean` divides by Σ_i w_{y_i}
// over non-ignored samples; ignore_index samples contribute 0. Probability targets t: the target becomes
// (1 − ε)·t + ε/K and `mean` divides by N. Inputs [N, C] or [N, C, d1, ...] (class dimension 1).
//
// Two options PyTorch lacks (Implementation::Fused only):
// - wrong_class_only: ε/(K − 1) convention, q_k = (1 − ε)·[k = y] + ε·[k ≠ y]/(K − 1) — the true class keeps exactly
//   1 − ε (some papers and libraries smooth this way; PyTorch and [M] use ε/K). Class-index targets only.
// - prior π [C] (≥ 0, normalised here to sum 1): a non-uniform smoothing distribution, q_k = (1 − ε)·[k = y] + ε·π_k
//   (e.g. class frequencies); with wrong_class_only the prior is renormalised over the wrong classes,
//   q_k = ε·π_k/(1 − π_y) for k ≠ y. With soft targets q = (1 − ε)·t + ε·π. Weights multiply q_k as above, and `mean`
//   normalises exactly like PyTorch (Σ w_y, or N for soft targets).
//
// The fused implementation (fused_kernel.h) reads the logits once forward (max, log-sum-exp, z_y and the weighted sum
// of logits per row), saves only two numbers per row and writes ∂loss/∂z = scale·(p − q) once backward: no [N, C]
// temporary besides the gradient. Gradients flow to the logits and to soft targets, not to weight or prior, and the
// backward is not itself differentiable (no double backward). float32/float64 on CPU and CUDA, float16/bfloat16 with
// float32 accumulation (CUDA; CPU via a scalar path). Inside an autocast region (model/precision.h) 16-bit logits
// give a float32 loss, as autocast's float32 policy gives for PyTorch's cross_entropy; outside it the loss has the
// logits' dtype, as PyTorch's has.
#pragma once

#include <torch/arg.h>
#include <torch/types.h>

#include <string>

namespace smoothlab::loss {

enum class Reduction { None, Mean, Sum };

// Which implementation computes the loss: ours, or LibTorch's composite cross_entropy(..., label_smoothing).
enum class Implementation { Fused, LibTorch };

struct LabelSmoothingOptions {
  TORCH_ARG(double, smoothing) = 0.0;
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
  TORCH_ARG(torch::Tensor, weight) = {}; // [C] float, optional
  TORCH_ARG(int64_t, ignore_index) = -100; // class-index targets only
  TORCH_ARG(Implementation, implementation) = Implementation::Fused;
  TORCH_ARG(bool, wrong_class_only) = false; // ε/(K − 1) over the wrong classes (fused only)
  TORCH_ARG(torch::Tensor, prior) = {}; // [C] smoothing distribution, optional (fused only)

 public: // (TORCH_ARG leaves the section private)
  // Throws Error when ε is outside its range (check_smoothing). Shapes and dtypes are checked against the inputs.
  void validate() const;
};

// ε's one range, PyTorch's (F.cross_entropy's label_smoothing): [0, 1]; ε = 1 is the uniform target. Every option
// that carries ε checks it here; `option` names it in the error ("--smoothing" on the command line).
void check_smoothing(double smoothing, const std::string& option = "smoothing");

// logits: [N, C] or [N, C, d1, ...] float; target: int64 class indices [N] / [N, d1, ...], or float
// probabilities of the logits' shape. Returns a scalar, or the per-element losses for Reduction::None.
torch::Tensor label_smoothing_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options = {});

// The fused autograd function itself (what Implementation::Fused calls). Throws smoothlab::Error for bad shapes,
// dtypes, target values out of [0, C) (other than ignore_index) and inconsistent options. Thread-safe; CPU work is
// split over at::get_num_threads() threads.
torch::Tensor fused_label_smoothing_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options = {});

// LibTorch's own composite, torch::nn::functional::cross_entropy(..., label_smoothing): the reference path.
torch::Tensor libtorch_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options);

Implementation parse_implementation(const std::string& name); // "fused" | "libtorch"
const char* implementation_name(Implementation impl);

} // namespace smoothlab::loss
