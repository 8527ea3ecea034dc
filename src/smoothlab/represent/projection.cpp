// Plane through three class templates and projection of activations onto it ([M] §2). See projection.h.
#include "smoothlab/represent/projection.h"

#include <algorithm>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::represent {

torch::Tensor augment_features(const torch::Tensor& features) {
  check(
      features.defined() && features.dim() == 2,
      "features: expected a [N, D] tensor, got {} dimensions",
      features.defined() ? features.dim() : 0);
  auto x = features.to(torch::kCPU, torch::kFloat64);
  return torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);
}

torch::Tensor class_templates(const torch::Tensor& weight, const torch::Tensor& bias) {
  check(
      weight.defined() && weight.dim() == 2,
      "last layer: expected a weight [K, D], got {} dimensions",
      weight.defined() ? weight.dim() : 0);
  auto w = weight.to(torch::kCPU, torch::kFloat64);
  torch::Tensor b =
      bias.defined() ? bias.to(torch::kCPU, torch::kFloat64).reshape({-1}) : torch::zeros({w.size(0)}, w.options());
  check(b.size(0) == w.size(0), "last layer: bias has {} entries but weight has {} rows", b.size(0), w.size(0));
  return torch::cat({w, b.unsqueeze(1)}, 1);
}

Plane template_plane(const torch::Tensor& w_a, const torch::Tensor& w_b, const torch::Tensor& w_c) {
  auto a = w_a.to(torch::kCPU, torch::kFloat64).reshape({-1});
  auto b = w_b.to(torch::kCPU, torch::kFloat64).reshape({-1});
  auto c = w_c.to(torch::kCPU, torch::kFloat64).reshape({-1});
  check(
      a.size(0) == b.size(0) && b.size(0) == c.size(0),
      "templates: lengths differ ({}, {}, {})",
      a.size(0),
      b.size(0),
      c.size(0));
  check(a.size(0) >= 2, "templates: need at least 2 dimensions to span a plane, got {}", a.size(0));
  const auto u = b - a, v = c - a;
  const double u_norm = u.norm().item<double>(), v_norm = v.norm().item<double>();
  const double scale = std::max({u_norm, v_norm, a.norm().item<double>(), 1e-300});
  if (!(u_norm > 1e-12 * scale))
    throw Error(
        "templates: the first two classes have identical templates; no plane through them is defined",
        "pick three classes whose last-layer rows differ");
  const auto e1 = u / u_norm;
  // Gram–Schmidt, twice for stability ("twice is enough").
  auto r = v - v.dot(e1) * e1;
  r = r - r.dot(e1) * e1;
  const double r_norm = r.norm().item<double>();
  if (!(r_norm > 1e-10 * std::max(u_norm, v_norm)))
    throw Error(
        "templates: the three class templates are collinear; no plane through them is defined",
        "pick three classes whose last-layer rows are not on one line");
  const auto e2 = r / r_norm;
  Plane plane;
  plane.origin = (a + b + c) / 3.0;
  plane.axes = torch::stack({e1, e2});
  plane.vertices = project(plane, torch::stack({a, b, c}));
  return plane;
}

Plane template_plane(const torch::Tensor& templates, const std::array<int64_t, 3>& classes) {
  check(
      templates.defined() && templates.dim() == 2,
      "templates: expected [K, D'], got {} dimensions",
      templates.defined() ? templates.dim() : 0);
  const int64_t k = templates.size(0);
  for (size_t i = 0; i < 3; ++i) {
    check(
        classes[i] >= 0 && classes[i] < k, "classes: index {} out of range (the model has {} classes)", classes[i], k);
    for (size_t j = 0; j < i; ++j)
      check(
          classes[i] != classes[j], "classes: class {} is given twice; three different classes are needed", classes[i]);
  }
  return template_plane(templates[classes[0]], templates[classes[1]], templates[classes[2]]);
}

torch::Tensor project(const Plane& plane, const torch::Tensor& points) {
  auto x = points.to(torch::kCPU, torch::kFloat64);
  if (x.dim() == 1)
    x = x.unsqueeze(0);
  check(
      x.dim() == 2 && x.size(1) == plane.origin.size(0),
      "projection: points have {} features but the templates have {} (are the features bias-augmented?)",
      x.dim() == 2 ? x.size(1) : -1,
      plane.origin.size(0));
  return torch::matmul(x - plane.origin, plane.axes.t());
}

torch::Tensor select_examples(
    const torch::Tensor& labels,
    const std::array<int64_t, 3>& classes,
    int64_t per_class,
    uint64_t seed) {
  return select_examples_of(labels, std::vector<int64_t>(classes.begin(), classes.end()), per_class, seed);
}

torch::Tensor select_examples_of(
    const torch::Tensor& labels,
    const std::vector<int64_t>& classes,
    int64_t per_class,
    uint64_t seed) {
  check(per_class > 0, "--per-class: must be positive, got {}", per_class);
  auto l = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t n = l.numel();
  const int64_t* label = l.data_ptr<int64_t>();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    // Uniform in [0, i] by rejection, so the permutation does not depend on the standard library.
    const uint64_t range = uint64_t(i) + 1, limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t draw;
    do
      draw = rng();
    while (draw >= limit);
    std::swap(order[i], order[int64_t(draw % range)]);
  }
  std::vector<int64_t> out;
  for (int64_t cls : classes) {
    int64_t taken = 0;
    for (int64_t i = 0; i < n && taken < per_class; ++i)
      if (label[order[i]] == cls) {
        out.push_back(order[i]);
        ++taken;
      }
  }
  return torch::tensor(out, torch::kInt64);
}

} // namespace smoothlab::represent
