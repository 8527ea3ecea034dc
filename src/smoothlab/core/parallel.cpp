#include "smoothlab/core/parallel.h"

#include <ATen/Parallel.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <atomic>
#include <cstdint>

namespace smoothlab {

int64_t parallel_for_threads(int64_t tasks) {
  std::atomic<uint64_t> seen{0}; // bit t: thread number t ran a chunk (numbers ≥ 64 share the last bit)
  at::parallel_for(0, tasks, 1, [&](int64_t, int64_t) {
    const int t = at::get_thread_num();
    seen.fetch_or(uint64_t(1) << (t < 63 ? t : 63));
  });
  return __builtin_popcountll(seen.load());
}

void set_threads(int n) {
  at::set_num_threads(n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

} // namespace smoothlab
