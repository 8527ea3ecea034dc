// Tests of the fused label-smoothing cross-entropy (loss/label_smoothing.h, fused_kernel*): values and gradients
// against LibTorch's composite cross_entropy(..., label_smoothing) over random shapes/options, on every CPU code
// path (scalar, AVX2, AVX-512: one test instance per path, LabelSmoothing/FusedCpuPath.*/<path>, skipped with a
// message where this CPU lacks the path); finite differences in float64; closed forms for extreme logits; the options
// PyTorch lacks against an explicit −Σ w·q·log p; errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "smoothlab/core/error.h"
#include "smoothlab/loss/fused_kernel.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/model/precision.h"
#include "support/support.h"

namespace smoothlab::loss {
namespace {

using Opts = LabelSmoothingOptions;

// The float32 CPU code paths. A FusedCpuPath test runs with the parameter's path switched on for the process (the
// test-only hook of fused_kernel.h) and the previous path restored afterwards; on a CPU without the path it is
// skipped, visibly, rather than passed.
const std::vector<std::string> kCpuPaths = {"scalar", "avx2", "avx512"};

class FusedCpuPath : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    before_ = detail::fused_cpu_isa();
    if (!detail::test_only::set_fused_cpu_isa(GetParam())) {
      GTEST_SKIP() << "this CPU has no " << (GetParam() == "avx512" ? "AVX-512" : "AVX2+FMA") << ": the " << GetParam()
                   << " path of the fused loss cannot run here";
    }
    ASSERT_EQ(std::string(detail::fused_cpu_isa()), GetParam());
  }
  void TearDown() override {
    detail::test_only::set_fused_cpu_isa(before_);
  }

 private:
  std::string before_;
};

INSTANTIATE_TEST_SUITE_P(
    LabelSmoothing,
    FusedCpuPath,
    ::testing::ValuesIn(kCpuPaths),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

struct Case {
  std::vector<int64_t> shape; // logits shape
  double eps = 0.1;
  bool weight = false, soft = false, ignore = false;
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
  std::string describe() const {
    std::string s = "shape=[";
    for (auto d : shape)
      s += std::to_string(d) + ",";
    return s + "] eps=" + std::to_string(eps) + " weight=" + std::to_string(weight) + " soft=" + std::to_string(soft) +
        " ignore=" + std::to_string(ignore) + "(" + std::to_string(ignore_index) +
        ") reduction=" + std::to_string(static_cast<int>(reduction));
  }
};

Case random_case(std::mt19937& rng, bool allow_spatial) {
  static const std::vector<int64_t> kClasses = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 2500};
  Case c;
  const int64_t n = std::uniform_int_distribution<int64_t>(1, 12)(rng);
  const int64_t k = kClasses[std::uniform_int_distribution<size_t>(0, kClasses.size() - 1)(rng)];
  c.shape = {n, k};
  if (allow_spatial && rng() % 3 == 0) {
    c.shape.push_back(std::uniform_int_distribution<int64_t>(1, 4)(rng));
    if (rng() % 2)
      c.shape.push_back(std::uniform_int_distribution<int64_t>(1, 3)(rng));
  }
  const double eps_choices[] = {0.0, 0.1, 0.3, 0.9};
  c.eps = eps_choices[rng() % 4];
  c.weight = rng() % 2;
  c.soft = rng() % 4 == 0;
  c.ignore = !c.soft && rng() % 2;
  // ignore_index either the default or a real class (PyTorch allows both).
  c.ignore_index = c.ignore && k > 1 && rng() % 2 ? int64_t(rng() % k) : -100;
  c.reduction = static_cast<Reduction>(rng() % 3);
  return c;
}

struct Inputs {
  torch::Tensor logits, target, weight;
};

