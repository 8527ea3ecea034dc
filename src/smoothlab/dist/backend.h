// What group.cpp builds a process group from (internal to dist/): the c10d class every backend derives from, and the
// NCCL backend's constructor for CUDA runs.
//
// LibTorch 2.x splits c10d's process group into a front (c10d::ProcessGroup) and backends (c10d::Backend:
// ProcessGroupGloo, ProcessGroupNCCL); in 1.13 the backends derive from c10d::ProcessGroup itself. Group holds its
// backend through the base class of the LibTorch at hand and calls only the collectives both versions declare there.
#pragma once

#include <chrono>

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace smoothlab::dist {

#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

#if SMOOTHLAB_WITH_NCCL
// ProcessGroupNCCL over `store` for tensors on this rank's GPU, in blocking-wait mode (unless TORCH_NCCL_BLOCKING_WAIT
// is set): a collective that waits on a lost peer throws within `timeout` instead of the watchdog aborting the
// process, so the rank ends with `error: rank R:` as under Gloo. Defined in nccl.cpp.
c10::intrusive_ptr<Collectives> make_nccl(
    const c10::intrusive_ptr<c10d::Store>& store,
    int rank,
    int size,
    std::chrono::milliseconds timeout);
#endif

} // namespace smoothlab::dist
