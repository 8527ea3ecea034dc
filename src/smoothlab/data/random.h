// The data path's one source of randomness: splitmix64 (Steele, Lea & Flood 2014), as a mixing function and as a
// stream. Every random draw of the data path (an epoch's permutation, each example's crop offsets, flip and
// RandomResizedCrop box) is a function of (seed, epoch, example index) through example_hash, so batches do not depend
// on the number of worker threads or on where a run was interrupted, and are the same on every platform.
#pragma once

#include <cstdint>

namespace smoothlab::data {

// One splitmix64 step: the finaliser applied to x + golden gamma.
uint64_t splitmix64(uint64_t x);

// A 64-bit mix of (seed, epoch, index) for per-example augmentation draws; index −1 seeds the epoch's permutation.
uint64_t example_hash(uint64_t seed, int64_t epoch, int64_t index);

// A splitmix64 stream: uniform doubles and bounded integers that are the same on every platform.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform(double lo, double hi); // [lo, hi)
  int64_t below(int64_t n); // {0, ..., n − 1}

 private:
  uint64_t state_;
};

} // namespace smoothlab::data
