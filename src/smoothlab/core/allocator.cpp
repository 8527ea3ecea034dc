#include "smoothlab/core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace smoothlab {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  // No mmap'd blocks: everything comes from the heaps and goes back to them (a block larger than a thread's heap
  // still falls back to mmap inside glibc). No trimming of the main heap's top (−1: never, mallopt(3)); with a
  // finite threshold a freed 1 GB gradient at the top of the heap went back to the kernel and was faulted in again
  // on the next step.
  const bool mmap_off = mallopt(M_MMAP_MAX, 0) == 1;
  const bool trim_off = mallopt(M_TRIM_THRESHOLD, -1) == 1;
  return mmap_off && trim_off;
#else
  return false;
#endif
}

} // namespace smoothlab
