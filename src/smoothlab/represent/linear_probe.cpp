// The linear probe: standardised features, L2 multinomial logistic regression, λ by validation accuracy
// (linear_probe.h).
#include "smoothlab/represent/linear_probe.h"

#include <algorithm>
#include <numeric>

#include <torch/torch.h>

#include "smoothlab/calib/lbfgs.h"
#include "smoothlab/core/error.h"

namespace smoothlab::represent {

namespace {

void check_set(const torch::Tensor& f, const torch::Tensor& y, int64_t classes, const char* what) {
  check(f.dim() == 2 && y.dim() == 1 && f.size(0) == y.size(0), "linear probe: {} features and labels disagree", what);
  check(f.size(0) > 0, "linear probe: no {} examples", what);
  const auto lo = y.min().item<int64_t>(), hi = y.max().item<int64_t>();
  check(lo >= 0 && hi < classes, "linear probe: {} labels outside [0, {})", what, classes);
}

torch::Tensor standardised(const ProbeFit& p, const torch::Tensor& f) {
  return (f.to(torch::kFloat64) - p.mean) / p.std;
}

} // namespace

ProbeFit fit_probe(
    const torch::Tensor& features,
    const torch::Tensor& labels,
    int64_t classes,
    double l2,
    const ProbeFit* start) {
  check(classes >= 2, "linear probe: needs at least 2 classes, got {}", classes);
  check(l2 >= 0, "linear probe: λ must be non-negative, got {}", l2);
  check_set(features, labels, classes, "training");
  ProbeFit p;
  const auto x64 = features.to(torch::kFloat64);
  p.mean = x64.mean(0);
  p.std = x64.std(0, /*unbiased=*/false);
  p.std = torch::where(p.std > 0, p.std, torch::ones_like(p.std));
  p.l2 = l2;
  const auto x = standardised(p, x64);
  const auto y = labels.to(torch::kInt64);
  const bool warm =
      start && start->weight.defined() && start->weight.size(0) == classes && start->weight.size(1) == x.size(1);
  auto w = warm ? start->weight.clone().contiguous() : torch::zeros({classes, x.size(1)}, torch::kFloat64);
  auto b = warm ? start->bias.clone().contiguous() : torch::zeros({classes}, torch::kFloat64);
  // The solver minimises N × the objective (its gradient by hand: (P − Y)ᵀ X + NλW and Σ (P − Y)), so that its
  // absolute stopping rule on the objective's change does not end it before the gradient rule:
  // max |∇ mean objective| ≤ 1e-8.
  const double n = double(x.size(0));
  const auto onehot = torch::zeros({x.size(0), classes}, torch::kFloat64).scatter_(1, y.unsqueeze(1), 1.0);
  const auto report = calib::detail::minimise_lbfgs(
      {w, b},
      [&](std::vector<torch::Tensor>& grad) {
        const auto z = torch::addmm(b, x, w.t());
        const auto lse = z.logsumexp(1, /*keepdim=*/true);
        const auto residual = (z - lse).exp_() - onehot; // P − Y
        grad[0].copy_(torch::mm(residual.t(), x).add_(w, n * l2));
        grad[1].copy_(residual.sum(0));
        return (lse.sum() - (z * onehot).sum()).item<double>() + 0.5 * n * l2 * w.pow(2).sum().item<double>();
      },
      1e-8 * n,
      5000);
  p.weight = w;
  p.bias = b;
  p.converged = report.converged;
  p.evaluations = report.iterations;
  p.gradient_norm = report.gradient_norm / n;
  return p;
}

torch::Tensor probe_logits(const ProbeFit& p, const torch::Tensor& features) {
  check(
      features.dim() == 2 && features.size(1) == p.weight.size(1),
      "linear probe: features of width {} for a probe of width {}",
      features.dim() == 2 ? features.size(1) : -1,
      p.weight.size(1));
  return torch::addmm(p.bias, standardised(p, features), p.weight.t());
}

LinearProbe linear_probe(
    const torch::Tensor& train_features,
    const torch::Tensor& train_labels,
    const torch::Tensor& val_features,
    const torch::Tensor& val_labels,
    const torch::Tensor& test_features,
    const torch::Tensor& test_labels,
    int64_t classes,
    const std::vector<double>& l2_grid) {
  check(!l2_grid.empty(), "linear probe: empty λ grid");
  check_set(val_features, val_labels, classes, "validation");
  check_set(test_features, test_labels, classes, "test");
  LinearProbe out;
  out.l2_grid = l2_grid;
  out.val_accuracy.assign(l2_grid.size(), 0.0);
  // From the strongest λ down, each fit starting from the one before (the optimum moves smoothly with λ); the highest
  // validation accuracy wins, ties going to the larger λ.
  std::vector<size_t> order(l2_grid.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l2_grid[a] > l2_grid[b]; });
  ProbeFit previous;
  double best = -1;
  for (size_t i : order) {
    auto fit = fit_probe(train_features, train_labels, classes, l2_grid[i], &previous);
    const double acc = probe_logits(fit, val_features)
                           .argmax(1)
                           .eq(val_labels.to(torch::kInt64))
                           .to(torch::kFloat64)
                           .mean()
                           .item<double>();
    out.val_accuracy[i] = acc;
    if (acc > best) {
      best = acc;
      out.fit = fit;
    }
    previous = std::move(fit);
  }
  const auto correct =
      probe_logits(out.fit, test_features).argmax(1).eq(test_labels.to(torch::kInt64)).to(torch::kUInt8);
  out.test_correct.assign(correct.data_ptr<uint8_t>(), correct.data_ptr<uint8_t>() + correct.numel());
  out.test_accuracy = correct.to(torch::kFloat64).mean().item<double>();
  return out;
}

nlohmann::json to_json(const LinearProbe& p) {
  return {
      {"l2_grid", p.l2_grid},
      {"val_accuracy", p.val_accuracy},
      {"l2", p.fit.l2},
      {"test_accuracy", p.test_accuracy},
      {"test_count", p.test_correct.size()},
      {"converged", p.fit.converged},
      {"evaluations", p.fit.evaluations},
      {"gradient_norm", p.fit.gradient_norm}};
}

} // namespace smoothlab::represent
