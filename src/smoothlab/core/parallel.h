// How many threads at::parallel_for really uses in the library's translation units.
//
// at::parallel_for is a header template: with LibTorch's OpenMP backend its `#pragma omp parallel` is compiled into
// the caller, so a library built without OpenMP runs every "parallel" kernel on one thread while at::get_num_threads()
// still reports the setting. This probe runs one at::parallel_for over `tasks` single-item chunks from a library
// translation unit and counts the distinct thread numbers that took part.
#pragma once

#include <cstdint>

namespace smoothlab {

int64_t parallel_for_threads(int64_t tasks = 1024);

}  // namespace smoothlab
