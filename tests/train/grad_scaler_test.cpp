// The fp16 loss scaler on CPU tensors (the algorithm is device-independent): exact unscaling by a power of two,
// a skipped step and a halved scale on a non-finite gradient, growth after the interval.
#include <gtest/gtest.h>

#include <limits>

#include <torch/torch.h>

#include "smoothlab/train/grad_scaler.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using train::GradScaler;

TEST(GradScaler, DisabledPassesEverythingThrough) {
  GradScaler scaler(false);
  const auto loss = torch::tensor(3.0);
  EXPECT_TRUE(scaler.scale_loss(loss).is_same(loss));
  EXPECT_EQ(scaler.scale(), 1.0);
  auto p = torch::ones({2}).requires_grad_(true);
  p.mutable_grad() = torch::full({2}, std::numeric_limits<float>::infinity());
  EXPECT_TRUE(scaler.unscale({p})); // nothing is checked when off
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 1.0);
}

TEST(GradScaler, UnscalesExactlyAndBacksOffOnInf) {
  GradScaler scaler(true);
  EXPECT_EQ(scaler.scale(), 65536.0);
  auto w = torch::tensor({0.5, -2.0, 3.0}, torch::kFloat).requires_grad_(true);
  const auto x = torch::tensor({1.25, 0.75, -4.0}, torch::kFloat);
  auto loss = (w * x).sum();
  scaler.scale_loss(loss).backward();
  EXPECT_TRUE(torch::equal(w.grad(), x * 65536.0f));
  EXPECT_TRUE(scaler.unscale({w}));
  EXPECT_TRUE(torch::equal(w.grad(), x)); // ÷ 2^16 is exact
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 65536.0);

  w.mutable_grad()[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(scaler.unscale({w}));
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 32768.0);
  w.mutable_grad()[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(scaler.unscale({w}));
}

TEST(GradScaler, GrowsAfterTheIntervalOfFiniteSteps) {
  train::GradScalerOptions o;
  o.init_scale = 8.0;
  o.growth_interval = 3;
  GradScaler scaler(true, o);
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 8.0);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 16.0);
  scaler.update(true);
  scaler.update(false); // a bad step resets the count
  EXPECT_EQ(scaler.scale(), 8.0);
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 8.0);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 16.0);
}

} // namespace
} // namespace smoothlab::testing