Inputs make_inputs(const Case& c, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  Inputs in;
  auto opts = torch::TensorOptions().dtype(dtype);
  in.logits = torch::randn(c.shape, opts) * 3.0;
  const int64_t k = c.shape[1];
  if (c.soft) {
    in.target = torch::softmax(torch::randn(c.shape, opts) * 2.0, 1);
  } else {
    std::vector<int64_t> tshape = c.shape;
    tshape.erase(tshape.begin() + 1);
    in.target = torch::randint(0, k, tshape, torch::kLong);
    if (c.ignore) {
      auto mask = torch::rand(tshape) < 0.3;
      in.target = torch::where(mask, torch::full_like(in.target, c.ignore_index), in.target);
      // Keep one valid row so `mean` is not 0/0 (tested separately).
      in.target.view({-1})[0] = c.ignore_index == 0 ? std::min<int64_t>(1, k - 1) : 0;
    }
  }
  if (c.weight)
    in.weight = torch::rand({k}, opts) + 0.1;
  return in;
}

Opts options_for(const Case& c, Implementation impl) {
  Opts o = Opts().smoothing(c.eps).reduction(c.reduction).implementation(impl);
  if (c.ignore)
    o.ignore_index(c.ignore_index);
  return o;
}

struct Result {
  torch::Tensor loss, grad, grad_target;
};

Result run(const Inputs& in, Opts o, const torch::Tensor& grad_out_seed, bool target_grad) {
  if (in.weight.defined())
    o.weight(in.weight);
  auto logits = in.logits.detach().clone().requires_grad_(true);
  auto target = in.target.detach().clone();
  if (target_grad)
    target.requires_grad_(true);
  auto loss = label_smoothing_cross_entropy(logits, target, o);
  // A random incoming gradient for Reduction::None (checks per-row scaling), 1.5 otherwise.
  auto g = loss.dim() == 0 ? torch::full_like(loss, 1.5) : grad_out_seed.to(loss.dtype()).view(loss.sizes());
  std::vector<torch::Tensor> inputs = {logits};
  if (target_grad)
    inputs.push_back(target);
  auto grads = torch::autograd::grad({loss}, inputs, {g});
  return {loss.detach(), grads[0], target_grad ? grads[1] : torch::Tensor()};
}

void compare_with_libtorch(const Case& c, torch::ScalarType dtype, uint64_t seed, double rtol) {
  SCOPED_TRACE(
      c.describe() + " dtype=" + std::string(c10::toString(dtype)) + " seed=" + std::to_string(seed) +
      " isa=" + detail::fused_cpu_isa());
  const Inputs in = make_inputs(c, dtype, seed);
  std::vector<int64_t> out_shape = c.shape;
  out_shape.erase(out_shape.begin() + 1);
  const auto grad_out = torch::rand(out_shape, torch::kDouble) + 0.5;
  const bool target_grad = c.soft;
  const Result fused = run(in, options_for(c, Implementation::Fused), grad_out, target_grad);
  const Result ref = run(in, options_for(c, Implementation::LibTorch), grad_out, target_grad);
  EXPECT_EQ(fused.loss.scalar_type(), dtype);
  const double scale = ref.loss.abs().max().item<double>() + 1e-30;
  // In float32 the reference itself is rounded: LibTorch's log_softmax rounds 1 + Σe^(z−max) at ulp(1) and sums in an
  // order set by its lane count (16 on AVX-512, 8 on AVX2/default, ATEN_CPU_CAPABILITY), so a loss near 0 can differ
  // by a few float32 ulps of 1 from ours (which sums in double) on one ISA path and not on another.
  const double ref_rounding = dtype == torch::kFloat32 ? 4 * 1.1920929e-7 * std::max(1.0, scale) : 0.0;
  EXPECT_TENSOR_NEAR(fused.loss, ref.loss, rtol, std::max(rtol * 1e-3 * scale, ref_rounding));
  // Absolute slack relative to the gradient's scale; with K = 1 the exact gradient is 0 and only rounding remains.
  const double gscale = std::max(ref.grad.abs().max().item<double>(), 0.05);
  EXPECT_TENSOR_NEAR(fused.grad, ref.grad, rtol, rtol * gscale);
  if (target_grad) {
    const double tscale = ref.grad_target.abs().max().item<double>() + 1e-30;
    EXPECT_TENSOR_NEAR(fused.grad_target, ref.grad_target, rtol, rtol * tscale);
  }
}

