// Distillation loss: golden values from PyTorch, closed forms, finite differences, T² scaling, reductions, errors.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/distill/loss.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using distill::distillation_loss;
using distill::DistillationOptions;
using distill::Reduction;
using distill::SoftTerm;

nlohmann::json distill_golden() {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/distill_golden.json");
  EXPECT_TRUE(in.good()) << "tests/golden/distill_golden.json is missing";
  return nlohmann::json::parse(in);
}

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<double> flat;
  int64_t n = 0, k = 0;
  for (const auto& row : rows) {
    k = int64_t(row.size());
    for (double v : row)
      flat.push_back(v);
    ++n;
  }
  return torch::tensor(flat, torch::kFloat64).view({n, k});
}

TEST(DistillLoss, MatchesPyTorchGolden) {
  auto g = distill_golden();
  auto student0 = matrix(g["student"]), teacher = matrix(g["teacher"]);
  auto target = torch::tensor(g["target"].get<std::vector<int64_t>>(), torch::kInt64);
  ASSERT_EQ(g["loss"].size(), 7u);
  for (const auto& c : g["loss"]) {
    const std::string form = c["form"], reduction = c["reduction"], soft = c["soft_term"];
    auto o = form == "paper" ? DistillationOptions::paper(c["temperature"]).beta(c["beta"])
                             : DistillationOptions::hinton(c["temperature"], c["beta"]);
    o.smoothing(c["smoothing"]).soft_term(distill::parse_soft_term(soft));
    o.reduction(reduction == "mean" ? Reduction::Mean : reduction == "sum" ? Reduction::Sum : Reduction::None);
    auto student = student0.clone().requires_grad_(true);
    auto value = distillation_loss(student, teacher, target, o);
    value.sum().backward();
    SCOPED_TRACE(c.dump().substr(0, 140));
    torch::Tensor expected = reduction == "none" ? torch::tensor(c["value"].get<std::vector<double>>(), torch::kFloat64)
                                                 : torch::tensor(c["value"].get<double>(), torch::kFloat64);
    EXPECT_TENSOR_NEAR(value, expected, 1e-10, 1e-12);
    EXPECT_TENSOR_NEAR(student.grad(), matrix(c["grad"]), 1e-9, 1e-12);
  }
}

// T = 1, β = 1 (paper form): loss = −(1/N) Σ_i Σ_k softmax(z_t)_ik · log softmax(z_s)_ik, i.e. cross-entropy with the
// teacher's probabilities as soft targets — LibTorch's cross_entropy with probability targets is the independent path.
TEST(DistillLoss, TemperatureOneBetaOneIsCrossEntropyWithTeacherProbabilities) {
  torch::manual_seed(1);
  auto zs = torch::randn({32, 10}, torch::kFloat64) * 3, zt = torch::randn({32, 10}, torch::kFloat64) * 3;
  auto y = torch::randint(0, 10, {32}, torch::kInt64);
  auto ours = distillation_loss(zs, zt, y, DistillationOptions::paper(1.0));
  auto pt = torch::softmax(zt, 1);
  auto reference = torch::nn::functional::cross_entropy(zs, pt);
  EXPECT_NEAR(ours.item<double>(), reference.item<double>(), 1e-12);
  // and by hand
  EXPECT_NEAR(ours.item<double>(), -(pt * torch::log_softmax(zs, 1)).sum(1).mean().item<double>(), 1e-12);
  // The default options are the paper form at T = 1.
  EXPECT_NEAR(distillation_loss(zs, zt, y).item<double>(), ours.item<double>(), 0.0);
}

// β = 0 leaves only the hard term: label-smoothed cross-entropy with ε = smoothing.
TEST(DistillLoss, BetaZeroIsLabelSmoothedCrossEntropy) {
  torch::manual_seed(2);
  auto zs = torch::randn({16, 7}, torch::kFloat64), zt = torch::randn({16, 7}, torch::kFloat64);
  auto y = torch::randint(0, 7, {16}, torch::kInt64);
  auto ours = distillation_loss(zs, zt, y, DistillationOptions::hinton(4.0, 0.0).smoothing(0.2));
  auto reference = torch::nn::functional::cross_entropy(
      zs, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.2));
  EXPECT_NEAR(ours.item<double>(), reference.item<double>(), 1e-12);
}

