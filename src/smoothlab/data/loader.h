// Batches for training and evaluation: a sampler gives the order, an example source gives pixels,
// worker threads assemble normalised (and, for training, augmented) float batches ahead of use.
//
//   Sampler ──indices(epoch)──▶ BatchLoader ──read_example(i, epoch, seed)──▶ ExampleSource (source.h)
//                                  │  in-memory tensors (TensorSource) or image files decoded by the worker
//                                  │  (ImageFolderSource: its own RandomResizedCrop/flip, image_folder.h)
//                                  │  crop with zero padding, horizontal flip (sources that do not augment
//                                  │  themselves), (x − mean) / std
//                                  ▼
//                          Batch {images float [B, C, H, W], labels int64 [B], indices int64 [B]}
//
// Augmentation is a pure function of (seed, epoch, example index), so batches do not depend on the
// number of worker threads, and a resumed run sees exactly the batches an uninterrupted run would.
// A source may skip an unreadable example (--skip-bad-images); its batch is then that much smaller.
// Workers run ahead by `prefetch` batches (a bounded queue); stats() says whether the consumer waited on
// them (loader-bound) or they waited on the consumer (model-bound).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <vector>

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include "smoothlab/data/dataset.h"
#include "smoothlab/data/random.h"
#include "smoothlab/data/source.h"

namespace smoothlab {
class ThreadPool;
}

namespace smoothlab::data {

// An ExampleSource over a Dataset: its in-memory images (uint8 or float32), or, for a lazy dataset
// (folder:DIR), its own source, to which every call is forwarded.
class TensorSource : public ExampleSource {
 public:
  explicit TensorSource(Dataset dataset);
  int64_t size() const override {
    return dataset_.size();
  }
  std::vector<int64_t> shape() const override;
  int64_t label(int64_t index) const override;
  void read(int64_t index, float* out) const override;
  bool read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const override;
  bool augments() const override {
    return dataset_.source && dataset_.source->augments();
  }

 private:
  Dataset dataset_;
};

// The source to load a Dataset from: a TensorSource over its tensors, or over its own source for a lazy dataset
// (labels from Dataset::labels either way, so a subset can relabel: data::keep_classes, add_label_noise).
std::shared_ptr<const ExampleSource> make_source(const Dataset& dataset);

// The order in which an epoch visits examples. Subclasses: sequential, seeded random, and the distributed shard of
// either.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
};

class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t size) : size_(size) {}
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  int64_t size_;
};

// A permutation drawn from (seed, epoch): the same for a given epoch in every run.
class RandomSampler : public Sampler {
 public:
  RandomSampler(int64_t size, uint64_t seed) : size_(size), seed_(seed) {}
  std::vector<int64_t> indices(int64_t epoch) const override;

 private:
  int64_t size_;
  uint64_t seed_;
};

// PyTorch's DistributedSampler: the epoch's order (a RandomSampler's permutation, or 0..n−1 with shuffle off) padded
// by repeating its start to a multiple of `replicas` (drop_last off), then every replicas-th index from `rank`. The
// shards of one epoch are disjoint but for the padding, cover every example, and have equal sizes, so every rank takes
// the same number of steps; with replicas 1 it is the unsharded order.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t size, int rank, int replicas, bool shuffle, uint64_t seed);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t shard_size() const { // ceil(size / replicas)
    return (size_ + replicas_ - 1) / replicas_;
  }

 private:
  int64_t size_;
  int rank_, replicas_;
  bool shuffle_;
  uint64_t seed_;
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool drop_last = false;
  int64_t crop_padding = 0; // > 0: random crop of the original size from the image padded with zeros
  bool hflip = false; // random horizontal flip with probability 1/2
  int workers = 2; // assembling threads; 0 assembles on the calling thread
  int prefetch = 4; // batches assembled ahead
  uint64_t seed = 0; // augmentation seed
  std::vector<float> mean, std; // per channel; empty: no normalisation
  bool pin_memory = false; // allocate batches in page-locked memory (when CUDA is available) for fast copies

  // Throws Error naming the option (--batch-size, --crop-padding, --workers) for values out of range, and for a
  // normalisation whose mean and std differ in length or whose std is not positive and finite. BatchLoader's
  // constructor calls it first (and checks the channel count against the source).
  void validate() const;
};

