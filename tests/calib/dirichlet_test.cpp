// Matrix scaling and Dirichlet calibration's hand-written objective and warm starts (calib/dirichlet.h): the value and
// gradient against autograd on the same formula, and a warm start reaching the cold start's optimum.
#include <torch/torch.h>

#include "smoothlab/calib/dirichlet.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// The ODIR objective written with tensor ops (as dirichlet.cpp computed it with autograd before), at the canonical
// representative of (w, b).
torch::Tensor odir_reference(
    const torch::Tensor& x,
    const torch::Tensor& y,
    const torch::Tensor& w,
    const torch::Tensor& b,
    double lambda,
    double mu) {
  const int64_t k = x.size(1);
  const auto off = 1.0 - torch::eye(k, torch::kFloat64);
  const auto wc = w - ((w * off).sum(0) / double(k - 1)).unsqueeze(0);
  const auto bc = b - b.mean();
  return torch::nll_loss(torch::log_softmax(torch::addmm(bc, x, wc.t()), 1), y) +
      lambda / double(k * (k - 1)) * (wc * wc * off).sum() + mu / double(k) * (bc * bc).sum();
}

TEST(CalibDirichlet, HandWrittenObjectiveAndGradientMatchAutograd) {
  torch::manual_seed(11);
  for (int64_t k : {2, 3, 10}) {
    SCOPED_TRACE(k);
    // 700 rows: more than two of the objective's 256-row blocks. Large logits (|z| up to ~40) and log-probabilities
    // far below 0 exercise the max-shifted log-sum-exp.
    const auto z = torch::randn({700, k}, torch::kFloat64) * 8.0;
    const auto y = torch::randint(k, {700}, torch::kInt64);
    for (const auto& x : {z, torch::log_softmax(z, 1).contiguous()}) {
      auto w = (torch::eye(k, torch::kFloat64) + 0.3 * torch::randn({k, k}, torch::kFloat64)).requires_grad_(true);
      auto b = (0.5 * torch::randn({k}, torch::kFloat64)).requires_grad_(true);
      const double lambda = 0.7, mu = 0.2;
      const auto expected = odir_reference(x, y, w, b, lambda, mu);
      expected.backward();
      torch::Tensor gw, gb;
      const double value = calib::detail::odir_objective(x, y, w.detach(), b.detach(), lambda, mu, &gw, &gb);
      EXPECT_NEAR(value, expected.item<double>(), 1e-12 * std::abs(expected.item<double>()));
      EXPECT_TENSOR_NEAR(gw, w.grad(), 1e-10, 1e-13);
      EXPECT_TENSOR_NEAR(gb, b.grad(), 1e-10, 1e-13);
      // The value alone is the same number.
      EXPECT_EQ(calib::detail::odir_objective(x, y, w.detach(), b.detach(), lambda, mu), value);
    }
  }
}

