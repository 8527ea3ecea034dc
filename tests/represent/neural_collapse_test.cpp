// NC1 and NC2 (represent/neural_collapse.h) against their definitions computed the long way (the D×D covariances and
// torch's pseudo-inverse), and their closed forms: perfect collapse, a simplex ETF, invariances.
#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/represent/neural_collapse.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// The definitions of neural_collapse.h with the D×D matrices and torch::linalg_pinv.
double nc1_long_way(const torch::Tensor& h, const torch::Tensor& y, int64_t k) {
  const int64_t d = h.size(1);
  auto means = torch::zeros({k, d}, torch::kFloat64);
  for (int64_t c = 0; c < k; ++c)
    means[c] = h.index({y == c}).mean(0);
  const auto global = means.mean(0);
  auto sw = torch::zeros({d, d}, torch::kFloat64), sb = torch::zeros({d, d}, torch::kFloat64);
  for (int64_t i = 0; i < h.size(0); ++i) {
    const auto v = (h[i] - means[y[i].item<int64_t>()]).unsqueeze(1);
    sw += v.matmul(v.t());
  }
  for (int64_t c = 0; c < k; ++c) {
    const auto v = (means[c] - global).unsqueeze(1);
    sb += v.matmul(v.t());
  }
  sw /= double(h.size(0));
  sb /= double(k);
  return torch::trace(sw.matmul(torch::linalg_pinv(sb, 1e-10, true))).item<double>() / double(k);
}

TEST(NeuralCollapse, Nc1MatchesTheLongWay) {
  torch::manual_seed(3);
  for (const auto& [k, d, n] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 5, 90}, {10, 32, 500}, {4, 2, 60}}) {
    const auto y = torch::arange(n, torch::kInt64) % k;
    const auto centres = torch::randn({k, d}, torch::kFloat64) * 3;
    const auto h = centres.index_select(0, y) + torch::randn({n, d}, torch::kFloat64);
    const auto nc = represent::neural_collapse(h, y, k);
    EXPECT_NEAR(nc.nc1, nc1_long_way(h, y, k), 1e-10 * nc.nc1) << k << " classes, " << d << " dimensions";
    EXPECT_EQ(nc.count, n);
    EXPECT_EQ(nc.dim, d);
    // Invariant to scaling, translating and rotating the features; float32 input is computed in float64.
    const auto q = std::get<0>(torch::linalg_qr(torch::randn({d, d}, torch::kFloat64)));
    const auto moved = represent::neural_collapse(h.matmul(q) * 7 + 2, y, k);
    EXPECT_NEAR(moved.nc1, nc.nc1, 1e-9 * nc.nc1);
    EXPECT_NEAR(moved.nc2_equinorm, nc.nc2_equinorm, 1e-9);
    EXPECT_NEAR(moved.nc2_equiangular, nc.nc2_equiangular, 1e-9);
  }
}

TEST(NeuralCollapse, ClosedForms) {
  // A simplex ETF: the K standard basis vectors (centred, they have equal norms and cosines −1/(K−1)).
  const int64_t k = 4;
  const auto y = torch::arange(40, torch::kInt64) % k;
  const auto etf = torch::eye(k, torch::kFloat64).index_select(0, y);
  auto collapsed = represent::neural_collapse(etf, y, k);
  EXPECT_EQ(collapsed.nc1, 0); // every example on its class mean
  EXPECT_NEAR(collapsed.nc2_equinorm, 0, 1e-15);
  EXPECT_NEAR(collapsed.nc2_equiangular, 0, 1e-15);
  // Two classes on a line, means at ±1, within-class values ±s: Σ_W = s², Σ_B = 1, NC1 = s²/2.
  const auto y2 = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  const auto h2 = torch::tensor({-1.5, -0.5, 0.5, 1.5}, torch::kFloat64).unsqueeze(1);
  EXPECT_NEAR(represent::neural_collapse(h2, y2, 2).nc1, 0.25 / 2, 1e-15);
  // Two classes: their centred means always have equal norms.
  const auto y3 = torch::tensor({0, 1}, torch::kInt64);
  const auto h3 = torch::tensor({{0.0}, {4.0}}, torch::kFloat64);
  EXPECT_NEAR(represent::neural_collapse(h3, y3, 2).nc2_equinorm, 0, 1e-15);
  // Three classes on a line at 0, 1, 5: centred −2, −1, 3, norms 2, 1, 3 → CoV = √(2/3)/2 (population std); cosines
  // +1, −1, −1 → mean |cos + 1/2| over ordered pairs = (1.5 + 0.5 + 0.5)/3.
  const auto line = represent::neural_collapse(
      torch::tensor({{0.0}, {1.0}, {5.0}}, torch::kFloat64), torch::tensor({0, 1, 2}, torch::kInt64), 3);
  EXPECT_NEAR(line.nc2_equinorm, std::sqrt(2.0 / 3) / 2, 1e-15);
  EXPECT_NEAR(line.nc2_equiangular, 2.5 / 3, 1e-15);
  EXPECT_THROW(represent::neural_collapse(h3, y3, 3), Error); // class 2 has no example
  EXPECT_THROW(represent::neural_collapse(h3, y3, 1), Error);
}

} // namespace
} // namespace smoothlab::testing
