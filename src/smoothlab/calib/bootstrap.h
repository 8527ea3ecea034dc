// Bootstrap confidence interval for the ECE (percentile method, Efron & Tibshirani ch. 13).
// Draws `replicates` resamples of the n (confidence, correct) pairs with replacement, computes the ECE of
// each under the same binning (equal-mass edges are recomputed per resample), and returns the
// ((1 − level)/2, (1 + level)/2) quantiles (linear interpolation) and the replicates' standard deviation.
// Seeded (std::mt19937_64), so the same seed gives the same interval. Cost O(replicates · n).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>

#include "smoothlab/calib/ece.h"

namespace smoothlab::calib {

struct BootstrapOptions {
  TORCH_ARG(int64_t, replicates) = 1000;
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(double, level) = 0.95;
  TORCH_ARG(int64_t, bins) = 15;
  TORCH_ARG(Binning, binning) = Binning::EqualWidth;

 public:
  // Throws Error naming the option as the CLI spells it (--bootstrap, --bins); bootstrap_ece calls it.
  void validate() const;
};

struct BootstrapInterval {
  double estimate = 0; // ECE of the full sample
  double low = 0, high = 0, standard_error = 0;
  double level = 0.95;
  int64_t replicates = 0;
  uint64_t seed = 0;
};

BootstrapInterval bootstrap_ece(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    const BootstrapOptions& options = {});

nlohmann::json to_json(const BootstrapInterval& ci);

// The q-quantile of sorted values (linear interpolation between order statistics); the percentile method's endpoint.
double sorted_quantile(const std::vector<double>& sorted, double q);

} // namespace smoothlab::calib
