// Cross-validated fits, held-out evaluation and paired bootstrap intervals against temperature scaling (compare.h).
#include "smoothlab/calib/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/dirichlet.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {
namespace {

struct Evaluated {
  std::vector<double> nll, brier; // per evaluation example
};

Evaluated per_example(const torch::Tensor& log_q, const torch::Tensor& labels) {
  const auto nll = -log_q.gather(1, labels.unsqueeze(1)).squeeze(1);
  const auto onehot = torch::zeros_like(log_q).scatter_(1, labels.unsqueeze(1), 1.0);
  const auto brier = (log_q.exp() - onehot).pow(2).sum(1);
  Evaluated e;
  auto n = nll.contiguous(), b = brier.contiguous();
  e.nll.assign(n.data_ptr<double>(), n.data_ptr<double>() + n.numel());
  e.brier.assign(b.data_ptr<double>(), b.data_ptr<double>() + b.numel());
  return e;
}

// Paired bootstrap of mean(reference − method) over the evaluation examples.
PairedInterval paired_interval(
    const std::vector<double>& reference,
    const std::vector<double>& method,
    const CompareOptions& o) {
  PairedInterval out;
  const size_t n = reference.size();
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i)
    d[i] = reference[i] - method[i];
  out.estimate = std::accumulate(d.begin(), d.end(), 0.0) / double(n);
  if (o.bootstrap <= 0)
    return out;
  std::vector<double> means(size_t(o.bootstrap));
  for (int64_t r = 0; r < o.bootstrap; ++r) {
    std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + uint64_t(r) + 1);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
      sum += d[pick(rng)];
    means[size_t(r)] = sum / double(n);
  }
  std::sort(means.begin(), means.end());
  out.low = sorted_quantile(means, (1 - o.level) / 2);
  out.high = sorted_quantile(means, (1 + o.level) / 2);
  out.verdict = out.low > 0 ? "better" : out.high < 0 ? "worse" : "inconclusive";
  return out;
}

// `value`: the candidate hyper-parameter; NaN for a method without one (its options as given).
std::unique_ptr<Calibrator> make_with(const std::string& name, const CompareOptions& o, double value) {
  auto options = o.calibrator;
  if (std::isnan(value))
    return make_calibrator(name, options);
  if (name == "matrix" || name == "dirichlet")
    options.odir_lambda = options.odir_mu = value;
  if (name == "histogram")
    options.bins = int64_t(value);
  return make_calibrator(name, options);
}

std::vector<double> candidates(const std::string& name, const CompareOptions& o) {
  if (name == "matrix" || name == "dirichlet")
    return o.odir_grid;
  if (name == "histogram")
    return std::vector<double>(o.bin_grid.begin(), o.bin_grid.end());
  return {};
}

// Throws Error on bad input: the options, the fit pair, the evaluation pair (el, ey: the fit pair when none is given)
// against it.
void check_compare_inputs(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const torch::Tensor& el,
    const torch::Tensor& ey,
    const CompareOptions& o) {
  o.validate();
  check_logits(fit_logits, "fit logits");
  check_labels(fit_labels, fit_logits.size(0), fit_logits.size(1), "fit labels", "fit logits");
  check_logits(el, "evaluation logits");
  check(
      el.size(1) == fit_logits.size(1),
      "evaluation logits have K = {} classes, the fit logits K = {}",
      el.size(1),
      fit_logits.size(1));
  check_labels(ey, el.size(0), el.size(1), "evaluation labels", "evaluation logits");
  const int64_t n = fit_logits.size(0);
  if (n < o.folds)
    throw Error(
        fmt::format("--folds {} exceeds the {} fit examples", o.folds, n), "use fewer folds or more fit examples");
}

// The k folds' fit and held-out example indices.
struct Folds {
  std::vector<torch::Tensor> train_index, test_index;
};

// Folds: a seeded permutation, position i in fold i mod k.
Folds make_folds(int64_t n, const CompareOptions& o) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::mt19937_64 rng(o.seed);
  std::shuffle(order.begin(), order.end(), rng);
  Folds folds;
  for (int64_t f = 0; f < o.folds; ++f) {
    std::vector<int64_t> train, test;
    for (int64_t i = 0; i < n; ++i)
      (i % o.folds == f ? test : train).push_back(order[size_t(i)]);
    folds.train_index.push_back(torch::tensor(train, torch::kInt64));
    folds.test_index.push_back(torch::tensor(test, torch::kInt64));
  }
  return folds;
}

