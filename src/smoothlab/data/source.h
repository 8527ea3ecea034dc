// Where a loader's examples come from: in memory (TensorSource) or decoded lazily from files
// (ImageFolderSource, image_folder.h). Kept apart from loader.h so that dataset.h can hold one.
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::data {

// Where examples come from. Pixels are written as C*H*W floats (CHW order) in units where 1 = white
// (uint8 / 255). All methods are thread-safe: loader workers call them concurrently.
class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> shape() const = 0; // {C, H, W} of what read() writes
  virtual int64_t label(int64_t index) const = 0;
  virtual void read(int64_t index, float* out) const = 0;

  // The example as seen in `epoch` of a run seeded with `seed`. A source that augments itself
  // (augments() true: e.g. a RandomResizedCrop that needs the full-size image) draws its augmentation
  // from (seed, epoch, index) only; others ignore both and read(). Returns false when the example is
  // unreadable and the source was asked to skip such examples (the loader then leaves it out of its batch).
  virtual bool read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const {
    (void)epoch;
    (void)seed;
    read(index, out);
    return true;
  }
  // True when read_example() already applies the training augmentation, so the loader must not add its own.
  virtual bool augments() const {
    return false;
  }
};

} // namespace smoothlab::data
