// Statistics of a weighted (resampled) sample; see weighted.h.
#include "smoothlab/calib/weighted.h"

#include <cmath>

#include "smoothlab/calib/ece.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

namespace {

double weight(const uint32_t* weights, size_t i) {
  return weights ? double(weights[i]) : 1.0;
}

} // namespace

double weighted_accuracy(const std::vector<uint8_t>& correct, const uint32_t* weights) {
  double hits = 0, total = 0;
  for (size_t i = 0; i < correct.size(); ++i) {
    const double w = weight(weights, i);
    hits += w * correct[i];
    total += w;
  }
  return total > 0 ? hits / total : NAN;
}

double weighted_overconfidence(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    const uint32_t* weights) {
  check(
      confidence.size() == correct.size(),
      "confidence and correctness disagree in length ({} vs {})",
      confidence.size(),
      correct.size());
  double sum = 0, total = 0;
  for (size_t i = 0; i < correct.size(); ++i) {
    const double w = weight(weights, i);
    sum += w * (double(confidence[i]) - correct[i]);
    total += w;
  }
  return total > 0 ? sum / total : NAN;
}

double weighted_ece(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    const uint32_t* weights) {
  const auto b = weighted_equal_width_bins(confidence, correct, bins, weights);
  return b.total > 0 ? binned_errors(b).ece : NAN;
}

} // namespace smoothlab::calib
