// NC1 and NC2 of penultimate features (neural_collapse.h).
#include "smoothlab/represent/neural_collapse.h"

#include <ATen/ATen.h>

#include "smoothlab/core/error.h"

namespace smoothlab::represent {

NeuralCollapse neural_collapse(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes) {
  check(classes >= 2, "neural collapse needs at least two classes, got {}", classes);
  check(
      features.dim() == 2 && labels.dim() == 1 && features.size(0) == labels.size(0),
      "neural collapse: features [N, D] and labels [N] expected");
  const auto h = features.to(torch::kFloat64).contiguous();
  const auto y = labels.to(torch::kInt64).contiguous();
  const int64_t n = h.size(0), d = h.size(1);
  check(
      n > 0 && y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < classes,
      "neural collapse: labels outside [0, {})",
      classes);
  const auto counts = torch::bincount(y, {}, classes).to(torch::kFloat64);
  for (int64_t c = 0; c < classes; ++c)
    if (counts[c].item<double>() == 0)
      throw Error(fmt::format("neural collapse: class {} has no example", c));
  const auto means = torch::zeros({classes, d}, h.options()).index_add_(0, y, h) / counts.unsqueeze(1);
  const auto m = means - means.mean(0, true); // [K, D] rows m_c
  const auto centred = h - means.index_select(0, y); // [N, D]
  const auto gram = m.matmul(m.t()) / double(classes);
  const auto [eigenvalues, eigenvectors] = at::linalg_eigh(gram, "L");
  const double top = eigenvalues.max().item<double>();
  double trace = 0;
  for (int64_t j = 0; j < classes; ++j) {
    const double lambda = eigenvalues[j].item<double>();
    if (!(lambda > 1e-10 * top))
      continue;
    const auto u = m.t().matmul(eigenvectors.select(1, j)) / std::sqrt(double(classes) * lambda); // unit, [D]
    trace += centred.matmul(u).pow(2).mean().item<double>() / lambda; // u Σ_W uᵀ / λ
  }
  NeuralCollapse out;
  out.count = n;
  out.classes = classes;
  out.dim = d;
  out.nc1 = trace / double(classes);
  const auto norms = m.norm(2, 1);
  out.nc2_equinorm = (norms.std(false) / norms.mean()).item<double>();
  const auto unit = m / norms.unsqueeze(1);
  const auto cosines = unit.matmul(unit.t()) + 1.0 / double(classes - 1);
  const auto off = cosines.abs() * (1 - torch::eye(classes, h.options()));
  out.nc2_equiangular = (off.sum() / double(classes * (classes - 1))).item<double>();
  return out;
}

nlohmann::json to_json(const NeuralCollapse& nc) {
  return {
      {"nc1", nc.nc1},
      {"nc2_equinorm", nc.nc2_equinorm},
      {"nc2_equiangular", nc.nc2_equiangular},
      {"count", nc.count},
      {"classes", nc.classes},
      {"dim", nc.dim}};
}

} // namespace smoothlab::represent