TEST(LabelSmoothingFused, MatchesLibTorchFloat64RandomCases) {
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i)
    compare_with_libtorch(random_case(rng, true), torch::kDouble, 100 + i, 1e-6);
}

TEST_P(FusedCpuPath, MatchesLibTorchFloat32RandomCases) {
  std::mt19937 rng(11);
  for (int i = 0; i < 40; ++i)
    compare_with_libtorch(random_case(rng, true), torch::kFloat, 200 + i, 1e-5);
}

TEST_P(FusedCpuPath, LargeClassCountFloat32) {
  // 32000 classes: exercises the 1024-element float blocks that are flushed into double sums.
  Case c;
  c.shape = {3, 32000};
  c.eps = 0.1;
  c.weight = true;
  compare_with_libtorch(c, torch::kFloat, 5, 1e-5);
  c.weight = false;
  c.soft = true;
  compare_with_libtorch(c, torch::kFloat, 6, 1e-5);
}

TEST_P(FusedCpuPath, NonTemporalGradientStoresMatch) {
  // Force the streaming-store path of the backward (normally only for gradients ≥ 128 MiB): unaligned row starts
  // (K = 37), aligned ones (K = 64) and rows shorter than one vector (K = 5).
  const int64_t before = detail::test_only::set_fused_stream_threshold(0);
  for (int64_t k : {5, 37, 64}) {
    Case c;
    c.shape = {9, k};
    c.reduction = Reduction::None;
    c.weight = true;
    compare_with_libtorch(c, torch::kFloat, 40 + k, 1e-5);
    c.soft = true;
    compare_with_libtorch(c, torch::kFloat, 50 + k, 1e-5);
  }
  detail::test_only::set_fused_stream_threshold(before);
}

TEST(LabelSmoothingFused, OneDimensionalInput) {
  // [C] logits with a 0-d class index, as F.cross_entropy accepts.
  Case c;
  c.shape = {1, 6};
  const Inputs in = make_inputs(c, torch::kDouble, 3);
  const auto logits = in.logits[0]; // [6]
  const auto target = in.target[0]; // 0-d
  const auto fused = label_smoothing_cross_entropy(logits, target, Opts().smoothing(0.2));
  const auto ref = libtorch_cross_entropy(logits, target, Opts().smoothing(0.2));
  EXPECT_EQ(fused.dim(), 0);
  EXPECT_TENSOR_NEAR(fused, ref, 1e-12, 0);
}

