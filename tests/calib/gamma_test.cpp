// Equivalent smoothing γ: closed forms (an LS target gives γ = ε), limits, golden values, errors.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/gamma.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using calib::equivalent_smoothing;

// Logits log q of a label-smoothed target q = (1 − ε)·onehot + ε/K: wrong-class mass (K − 1)·ε/K, so γ = ε exactly.
TEST(DistillGamma, LabelSmoothedTargetGivesEpsilon) {
  const int64_t K = 10;
  for (double eps : {0.05, 0.1, 0.3, 0.75}) {
    auto labels = torch::tensor({0, 3, 9, 4, 4}, torch::kInt64);
    auto q = torch::full({5, K}, eps / K, torch::kFloat64);
    for (int64_t i = 0; i < 5; ++i)
      q[i][labels[i].item<int64_t>()] = 1 - eps + eps / K;
    EXPECT_NEAR(equivalent_smoothing(q.log(), labels, 1.0), eps, 1e-12) << eps;
    EXPECT_NEAR(equivalent_smoothing(q.log().to(torch::kFloat32), labels, 1.0), eps, 1e-6) << eps;
  }
}

// Uniform predictions: wrong mass (K − 1)/K → γ = 1, at any T. One-hot-like logits (margin 40): γ ≈ e^−40·K ≈ 0;
// raising T softens them: at T = 40 the margin is 1, p_y = e/(e + K − 1), γ = (K − 1)/(e + K − 1)·K/(K − 1).
TEST(DistillGamma, LimitsAndTemperature) {
  const int64_t K = 4;
  auto labels = torch::tensor({1, 2}, torch::kInt64);
  EXPECT_NEAR(equivalent_smoothing(torch::zeros({2, K}), labels, 1.0), 1.0, 1e-12);
  EXPECT_NEAR(equivalent_smoothing(torch::zeros({2, K}), labels, 7.0), 1.0, 1e-12);
  auto sharp = torch::zeros({2, K}, torch::kFloat64);
  sharp[0][1] = 40;
  sharp[1][2] = 40;
  EXPECT_LT(equivalent_smoothing(sharp, labels, 1.0), 1e-16);
  EXPECT_GT(
      equivalent_smoothing(sharp, labels, 1.0), 0.0); // summed wrong-class mass keeps the tiny value (1 − p_y = 0)
  const double e = std::exp(1.0);
  EXPECT_NEAR(equivalent_smoothing(sharp, labels, 40.0), double(K) / (e + double(K) - 1), 1e-12);
}

TEST(DistillGamma, MatchesGolden) {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/distill_golden.json");
  auto g = nlohmann::json::parse(in)["gamma"];
  std::vector<double> flat;
  for (const auto& row : g["logits"])
    for (double v : row)
      flat.push_back(v);
  auto logits = torch::tensor(flat, torch::kFloat64).view({8, 4});
  auto labels = torch::tensor(g["labels"].get<std::vector<int64_t>>(), torch::kInt64);
  for (const auto& c : g["cases"])
    EXPECT_NEAR(equivalent_smoothing(logits, labels, c["temperature"]), c["gamma"].get<double>(), 1e-12);
}

TEST(DistillGamma, BadInputs) {
  auto logits = torch::zeros({3, 4});
  auto labels = torch::tensor({0, 1, 2});
  EXPECT_THROW(equivalent_smoothing(logits, labels, 0.0), Error);
  EXPECT_THROW(equivalent_smoothing(logits, labels, -1.0), Error);
  EXPECT_THROW(equivalent_smoothing(logits, torch::tensor({0, 1}), 1.0), Error);
  EXPECT_THROW(equivalent_smoothing(logits, torch::tensor({0, 1, 4}), 1.0), Error);
  EXPECT_THROW(equivalent_smoothing(torch::zeros({3, 1}), labels, 1.0), Error);
}

} // namespace
} // namespace smoothlab::testing
