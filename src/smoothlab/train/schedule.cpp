#include "smoothlab/train/schedule.h"

#include <cmath>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::train {

namespace {
constexpr Named<ScheduleKind> kScheduleKinds[] = {
    {ScheduleKind::Cosine, "cosine"},
    {ScheduleKind::Step, "step"},
    {ScheduleKind::Constant, "constant"},
};
} // namespace

ScheduleKind parse_schedule_kind(const std::string& name, const char* option) {
  return parse_named(kScheduleKinds, name, option, "schedule");
}

const char* schedule_kind_name(ScheduleKind kind) {
  return name_of(kScheduleKinds, kind);
}

void ScheduleOptions::validate() const {
  check(base_lr > 0 && std::isfinite(base_lr), "--lr must be positive, got {}", base_lr);
  check(epochs >= 1, "--epochs must be at least 1, got {}", epochs);
  check(
      warmup_epochs >= 0 && warmup_epochs < double(epochs),
      "--warmup-epochs must be in [0, epochs), got {}",
      warmup_epochs);
  check(gamma > 0 && std::isfinite(gamma), "--gamma must be positive, got {}", gamma);
  check(steps_per_epoch >= 1, "schedule: steps_per_epoch must be at least 1, got {}", steps_per_epoch);
}

double learning_rate(const ScheduleOptions& o, int64_t step) {
  o.validate();
  const int64_t total = o.epochs * o.steps_per_epoch;
  const int64_t warmup = int64_t(std::llround(o.warmup_epochs * double(o.steps_per_epoch)));
  if (step < warmup)
    return o.base_lr * double(step + 1) / double(warmup);
  switch (o.kind) {
    case ScheduleKind::Cosine: {
      const double t = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
      return o.base_lr * 0.5 * (1.0 + std::cos(M_PI * t));
    }
    case ScheduleKind::Step: {
      const int64_t epoch = step / std::max<int64_t>(1, o.steps_per_epoch);
      double lr = o.base_lr;
      for (int64_t m : o.milestones)
        if (epoch >= m)
          lr *= o.gamma;
      return lr;
    }
    case ScheduleKind::Constant:
      return o.base_lr;
  }
  SMOOTHLAB_ASSERT(false, "schedule kind {} has no learning rate", static_cast<int>(o.kind)); // not constant's
}

} // namespace smoothlab::train