TEST(LabelSmoothingFused, FiniteDifferenceGradientsFloat64) {
  torch::manual_seed(1);
  const int64_t n = 3, k = 5;
  const auto logits = torch::randn({n, k, 2}, torch::kDouble);
  const auto hard = torch::tensor({{1, 4}, {0, -100}, {3, 3}}, torch::kLong);
  const auto soft = torch::softmax(torch::randn({n, k, 2}, torch::kDouble), 1);
  const auto weight = torch::rand({k}, torch::kDouble) + 0.2;
  const auto prior = torch::tensor({0.4, 0.3, 0.1, 0.1, 0.1}, torch::kDouble);
  const auto grad_out = torch::rand({n, 2}, torch::kDouble) + 0.5;
  std::vector<std::pair<std::string, Opts>> variants = {
      {"plain", Opts().smoothing(0.2)},
      {"weighted mean", Opts().smoothing(0.2).weight(weight)},
      {"sum", Opts().smoothing(0.3).reduction(Reduction::Sum).weight(weight)},
      {"none", Opts().smoothing(0.3).reduction(Reduction::None).weight(weight)},
      {"wrong_class_only", Opts().smoothing(0.25).wrong_class_only(true).weight(weight)},
      {"prior", Opts().smoothing(0.25).prior(prior).weight(weight)},
      {"prior wrong_class_only", Opts().smoothing(0.25).prior(prior).wrong_class_only(true)},
  };
  for (bool use_soft : {false, true}) {
    for (const auto& [name, o] : variants) {
      if (use_soft && o.wrong_class_only())
        continue;
      SCOPED_TRACE(name + (use_soft ? " soft" : " hard"));
      const auto& target = use_soft ? soft : hard;
      auto scalar_loss = [&](const torch::Tensor& z, const torch::Tensor& t) {
        auto loss = label_smoothing_cross_entropy(z, t, o);
        return (loss.dim() == 0 ? loss : (loss * grad_out).sum()).item<double>();
      };
      auto z = logits.clone().requires_grad_(true);
      auto t = target.clone();
      if (use_soft)
        t.requires_grad_(true);
      auto loss = label_smoothing_cross_entropy(z, t, o);
      auto total = loss.dim() == 0 ? loss : (loss * grad_out).sum();
      std::vector<torch::Tensor> wrt = {z};
      if (use_soft)
        wrt.push_back(t);
      auto grads = torch::autograd::grad({total}, wrt);
      const auto fd = ::smoothlab::testing::finite_difference_gradient(
          [&](const torch::Tensor& x) { return scalar_loss(x, target); }, logits);
      EXPECT_TENSOR_NEAR(grads[0], fd, 1e-6, 1e-8);
      if (use_soft) {
        const auto fd_t = ::smoothlab::testing::finite_difference_gradient(
            [&](const torch::Tensor& x) { return scalar_loss(logits, x); }, soft);
        EXPECT_TENSOR_NEAR(grads[1], fd_t, 1e-6, 1e-8);
      }
    }
  }
}

// −Σ_k w_k q_k log p_k with q built explicitly: the definition of the options PyTorch lacks.
torch::Tensor explicit_loss(const torch::Tensor& logits, const torch::Tensor& target, const Opts& o) {
  const int64_t k = logits.size(1);
  const double eps = o.smoothing();
  auto logp = torch::log_softmax(logits, 1);
  auto u = o.prior().defined() ? o.prior() / o.prior().sum() : torch::full({k}, 1.0 / k, logits.options());
  auto w = o.weight().defined() ? o.weight() : torch::ones({k}, logits.options());
  auto valid = target != o.ignore_index();
  auto y = torch::where(valid, target, torch::zeros_like(target));
  auto onehot = torch::one_hot(y, k).to(logits.scalar_type());
  torch::Tensor q;
  if (o.wrong_class_only()) {
    auto u_wrong = u.unsqueeze(0) * (1 - onehot);
    q = (1 - eps) * onehot + eps * u_wrong / u_wrong.sum(1, true);
  } else {
    q = (1 - eps) * onehot + eps * u.unsqueeze(0);
  }
  auto per_row = -(q * w.unsqueeze(0) * logp).sum(1) * valid.to(logits.scalar_type());
  switch (o.reduction()) {
    case Reduction::None:
      return per_row;
    case Reduction::Sum:
      return per_row.sum();
    case Reduction::Mean:
      return per_row.sum() / (w.index_select(0, y) * valid.to(logits.scalar_type())).sum();
  }
  return {};
}

// Inputs of the wrong_class_only / prior tests: 17 rows of 23 classes, row 3 ignored, an unnormalised prior.
struct ExplicitCase {
  torch::Tensor logits, target, weight, prior;
};
ExplicitCase explicit_case() {
  torch::manual_seed(2);
  const int64_t n = 17, k = 23;
  ExplicitCase c;
  c.logits = torch::randn({n, k}, torch::kDouble) * 4;
  c.target = torch::randint(0, k, {n}, torch::kLong);
  c.target[3] = -100;
  c.weight = torch::rand({k}, torch::kDouble) + 0.1;
  c.prior = torch::rand({k}, torch::kDouble) * 5; // unnormalised on purpose
  return c;
}

