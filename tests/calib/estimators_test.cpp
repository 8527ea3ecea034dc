// Calibration-error estimators beside the binned ECE (calib/estimators.h, calib/smooth_ece.h): closed forms worked by
// hand, the debiased estimator's unbiasedness on a source where it is exact, smooth ECE near 0 for a calibrated source
// and near the offset for a shifted one, and netcal's ACE told apart from the adaptive ECE.
#include <cmath>
#include <random>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/estimators.h"
#include "smoothlab/calib/smooth_ece.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(CalibEstimators, KsByHand) {
  // Sorted: f = .2, .6, .9; y = 0, 1, 1. Running (Σf − Σy)/3: .2/3, −.2/3, −.3/3 → KS = 0.1.
  EXPECT_NEAR(calib::ks_error({0.9, 0.2, 0.6}, {1, 0, 1}), 0.1, 1e-15);
  EXPECT_EQ(calib::ks_error({}, {}), 0.0);
}

TEST(CalibEstimators, DebiasedSquaredErrorByHand) {
  // bins = 2 over f = .1, .2 | .7, .8 (edge (.2 + .7)/2 = .45): bin 1: f̄ = .15, ȳ = .5 → .35² − .25/1 = −.1275;
  // bin 2: f̄ = .75, ȳ = 1 → .0625 − 0. Weighted by 1/2 each: −.0325; the L2 root clamps at 0.
  const auto d = calib::debiased_squared_ce({0.8, 0.1, 0.7, 0.2}, {1, 0, 1, 1}, 2);
  EXPECT_NEAR(d.squared, -0.0325, 1e-15);
  EXPECT_EQ(d.l2, 0.0);
  // numpy.array_split sizes for n = 5, 2 parts: 3 and 2 (edge between the 3rd and 4th sorted values).
  const auto e = calib::debiased_squared_ce({0.1, 0.2, 0.3, 0.9, 0.95}, {0, 0, 1, 1, 1}, 2);
  const double bin1 = std::pow(0.2 - 1.0 / 3, 2) - (1.0 / 3) * (2.0 / 3) / 2, bin2 = std::pow(0.925 - 1.0, 2);
  EXPECT_NEAR(e.squared, 0.6 * bin1 + 0.4 * bin2, 1e-15);
}

TEST(CalibEstimators, DebiasedSquaredErrorIsUnbiasedWhereExact) {
  // Two confidence levels, .3 and .8, 500 examples each, y ~ Bernoulli(f): each equal-mass bin holds one level, so
  // the binned squared error is 0 and the estimator is exactly unbiased; the plug-in (f̄ − ȳ)² is biased upwards by
  // f(1 − f)/n_b. Mean over 4000 replicates within 4 standard errors of 0.
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> f(1000);
  for (size_t i = 0; i < f.size(); ++i)
    f[i] = i < 500 ? 0.3 : 0.8;
  double sum = 0, sum2 = 0;
  const int replicates = 4000;
  for (int r = 0; r < replicates; ++r) {
    std::vector<double> y(f.size());
    for (size_t i = 0; i < f.size(); ++i)
      y[i] = u(rng) < f[i] ? 1.0 : 0.0;
    const double s = calib::debiased_squared_ce(f, y, 2).squared;
    sum += s;
    sum2 += s * s;
  }
  const double mean = sum / replicates, sd = std::sqrt(sum2 / replicates - mean * mean);
  EXPECT_LT(std::abs(mean), 4 * sd / std::sqrt(double(replicates)));
  EXPECT_GT(sd, 0.0);
}

TEST(CalibEstimators, SmoothEceOfAConstantGapIsTheGap) {
  // Every confidence .7, half the outcomes 1: the residual is .2 wherever the density is, so smECE_σ =
  // .2·Σd/(Σd + E·1e-4) ≈ .2, and the fixed point σ* = smECE_σ* ≈ .2 (bisection step 2^-10).
  std::vector<double> f(2000, 0.7), y(2000);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = double(i % 2);
  EXPECT_NEAR(calib::smooth_ece_at(f, y, 0.1), 0.2, 1e-3);
  const auto s = calib::smooth_ece(f, y);
  EXPECT_NEAR(s.value, 0.2, 1e-3);
  EXPECT_NEAR(s.bandwidth, s.value, 2.0 / 1024);
}

TEST(CalibEstimators, SmoothEceNearZeroWhenCalibratedAndNearTheShiftWhenNot) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  const size_t n = 20000;
  std::vector<double> f(n), y(n), shifted(n);
  for (size_t i = 0; i < n; ++i) {
    f[i] = 0.2 + 0.6 * u(rng);
    y[i] = u(rng) < f[i] ? 1.0 : 0.0;
    shifted[i] = f[i] + 0.1;
  }
  // Calibrated: smECE is O(1/sqrt(n·σ)) noise, a few 1e-3 at n = 20000.
  const auto calibrated = calib::smooth_ece(f, y);
  EXPECT_LT(calibrated.value, 0.015);
  // Over-confident by .1 everywhere: smECE ≈ .1 (kernel smoothing keeps a constant residual).
  const auto over = calib::smooth_ece(shifted, y);
  EXPECT_NEAR(over.value, 0.1, 0.01);
  // The curve: accuracy ≈ t − .1 where the data are.
  ASSERT_EQ(over.t.size(), over.accuracy.size());
  EXPECT_GE(over.t.size(), 200u);
}

TEST(CalibEstimators, NetcalAceIsTheBinAverageNotTheAdaptiveEce) {
  // Equal-width bins (M = 2): bin 1 holds f = .2 (y = 1), bin 2 holds 9 × f = .9 (all y = 1).
  // ACE = (|1 − .2| + |1 − .9|)/2 = .45; the count-weighted ECE is (.8 + 9·.1)/10 = .17.
  std::vector<double> f{0.2}, y{1};
  for (int i = 0; i < 9; ++i) {
    f.push_back(0.9);
    y.push_back(1);
  }
  EXPECT_NEAR(calib::netcal_ace(f, y, 2), 0.45, 1e-15);
  std::vector<uint8_t> correct(y.begin(), y.end());
  EXPECT_NEAR(calib::binned_errors(calib::equal_width_bins(f, correct, 2)).ece, 0.17, 1e-15);
}

} // namespace
} // namespace smoothlab::testing
