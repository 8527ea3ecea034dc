// The estimators against their reference implementations' own outputs (tests/golden/metrics_golden.json, made by
// scripts/golden/metrics_golden.py, which records each repository and commit): relplot's smECE and bandwidth,
// Kumar et al.'s debiased squared error, Gupta et al.'s KS error; and the meter's class-wise variants of them.
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/estimators.h"
#include "smoothlab/calib/meter.h"
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

TEST(CalibGolden, ClasswiseEstimatorsEqualTheirReferences) {
  std::ifstream in(golden_path("metrics_golden.json"));
  const auto c = nlohmann::json::parse(in).at("classwise");
  const auto k = c["k"].get<int64_t>();
  const auto logits = torch::tensor(c["logits"].get<std::vector<double>>(), torch::kFloat64).reshape({-1, k});
  const auto labels = torch::tensor(c["labels"].get<std::vector<int64_t>>(), torch::kInt64);
  const auto m = calib::calibration_metrics(logits, labels);
  // The meter's probabilities are float32 softmaxes of the same float32 logits (the references': float64), a
  // relative 1e-7 apart; each estimator moves by about that much.
  EXPECT_NEAR(m.classwise_smooth_ece, c["classwise_smooth_ece"].get<double>(), 1e-5);
  EXPECT_NEAR(m.classwise_ks_error, c["classwise_ks_error"].get<double>(), 1e-6);
  EXPECT_NEAR(m.classwise_debiased_squared_ce, c["classwise_debiased_squared_ce"].get<double>(), 1e-6);
  // Kumar et al.'s get_calibration_error(mode="marginal"): sqrt(mean_k max(squared_k, 0)).
  EXPECT_NEAR(m.classwise_debiased_l2_ce, c["classwise_debiased_l2_ce"].get<double>(), 1e-5);
  // Without class-wise state, or beyond the class bound, they are NaN.
  const auto off = calib::calibration_metrics(logits, labels, calib::MeterOptions().classwise(false));
  EXPECT_TRUE(std::isnan(off.classwise_ks_error));
  const auto wide = calib::calibration_metrics(
      torch::randn({20, calib::kClasswiseEstimatorMaxClasses + 1}), torch::zeros({20}, torch::kInt64));
  EXPECT_TRUE(std::isnan(wide.classwise_smooth_ece));
  EXPECT_FALSE(std::isnan(wide.smooth_ece));
}

} // namespace
} // namespace smoothlab::testing
