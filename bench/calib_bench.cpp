// Calibration at ImageNet size: every metric + temperature fit on [50000, 1000] float32 logits, 2 threads.
// The peer doing the same work in PyTorch/numpy is bench/calib_peer.py (same data recipe, same solver);
// run both in one session and compare:
//   build/bench/calib_bench --benchmark_min_time=2 && /usr/bin/python3 bench/calib_peer.py
#include <benchmark/benchmark.h>

#include "bench_main.h"

#include <torch/torch.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
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

} // namespace

SMOOTHLAB_BENCHMARK_MAIN()