TEST(LabelSmoothingFused, WrongClassOnlyAndPriorMatchExplicitTargets) {
  const ExplicitCase c = explicit_case();
  const auto& logits = c.logits;
  const auto& target = c.target;
  const auto& weight = c.weight;
  const auto& prior = c.prior;
  for (bool wrong_only : {false, true}) {
    for (bool use_prior : {false, true}) {
      for (bool use_weight : {false, true}) {
        for (auto red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
          Opts o = Opts().smoothing(0.3).wrong_class_only(wrong_only).reduction(red);
          if (use_prior)
            o.prior(prior);
          if (use_weight)
            o.weight(weight);
          SCOPED_TRACE(std::to_string(wrong_only) + std::to_string(use_prior) + std::to_string(use_weight));
          auto z = logits.clone().requires_grad_(true);
          auto ze = logits.clone().requires_grad_(true);
          auto a = label_smoothing_cross_entropy(z, target, o);
          auto e = explicit_loss(ze, target, o);
          EXPECT_TENSOR_NEAR(a, e, 1e-10, 1e-12);
          auto ga = torch::autograd::grad({a.sum()}, {z})[0];
          auto ge = torch::autograd::grad({e.sum()}, {ze})[0];
          EXPECT_TENSOR_NEAR(ga, ge, 1e-10, 1e-12);
        }
      }
    }
  }
}

TEST_P(FusedCpuPath, WrongClassOnlyAndPriorFloat32MatchExplicitTargets) {
  // Float32 through this path's kernels agrees with the float64 definition.
  const ExplicitCase c = explicit_case();
  Opts o = Opts().smoothing(0.3).wrong_class_only(true).prior(c.prior).weight(c.weight);
  auto z = c.logits.to(torch::kFloat).requires_grad_(true);
  auto a = label_smoothing_cross_entropy(z, c.target, o);
  auto ga = torch::autograd::grad({a}, {z})[0];
  auto ze = c.logits.clone().requires_grad_(true);
  auto e = explicit_loss(ze, c.target, o);
  auto ge = torch::autograd::grad({e}, {ze})[0];
  EXPECT_TENSOR_NEAR(a.to(torch::kDouble), e, 1e-5, 0);
  EXPECT_TENSOR_NEAR(ga.to(torch::kDouble), ge, 1e-5, 1e-7);
}

TEST(LabelSmoothingFused, WrongClassOnlyClosedForm) {
  // All-equal logits: p_k = 1/K, so loss = −Σ q_k log(1/K) = log K whatever q, and ∂/∂z_k = 1/K − q_k with
  // q_y = 1 − ε and q_k = ε/(K − 1) otherwise (K = 4, ε = 0.3: q = 0.7, 0.1, 0.1, 0.1).
  const auto z = torch::full({1, 4}, 2.5, torch::kDouble).requires_grad_(true);
  const auto y = torch::tensor({0}, torch::kLong);
  auto loss = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.3).wrong_class_only(true));
  EXPECT_NEAR(loss.item<double>(), std::log(4.0), 1e-14);
  auto g = torch::autograd::grad({loss}, {z})[0];
  EXPECT_TENSOR_NEAR(g, torch::tensor({{0.25 - 0.7, 0.25 - 0.1, 0.25 - 0.1, 0.25 - 0.1}}, torch::kDouble), 0, 1e-15);
}

TEST(LabelSmoothingFused, PriorUniformEqualsDefault) {
  torch::manual_seed(4);
  const auto z = torch::randn({9, 12}, torch::kDouble);
  const auto y = torch::randint(0, 12, {9}, torch::kLong);
  auto a = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.2).prior(torch::ones({12}, torch::kDouble)));
  auto b = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.2));
  EXPECT_NEAR(a.item<double>(), b.item<double>(), 1e-13);
}

