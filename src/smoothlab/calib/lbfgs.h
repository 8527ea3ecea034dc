// The iterative solver of the parametric calibrators (vector, matrix, Dirichlet, ETS weights): LibTorch's L-BFGS with
// the strong-Wolfe line search, in float64, stopped when max |gradient| ≤ tolerance (converged) or after
// max_evaluations objective evaluations (not converged). The gradient is re-evaluated at the returned parameters, so
// FitReport::gradient_norm is the stopping rule's actual value, not the solver's last estimate.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "smoothlab/calib/calibrator.h"

namespace smoothlab::calib::detail {

// objective(params) → scalar float64 tensor with autograd history to params. params: leaf tensors with
// requires_grad(true); updated in place.
FitReport minimise_lbfgs(
    std::vector<torch::Tensor> params,
    const std::function<torch::Tensor()>& objective,
    double tolerance,
    int64_t max_evaluations);

// The same solver for an objective with a hand-written gradient (no autograd graph, no per-evaluation tensor ops):
// value_and_gradient(gradients) returns the objective at the current params and writes ∂objective/∂params into
// gradients, float64 contiguous tensors shaped like params (overwritten, not accumulated). params: float64
// contiguous CPU tensors; updated in place.
using ValueAndGradient = std::function<double(std::vector<torch::Tensor>& gradients)>;
FitReport minimise_lbfgs(
    std::vector<torch::Tensor> params,
    const ValueAndGradient& value_and_gradient,
    double tolerance,
    int64_t max_evaluations);

} // namespace smoothlab::calib::detail
