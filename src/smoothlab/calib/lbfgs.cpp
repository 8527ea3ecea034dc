// L-BFGS with the strong-Wolfe line search for the parametric calibrators, with autograd or hand-written gradients
// (lbfgs.h).
#include "smoothlab/calib/lbfgs.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

namespace smoothlab::calib::detail {
namespace {

// evaluate() leaves the objective's gradient in every param's grad() and returns its value; value() returns the
// value only.
FitReport run_lbfgs(
    std::vector<torch::Tensor>& params,
    const std::function<double()>& value,
    const std::function<double()>& evaluate,
    double tolerance,
    int64_t max_evaluations) {
  FitReport report;
  report.tolerance = tolerance;
  report.objective_before = value();
  torch::optim::LBFGS solver(
      params,
      torch::optim::LBFGSOptions(1.0)
          .max_iter(max_evaluations)
          .max_eval(max_evaluations)
          .tolerance_grad(tolerance)
          .tolerance_change(1e-15)
          .history_size(20)
          .line_search_fn(std::string("strong_wolfe")));
  int64_t evaluations = 0;
  solver.step([&] {
    ++evaluations;
    return torch::tensor(evaluate(), torch::kFloat64);
  });
  // The stopping rule's value at the returned parameters.
  report.objective_after = evaluate();
  double g = 0;
  for (auto& p : params)
    g = std::max(g, p.grad().abs().max().item<double>());
  report.gradient_norm = g;
  report.iterations = evaluations;
  report.converged = std::isfinite(g) && g <= tolerance;
  return report;
}

} // namespace

FitReport minimise_lbfgs(
    std::vector<torch::Tensor> params,
    const std::function<torch::Tensor()>& objective,
    double tolerance,
    int64_t max_evaluations) {
  return run_lbfgs(
      params,
      [&] {
        torch::NoGradGuard no_grad;
        return objective().item<double>();
      },
      [&] {
        for (auto& p : params)
          if (p.grad().defined())
            p.grad().zero_();
        auto loss = objective();
        loss.backward();
        return loss.item<double>();
      },
      tolerance,
      max_evaluations);
}

FitReport minimise_lbfgs(
    std::vector<torch::Tensor> params,
    const ValueAndGradient& value_and_gradient,
    double tolerance,
    int64_t max_evaluations) {
  std::vector<torch::Tensor> gradients;
  for (const auto& p : params)
    gradients.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
  // The solver reads each param's grad(): attached after every evaluation.
  auto evaluate = [&] {
    const double value = value_and_gradient(gradients);
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = gradients[i];
    return value;
  };
  return run_lbfgs(params, evaluate, evaluate, tolerance, max_evaluations);
}

} // namespace smoothlab::calib::detail