// The summed held-out NLL of method `name` at each grid value on each fold, at [value * folds + fold].
std::vector<double> fold_nll(
    const std::string& name,
    const std::vector<double>& grid,
    const CompareOptions& o,
    const torch::Tensor& z,
    const torch::Tensor& y,
    const Folds& folds) {
  // Matrix and Dirichlet: each fold's fits run along the grid from the largest λ = μ down, each starting from the
  // fold's solution at the previous value (the first from TS) — the same optima, in fewer evaluations.
  const bool warm = name == "matrix" || name == "dirichlet";
  std::vector<size_t> visit(grid.size());
  std::iota(visit.begin(), visit.end(), size_t(0));
  if (warm)
    std::stable_sort(visit.begin(), visit.end(), [&](size_t a, size_t b) { return grid[a] > grid[b]; });
  // The folds are independent: one task each (the fits inside run on their task's thread). Each (value, fold)
  // score lands in its own slot and the slots are summed in a fixed order, so scores do not depend on threads.
  std::vector<double> held_nll(grid.size() * size_t(o.folds), 0.0);
  at::parallel_for(0, o.folds, 1, [&](int64_t f0, int64_t f1) {
    for (int64_t f = f0; f < f1; ++f) {
      const auto& train = folds.train_index[size_t(f)];
      const auto& test = folds.test_index[size_t(f)];
      const auto zf = z.index_select(0, train), yf = y.index_select(0, train);
      const auto zt = z.index_select(0, test), yt = y.index_select(0, test);
      torch::Tensor previous_w, previous_b;
      for (size_t v : visit) {
        auto cal = make_with(name, o, grid[v]);
        auto* linear = warm ? dynamic_cast<LinearCalibrator*>(cal.get()) : nullptr;
        if (linear && previous_w.defined())
          linear->warm_start(previous_w, previous_b);
        cal->fit(zf, yf);
        if (linear) {
          previous_w = linear->weight();
          previous_b = linear->bias();
        }
        held_nll[v * size_t(o.folds) + size_t(f)] =
            torch::nll_loss(cal->log_probs(zt), yt).item<double>() * double(test.numel());
      }
    }
  });
  return held_nll;
}

// Cross-validates method `name` on the fit split (z, y; n examples): sets row.cv_nll and, for a tuned method,
// row.chosen; returns the chosen hyper-parameter (NaN for a method without one).
double cross_validate(
    const std::string& name,
    const CompareOptions& o,
    const torch::Tensor& z,
    const torch::Tensor& y,
    const Folds& folds,
    int64_t n,
    MethodResult& row) {
  // Every method is cross-validated on the fit split: its CV NLL (MethodResult::cv_nll) is what a choice among the
  // methods may use without touching the evaluation split. A method without hyper-parameters has one candidate.
  const auto tuned = candidates(name, o);
  const std::vector<double> grid = tuned.empty() ? std::vector<double>{NAN} : tuned;
  double best_value = NAN;
  const auto held_nll = fold_nll(name, grid, o, z, y, folds);
  std::vector<double> totals(grid.size(), 0.0);
  for (size_t v = 0; v < grid.size(); ++v)
    for (int64_t f = 0; f < o.folds; ++f)
      totals[v] += held_nll[v * size_t(o.folds) + size_t(f)];
  double best = INFINITY;
  nlohmann::json scores = nlohmann::json::array();
  for (size_t v = 0; v < grid.size(); ++v) {
    const double mean = totals[v] / double(n);
    scores.push_back({{"value", grid[v]}, {"cv_nll", mean}});
    if (mean < best) { // a NaN score never wins
      best = mean;
      best_value = grid[v];
    }
  }
  row.cv_nll = std::isfinite(best) ? best : NAN;
  if (!tuned.empty())
    row.chosen = {{name == "histogram" ? "bins" : "odir_lambda_mu", best_value}, {"candidates", scores}};
  return best_value;
}

// Paired intervals of every method's per-example NLL and Brier score against temperature scaling's (if compared).
void add_intervals(Comparison& c, const std::vector<Evaluated>& evaluated, const CompareOptions& o) {
  const auto ts = std::find(o.methods.begin(), o.methods.end(), "temperature");
  if (ts == o.methods.end())
    return;
  const auto& reference = evaluated[size_t(ts - o.methods.begin())];
  for (size_t i = 0; i < c.rows.size(); ++i) {
    if (c.rows[i].name == "temperature")
      continue;
    c.rows[i].nll_vs_ts = paired_interval(reference.nll, evaluated[i].nll, o);
    c.rows[i].brier_vs_ts = paired_interval(reference.brier, evaluated[i].brier, o);
  }
}

} // namespace

void CompareOptions::validate() const {
  check(folds >= 2, "--folds must be at least 2, got {}", folds);
  check(bins >= 1, "--bins must be at least 1, got {}", bins);
  check(bootstrap >= 0, "--bootstrap must be ≥ 0, got {}", bootstrap);
  check(level > 0 && level < 1, "the interval level must lie in (0, 1), got {}", level);
  check(!methods.empty(), "--methods names no calibrator");
  const auto known = calibrator_names();
  for (const auto& m : methods)
    check(std::find(known.begin(), known.end(), m) != known.end(), "--methods: unknown calibrator '{}'", m);
  check(!odir_grid.empty(), "the ODIR grid (λ = μ candidates) is empty");
  for (double v : odir_grid)
    check(v >= 0 && std::isfinite(v), "ODIR grid values must be ≥ 0 and finite, got {}", v);
  check(!bin_grid.empty(), "the histogram bin grid is empty");
  for (int64_t v : bin_grid)
    check(v >= 1, "histogram bin grid values must be at least 1, got {}", v);
  calibrator.validate();
}