TEST_P(FusedCpuPath, ExtremeLogitsAreFiniteAndExact) {
  // Row 0: z = (1e4, −1e4, 0, 0), y = 1. lse = 1e4 to double precision (the rest is e^{−1e4}), so
  //   nll = lse − z_y = 2e4, smooth = (1/K)·Σ_k (lse − z_k) = (0 + 2e4 + 1e4 + 1e4)/4 = 1e4,
  //   loss = (1 − ε)·2e4 + ε·1e4 = 19000 for ε = 0.1;  ∂/∂z = p − q = (1, 0, 0, 0) − (0.025, 0.925, 0.025, 0.025).
  // Row 1: equal logits (−1e4 each), y = 2: loss = log 4, ∂/∂z = 1/4 − q.
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    SCOPED_TRACE(std::string(detail::fused_cpu_isa()) + " " + c10::toString(dtype));
    auto z = torch::tensor({{1e4, -1e4, 0.0, 0.0}, {-1e4, -1e4, -1e4, -1e4}}, dtype).requires_grad_(true);
    auto y = torch::tensor({1, 2}, torch::kLong);
    auto loss = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.1).reduction(Reduction::None));
    EXPECT_TRUE(torch::isfinite(loss).all().item<bool>());
    EXPECT_TENSOR_NEAR(loss.to(torch::kDouble), torch::tensor({19000.0, std::log(4.0)}, torch::kDouble), 1e-6, 0);
    auto g = torch::autograd::grad({loss.sum()}, {z})[0].to(torch::kDouble);
    auto want =
        torch::tensor({{1 - 0.025, -0.925, -0.025, -0.025}, {0.225, 0.225, 0.25 - 0.925, 0.225}}, torch::kDouble);
    EXPECT_TENSOR_NEAR(g, want, 0, 1e-6);
  }
}

TEST(LabelSmoothingFused, ZeroSmoothingIsPlainCrossEntropy) {
  torch::manual_seed(5);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    auto z = (torch::randn({33, 19}, dtype) * 5).requires_grad_(true);
    auto y = torch::randint(0, 19, {33}, torch::kLong);
    auto a = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.0));
    // −mean log softmax(z)_y, computed without any smoothing code.
    auto zr = z.detach().clone().requires_grad_(true);
    auto b = -torch::log_softmax(zr, 1).gather(1, y.unsqueeze(1)).mean();
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
    EXPECT_NEAR(a.item<double>(), b.item<double>(), tol * std::abs(b.item<double>()));
    EXPECT_TENSOR_NEAR(torch::autograd::grad({a}, {z})[0], torch::autograd::grad({b}, {zr})[0], tol, tol * 1e-2);
  }
}

TEST(LabelSmoothingFused, AllIgnoredMeanIsNanSumIsZero) {
  // PyTorch: `mean` over no valid targets is 0/0.
  auto z = torch::randn({3, 4}, torch::kDouble);
  auto y = torch::full({3}, -100, torch::kLong);
  EXPECT_TRUE(std::isnan(label_smoothing_cross_entropy(z, y, Opts().smoothing(0.1)).item<double>()));
  EXPECT_TRUE(std::isnan(libtorch_cross_entropy(z, y, Opts().smoothing(0.1)).item<double>()));
  EXPECT_EQ(label_smoothing_cross_entropy(z, y, Opts().smoothing(0.1).reduction(Reduction::Sum)).item<double>(), 0.0);
}

TEST(LabelSmoothingFused, ThreadCountDoesNotChangeResults) {
  // Rows are never split across threads, so 1 and 2 threads give bit-identical results.
  torch::manual_seed(6);
  auto z = torch::randn({512, 300});
  auto y = torch::randint(0, 300, {512}, torch::kLong);
  const int before = torch::get_num_threads();
  auto once = [&] {
    auto zz = z.clone().requires_grad_(true);
    auto loss = label_smoothing_cross_entropy(zz, y, Opts().smoothing(0.1).reduction(Reduction::None));
    auto g = torch::autograd::grad({loss.sum()}, {zz})[0];
    return std::make_pair(loss, g);
  };
  torch::set_num_threads(1);
  auto [l1, g1] = once();
  torch::set_num_threads(2);
  auto [l2, g2] = once();
  torch::set_num_threads(before);
  EXPECT_TRUE(torch::equal(l1, l2));
  EXPECT_TRUE(torch::equal(g1, g2));
}

