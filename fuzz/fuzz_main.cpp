// libFuzzer's entry points for a program built from this file and one target source (fuzz/CMakeLists.txt).
#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

#include "fuzz/fuzz_target.h"
#include "smoothlab/core/error.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1); // one input at a time; LibTorch's pool would only add noise to the coverage
  if (smoothlab::fuzz::targets().size() != 1) {
    std::fprintf(stderr, "fuzz: %zu targets linked into one program (want 1)\n", smoothlab::fuzz::targets().size());
    std::abort();
  }
  // One warm-up run on an empty input, before libFuzzer's per-input timer: LibTorch's lazy set-up and a target's own
  // background files (made once) are not charged to the first real input.
  static const uint8_t empty = 0;
  try {
    smoothlab::fuzz::targets().front().entry(&empty, 0);
  } catch (const smoothlab::Error&) {
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    smoothlab::fuzz::targets().front().entry(data, size);
  } catch (const smoothlab::Error&) {
    // the reader refused the input with a message: the expected outcome for most inputs
  } catch (const std::exception& e) {
    // A finding: say what escaped, then abort so that libFuzzer saves the input (crash-<sha1>).
    std::fprintf(stderr, "fuzz: %s escaped the reader: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
