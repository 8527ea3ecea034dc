#include "smoothlab/data/loader.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/json_int.h"
#include "smoothlab/core/thread_pool.h"

namespace smoothlab::data {

TensorSource::TensorSource(Dataset dataset) : dataset_(std::move(dataset)) {
  if (!dataset_.source)
    dataset_.images = dataset_.images.contiguous();
  dataset_.labels = dataset_.labels.to(torch::kInt64).contiguous();
}

std::vector<int64_t> TensorSource::shape() const {
  if (dataset_.source)
    return dataset_.source->shape();
  return {dataset_.images.size(1), dataset_.images.size(2), dataset_.images.size(3)};
}

int64_t TensorSource::label(int64_t index) const {
  return dataset_.labels.data_ptr<int64_t>()[index];
}

bool TensorSource::read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const {
  if (dataset_.source)
    return dataset_.source->read_example(index, epoch, seed, out);
  read(index, out);
  return true;
}

std::shared_ptr<const ExampleSource> make_source(const Dataset& dataset) {
  return std::make_shared<TensorSource>(dataset); // a lazy dataset's labels too come from Dataset::labels
}

LoaderSummary summarise(const LoaderStats& s) {
  LoaderSummary o;
  o.batches = s.batches;
  o.examples = s.examples;
  o.skipped = s.skipped;
  o.wait_fraction = s.wait_fraction();
  o.mean_ready = s.mean_ready();
  o.prefetch = s.prefetch;
  o.workers = s.workers;
  o.images_per_second = s.wall_seconds > 0 ? double(s.examples) / s.wall_seconds : 0.0;
  o.capacity_images_per_second = s.capacity_per_second();
  return o;
}

void to_json(nlohmann::json& j, const LoaderSummary& s) {
  j = {
      {"batches", s.batches},
      {"examples", s.examples},
      {"skipped", s.skipped},
      {"wait_fraction", s.wait_fraction},
      {"mean_ready", s.mean_ready},
      {"prefetch", s.prefetch},
      {"workers", s.workers},
      {"images_per_second", s.images_per_second},
      {"capacity_images_per_second", s.capacity_images_per_second}};
}

void from_json(const nlohmann::json& j, LoaderSummary& s) {
  // counts through json_int: nlohmann's value<int64_t> casts a float such as 1e300 without a check
  s.batches = json_int(j, "batches", 0);
  s.examples = json_int(j, "examples", 0);
  s.skipped = json_int(j, "skipped", 0);
  s.wait_fraction = j.value("wait_fraction", 0.0);
  s.mean_ready = j.value("mean_ready", 0.0);
  s.prefetch = json_int(j, "prefetch", 0);
  s.workers = json_int(j, "workers", 0);
  s.images_per_second = j.value("images_per_second", 0.0);
  s.capacity_images_per_second = j.value("capacity_images_per_second", 0.0);
}

void to_json(nlohmann::json& j, const LoaderStats& s) {
  to_json(j, summarise(s));
}

void TensorSource::read(int64_t index, float* out) const {
  if (dataset_.source) {
    dataset_.source->read(index, out);
    return;
  }
  const int64_t per = dataset_.images.size(1) * dataset_.images.size(2) * dataset_.images.size(3);
  if (dataset_.images.scalar_type() == torch::kUInt8) {
    const uint8_t* src = dataset_.images.data_ptr<uint8_t>() + index * per;
    for (int64_t i = 0; i < per; ++i)
      out[i] = float(src[i]) * (1.0f / 255.0f);
  } else {
    const float* src = dataset_.images.data_ptr<float>() + index * per;
    std::copy(src, src + per, out);
  }
}

std::vector<int64_t> SequentialSampler::indices(int64_t) const {
  std::vector<int64_t> out(static_cast<size_t>(size_));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

std::vector<int64_t> RandomSampler::indices(int64_t epoch) const {
  std::vector<int64_t> out(static_cast<size_t>(size_));
  std::iota(out.begin(), out.end(), 0);
  std::mt19937_64 rng(example_hash(seed_, epoch, -1));
  // Fisher-Yates with our own bounded draws: std::shuffle's use of the engine is implementation-defined.
  for (size_t i = out.size(); i > 1; --i)
    std::swap(out[i - 1], out[size_t(rng() % i)]);
  return out;
}

void LoaderOptions::validate() const {
  check(batch_size > 0, "--batch-size must be positive, got {}", batch_size);
  check(crop_padding >= 0, "--crop-padding must be non-negative, got {}", crop_padding);
  check(workers >= 0, "--workers must be non-negative, got {}", workers);
  check(mean.size() == std.size(), "normalisation: mean has {} channels, std has {}", mean.size(), std.size());
  for (size_t c = 0; c < std.size(); ++c)
    check(
        std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] > 0,
        "normalisation: channel {} has mean {} and std {}; the mean must be finite and the std positive and finite",
        c,
        mean[c],
        std[c]);
}

BatchLoader::BatchLoader(
    std::shared_ptr<const ExampleSource> source,
    std::shared_ptr<const Sampler> sampler,
    LoaderOptions options)
    : source_(std::move(source)), sampler_(std::move(sampler)), options_(std::move(options)) {
  options_.validate();
  const auto shape = source_->shape();
  check(
      options_.mean.empty() || options_.mean.size() == size_t(shape[0]),
      "normalisation has {} channels, data has {}",
      options_.mean.size(),
      shape[0]);
  if (options_.workers > 0)
    pool_ = std::make_unique<ThreadPool>(options_.workers);
#if defined(SMOOTHLAB_WITH_CUDA)
  if (options_.pin_memory && !torch::cuda::is_available())
    options_.pin_memory = false;
#else
  options_.pin_memory = false;
#endif
}

BatchLoader::~BatchLoader() {
  for (auto& f : pending_)
    if (f.valid())
      f.wait();
}

DistributedSampler::DistributedSampler(int64_t size, int rank, int replicas, bool shuffle, uint64_t seed)
    : size_(size), rank_(rank), replicas_(std::max(1, replicas)), shuffle_(shuffle), seed_(seed) {}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  auto order = shuffle_ ? RandomSampler(size_, seed_).indices(epoch) : SequentialSampler(size_).indices(epoch);
  if (replicas_ == 1 || order.empty())
    return order;
  const int64_t total = shard_size() * replicas_;
  for (int64_t i = 0; int64_t(order.size()) < total; ++i)
    order.push_back(order[size_t(i % size_)]);
  std::vector<int64_t> out;
  out.reserve(size_t(shard_size()));
  for (int64_t i = rank_; i < total; i += replicas_)
    out.push_back(order[size_t(i)]);
  return out;
}

