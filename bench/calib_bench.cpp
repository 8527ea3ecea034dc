// Calibration at ImageNet size: every metric + temperature fit on [50000, 1000] float32 logits, 2 threads.
// The peer doing the same work in PyTorch/numpy is bench/calib_peer.py (same data recipe, same solver);
// run both in one session and compare:
//   build/bench/calib_bench --benchmark_min_time=2 && /usr/bin/python3 bench/calib_peer.py
// Every post-hoc calibrator (issue 28, item 6): BM_Calibrator/<method> fits it on the same data, applies it and
// computes the metrics of the calibrated probabilities; matrix and Dirichlet, whose O(N·K²) objective makes a full
// fit at K = 1000 a matter of many minutes, are timed per objective evaluation (BM_OdirEvaluation). Their peer is
// bench/calib_reference_peer.py, which runs each method's published reference code on the same data:
//   build/bench/calib_bench --benchmark_filter='Calibrator|Odir' && /usr/bin/python3 bench/calib_reference_peer.py ...
#include <benchmark/benchmark.h>

#include "bench_main.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/dirichlet.h"
#include "smoothlab/calib/ensemble_temperature.h"
#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/calib/top_label.h"
#include "smoothlab/core/parallel.h"

namespace {

using namespace smoothlab;

constexpr int64_t kN = 50000, kK = 1000;

struct Data {
  torch::Tensor logits, labels;
};

// The peer's recipe: z ~ 2·N(0, 1), y uniform, z[i, y_i] += 5 (an informative, over-confident model).
const Data& data() {
  static const Data d = [] {
    smoothlab::set_threads(2);
    torch::manual_seed(0);
    Data out;
    out.logits = torch::randn({kN, kK}) * 2;
    out.labels = torch::randint(0, kK, {kN}, torch::kInt64);
    out.logits.index_put_({torch::arange(kN), out.labels}, out.logits.index({torch::arange(kN), out.labels}) + 5);
    return out;
  }();
  return d;
}

void set_bytes(benchmark::State& state, int64_t passes) {
  state.SetItemsProcessed(state.iterations() * kN);
  state.SetBytesProcessed(state.iterations() * passes * kN * kK * int64_t(sizeof(float)));
}

// Everything `smoothlab calibrate` computes: metrics at T = 1, the fit, metrics at the fitted T.
void BM_CalibrateAll(benchmark::State& state) {
  const auto& d = data();
  double t = 0, ece_before = 0, ece_after = 0;
  int64_t iterations = 0;
  for (auto _ : state) {
    auto before = calib::calibration_metrics(d.logits, d.labels);
    auto fit = calib::fit_temperature(d.logits, d.labels);
    auto after = calib::calibration_metrics(d.logits, d.labels, calib::MeterOptions().temperature(fit.temperature));
    // A pointer: Debian's Google Benchmark 1.7 DoNotOptimize(double&) ("+m,r") clobbered the double it was given
    // (ece_after read 0 or 1e-314 here).
    benchmark::DoNotOptimize(&after);
    t = fit.temperature;
    iterations = fit.iterations;
    ece_before = before.ece;
    ece_after = after.ece;
  }
  state.counters["T"] = t;
  state.counters["fit_iters"] = double(iterations);
  // ×1000: Google Benchmark prints small counters (< 0.01) as 0.
  state.counters["ece_before_x1000"] = 1000 * ece_before;
  state.counters["ece_after_x1000"] = 1000 * ece_after;
  set_bytes(state, 2 + iterations);
}
BENCHMARK(BM_CalibrateAll)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AllMetrics(benchmark::State& state) {
  const auto& d = data();
  for (auto _ : state) {
    auto m = calib::calibration_metrics(d.logits, d.labels);
    benchmark::DoNotOptimize(&m);
  }
  set_bytes(state, 1);
}
BENCHMARK(BM_AllMetrics)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TemperatureFit(benchmark::State& state) {
  const auto& d = data();
  int64_t iterations = 0;
  for (auto _ : state) {
    auto fit = calib::fit_temperature(d.logits, d.labels);
    benchmark::DoNotOptimize(&fit);
    iterations = fit.iterations;
  }
  state.counters["fit_iters"] = double(iterations);
  set_bytes(state, iterations);
}
BENCHMARK(BM_TemperatureFit)->Unit(benchmark::kMillisecond)->UseRealTime();

// The LibTorch-op way of computing the top-label metrics alone (log_softmax, max, gather): a reference
// point for the fused pass.
void BM_LibTorchTopLabelOps(benchmark::State& state) {
  const auto& d = data();
  for (auto _ : state) {
    auto logp = torch::log_softmax(d.logits, 1);
    auto p = logp.exp();
    auto [conf, pred] = p.max(1);
    auto nll = -logp.gather(1, d.labels.unsqueeze(1)).mean();
    auto brier = (p * p).sum(1) - 2 * p.gather(1, d.labels.unsqueeze(1)).squeeze(1) + 1;
    benchmark::DoNotOptimize(nll.item<float>() + brier.mean().item<float>() + conf.sum().item<float>());
  }
  set_bytes(state, 1);
}
BENCHMARK(BM_LibTorchTopLabelOps)->Unit(benchmark::kMillisecond)->UseRealTime();

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The metrics of calibrated probabilities as counters (×1000: Google Benchmark prints small counters as 0).
void metric_counters(benchmark::State& state, const calib::CalibrationMetrics& m) {
  state.counters["nll"] = m.nll;
  state.counters["ece_x1000"] = 1000 * m.ece;
  state.counters["ece_em_x1000"] = 1000 * m.ece_equal_mass;
  state.counters["smece_x1000"] = 1000 * m.smooth_ece;
  state.counters["ks_x1000"] = 1000 * m.ks_error;
  state.counters["dsce_x1e6"] = 1e6 * m.debiased_squared_ce;
  state.counters["ace_x1000"] = 1000 * m.ace_netcal;
}

// One calibrator, end to end as `smoothlab calibrate --methods` runs it on one split: make, fit on the [50000, 1000]
// logits, apply (calibrated log-probabilities [N, K] float64), the metrics of the result (every top-label estimator:
// binned ECEs, smooth ECE, KS, debiased squared CE, netcal ACE; plus NLL, Brier, class-wise ECE). Counters: the
// last iteration's split into fit / apply / metrics seconds, the fit's report, parameters to check against the peer.
void BM_Calibrator(benchmark::State& state, const std::string& method) {
  const auto& d = data();
  double fit_s = 0, apply_s = 0, metrics_s = 0, mean_conf = 0;
  calib::FitReport report;
  calib::CalibrationMetrics m;
  std::unique_ptr<calib::Calibrator> c;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    c = calib::make_calibrator(method);
    report = c->fit(d.logits, d.labels);
    fit_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto log_q = c->log_probs(d.logits);
    apply_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    m = calib::calibration_metrics(log_q, d.labels);
    metrics_s = seconds_since(t0);
    benchmark::DoNotOptimize(&m);
    mean_conf = m.mean_confidence;
  }
  state.counters["fit_s"] = fit_s;
  state.counters["apply_s"] = apply_s;
  state.counters["metrics_s"] = metrics_s;
  state.counters["fit_iters"] = double(report.iterations);
  state.counters["converged"] = report.converged ? 1 : 0;
  state.counters["mean_conf"] = mean_conf;
  metric_counters(state, m);
  if (auto* ts = dynamic_cast<calib::TemperatureCalibrator*>(c.get()))
    state.counters["T"] = ts->temperature();
  if (auto* ets = dynamic_cast<calib::EnsembleTemperature*>(c.get())) {
    state.counters["T"] = ets->temperature();
    state.counters["w0"] = ets->weights()[0];
    state.counters["w1"] = ets->weights()[1];
    state.counters["w2_x1000"] = 1000 * ets->weights()[2];
  }
  if (auto* top = dynamic_cast<calib::TopLabelCalibrator*>(c.get()))
    state.counters["class_maps"] = double(top->maps().per_class.size());
  // The data's fingerprint, to check that the peer drew the same numbers.
  state.counters["logit_sum"] = d.logits.sum(torch::kFloat64).item<double>();
  state.counters["label_sum"] = double(d.labels.sum().item<int64_t>());
  state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK_CAPTURE(BM_Calibrator, temperature, std::string("temperature"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Calibrator, ets, std::string("ets"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Calibrator, histogram, std::string("histogram"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Calibrator, isotonic, std::string("isotonic"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Calibrator, spline, std::string("spline"))->Unit(benchmark::kMillisecond)->UseRealTime();
// Vector scaling: 2K parameters, L-BFGS over LibTorch autograd; a fit is a few hundred [N, K] passes.
BENCHMARK_CAPTURE(BM_Calibrator, vector, std::string("vector"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// Matrix scaling / Dirichlet calibration at K = 1000: one ODIR objective + gradient evaluation
// (detail::odir_objective, O(N·K²)) at the fit's starting point W = I/T_TS, b = 0, on the features the fit uses
// (float64 logits, or log_softmax for Dirichlet). A fit is up to CalibratorOptions::max_iterations (500) of these.
// Counters: apply_s and metrics_s of the calibrator at that point (untimed, once), to add to a fit's cost.
void BM_OdirEvaluation(benchmark::State& state, bool dirichlet) {
  const auto& d = data();
  const auto logits = d.logits.to(torch::kFloat64);
  const auto x = (dirichlet ? torch::log_softmax(logits, 1) : logits).contiguous();
  const double t = calib::fit_temperature(d.logits, d.labels).temperature;
  const auto w = torch::eye(kK, torch::kFloat64) / t;
  const auto b = torch::zeros({kK}, torch::kFloat64);
  calib::LinearCalibrator c(
      dirichlet ? calib::LinearCalibrator::Input::LogProbabilities : calib::LinearCalibrator::Input::Logits);
  c.set(w, b);
  auto t0 = std::chrono::steady_clock::now();
  auto log_q = c.log_probs(d.logits);
  const double apply_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto m = calib::calibration_metrics(log_q, d.labels);
  const double metrics_s = seconds_since(t0);
  double value = 0, grad_norm = 0;
  for (auto _ : state) {
    torch::Tensor gw, gb;
    value = calib::detail::odir_objective(x, d.labels, w, b, 1e-3, 1e-3, &gw, &gb);
    benchmark::DoNotOptimize(&value);
    grad_norm = std::max(gw.abs().max().item<double>(), gb.abs().max().item<double>());
  }
  state.counters["objective"] = value;
  state.counters["grad_max_x1e6"] = 1e6 * grad_norm;
  state.counters["T"] = t;
  state.counters["apply_s"] = apply_s;
  state.counters["metrics_s"] = metrics_s;
  metric_counters(state, m);
  state.SetItemsProcessed(state.iterations() * kN);
}
BENCHMARK_CAPTURE(BM_OdirEvaluation, matrix, false)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_OdirEvaluation, dirichlet, true)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// The two ways odir_objective sums its rows (dirichlet.h, OdirPath) at the sizes of `smoothlab calibrate`'s CV fits
// (N = 5000) and K around the switch (kOdirBlasMinClasses): one evaluation with gradient, at the TS starting point on
// logits drawn like data()'s. Args: K, path (0 loops, 1 BLAS), LibTorch threads (1: as inside compare.cpp's
// fold-parallel region, where nested regions run inline).
void BM_OdirPath(benchmark::State& state) {
  smoothlab::set_threads(int(state.range(2)));
  const int64_t n = 5000, k = state.range(0);
  torch::manual_seed(0);
  auto x = torch::randn({n, k}, torch::kFloat64) * 2;
  const auto y = torch::randint(0, k, {n}, torch::kInt64);
  x.index_put_({torch::arange(n), y}, x.index({torch::arange(n), y}) + 5);
  const auto w = torch::eye(k, torch::kFloat64), b = torch::zeros({k}, torch::kFloat64);
  const auto path = state.range(1) ? calib::detail::OdirPath::Blas : calib::detail::OdirPath::Loop;
  for (auto _ : state) {
    torch::Tensor gw, gb;
    double v = calib::detail::odir_objective(x, y, w, b, 1e-3, 1e-3, &gw, &gb, path);
    benchmark::DoNotOptimize(&v);
  }
}
BENCHMARK(BM_OdirPath)
    ->ArgsProduct({{3, 10, 32, 64, 128, 256}, {0, 1}, {1, 2}})
    ->ArgNames({"K", "blas", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

SMOOTHLAB_BENCHMARK_MAIN()
