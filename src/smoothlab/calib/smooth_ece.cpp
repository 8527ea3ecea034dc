// Smooth ECE with relplot's discretisation and bandwidth search (smooth_ece.h).
#include "smoothlab/calib/smooth_ece.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <ATen/Parallel.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {
namespace {

// relplot's smooth_round_to_grid: linear splatting of values onto G points j/(G−1).
std::vector<double> splat(const std::vector<double>& f, const std::vector<double>* v, int64_t g) {
  std::vector<double> grid(size_t(g), 0.0);
  for (size_t i = 0; i < f.size(); ++i) {
    const double pos = f[i] * double(g - 1);
    const int64_t bin = std::clamp<int64_t>(int64_t(pos), 0, g - 2); // numpy's astype(int) truncates
    const double frac = pos - double(bin);
    const double value = v ? (*v)[i] : 1.0;
    grid[size_t(bin)] += (1 - frac) * value;
    grid[size_t(bin + 1)] += frac * value;
  }
  return grid;
}

// ReflectedGaussianKernel.convolve: the grid extended by its mirror images at both ends, convolved with φ_σ sampled
// at linspace(0, 1, G) − 1/2, the G central values kept.
std::vector<double> reflect_convolve(const std::vector<double>& values, double sigma) {
  const int64_t g = int64_t(values.size());
  std::vector<double> kernel(static_cast<size_t>(g));
  const double norm = std::sqrt(2 * M_PI) * sigma;
  for (int64_t j = 0; j < g; ++j) {
    const double t = double(j) / double(g - 1) - 0.5; // np.linspace(0, 1, G)[j] − 0.5
    kernel[size_t(j)] = std::exp(-t * t / (2 * sigma * sigma)) / norm;
  }
  // ext[e]: e ≤ G−2 → values[G−1−e]; G−1 ≤ e ≤ 2G−2 → values[e−G+1]; beyond → values[3G−3−e].
  auto ext = [&](int64_t e) {
    if (e < g - 1)
      return values[size_t(g - 1 - e)];
    if (e <= 2 * g - 2)
      return values[size_t(e - g + 1)];
    return values[size_t(3 * g - 3 - e)];
  };
  // out[i] = Σ_j ext[G/2 + i + j]·kernel[G−1−j] (np.convolve 'valid'); terms beyond 40σ are exactly 0 in float64.
  const int64_t reach = std::min<int64_t>(g, int64_t(std::ceil(40 * sigma * double(g - 1))) + 1);
  const int64_t centre = (g - 1) / 2; // kernel[j] peaks at j/(G−1) = 1/2
  std::vector<double> out(size_t(g), 0.0);
  for (int64_t i = 0; i < g; ++i) {
    double sum = 0;
    const int64_t lo = std::max<int64_t>(0, centre - reach), hi = std::min<int64_t>(g - 1, centre + reach + 1);
    for (int64_t j = lo; j <= hi; ++j)
      sum += ext(g / 2 + i + j) * kernel[size_t(g - 1 - j)];
    out[size_t(i)] = sum;
  }
  return out;
}

// relplot's interpolate: linear interpolation of i/(len−1) ↦ y[i] at t.
double interpolate(const std::vector<double>& y, double t) {
  const int64_t count = int64_t(y.size());
  const double bucket = 1.0 / double(count - 1);
  const int64_t i = std::clamp<int64_t>(int64_t(t * double(count - 1)), 0, count - 2);
  const double residual = (t - double(i) * bucket) / bucket;
  return y[size_t(i)] * (1 - residual) + y[size_t(i + 1)] * residual;
}

SmoothEce evaluate(const std::vector<double>& f, const std::vector<double>& y, double sigma, bool keep_curve) {
  check(f.size() == y.size(), "smooth ECE: {} confidences but {} outcomes", f.size(), y.size());
  check(sigma > 0, "smooth ECE: the bandwidth must be positive, got {}", sigma);
  SmoothEce out;
  out.bandwidth = sigma;
  if (f.empty())
    return out;
  std::vector<double> residual(f.size());
  for (size_t i = 0; i < f.size(); ++i)
    residual[i] = f[i] - y[i];
  int64_t g = std::max<int64_t>(2000, std::llround(20 / sigma));
  g = g / 2 + 1;
  const auto smoothed_r = reflect_convolve(splat(f, &residual, g), sigma);
  const auto smoothed_1 = reflect_convolve(splat(f, nullptr, g), sigma);
  const int64_t e = std::max<int64_t>(200, std::llround(10 / sigma));
  double weighted = 0, total = 0;
  for (int64_t k = 0; k < e; ++k) {
    const double t = double(k) / double(e - 1);
    const double d = interpolate(smoothed_1, t) + 1e-4;
    const double r = interpolate(smoothed_r, t) / d;
    weighted += std::abs(r) * d;
    total += d;
    if (keep_curve) {
      out.t.push_back(t);
      out.accuracy.push_back(t - r);
      out.density.push_back(d);
    }
  }
  out.value = weighted / total;
  return out;
}

} // namespace

