// The CUDA paths, run by scripts/gpu_check.sh on a machine with a GPU (skipped elsewhere, compiled on every leg of
// the platform matrix): the fused loss's CUDA kernel against LibTorch's cross_entropy(..., label_smoothing) on the
// same GPU, forward and backward, for float32, bfloat16 and float16 logits, every reduction, class weights,
// ignore_index, soft targets and a 4-D input. The reference is computed in float64 from the same 16-bit values, so
// the tolerance is that of float32 accumulation, not of the 16-bit inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include <torch/torch.h>

#include "smoothlab/distributed/group.h"
#include "smoothlab/loss/label_smoothing.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using loss::Implementation;
using loss::LabelSmoothingOptions;
using loss::Reduction;

bool have_gpu() {
  return torch::cuda::is_available();
}

struct Case {
  c10::ScalarType dtype;
  Reduction reduction;
  bool weighted, ignore, soft;
  std::vector<int64_t> shape; // [N, C] or [N, C, d1, d2]
};

std::string name_of(const Case& c) {
  return std::string(c10::toString(c.dtype)) + " reduction " + std::to_string(int(c.reduction)) +
      (c.weighted ? " weighted" : "") + (c.ignore ? " ignore_index" : "") + (c.soft ? " soft" : "") + " shape " +
      c10::str(c.shape);
}

// Fused CUDA loss and gradient against LibTorch's composite on the float64 copy of the same inputs (on the GPU).
void check_case(const Case& c) {
  SCOPED_TRACE(name_of(c));
  torch::manual_seed(7);
  const auto cuda = torch::Device(torch::kCUDA);
  const int64_t k = c.shape[1];
  auto logits = (3 * torch::randn(c.shape, torch::dtype(torch::kFloat64))).to(cuda).to(c.dtype);
  std::vector<int64_t> target_shape = c.shape;
  target_shape.erase(target_shape.begin() + 1);
  torch::Tensor target;
  if (c.soft) {
    target = torch::softmax(torch::randn(c.shape, torch::dtype(torch::kFloat64)), 1).to(cuda).to(c.dtype);
  } else {
    target = torch::randint(0, k, target_shape, torch::dtype(torch::kLong)).to(cuda);
    if (c.ignore)
      target.view(-1).index_put_({torch::arange(0, target.numel(), 3, torch::kLong).to(cuda)}, -100);
  }
  auto options = LabelSmoothingOptions().smoothing(0.1).reduction(c.reduction);
  if (c.weighted)
    options.weight(torch::rand({k}, torch::dtype(torch::kFloat32)).add(0.5).to(cuda));

  auto x = logits.detach().requires_grad_(true);
  auto ours = loss::label_smoothing_cross_entropy(x, target, options);
  // LibTorch's own reference, in float64 from the same (rounded) 16-bit values.
  auto ref_options = options;
  ref_options.implementation(Implementation::LibTorch);
  if (c.weighted)
    ref_options.weight(options.weight().to(torch::kFloat64));
  auto x64 = logits.detach().to(torch::kFloat64).requires_grad_(true);
  auto ref = loss::label_smoothing_cross_entropy(x64, c.soft ? target.to(torch::kFloat64) : target, ref_options);
  ASSERT_TRUE(ours.is_cuda());
  ASSERT_EQ(ours.sizes(), ref.sizes());
  // Outside autocast the loss and the gradient have the logits' dtype: a 16-bit result is the float32 value rounded
  // once, within half an ulp of its format (relative), besides float32 accumulation's own error.
  const double rtol = c.dtype == torch::kFloat ? 1e-4 : c.dtype == torch::kBFloat16 ? 8e-3 : 1e-3;
  EXPECT_TRUE(torch::allclose(ours.to(torch::kFloat64), ref, rtol, 1e-4))
      << "max |Δ| " << (ours.to(torch::kFloat64) - ref).abs().max().item<double>();

  auto g = torch::randn(ours.sizes(), torch::dtype(torch::kFloat64)).to(cuda);
  ours.backward(g.to(ours.scalar_type()));
  ref.backward(g);
  ASSERT_EQ(x.grad().scalar_type(), c.dtype);
  EXPECT_TRUE(torch::allclose(x.grad().to(torch::kFloat64), x64.grad(), rtol, 1e-4 + rtol * 1e-2))
      << "max |Δ grad| " << (x.grad().to(torch::kFloat64) - x64.grad()).abs().max().item<double>();
}

TEST(Cuda, FusedLossMatchesLibTorchOnTheGpu) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device (scripts/gpu_check.sh runs these on a GPU machine)";
  for (auto dtype : {torch::kFloat, torch::kBFloat16, torch::kHalf})
    for (auto reduction : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
      check_case({dtype, reduction, false, false, false, {257, 10}});
      check_case({dtype, reduction, true, true, false, {64, 1000}}); // a row wider than a thread block
      check_case({dtype, reduction, false, false, true, {33, 100}});
      check_case({dtype, reduction, true, false, false, {4, 7, 3, 5}});
    }
}

TEST(Cuda, FusedLossRefusesMixedDevices) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device";
  const auto logits = torch::randn({4, 3}).cuda();
  const auto target = torch::tensor({0, 1, 2, 0}, torch::kLong); // on the CPU
  EXPECT_ANY_THROW(loss::label_smoothing_cross_entropy(logits, target, LabelSmoothingOptions().smoothing(0.1)));
}

TEST(Cuda, AutocastBf16LossIsFloat32) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device";
  const auto logits = torch::randn({16, 10}).cuda().to(torch::kBFloat16).requires_grad_(true);
  const auto target = torch::randint(0, 10, {16}, torch::kLong).cuda();
  auto out = loss::label_smoothing_cross_entropy(logits, target, LabelSmoothingOptions().smoothing(0.1));
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16); // outside autocast: the logits' dtype, as PyTorch's
  out.backward();
  EXPECT_EQ(logits.grad().scalar_type(), torch::kBFloat16);
}

// c10d on the GPU: a group of one on cuda:0 takes NCCL where this build has it (scripts/gpu_check.sh requires it), and
// its collectives leave a CUDA tensor as it was (the sum over one rank).
TEST(Cuda, AGroupOfOneOnTheGpuReducesCudaTensors) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device";
  if (!distributed::available())
    GTEST_SKIP() << "built without c10d";
  distributed::LaunchEnv env;
  env.master_port = free_port();
  distributed::Group group(env, std::chrono::seconds(60), torch::Device(torch::kCUDA, 0));
  std::cout << "[ backend  ] " << group.backend() << "\n";
  auto t = torch::tensor({1.5F, -2.0F}).cuda();
  group.all_reduce_sum({t});
  group.broadcast({t});
  group.barrier();
  EXPECT_TRUE(t.is_cuda());
  EXPECT_TRUE(torch::equal(t.cpu(), torch::tensor({1.5F, -2.0F})));
}

} // namespace
} // namespace smoothlab::testing
