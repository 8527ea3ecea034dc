// The linear probe (represent/linear_probe.h) against scikit-learn's LogisticRegression on StandardScaler features
// (tests/golden/open_set_golden.json, made by scripts/golden/open_set_golden.py), and the choice of λ on validation.
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/represent/linear_probe.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

torch::Tensor matrix(const nlohmann::json& j) {
  const auto rows = j.get<std::vector<std::vector<double>>>();
  auto t = torch::empty({int64_t(rows.size()), int64_t(rows[0].size())}, torch::kFloat64);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t k = 0; k < rows[i].size(); ++k)
      t[int64_t(i)][int64_t(k)] = rows[i][k];
  return t;
}
torch::Tensor labels(const nlohmann::json& j) {
  return torch::tensor(j.get<std::vector<int64_t>>(), torch::kInt64);
}

TEST(RepresentLinearProbe, MatchesScikitLearnLogisticRegression) {
  std::ifstream in(golden_path("open_set_golden.json"));
  const auto p = nlohmann::json::parse(in)["probe"];
  const int64_t k = p["classes"];
  const auto xtr = matrix(p["train"]["x"]), xte = matrix(p["test"]["x"]);
  const auto ytr = labels(p["train"]["y"]);
  for (const auto& [lam, want] : p["fits"].items()) {
    SCOPED_TRACE("λ = " + lam);
    const auto fit = represent::fit_probe(xtr, ytr, k, std::stod(lam));
    EXPECT_TRUE(fit.converged) << fit.gradient_norm << " after " << fit.evaluations;
    // sklearn's multinomial coefficients are ours (the softmax is invariant to a common shift of the intercepts,
    // and both fix it the same way: the L2 term centres W, the intercept's gradient centres b).
    EXPECT_LT((fit.weight - matrix(want["coef"])).abs().max().item<double>(), 1e-5);
    const auto b = torch::tensor(want["intercept"].get<std::vector<double>>(), torch::kFloat64);
    EXPECT_LT(((fit.bias - fit.bias.mean()) - (b - b.mean())).abs().max().item<double>(), 1e-5);
    const auto proba = torch::softmax(represent::probe_logits(fit, xte), 1);
    EXPECT_LT((proba - matrix(want["test_proba"])).abs().max().item<double>(), 1e-6);
  }
}

TEST(RepresentLinearProbe, ChoosesLambdaByValidationAccuracy) {
  std::ifstream in(golden_path("open_set_golden.json"));
  const auto p = nlohmann::json::parse(in)["probe"];
  const int64_t k = p["classes"];
  const auto probe = represent::linear_probe(
      matrix(p["train"]["x"]),
      labels(p["train"]["y"]),
      matrix(p["val"]["x"]),
      labels(p["val"]["y"]),
      matrix(p["test"]["x"]),
      labels(p["test"]["y"]),
      k,
      {1e-3, 1e-1});
  // sklearn: validation accuracy 0.925 at λ = 1e-3 and 0.908 at 1e-1, so λ = 1e-3, test accuracy 0.91875.
  ASSERT_EQ(probe.val_accuracy.size(), 2u);
  EXPECT_NEAR(probe.val_accuracy[0], p["fits"]["0.001"]["val_accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(probe.val_accuracy[1], p["fits"]["0.1"]["val_accuracy"].get<double>(), 1e-12);
  EXPECT_EQ(probe.fit.l2, 1e-3);
  EXPECT_NEAR(probe.test_accuracy, p["fits"]["0.001"]["test_accuracy"].get<double>(), 1e-12);
  EXPECT_EQ(probe.test_correct.size(), 160u);
  EXPECT_ERROR_MENTIONS(
      represent::fit_probe(matrix(p["train"]["x"]), labels(p["train"]["y"]) + 10, k, 1e-3),
      "linear probe",
      "labels outside [0, 4)");
}

} // namespace
} // namespace smoothlab::testing
