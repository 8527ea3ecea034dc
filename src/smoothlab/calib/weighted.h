// Top-label statistics of a weighted sample: example i counts weights[i] times (a bootstrap resample's
// multiplicities, so a statistic of the resample is computed without building it; weights == nullptr: once each, the
// sample itself). The paired bootstrap of study/evidence.h evaluates them once per resample; the temperature refit on
// a resample is temperature.h's fit_temperature with weights.
//
//   accuracy       = Σ w_i [ŷ_i = y_i] / Σ w_i
//   overconfidence = Σ w_i (p̂_i − [ŷ_i = y_i]) / Σ w_i          (mean confidence − accuracy)
//   ECE            = binned_errors(weighted_equal_width_bins(…)).ece (ece.h's equal-width bins and edge rules)
// All are NaN when Σ w_i = 0 (an empty sample).
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::calib {

double weighted_accuracy(const std::vector<uint8_t>& correct, const uint32_t* weights);
double weighted_overconfidence(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    const uint32_t* weights);
double weighted_ece(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    const uint32_t* weights);

} // namespace smoothlab::calib