// KL(p ‖ p) = 0: a student equal to its teacher (Hinton form, student also at T) has zero KL loss and zero gradient;
// the cross-entropy form gives the teacher's entropy H(p_t) with the same zero gradient.
TEST(DistillLoss, StudentEqualToTeacherHasZeroKlAndZeroGradient) {
  torch::manual_seed(3);
  auto zt = torch::randn({8, 5}, torch::kFloat64) * 2;
  for (auto term : {SoftTerm::KL, SoftTerm::CrossEntropy}) {
    auto zs = zt.clone().requires_grad_(true);
    auto o = DistillationOptions::hinton(3.0, 1.0).soft_term(term);
    auto loss = distillation_loss(zs, zt, torch::Tensor(), o);
    loss.backward();
    auto pt = torch::softmax(zt / 3.0, 1);
    const double entropy = -(pt * pt.log()).sum(1).mean().item<double>() * 9.0; // T² = 9
    EXPECT_NEAR(loss.item<double>(), term == SoftTerm::KL ? 0.0 : entropy, 1e-12);
    EXPECT_LT(zs.grad().abs().max().item<double>(), 1e-12);
  }
}

// Batch mean: per-sample sums over K, then / N — KLDiv's 'batchmean', not the elementwise 'mean' (/ (N·K)).
TEST(DistillLoss, MeanReductionIsPerSampleBatchMean) {
  torch::manual_seed(4);
  const int64_t N = 12, K = 9;
  auto zs = torch::randn({N, K}, torch::kFloat64), zt = torch::randn({N, K}, torch::kFloat64) * 2;
  auto o = DistillationOptions::hinton(2.0, 1.0);
  auto per = distillation_loss(zs, zt, torch::Tensor(), o.reduction(Reduction::None));
  ASSERT_EQ(per.sizes(), torch::IntArrayRef({N}));
  const double sum = distillation_loss(zs, zt, torch::Tensor(), o.reduction(Reduction::Sum)).item<double>();
  const double mean = distillation_loss(zs, zt, torch::Tensor(), o.reduction(Reduction::Mean)).item<double>();
  EXPECT_NEAR(sum, per.sum().item<double>(), 1e-12);
  EXPECT_NEAR(mean, sum / double(N), 1e-12);
  auto log_ps = torch::log_softmax(zs / 2.0, 1), pt = torch::softmax(zt / 2.0, 1);
  auto batchmean = torch::kl_div(log_ps, pt, at::Reduction::Sum) / double(N) * 4.0;
  EXPECT_NEAR(mean, batchmean.item<double>(), 1e-12);
  const double buggy = (torch::kl_div(log_ps, pt, at::Reduction::Mean) * 4.0).item<double>(); // / (N·K)
  EXPECT_NEAR(buggy * double(K), mean, 1e-12);
  EXPECT_GT(mean, 2.0 * buggy);
}

// Central finite differences in float64 for every form: (L(z + h·e_j) − L(z − h·e_j)) / 2h vs autograd.
TEST(DistillLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(5);
  auto z0 = torch::randn({4, 6}, torch::kFloat64) * 2, zt = torch::randn({4, 6}, torch::kFloat64) * 2;
  auto y = torch::tensor({0, 3, 5, 1}, torch::kInt64);
  std::vector<DistillationOptions> forms = {
      DistillationOptions::paper(2.5),
      DistillationOptions::hinton(4.0, 0.3).smoothing(0.1),
      DistillationOptions::paper(1.5).beta(0.5).soft_term(SoftTerm::KL)};
  for (const auto& o : forms) {
    auto z = z0.clone().requires_grad_(true);
    distillation_loss(z, zt, y, o).backward();
    const auto numeric = finite_difference_gradient(
        [&](const torch::Tensor& x) { return distillation_loss(x, zt, y, o).item<double>(); }, z0);
    EXPECT_TENSOR_NEAR(z.grad(), numeric, 1e-6, 1e-9);
  }
}

