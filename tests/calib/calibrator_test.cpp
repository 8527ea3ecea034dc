// The calibrators behind one interface (calib/calibrator.h): each one's invariant or closed form, convergence to its
// stated tolerance, save → load → apply round trips, and refusal of bad input.
#include <cmath>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/dirichlet.h"
#include "smoothlab/calib/ensemble_temperature.h"
#include "smoothlab/calib/histogram_binning.h"
#include "smoothlab/calib/isotonic.h"
#include "smoothlab/calib/kernels.h"
#include "smoothlab/calib/spline.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/calib/vector_scaling.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// Logits whose labels are drawn from softmax(a ⊙ z + b): vector scaling with (a, b) is the true calibration map.
struct Source {
  torch::Tensor logits, labels;
};
Source vector_source(int64_t n, int64_t k, const torch::Tensor& a, const torch::Tensor& b, uint64_t seed) {
  torch::manual_seed(seed);
  auto z = torch::randn({n, k}, torch::kFloat64) * 2.0;
  auto y = torch::multinomial(torch::softmax(z * a + b, 1), 1).squeeze(1);
  return {z, y};
}

double nll_of(const torch::Tensor& log_p, const torch::Tensor& labels) {
  return torch::nll_loss(log_p, labels).item<double>();
}

TEST(CalibCalibrator, TemperatureIsTheOneParameterCaseOfVectorScaling) {
  auto s = vector_source(2000, 5, torch::full({5}, 0.5, torch::kFloat64), torch::zeros({5}, torch::kFloat64), 1);
  calib::TemperatureCalibrator ts;
  ts.fit(s.logits, s.labels);
  calib::VectorScaling vs;
  vs.set(torch::full({5}, 1.0 / ts.temperature(), torch::kFloat64), torch::zeros({5}, torch::kFloat64));
  // The same map written two ways: softmax(z/T) and softmax((1/T)·z + 0); float64 throughout.
  EXPECT_TENSOR_NEAR(vs.log_probs(s.logits), ts.log_probs(s.logits), 0, 1e-12);
  // The fitted vector scaling starts from that point, so its NLL is never worse.
  calib::VectorScaling fitted;
  const auto r = fitted.fit(s.logits, s.labels);
  EXPECT_TRUE(r.converged);
  EXPECT_LE(r.gradient_norm, 1e-6);
  EXPECT_LE(nll_of(fitted.log_probs(s.logits), s.labels), nll_of(ts.log_probs(s.logits), s.labels) + 1e-12);
}

TEST(CalibCalibrator, VectorScalingRecoversTheTrueMap) {
  // Softmax is invariant to adding one constant to b, so b is compared after centring; n = 40000 gives a standard
  // error of about 0.02 per parameter here, hence the 0.1 tolerance.
  auto a = torch::tensor({0.5, 1.0, 1.5, 0.8}, torch::kFloat64);
  auto b = torch::tensor({0.3, -0.2, 0.0, -0.1}, torch::kFloat64);
  auto s = vector_source(40000, 4, a, b, 2);
  calib::VectorScaling vs;
  const auto r = vs.fit(s.logits, s.labels);
  EXPECT_TRUE(r.converged);
  EXPECT_LT(r.objective_after, r.objective_before);
  EXPECT_TENSOR_NEAR(vs.scale(), a, 0, 0.1);
  EXPECT_TENSOR_NEAR(vs.bias() - vs.bias().mean(), b - b.mean(), 0, 0.1);
}

TEST(CalibCalibrator, DirichletWithIdentityIsTheIdentityOnLogP) {
  torch::manual_seed(3);
  auto z = torch::randn({50, 6}, torch::kFloat64) * 3.0;
  calib::LinearCalibrator dirichlet(calib::LinearCalibrator::Input::LogProbabilities);
  dirichlet.set(torch::eye(6, torch::kFloat64), torch::zeros({6}, torch::kFloat64));
  EXPECT_TENSOR_NEAR(dirichlet.log_probs(z), torch::log_softmax(z, 1), 0, 1e-12);
  // Matrix scaling with W = I/T is temperature scaling.
  calib::LinearCalibrator matrix(calib::LinearCalibrator::Input::Logits);
  matrix.set(torch::eye(6, torch::kFloat64) / 2.5, torch::zeros({6}, torch::kFloat64));
  EXPECT_TENSOR_NEAR(matrix.log_probs(z), torch::log_softmax(z / 2.5, 1), 0, 1e-12);
}

