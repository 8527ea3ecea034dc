// Glue between distillation and the training loop (train::TrainHooks): what `smoothlab distill` plugs into
// train::train.
//
// Distillation ([M] §4): the teacher is frozen (eval mode, no gradients) and sees the student's batch — the same
// augmented images — every step; with augmentation off its logits are computed once over the training split and
// looked up by example index instead (identical values, see Teacher::dataset_logits). The teacher's equivalent
// smoothing γ at T (calib/gamma.h) over the un-augmented training split goes into the run's record
// (train::DistillFacts) and each epoch's (EpochRecord::teacher_gamma).
//
// make_distillation takes the run's effective configuration (train::open_run: the saved one when resuming) and its
// data, loaded once by the caller.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/distill/loss.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::distill {

struct DistillRunOptions {
  std::string teacher; // run folder or TorchScript file
  DistillationOptions loss; // its smoothing() and implementation() are the run's --smoothing and --loss-impl
  Form form = Form::Paper; // the loss form's recorded name (form_name)
  bool cache_teacher = true; // cache teacher logits when the run does not augment

  // Throws Error naming the option (--teacher; --temperature, --beta, --smoothing through
  // DistillationOptions::validate) for a missing teacher or values out of range. make_distillation calls it first.
  void validate() const;
};

// A new student of `teacher` in one of the forms a front end builds, as `smoothlab distill` and the Python
// package's smoothlab.train resolve --form, -T and --beta: paper ([M] §4: β = 1 unless given) or hinton (β = 0.5
// unless given), at temperature T. Throws Error naming `form_option` for Form::Custom, a name only records carry.
DistillRunOptions student_of(
    const std::string& teacher,
    Form form,
    double temperature,
    std::optional<double> beta,
    const std::string& form_option);

// The options a saved student run was distilled with (its config.json), for --resume. Throws Error for a form or
// soft term the record misspells.
DistillRunOptions options_from(const train::DistillFacts& facts);

// The settings that decide a student beyond its training configuration (teacher, form, T, β, …; not the teacher
// cache): a rerun of `distill` continues the student only when they are the same (train::first_difference).
nlohmann::json result_settings(const DistillRunOptions& options);

struct DistillSetup {
  Teacher teacher; // the frozen teacher the hooks use (a shared handle)
  train::TrainHooks hooks; // loss, epoch_extras and record.distill set
  train::DistillFacts facts; // = hooks.record.distill: teacher, kind, T, β, form flags, γ, teacher accuracy
};

// Loads and checks the teacher against the run's data (class count, input shape), computes γ and the teacher's
// accuracy on the training split. `config` is the run's effective configuration: its smoothing and loss_impl are the
// hard term's. Throws Error for bad options (DistillRunOptions::validate), an unloadable teacher or a class-count
// mismatch.
DistillSetup make_distillation(
    const DistillRunOptions& options,
    const train::TrainConfig& config,
    const data::DataBundle& data);

} // namespace smoothlab::distill
