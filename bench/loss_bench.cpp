// Benchmark of the fused label-smoothing cross-entropy (issue 7) against LibTorch's composite
// cross_entropy(..., label_smoothing), forward + backward, 2 threads, in the same run, plus the machine's copy
// bandwidth (tensor.copy_ of a 1 GiB buffer, 2 threads) to put the effective GB/s in proportion.
//
// Counters per loss benchmark:
//   eff_GB/s     3·N·C·sizeof(float) / time: the minimum traffic of forward + backward (read the logits forward,
//                read them again and write the gradient backward), the same definition for both implementations;
//   of_copy_bw   eff_GB/s ÷ measured copy bandwidth (copy: read + write of the buffer / time);
//   extra_MB     peak bytes of tensors alive during one forward + backward beyond those alive before it, counted by
//                a wrapper around c10's CPU allocator installed for one untimed iteration (every CPU tensor buffer
//                goes through it);
// Argument `cached`: 0 times the loop with LibTorch's default CPU allocator (posix_memalign under the program's
// keep_freed_memory() setting, as in the smoothlab program: freed blocks stay mapped, so page faults only show where
// glibc cannot reuse a block), 1 with the wrapper caching freed buffers by size (what a pooling allocator gives;
// isolates the kernels' own memory traffic).
//   extra_NC     extra_MB in units of one [N, C] float tensor (the gradient itself is 1).
//
// Run: build/bench/loss_bench --benchmark_counters_tabular=true   (add --benchmark_filter=... for a subset)
// SMOOTHLAB_STREAM_BYTES=B overrides the gradient size from which the kernel writes with non-temporal stores.
#include <benchmark/benchmark.h>
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "smoothlab/core/allocator.h"
#include "smoothlab/core/parallel.h"
#include "smoothlab/loss/fused_kernel.h"
#include "smoothlab/loss/label_smoothing.h"

namespace {

using smoothlab::loss::Implementation;
using smoothlab::loss::LabelSmoothingOptions;

constexpr int kThreads = 2;

// Counts live bytes of CPU tensor buffers and their peak; delegates the memory to the default allocator. With
// caching on, freed buffers are kept and handed out again for the same size (like the CUDA caching allocator or any
// pooling allocator), so a fresh 1 GiB gradient does not pay 262144 page faults (the kernel zeroing every page).
class BenchAllocator final : public c10::Allocator {
 public:
  explicit BenchAllocator(c10::Allocator* base) : base_(base) {}
  // const in LibTorch 1.13, non-const from 2.3: provide both.
  c10::DataPtr allocate(size_t n) const {
    return wrap(n);
  }
  c10::DataPtr allocate(size_t n) {
    return wrap(n);
  }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    std::memcpy(dest, src, count);
  }

  void set_caching(bool on) {
    caching_ = on;
  }
  void clear_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    cache_.clear();
  }
  void reset_peak() {
    peak_.store(live_.load());
  }
  int64_t live() const {
    return live_.load();
  }
  int64_t peak() const {
    return peak_.load();
  }

 private:
  struct Context {
    c10::DataPtr inner;
    size_t bytes;
    const BenchAllocator* owner;
  };
  c10::DataPtr wrap(size_t n) const {
    c10::DataPtr inner;
    if (caching_) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = cache_.find(n);
      if (it != cache_.end()) {
        inner = std::move(it->second);
        cache_.erase(it);
      }
    }
    if (!inner)
      inner = base_->allocate(n);
    void* data = inner.get();
    const c10::Device device = inner.device();
    auto* ctx = new Context{std::move(inner), n, this};
    const int64_t now = live_.fetch_add(int64_t(n)) + int64_t(n);
    int64_t seen = peak_.load();
    while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
    }
    return {data, ctx, &release, device};
  }
  static void release(void* p) {
    auto* ctx = static_cast<Context*>(p);
    const BenchAllocator* owner = ctx->owner;
    owner->live_.fetch_sub(int64_t(ctx->bytes));
    if (owner->caching_ && ctx->inner) {
      std::lock_guard<std::mutex> lock(owner->mutex_);
      owner->cache_.emplace(ctx->bytes, std::move(ctx->inner));
    }
    delete ctx;
  }
  c10::Allocator* base_;
  std::atomic<bool> caching_{false};
  mutable std::atomic<int64_t> live_{0}, peak_{0};
  mutable std::mutex mutex_;
  mutable std::unordered_multimap<size_t, c10::DataPtr> cache_;
};

