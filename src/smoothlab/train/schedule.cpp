#include "smoothlab/train/schedule.h"

#include <cmath>

namespace smoothlab::train {

double learning_rate(const ScheduleOptions& o, int64_t step) {
  const int64_t total = o.epochs * o.steps_per_epoch;
  const int64_t warmup = int64_t(std::llround(o.warmup_epochs * double(o.steps_per_epoch)));
  if (step < warmup)
    return o.base_lr * double(step + 1) / double(warmup);
  if (o.kind == "cosine") {
    const double t = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
    return o.base_lr * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (o.kind == "step") {
    const int64_t epoch = step / std::max<int64_t>(1, o.steps_per_epoch);
    double lr = o.base_lr;
    for (int64_t m : o.milestones)
      if (epoch >= m)
        lr *= o.gamma;
    return lr;
  }
  return o.base_lr;
}

} // namespace smoothlab::train
