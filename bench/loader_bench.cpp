// Image-folder loading throughput: decode + RandomResizedCrop(224) + flip (+ normalise, batch) images/s with 1 and 2
// threads, against Debian's PIL and torchvision.io.decode_jpeg doing the same in the same run (bench/loader_peer.py).
//
//   /usr/bin/python3 scripts/make_jpeg_folder.py /tmp/smoothlab-jpeg-folder      (2,000 + 400 JPEGs, ~500x375, q90)
//   SMOOTHLAB_BENCH_FOLDER=/tmp/smoothlab-jpeg-folder build/bench/loader_bench [--peer] [google-benchmark flags]
//
// Google Benchmark cases: BM_DecodeView/<dct>/threads:N (one image's whole pipeline, DCT scaling off/on, at 224 and at
// 64), BM_LoaderEpoch/<workers> (BatchLoader batches of 64, normalised). With --peer, a comparison table follows:
// smoothlab's per-thread images/s against PIL and torchvision.io with 1 and 2 workers, and the ratio to PIL.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/allocator.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/image_folder.h"
#include "smoothlab/data/loader.h"

namespace fs = std::filesystem;
using namespace smoothlab;

namespace {

std::string folder() {
  const char* env = std::getenv("SMOOTHLAB_BENCH_FOLDER");
  return env && *env ? env : "/tmp/smoothlab-jpeg-folder";
}

// The first `limit` JPEG paths under folder()/train (or folder()), sorted.
const std::vector<std::string>& files(size_t limit = 600) {
  static std::vector<std::string> list = [&] {
    std::vector<std::string> out;
    fs::path root = fs::is_directory(fs::path(folder()) / "train") ? fs::path(folder()) / "train" : fs::path(folder());
    if (!fs::is_directory(root))
      return out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.path().extension() == ".jpg")
        out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    if (out.size() > limit)
      out.resize(limit);
    return out;
  }();
  return list;
}

data::TransformOptions rrc(int64_t size) {
  data::TransformOptions t;
  t.kind = data::TransformKind::RandomResizedCrop;
  t.size = size;
  return t;
}

// One image, end to end from the file: read, decode, RandomResizedCrop + flip, to float CHW.
void view_of(size_t i, const data::TransformOptions& t, const data::DecodeOptions& d, std::vector<float>& out) {
  const auto& list = files();
  const auto bytes = data::read_bytes(list[i % list.size()]);
  data::decode_view(bytes, list[i % list.size()], t, d, data::example_hash(0, 0, int64_t(i)), out.data());
}

void BM_DecodeView(benchmark::State& state) {
  if (files().empty()) {
    state.SkipWithError(("no JPEGs in " + folder() + "; run scripts/make_jpeg_folder.py").c_str());
    return;
  }
  const auto t = rrc(state.range(1));
  data::DecodeOptions d;
  d.scaling = state.range(0) ? data::DctScaling::PowersOfTwo : data::DctScaling::Off;
  std::vector<float> out(size_t(3 * t.size * t.size));
  size_t i = size_t(state.thread_index()) * 100003;
  for (auto _ : state) {
    view_of(i++, t, d, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeView)
    ->ArgNames({"dct", "size"})
    ->Args({0, 224})
    ->Args({1, 224})
    ->Args({0, 64})
    ->Args({1, 64})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_LoaderEpoch(benchmark::State& state) {
  if (files().empty()) {
    state.SkipWithError(("no JPEGs in " + folder() + "; run scripts/make_jpeg_folder.py").c_str());
    return;
  }
  data::DataOptions o;
  o.spec = "folder:" + folder();
  o.val_size = 0;
  o.limit_train = 512;
  auto bundle = data::load_data(o);
  data::LoaderOptions lo;
  lo.batch_size = 64;
  lo.workers = int(state.range(0));
  lo.prefetch = 4;
  lo.mean = bundle.mean;
  lo.std = bundle.std;
  data::BatchLoader loader(
      data::make_source(bundle.train), std::make_shared<data::RandomSampler>(bundle.train.size(), 0), lo);
  int64_t epoch = 0, images = 0;
  double wait = 0;
  for (auto _ : state) {
    loader.start_epoch(epoch++);
    for (data::Batch b; loader.next(b);)
      images += b.labels.size(0);
    wait += loader.stats().wait_fraction();
  }
  state.SetItemsProcessed(images);
  state.counters["wait_fraction"] = wait / double(std::max<int64_t>(1, epoch));
}
BENCHMARK(BM_LoaderEpoch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

// Images/s of `threads` threads each processing its share of the files once (after a warm-up pass over 16).
double measure(int threads, const data::TransformOptions& t, const data::DecodeOptions& d) {
  const size_t n = files().size();
  std::vector<float> warm(size_t(3 * t.size * t.size));
  for (size_t i = 0; i < 16; ++i)
    view_of(i, t, d, warm);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k)
    pool.emplace_back([&, k] {
      std::vector<float> out(size_t(3 * t.size * t.size));
      for (size_t i = size_t(k); i < n; i += size_t(threads))
        view_of(i, t, d, out);
    });
  for (auto& th : pool)
    th.join();
  return double(n) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void compare_with_peer() {
  if (files().empty())
    return;
  std::cout << "\n== decode + RandomResizedCrop(224) + flip, " << files().size() << " JPEGs from " << folder()
            << " (same run) ==\n";
  nlohmann::json rows = nlohmann::json::array();
  const auto t = rrc(224);
  for (int threads : {1, 2}) {
    for (bool dct : {false, true}) {
      data::DecodeOptions d;
      d.scaling = dct ? data::DctScaling::PowersOfTwo : data::DctScaling::Off;
      rows.push_back(
          {{"peer", dct ? "smoothlab (DCT scaling)" : "smoothlab (no DCT scaling)"},
           {"workers", threads},
           {"images_per_second", measure(threads, t, d)}});
    }
  }
  const std::string peer_script = (fs::path(SMOOTHLAB_BENCH_DIR) / "loader_peer.py").string();
  const std::string command = "/usr/bin/python3 " + peer_script + " " +
      (fs::path(folder()) / (fs::is_directory(fs::path(folder()) / "train") ? "train" : "")).string() + " --images " +
      std::to_string(files().size()) + " --json 2>/dev/null";
  std::string text;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buf[4096];
    for (size_t got; (got = fread(buf, 1, sizeof buf, pipe)) > 0;)
      text.append(buf, got);
    pclose(pipe);
  }
  double pil[3] = {0, 0, 0};
  try {
    for (auto& r : nlohmann::json::parse(text)) {
      rows.push_back(r);
      if (r["peer"] == "pil")
        pil[r["workers"].get<int>()] = r["images_per_second"].get<double>();
    }
  } catch (const std::exception&) {
    std::cout << "(peer did not run: needs /usr/bin/python3 with python3-pil and python3-torchvision)\n";
  }
  std::cout << fmt::format("{:<28} {:>7} {:>12} {:>10}\n", "pipeline", "threads", "images/s", "vs PIL");
  for (auto& r : rows) {
    const int w = r["workers"].get<int>();
    const double ips = r["images_per_second"].get<double>();
    std::cout << fmt::format(
        "{:<28} {:>7} {:>12.1f} {:>9.2f}x\n", r["peer"].get<std::string>(), w, ips, pil[w] > 0 ? ips / pil[w] : 0.0);
  }
}

} // namespace

int main(int argc, char** argv) {
  smoothlab::keep_freed_memory(); // as the smoothlab program does (core/allocator.h)
  torch::set_num_threads(1);
  bool peer = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--peer") == 0) {
      peer = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (peer)
    compare_with_peer();
  return 0;
}
