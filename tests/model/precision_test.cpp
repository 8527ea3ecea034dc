// Precision names, the fp16-needs-CUDA rule, the autocast region (dtype inside, state restored, cast cache cleared)
// and the native-bf16 detection against the kernel's own reading of the CPU flags.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/torch_compat.h"
#include "smoothlab/model/precision.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using model::Autocast;
using model::Precision;

TEST(Precision, NamesRoundTripAndUnknownNamesAreErrors) {
  for (const auto& name : model::precision_names())
    EXPECT_EQ(model::precision_name(model::parse_precision(name)), name);
  EXPECT_EQ(model::compute_dtype(Precision::Bf16), torch::kBFloat16);
  EXPECT_EQ(model::compute_dtype(Precision::Fp16), torch::kHalf);
  EXPECT_TRUE(
      error_mentions([] { model::parse_precision("fp8"); }, {"--precision", "unknown precision 'fp8'"}, {"bf16"}));
}

TEST(Precision, Fp16NeedsCuda) {
  EXPECT_TRUE(error_mentions(
      [] { model::check_precision(Precision::Fp16, torch::kCPU); }, {"--precision fp16", "CUDA"}, {"bf16"}));
  if (model::cpu_runs_bf16())
    model::check_precision(Precision::Bf16, torch::kCPU);
  else // oneDNN without AVX-512 (or capped by DNNL_MAX_CPU_ISA): refused with a hint, not a crash in the first layer
    EXPECT_TRUE(error_mentions(
        [] { model::check_precision(Precision::Bf16, torch::kCPU); }, {"--precision bf16", "AVX-512"}, {"fp32"}));
  model::check_precision(Precision::Fp16, torch::Device(torch::kCUDA)); // a rule on names: no GPU needed to check
}

TEST(Precision, AutocastRegionComputesInBf16AndRestoresTheState) {
  const auto a = torch::randn({8, 16}), b = torch::randn({16, 4});
  ASSERT_FALSE(compat::autocast_enabled(c10::kCPU));
  {
    Autocast outer(Precision::Bf16, torch::kCPU);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(model::autocast_enabled(torch::kCPU));
    {
      Autocast inner(Precision::Fp32, torch::kCPU); // fp32 is no region at all: the outer one still holds
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(compat::autocast_enabled(c10::kCPU));
  EXPECT_FALSE(model::autocast_enabled(torch::kCPU));
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

TEST(Precision, LeavingTheRegionDropsCastWeights) {
  // Autocast caches the bf16 copy of a leaf that requires grad (a weight) within a region; the optimizer changes the
  // weight between regions, so a stale copy would train on old weights.
  const auto x = torch::ones({2, 4});
  auto w = torch::ones({4, 3}).requires_grad_(true);
  torch::Tensor first, second;
  {
    Autocast region(Precision::Bf16, torch::kCPU);
    first = torch::mm(x, w);
  }
  {
    torch::NoGradGuard no_grad;
    w.add_(1.0);
  }
  {
    Autocast region(Precision::Bf16, torch::kCPU);
    second = torch::mm(x, w);
  }
  EXPECT_TRUE(torch::all(first.to(torch::kFloat).eq(4.0)).item<bool>());
  EXPECT_TRUE(torch::all(second.to(torch::kFloat).eq(8.0)).item<bool>()); // 4 · 2, exact in bf16
}

TEST(Precision, NativeBf16DetectionAgreesWithTheKernelsCpuFlags) {
  std::ifstream in("/proc/cpuinfo");
  if (!in)
    GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  if (flags.empty())
    GTEST_SKIP() << "no flags line in /proc/cpuinfo";
  const bool listed = flags.find(" avx512_bf16 ") != std::string::npos || flags.find(" amx_bf16 ") != std::string::npos;
  EXPECT_EQ(model::cpu_has_native_bf16(), listed) << flags;
  EXPECT_EQ(model::precision_note(Precision::Bf16, torch::kCPU).empty(), listed && !model::onednn_caps_bf16());
  EXPECT_TRUE(model::precision_note(Precision::Fp32, torch::kCPU).empty());
}

TEST(Precision, AOneDnnCapBelowBf16MeansEmulation) {
  // Measured on the AVX-512 BF16 EPYC: DNNL_MAX_CPU_ISA=AVX512_CORE trains resnet20 at bf16 0.48× as fast as fp32.
  const char* saved = std::getenv("DNNL_MAX_CPU_ISA");
  const bool had = saved != nullptr;
  const std::string before = had ? saved : "";
  ::unsetenv("ONEDNN_MAX_CPU_ISA");
  const std::vector<std::pair<std::string, bool>> caps = {
      {"avx512_core", true}, {"AVX512_CORE_VNNI", true}, {"AVX512_CORE_BF16", false}, {"ALL", false}};
  for (const auto& [cap, capped] : caps) {
    ::setenv("DNNL_MAX_CPU_ISA", cap.c_str(), 1);
    EXPECT_EQ(model::onednn_caps_bf16(), capped) << cap;
    if (capped) {
      EXPECT_NE(model::precision_note(Precision::Bf16, torch::kCPU).find("emulated"), std::string::npos) << cap;
    }
  }
  ::unsetenv("DNNL_MAX_CPU_ISA");
  EXPECT_FALSE(model::onednn_caps_bf16());
  if (had)
    ::setenv("DNNL_MAX_CPU_ISA", before.c_str(), 1);
}

} // namespace
} // namespace smoothlab::testing
