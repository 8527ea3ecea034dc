// core/cpu_isa.h: the one ISA cap (SMOOTHLAB_CPU_ISA) that every hand-vectorised kernel honours, and its refusal of
// unknown values. The suite's second pass (scripts/test.sh) sets SMOOTHLAB_CPU_ISA=avx2, so the kernels' paths are
// checked against the cap in both passes.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/cpu_isa.h"
#include "smoothlab/loss/fused_kernel.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(CpuIsa, NamesRoundTripAndUnknownNamesAreNotParsed) {
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    EXPECT_EQ(parse_isa(isa_name(isa)), isa);
  EXPECT_EQ(parse_isa("default"), Isa::Scalar); // ATEN_CPU_CAPABILITY's name for it
  for (const char* bad : {"", "AVX2", "avx", "sse4", "avx512f"})
    EXPECT_FALSE(parse_isa(bad).has_value()) << bad;
}

// The cap as this process's environment sets it; unset: none.
Isa expected_active() {
  const char* env = std::getenv("SMOOTHLAB_CPU_ISA");
  const Isa cap = env && *env ? parse_isa(env).value() : Isa::Avx512;
  return cap <= best_isa() ? cap : best_isa();
}

TEST(CpuIsa, EveryKernelRunsAtTheCappedIsa) {
  const Isa active = expected_active();
  EXPECT_EQ(active_isa(), active);
  EXPECT_EQ(std::string(loss::detail::fused_cpu_isa()), isa_name(active));
  // The calibration kernels have AVX2 and scalar paths only.
  EXPECT_EQ(std::string(calib::detail::kernels_isa()), Isa::Avx2 <= active ? "avx2" : "scalar");
}

TEST(CpuIsa, AnUnknownCapIsRefusedWithExitTwo) {
  const auto r = run_cli({"--version"}, "SMOOTHLAB_CPU_ISA=avx3");
  EXPECT_EQ(r.exit_code, 0) << r.err; // --version does no work
  TempDir dir;
  const auto bad = run_cli({"eval", (dir / "missing").string()}, "SMOOTHLAB_CPU_ISA=avx3");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("error: SMOOTHLAB_CPU_ISA: unknown value 'avx3'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("hint: use scalar, avx2 or avx512"), std::string::npos) << bad.err;
}

} // namespace
} // namespace smoothlab::testing