// Gradient of the soft term w.r.t. z_s is (p_s(T) − p_t(T))/T per sample (÷ N); with T² it is T·(p_s − p_t) ≈
// (z_s − z_t)/K for large T and zero-mean logits ([H] §2.1): comparable across T. Without T² it shrinks like 1/T².
TEST(DistillLoss, TSquaredKeepsGradientNormsComparableAcrossTemperatures) {
  torch::manual_seed(6);
  auto zs0 = torch::randn({64, 10}, torch::kFloat64), zt = torch::randn({64, 10}, torch::kFloat64);
  auto grad_norm = [&](double T, bool t_squared) {
    auto zs = zs0.clone().requires_grad_(true);
    distillation_loss(zs, zt, torch::Tensor(), DistillationOptions::hinton(T, 1.0).t_squared(t_squared)).backward();
    return zs.grad().norm().item<double>();
  };
  const double g4 = grad_norm(4, true), g8 = grad_norm(8, true), g16 = grad_norm(16, true);
  EXPECT_NEAR(g8 / g4, 1.0, 0.05);
  EXPECT_NEAR(g16 / g4, 1.0, 0.05);
  // Limit: ‖(z_s − z_t)_centred‖ / (K·N).
  auto d = zs0 - zt;
  d = d - d.mean(1, true);
  EXPECT_NEAR(g16, d.norm().item<double>() / (10.0 * 64.0), 0.01 * g16);
  const double u4 = grad_norm(4, false), u16 = grad_norm(16, false);
  EXPECT_NEAR(u4 / u16, 16.0, 1.0); // ≈ (16/4)²
}

TEST(DistillLoss, TeacherGetsNoGradient) {
  auto zs = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  auto zt = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  distillation_loss(zs, zt, torch::tensor({0, 1, 2, 0}), DistillationOptions::hinton(2, 0.5)).backward();
  EXPECT_TRUE(zs.grad().defined());
  EXPECT_FALSE(zt.grad().defined());
}

TEST(DistillLoss, BadInputsNameTheProblem) {
  auto zs = torch::randn({4, 3}), zt = torch::randn({4, 3}), y = torch::tensor({0, 1, 2, 0});
  auto loss = [&](const torch::Tensor& s, const torch::Tensor& t, const DistillationOptions& o) {
    distillation_loss(s, t, y, o);
  };
  EXPECT_ERROR_MENTIONS(loss(zs, zt, DistillationOptions::paper(0.0)), "--temperature must be positive, got 0");
  EXPECT_ERROR_MENTIONS(loss(zs, zt, DistillationOptions::paper(-2)), "--temperature must be positive, got -2");
  EXPECT_ERROR_MENTIONS(loss(zs, zt, DistillationOptions::paper(NAN)), "--temperature");
  EXPECT_ERROR_MENTIONS(loss(zs, zt, DistillationOptions::paper(1).beta(1.5)), "--beta must be in [0, 1], got 1.5");
  EXPECT_ERROR_MENTIONS(loss(zs, zt, DistillationOptions::paper(1).beta(0.5).smoothing(1.5)), "--smoothing");
  EXPECT_ERROR_MENTIONS(
      loss(zs, torch::randn({4, 5}), DistillationOptions::paper(1)), "teacher has 5 classes but the student has 3");
  EXPECT_ERROR_MENTIONS(loss(zs, torch::randn({5, 3}), DistillationOptions::paper(1)), "rows");
  EXPECT_THROW(distill::parse_soft_term("mse"), Error);
}

// The loss form's names: the spelling config.json and result_settings carry ("paper", "hinton", "custom") is parsed
// back to the same value, and an unknown name is the command line's error.
TEST(DistillLoss, FormNamesRoundTripAndUnknownNamesAreRefused) {
  using distill::Form;
  for (const auto form : {Form::Paper, Form::Hinton, Form::Custom})
    EXPECT_EQ(distill::parse_form(distill::form_name(form)), form);
  EXPECT_STREQ(distill::form_name(Form::Paper), "paper");
  EXPECT_STREQ(distill::form_name(Form::Hinton), "hinton");
  EXPECT_STREQ(distill::form_name(Form::Custom), "custom");
  EXPECT_TRUE(
      error_mentions([] { distill::parse_form("fancy"); }, {"--form: unknown form 'fancy'"}, {"paper", "hinton"}));
  EXPECT_ERROR_MENTIONS(distill::parse_form("Paper", "form"), "form: unknown form 'Paper'");
}

} // namespace
} // namespace smoothlab::testing
