// Ensemble temperature scaling: T by temperature scaling, then the simplex weights minimising the convex NLL of
// the mixture, solved on the triangle exactly up to the tolerance (ensemble_temperature.h).
#include "smoothlab/calib/ensemble_temperature.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

void EnsembleTemperature::set(double temperature, const std::array<double, 3>& weights, int64_t classes) {
  load_parameters({{"temperature", temperature}, {"weights", weights}}, classes);
}

namespace {

// f(w) = −mean_i log(w₀ a_i + w₁ b_i + w₂ c) on the simplex, convex in w (a log of a linear function). Solved
// exactly up to tolerance: the minimum over the triangle is the interior stationary point when Newton finds one
// inside, else the best of the three edges' minima (each a 1-D convex problem, solved by bisection on the derivative).
struct MixtureNll {
  std::vector<double> a, b; // the label's probability under softmax(z/T) and softmax(z)
  double c = 0; // 1/K
  double value(double w0, double w1, double w2) const {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
      sum -= std::log(w0 * a[i] + w1 * b[i] + w2 * c);
    return sum / double(a.size());
  }
  // Directional derivative of f along d at w.
  double slope(const std::array<double, 3>& w, const std::array<double, 3>& d) const {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
      sum -= (d[0] * a[i] + d[1] * b[i] + d[2] * c) / (w[0] * a[i] + w[1] * b[i] + w[2] * c);
    return sum / double(a.size());
  }
};

struct Candidate {
  std::array<double, 3> w{1, 0, 0};
  double value = INFINITY;
  bool converged = false;
  int64_t iterations = 0;
};

// The minimum of f on the segment from p to q (t ∈ [0, 1]), by bisection on the monotone derivative.
Candidate edge_minimum(
    const MixtureNll& f,
    const std::array<double, 3>& p,
    const std::array<double, 3>& q,
    double tol) {
  const std::array<double, 3> d{q[0] - p[0], q[1] - p[1], q[2] - p[2]};
  auto at = [&](double t) { return std::array<double, 3>{p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]}; };
  Candidate out;
  double lo = 0, hi = 1, t = 0;
  if (f.slope(at(0), d) >= 0) {
    t = 0;
    out.converged = true;
  } else if (f.slope(at(1), d) <= 0) {
    t = 1;
    out.converged = true;
  } else {
    for (out.iterations = 0; out.iterations < 200; ++out.iterations) {
      t = (lo + hi) / 2;
      const double g = f.slope(at(t), d);
      if (std::abs(g) <= tol || hi - lo < 1e-15) {
        out.converged = true;
        break;
      }
      (g > 0 ? hi : lo) = t;
    }
  }
  out.w = at(t);
  out.value = f.value(out.w[0], out.w[1], out.w[2]);
  return out;
}

// Damped Newton in (w₀, w₁) (w₂ = 1 − w₀ − w₁) from the centroid; fails (converged = false) when it would leave
// the open triangle, in which case the minimum lies on an edge.
Candidate interior_minimum(const MixtureNll& f, double tol, int64_t max_iterations) {
  Candidate out;
  double w0 = 1.0 / 3, w1 = 1.0 / 3;
  for (out.iterations = 0; out.iterations < max_iterations; ++out.iterations) {
    double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
    const double w2 = 1 - w0 - w1;
    for (size_t i = 0; i < f.a.size(); ++i) {
      const double s = w0 * f.a[i] + w1 * f.b[i] + w2 * f.c;
      const double d0 = (f.a[i] - f.c) / s, d1 = (f.b[i] - f.c) / s;
      g0 -= d0;
      g1 -= d1;
      h00 += d0 * d0;
      h01 += d0 * d1;
      h11 += d1 * d1;
    }
    const double n = double(f.a.size());
    g0 /= n, g1 /= n, h00 /= n, h01 /= n, h11 /= n;
    if (std::max(std::abs(g0), std::abs(g1)) <= tol) {
      out.converged = true;
      break;
    }
    const double det = h00 * h11 - h01 * h01;
    if (!(det > 0))
      break;
    const double s0 = -(h11 * g0 - h01 * g1) / det, s1 = -(h00 * g1 - h01 * g0) / det;
    // Backtracking on f, staying strictly inside.
    const double current = f.value(w0, w1, w2);
    double step = 1;
    bool moved = false;
    for (int k = 0; k < 60; ++k, step /= 2) {
      const double n0 = w0 + step * s0, n1 = w1 + step * s1;
      if (n0 <= 0 || n1 <= 0 || n0 + n1 >= 1)
        continue;
      if (f.value(n0, n1, 1 - n0 - n1) <= current) {
        w0 = n0;
        w1 = n1;
        moved = true;
        break;
      }
    }
    if (!moved)
      break;
  }
  out.w = {w0, w1, 1 - w0 - w1};
  out.value = f.value(w0, w1, 1 - w0 - w1);
  return out;
}

} // namespace

