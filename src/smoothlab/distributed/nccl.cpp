// The NCCL backend for `--device cuda` (backend.h). Its body is compiled only with SMOOTHLAB_WITH_NCCL, which CMake
// sets after compiling this very file as a probe against the LibTorch at hand (a CUDA LibTorch built with NCCL):
// where the probe fails, as with Debian's CPU LibTorch, CUDA runs use Gloo and the build is unchanged.
#include "smoothlab/distributed/backend.h"

#if SMOOTHLAB_WITH_NCCL

#include <cstdlib>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace smoothlab::distributed {

c10::intrusive_ptr<Collectives> make_nccl(
    const c10::intrusive_ptr<c10d::Store>& store,
    int rank,
    int size,
    std::chrono::milliseconds timeout) {
  ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0); // LibTorch ≥ 2.2's name
  ::setenv("NCCL_BLOCKING_WAIT", "1", 0); // earlier versions'
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}

} // namespace smoothlab::distributed

#endif
