// Top-label binned calibration errors ([G] §2, [M] §3): reliability bins, ECE, MCE and RMS calibration error,
// with equal-width or equal-mass (adaptive) bins.
//
// Equal-width bins (Guo et al.'s definition): bin m = 1..M holds confidences in I_m = ((m−1)/M, m/M].
// Edge rules, exactly: a confidence equal to m/M (the float64 value of m/M) goes to bin m, the LOWER of the two
// bins meeting there; confidence 0 goes to bin 1 (a softmax never yields it, but probabilities may);
// confidence 1 goes to bin M; confidences outside [0, 1] are clamped into bins 1 and M.
// Equal-mass bins: sort by confidence (ties by input order); the sample of rank r (0-based) goes to bin
// floor(r·M/n), so every bin holds ⌊n/M⌋ or ⌈n/M⌉ samples; a run of equal confidences may be split.
//
//   acc(B) = (1/|B|) Σ_{i∈B} [ŷ_i = y_i],  conf(B) = (1/|B|) Σ_{i∈B} p̂_i
//   ECE = Σ_m (|B_m|/n)·|acc(B_m) − conf(B_m)|
//   MCE = max over non-empty bins |acc(B_m) − conf(B_m)|
//   RMS = sqrt(Σ_m (|B_m|/n)·(acc(B_m) − conf(B_m))²)     (the L2 calibration error)
// All are 0 for n = 0. Cost: O(n) for equal-width, O(n log n) for equal-mass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smoothlab::calib {

enum class Binning { EqualWidth, EqualMass };

// "equal-width" | "equal-mass" (also "width", "mass", "adaptive" and Python's "equal_width", "equal_mass"); any other
// name is an Error naming `option` (when given), with the known names in its hint.
Binning parse_binning(const std::string& name, const std::string& option = "");
const char* binning_name(Binning binning);

// Per-bin sums of a top-label reliability diagram. lower/upper: the bin's interval (equal-width), or the
// smallest/largest confidence in it (equal-mass; both 0 for an empty bin).
struct ReliabilityBins {
  Binning binning = Binning::EqualWidth;
  std::vector<double> lower, upper;
  std::vector<double> count, confidence_sum, correct_sum;
  int64_t total = 0;

  size_t size() const {
    return count.size();
  }
  double confidence(size_t b) const {
    return count[b] > 0 ? confidence_sum[b] / count[b] : 0.0;
  }
  double accuracy(size_t b) const {
    return count[b] > 0 ? correct_sum[b] / count[b] : 0.0;
  }
};

// confidence: [n] in [0, 1]; correct: [n] 0/1; bins ≥ 1.
ReliabilityBins equal_width_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins);
// The equal-width bins of a resample without building it: float32 confidences, example i counted weights[i] times
// (bootstrap multiplicities; nullptr: once each); total is Σ weights.
ReliabilityBins weighted_equal_width_bins(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    const uint32_t* weights);
ReliabilityBins equal_mass_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins);
ReliabilityBins make_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    Binning binning);

struct BinnedErrors {
  double ece = 0, mce = 0, rms = 0;
};
BinnedErrors binned_errors(const ReliabilityBins& bins);

// The 0-based equal-width bin of one confidence under the edge rules above.
int64_t equal_width_bin_index(double confidence, int64_t bins);

} // namespace smoothlab::calib