FitReport EnsembleTemperature::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  const int64_t k = logits.size(1);
  temperature_ = fit_temperature(logits, labels).temperature;
  const auto y = labels.unsqueeze(1);
  const auto a = torch::softmax(logits / temperature_, 1).gather(1, y).squeeze(1).contiguous();
  const auto b = torch::softmax(logits, 1).gather(1, y).squeeze(1).contiguous();
  MixtureNll f;
  f.a.assign(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
  f.b.assign(b.data_ptr<double>(), b.data_ptr<double>() + b.numel());
  f.c = 1.0 / double(k);
  const std::array<double, 3> e0{1, 0, 0}, e1{0, 1, 0}, e2{0, 0, 1};
  std::vector<Candidate> candidates{
      interior_minimum(f, tolerance_, std::min<int64_t>(max_iterations_, 100)),
      edge_minimum(f, e0, e1, tolerance_),
      edge_minimum(f, e0, e2, tolerance_),
      edge_minimum(f, e1, e2, tolerance_)};
  FitReport report;
  report.tolerance = tolerance_;
  report.objective_before = f.value(1, 0, 0); // temperature scaling
  const Candidate* best = nullptr;
  bool edges_converged = true;
  for (size_t i = 0; i < candidates.size(); ++i) {
    report.iterations += candidates[i].iterations;
    if (i > 0)
      edges_converged = edges_converged && candidates[i].converged;
    if ((i > 0 || candidates[i].converged) && (!best || candidates[i].value < best->value))
      best = &candidates[i];
  }
  weights_ = best->w;
  report.objective_after = best->value;
  // Converged: the interior stationary point was found, or (there is none inside) every edge was solved.
  report.converged = candidates[0].converged || edges_converged;
  const std::array<double, 3> dirs[3] = {{1, -1, 0}, {1, 0, -1}, {0, 1, -1}};
  for (const auto& d : dirs) // the stopping rule's value: largest feasible descent slope along the edges' directions
    for (double sign : {1.0, -1.0}) {
      const std::array<double, 3> s{sign * d[0], sign * d[1], sign * d[2]};
      bool feasible = true;
      for (int j = 0; j < 3; ++j)
        feasible = feasible && !(weights_[size_t(j)] <= 0 && s[size_t(j)] < 0);
      if (feasible)
        report.gradient_norm = std::max(report.gradient_norm, -f.slope(weights_, s));
    }
  return report;
}

torch::Tensor EnsembleTemperature::log_probs_impl(const torch::Tensor& logits) const {
  const int64_t k = logits.size(1);
  auto log_w = [](double w) { return w > 0 ? std::log(w) : -std::numeric_limits<double>::infinity(); };
  // log(w₀ p₀ + w₁ p₁ + w₂/K) per entry as the max-shifted log-sum-exp of the three terms, in one pass over the two
  // log-softmax results (written over the first).
  auto out = torch::log_softmax(logits / temperature_, 1).contiguous();
  const auto lp1 = torch::log_softmax(logits, 1).contiguous();
  const double lw0 = log_w(weights_[0]), lw1 = log_w(weights_[1]), c = log_w(weights_[2]) - std::log(double(k));
  double* a = out.data_ptr<double>();
  const double* b = lp1.data_ptr<double>();
  at::parallel_for(0, out.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const double t0 = a[i] + lw0, t1 = b[i] + lw1;
      const double m = std::max(std::max(t0, t1), c);
      a[i] = std::isinf(m) ? m : m + std::log(std::exp(t0 - m) + std::exp(t1 - m) + std::exp(c - m));
    }
  });
  return out;
}

nlohmann::json EnsembleTemperature::parameters() const {
  return {{"temperature", temperature_}, {"weights", weights_}};
}

void EnsembleTemperature::set_parameters(const nlohmann::json& parameters, int64_t /*classes*/) {
  const double t = parameters.at("temperature").get<double>();
  const auto w = parameters.at("weights").get<std::array<double, 3>>();
  check(t > 0 && std::isfinite(t), "ets: temperature must be positive and finite, got {}", t);
  check(
      w[0] >= 0 && w[1] >= 0 && w[2] >= 0 && std::abs(w[0] + w[1] + w[2] - 1.0) <= 1e-9,
      "ets: weights must be non-negative and sum to 1, got [{}, {}, {}]",
      w[0],
      w[1],
      w[2]);
  temperature_ = t;
  weights_ = w;
}

} // namespace smoothlab::calib
