// The calibrator interface's shared parts: input checks, the registry, JSON state and top-label re-normalisation
// (calibrator.h; L-BFGS is in lbfgs.cpp).
#include "smoothlab/calib/calibrator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "smoothlab/calib/dirichlet.h"
#include "smoothlab/calib/ensemble_temperature.h"
#include "smoothlab/calib/histogram_binning.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/calib/isotonic.h"
#include "smoothlab/calib/kernels.h"
#include "smoothlab/calib/spline.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/calib/vector_scaling.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/json_int.h"

namespace smoothlab::calib {

nlohmann::json to_json(const FitReport& r) {
  return {
      {"converged", r.converged},
      {"exact", r.exact},
      {"iterations", r.iterations},
      {"tolerance", r.tolerance},
      {"gradient_norm", r.gradient_norm},
      {"objective_before", r.objective_before},
      {"objective_after", r.objective_after},
      {"count", r.count}};
}

FitReport fit_report_from_json(const nlohmann::json& j) {
  FitReport r;
  r.converged = j.at("converged").get<bool>();
  r.exact = j.at("exact").get<bool>();
  r.iterations = json_int(j.at("iterations"));
  r.tolerance = j.at("tolerance").get<double>();
  r.gradient_norm = j.at("gradient_norm").get<double>();
  r.objective_before = j.at("objective_before").get<double>();
  r.objective_after = j.at("objective_after").get<double>();
  r.count = json_int(j.at("count"));
  return r;
}

FitReport Calibrator::fit(const torch::Tensor& logits, const torch::Tensor& labels) {
  check_logits(logits, "logits");
  check_labels(labels, logits.size(0), logits.size(1), "labels", "logits");
  auto z = prepared(logits);
  auto y = labels.detach().to(torch::kCPU, torch::kInt64).contiguous();
  report_ = fit_impl(z, y);
  report_.count = z.size(0);
  classes_ = z.size(1);
  return report_;
}

torch::Tensor Calibrator::log_probs(const torch::Tensor& logits) const {
  if (!fitted())
    throw Error(fmt::format("{} calibrator: apply before fit", name()), "fit it, or load a saved one");
  check(
      logits.dim() == 2 && logits.size(1) == classes_,
      "logits: shape [{}] does not match the {} calibrator's {} classes",
      fmt::join(logits.sizes(), ", "),
      name(),
      classes_);
  check_logits(logits, "logits");
  return log_probs_impl(prepared(logits));
}

torch::Tensor Calibrator::prepared(const torch::Tensor& logits) const {
  const auto dtype = takes_float32() && logits.scalar_type() == torch::kFloat ? torch::kFloat : torch::kFloat64;
  return logits.detach().to(torch::kCPU, dtype).contiguous();
}

nlohmann::json Calibrator::state() const {
  check(fitted(), "{} calibrator: nothing to save before fit", name());
  return {{"method", name()}, {"classes", classes_}, {"fit", to_json(report_)}, {"parameters", parameters()}};
}

void Calibrator::load_parameters(const nlohmann::json& parameters, int64_t classes) {
  check(classes >= 2, "{} calibrator: classes must be at least 2, got {}", name(), classes);
  set_parameters(parameters, classes);
  classes_ = classes;
}

std::vector<std::string> calibrator_names() {
  return {"temperature", "vector", "matrix", "dirichlet", "ets", "histogram", "isotonic", "spline"};
}

void CalibratorOptions::validate() const {
  check(tolerance > 0 && std::isfinite(tolerance), "calibrator tolerance must be a positive number, got {}", tolerance);
  check(max_iterations >= 1, "calibrator max_iterations must be at least 1, got {}", max_iterations);
  check(odir_lambda >= 0 && std::isfinite(odir_lambda), "ODIR lambda must be ≥ 0 and finite, got {}", odir_lambda);
  check(odir_mu >= 0 && std::isfinite(odir_mu), "ODIR mu must be ≥ 0 and finite, got {}", odir_mu);
  check(bins >= 1, "--bins must be at least 1, got {}", bins);
  check(spline_knots >= 3, "spline knots must be at least 3, got {}", spline_knots);
}

std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const CalibratorOptions& o) {
  o.validate();
  if (name == "temperature")
    return std::make_unique<TemperatureCalibrator>();
  if (name == "vector")
    return std::make_unique<VectorScaling>(o.tolerance, o.max_iterations);
  if (name == "matrix")
    return std::make_unique<LinearCalibrator>(
        LinearCalibrator::Input::Logits, o.odir_lambda, o.odir_mu, o.tolerance, o.max_iterations);
  if (name == "dirichlet")
    return std::make_unique<LinearCalibrator>(
        LinearCalibrator::Input::LogProbabilities, o.odir_lambda, o.odir_mu, o.tolerance, o.max_iterations);
  if (name == "ets")
    return std::make_unique<EnsembleTemperature>(o.tolerance, o.max_iterations);
  if (name == "histogram")
    return std::make_unique<HistogramBinning>(o.bins);
  if (name == "isotonic")
    return std::make_unique<IsotonicCalibrator>();
  if (name == "spline")
    return std::make_unique<SplineCalibrator>(o.spline_knots);
  throw Error(fmt::format("unknown calibrator '{}'", name), fmt::format("known: {}", join(calibrator_names())));
}

