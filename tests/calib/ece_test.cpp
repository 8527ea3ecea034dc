// Binned calibration errors: hand-worked examples (arithmetic in the comments) and the edge rules of ece.h.
#include <cmath>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using calib::Binning;

TEST(CalibEce, EdgeRulesEqualWidth) {
  // M = 4: edges 0.25, 0.5, 0.75 are exact in binary. A confidence on an edge goes to the LOWER bin;
  // 0 goes to the first bin, 1 to the last.
  EXPECT_EQ(calib::equal_width_bin_index(0.0, 4), 0);
  EXPECT_EQ(calib::equal_width_bin_index(0.25, 4), 0);
  EXPECT_EQ(calib::equal_width_bin_index(std::nextafter(0.25, 1.0), 4), 1);
  EXPECT_EQ(calib::equal_width_bin_index(0.5, 4), 1);
  EXPECT_EQ(calib::equal_width_bin_index(0.75, 4), 2);
  EXPECT_EQ(calib::equal_width_bin_index(1.0, 4), 3);
  EXPECT_EQ(calib::equal_width_bin_index(-0.1, 4), 0); // clamped
  EXPECT_EQ(calib::equal_width_bin_index(1.5, 4), 3);
  // M = 15: every edge m/15 (as a float64) belongs to bin m (0-based m − 1), even where m/15·15 rounds.
  for (int m = 1; m <= 15; ++m) {
    const double edge = double(m) / 15.0;
    EXPECT_EQ(calib::equal_width_bin_index(edge, 15), m - 1) << "edge " << m << "/15";
    if (m < 15) {
      EXPECT_EQ(calib::equal_width_bin_index(std::nextafter(edge, 2.0), 15), m) << "above " << m << "/15";
    }
    EXPECT_EQ(calib::equal_width_bin_index(std::nextafter(edge, 0.0), 15), m - 1) << "below " << m << "/15";
  }
}

TEST(CalibEce, HandWorkedEqualWidth) {
  // M = 4, confidences {0, 0.25, 0.5, 0.75, 1, 0.3}, correct {0, 1, 1, 0, 1, 1}:
  //   bin 1 (0, .25]: {0, .25}   conf sum .25, hits 1 → |1 − .25| = .75, gap .375
  //   bin 2 (.25,.5]: {.5, .3}   conf sum .8,  hits 2 → |2 − .8|  = 1.2, gap .6
  //   bin 3 (.5,.75]: {.75}      conf .75,     hits 0 → .75,            gap .75
  //   bin 4 (.75, 1]: {1}        conf 1,       hits 1 → 0
  //   ECE = (.75 + 1.2 + .75 + 0)/6 = .45;  MCE = .75
  //   RMS² = (2/6)·.375² + (2/6)·.6² + (1/6)·.75² = .046875 + .12 + .09375 = .260625
  const std::vector<double> conf{0.0, 0.25, 0.5, 0.75, 1.0, 0.3};
  const std::vector<uint8_t> ok{0, 1, 1, 0, 1, 1};
  auto bins = calib::equal_width_bins(conf, ok, 4);
  EXPECT_EQ(bins.count, (std::vector<double>{2, 2, 1, 1}));
  EXPECT_DOUBLE_EQ(bins.lower[1], 0.25);
  EXPECT_DOUBLE_EQ(bins.upper[1], 0.5);
  EXPECT_DOUBLE_EQ(bins.confidence(1), 0.4);
  EXPECT_DOUBLE_EQ(bins.accuracy(2), 0.0);
  auto e = calib::binned_errors(bins);
  EXPECT_NEAR(e.ece, 0.45, 1e-15);
  EXPECT_NEAR(e.mce, 0.75, 1e-15);
  EXPECT_NEAR(e.rms, std::sqrt(0.260625), 1e-15);
}

TEST(CalibEce, HandWorkedEqualMass) {
  // M = 2, n = 5; sorted confidences .6(0) .7(1) .8(1) .9(1) .95(0); rank r → bin floor(2r/5): ranks 0,1,2 → 0;
  // ranks 3,4 → 1. Bin 1: conf sum 2.1, hits 2 → |2 − 2.1| = .1; bin 2: conf sum 1.85, hits 1 → .85.
  // ECE = (.1 + .85)/5 = .19; MCE = max(.1/3, .85/2) = .425.
  const std::vector<double> conf{0.9, 0.6, 0.8, 0.7, 0.95};
  const std::vector<uint8_t> ok{1, 0, 1, 1, 0};
  auto bins = calib::equal_mass_bins(conf, ok, 2);
  EXPECT_EQ(bins.count, (std::vector<double>{3, 2}));
  EXPECT_DOUBLE_EQ(bins.lower[0], 0.6);
  EXPECT_DOUBLE_EQ(bins.upper[0], 0.8);
  EXPECT_DOUBLE_EQ(bins.lower[1], 0.9);
  EXPECT_DOUBLE_EQ(bins.upper[1], 0.95);
  auto e = calib::binned_errors(bins);
  EXPECT_NEAR(e.ece, 0.19, 1e-15);
  EXPECT_NEAR(e.mce, 0.425, 1e-15);
  // Ties at the split are broken by input order: equal confidences still fill bins by rank.
  auto ties = calib::equal_mass_bins({0.5, 0.5, 0.5, 0.5}, {1, 0, 0, 1}, 2);
  EXPECT_EQ(ties.count, (std::vector<double>{2, 2}));
  EXPECT_DOUBLE_EQ(ties.correct_sum[0], 1.0); // samples 0 and 1
}

TEST(CalibEce, EmptyAndPerfect) {
  auto e = calib::binned_errors(calib::equal_width_bins({}, {}, 15));
  EXPECT_EQ(e.ece, 0.0);
  EXPECT_EQ(e.mce, 0.0);
  // Perfectly calibrated bins: confidence 0.75 with 3 of 4 correct → all errors 0.
  auto p = calib::binned_errors(calib::equal_width_bins({0.75, 0.75, 0.75, 0.75}, {1, 1, 0, 1}, 15));
  EXPECT_NEAR(p.ece, 0.0, 1e-15);
  EXPECT_NEAR(p.rms, 0.0, 1e-15);
  EXPECT_THROW(calib::equal_width_bins({0.5}, {1}, 0), Error);
  EXPECT_THROW(calib::equal_width_bins({0.5}, {}, 15), Error);
  EXPECT_EQ(calib::parse_binning("equal-mass"), Binning::EqualMass);
  EXPECT_EQ(calib::parse_binning("equal-width"), Binning::EqualWidth);
  EXPECT_THROW(calib::parse_binning("quantile-ish"), Error);
}

TEST(CalibEce, FastExpMatchesStdExp) {
  // The vectorised exp of the row kernels: relative error ≤ 3e-7 over the range the kernels use (x ≤ 0 mostly).
  std::vector<float> x, out;
  for (float v = -87.0f; v <= 88.0f; v += 0.0137f)
    x.push_back(v);
  out.resize(x.size());
  calib::detail::fast_exp_n(x.data(), out.data(), int64_t(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(double(x[i]));
    worst = std::max(worst, std::abs(double(out[i]) - want) / want);
    EXPECT_NEAR(calib::detail::fast_exp(x[i]), out[i], 1e-6 * out[i]);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(calib::detail::fast_exp(0.0f), 1.0f);
}

} // namespace
} // namespace smoothlab::testing