TEST(LabelSmoothingFused, ReducedPrecisionOnCpu) {
  // bfloat16/float16 logits go through the scalar path (float math, double sums): compare with float32 on the same
  // (rounded) values; the result is rounded back to the input dtype.
  torch::manual_seed(8);
  for (auto dtype : {torch::kBFloat16, torch::kHalf}) {
    auto z = torch::randn({16, 10}).to(dtype);
    auto y = torch::randint(0, 10, {16}, torch::kLong);
    auto zl = z.clone().requires_grad_(true);
    auto loss = label_smoothing_cross_entropy(zl, y, Opts().smoothing(0.1));
    EXPECT_EQ(loss.scalar_type(), dtype);
    auto g = torch::autograd::grad({loss}, {zl})[0];
    EXPECT_EQ(g.scalar_type(), dtype);
    auto zf = z.to(torch::kFloat).requires_grad_(true);
    auto ref = libtorch_cross_entropy(zf, y, Opts().smoothing(0.1));
    auto gref = torch::autograd::grad({ref}, {zf})[0];
    EXPECT_NEAR(loss.item<float>(), ref.item<float>(), 1e-2 * ref.item<float>());
    EXPECT_TENSOR_NEAR(g.to(torch::kFloat), gref, 2e-2, 1e-4);
  }
}

TEST(LabelSmoothingFused, Bf16LogitsUnderAutocastGiveAFloat32LossWithinBf16Rounding) {
  // Inside an autocast region the loss follows autocast's float32 policy for cross_entropy (PyTorch's composite
  // returns float32 there too): float32 out, computed from the 2-byte logits; the gradient stays bfloat16.
  torch::manual_seed(9);
  const auto z = torch::randn({64, 10}) * 3.0;
  const auto y = torch::randint(0, 10, {64}, torch::kLong);
  const auto zb = z.to(torch::kBFloat16);
  auto leaf = zb.clone().requires_grad_(true);
  torch::Tensor loss, row_losses, composite;
  {
    model::Autocast autocast(model::Precision::Bf16, torch::kCPU);
    loss = label_smoothing_cross_entropy(leaf, y, Opts().smoothing(0.1));
    row_losses = label_smoothing_cross_entropy(zb, y, Opts().smoothing(0.1).reduction(Reduction::None));
    composite = libtorch_cross_entropy(zb, y, Opts().smoothing(0.1));
  }
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  EXPECT_EQ(row_losses.scalar_type(), torch::kFloat);
  EXPECT_EQ(composite.scalar_type(), torch::kFloat);
  auto g = torch::autograd::grad({loss}, {leaf})[0];
  EXPECT_EQ(g.scalar_type(), torch::kBFloat16);
  // The same (rounded) values in float32: equal to float32 summation order.
  auto zf = zb.to(torch::kFloat).requires_grad_(true);
  auto ref = libtorch_cross_entropy(zf, y, Opts().smoothing(0.1));
  auto gref = torch::autograd::grad({ref}, {zf})[0];
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-5 * ref.item<double>());
  EXPECT_NEAR(composite.item<double>(), ref.item<double>(), 1e-5 * ref.item<double>());
  // The gradient p − q, computed in float32 and rounded once to bfloat16 (8 significant bits).
  EXPECT_TENSOR_NEAR(g.to(torch::kFloat), gref, std::ldexp(1.0, -8), 1e-7);
  // Against the unrounded float32 logits: each row's loss moves by at most ‖p − q‖₁·‖Δz‖∞ ≤ 2‖Δz‖∞ when the logits
  // are rounded, so the mean does too.
  const double dz = (z - zb.to(torch::kFloat)).abs().max().item<double>();
  const double exact = libtorch_cross_entropy(z, y, Opts().smoothing(0.1)).item<double>();
  EXPECT_LE(std::abs(loss.item<double>() - exact), 2.0 * dz + 1e-6);
  EXPECT_GT(dz, 0.0);
  // Outside a region, PyTorch's semantics: the loss has the logits' dtype.
  EXPECT_EQ(label_smoothing_cross_entropy(zb, y, Opts().smoothing(0.1)).scalar_type(), torch::kBFloat16);
}

