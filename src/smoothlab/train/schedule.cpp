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

double learning_rate(const ScheduleOptions& o, int64_t step) {
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
