// keep_freed_memory(): a freed large block is handed out again without the kernel mapping fresh pages.
#include <sys/resource.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>
#include <torch/torch.h>

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
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator stands in for glibc's, whose mallopt settings this test checks";
#elif defined(__GLIBC__)
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

TEST(Allocator, PeakCountsTheTensorsHeldAtOnce) {
  const auto outside = torch::ones({1000}); // held before: not counted
  int64_t peak = 0;
  {
    CpuAllocationPeak measure;
    {
      auto a = torch::empty({1 << 20}, torch::kFloat); // 4 MiB
      auto b = torch::empty({1 << 19}, torch::kDouble); // 4 MiB
    }
    auto c = torch::empty({1 << 20}, torch::kByte); // 1 MiB, after a and b are freed
    peak = measure.bytes();
  }
  EXPECT_GE(peak, int64_t(8) << 20);
  EXPECT_LT(peak, (int64_t(8) << 20) + 4096);
  // A tensor made under the measure and freed after it is released through the allocator it came from.
  torch::Tensor kept;
  {
    CpuAllocationPeak measure;
    kept = torch::ones({256});
  }
  kept = torch::Tensor();
  CpuAllocationPeak again; // and a second measure may follow the first
  EXPECT_EQ(again.bytes(), 0);
}

TEST(Allocator, AvailableMemoryIsPositiveAndHonoursTheAddressSpaceLimit) {
  const int64_t available = available_memory_bytes();
  EXPECT_GT(available, 0);
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &before), 0);
  rlimit tight = before;
  // 1 GiB above what is mapped now (read the same way as the function does).
  long pages = 0;
  FILE* statm = std::fopen("/proc/self/statm", "r");
  ASSERT_NE(statm, nullptr);
  ASSERT_EQ(std::fscanf(statm, "%ld", &pages), 1);
  std::fclose(statm);
  tight.rlim_cur = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(1) << 30);
  if (before.rlim_max != RLIM_INFINITY && tight.rlim_cur > before.rlim_max)
    GTEST_SKIP() << "the hard address-space limit is lower";
  ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
  const int64_t limited = available_memory_bytes();
  setrlimit(RLIMIT_AS, &before);
  EXPECT_LE(limited, int64_t(1) << 30);
  EXPECT_GT(limited, int64_t(1) << 29);
}

} // namespace
} // namespace smoothlab::testing