TEST(CalibCalibrator, DirichletFitIsStationaryAndOdirShrinksOffDiagonal) {
  auto s = vector_source(3000, 4, torch::full({4}, 0.7, torch::kFloat64), torch::zeros({4}, torch::kFloat64), 4);
  calib::TemperatureCalibrator ts;
  ts.fit(s.logits, s.labels);
  const double ts_nll = nll_of(ts.log_probs(s.logits), s.labels);
  for (const char* name : {"matrix", "dirichlet"}) {
    SCOPED_TRACE(name);
    auto weak = calib::make_calibrator(name, calib::CalibratorOptions{1e-6, 500, 1e-4, 1e-4, 15});
    // λ = μ = 100: the penalty's curvature 2·100/12 keeps a 1e-6 gradient within float64's resolution of the
    // objective (at λ = 1e4 a step that lowers the gradient by 1e-6 changes the objective by ~1e-16: no solver
    // can certify that tolerance, and the fit says so with converged = false).
    auto strong = calib::make_calibrator(name, calib::CalibratorOptions{1e-6, 500, 1e2, 1e2, 15});
    const auto rw = weak->fit(s.logits, s.labels);
    const auto rs = strong->fit(s.logits, s.labels);
    EXPECT_TRUE(rw.converged);
    EXPECT_TRUE(rs.converged);
    // The start (W = I/T, b = 0) has penalty 0 and the TS NLL: the optimum's objective is no larger.
    EXPECT_LE(rw.objective_after, ts_nll + 1e-12);
    auto off = [](const calib::Calibrator& c) {
      const auto& w = dynamic_cast<const calib::LinearCalibrator&>(c).weight();
      return (w - torch::diag(torch::diag(w))).abs().max().item<double>();
    };
    // λ = 100 (over K(K−1) = 12 terms) pins the off-diagonal weights near 0; λ = 1e-4 does not.
    EXPECT_LT(off(*strong), 0.02);
    EXPECT_GT(off(*weak), off(*strong));
  }
}

TEST(CalibCalibrator, EnsembleTemperatureWeightsOnTheSimplexAndNoWorseThanTs) {
  auto s = vector_source(3000, 10, torch::full({10}, 0.4, torch::kFloat64), torch::zeros({10}, torch::kFloat64), 5);
  calib::EnsembleTemperature ets;
  const auto r = ets.fit(s.logits, s.labels);
  EXPECT_TRUE(r.converged);
  const auto& w = ets.weights();
  EXPECT_NEAR(w[0] + w[1] + w[2], 1.0, 1e-12);
  calib::TemperatureCalibrator ts;
  ts.fit(s.logits, s.labels);
  EXPECT_NEAR(ets.temperature(), ts.temperature(), 1e-12);
  const auto log_q = ets.log_probs(s.logits);
  // w = (1, 0, 0) is temperature scaling, so the fitted mixture's NLL is at most TS's.
  EXPECT_LE(nll_of(log_q, s.labels), nll_of(ts.log_probs(s.logits), s.labels) + 1e-9);
  // The mixture written out directly.
  auto expected = torch::log(
      w[0] * torch::softmax(s.logits / ets.temperature(), 1) + w[1] * torch::softmax(s.logits, 1) + w[2] / 10.0);
  EXPECT_TENSOR_NEAR(log_q, expected, 1e-12, 1e-12);
  // Argmax is unchanged.
  EXPECT_TRUE(torch::equal(log_q.argmax(1), s.logits.argmax(1)));
}

