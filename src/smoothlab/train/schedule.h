// Learning-rate schedules, evaluated per step: linear warm-up from 0, then cosine to 0, step decay, or constant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smoothlab::train {

enum class ScheduleKind { Cosine, Step, Constant };

// "cosine" | "step" | "constant" (the --schedule and config.json spelling); any other name is an Error naming
// `option`, with the known ones in its hint.
ScheduleKind parse_schedule_kind(const std::string& name, const char* option = "--schedule");
const char* schedule_kind_name(ScheduleKind kind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::Cosine;
  double base_lr = 0.1;
  double warmup_epochs = 0.0;
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  int64_t epochs = 1;
  int64_t steps_per_epoch = 1;

  // Throws Error naming the option (--lr, --warmup-epochs, --gamma, --epochs; steps_per_epoch) for values out of
  // range: base_lr and gamma positive and finite, epochs and steps_per_epoch ≥ 1, warmup_epochs in [0, epochs).
  // learning_rate calls it.
  void validate() const;
};

// lr at a step (0-based over the whole run). Warm-up: base·(step + 1)/warmup_steps. Throws Error for options out of
// range (ScheduleOptions::validate).
// cosine: base·½(1 + cos(π·t)) with t the fraction of post-warm-up steps done; step: base·γ^(#milestones ≤ epoch).
double learning_rate(const ScheduleOptions& o, int64_t step);

} // namespace smoothlab::train