TEST(CalibDirichlet, WarmStartReachesTheColdOptimum) {
  // Over-confident logits with a class bias: labels from softmax(z/2 + shift).
  torch::manual_seed(12);
  const int64_t k = 6;
  const auto z = torch::randn({3000, k}, torch::kFloat64) * 3.0;
  const auto shift = torch::linspace(-0.5, 0.5, k, torch::kFloat64);
  const auto y = torch::multinomial(torch::softmax(z / 2.0 + shift, 1), 1).squeeze(1);
  for (auto input : {calib::LinearCalibrator::Input::Logits, calib::LinearCalibrator::Input::LogProbabilities}) {
    calib::LinearCalibrator strong(input, 1.0, 1.0), cold(input, 1e-3, 1e-3), warm(input, 1e-3, 1e-3);
    SCOPED_TRACE(cold.name());
    ASSERT_TRUE(strong.fit(z, y).converged);
    const auto rc = cold.fit(z, y);
    warm.warm_start(strong.weight(), strong.bias());
    const auto rw = warm.fit(z, y);
    EXPECT_TRUE(rc.converged);
    EXPECT_TRUE(rw.converged);
    EXPECT_LE(rw.gradient_norm, 1e-6);
    // One strictly convex problem in the canonical parameters: the same optimum to within what the stopping rule
    // allows. A gradient of 1e-6 bounds the objective's gap by ~|∇|²/(2·curvature) but the parameters only by
    // ~|∇|/curvature, and the off-diagonal curvature can be as low as the penalty's 2λ/(K(K−1)) ≈ 7e-5 here. Measured:
    // objectives within 1.1e-11, parameters within 1.7e-4, log-probabilities within 3.3e-4 (rows near −8).
    EXPECT_NEAR(rw.objective_after, rc.objective_after, 1e-10);
    EXPECT_TENSOR_NEAR(warm.weight(), cold.weight(), 0, 2e-3);
    EXPECT_TENSOR_NEAR(warm.bias(), cold.bias(), 0, 2e-3);
    EXPECT_TENSOR_NEAR(warm.log_probs(z), cold.log_probs(z), 0, 2e-3);
    // The warm start is where the fit began (its objective is the strong fit's solution evaluated at λ = 1e-3), and
    // it is used once: a second fit starts from temperature scaling again.
    EXPECT_LT(rw.objective_before, cold.report().objective_before);
    const auto again = warm.fit(z, y);
    EXPECT_EQ(again.objective_before, rc.objective_before);
    // A warm start of another K is refused.
    calib::LinearCalibrator other(input);
    other.warm_start(torch::eye(3, torch::kFloat64), torch::zeros({3}, torch::kFloat64));
    EXPECT_THROW(other.fit(z, y), Error);
  }
}

TEST(CalibDirichlet, BlasPathMatchesTheLoops) {
  // The two ways odir_objective sums its rows (dirichlet.h, OdirPath) differ only in the order of the sums. 5000 rows:
  // full blocks of the BLAS path and a partial one at every K (3276 rows at K = 10, 4096 from K = 256 on); K on both
  // sides of kOdirBlasMinClasses and of 256; logits up to ~40 and log-probabilities far below 0 (rows past the e^−500
  // floor for Dirichlet's features).
  torch::manual_seed(13);
  for (int64_t k : {3, 10, 70, 260}) {
    SCOPED_TRACE(k);
    const auto z = torch::randn({5000, k}, torch::kFloat64) * 8.0;
    const auto y = torch::randint(k, {5000}, torch::kInt64);
    for (const auto& x : {z, torch::log_softmax(z, 1).contiguous()}) {
      const auto w = torch::eye(k, torch::kFloat64) * 3.0 + 0.3 * torch::randn({k, k}, torch::kFloat64);
      const auto b = 0.5 * torch::randn({k}, torch::kFloat64);
      const double lambda = 0.7, mu = 0.2;
      torch::Tensor gw_loop, gb_loop, gw_blas, gb_blas;
      using calib::detail::OdirPath;
      const double loop = calib::detail::odir_objective(x, y, w, b, lambda, mu, &gw_loop, &gb_loop, OdirPath::Loop);
      const double blas = calib::detail::odir_objective(x, y, w, b, lambda, mu, &gw_blas, &gb_blas, OdirPath::Blas);
      EXPECT_NEAR(blas, loop, 1e-12 * std::abs(loop));
      EXPECT_TENSOR_NEAR(gw_blas, gw_loop, 1e-11, 1e-14);
      EXPECT_TENSOR_NEAR(gb_blas, gb_loop, 1e-11, 1e-14);
      // The value alone is the same number on each path.
      EXPECT_EQ(calib::detail::odir_objective(x, y, w, b, lambda, mu, nullptr, nullptr, OdirPath::Blas), blas);
      // Auto takes the loops below kOdirBlasMinClasses and BLAS from there on.
      torch::Tensor gw_auto, gb_auto;
      EXPECT_EQ(
          calib::detail::odir_objective(x, y, w, b, lambda, mu, &gw_auto, &gb_auto),
          k < calib::detail::kOdirBlasMinClasses ? loop : blas);
    }
  }
}

} // namespace
} // namespace smoothlab::testing
