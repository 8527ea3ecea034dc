// How many threads at::parallel_for really uses in the library's translation units.
//
// at::parallel_for is a header template: with LibTorch's OpenMP backend its `#pragma omp parallel` is compiled into
// the caller, so a library built without OpenMP runs every "parallel" kernel on one thread while at::get_num_threads()
// still reports the setting. This probe runs one at::parallel_for over `tasks` single-item chunks from a library
// translation unit and counts the distinct thread numbers that took part.
//
// set_threads() sets LibTorch's intra-op threads and those of the OpenMP runtime our translation units call. With
// Debian's LibTorch these are one runtime; PyTorch's pip wheels (the CUDA LibTorch 2.x) load their own copy of libgomp
// next to the system's, and at::set_num_threads alone would leave our kernels at the runtime's default.
#pragma once

#include <cstdint>

namespace smoothlab {

int64_t parallel_for_threads(int64_t tasks = 1024);

void set_threads(int n);

} // namespace smoothlab