// What the loader did since the last start_epoch(). The consumer waited wait_seconds in next() for batches
// not ready yet: a wait fraction (wait / wall) near 0 means the model sets the pace, near 1 the loader.
struct LoaderStats {
  int64_t batches = 0, examples = 0, skipped = 0;
  double wall_seconds = 0; // since start_epoch
  double wait_seconds = 0; // consumer blocked in next()
  double work_seconds = 0; // summed over workers: reading, decoding, augmenting, normalising
  double ready_sum = 0; // batches already assembled when next() was called, summed over calls
  int workers = 0, prefetch = 0;
  double wait_fraction() const {
    return wall_seconds > 0 ? wait_seconds / wall_seconds : 0;
  }
  double mean_ready() const {
    return batches > 0 ? ready_sum / double(batches) : 0;
  } // queue occupancy
  // Examples per second the workers could deliver if never waiting on the consumer.
  double capacity_per_second() const {
    return work_seconds > 0 ? double(examples) / work_seconds * std::max(1, workers) : 0;
  }
};
// What an epoch's record keeps of LoaderStats (metrics.jsonl's "loader"): the counts and the derived rates.
struct LoaderSummary {
  int64_t batches = 0, examples = 0, skipped = 0;
  double wait_fraction = 0, mean_ready = 0;
  int64_t prefetch = 0, workers = 0;
  double images_per_second = 0; // delivered: examples / wall seconds
  double capacity_images_per_second = 0; // LoaderStats::capacity_per_second
};
LoaderSummary summarise(const LoaderStats& stats);

// {"batches", "examples", "skipped", "wait_fraction", "mean_ready", "prefetch", "workers",
//  "images_per_second" (delivered), "capacity_images_per_second"}; from_json reads a missing key as 0, and a count
//  that is not an integer in range is an Error (core/json_int.h).
void to_json(nlohmann::json& j, const LoaderSummary& summary);
void from_json(const nlohmann::json& j, LoaderSummary& summary);
void to_json(nlohmann::json& j, const LoaderStats& stats); // to_json(summarise(stats))

struct Batch {
  torch::Tensor images; // float32 [B, C, H, W]
  torch::Tensor labels; // int64 [B]
  torch::Tensor indices; // int64 [B], positions in the source
};

class BatchLoader {
 public:
  BatchLoader(
      std::shared_ptr<const ExampleSource> source,
      std::shared_ptr<const Sampler> sampler,
      LoaderOptions options);
  ~BatchLoader();

  // Starts an epoch: fixes its order and begins assembling its first batches.
  void start_epoch(int64_t epoch);
  // The next batch of the epoch, or false when the epoch is done.
  bool next(Batch& batch);
  int64_t num_batches() const;
  int64_t num_examples() const { // this loader's examples per epoch (its shard, for a DistributedSampler)
    return order_.empty() ? int64_t(sampler_->indices(0).size()) : int64_t(order_.size());
  }
  const ExampleSource& source() const {
    return *source_;
  }
  LoaderStats stats() const;

 private:
  Batch assemble(int64_t batch_index) const;
  void enqueue();

  std::shared_ptr<const ExampleSource> source_;
  std::shared_ptr<const Sampler> sampler_;
  LoaderOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, next_to_submit_ = 0, batches_in_epoch_ = 0;
  std::deque<std::future<Batch>> pending_;
  // Statistics of the current epoch; work_ns_ and skipped_ are updated by workers.
  LoaderStats stats_;
  std::chrono::steady_clock::time_point epoch_start_;
  mutable std::atomic<int64_t> work_ns_{0}, skipped_{0};
};

// Convenience: a loader over a whole Dataset in order, no augmentation (evaluation). Lazy datasets too.
std::unique_ptr<BatchLoader> make_eval_loader(
    const Dataset& dataset,
    int64_t batch_size,
    const std::vector<float>& mean,
    const std::vector<float>& std,
    int workers,
    std::shared_ptr<const Sampler> sampler = nullptr); // default: the whole dataset in order

} // namespace smoothlab::data
