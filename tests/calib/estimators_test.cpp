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

TEST(CalibEstimators, SmoothCurveBandCoversACalibratedSourceAndNarrowsWithData) {
  // y ~ Bernoulli(f), f uniform on [0.2, 0.8]: the true reliability curve is the diagonal.
  auto band_of = [](size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> f(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      f[i] = 0.2 + 0.6 * u(rng);
      y[i] = u(rng) < f[i] ? 1.0 : 0.0;
    }
    return calib::smooth_ece_with_band(f, y, 200, 3);
  };
  const auto small = band_of(2000, 11), large = band_of(20000, 12);
  auto interior = [](const calib::SmoothEce& s, auto&& per_point) {
    double total = 0, count = 0;
    for (size_t e = 0; e < s.t.size(); ++e)
      if (s.t[e] >= 0.3 && s.t[e] <= 0.7) {
        total += per_point(e);
        count += 1;
      }
    return total / count;
  };
  for (const auto* s : {&small, &large}) {
    ASSERT_EQ(s->lower.size(), s->t.size());
    ASSERT_EQ(s->upper.size(), s->t.size());
    EXPECT_EQ(s->band_replicates, 200);
    // (Where there are no data every resample's curve is ≈ t, and interpolated quantiles of equal values may differ
    // by rounding.)
    for (size_t e = 0; e < s->t.size(); ++e)
      ASSERT_LE(s->lower[e], s->upper[e] + 1e-12) << "t = " << s->t[e];
    // Pointwise 95% bands: most interior points cover the diagonal (the bands of neighbouring t are correlated, so
    // the covered fraction of one draw varies; 0.6 leaves room for that and fails for a band that is misplaced).
    const double covered = interior(*s, [&](size_t e) { return s->lower[e] <= s->t[e] && s->t[e] <= s->upper[e]; });
    EXPECT_GE(covered, 0.6);
  }
  // The width goes like 1/sqrt(n·σ*), and on calibrated data σ* = smECE_σ* shrinks too (∝ n^(−1/3)), so the width
  // goes like n^(−1/3): ten times the data, about 0.46 of the width.
  const double w_small = interior(small, [&](size_t e) { return small.upper[e] - small.lower[e]; });
  const double w_large = interior(large, [&](size_t e) { return large.upper[e] - large.lower[e]; });
  EXPECT_GT(w_small, 0.0);
  EXPECT_LT(w_large, 0.7 * w_small);
  // Seeded: the same resamples give the same band.
  const auto again = band_of(2000, 11);
  EXPECT_EQ(again.lower, small.lower);
  EXPECT_EQ(again.upper, small.upper);
  EXPECT_ERROR_MENTIONS(calib::smooth_ece_with_band({0.5}, {1.0}, 1), "at least 2 resamples");
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
