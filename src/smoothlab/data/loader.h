// Batches for training and evaluation: a sampler gives the order, an example source gives pixels,
// worker threads assemble normalised (and, for training, augmented) float batches ahead of use.
//
//   Sampler ──indices(epoch)──▶ BatchLoader ──read(i)──▶ ExampleSource (in-memory tensors; image folders later)
//                                  │  crop with zero padding, horizontal flip, (x − mean) / std
//                                  ▼
//                          Batch {images float [B, C, H, W], labels int64 [B], indices int64 [B]}
//
// Augmentation is a pure function of (seed, epoch, example index), so batches do not depend on the
// number of worker threads, and a resumed run sees exactly the batches an uninterrupted run would.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "smoothlab/data/dataset.h"

namespace smoothlab {
class ThreadPool;
}

namespace smoothlab::data {

// Where examples come from. read() writes C*H*W floats in units where 1 = white (uint8 / 255).
class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> shape() const = 0;  // {C, H, W}
  virtual int64_t label(int64_t index) const = 0;
  virtual void read(int64_t index, float* out) const = 0;  // thread-safe
};

// An ExampleSource over an in-memory Dataset (uint8 or float32 images).
class TensorSource : public ExampleSource {
 public:
  explicit TensorSource(Dataset dataset);
  int64_t size() const override { return dataset_.size(); }
  std::vector<int64_t> shape() const override;
  int64_t label(int64_t index) const override;
  void read(int64_t index, float* out) const override;

 private:
  Dataset dataset_;
};

// The order in which an epoch visits examples. Subclasses: sequential, seeded random (a distributed
// sampler that takes every world_size-th index of a shared permutation slots in here).
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

struct LoaderOptions {
  int64_t batch_size = 128;
  bool drop_last = false;
  int64_t crop_padding = 0;  // > 0: random crop of the original size from the image padded with zeros
  bool hflip = false;        // random horizontal flip with probability 1/2
  int workers = 2;           // assembling threads; 0 assembles on the calling thread
  int prefetch = 4;          // batches assembled ahead
  uint64_t seed = 0;         // augmentation seed
  std::vector<float> mean, std;  // per channel; empty: no normalisation
};

struct Batch {
  torch::Tensor images;   // float32 [B, C, H, W]
  torch::Tensor labels;   // int64 [B]
  torch::Tensor indices;  // int64 [B], positions in the source
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const ExampleSource> source, std::shared_ptr<const Sampler> sampler,
              LoaderOptions options);
  ~BatchLoader();

  // Starts an epoch: fixes its order and begins assembling its first batches.
  void start_epoch(int64_t epoch);
  // The next batch of the epoch, or false when the epoch is done.
  bool next(Batch& batch);
  int64_t num_batches() const;
  int64_t num_examples() const { return source_->size(); }
  const ExampleSource& source() const { return *source_; }

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
};

// Convenience: a loader over a whole Dataset in order, no augmentation (evaluation).
std::unique_ptr<BatchLoader> make_eval_loader(const Dataset& dataset, int64_t batch_size, const std::vector<float>& mean,
                                              const std::vector<float>& std, int workers);

// A 64-bit mix of (seed, epoch, index) used for per-example augmentation draws.
uint64_t example_hash(uint64_t seed, int64_t epoch, int64_t index);

}  // namespace smoothlab::data
