// The one seam between the LibTorch versions smoothlab builds on (Debian 12's 1.13, Debian 13's 2.6, PyTorch 2.x
// wheels): every API difference between them is decided here and in torch_compat_c10d.h, by TORCH_VERSION_*, and
// nowhere else (tests/layering/check_layers.py refuses a version test outside these two files).
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

#define SMOOTHLAB_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10::Allocator::allocate is const up to LibTorch 2.2 and not from 2.3 on (which also made copy_data pure virtual;
// an allocator defines it in every version: without `override` it is a plain member on 1.13).
#if SMOOTHLAB_TORCH_AT_LEAST(2, 3)
#define SMOOTHLAB_ALLOCATE_CONST
#else
#define SMOOTHLAB_ALLOCATE_CONST const
#endif

namespace smoothlab::compat {

// Autocast's state for one device type (kCPU or kCUDA). LibTorch 2.4 replaced the per-device functions
// (is_cpu_enabled, set_autocast_gpu_dtype, ...) with ones that take the device type and deprecated the old ones.
#if SMOOTHLAB_TORCH_AT_LEAST(2, 4)
inline bool autocast_enabled(c10::DeviceType d) {
  return at::autocast::is_autocast_enabled(d);
}
inline void set_autocast_enabled(c10::DeviceType d, bool on) {
  at::autocast::set_autocast_enabled(d, on);
}
inline c10::ScalarType autocast_dtype(c10::DeviceType d) {
  return at::autocast::get_autocast_dtype(d);
}
inline void set_autocast_dtype(c10::DeviceType d, c10::ScalarType t) {
  at::autocast::set_autocast_dtype(d, t);
}
#else
inline bool autocast_enabled(c10::DeviceType d) {
  return d == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
inline void set_autocast_enabled(c10::DeviceType d, bool on) {
  d == c10::kCUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
}
inline c10::ScalarType autocast_dtype(c10::DeviceType d) {
  return d == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
inline void set_autocast_dtype(c10::DeviceType d, c10::ScalarType t) {
  d == c10::kCUDA ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t);
}
#endif

// The key of an optimizer's per-parameter state (Optimizer::state()): the parameter's TensorImpl address printed as a
// string in LibTorch 1.13, the address itself in 2.x. Decided from the map's own key type.
using OptimizerStateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
template <typename Key = OptimizerStateKey>
Key optimizer_state_key(const at::Tensor& parameter) {
  void* impl = parameter.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os; // as c10::guts::to_string(TensorImpl*), which LibTorch 1.13's optimizers use
    os << impl;
    return os.str();
  } else {
    return impl;
  }
}

} // namespace smoothlab::compat