int64_t BatchLoader::num_batches() const {
  const int64_t n = order_.empty() ? int64_t(sampler_->indices(0).size()) : int64_t(order_.size());
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

void BatchLoader::start_epoch(int64_t epoch) {
  for (auto& f : pending_)
    if (f.valid())
      f.wait();
  pending_.clear();
  epoch_ = epoch;
  order_ = sampler_->indices(epoch);
  batches_in_epoch_ = num_batches();
  next_to_submit_ = 0;
  stats_ = LoaderStats{};
  stats_.workers = options_.workers;
  stats_.prefetch = pool_ ? std::max(1, options_.prefetch) : 0;
  work_ns_ = 0;
  skipped_ = 0;
  epoch_start_ = std::chrono::steady_clock::now();
  if (pool_)
    for (int i = 0; i < std::max(1, options_.prefetch); ++i)
      enqueue();
}

void BatchLoader::enqueue() {
  if (next_to_submit_ >= batches_in_epoch_)
    return;
  const int64_t b = next_to_submit_++;
  pending_.push_back(pool_->submit([this, b] { return assemble(b); }));
}

bool BatchLoader::next(Batch& batch) {
  using clock = std::chrono::steady_clock;
  if (!pool_) {
    if (next_to_submit_ >= batches_in_epoch_)
      return false;
    const auto t0 = clock::now();
    batch = assemble(next_to_submit_++);
    stats_.wait_seconds += std::chrono::duration<double>(clock::now() - t0).count();
  } else {
    if (pending_.empty())
      return false;
    for (auto& f : pending_)
      if (f.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
        stats_.ready_sum += 1;
    auto future = std::move(pending_.front());
    pending_.pop_front();
    const auto t0 = clock::now();
    try {
      batch = future.get();
    } catch (...) {
      // Let the batches in flight finish before the error leaves: nothing may outlive this loader's state.
      for (auto& f : pending_)
        if (f.valid())
          f.wait();
      pending_.clear();
      next_to_submit_ = batches_in_epoch_;
      throw;
    }
    stats_.wait_seconds += std::chrono::duration<double>(clock::now() - t0).count();
    enqueue();
  }
  stats_.batches += 1;
  stats_.examples += batch.labels.size(0);
  return true;
}

LoaderStats BatchLoader::stats() const {
  LoaderStats s = stats_;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  s.work_seconds = double(work_ns_.load()) * 1e-9;
  s.skipped = skipped_.load();
  return s;
}

Batch BatchLoader::assemble(int64_t batch_index) const {
  const auto work_start = std::chrono::steady_clock::now();
  const auto shape = source_->shape();
  const int64_t C = shape[0], H = shape[1], W = shape[2], plane = H * W;
  const int64_t begin = batch_index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, int64_t(order_.size()));
  const int64_t B = end - begin;
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(options_.pin_memory);
  const auto long_options = torch::TensorOptions().dtype(torch::kInt64).pinned_memory(options_.pin_memory);
  Batch batch{
      torch::empty({B, C, H, W}, float_options), torch::empty({B}, long_options), torch::empty({B}, long_options)};
  float* images = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  int64_t* indices = batch.indices.data_ptr<int64_t>();
  std::vector<float> raw(size_t(C * plane));
  std::vector<float> scale(size_t(C), 1.0f), shift(size_t(C), 0.0f);
  for (int64_t c = 0; c < C && !options_.mean.empty(); ++c) {
    scale[size_t(c)] = 1.0f / options_.std[size_t(c)];
    shift[size_t(c)] = -options_.mean[size_t(c)] / options_.std[size_t(c)];
  }
  const bool own_augment = !source_->augments();
  const int64_t pad = own_augment ? options_.crop_padding : 0;
  int64_t kept = 0; // examples in the batch so far; skipped (unreadable) ones leave no gap
  for (int64_t j = 0; j < B; ++j) {
    const int64_t index = order_[size_t(begin + j)];
    if (!source_->read_example(index, epoch_, options_.seed, raw.data())) {
      skipped_ += 1;
      continue;
    }
    const int64_t i = kept++;
    indices[i] = index;
    labels[i] = source_->label(index);
    float* out = images + i * C * plane;
    int64_t dy = 0, dx = 0;
    bool flip = false;
    if (own_augment && (pad > 0 || options_.hflip)) {
      const uint64_t h = example_hash(options_.seed, epoch_, index);
      if (pad > 0) {
        dy = int64_t(h % uint64_t(2 * pad + 1)) - pad;
        dx = int64_t((h >> 16) % uint64_t(2 * pad + 1)) - pad;
      }
      flip = options_.hflip && ((h >> 40) & 1);
    }
    for (int64_t c = 0; c < C; ++c) {
      const float* src = raw.data() + c * plane;
      float* dst = out + c * plane;
      const float a = scale[size_t(c)], b = shift[size_t(c)];
      if (dy == 0 && dx == 0 && !flip) {
        for (int64_t p = 0; p < plane; ++p)
          dst[p] = src[p] * a + b;
        continue;
      }
      // Output (y, x) reads the crop of the zero-padded image at (y + dy, x' + dx), x' = flipped x.
      for (int64_t y = 0; y < H; ++y) {
        const int64_t sy = y + dy;
        float* row = dst + y * W;
        if (sy < 0 || sy >= H) {
          std::fill(row, row + W, b);
          continue;
        }
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (flip ? W - 1 - x : x) + dx;
          row[x] = (sx < 0 || sx >= W) ? b : src[sy * W + sx] * a + b;
        }
      }
    }
  }
  if (kept < B) {
    batch.images = batch.images.narrow(0, 0, kept);
    batch.labels = batch.labels.narrow(0, 0, kept);
    batch.indices = batch.indices.narrow(0, 0, kept);
  }
  work_ns_ +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - work_start).count();
  return batch;
}

std::unique_ptr<BatchLoader> make_eval_loader(
    const Dataset& dataset,
    int64_t batch_size,
    const std::vector<float>& mean,
    const std::vector<float>& std,
    int workers,
    std::shared_ptr<const Sampler> sampler) {
  LoaderOptions options;
  options.batch_size = batch_size;
  options.workers = workers;
  options.mean = mean;
  options.std = std;
  auto loader = std::make_unique<BatchLoader>(
      make_source(dataset), sampler ? sampler : std::make_shared<SequentialSampler>(dataset.size()), options);
  return loader;
}

} // namespace smoothlab::data