std::unique_ptr<Calibrator> load_calibrator(const nlohmann::json& state, const std::string& source) {
  try {
    const auto method = state.at("method").get<std::string>();
    std::unique_ptr<Calibrator> out;
    try {
      out = make_calibrator(method);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", source, e.what()), e.hint());
    }
    out->load_parameters(state.at("parameters"), json_int(state.at("classes")));
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a saved calibrator ({})", source, e.what()), "write one with --save or save()");
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(source, 0) == 0)
      throw;
    throw Error(fmt::format("{}: {}", source, what), e.hint());
  }
}

namespace detail {

torch::Tensor renormalise_top_label(const torch::Tensor& log_p, const torch::Tensor& c) {
  const auto lp = log_p.to(torch::kFloat64).contiguous();
  const auto cc = c.to(torch::kFloat64).contiguous();
  const int64_t n = lp.size(0), k = lp.size(1);
  check(cc.numel() == n, "renormalise_top_label: {} confidences for {} rows", cc.numel(), n);
  auto out = torch::empty({n, k}, torch::kFloat64);
  const double* in = lp.data_ptr<double>();
  const double* cp = cc.data_ptr<double>();
  double* o = out.data_ptr<double>();
  at::parallel_for(0, n, 64, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> top(size_t(r1 - r0));
    std::vector<double> rest(top.size());
    top_label_rows(in + r0 * k, r1 - r0, k, top.data(), rest.data());
    renormalise_top_label_rows(in + r0 * k, top.data(), rest.data(), cp + r0, r1 - r0, k, o + r0 * k);
  });
  return out;
}

template <typename T>
void renormalise_top_label_rows(
    const T* x,
    const int64_t* top,
    const double* rest,
    const double* c,
    int64_t rows,
    int64_t k,
    double* out) {
  constexpr double kFloor = 1e-12; // c is kept in [1e-12, 1 − 1e-12] so every log-probability is finite
  // Below this relative mass of the others, terms lost to underflow (e^−708) may matter: their log-sum-exp then comes
  // from x exactly, shifted by their own maximum.
  constexpr double kSmallestRest = 1e-250;
  const double uniform = -std::log(double(k - 1));
  // Per row, in x's terms (log-probabilities up to a constant per row): the others' log-sum-exp log_rest, then
  // y_j = x_j − log_rest + log(1 − c): the other classes' share of 1 − c in proportion to their probabilities
  // (uniformly where they are all 0), and log c for the top class.
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * k;
    double* y = out + r * k;
    const int64_t t = top[r];
    const double ci = std::clamp(c[r], kFloor, 1.0 - kFloor);
    const double log1m = std::log1p(-ci);
    double log_rest = 0;
    if (rest[r] >= kSmallestRest) {
      log_rest = double(xr[t]) + std::log(rest[r]);
    } else {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < k; ++j)
        if (j != t)
          m = std::max(m, double(xr[j]));
      if (std::isinf(m)) { // every other class has probability 0 (or −∞ log-probability)
        for (int64_t j = 0; j < k; ++j)
          y[j] = uniform + log1m;
        y[t] = std::log(ci);
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < k; ++j)
        if (j != t)
          sum += std::exp(double(xr[j]) - m);
      log_rest = std::log(sum) + m;
    }
    const double shift = log1m - log_rest;
    for (int64_t j = 0; j < k; ++j)
      y[j] = double(xr[j]) + shift;
    y[t] = std::log(ci);
  }
}

template void renormalise_top_label_rows<
    float>(const float*, const int64_t*, const double*, const double*, int64_t, int64_t, double*);
template void renormalise_top_label_rows<
    double>(const double*, const int64_t*, const double*, const double*, int64_t, int64_t, double*);

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

torch::Tensor tensor_from_json(const nlohmann::json& j, const char* key, std::vector<int64_t> shape) {
  const auto values = j.at(key).get<std::vector<double>>();
  int64_t expected = 1;
  for (auto s : shape)
    expected *= s;
  check(
      int64_t(values.size()) == expected,
      "parameter '{}' has {} values, expected {} for shape [{}]",
      key,
      values.size(),
      expected,
      fmt::join(shape, ", "));
  for (double v : values)
    check(std::isfinite(v), "parameter '{}' holds a non-finite value", key);
  return torch::tensor(values, torch::kFloat64).reshape(shape);
}

} // namespace detail
} // namespace smoothlab::calib
