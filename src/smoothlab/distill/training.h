// Glue between distillation / MI measurement and the training loop (train::TrainHooks): what `smoothlab distill`
// and `smoothlab train --mi-classes` plug into train::train.
//
// Distillation ([M] §4): the teacher is frozen (eval mode, no gradients) and sees the student's batch — the same
// augmented images — every step; with augmentation off its logits are computed once over the training split and
// looked up by example index instead (identical values, see Teacher::dataset_logits). The teacher's equivalent
// smoothing γ at T (calib/gamma.h) over the un-augmented training split goes into the run's record
// (train::DistillFacts) and each epoch's (EpochRecord::teacher_gamma).
//
// Every function here takes the run's effective configuration (train::open_run: the saved one when resuming) and its
// data, loaded once by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/distill/loss.h"
#include "smoothlab/distill/mutual_information.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::distill {

struct DistillRunOptions {
  std::string teacher; // run folder or TorchScript file
  DistillationOptions loss; // its smoothing() and implementation() are the run's --smoothing and --loss-impl
  std::string form = "paper"; // recorded name of the loss form: paper | hinton | custom
  bool cache_teacher = true; // cache teacher logits when the run does not augment
};

// The options a saved student run was distilled with (its config.json), for --resume.
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
// hard term's. Throws Error for a missing/unloadable teacher or a class-count mismatch.
DistillSetup make_distillation(
    const DistillRunOptions& options,
    const train::TrainConfig& config,
    const data::DataBundle& data);

// MI logging during training: when config.mi_classes is set, adds Î (mutual_information.h) to each epoch's record
// ("mi", chained after hooks.epoch_extras) and, with config.mi_every > 0, before every mi_every-th optimizer step
// from step 0 ("mi_steps", hooks.step_extras). Measured on the first config.mi_examples training examples of each
// class with config.mi_views views (crop padding config.crop_padding or 4 when that is 0, flip; augmentation seed
// config.seed — independent of --no-augment). The settings go into hooks.record.mi. Does nothing otherwise.
using EpochExtras = std::function<void(model::ClassifierImpl&, int64_t, train::EpochRecord&)>;
void add_mi_logger(const train::TrainConfig& config, const data::DataBundle& data, train::TrainHooks& hooks);

// `smoothlab mi RUN_DIR`: Î for a trained run's latest checkpoint.
struct RunMiOptions {
  std::string classes; // "a,b": names or indices
  std::string split = "train"; // train | val | test
  int64_t examples = 300; // per class
  int64_t views = 5;
  int64_t crop_padding = 4;
  bool hflip = true;
  uint64_t seed = 0;
  std::optional<train::Device> device; // nullopt keeps the run's
  std::filesystem::path out; // output folder; "" : RUN_DIR
  bool write_gaps = true; // also OUT/mi_gaps.npy (float64 [N, L]) and mi_labels.npy

  // Throws Error naming the option (--split, --crop-padding) for values out of range (MiOptions checks the rest).
  void validate() const;
};

// What `smoothlab mi` measured: the estimate, the settings it was measured with, the run's epochs and each class's
// mean gap. to_json gives mi.json: the estimate's fields (to_json(MiEstimate)) beside the others.
struct RunMiResult {
  MiEstimate estimate;
  std::filesystem::path run;
  int64_t epochs_done = 0;
  std::array<int64_t, 2> classes{};
  std::array<std::string, 2> class_names;
  std::string split;
  int64_t examples_per_class = 0, crop_padding = 0;
  bool hflip = true;
  uint64_t seed = 0;
  std::array<double, 2> mean_gap{};
};

nlohmann::json to_json(const RunMiResult& result);

// Loads the run, measures Î on the first `examples` examples of each class of the split, writes OUT/mi.json
// (atomically; OUT is created) and returns what it wrote. Throws Error for an unknown class, a split without enough
// examples, or bad options.
RunMiResult run_mutual_information(const std::filesystem::path& run_dir, const RunMiOptions& options);

// Chains two epoch_extras functions (either may be empty).
EpochExtras chain(EpochExtras first, EpochExtras second);

} // namespace smoothlab::distill
