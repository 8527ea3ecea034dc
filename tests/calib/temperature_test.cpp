// Temperature scaling: the fitted T against a dense grid and the golden-section optimum of the float64 reference,
// NLL never worse, T = 1 reproduces the unscaled NLL, an over-confident model (logits × 3) comes back to T ≈ 3,
// bounds, and refusal of probabilities.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// A calibrated model by construction: labels drawn from softmax(z).
std::pair<torch::Tensor, torch::Tensor> calibrated(int64_t n, int64_t k, uint64_t seed) {
  torch::manual_seed(seed);
  auto z = torch::randn({n, k}) * 2.0;
  auto y = torch::multinomial(torch::softmax(z, 1), 1).squeeze(1);
  return {z, y};
}

TEST(CalibTemperature, MatchesDenseGridAndNeverWorse) {
  auto [z, y] = calibrated(500, 10, 11);
  for (double scale : {0.5, 1.0, 2.5}) {
    auto logits = z * scale;
    auto fit = calib::fit_temperature(logits, y);
    EXPECT_TRUE(fit.converged);
    EXPECT_FALSE(fit.at_bound);
    EXPECT_LE(fit.iterations, 20);
    // Dense grid: 1001 log-spaced temperatures over [0.1, 10] (ratio 1.0046), then 1001 over the two cells
    // around the best (ratio 1.000009 between neighbours).
    double best_t = 0, best_nll = INFINITY;
    auto scan = [&](double lo, double hi) {
      for (int i = 0; i <= 1000; ++i) {
        const double t = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * i / 1000.0);
        const double nll = calib::temperature_nll(logits, y, t).nll;
        if (nll < best_nll) {
          best_nll = nll;
          best_t = t;
        }
      }
    };
    scan(0.1, 10.0);
    scan(best_t / 1.0047, best_t * 1.0047);
    EXPECT_NEAR(fit.temperature / best_t, 1.0, 1e-3) << "scale " << scale;
    // Near the optimum the NLL is flat (a relative error δ in T changes it by O(δ²)); float32 row sums make it
    // noisy at ~1e-9, so "never worse than the grid" is checked to 1e-7.
    EXPECT_LE(fit.nll_after, best_nll + 1e-7);
    EXPECT_LE(fit.nll_after, fit.nll_before);
    EXPECT_NEAR(fit.nll_before, calib::temperature_nll(logits, y, 1.0).nll, 1e-15);
    // The derivative vanishes at the optimum (up to the float32 row sums).
    EXPECT_NEAR(calib::temperature_nll(logits, y, fit.temperature).d_beta, 0.0, 1e-6);
  }
}

TEST(CalibTemperature, MatchesGoldenOptimum) {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/calib_golden.json");
  const auto g = nlohmann::json::parse(in);
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto logits = torch::tensor(c["logits"].get<std::vector<double>>(), torch::kFloat64)
                      .reshape({c["n"].get<int64_t>(), c["k"].get<int64_t>()});
    auto labels = torch::tensor(c["labels"].get<std::vector<int64_t>>(), torch::kInt64);
    auto fit = calib::fit_temperature(logits, labels);
    EXPECT_NEAR(fit.temperature / c["temperature"].get<double>(), 1.0, 1e-4);
    EXPECT_NEAR(fit.nll_after, c["nll_at_temperature"].get<double>(), 2e-6);
    EXPECT_NEAR(fit.nll_before, c["metrics"]["nll"].get<double>(), 2e-6);
  }
}

TEST(CalibTemperature, OverconfidentModelIsFittedBackToThree) {
  // Logits × 3 of a calibrated model: softmax(3z / T) is calibrated at T = 3 (up to sampling noise, n = 20000).
  auto [z, y] = calibrated(20000, 10, 5);
  auto fit = calib::fit_temperature(z * 3.0, y);
  EXPECT_NEAR(fit.temperature, 3.0, 0.1);
  EXPECT_LT(fit.nll_after, fit.nll_before - 0.1);
  // And the ECE after scaling is small, before it is large.
  auto before = calib::calibration_metrics(z * 3.0, y);
  auto after = calib::calibration_metrics(z * 3.0, y, calib::MeterOptions().temperature(fit.temperature));
  EXPECT_GT(before.ece, 0.1);
  EXPECT_LT(after.ece, 0.02);
  EXPECT_EQ(after.accuracy, before.accuracy);
}

TEST(CalibTemperature, BoundsAndDegenerateData) {
  // Every sample right with a margin of 20: NLL keeps falling as T → 0 (NLL(T = 1) = ln(1 + 2e−20) ≈ 4e−9);
  // the fit goes down in T until the NLL is flat (< 1e−12 change) or reaches min_temperature.
  auto z = torch::zeros({50, 3});
  auto y = torch::arange(50, torch::kInt64).remainder(3);
  z.scatter_(1, y.unsqueeze(1), 20.0);
  auto sharp = calib::fit_temperature(z, y);
  EXPECT_TRUE(sharp.converged);
  EXPECT_LT(sharp.temperature, 1.0);
  EXPECT_LT(sharp.nll_after, 1e-11);
  EXPECT_LE(sharp.nll_after, sharp.nll_before);
  // With a margin of 2 the optimum is still below any reasonable T: the bound is reached and reported.
  auto z2 = z / 10;
  auto bounded = calib::fit_temperature(z2, y, calib::TemperatureOptions().min_temperature(0.5));
  EXPECT_TRUE(bounded.at_bound);
  EXPECT_DOUBLE_EQ(bounded.temperature, 0.5);
  // Labels opposite to the logits: the uniform prediction is best, T runs to max_temperature.
  auto wrong = (y + 1).remainder(3);
  auto flat = calib::fit_temperature(z, wrong, calib::TemperatureOptions().max_temperature(50));
  EXPECT_TRUE(flat.at_bound);
  EXPECT_DOUBLE_EQ(flat.temperature, 50.0);
  EXPECT_NEAR(flat.nll_after, calib::temperature_nll(z, wrong, 50.0).nll, 1e-12);
  EXPECT_GT(flat.temperature, 0.0);
}

TEST(CalibTemperature, RefusesBadInput) {
  auto p = torch::softmax(torch::randn({20, 4}), 1);
  auto y = torch::zeros({20}, torch::kInt64);
  EXPECT_TRUE(error_mentions([&] { calib::fit_temperature(p, y); }, {"probabilities"}));
  EXPECT_NO_THROW(calib::fit_temperature(p.log(), y)); // log-probabilities are logits
  EXPECT_THROW(calib::fit_temperature(torch::zeros({0, 4}), torch::zeros({0}, torch::kInt64)), Error);
  EXPECT_THROW(calib::fit_temperature(torch::zeros({20, 1}), y), Error);
  EXPECT_THROW(calib::fit_temperature(torch::randn({20, 4}), torch::full({20}, 4, torch::kInt64)), Error);
  EXPECT_THROW(calib::fit_temperature(torch::randn({20, 4}), y, calib::TemperatureOptions().min_temperature(0)), Error);
  auto inf = torch::randn({20, 4});
  inf[3][2] = INFINITY;
  EXPECT_THROW(calib::fit_temperature(inf, y), Error);
}

} // namespace
} // namespace smoothlab::testing
