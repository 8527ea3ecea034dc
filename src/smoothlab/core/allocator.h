// Process-wide memory-allocator setting for training and evaluation loops.
#pragma once

#include <cstdint>

namespace smoothlab {

// Keeps freed memory inside the process so that the same-sized activations, gradients and batches of every step reuse
// pages that are already mapped. glibc's default serves each block over 128 KiB–32 MiB with a fresh mmap and returns it
// on free, so every step pays the kernel to zero its activations again (page faults): the cnn forward at batch 1000
// took 3.5 M page faults and ran at 970 img/s; with this setting 0.28 M and 2 290 img/s (docs/performance.md).
// Peak memory stays the run's peak; memory is not returned to the OS before exit. Call once, first thing in main()
// (the smoothlab program and the benchmarks do); a no-op on C libraries other than glibc. Returns whether it applied.
bool keep_freed_memory();

// The most bytes LibTorch's CPU allocator held at once while this object lived, above what it held when it started:
// the peak memory of the tensors of a forward and backward pass, say. Installs a counting CPU allocator in front of
// the current one for its lifetime. One at a time (a second waits for the first to end); what other threads allocate
// meanwhile is counted too.
class CpuAllocationPeak {
 public:
  CpuAllocationPeak();
  ~CpuAllocationPeak();
  CpuAllocationPeak(const CpuAllocationPeak&) = delete;
  CpuAllocationPeak& operator=(const CpuAllocationPeak&) = delete;
  int64_t bytes() const;
};

// The memory this process can still take, in bytes: the least of the kernel's MemAvailable, the room left under the
// cgroup's memory.max and the address-space limit (RLIMIT_AS) above what the process maps now. -1 when none is known.
int64_t available_memory_bytes();

} // namespace smoothlab