TEST(CalibCalibrator, HistogramBinningByHand) {
  // Two classes; logits [0, d] give confidence σ(|d|). Six examples predicted as class 1 (d > 0) with confidences
  // rising in d; bins = 2: ranks 0–2 and 3–5. Correct: rows 0, 2 (bin 1: 2/3) and 3, 4, 5 (bin 2: 3/3).
  // Class 0 has fewer than 2 examples predicted as it (none), so it would use the pooled map.
  auto d = torch::tensor({0.1, 0.2, 0.3, 1.0, 2.0, 3.0}, torch::kFloat64);
  auto z = torch::stack({torch::zeros_like(d), d}, 1);
  auto y = torch::tensor({1, 0, 1, 1, 1, 1}, torch::kInt64);
  calib::HistogramBinning hb(2);
  const auto r = hb.fit(z, y);
  EXPECT_TRUE(r.exact);
  ASSERT_EQ(hb.maps().per_class.count(1), 1u);
  const auto& m = hb.maps().per_class.at(1);
  ASSERT_EQ(m.x.size(), 2u);
  EXPECT_NEAR(m.x[0], 1.0 / (1.0 + std::exp(-0.3)), 1e-15);
  EXPECT_NEAR(m.y[0], 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(m.y[1], 1.0, 1e-15);
  // A new confidence σ(0.25) falls in bin 1; σ(5) beyond the last edge stays in bin 2 (1 − 1e-12 after clamping).
  auto q = hb.log_probs(torch::tensor({{0.0, 0.25}, {0.0, 5.0}}, torch::kFloat64)).exp();
  EXPECT_NEAR(q[0][1].item<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(q[0][0].item<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(q[1][1].item<double>(), 1.0, 1e-11);
}

TEST(CalibCalibrator, IsotonicPavByHandAndMonotone) {
  // PAV on y = [1, 0, 1, 1] at x = [.1, .2, .3, .4]: the first two pool to 0.5; interpolation between knots.
  const auto m = calib::IsotonicCalibrator::fit_isotonic({0.1, 0.2, 0.3, 0.4}, {1, 0, 1, 1});
  ASSERT_EQ(m.x.size(), 4u);
  EXPECT_DOUBLE_EQ(m(0.05), 0.5);
  EXPECT_DOUBLE_EQ(m(0.15), 0.5);
  EXPECT_NEAR(m(0.25), 0.75, 1e-15);
  EXPECT_DOUBLE_EQ(m(0.9), 1.0);
  // Equal x merged first: x = [.1, .1, .2], y = [1, 0, 0] → means 0.5 (weight 2) and 0 → pooled (0.5·2 + 0)/3.
  const auto tied = calib::IsotonicCalibrator::fit_isotonic({0.1, 0.1, 0.2}, {1, 0, 0});
  EXPECT_NEAR(tied(0.1), 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(tied(0.2), 1.0 / 3.0, 1e-15);
  // Monotone on real data: the calibrated confidence never decreases with the input confidence within a map.
  auto s = vector_source(5000, 3, torch::full({3}, 0.5, torch::kFloat64), torch::zeros({3}, torch::kFloat64), 6);
  calib::IsotonicCalibrator iso;
  iso.fit(s.logits, s.labels);
  const auto& pooled = iso.maps().pooled;
  double previous = -1;
  for (int i = 0; i <= 1000; ++i) {
    const double v = pooled(1.0 / 3.0 + (2.0 / 3.0) * i / 1000.0);
    EXPECT_GE(v, previous);
    previous = v;
  }
}

TEST(CalibCalibrator, SplineByClosedForms) {
  // Outcomes equal to the confidences: the cumulative error is 0, so is the spline, and the map is the identity.
  std::vector<double> x(200), same(200), shifted(200);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.3 + 0.65 * double(i) / 199.0;
    same[i] = x[i];
    shifted[i] = x[i] + 0.1;
  }
  const auto identity = calib::SplineCalibrator::fit_spline(x, same, 6);
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(identity.y[i], x[i], 1e-14);
  // Outcomes = confidence + c: E(u_i) = c (i + 1) / n is linear in u_i = i / (n − 1), which a natural cubic spline
  // represents exactly, so every confidence moves by E' = c (n − 1) / n; values past 1 are clipped on application.
  const auto moved = calib::SplineCalibrator::fit_spline(x, shifted, 6);
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(moved.y[i], x[i] + 0.1 * 199.0 / 200.0, 1e-12);
  EXPECT_NEAR(moved(0.5), 0.5 + 0.1 * 199.0 / 200.0, 1e-12);
  EXPECT_DOUBLE_EQ(moved(0.95), 1.0);
  EXPECT_DOUBLE_EQ(moved(0.99), 1.0);
  EXPECT_NEAR(moved(0.1), 0.3 + 0.1 * 199.0 / 200.0, 1e-12); // constant below the first knot
  EXPECT_ERROR_MENTIONS(
      calib::SplineCalibrator::fit_spline({0.1, 0.2, 0.3}, {0, 1, 1}, 6), "3 fit examples", "6 knots");
}

// The spline's least squares sums in one fixed order: fits run concurrently (as compare's cross-validation folds do)
// give the same bits as a fit on its own. (Through LAPACK's threaded lstsq the last bit depended on thread timing.)
TEST(CalibCalibrator, SplineFitIsBitIdenticalWhenFitsRunConcurrently) {
  std::vector<double> x(3000), y(3000);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.2 + 0.79 * double(i) / 2999.0;
    y[i] = (i * 7919 % 1000) < 1000 * x[i] * x[i] ? 1.0 : 0.0; // outcomes of mean ≈ x²: a curved map
  }
  const auto alone = calib::SplineCalibrator::fit_spline(x, y, 6);
  std::vector<calib::detail::Map1d> together(8);
  at::parallel_for(0, 8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      together[size_t(i)] = calib::SplineCalibrator::fit_spline(x, y, 6);
  });
  for (const auto& m : together)
    EXPECT_EQ(m.y, alone.y);
  EXPECT_GT(std::abs(alone(0.5) - 0.5), 0.1); // it did move the confidences (mean outcome ≈ 0.25 at 0.5)
}

TEST(CalibCalibrator, TopLabelRenormalisationKeepsRatios) {
  auto log_p = torch::log(torch::tensor({{0.5, 0.3, 0.2}, {0.1, 0.1, 0.8}}, torch::kFloat64));
  auto q = calib::detail::renormalise_top_label(log_p, torch::tensor({0.6, 0.5}, torch::kFloat64)).exp();
  EXPECT_TENSOR_NEAR(q, torch::tensor({{0.6, 0.4 * 0.6, 0.4 * 0.4}, {0.25, 0.25, 0.5}}, torch::kFloat64), 0, 1e-15);
}

// The re-normalisation from raw logits (kernels.h's top-label pass: the others' log-sum-exp as x_top + log rest,
// exactly from x where rest < 1e-250) against LibTorch's log-sum-exp of the other classes: rows of ordinary logits,
// a tie for the top class, a row whose others' relative mass is below 1e-250 (the exact path) and one where it is
// ≈ 1e-200 (it is not); float32 logits as their float64 copy.
TEST(CalibCalibrator, TopLabelRenormalisationFromLogitsEqualsLibTorchs) {
  torch::manual_seed(3);
  auto z = torch::randn({6, 7}, torch::kFloat64) * 3;
  z[1][4] = z[1].max().item<double>(); // a tie at the top: the lower index is the top class
  z[2] =
      torch::tensor({0.0, -700.0, -800.0, -650.0, -900.0, -720.0, -701.0}, torch::kFloat64); // 1 − p̂ ≈ e^−650 < 1e-250
  z[3] =
      torch::tensor({-460.0, 0.0, -470.0, -480.0, -500.0, -465.0, -490.0}, torch::kFloat64); // 1 − p̂ ≈ e^−460 ≈ 1e-200
  const auto c = torch::tensor({0.3, 0.9, 0.5, 0.2, 0.999, 1e-6}, torch::kFloat64);
  const auto top = std::get<1>(z.max(1)); // the first of a tie, as LibTorch documents
  const auto is_top = torch::zeros_like(z, torch::kBool).scatter_(1, top.unsqueeze(1), true);
  const auto others_lse = torch::logsumexp(z.masked_fill(is_top, -INFINITY), 1, true);
  const auto want = (z - others_lse + torch::log1p(-c).unsqueeze(1)).masked_scatter(is_top, torch::log(c));
  const auto got = calib::detail::renormalise_top_label(z, c);
  // Absolute: both sides subtract logits of up to 900 (an ulp of 900 is 1.1e-13) to get log-probabilities near −0.7.
  EXPECT_TENSOR_NEAR(got, want, 1e-14, 5e-13);
  EXPECT_TENSOR_NEAR(got.exp().sum(1), torch::ones({6}, torch::kFloat64), 1e-12, 0); // log-probabilities near −700
  // The same from float32 logits and the top-label pass of them: the bits of their float64 copy.
  const auto z32 = z.to(torch::kFloat);
  const auto z64 = z32.to(torch::kFloat64);
  std::vector<int64_t> t32(6), t64(6);
  std::vector<double> r32(6), r64(6);
  calib::detail::top_label_rows(z32.data_ptr<float>(), 6, 7, t32.data(), r32.data());
  calib::detail::top_label_rows(z64.data_ptr<double>(), 6, 7, t64.data(), r64.data());
  EXPECT_EQ(t32, t64);
  EXPECT_EQ(r32, r64);
  auto from32 = torch::empty_like(z), from64 = torch::empty_like(z);
  calib::detail::renormalise_top_label_rows(
      z32.data_ptr<float>(), t32.data(), r32.data(), c.data_ptr<double>(), 6, 7, from32.data_ptr<double>());
  calib::detail::renormalise_top_label_rows(
      z64.data_ptr<double>(), t64.data(), r64.data(), c.data_ptr<double>(), 6, 7, from64.data_ptr<double>());
  EXPECT_TENSOR_NEAR(from32, from64, 0, 0);
}

// The top-label pass against LibTorch's softmax: the top class (the first of a tie) and the others' mass relative to
// the top class's, Σ_{j≠top} exp(z_j − z_top) = (1 − p̂)/p̂, on rows of K = 1 … 13 classes (every tail length of the
// 4-lane sums, the top class at every position) and on rows whose others lie 700 (≈ e^−700 each) or 750 (exp taken as
// 0) below the top.
TEST(CalibKernels, TopLabelRowsGiveTheTopClassAndTheOthersRelativeMass) {
  torch::manual_seed(5);
  for (int64_t k = 1; k <= 13; ++k) {
    SCOPED_TRACE(k);
    auto z = torch::randn({3 * k + 2, k}, torch::kFloat64) * 4;
    for (int64_t i = 0; i < k; ++i) // row i's top class is i
      z[i][i] = 20.0;
    if (k >= 2) {
      z[k][k - 1] = 30.0; // a tie at the top: the first is the top class
      z[k][0] = 30.0;
      z[k + 1] = torch::full({k}, -700.0, torch::kFloat64); // the others at e^−700 relative to the top
      z[k + 1][k / 2] = 0.0;
      z[k + 2] = torch::full({k}, -750.0, torch::kFloat64); // below e^−708: counted as 0
      z[k + 2][0] = 0.0;
    }
    const int64_t n = z.size(0);
    std::vector<int64_t> top(size_t(n), -1);
    std::vector<double> rest(size_t(n), -1);
    calib::detail::top_label_rows(z.data_ptr<double>(), n, k, top.data(), rest.data());
    const auto want_top = std::get<1>(z.max(1));
    const auto p = torch::softmax(z, 1);
    for (int64_t r = 0; r < n; ++r) {
      SCOPED_TRACE(r);
      const int64_t t = top[size_t(r)];
      ASSERT_EQ(t, want_top[r].item<int64_t>());
      const auto others = torch::ones({k}, torch::kBool).index_fill_(0, torch::tensor({t}), false);
      const double want = (z[r] - z[r][t]).exp().masked_select(others).sum().item<double>();
      if (k == 1 || (r == k + 2)) {
        EXPECT_EQ(rest[size_t(r)], 0.0);
      } else if (r == k + 1) {
        EXPECT_NEAR(rest[size_t(r)] / (double(k - 1) * std::exp(-700.0)), 1.0, 1e-15);
      } else {
        EXPECT_NEAR(rest[size_t(r)] / want, 1.0, 1e-14);
        EXPECT_NEAR(1.0 / (1.0 + rest[size_t(r)]), p[r][t].item<double>(), 1e-15);
      }
    }
  }
}

// Top-label calibrators take float32 logits a block of rows at a time, converting each block exactly: fit and apply
// on float32 logits give the bits of the same on their float64 copy.
TEST(CalibCalibrator, TopLabelFloat32LogitsGiveTheBitsOfTheirFloat64Copy) {
  auto s = vector_source(700, 5, torch::full({5}, 0.6, torch::kFloat64), torch::zeros({5}, torch::kFloat64), 11);
  const auto z32 = s.logits.to(torch::kFloat);
  for (const std::string name : {"histogram", "isotonic", "spline"}) {
    SCOPED_TRACE(name);
    auto a = calib::make_calibrator(name), b = calib::make_calibrator(name);
    a->fit(z32, s.labels);
    b->fit(z32.to(torch::kFloat64), s.labels);
    EXPECT_EQ(a->state().dump(), b->state().dump());
    EXPECT_TENSOR_NEAR(a->log_probs(z32), b->log_probs(z32.to(torch::kFloat64)), 0, 0);
  }
}

TEST(CalibCalibrator, SaveLoadApplyRoundTripsForEveryMethod) {
  auto s = vector_source(600, 4, torch::full({4}, 0.6, torch::kFloat64), torch::zeros({4}, torch::kFloat64), 7);
  auto held = vector_source(100, 4, torch::full({4}, 0.6, torch::kFloat64), torch::zeros({4}, torch::kFloat64), 8);
  for (const auto& name : calib::calibrator_names()) {
    SCOPED_TRACE(name);
    auto c = calib::make_calibrator(name);
    const auto r = c->fit(s.logits, s.labels);
    EXPECT_TRUE(r.converged);
    EXPECT_EQ(r.count, 600);
    const auto text = c->state().dump();
    auto loaded = calib::load_calibrator(nlohmann::json::parse(text), "cal.json");
    EXPECT_EQ(loaded->name(), name);
    EXPECT_EQ(loaded->classes(), 4);
    const auto a = c->log_probs(held.logits), b = loaded->log_probs(held.logits);
    EXPECT_TENSOR_NEAR(b, a, 0, 0); // JSON keeps doubles exactly (17 significant digits)
    // Rows are distributions.
    EXPECT_TENSOR_NEAR(torch::logsumexp(a, 1), torch::zeros({100}, torch::kFloat64), 0, 1e-12);
  }
}

TEST(CalibCalibrator, RefusesBadInput) {
  auto z = torch::randn({20, 3}, torch::kFloat64);
  auto y = torch::randint(0, 3, {20}, torch::kInt64);
  auto vs = calib::make_calibrator("vector");
  EXPECT_ERROR_MENTIONS(vs->log_probs(z), "apply before fit");
  EXPECT_ERROR_MENTIONS(vs->fit(torch::randn({20, 1}), torch::zeros({20}, torch::kInt64)), "K ≥ 2", "K = 1");
  auto nan = z.clone();
  nan[4][1] = std::nan("");
  EXPECT_ERROR_MENTIONS(vs->fit(nan, y), "NaN", "row 4");
  auto out_of_range = y.clone();
  out_of_range[2] = 3;
  EXPECT_ERROR_MENTIONS(vs->fit(z, out_of_range), "label 3 at row 2", "out of range");
  vs->fit(z, y);
  EXPECT_ERROR_MENTIONS(vs->log_probs(torch::randn({5, 4})), "does not match", "3 classes");
  auto state = vs->state();
  state["classes"] = 4;
  EXPECT_ERROR_MENTIONS(calib::load_calibrator(state, "cal.json"), "cal.json", "'scale' has 3 values, expected 4");
  state["method"] = "platt";
  EXPECT_ERROR_MENTIONS(calib::load_calibrator(state, "cal.json"), "cal.json", "unknown calibrator 'platt'");
  EXPECT_ERROR_MENTIONS(calib::load_calibrator(nlohmann::json::object(), "cal.json"), "cal.json", "not a saved");
  EXPECT_ERROR_MENTIONS(calib::make_calibrator("platt"), "unknown calibrator");
}

} // namespace
} // namespace smoothlab::testing
