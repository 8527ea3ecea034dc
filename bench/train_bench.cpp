// Training and evaluation throughput (images/s) of smoothlab's models on Fashion-MNIST, batch 128, the real path:
// BatchLoader (random crop + flip, normalisation, worker thread) → model → label-smoothed loss → SGD step.
// Evaluation: the eval loader at smoothlab's default eval batch (256) and at 128 and 1000, no gradients. Threads:
// SMOOTHLAB_BENCH_THREADS (default 2). The peer, bench/train_peer.py, does the same work in PyTorch Python;
// bench/train_compare.sh runs both.
#include <benchmark/benchmark.h>

#include "bench_main.h"

#include <cstdlib>

#include <torch/torch.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/train/config.h"

namespace {

using namespace smoothlab;

const data::DataBundle& bundle() {
  static const data::DataBundle b = [] {
    data::DataOptions o;
    o.val_size = 0;
    o.limit_test = 10000;
    return data::load_data(o);
  }();
  return b;
}

int bench_threads() {
  const char* env = std::getenv("SMOOTHLAB_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

void BM_Train(benchmark::State& state, const std::string& name, const std::string& precision_name) {
  const auto precision = model::parse_precision(precision_name);
  torch::set_num_threads(bench_threads());
  torch::manual_seed(0);
  const auto& b = bundle();
  auto model = model::make_model(name, {b.channels, b.height, b.width, b.num_classes});
  model->train();
  torch::optim::SGD opt(
      model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4));
  data::LoaderOptions lo;
  lo.batch_size = 128;
  lo.crop_padding = 4;
  lo.hflip = true;
  lo.workers = 1;
  lo.mean = b.mean;
  lo.std = b.std;
  data::BatchLoader loader(
      std::make_shared<data::TensorSource>(b.train), std::make_shared<data::RandomSampler>(b.train.size(), 0), lo);
  const auto loss_options = loss::LabelSmoothingOptions().smoothing(0.1);
  int64_t epoch = 0, images = 0;
  loader.start_epoch(epoch);
  data::Batch batch;
  for (auto _ : state) {
    if (!loader.next(batch)) {
      loader.start_epoch(++epoch);
      loader.next(batch);
    }
    torch::Tensor loss;
    {
      model::Autocast autocast(precision, torch::kCPU);
      loss = loss::label_smoothing_cross_entropy(model->forward(batch.images), batch.labels, loss_options);
    }
    opt.zero_grad();
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item<float>());
    images += batch.labels.size(0);
  }
  state.SetItemsProcessed(images);
}

void BM_Eval(benchmark::State& state, const std::string& name, const std::string& precision_name) {
  const auto precision = model::parse_precision(precision_name);
  torch::set_num_threads(bench_threads());
  const auto& b = bundle();
  auto model = model::make_model(name, {b.channels, b.height, b.width, b.num_classes});
  model->eval();
  torch::NoGradGuard no_grad;
  auto loader = data::make_eval_loader(b.test, state.range(0), b.mean, b.std, 1);
  int64_t images = 0;
  loader->start_epoch(0);
  data::Batch batch;
  for (auto _ : state) {
    if (!loader->next(batch)) {
      loader->start_epoch(0);
      loader->next(batch);
    }
    model::Autocast autocast(precision, torch::kCPU);
    benchmark::DoNotOptimize(model->forward(batch.images).data_ptr());
    images += batch.labels.size(0);
  }
  state.SetItemsProcessed(images);
}

void eval_batches(benchmark::internal::Benchmark* b) {
  b->Arg(smoothlab::train::TrainConfig::Execution{}.eval_batch_size)->Arg(128)->Arg(1000);
}

// BM_Train/<model>[_bf16] and BM_Eval/<model>[_bf16]/<batch>: the names bench/train_compare.sh reads.
const bool registered = [] {
  for (const std::string model : {"cnn", "resnet20"})
    for (const std::string precision : {"fp32", "bf16"}) {
      const std::string name = model + (precision == "fp32" ? "" : "_" + precision);
      benchmark::RegisterBenchmark(("BM_Train/" + name).c_str(), BM_Train, model, precision)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(model == "cnn" ? 5.0 : 8.0)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("BM_Eval/" + name).c_str(), BM_Eval, model, precision)
          ->Apply(eval_batches)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(3.0)
          ->UseRealTime();
    }
  return true;
}();

} // namespace

SMOOTHLAB_BENCHMARK_MAIN()
