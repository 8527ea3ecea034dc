// The CPU's vector ISA as smoothlab's kernels see it, and its one cap. Every hand-vectorised kernel (loss/
// fused_kernel_cpu.cpp, calib/kernels.cpp) runs at most at active_isa():
//   best_isa()   what this CPU supports (AVX-512F; AVX2 with FMA; else scalar)
//   isa_cap()    SMOOTHLAB_CPU_ISA = scalar | avx2 | avx512 ("default" is scalar, as in ATEN_CPU_CAPABILITY), read
//                once; unset or empty: no cap. Any other value is refused: Error naming the variable and its values.
//   active_isa() min(best_isa(), isa_cap())
// The test script runs the suite a second time with SMOOTHLAB_CPU_ISA=avx2 (beside ATEN_CPU_CAPABILITY and
// DNNL_MAX_CPU_ISA for LibTorch's own kernels), so every machine exercises a second floating-point path.
#pragma once

#include <optional>
#include <string>

namespace smoothlab {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa); // "scalar" | "avx2" | "avx512"
std::optional<Isa> parse_isa(const std::string& name); // the names above and "default"; nullopt otherwise

Isa best_isa();
Isa isa_cap(); // throws Error for an unknown SMOOTHLAB_CPU_ISA (at every call until it is fixed)
Isa active_isa(); // throws as isa_cap()

inline bool operator<=(Isa a, Isa b) {
  return static_cast<int>(a) <= static_cast<int>(b);
}

} // namespace smoothlab
