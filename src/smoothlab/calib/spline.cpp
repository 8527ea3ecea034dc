// Spline recalibration: a natural cubic spline fitted to the cumulative calibration error (spline.h).
#include "smoothlab/calib/spline.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {

namespace {

// A cubic spline on equally spaced knots 0, δ, …, 1 by its knot values k and second derivatives m: on [jδ, (j+1)δ]
// with t = u − jδ, value = m_j (−t³/(6δ) + t²/2 − δt/3) + m_{j+1} (t³/(6δ) − δt/6) + k_j (1 − t/δ) + k_{j+1} t/δ.
struct Segment {
  int64_t j;
  double t;
};

Segment segment(double u, double delta, int64_t knots) {
  const auto j = std::clamp(int64_t(std::floor(u / delta)), int64_t(0), knots - 2);
  return {j, u - double(j) * delta};
}

// Rows [2·knots] over (m, k) giving the spline's value (derivative = false) or slope at u.
void basis_row(double u, double delta, int64_t knots, bool derivative, double* row) {
  const auto [j, t] = segment(u, delta, knots);
  std::fill(row, row + 2 * knots, 0.0);
  if (!derivative) {
    row[j] = -t * t * t / (6 * delta) + t * t / 2 - 2 * delta * t / 6;
    row[j + 1] = t * t * t / (6 * delta) - delta * t / 6;
    row[knots + j] = 1 - t / delta;
    row[knots + j + 1] = t / delta;
  } else {
    row[j] = -t * t / (2 * delta) + t - 2 * delta / 6;
    row[j + 1] = t * t / (2 * delta) - delta / 6;
    row[knots + j] = -1 / delta;
    row[knots + j + 1] = 1 / delta;
  }
}

// The natural spline's second derivatives from its knot values: m = S k, S [knots, knots], first and last rows 0,
// the inner ones solving the tridiagonal system m_{i−1} + 4 m_i + m_{i+1} = 6 (k_{i−1} − 2 k_i + k_{i+1}) / δ².
torch::Tensor second_derivatives(int64_t knots, double delta) {
  const int64_t inner = knots - 2;
  auto s = torch::zeros({knots, knots}, torch::kFloat64);
  if (inner == 0)
    return s;
  auto a = 4.0 * torch::eye(inner, torch::kFloat64);
  auto b = torch::zeros({inner, knots}, torch::kFloat64);
  for (int64_t i = 0; i < inner; ++i) {
    if (i + 1 < inner)
      a[i][i + 1] = a[i + 1][i] = 1.0;
    b[i][i] = 6 / (delta * delta);
    b[i][i + 1] = -12 / (delta * delta);
    b[i][i + 2] = 6 / (delta * delta);
  }
  s.slice(0, 1, knots - 1) = at::linalg_solve(a, b);
  return s;
}

// min_k ‖A k − e‖ for A [n, p] row-major (n ≥ p) by Householder QR in plain loops on the calling thread. LAPACK's
// lstsq through the threaded BLAS summed in an order that depended on whether its threads were free (the last bit of a
// cross-validated NLL changed between runs); here every call sums in the same order. A column with no component left
// (rank deficiency) gets coefficient 0.
std::vector<double> least_squares(std::vector<double> a, std::vector<double> e, int64_t n, int64_t p) {
  std::vector<double> diag(static_cast<size_t>(p), 0.0);
  for (int64_t j = 0; j < p; ++j) {
    double norm = 0;
    for (int64_t i = j; i < n; ++i)
      norm += a[size_t(i * p + j)] * a[size_t(i * p + j)];
    norm = std::sqrt(norm);
    if (norm == 0)
      continue;
    const double alpha = a[size_t(j * p + j)] > 0 ? -norm : norm;
    a[size_t(j * p + j)] -= alpha; // v = x − α e₁, stored in column j from row j down
    double vv = 0;
    for (int64_t i = j; i < n; ++i)
      vv += a[size_t(i * p + j)] * a[size_t(i * p + j)];
    auto reflect = [&](auto at) { // y ← y − 2 v (vᵀ y) / (vᵀ v)
      double dot = 0;
      for (int64_t i = j; i < n; ++i)
        dot += a[size_t(i * p + j)] * at(i);
      const double f = 2 * dot / vv;
      for (int64_t i = j; i < n; ++i)
        at(i) -= f * a[size_t(i * p + j)];
    };
    for (int64_t c = j + 1; c < p; ++c)
      reflect([&](int64_t i) -> double& { return a[size_t(i * p + c)]; });
    reflect([&](int64_t i) -> double& { return e[size_t(i)]; });
    diag[size_t(j)] = alpha;
  }
  std::vector<double> k(static_cast<size_t>(p), 0.0);
  for (int64_t j = p - 1; j >= 0; --j) {
    if (diag[size_t(j)] == 0)
      continue;
    double sum = e[size_t(j)];
    for (int64_t c = j + 1; c < p; ++c)
      sum -= a[size_t(j * p + c)] * k[size_t(c)];
    k[size_t(j)] = sum / diag[size_t(j)];
  }
  return k;
}

} // namespace

