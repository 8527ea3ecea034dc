// A linear probe of frozen penultimate features (Kornblith, Shlens & Le, CVPR 2019; Kornblith et al., NeurIPS 2021):
// L2-regularised multinomial logistic regression, the regularisation chosen on a validation split, accuracy on test.
//
// Features are standardised by the training features' mean and population standard deviation (sklearn's
// StandardScaler; a constant feature is divided by 1). Each λ of the grid fits W [K, D], b [K] minimising
//   (1/N) Σ_i −log softmax(W x_i + b)_{y_i} + (λ/2) ‖W‖²_F          (the bias is not penalised)
// — sklearn's LogisticRegression(multi_class="multinomial", C = 1/(λN)) — by L-BFGS in float64 to max |∇| ≤ 1e-8
// (calib/lbfgs.h), from the largest λ of the grid down, each fit warm-started from the one before. λ is the one with
// the highest validation accuracy (ties: the larger λ); the probe fitted on the training split at that λ is evaluated
// on test (no refit on training + validation).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::represent {

struct ProbeFit {
  torch::Tensor weight, bias; // float64 [K, D], [K], on standardised features
  torch::Tensor mean, std; // float64 [D]: the standardisation
  double l2 = 0;
  bool converged = false;
  int64_t evaluations = 0;
  double gradient_norm = 0; // max |∇| at the returned parameters
};

// features [N, D] (any float dtype), labels [N] in [0, classes). Starts from `start`'s weights when given (a warm
// start along a λ path; the optimum does not depend on it), else from zero. Throws Error on shapes, labels or
// classes < 2.
ProbeFit fit_probe(
    const torch::Tensor& features,
    const torch::Tensor& labels,
    int64_t classes,
    double l2,
    const ProbeFit* start = nullptr);
torch::Tensor probe_logits(const ProbeFit& probe, const torch::Tensor& features); // float64 [N, K]

struct LinearProbe {
  std::vector<double> l2_grid, val_accuracy; // per λ
  ProbeFit fit; // at the chosen λ
  std::vector<uint8_t> test_correct; // per test example
  double test_accuracy = 0;
};
inline const std::vector<double> kProbeL2Grid = {1e-4, 1e-3, 1e-2, 1e-1, 1};

LinearProbe linear_probe(
    const torch::Tensor& train_features,
    const torch::Tensor& train_labels,
    const torch::Tensor& val_features,
    const torch::Tensor& val_labels,
    const torch::Tensor& test_features,
    const torch::Tensor& test_labels,
    int64_t classes,
    const std::vector<double>& l2_grid = kProbeL2Grid);

nlohmann::json to_json(const LinearProbe& probe); // λ grid, validation accuracies, λ, test accuracy, convergence

} // namespace smoothlab::represent
