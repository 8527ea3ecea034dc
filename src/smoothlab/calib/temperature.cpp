// Temperature scaling by safeguarded Newton on β = 1/T (see temperature.h).
#include "smoothlab/calib/temperature.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/calib/inputs.h"
#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/json_int.h"

namespace smoothlab::calib {

namespace {

// The rows a fit sees: logits [n, k] row-major, row i counted weights[i] times (nullptr: once each), `total` rows in
// all.
struct Rows {
  const float* logits = nullptr;
  const int64_t* labels = nullptr;
  const uint32_t* weights = nullptr;
  int64_t n = 0, k = 0;
  double total = 0;
  NllPoint at(double beta) const {
    const auto s = detail::nll_sums(logits, labels, n, k, beta, weights);
    return {s.nll / total, s.d1 / total, s.d2 / total};
  }
};

struct Prepared {
  torch::Tensor logits, labels; // float32 [N, K] and int64 [N], contiguous CPU
  int64_t n = 0, k = 0;
  Rows rows() const {
    return {logits.data_ptr<float>(), labels.data_ptr<int64_t>(), nullptr, n, k, double(n)};
  }
  NllPoint at(double beta) const {
    return rows().at(beta);
  }
};

Prepared prepare(const torch::Tensor& logits, const torch::Tensor& labels) {
  check_logits(logits, "logits");
  check_labels(labels, logits.size(0), logits.size(1), "labels", "logits");
  Prepared p;
  p.logits = logits.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  p.labels = labels.detach().to(torch::kCPU, torch::kInt64).contiguous();
  p.n = p.logits.size(0);
  p.k = p.logits.size(1);
  return p;
}

} // namespace

NllPoint temperature_nll(const torch::Tensor& logits, const torch::Tensor& labels, double temperature) {
  check(temperature > 0 && std::isfinite(temperature), "temperature must be positive, got {}", temperature);
  return prepare(logits, labels).at(1.0 / temperature);
}

void TemperatureOptions::validate() const {
  check(
      min_temperature() > 0 && min_temperature() < max_temperature() && std::isfinite(max_temperature()),
      "--min-temperature and --max-temperature must satisfy 0 < min < max < inf, got [{}, {}]",
      min_temperature(),
      max_temperature());
  check(tolerance() > 0, "temperature fit: the tolerance must be positive, got {}", tolerance());
  check(max_iterations() >= 1, "temperature fit: max_iterations must be at least 1, got {}", max_iterations());
}

namespace {

// The safeguarded Newton iteration of temperature.h over the rows' mean NLL.
TemperatureFit solve(const Rows& data, const TemperatureOptions& options) {
  TemperatureFit fit;
  fit.count = int64_t(data.total);
  const double beta_min = 1.0 / options.max_temperature(), beta_max = 1.0 / options.min_temperature();
  double lo = beta_min, hi = beta_max;
  double g_lo = 0, g_hi = 0;
  bool lo_seen = false, hi_seen = false; // whether NLL' has been evaluated at lo / hi

  const NllPoint start = data.at(1.0);
  fit.nll_before = start.nll;
  fit.iterations = 1;
  double beta = std::clamp(1.0, beta_min, beta_max);
  NllPoint point = beta == 1.0 ? start : data.at(beta);
  if (beta != 1.0)
    ++fit.iterations;

  while (true) {
    const double g = point.d_beta;
    if (g > 0) {
      hi = beta;
      g_hi = g;
      hi_seen = true;
    } else {
      lo = beta;
      g_lo = g;
      lo_seen = true;
    }
    // Flat: a 100% change of β would move the NLL by less than 1e-12 (e.g. separable data as T → 0).
    if (g == 0 || std::abs(g) * beta < 1e-12) {
      fit.converged = true;
      break;
    }
    // Optimum beyond a bound that has now been evaluated: stop there.
    if ((beta == beta_max && g < 0) || (beta == beta_min && g > 0)) {
      fit.at_bound = true;
      fit.converged = true;
      break;
    }
    // Newton, limited to a factor 4 per step; outside the bracket: regula falsi when both ends are known
    // (bisection in log β when that lands within 1% of an end), else a factor-4 step towards the unknown end.
    double next = point.d2_beta > 0 ? beta - g / point.d2_beta : std::nan("");
    if (std::isfinite(next))
      next = std::clamp(next, beta / 4, beta * 4);
    if (!(next > lo && next < hi)) {
      if (lo_seen && hi_seen) {
        const double width = hi - lo;
        next = lo - g_lo * width / (g_hi - g_lo);
        if (!(next > lo + 0.01 * width && next < hi - 0.01 * width))
          next = std::sqrt(lo * hi);
      } else if (!hi_seen) {
        next = std::min(beta * 4, beta_max);
      } else {
        next = std::max(beta / 4, beta_min);
      }
    }
    if (std::abs(next - beta) <= options.tolerance() * beta) {
      fit.converged = true;
      break;
    }
    if (fit.iterations >= options.max_iterations())
      break;
    beta = next;
    point = data.at(beta);
    ++fit.iterations;
  }
  fit.temperature = 1.0 / beta;
  fit.nll_after = point.nll;
  if (!(fit.nll_after <= fit.nll_before)) { // cannot happen for a convex NLL; guards rounding at the optimum
    fit.temperature = 1.0;
    fit.nll_after = fit.nll_before;
  }
  return fit;
}

} // namespace

TemperatureFit fit_temperature(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const TemperatureOptions& options) {
  options.validate();
  const auto data = prepare(logits, labels);
  return solve(data.rows(), options);
}

TemperatureFit fit_temperature(
    const float* logits,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t n,
    int64_t k,
    const TemperatureOptions& options) {
  options.validate();
  check(n >= 1 && k >= 1 && logits && labels, "temperature fit: no logits ({} rows of {} classes)", n, k);
  double total = double(n);
  if (weights) {
    total = 0;
    for (int64_t i = 0; i < n; ++i)
      total += double(weights[i]);
  }
  check(total > 0, "temperature fit: every row has weight 0");
  return solve({logits, labels, weights, n, k, total}, options);
}

nlohmann::json to_json(const TemperatureFit& fit) {
  return {
      {"temperature", fit.temperature},
      {"nll_before", fit.nll_before},
      {"nll_after", fit.nll_after},
      {"iterations", fit.iterations},
      {"converged", fit.converged},
      {"at_bound", fit.at_bound},
      {"count", fit.count}};
}

TemperatureFit fit_from_json(const nlohmann::json& j) {
  TemperatureFit fit;
  fit.temperature = j.at("temperature").get<double>();
  fit.nll_before = j.at("nll_before").get<double>();
  fit.nll_after = j.at("nll_after").get<double>();
  fit.iterations = json_int(j.at("iterations"));
  fit.converged = j.at("converged").get<bool>();
  fit.at_bound = j.at("at_bound").get<bool>();
  fit.count = json_int(j.at("count"));
  return fit;
}

FitReport TemperatureCalibrator::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  fit_ = fit_temperature(logits, labels, options_);
  temperature_ = fit_.temperature;
  FitReport r;
  r.converged = fit_.converged;
  r.iterations = fit_.iterations;
  r.tolerance = options_.tolerance();
  r.gradient_norm = std::abs(temperature_nll(logits, labels, temperature_).d_beta);
  r.objective_before = fit_.nll_before;
  r.objective_after = fit_.nll_after;
  return r;
}

torch::Tensor TemperatureCalibrator::log_probs_impl(const torch::Tensor& logits) const {
  return torch::log_softmax(logits / temperature_, 1);
}

nlohmann::json TemperatureCalibrator::parameters() const {
  return {{"temperature", temperature_}};
}

void TemperatureCalibrator::set_parameters(const nlohmann::json& parameters, int64_t /*classes*/) {
  const double t = parameters.at("temperature").get<double>();
  check(t > 0 && std::isfinite(t), "temperature must be positive and finite, got {}", t);
  temperature_ = t;
}

} // namespace smoothlab::calib
