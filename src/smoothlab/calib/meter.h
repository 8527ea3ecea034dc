// A streaming calibration meter (flashlight-style add / value / reset): every metric of [G] §2 and [M] §3
// from batches of logits, in one fused pass per batch. The same code path serves training-time validation,
// `smoothlab eval` and `smoothlab calibrate`.
//
// For logits z_i [K], label y_i, temperature T (softmax(z/T); T = 1 leaves the logits as they are):
//   p_i = softmax(z_i / T),  p̂_i = max_k p_ik,  ŷ_i = argmax_k z_ik (ties: lowest index)
//   accuracy = mean [ŷ_i = y_i]            NLL   = mean −log p_iy
//   Brier    = mean Σ_k (p_ik − [k = y_i])²  (multi-class Brier score, range [0, 2])
//   ECE, MCE, RMS: top-label binned errors (ece.h), over the chosen binning;
//   ece_equal_width / ece_equal_mass: ECE under both binnings, whatever the choice;
//   classwise ECE (Kull et al. 2019): (1/K) Σ_k Σ_m (|B_km|/n)·|freq(B_km) − conf(B_km)|, B_km the samples
//   whose p_ik lies in equal-width bin m, freq the fraction of them with y_i = k, conf their mean p_ik.
//   Top-label estimators beside the binned ECE (of (p̂_i, [ŷ_i = y_i])): smooth ECE and its bandwidth (smooth_ece.h,
//   as relplot computes it), the KS error, Kumar et al.'s debiased squared calibration error and its L2 root, and
//   netcal's "ACE" (the unweighted mean over non-empty equal-width bins — not the adaptive ECE, which is
//   ece_equal_mass) (estimators.h).
//   Selective classification by p̂_i (selective.h): AURC, E-AURC (exact oracle) and AUGRC, ties averaged.
//   Their class-wise variants (of (p_ik, [y_i = k]) for each class k, averaged over the K classes): smECE (each class
//   at its own bandwidth), KS, and the debiased squared error with its L2 form as Kumar et al.'s
//   get_calibration_error(mode="marginal") computes it: sqrt(mean_k max(squared_k, 0)). They need every p_ik, so the
//   meter keeps the probabilities (float32) while K ≤ kClasswiseEstimatorMaxClasses and N·K ≤
//   kClasswiseEstimatorMaxValues; beyond, or with classwise(false), they are NaN.
// Probabilities are computed in float32 (vectorised exp, relative error ~1e-7) and accumulated in float64.
// add() is not thread-safe; it parallelises internally over rows (torch::set_num_threads).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/kernels.h"

namespace smoothlab::calib {

// Bounds of the class-wise estimators: each class costs a smooth ECE (about 25 ms); the probabilities 4·N·K bytes.
inline constexpr int64_t kClasswiseEstimatorMaxClasses = 100;
inline constexpr int64_t kClasswiseEstimatorMaxValues = int64_t(1) << 24;

struct MeterOptions {
  TORCH_ARG(int64_t, bins) = 15;
  TORCH_ARG(Binning, binning) = Binning::EqualWidth;
  TORCH_ARG(double, temperature) = 1.0; // metrics of softmax(z / T)
  TORCH_ARG(bool, classwise) = true; // class-wise ECE (K·M·3 doubles of state) and estimators (see above)

 public:
  // Throws Error naming the option as the CLI spells it (--bins); CalibrationMeter's constructor calls it.
  void validate() const;
};

struct CalibrationMetrics {
  int64_t count = 0, classes = 0, bins = 15;
  Binning binning = Binning::EqualWidth;
  double temperature = 1.0;
  double accuracy = 0, nll = 0, brier = 0, mean_confidence = 0;
  double ece = 0, mce = 0, rms = 0; // under `binning`
  double ece_equal_width = 0, ece_equal_mass = 0;
  double classwise_ece = 0; // NaN when the meter was built without class-wise bins
  double smooth_ece = 0, smooth_ece_bandwidth = 0; // top-label smECE and its fixed-point σ
  double ks_error = 0; // top-label Kolmogorov–Smirnov calibration error
  double debiased_squared_ce = 0, debiased_l2_ce = 0; // Kumar et al., `bins` equal-mass bins
  double ace_netcal = 0; // netcal's bin-averaged "ACE" over `bins` equal-width bins
  double aurc = 0, e_aurc = 0, augrc = 0; // selective classification by the top-label confidence (selective.h)
  // Class-wise means (NaN when not computed, see above).
  double classwise_smooth_ece = 0, classwise_ks_error = 0;
  double classwise_debiased_squared_ce = 0, classwise_debiased_l2_ce = 0;
  ReliabilityBins reliability; // under `binning`
};

class CalibrationMeter {
 public:
  explicit CalibrationMeter(MeterOptions options = {});

  // logits: [B, K] float (any float dtype, any device; computed in float32 on the CPU); labels: [B] integer
  // in [0, K). K must stay the same across calls. Throws Error on shapes, label range, or non-finite logits.
  void add(const torch::Tensor& logits, const torch::Tensor& labels);
  CalibrationMetrics value() const;
  void reset();

  const MeterOptions& options() const {
    return options_;
  }
  // Per-sample top-label confidence and correctness, in the order added (for bootstrap and diagrams).
  const std::vector<double>& confidence() const {
    return confidence_;
  }
  const std::vector<uint8_t>& correct() const {
    return correct_;
  }

 private:
  MeterOptions options_;
  int64_t classes_ = 0;
  double nll_sum_ = 0, brier_sum_ = 0;
  std::vector<double> confidence_;
  std::vector<uint8_t> correct_;
  detail::ClasswiseHistogram classwise_;
  // For the class-wise estimators, while within their bounds: probabilities row by row, and the labels.
  bool keep_probabilities_ = false;
  std::vector<float> probabilities_;
  std::vector<int64_t> labels_;
};

// The metrics of one batch of logits: CalibrationMeter(options).add(logits, labels).value().
CalibrationMetrics calibration_metrics(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const MeterOptions& options = {});

// {"count", "classes", "temperature", "accuracy", "nll", "brier", "mean_confidence", "ece", "mce", "rms_ce",
//  "ece_equal_width", "ece_equal_mass", "classwise_ece", "smooth_ece", "smooth_ece_bandwidth", "ks_error",
//  "debiased_squared_ce", "debiased_l2_ce", "ace_netcal", "classwise_smooth_ece", "classwise_ks_error",
//  "classwise_debiased_squared_ce", "classwise_debiased_l2_ce", "bins", "binning",
//  "reliability": {"lower", "upper", "count", "confidence", "accuracy"}}
nlohmann::json to_json(const CalibrationMetrics& m, bool with_bins = true);

// The inverse of to_json (bins restored when present: sums = per-bin mean × count). Throws nlohmann::json::exception
// for a missing or mistyped field, and Error for an integer out of range or bins it cannot restore (arrays of
// different lengths, a count that is not a whole number of examples); null numbers read as NaN, and so do the
// estimators added after the first release (smooth_ece … classwise_debiased_l2_ce) when a file predates them.
CalibrationMetrics metrics_from_json(const nlohmann::json& j);

} // namespace smoothlab::calib
