// Classification and calibration metrics of logits ([G] §2, [M] §3): the short summary the trainer logs
// each epoch. A thin wrapper over CalibrationMeter (meter.h), which has every metric and the diagrams' bins.
//   confidence p̂_i = max_k softmax(z_i)_k, prediction ŷ_i = argmax_k z_i
//   ECE = Σ_m (|B_m|/n)·|acc(B_m) − conf(B_m)| over equal-width bins ((m−1)/M, m/M], M = 15
//   NLL = mean −log softmax(z_i)_{y_i};  Brier = mean Σ_k (p_ik − [k = y_i])²
#pragma once

#include <torch/types.h>

namespace smoothlab::calib {

struct Metrics {
  double accuracy = 0, nll = 0, ece = 0, brier = 0;
  int64_t count = 0;
};

// logits: [N, K] float; labels: [N] int64. bins: number of equal-width confidence bins.
Metrics compute_metrics(const torch::Tensor& logits, const torch::Tensor& labels, int64_t bins = 15);

} // namespace smoothlab::calib
