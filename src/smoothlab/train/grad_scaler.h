// Dynamic loss scaling for float16 training (--precision fp16, CUDA), the algorithm of torch.cuda.amp.GradScaler:
// the loss is multiplied by a scale S before backward so that small float16 gradients do not flush to zero; the
// gradients are divided by S before the optimizer step, and a step whose gradients hold an inf or NaN is skipped and S
// halved; after `growth_interval` steps in a row without one, S doubles. bf16 and fp32 need none of this (their
// exponent range is float32's): a disabled scaler passes everything through.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace smoothlab::train {

struct GradScalerOptions {
  double init_scale = 65536.0, growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;

  // Throws Error naming the option as torch.cuda.amp.GradScaler spells it unless init_scale is positive and finite,
  // growth_factor > 1 and finite, backoff_factor in (0, 1) and growth_interval ≥ 1. GradScaler's constructor calls it.
  void validate() const;
};

class GradScaler {
 public:
  explicit GradScaler(bool enabled, GradScalerOptions options = {});
  bool enabled() const {
    return enabled_;
  }
  double scale() const {
    return scale_;
  }
  // loss·S (the loss itself when disabled).
  torch::Tensor scale_loss(const torch::Tensor& loss) const;
  // Divides every defined gradient by S in place; returns whether all of them are finite. Call before clipping.
  bool unscale(const std::vector<torch::Tensor>& parameters) const;
  // After a step: halve S when the gradients were not finite (the caller skipped the step), else count towards growth.
  void update(bool grads_finite);
  // [S, steps since the last change] as float64, what a checkpoint keeps (GradScaler.state_dict's scale and
  // _growth_tracker), and its inverse: a resumed fp16 run continues with the scale it had reached.
  torch::Tensor state() const;
  void load_state(const torch::Tensor& state); // throws Error (exit 2) for a state valid_state() refuses
  // A state() a checkpoint can hold: [scale, steps], scale finite and > 0, steps a whole number ≥ 0.
  static bool valid_state(const torch::Tensor& state);

 private:
  bool enabled_;
  GradScalerOptions options_;
  double scale_;
  int64_t good_steps_ = 0;
};

} // namespace smoothlab::train
