// Smooth ECE (Błasiok & Nakkiran, ICLR 2024, §3–4), computed as their reference package relplot computes it
// (github:apple/ml-calibration, src/relplot/metrics.py smECE and kernels.py ReflectedGaussianKernel), so the numbers
// agree with it to rounding:
//   residuals r_i = f_i − y_i (f: confidence, y: 0/1 outcome) and ones are spread onto a grid of G = ⌊max(2000,
//   round(20/σ))/2⌋ + 1 points j/(G−1) by linear interpolation; each grid is convolved with the Gaussian φ_σ sampled
//   on the grid and reflected at 0 and 1; both are interpolated at E = max(200, round(10/σ)) evaluation points t_e;
//   with density d_e = K1(t_e) + 1e-4 and r̂_e = Kr(t_e)/d_e:
//     smECE_σ = Σ_e |r̂_e|·d_e / Σ_e d_e
//   The bandwidth is relplot's fixed point σ* = smECE_σ*: σ = 1 if smECE_1 ≥ 1, else 10 bisection steps on [0, 1]
//   keeping the upper end where σ < max(smECE_σ, 0.001) fails — the returned σ is the last such upper end.
// Cost: O(n + G·σ·G) per evaluation (the kernel is cut at 40σ, where φ underflows to 0 in float64), 12 evaluations.
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::calib {

struct SmoothEce {
  double value = 0; // smECE at the chosen bandwidth
  double bandwidth = 0; // σ*
  // The smoothed reliability curve at the E evaluation points: t, calibrated accuracy t − r̂(t), density d(t).
  std::vector<double> t, accuracy, density;
  // smooth_ece_with_band only: the pointwise `level` percentile band of the curve over `band_replicates` resamples.
  std::vector<double> lower, upper;
  int64_t band_replicates = 0;
  double band_level = 0;
  uint64_t band_seed = 0;
};

// confidence f_i ∈ [0, 1], outcome y_i ∈ {0, 1} (any real y works: smoothing is linear in it).
double smooth_ece_at(const std::vector<double>& confidence, const std::vector<double>& outcome, double sigma);
SmoothEce smooth_ece(const std::vector<double>& confidence, const std::vector<double>& outcome);
// smooth_ece and a band around its curve, as relplot's reliability diagram draws one (diagrams.py,
// prepare_rel_diagram: 200 bootstrap resamples of the pairs, each smoothed at the full sample's bandwidth σ*, the
// pointwise 2.5% and 97.5% quantiles). The curve itself is the full sample's (relplot draws the resamples' mean).
// Seeded: replicate r draws from std::mt19937_64 seeded with seed + r, so the band does not depend on the threads.
SmoothEce smooth_ece_with_band(
    const std::vector<double>& confidence,
    const std::vector<double>& outcome,
    int64_t replicates = 200,
    uint64_t seed = 0,
    double level = 0.95);

} // namespace smoothlab::calib
