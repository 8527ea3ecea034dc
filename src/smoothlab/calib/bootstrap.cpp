// Percentile bootstrap of the ECE; replicate r uses its own generator seeded from (seed, r), so the interval
// does not depend on the thread count.
#include "smoothlab/calib/bootstrap.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/int128.h"

namespace smoothlab::calib {

double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * double(sorted.size() - 1);
  const auto i = size_t(std::floor(pos));
  const double frac = pos - double(i);
  return i + 1 < sorted.size() ? sorted[i] * (1 - frac) + sorted[i + 1] * frac : sorted[i];
}

void BootstrapOptions::validate() const {
  check(replicates() >= 2, "--bootstrap needs at least 2 replicates, got {}", replicates());
  check(level() > 0 && level() < 1, "the confidence level must lie in (0, 1), got {}", level());
  check(bins() >= 1, "--bins must be at least 1, got {}", bins());
}

BootstrapInterval bootstrap_ece(
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    const BootstrapOptions& options) {
  options.validate();
  check(!confidence.empty(), "bootstrap of the ECE needs at least one sample");
  const int64_t bins = options.bins();
  BootstrapInterval ci;
  ci.estimate = binned_errors(make_bins(confidence, correct, bins, options.binning())).ece;
  ci.level = options.level();
  ci.replicates = options.replicates();
  ci.seed = options.seed();
  const size_t n = confidence.size();
  const bool mass = options.binning() == Binning::EqualMass;
  // Equal-width: each sample's bin is fixed. Equal-mass: the resample's ranks follow the sorted order.
  std::vector<int64_t> bin_of(n);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  if (mass) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return confidence[a] < confidence[b]; });
  } else {
    for (size_t i = 0; i < n; ++i)
      bin_of[i] = detail::equal_width_bin(confidence[i], bins);
  }
  std::vector<double> eces(size_t(options.replicates()));
  at::parallel_for(0, options.replicates(), 1, [&](int64_t r0, int64_t r1) {
    const auto nb = static_cast<size_t>(bins);
    std::vector<double> count(nb), conf(nb), hits(nb);
    std::vector<uint32_t> times(mass ? n : 0);
    for (int64_t r = r0; r < r1; ++r) {
      std::seed_seq seq{uint32_t(options.seed()), uint32_t(options.seed() >> 32), uint32_t(r), uint32_t(r >> 32)};
      std::mt19937_64 rng(seq);
      std::uniform_int_distribution<size_t> pick(0, n - 1);
      std::fill(count.begin(), count.end(), 0.0);
      std::fill(conf.begin(), conf.end(), 0.0);
      std::fill(hits.begin(), hits.end(), 0.0);
      if (!mass) {
        for (size_t j = 0; j < n; ++j) {
          const size_t i = pick(rng);
          const auto b = size_t(bin_of[i]);
          count[b] += 1;
          conf[b] += confidence[i];
          hits[b] += correct[i];
        }
      } else {
        std::fill(times.begin(), times.end(), 0u);
        for (size_t j = 0; j < n; ++j)
          ++times[pick(rng)];
        size_t rank = 0;
        for (size_t i : order)
          for (uint32_t c = 0; c < times[i]; ++c, ++rank) {
            const auto b = size_t(uint128(rank) * uint64_t(bins) / n);
            count[b] += 1;
            conf[b] += confidence[i];
            hits[b] += correct[i];
          }
      }
      double ece = 0;
      for (size_t b = 0; b < size_t(bins); ++b)
        ece += std::abs(hits[b] - conf[b]);
      eces[size_t(r)] = ece / double(n);
    }
  });
  std::sort(eces.begin(), eces.end());
  ci.low = sorted_quantile(eces, (1 - ci.level) / 2);
  ci.high = sorted_quantile(eces, (1 + ci.level) / 2);
  const double mean = std::accumulate(eces.begin(), eces.end(), 0.0) / double(eces.size());
  double var = 0;
  for (double e : eces)
    var += (e - mean) * (e - mean);
  ci.standard_error = std::sqrt(var / double(eces.size() - 1));
  return ci;
}

nlohmann::json to_json(const BootstrapInterval& ci) {
  return {
      {"estimate", ci.estimate},
      {"low", ci.low},
      {"high", ci.high},
      {"level", ci.level},
      {"replicates", ci.replicates},
      {"seed", ci.seed},
      {"standard_error", ci.standard_error}};
}

} // namespace smoothlab::calib