detail::Map1d SplineCalibrator::fit_spline(const std::vector<double>& x, const std::vector<double>& y, int64_t knots) {
  const auto n = int64_t(x.size());
  check(knots >= 3, "spline calibrator: knots must be at least 3, got {}", knots);
  check(n >= knots, "spline calibrator: {} fit examples for {} knots", n, knots);
  const double delta = 1.0 / double(knots - 1);
  // (value | slope) of the spline in terms of its knot values: rows of [m; k] times [S; I].
  const auto to_mk =
      torch::cat({second_derivatives(knots, delta), torch::eye(knots, torch::kFloat64)}, 0).contiguous();
  const double* t = to_mk.data_ptr<double>(); // [2·knots, knots]
  // The least-squares system A k = e, A = (basis rows) · to_mk [n, knots], in plain loops (see least_squares).
  std::vector<double> a(static_cast<size_t>(n * knots), 0.0), e(static_cast<size_t>(n));
  std::vector<double> r(static_cast<size_t>(2 * knots));
  double hits = 0, scores = 0;
  for (int64_t i = 0; i < n; ++i) {
    hits += y[size_t(i)];
    scores += x[size_t(i)];
    e[size_t(i)] = hits / double(n) - scores / double(n);
    std::fill(r.begin(), r.end(), 0.0);
    basis_row(n > 1 ? double(i) / double(n - 1) : 0.0, delta, knots, false, r.data());
    for (int64_t q = 0; q < 2 * knots; ++q)
      if (r[size_t(q)] != 0)
        for (int64_t j = 0; j < knots; ++j)
          a[size_t(i * knots + j)] += r[size_t(q)] * t[q * knots + j];
  }
  const auto k = least_squares(std::move(a), std::move(e), n, knots);
  std::vector<double> mk(static_cast<size_t>(2 * knots), 0.0); // [m; k] = to_mk · k
  for (int64_t q = 0; q < 2 * knots; ++q)
    for (int64_t j = 0; j < knots; ++j)
      mk[size_t(q)] += t[q * knots + j] * k[size_t(j)];
  const double* c = mk.data();
  detail::Map1d m;
  m.kind = detail::Map1d::Kind::LinearClipped;
  m.x = x;
  m.y.resize(size_t(n));
  std::vector<double> row(size_t(2 * knots));
  for (int64_t i = 0; i < n; ++i) {
    basis_row(n > 1 ? double(i) / double(n - 1) : 0.0, delta, knots, true, row.data());
    double slope = 0;
    for (int64_t q = 0; q < 2 * knots; ++q)
      slope += row[size_t(q)] * c[q];
    m.y[size_t(i)] = x[size_t(i)] + slope;
  }
  return m;
}

} // namespace smoothlab::calib