std::vector<std::string> parse_methods(const std::string& text) {
  const auto known = calibrator_names();
  if (text == "all")
    return known;
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const auto name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw Error(fmt::format("--methods: unknown calibrator '{}'", name), fmt::format("known: all, {}", join(known)));
    if (std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (std::find(out.begin(), out.end(), "temperature") == out.end())
    out.insert(out.begin(), "temperature"); // the reference of every interval
  return out;
}

Comparison compare_calibrators(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const torch::Tensor& eval_logits,
    const torch::Tensor& eval_labels,
    const CompareOptions& o) {
  Comparison c;
  c.evaluated_on_fit_split = !eval_logits.defined();
  const auto& el = c.evaluated_on_fit_split ? fit_logits : eval_logits;
  const auto& ey = c.evaluated_on_fit_split ? fit_labels : eval_labels;
  check_compare_inputs(fit_logits, fit_labels, el, ey, o);
  const int64_t n = fit_logits.size(0);
  const auto z = fit_logits.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto y = fit_labels.detach().to(torch::kCPU, torch::kInt64).contiguous();
  const auto ze = el.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto ye = ey.detach().to(torch::kCPU, torch::kInt64).contiguous();
  c.fit_count = n;
  c.eval_count = ze.size(0);
  c.folds = o.folds;
  const auto meter_options = MeterOptions().bins(o.bins);
  {
    CalibrationMeter meter(meter_options);
    meter.add(ze, ye);
    c.uncalibrated = meter.value();
    c.confidence = meter.confidence();
    c.correct = meter.correct();
  }
  const Folds folds = make_folds(n, o);

  std::vector<Evaluated> evaluated;
  for (const auto& name : o.methods) {
    const auto start = std::chrono::steady_clock::now();
    MethodResult row;
    row.name = name;
    row.chosen = nlohmann::json::object();
    const double best_value = cross_validate(name, o, z, y, folds, n, row);
    auto cal = make_with(name, o, best_value);
    row.fit = cal->fit(z, y);
    const auto log_q = cal->log_probs(ze);
    CalibrationMeter meter(meter_options);
    meter.add(log_q, ye);
    row.metrics = meter.value();
    row.confidence = meter.confidence();
    row.correct = meter.correct();
    row.accuracy_change = row.metrics.accuracy - c.uncalibrated.accuracy;
    row.state = cal->state();
    evaluated.push_back(per_example(log_q, ye));
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    c.rows.push_back(std::move(row));
  }
  add_intervals(c, evaluated, o);
  std::stable_sort(
      c.rows.begin(), c.rows.end(), [](const auto& a, const auto& b) { return a.metrics.nll < b.metrics.nll; });
  return c;
}

nlohmann::json to_json(const Comparison& c) {
  auto interval = [](const PairedInterval& p) {
    return nlohmann::json{{"estimate", p.estimate}, {"low", p.low}, {"high", p.high}, {"verdict", p.verdict}};
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows)
    rows.push_back(
        {{"method", r.name},
         {"fit", to_json(r.fit)},
         {"cross_validation", r.chosen},
         {"cv_nll", r.cv_nll},
         {"metrics", to_json(r.metrics, false)},
         {"accuracy_change", r.accuracy_change},
         {"nll_vs_temperature", interval(r.nll_vs_ts)},
         {"brier_vs_temperature", interval(r.brier_vs_ts)},
         {"seconds", r.seconds}});
  return {
      {"fit_count", c.fit_count},
      {"eval_count", c.eval_count},
      {"folds", c.folds},
      {"evaluated_on_fit_split", c.evaluated_on_fit_split},
      {"uncalibrated", to_json(c.uncalibrated, false)},
      {"ranking", rows}};
}

std::string format_comparison(const Comparison& c) {
  std::string out = fmt::format(
      "{:<12} {:>8} {:>8} {:>8} {:>8} {:>8}  {:<34} {}\n",
      "method",
      "NLL",
      "Brier",
      "ECE",
      "smECE",
      "Δacc",
      "ΔNLL vs TS [interval]",
      "verdict");
  out += fmt::format(
      "{:<12} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} {:>8}\n",
      "(none)",
      c.uncalibrated.nll,
      c.uncalibrated.brier,
      c.uncalibrated.ece,
      c.uncalibrated.smooth_ece,
      "");
  for (const auto& r : c.rows) {
    const bool ts = r.name == "temperature";
    out += fmt::format(
        "{:<12} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} {:>+8.4f}  {:<34} {}{}\n",
        r.name,
        r.metrics.nll,
        r.metrics.brier,
        r.metrics.ece,
        r.metrics.smooth_ece,
        r.accuracy_change,
        ts ? std::string("(reference)")
           : fmt::format("{:+.4f} [{:+.4f}, {:+.4f}]", r.nll_vs_ts.estimate, r.nll_vs_ts.low, r.nll_vs_ts.high),
        ts ? "" : r.nll_vs_ts.verdict,
        r.fit.converged ? "" : "  (fit did not converge)");
  }
  if (c.evaluated_on_fit_split)
    out += "note: evaluated on the fit split (no held-out pair given): optimistic\n";
  return out;
}

} // namespace smoothlab::calib