double smooth_ece_at(const std::vector<double>& confidence, const std::vector<double>& outcome, double sigma) {
  return evaluate(confidence, outcome, sigma, false).value;
}

SmoothEce smooth_ece(const std::vector<double>& confidence, const std::vector<double>& outcome) {
  constexpr double kMinBandwidth = 0.001; // relplot's eps
  auto holds = [&](double alpha) { return alpha < kMinBandwidth || alpha < smooth_ece_at(confidence, outcome, alpha); };
  double sigma = 1.0;
  if (!holds(1.0)) {
    double start = 1.0, end = 0.0;
    for (int step = 0; step < 10; ++step) {
      const double mid = (start + end) / 2;
      if (holds(mid))
        end = mid;
      else
        start = mid;
    }
    sigma = start;
  }
  return evaluate(confidence, outcome, sigma, true);
}

SmoothEce smooth_ece_with_band(
    const std::vector<double>& confidence,
    const std::vector<double>& outcome,
    int64_t replicates,
    uint64_t seed,
    double level) {
  check(replicates >= 2, "smooth ECE band: at least 2 resamples, got {}", replicates);
  check(level > 0 && level < 1, "smooth ECE band: the level must lie in (0, 1), got {}", level);
  auto out = smooth_ece(confidence, outcome);
  const size_t n = confidence.size(), points = out.t.size();
  if (n == 0)
    return out;
  // curves[r · points + e]: replicate r's curve at t_e.
  std::vector<double> curves(size_t(replicates) * points);
  at::parallel_for(0, replicates, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> f(n), y(n);
    for (int64_t r = begin; r < end; ++r) {
      std::mt19937_64 rng(seed + uint64_t(r));
      std::uniform_int_distribution<size_t> pick(0, n - 1);
      for (size_t i = 0; i < n; ++i) {
        const size_t j = pick(rng);
        f[i] = confidence[j];
        y[i] = outcome[j];
      }
      const auto c = evaluate(f, y, out.bandwidth, true);
      std::copy(c.accuracy.begin(), c.accuracy.end(), curves.begin() + std::ptrdiff_t(size_t(r) * points));
    }
  });
  out.lower.resize(points);
  out.upper.resize(points);
  std::vector<double> column(static_cast<size_t>(replicates));
  for (size_t e = 0; e < points; ++e) {
    for (int64_t r = 0; r < replicates; ++r)
      column[size_t(r)] = curves[size_t(r) * points + e];
    std::sort(column.begin(), column.end());
    out.lower[e] = sorted_quantile(column, (1 - level) / 2);
    out.upper[e] = sorted_quantile(column, (1 + level) / 2);
  }
  out.band_replicates = replicates;
  out.band_level = level;
  out.band_seed = seed;
  return out;
}

} // namespace smoothlab::calib