TEST(LabelSmoothingFused, NoExtraTensorOfLogitsSizeSaved) {
  // The autograd node keeps the inputs plus two numbers per row: the backward's only [N, C] allocation is the gradient.
  auto z = torch::randn({64, 50}).requires_grad_(true);
  auto y = torch::randint(0, 50, {64}, torch::kLong);
  auto loss = label_smoothing_cross_entropy(z, y, Opts().smoothing(0.1));
  ASSERT_TRUE(loss.grad_fn());
  auto g = torch::autograd::grad({loss}, {z})[0];
  EXPECT_EQ(g.sizes(), z.sizes());
  EXPECT_TRUE(g.is_contiguous());
}

// ε's range is PyTorch's, [0, 1] (F.cross_entropy accepts label_smoothing = 1): at ε = 1 the target is uniform and the
// loss is mean_i logsumexp(z_i) − mean_k z_ik, its gradient softmax(z) − 1/K (over N for the mean).
TEST(LabelSmoothingFused, SmoothingOneIsTheUniformTargetAsInPyTorch) {
  torch::manual_seed(11);
  auto z = torch::randn({6, 5}, torch::kFloat64).requires_grad_(true);
  auto y = torch::tensor({0, 1, 2, 3, 4, 0}, torch::kLong);
  auto ours = label_smoothing_cross_entropy(z, y, Opts().smoothing(1.0));
  auto theirs = label_smoothing_cross_entropy(z, y, Opts().smoothing(1.0).implementation(Implementation::LibTorch));
  const auto closed = (torch::logsumexp(z, 1) - z.mean(1)).mean();
  EXPECT_NEAR(ours.item<double>(), closed.item<double>(), 1e-13);
  EXPECT_NEAR(theirs.item<double>(), closed.item<double>(), 1e-13);
  const auto g = torch::autograd::grad({ours}, {z})[0];
  const auto expected = (torch::softmax(z, 1) - 1.0 / 5) / 6;
  EXPECT_LT((g - expected).abs().max().item<double>(), 1e-15);
}

TEST(LabelSmoothingFused, BadInputsThrowSmoothlabError) {
  auto z = torch::randn({4, 5});
  auto y = torch::tensor({0, 1, 2, 3}, torch::kLong);
  EXPECT_THROW(label_smoothing_cross_entropy(z, torch::tensor({0, 1, 2, 5}, torch::kLong)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, torch::tensor({0, 1, -1, 2}, torch::kLong)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, torch::tensor({0, 1, 2}, torch::kLong)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y.to(torch::kInt)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().smoothing(1.01)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().smoothing(-0.01)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().smoothing(NAN)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().weight(torch::ones({4}))), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().prior(torch::ones({3}))), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, y, Opts().prior(-torch::ones({5}))), Error);
  EXPECT_THROW(
      label_smoothing_cross_entropy(
          z, y, Opts().wrong_class_only(true).prior(torch::tensor({0.0f, 0.0f, 1.0f, 0.0f, 0.0f}))),
      Error);
  auto soft = torch::softmax(torch::randn({4, 5}), 1);
  EXPECT_THROW(label_smoothing_cross_entropy(z, soft, Opts().ignore_index(0)), Error);
  EXPECT_THROW(label_smoothing_cross_entropy(z, soft, Opts().wrong_class_only(true)), Error);
  EXPECT_THROW(libtorch_cross_entropy(z, y, Opts().wrong_class_only(true)), Error);
  EXPECT_THROW(
      label_smoothing_cross_entropy(
          torch::randn({4, 1}), torch::zeros({4}, torch::kLong), Opts().wrong_class_only(true)),
      Error);
  EXPECT_TRUE(::smoothlab::testing::error_mentions(
      [&] {
        label_smoothing_cross_entropy(z, torch::tensor({0, 1, 2, 7}, torch::kLong));
      },
      {"target value 7", "[0, 5)"}));
}

} // namespace
} // namespace smoothlab::loss
