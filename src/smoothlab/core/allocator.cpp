#include "smoothlab/core/allocator.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_map>

#include <unistd.h>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include "smoothlab/core/torch_compat.h"

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

namespace {

std::atomic<int64_t> held{0}, peak{0};

// The inner allocator's pointers by address, with their sizes. Data pointers stay "simple" (context = data), as
// raw_allocate and raw_deallocate (oneDNN's scratchpads) require.
struct Counted {
  c10::DataPtr inner;
  int64_t size;
};
std::mutex counted_mutex;
std::unordered_map<void*, Counted>& counted() {
  static auto* map = new std::unordered_map<void*, Counted>(); // never destroyed: tensors may outlive main
  return *map;
}

void release(void* data) {
  Counted c;
  {
    std::lock_guard<std::mutex> lock(counted_mutex);
    auto it = counted().find(data);
    if (it == counted().end())
      return;
    c = std::move(it->second);
    counted().erase(it);
  }
  held -= c.size;
} // c.inner frees the memory through the inner allocator

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {}
  c10::DataPtr allocate(size_t n) SMOOTHLAB_ALLOCATE_CONST override {
    c10::DataPtr p = inner_->allocate(n);
    void* data = p.get();
    const c10::Device device = p.device();
    if (!data)
      return p; // zero bytes
    {
      std::lock_guard<std::mutex> lock(counted_mutex);
      counted()[data] = Counted{std::move(p), int64_t(n)};
    }
    const int64_t now = held += int64_t(n);
    for (int64_t seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
    }
    return {data, data, &release, device};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    return &release;
  }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    std::memcpy(dest, src, count);
  }
  c10::Allocator* inner() const {
    return inner_;
  }

 private:
  c10::Allocator* inner_;
};

CountingAllocator* counting = nullptr; // lives while a CpuAllocationPeak does
std::mutex measuring; // held by the one CpuAllocationPeak alive

int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])))
    return -1; // missing, or "max"
  return std::stoll(s);
}

} // namespace

CpuAllocationPeak::CpuAllocationPeak() {
  measuring.lock(); // a second measure waits for the first to end
  counting = new CountingAllocator(c10::GetCPUAllocator());
  held = 0;
  peak = 0;
  c10::SetCPUAllocator(counting, /*priority=*/UINT8_MAX);
}

CpuAllocationPeak::~CpuAllocationPeak() {
  c10::SetCPUAllocator(counting->inner(), UINT8_MAX);
  // Tensors allocated meanwhile may outlive it: their deleter (release) needs nothing of the allocator.
  delete counting;
  counting = nullptr;
  measuring.unlock();
}

int64_t CpuAllocationPeak::bytes() const {
  return peak.load();
}

int64_t available_memory_bytes() {
  int64_t available = -1;
  auto least = [&](int64_t v) {
    if (v >= 0)
      available = available < 0 ? v : std::min(available, v);
  };
  {
    std::ifstream in("/proc/meminfo");
    for (std::string key; in >> key;) {
      int64_t kb = 0;
      in >> kb;
      if (key == "MemAvailable:") {
        least(kb * 1024);
        break;
      }
      in.ignore(256, '\n');
    }
  }
  const int64_t limit = read_number("/sys/fs/cgroup/memory.max"), used = read_number("/sys/fs/cgroup/memory.current");
  if (limit >= 0 && used >= 0)
    least(std::max<int64_t>(0, limit - used));
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    std::ifstream statm("/proc/self/statm");
    int64_t pages = 0;
    if (statm >> pages)
      least(std::max<int64_t>(0, int64_t(as.rlim_cur) - pages * ::sysconf(_SC_PAGESIZE)));
  }
  return available;
}

} // namespace smoothlab
