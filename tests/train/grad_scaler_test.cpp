// The fp16 loss scaler on CPU tensors (the algorithm is device-independent): exact unscaling by a power of two,
// a skipped step and a halved scale on a non-finite gradient, growth after the interval, the state a checkpoint keeps.
#include <gtest/gtest.h>

#include <limits>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/train/checkpoint.h"
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

// The options torch.cuda.amp.GradScaler refuses (growth ≤ 1, backoff ≥ 1) and those that would make the scale 0, inf
// or grow every step are refused too, by their torch names.
TEST(GradScaler, OptionsValidateNameTheOption) {
  train::GradScalerOptions o;
  EXPECT_NO_THROW(o.validate());
  o.backoff_factor = 1.0;
  EXPECT_ERROR_MENTIONS(o.validate(), "backoff_factor must be in (0, 1), got 1");
  o.backoff_factor = 0.5;
  o.growth_factor = 1.0;
  EXPECT_ERROR_MENTIONS(o.validate(), "growth_factor must be greater than 1 and finite, got 1");
  o.growth_factor = 2.0;
  o.growth_interval = 0;
  EXPECT_ERROR_MENTIONS(GradScaler(true, o), "growth_interval must be at least 1, got 0");
  o.growth_interval = 1;
  o.init_scale = 0;
  EXPECT_ERROR_MENTIONS(o.validate(), "init_scale must be positive and finite, got 0");
}

TEST(GradScaler, StateSurvivesACheckpoint) {
  train::GradScalerOptions o;
  o.growth_interval = 3;
  GradScaler scaler(true, o);
  scaler.update(false); // 32768
  scaler.update(true);
  scaler.update(true); // one finite step short of doubling
  TempDir dir;
  auto net = torch::nn::Linear(2, 2);
  train::save_checkpoint(dir / "c.pt", *net, nullptr, 4, scaler.state());
  torch::Tensor state;
  EXPECT_EQ(train::load_checkpoint(dir / "c.pt", *net, nullptr, &state), 4);
  GradScaler resumed(true, o);
  resumed.load_state(state);
  EXPECT_EQ(resumed.scale(), 32768.0);
  resumed.update(true);
  EXPECT_EQ(resumed.scale(), 65536.0); // the count of good steps was kept too
  // A checkpoint without a scaler (fp32, bf16, or written before) leaves the state undefined.
  train::save_checkpoint(dir / "d.pt", *net, nullptr, 1);
  train::load_checkpoint(dir / "d.pt", *net, nullptr, &state);
  EXPECT_FALSE(state.defined());
}

// A damaged scaler state is bad input (exit 2, the file named, a hint), not an internal check (exit 1).
TEST(GradScaler, ADamagedStateInACheckpointIsRefusedWithAHint) {
  TempDir dir;
  auto net = torch::nn::Linear(2, 2);
  for (const auto& bad :
       {torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64),
        torch::tensor({-1.0, 0.0}, torch::kFloat64),
        torch::tensor({std::numeric_limits<double>::quiet_NaN(), 0.0}, torch::kFloat64),
        torch::tensor({65536.0, 1.5}, torch::kFloat64),
        torch::tensor({0.0, 0.0}, torch::kFloat64)}) {
    train::save_checkpoint(dir / "bad.pt", *net, nullptr, 2, bad);
    torch::Tensor state;
    EXPECT_ERROR_MENTIONS(
        train::load_checkpoint(dir / "bad.pt", *net, nullptr, &state), (dir / "bad.pt").string(), "loss-scaler");
    try {
      train::load_checkpoint(dir / "bad.pt", *net, nullptr, &state);
    } catch (const Error& e) {
      EXPECT_NE(e.hint().find("--force"), std::string::npos);
    }
    GradScaler scaler(true);
    EXPECT_THROW(scaler.load_state(bad), Error);
    EXPECT_EQ(scaler.scale(), 65536.0); // untouched
  }
  EXPECT_TRUE(GradScaler::valid_state(GradScaler(true).state()));
}

} // namespace
} // namespace smoothlab::testing
