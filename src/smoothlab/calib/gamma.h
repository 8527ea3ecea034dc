// The equivalent label smoothing of a model's predictions, a statistic of logits and labels ([M] §4: the x-axis of
// Fig. 5, where the model is a teacher).
//
//   γ = (1/N) Σ_i Σ_{k ≠ y_i} softmax(z_i / T)_k · K/(K − 1)  =  (1/N) Σ_i (1 − p_{y_i}(T)) · K/(K − 1)
//
// the probability mass the teacher puts on wrong classes, rescaled so that a label-smoothed target
// q = (1 − ε)·onehot + ε/K gives exactly γ = ε (its wrong-class mass is ε·(K − 1)/K). γ = 0 for one-hot
// predictions, 1 for uniform ones; it grows with T.
#pragma once

#include <torch/types.h>

namespace smoothlab::calib {

// logits: [N, K] float, K ≥ 2; labels: [N] int64 in [0, K); T > 0. Computed in float64. Throws Error for bad shapes,
// labels out of range or T ≤ 0.
double equivalent_smoothing(const torch::Tensor& logits, const torch::Tensor& labels, double temperature = 1.0);

} // namespace smoothlab::calib
