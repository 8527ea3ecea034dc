// Bootstrap interval of the ECE: seeded determinism, degenerate data, and coverage sanity.
#include <random>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// n samples with confidence c_i ~ U(0.5, 1) and correctness drawn with probability c_i − shift.
void synthetic(size_t n, double shift, uint32_t seed, std::vector<double>* conf, std::vector<uint8_t>* ok) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  conf->clear();
  ok->clear();
  for (size_t i = 0; i < n; ++i) {
    const double c = 0.5 + 0.5 * u(rng);
    conf->push_back(c);
    ok->push_back(u(rng) < c - shift ? 1 : 0);
  }
}

TEST(CalibBootstrap, SeededAndOrdered) {
  std::vector<double> conf;
  std::vector<uint8_t> ok;
  synthetic(2000, 0.1, 1, &conf, &ok);
  for (auto binning : {calib::Binning::EqualWidth, calib::Binning::EqualMass}) {
    auto opts = calib::BootstrapOptions().replicates(200).seed(42).binning(binning);
    auto a = calib::bootstrap_ece(conf, ok, opts);
    auto b = calib::bootstrap_ece(conf, ok, opts);
    EXPECT_EQ(a.low, b.low);
    EXPECT_EQ(a.high, b.high);
    auto c = calib::bootstrap_ece(conf, ok, opts.seed(43));
    EXPECT_NE(a.low, c.low);
    EXPECT_LT(a.low, a.high);
    // A miscalibration of 0.1 in expectation: the interval lies around it and contains the point estimate.
    EXPECT_NEAR(a.estimate, 0.1, 0.03);
    EXPECT_LE(a.low, a.estimate);
    EXPECT_GE(a.high, a.estimate);
    EXPECT_GT(a.standard_error, 0.0);
    EXPECT_LT(a.high - a.low, 0.06);
    EXPECT_EQ(a.replicates, 200);
  }
}

TEST(CalibBootstrap, DegenerateAndBad) {
  // Every sample confident and right: every resample has ECE 0.
  auto ci = calib::bootstrap_ece(
      std::vector<double>(50, 1.0), std::vector<uint8_t>(50, 1), calib::BootstrapOptions().replicates(20));
  EXPECT_EQ(ci.low, 0.0);
  EXPECT_EQ(ci.high, 0.0);
  EXPECT_ERROR_MENTIONS(
      calib::bootstrap_ece({0.5}, {1}, calib::BootstrapOptions().replicates(1)),
      "--bootstrap needs at least 2 replicates, got 1");
  EXPECT_ERROR_MENTIONS(calib::bootstrap_ece({}, {}, calib::BootstrapOptions()), "at least one sample");
  EXPECT_ERROR_MENTIONS(
      calib::bootstrap_ece({0.5}, {1}, calib::BootstrapOptions().level(1.0)),
      "confidence level must lie in (0, 1), got 1");
  EXPECT_ERROR_MENTIONS(
      calib::bootstrap_ece({0.5}, {1}, calib::BootstrapOptions().bins(0)), "--bins must be at least 1, got 0");
}

TEST(CalibBootstrap, WidthShrinksWithSampleSize) {
  // Standard error ∝ 1/√n: 16× the samples → roughly a quarter of the width.
  std::vector<double> c1, c2;
  std::vector<uint8_t> o1, o2;
  synthetic(500, 0.05, 2, &c1, &o1);
  synthetic(8000, 0.05, 2, &c2, &o2);
  auto small = calib::bootstrap_ece(c1, o1, calib::BootstrapOptions().replicates(200));
  auto large = calib::bootstrap_ece(c2, o2, calib::BootstrapOptions().replicates(200));
  EXPECT_LT(large.standard_error, 0.5 * small.standard_error);
}

} // namespace
} // namespace smoothlab::testing
