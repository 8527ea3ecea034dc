// splitmix64 as a hash and as a stream (random.h).
#include "smoothlab/data/random.h"

namespace smoothlab::data {

namespace {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

uint64_t finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

} // namespace

uint64_t splitmix64(uint64_t x) {
  return finalise(x + kGoldenGamma);
}

uint64_t example_hash(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ uint64_t(epoch)) ^ uint64_t(index));
}

uint64_t SplitMix::next() {
  return finalise(state_ += kGoldenGamma);
}

double SplitMix::uniform(double lo, double hi) {
  return lo + (hi - lo) * double(next() >> 11) * 0x1.0p-53;
}

int64_t SplitMix::below(int64_t n) {
  return n <= 1 ? 0 : int64_t(next() % uint64_t(n));
}

} // namespace smoothlab::data
