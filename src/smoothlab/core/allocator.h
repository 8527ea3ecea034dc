// Process-wide memory-allocator setting for training and evaluation loops.
#pragma once

namespace smoothlab {

// Keeps freed memory inside the process so that the same-sized activations, gradients and batches of every step reuse
// pages that are already mapped. glibc's default serves each block over 128 KiB–32 MiB with a fresh mmap and returns it
// on free, so every step pays the kernel to zero its activations again (page faults): the cnn forward at batch 1000
// took 3.5 M page faults and ran at 970 img/s; with this setting 0.28 M and 2 290 img/s (docs/performance.md).
// Peak memory stays the run's peak; memory is not returned to the OS before exit. Call once, first thing in main()
// (the smoothlab program and the benchmarks do); a no-op on C libraries other than glibc. Returns whether it applied.
bool keep_freed_memory();

} // namespace smoothlab
