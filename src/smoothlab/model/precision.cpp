#include "smoothlab/model/precision.h"

#include <cctype>
#include <cstdlib>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

#include "smoothlab/core/error.h"
#include "smoothlab/core/torch_compat.h"

namespace smoothlab::model {

namespace {

struct PrecisionEntry {
  const char* name;
  Precision precision;
  c10::ScalarType dtype;
};
const PrecisionEntry kPrecisions[] = {
    {"fp32", Precision::Fp32, c10::ScalarType::Float},
    {"bf16", Precision::Bf16, c10::ScalarType::BFloat16},
    {"fp16", Precision::Fp16, c10::ScalarType::Half},
};

const PrecisionEntry& entry(Precision p) {
  for (const auto& e : kPrecisions)
    if (e.precision == p)
      return e;
  throw Error("unknown precision");
}

} // namespace

Precision parse_precision(const std::string& name) {
  for (const auto& e : kPrecisions)
    if (name == e.name)
      return e.precision;
  throw Error(fmt::format("--precision: unknown precision '{}'", name), "known: " + join(precision_names()));
}

const char* precision_name(Precision p) {
  return entry(p).name;
}

std::vector<std::string> precision_names() {
  std::vector<std::string> names;
  for (const auto& e : kPrecisions)
    names.emplace_back(e.name);
  return names;
}

c10::ScalarType compute_dtype(Precision p) {
  return entry(p).dtype;
}

void check_precision(Precision p, const c10::Device& device) {
  if (p == Precision::Fp16 && !device.is_cuda())
    throw Error(
        fmt::format("--precision fp16 needs a CUDA device, got --device {}", device.str()),
        "on CPU use --precision bf16 (LibTorch's CPU autocast has no float16)");
  if (p == Precision::Bf16 && device.is_cpu() && !cpu_runs_bf16())
    throw Error(
        "--precision bf16: LibTorch cannot run bfloat16 convolutions on this CPU (oneDNN's need AVX-512)",
        "use --precision fp32");
}

bool cpu_runs_bf16() {
  static const bool runs = [] {
    try {
      torch::NoGradGuard no_grad;
      const auto x = torch::ones({2, 3, 8, 8}).contiguous(torch::MemoryFormat::ChannelsLast).to(torch::kBFloat16);
      const auto w = torch::ones({4, 3, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast).to(torch::kBFloat16);
      const auto y = torch::conv2d(x, w, {}, 1, 1);
      const auto z = torch::mm(y.flatten(1), torch::ones({256, 2}, torch::kBFloat16));
      return z.scalar_type() == torch::kBFloat16;
    } catch (const std::exception&) {
      return false;
    }
  }();
  return runs;
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(_M_X64)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__builtin_cpu_supports("avx512f"))
    return false;
  bool avx512_bf16 = false, amx_bf16 = false;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d))
    avx512_bf16 = (a >> 5) & 1u; // CPUID.(EAX=7, ECX=1):EAX[5]
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
    amx_bf16 = (d >> 22) & 1u; // CPUID.(EAX=7, ECX=0):EDX[22]
  return avx512_bf16 || amx_bf16;
#else
  return false;
#endif
}

bool onednn_caps_bf16() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) { // oneDNN reads the first one set
    const char* v = std::getenv(name);
    if (!v || !*v)
      continue;
    std::string isa(v);
    for (auto& c : isa)
      c = char(std::toupper(static_cast<unsigned char>(c)));
    return isa == "AVX512_CORE" || isa == "AVX512_CORE_VNNI";
  }
  return false;
}

std::string precision_note(Precision p, const c10::Device& device) {
  if (p != Precision::Bf16 || !device.is_cpu())
    return {};
  if (!cpu_has_native_bf16())
    return "this CPU has no native bfloat16 (AVX-512 BF16 or AMX): --precision bf16 is emulated and slower than "
           "fp32; use --precision fp32";
  if (onednn_caps_bf16())
    return "DNNL_MAX_CPU_ISA caps oneDNN below its bfloat16 instructions: --precision bf16 is emulated and slower "
           "than fp32; use --precision fp32 or lift the cap";
  return {};
}

Autocast::Autocast(Precision p, const c10::Device& device) {
  if (p == Precision::Fp32)
    return;
  active_ = true;
  type_ = device.is_cuda() ? c10::kCUDA : c10::kCPU;
  was_enabled_ = compat::autocast_enabled(type_);
  was_dtype_ = compat::autocast_dtype(type_);
  compat::set_autocast_enabled(type_, true);
  compat::set_autocast_dtype(type_, compute_dtype(p));
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!active_)
    return;
  if (at::autocast::decrement_nesting() == 0)
    at::autocast::clear_cache();
  compat::set_autocast_enabled(type_, was_enabled_);
  compat::set_autocast_dtype(type_, was_dtype_);
}

bool autocast_enabled(const c10::Device& device) {
  return compat::autocast_enabled(device.is_cuda() ? c10::kCUDA : c10::kCPU);
}

} // namespace smoothlab::model
