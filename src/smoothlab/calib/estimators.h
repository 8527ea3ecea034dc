// Calibration-error estimators of the top-label confidence beside the binned ECE (ece.h) and the smooth ECE
// (smooth_ece.h), each as its reference code computes it:
//   ks_error: Kolmogorov–Smirnov calibration error (Gupta et al., ICLR 2021, §4; their cal_metrics/KS.py): sort by
//     confidence, KS = max_i |(1/n) Σ_{j≤i} (f_j − y_j)|.
//   debiased_squared_ce: Kumar, Liang & Ma (NeurIPS 2019, §5) — equal-mass bins as their calibration/utils.py
//     get_equal_bins builds them (numpy.array_split of the sorted confidences into M parts, edges at midpoints between
//     parts, last edge 1, a confidence goes to the first edge ≥ it), then
//       Σ_b (n_b/n)·[(f̄_b − ȳ_b)² − ȳ_b(1 − ȳ_b)/(n_b − 1)]   (bins with n_b < 2 contribute 0)
//     an unbiased estimate of the binned squared calibration error (it can be negative); their debiased L2 error is
//     sqrt(max(·, 0)).
//   netcal_ace: netcal's "ACE" (average calibration error, Neumann et al. 2018): the unweighted mean of
//     |acc(B_m) − conf(B_m)| over the non-empty equal-width bins — an average over bins, NOT the adaptive
//     (equal-mass) ECE, which is CalibrationMetrics::ece_equal_mass.
// confidence f ∈ [0, 1], outcome y ∈ {0, 1}; all 0 for n = 0. Cost O(n log n).
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::calib {

double ks_error(const std::vector<double>& confidence, const std::vector<double>& outcome);

struct DebiasedError {
  double squared = 0; // the unbiased estimate of the squared error (may be < 0)
  double l2 = 0; // sqrt(max(squared, 0))
};
DebiasedError debiased_squared_ce(
    const std::vector<double>& confidence,
    const std::vector<double>& outcome,
    int64_t bins = 15);

double netcal_ace(const std::vector<double>& confidence, const std::vector<double>& outcome, int64_t bins = 15);

} // namespace smoothlab::calib
