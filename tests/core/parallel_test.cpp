// The library's at::parallel_for calls run on the threads set with at::set_num_threads (they need OpenMP in the
// library's compile flags; without it every kernel silently runs on one thread).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "smoothlab/core/parallel.h"

namespace smoothlab::testing {
namespace {

TEST(Parallel, LibraryKernelsUseTheThreadsTheyAreGiven) {
  const int saved = at::get_num_threads();
  set_threads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(parallel_for_threads(), 2);
  set_threads(1);
  EXPECT_EQ(parallel_for_threads(), 1);
  set_threads(saved);
}

} // namespace
} // namespace smoothlab::testing
