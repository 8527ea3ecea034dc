// The c10d half of the LibTorch version seam (torch_compat.h has the rest): the base class that holds a process
// group's backend, and the rendezvous store. Included only by the files that use c10d (distributed/).
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "smoothlab/core/torch_compat.h"

#if SMOOTHLAB_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace smoothlab::compat {

// LibTorch 2.x splits c10d's process group into a front (c10d::ProcessGroup) and backends (c10d::Backend:
// ProcessGroupGloo, ProcessGroupNCCL); in 1.13 the backends derive from c10d::ProcessGroup itself. A group holds its
// backend through the base class of the LibTorch at hand and calls only the collectives both versions declare there.
#if SMOOTHLAB_TORCH_AT_LEAST(2, 0)
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

// Whether `e` is LibTorch refusing the libuv store because it was built without libuv (Debian's 2.x is).
inline bool is_missing_libuv(const std::exception& e) {
  return std::string(e.what()).find("without libuv support") != std::string::npos;
}

namespace detail {
template <typename O, typename = void>
struct HasUseLibUV : std::false_type {};
template <typename O>
struct HasUseLibUV<O, std::void_t<decltype(std::declval<O&>().useLibUV)>> : std::true_type {};

// A template, so that the branch for options without useLibUV (before 2.2) is discarded, not compiled.
template <typename Options>
c10::intrusive_ptr<c10d::TCPStore> make_tcp_store(const std::string& host, Options o, bool libuv) {
  if constexpr (HasUseLibUV<Options>::value) {
    o.useLibUV = libuv;
    if (libuv) {
      try {
        return c10::make_intrusive<c10d::TCPStore>(host, o);
      } catch (const std::exception& e) {
        if (!is_missing_libuv(e))
          throw;
      }
      o.useLibUV = false;
    }
  }
  (void)libuv;
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}
} // namespace detail

// The TCPStore of the rendezvous, with torchrun's choice of server: libuv when `libuv` (torchrun: unless USE_LIBUV=0)
// and this LibTorch has it. Since 2.4 `TCPStoreOptions::useLibUV` defaults to true and a LibTorch without libuv
// refuses it even on a client; LibTorch does not export the check, so the refusal itself is the test, and the store is
// then made with the classic backend (the same wire protocol: clients and servers of either kind talk to each other).
// Before 2.2 the option does not exist and the classic backend is the only one.
inline c10::intrusive_ptr<c10d::TCPStore> make_tcp_store(
    const std::string& host,
    const c10d::TCPStoreOptions& options,
    bool libuv) {
  return detail::make_tcp_store(host, options, libuv);
}

} // namespace smoothlab::compat
