// What group.cpp builds a process group from (internal to distributed/): the c10d class every backend derives from (the
// version seam's compat::Collectives), and the NCCL backend's constructor for CUDA runs.
#pragma once

#include <chrono>

#include "smoothlab/core/torch_compat_c10d.h"

namespace smoothlab::distributed {

using Collectives = compat::Collectives;

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

} // namespace smoothlab::distributed
