// keep_freed_memory(): a freed large block is handed out again without the kernel mapping fresh pages.
#include <sys/resource.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "smoothlab/core/allocator.h"

namespace smoothlab::testing {
namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Page faults taken while allocating, filling and freeing a 64 MiB block (16 384 pages of 4 KiB).
long faults_of_one_block() {
  constexpr size_t kBytes = size_t(64) << 20;
  const long before = minor_faults();
  void* p = std::malloc(kBytes);
  if (!p)
    return -1;
  volatile char* page = static_cast<char*>(p); // volatile: the compiler may not elide the block
  for (size_t i = 0; i < kBytes; i += 4096)
    page[i] = 1;
  std::free(p);
  return minor_faults() - before;
}

TEST(Allocator, FreedBlocksAreReusedWithoutFreshPages) {
#if defined(__GLIBC__)
  // glibc's default maps a block this large afresh every time: a fault per page, each time.
  faults_of_one_block();
  const long fresh = faults_of_one_block();
  if (fresh < 2000)
    GTEST_SKIP() << "only " << fresh << " faults per fresh block (transparent huge pages?)";
  ASSERT_TRUE(keep_freed_memory());
  faults_of_one_block(); // the first one grows the heap
  EXPECT_LT(faults_of_one_block(), 500);
  EXPECT_LT(faults_of_one_block(), 500);
#else
  EXPECT_FALSE(keep_freed_memory());
#endif
}

} // namespace
} // namespace smoothlab::testing
