// One run put together for train::train, the one way every front end does it (`smoothlab train`, `smoothlab
// distill`, the study's runs): the run folder opened with its resume / force / new decision (train::open_run), then
//   - the effective configuration's data, loaded once;
//   - distillation's hooks when the run is a student (make_distillation), with the resume policy of a student;
//   - the mutual-information logging of config.mi_classes (represent/mi_probe.h; nothing when it is empty).
// It lives in distill/, the lowest room that sees both kinds of hooks.
#pragma once

#include <optional>

#include "smoothlab/data/dataset.h"
#include "smoothlab/distill/training.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::distill {

struct AssembledRun {
  data::DataBundle data; // of run.config, the effective configuration
  train::TrainHooks hooks; // distillation's and MI logging's; the caller adds its callbacks and record fields
  std::optional<DistillRunOptions> distill; // the student's effective settings: the saved ones when resuming
  std::optional<train::DistillFacts> facts; // the teacher's facts (γ, accuracy, cache) for a student
};

// The resume policy of a student: a resumed run continues as saved, so its saved distillation settings replace
// `requested` — unless this is the rerun of a command whose settings differ (an Error: pass --resume, --force or
// another --out), or the folder holds a run that was not distilled (an Error: resume it with `smoothlab train`).
// A new run keeps `requested`.
DistillRunOptions effective_distillation(const train::OpenedRun& run, const DistillRunOptions& requested);

// Loads `run`'s data and builds its hooks (above). `distill` set: the run is a student of that teacher; unset, a folder
// holding a student is refused (it resumes only with its teacher). Throws Error for that, and for what load_data,
// the resume policy and make_distillation refuse — the policy's refusals before the data is loaded.
AssembledRun assemble_run(const train::OpenedRun& run, const std::optional<DistillRunOptions>& distill);

} // namespace smoothlab::distill
