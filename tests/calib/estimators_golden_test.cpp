// The estimators against their reference implementations' own outputs (tests/golden/metrics_golden.json, made by
// scripts/golden/metrics_golden.py, which records each repository and commit): relplot's smECE and bandwidth,
// Kumar et al.'s debiased squared error, Gupta et al.'s KS error.
#include <fstream>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/estimators.h"
#include "smoothlab/calib/smooth_ece.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(CalibGolden, EstimatorsEqualTheirReferences) {
  std::ifstream in(golden_path("metrics_golden.json"));
  const auto g = nlohmann::json::parse(in);
  for (const auto& c : g.at("cases")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto f = c["confidence"].get<std::vector<double>>();
    const auto y = c["outcome"].get<std::vector<double>>();
    // Same float64 arithmetic in another order (numpy's pairwise sums, np.convolve): agreement to ~1e-12.
    EXPECT_NEAR(calib::smooth_ece_at(f, y, 0.05), c["smooth_ece_at_0.05"].get<double>(), 1e-10);
    const auto s = calib::smooth_ece(f, y);
    // The bandwidth is a dyadic bisection point: equal exactly unless a comparison σ < smECE_σ is decided
    // differently by rounding, which these cases do not come near.
    EXPECT_EQ(s.bandwidth, c["smooth_ece_bandwidth"].get<double>());
    EXPECT_NEAR(s.value, c["smooth_ece"].get<double>(), 1e-10);
    const auto d = calib::debiased_squared_ce(f, y, 15);
    EXPECT_NEAR(d.squared, c["debiased_squared_ce"].get<double>(), 1e-14);
    EXPECT_NEAR(d.l2, c["debiased_l2_ce"].get<double>(), 1e-12);
    EXPECT_NEAR(calib::ks_error(f, y), c["ks_error"].get<double>(), 1e-13);
  }
}

} // namespace
} // namespace smoothlab::testing
