// Reliability bins and the binned calibration errors (ECE, MCE, RMS); see ece.h for the exact rules.
#include "smoothlab/calib/ece.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/int128.h"
#include "smoothlab/core/names.h"

namespace smoothlab::calib {

namespace {
constexpr Named<Binning> kBinnings[] = {
    {Binning::EqualWidth, "equal-width"},
    {Binning::EqualMass, "equal-mass"},
    {Binning::EqualWidth, "width"},
    {Binning::EqualWidth, "equal_width"}, // Python's spelling
    {Binning::EqualMass, "mass"},
    {Binning::EqualMass, "adaptive"},
    {Binning::EqualMass, "equal_mass"},
};
} // namespace

Binning parse_binning(const std::string& name, const std::string& option) {
  return parse_named(kBinnings, name, option, "binning");
}

const char* binning_name(Binning binning) {
  return name_of(kBinnings, binning);
}

int64_t equal_width_bin_index(double confidence, int64_t bins) {
  return detail::equal_width_bin(confidence, bins);
}

namespace {

template <typename Confidence>
void check_inputs(const std::vector<Confidence>& confidence, const std::vector<uint8_t>& correct, int64_t bins) {
  check(bins >= 1, "number of bins must be at least 1, got {}", bins);
  check(
      confidence.size() == correct.size(),
      "confidence and correctness disagree in length ({} vs {})",
      confidence.size(),
      correct.size());
}

ReliabilityBins empty_bins(int64_t bins, Binning binning) {
  ReliabilityBins out;
  out.binning = binning;
  out.lower.assign(size_t(bins), 0.0);
  out.upper.assign(size_t(bins), 0.0);
  out.count.assign(size_t(bins), 0.0);
  out.confidence_sum.assign(size_t(bins), 0.0);
  out.correct_sum.assign(size_t(bins), 0.0);
  return out;
}

// Equal-width bins with example i counted weights[i] times (nullptr: once each).
template <typename Confidence>
ReliabilityBins fill_equal_width(
    const std::vector<Confidence>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    const uint32_t* weights) {
  check_inputs(confidence, correct, bins);
  auto out = empty_bins(bins, Binning::EqualWidth);
  for (int64_t b = 0; b < bins; ++b) {
    out.lower[size_t(b)] = double(b) / double(bins);
    out.upper[size_t(b)] = double(b + 1) / double(bins);
  }
  int64_t total = 0;
  for (size_t i = 0; i < confidence.size(); ++i) {
    const uint32_t w = weights ? weights[i] : 1u;
    if (w == 0)
      continue;
    const double p = double(confidence[i]);
    const auto b = size_t(detail::equal_width_bin(p, bins));
    out.count[b] += double(w);
    out.confidence_sum[b] += double(w) * p;
    out.correct_sum[b] += correct[i] ? double(w) : 0.0;
    total += int64_t(w);
  }
  out.total = total;
  return out;
}

} // namespace

ReliabilityBins equal_width_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins) {
  return fill_equal_width(confidence, correct, bins, nullptr);
}

ReliabilityBins weighted_equal_width_bins(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    const uint32_t* weights) {
  return fill_equal_width(confidence, correct, bins, weights);
}

ReliabilityBins equal_mass_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins) {
  check_inputs(confidence, correct, bins);
  auto out = empty_bins(bins, Binning::EqualMass);
  const size_t n = confidence.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return confidence[a] < confidence[b]; });
  for (size_t r = 0; r < n; ++r) {
    const size_t i = order[r];
    const auto b = size_t(uint128(r) * uint64_t(bins) / n);
    if (out.count[b] == 0)
      out.lower[b] = confidence[i];
    out.upper[b] = confidence[i];
    out.count[b] += 1;
    out.confidence_sum[b] += confidence[i];
    out.correct_sum[b] += correct[i] ? 1.0 : 0.0;
  }
  out.total = int64_t(n);
  return out;
}

ReliabilityBins make_bins(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    Binning binning) {
  return binning == Binning::EqualWidth ? equal_width_bins(confidence, correct, bins)
                                        : equal_mass_bins(confidence, correct, bins);
}

BinnedErrors binned_errors(const ReliabilityBins& bins) {
  BinnedErrors e;
  if (bins.total == 0)
    return e;
  double sq = 0;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins.count[b] == 0)
      continue;
    const double gap = std::abs(bins.correct_sum[b] - bins.confidence_sum[b]) / bins.count[b];
    const double weight = bins.count[b] / double(bins.total);
    e.ece += weight * gap;
    sq += weight * gap * gap;
    e.mce = std::max(e.mce, gap);
  }
  e.rms = std::sqrt(sq);
  return e;
}

} // namespace smoothlab::calib
