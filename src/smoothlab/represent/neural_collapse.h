// Neural collapse (Papyan, Han & Donoho, PNAS 2020) of penultimate features: how far the within-class variability has
// collapsed (NC1) and how close the class means are to a simplex equiangular tight frame (NC2). With features h_i,
// labels y_i ∈ {0, …, K−1}, class means μ_c, their mean μ_G = (1/K) Σ_c μ_c (Papyan's; the sample mean differs only
// for unbalanced classes) and m_c = μ_c − μ_G:
//   Σ_W = (1/N) Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ,   Σ_B = (1/K) Σ_c m_c m_cᵀ
//   NC1 = (1/K) tr(Σ_W Σ_B⁺)              (with the 1/K of Papyan's paper, Zhu et al. 2021 and Zhou et al. 2022; the
//                                          Papyan-colab ports omit it, rhubarbwu's neural-collapse divides by D too)
//   NC2 equinorm     = std_c ‖m_c‖ / mean_c ‖m_c‖         (population std: 0 when every mean is as far from μ_G)
//   NC2 equiangular  = mean_{c≠c'} |cos(m_c, m_c') + 1/(K−1)|   (0 for a simplex ETF)
// Σ_B⁺ is the pseudo-inverse on the span of the m_c (rank ≤ K − 1): with the eigenpairs (λ_j, v_j) of the K×K Gram
// matrix G = M Mᵀ/K (M = [m_c] as rows) above a relative tolerance 1e-10, u_j = Mᵀ v_j / √(K λ_j) and
// tr(Σ_W Σ_B⁺) = Σ_j u_jᵀ Σ_W u_j / λ_j — no D×D matrix is formed. Computed in float64.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::represent {

struct NeuralCollapse {
  double nc1 = 0, nc2_equinorm = 0, nc2_equiangular = 0;
  int64_t count = 0, classes = 0, dim = 0;
};

// features: [N, D] (any float dtype; not bias-augmented), labels: [N] integers in [0, classes). Throws Error when a
// class has no example, on shapes, or when classes < 2.
NeuralCollapse neural_collapse(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes);

nlohmann::json to_json(const NeuralCollapse& nc);

} // namespace smoothlab::represent
