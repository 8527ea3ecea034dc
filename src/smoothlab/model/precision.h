// Numeric precision of a model's forward pass: fp32 (the default), or mixed precision through LibTorch's autocast —
// bf16 on CPU and CUDA, fp16 on CUDA only (with a gradient scaler, train/grad_scaler.h). Weights, optimizer state,
// the loss and every calibration number stay float32: autocast runs convolutions and matrix products in the 16-bit
// type and everything on its float32 list (losses, reductions) in float32, as torch.autocast does in Python.
#pragma once

#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace smoothlab::model {

enum class Precision { Fp32, Bf16, Fp16 };

Precision parse_precision(const std::string& name); // "fp32" | "bf16" | "fp16"; else Error naming --precision
const char* precision_name(Precision p);
std::vector<std::string> precision_names();
// The dtype autocast computes in: float32, bfloat16 or float16.
c10::ScalarType compute_dtype(Precision p);

// Throws Error (naming --precision, with a hint) when p cannot run on the device: fp16 needs CUDA (LibTorch's CPU
// autocast has bf16 only); bf16 on CPU needs oneDNN's bfloat16 kernels (cpu_runs_bf16).
void check_precision(Precision p, const c10::Device& device);
// One line for the user when p runs slowly on this machine — bf16 on a CPU without AVX-512 BF16 or AMX, or with
// oneDNN capped below them (onednn_caps_bf16), where oneDNN emulates it (slower than fp32) — else empty.
std::string precision_note(Precision p, const c10::Device& device);
// Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX-BF16, read with cpuid).
bool cpu_has_native_bf16();
// Whether oneDNN is capped below its bfloat16 instructions (DNNL_MAX_CPU_ISA or ONEDNN_MAX_CPU_ISA = AVX512_CORE or
// AVX512_CORE_VNNI): it then emulates bf16 whatever the CPU has. Lower caps make bf16 fail (cpu_runs_bf16).
bool onednn_caps_bf16();
// Whether LibTorch runs bfloat16 convolutions and matrix products on this CPU at all: oneDNN's need AVX-512 (natively
// or emulated); without it, or with oneDNN capped below it (DNNL_MAX_CPU_ISA), they fail. Probed once, on tiny tensors.
bool cpu_runs_bf16();

// RAII autocast region for one device type, like `with torch.autocast(device, dtype)`: enables autocast with the
// precision's dtype (a no-op for fp32), restores the previous state on exit and, on leaving the outermost region,
// clears autocast's cache of cast weights (they change with every optimizer step). Run the forward pass and the loss
// inside it, the backward pass and the optimizer step outside.
class Autocast {
 public:
  Autocast(Precision p, const c10::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool active_ = false, was_enabled_ = false;
  c10::DeviceType type_ = c10::kCPU;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

// Whether autocast is on for this device's type now (used by the loss to follow autocast's float32 policy).
bool autocast_enabled(const c10::Device& device);

} // namespace smoothlab::model
