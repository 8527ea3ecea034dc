// NC1 and NC2 of penultimate features (neural_collapse.h).
#include "smoothlab/represent/neural_collapse.h"

#include <ATen/ATen.h>
#include <ATen/TensorIndexing.h>

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
  if ((counts == 0).any().item<bool>())
    throw Error(
        fmt::format("neural collapse: class {} has no example", (counts == 0).nonzero().flatten()[0].item<int64_t>()));
  const auto means = torch::zeros({classes, d}, h.options()).index_add_(0, y, h) / counts.unsqueeze(1);
  const auto m = means - means.mean(0, true); // [K, D] rows m_c
  const auto centred = h - means.index_select(0, y); // [N, D]
  const auto gram = m.matmul(m.t()) / double(classes);
  const auto [eigenvalues, eigenvectors] = at::linalg_eigh(gram, "L");
  // Keep the eigenpairs above the tolerance; u_j = Mᵀ v_j / √(K λ_j), and u_jᵀ Σ_W u_j / λ_j = ‖centred·u_j‖²/(N λ_j):
  // one matmul with the columns u_j / √λ_j = Mᵀ v_j / (√K λ_j).
  const auto kept = eigenvalues > 1e-10 * eigenvalues.max().item<double>();
  const auto lambda = eigenvalues.index({kept});
  const auto scaled =
      m.t().matmul(eigenvectors.index({at::indexing::Slice(), kept})) / (std::sqrt(double(classes)) * lambda);
  const double trace = centred.matmul(scaled).pow(2).sum().item<double>() / double(n);
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