BenchAllocator& bench_allocator() {
  static BenchAllocator alloc(c10::GetDefaultCPUAllocator());
  return alloc;
}

// Bytes/s of dst.copy_(src) for a 1 GiB float buffer, 2 threads; measured once per process.
double copy_bandwidth() {
  static const double bw = [] {
    const int64_t n = (int64_t(1) << 30) / 4;
    auto src = torch::rand({n});
    auto dst = torch::empty({n});
    dst.copy_(src); // fault in the pages
    double best = 0;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      dst.copy_(src);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 2.0 * double(n) * 4 / s);
    }
    return best;
  }();
  return bw;
}

void BM_CopyBandwidth(benchmark::State& state) {
  const int64_t n = state.range(0) / 4;
  auto src = torch::rand({n});
  auto dst = torch::empty({n});
  dst.copy_(src);
  for (auto _ : state) {
    dst.copy_(src);
    benchmark::DoNotOptimize(dst.data_ptr());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * n * 4);
}

// range(2): 0 = LibTorch's default CPU allocator (every iteration faults in a fresh gradient), 1 = caching allocator.
void BM_LabelSmoothing(benchmark::State& state, Implementation impl) {
  const int64_t n = state.range(0), c = state.range(1);
  const bool cached = state.range(2) != 0;
  torch::manual_seed(0);
  auto logits = (torch::randn({n, c}) * 3).requires_grad_(true);
  auto target = torch::randint(0, c, {n}, torch::kLong);
  const auto options = LabelSmoothingOptions().smoothing(0.1).implementation(impl);
  auto step = [&] {
    auto loss = smoothlab::loss::label_smoothing_cross_entropy(logits, target, options);
    auto grad = torch::autograd::grad({loss}, {logits})[0];
    benchmark::DoNotOptimize(grad.data_ptr());
  };
  // One untimed iteration through the counting allocator: peak extra memory.
  auto& alloc = bench_allocator();
  alloc.set_caching(cached);
  c10::SetCPUAllocator(&alloc, /*priority=*/100);
  const int64_t before = alloc.live();
  alloc.reset_peak();
  step();
  const int64_t extra = alloc.peak() - before;
  if (!cached)
    c10::SetCPUAllocator(c10::GetDefaultCPUAllocator(), /*priority=*/100);

  step(); // warm-up
  for (auto _ : state)
    step();
  c10::SetCPUAllocator(c10::GetDefaultCPUAllocator(), /*priority=*/100);
  alloc.set_caching(false);
  alloc.clear_cache();

  const double nc_bytes = double(n) * double(c) * 4;
  const double traffic = 3 * nc_bytes * double(state.iterations());
  state.SetItemsProcessed(int64_t(state.iterations()) * n);
  state.counters["eff_GB/s"] = benchmark::Counter(traffic / 1e9, benchmark::Counter::kIsRate);
  state.counters["of_copy_bw"] = benchmark::Counter(traffic / copy_bandwidth(), benchmark::Counter::kIsRate);
  state.counters["extra_MB"] = double(extra) / 1e6;
  state.counters["extra_NC"] = double(extra) / nc_bytes;
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t cached : {0, 1}) {
    b->Args({256, 10, cached})->Args({256, 1000, cached})->Args({4096, 1000, cached});
    b->Args({65536, 1000, cached})->Args({8192, 32000, cached});
  }
  b->ArgNames({"N", "C", "cached"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_CopyBandwidth)->Arg(int64_t(1) << 30)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LabelSmoothing, fused, Implementation::Fused)->Apply(shapes);
BENCHMARK_CAPTURE(BM_LabelSmoothing, libtorch, Implementation::LibTorch)->Apply(shapes);

} // namespace

int main(int argc, char** argv) {
  smoothlab::keep_freed_memory(); // as the smoothlab program does (core/allocator.h)
  smoothlab::set_threads(kThreads);
  if (const char* bytes = std::getenv("SMOOTHLAB_STREAM_BYTES")) // gradients this large use non-temporal stores
    smoothlab::loss::detail::test_only::set_fused_stream_threshold(std::atoll(bytes));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::AddCustomContext("threads", std::to_string(kThreads));
  benchmark::AddCustomContext("fused_cpu_isa", smoothlab::loss::detail::fused_cpu_isa());
  char bw[64];
  std::snprintf(bw, sizeof bw, "%.2f GB/s", copy_bandwidth() / 1e9);
  benchmark::AddCustomContext("copy_bandwidth", bw);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
