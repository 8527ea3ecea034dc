// Uses the installed library: the fused loss at ε = 0.1 on a closed-form case and the calibration meter.
// Uniform logits over K classes: loss = log K for any ε; accuracy of all-zero logits is that of predicting class 0.
#include <cmath>
#include <cstdio>

#include <torch/torch.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/loss/label_smoothing.h"

int main() {
  const auto logits = torch::zeros({8, 4});
  const auto labels = torch::tensor({0, 1, 2, 3, 0, 1, 2, 3}, torch::kInt64);
  const double loss = smoothlab::loss::label_smoothing_cross_entropy(
                          logits, labels, smoothlab::loss::LabelSmoothingOptions().smoothing(0.1))
                          .item<double>();
  const auto metrics = smoothlab::calib::calibration_metrics(logits, labels);
  std::printf("loss %.6f log4 %.6f accuracy %.3f\n", loss, std::log(4.0), metrics.accuracy);
  const bool ok = std::abs(loss - std::log(4.0)) < 1e-6 && std::abs(metrics.accuracy - 0.25) < 1e-12;
  std::printf(ok ? "downstream ok\n" : "downstream WRONG\n");
  return ok ? 0 : 1;
}
