// Glue between distillation / MI measurement and the training loop (train::TrainHooks): what `smoothlab distill`
// and `smoothlab train --mi-classes` plug into train::train.
//
// Distillation ([M] §4): the teacher is frozen (eval mode, no gradients) and sees the student's batch — the same
// augmented images — every step; with augmentation off its logits are computed once over the training split and
// looked up by example index instead (identical values, see Teacher::dataset_logits). The teacher's equivalent
// smoothing γ at T (distill/gamma.h) over the un-augmented training split goes into config.json ("distill") and each
// epoch's metrics.jsonl record ("teacher_gamma").
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/distill/loss.h"
#include "smoothlab/distill/mutual_information.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::distill {

struct DistillRunOptions {
  std::string teacher;          // run folder or TorchScript file
  DistillationOptions loss;     // its smoothing() is replaced by the run's --smoothing (the hard term's ε)
  std::string form = "paper";   // recorded name of the loss form: paper | hinton | custom
  bool cache_teacher = true;    // cache teacher logits when the run does not augment
};

struct DistillSetup {
  Teacher teacher;           // the frozen teacher the hooks use (a shared handle)
  train::TrainHooks hooks;   // loss, epoch_extras and meta["distill"] set
  nlohmann::json summary;    // = meta["distill"]: teacher, kind, T, β, form flags, teacher_gamma, teacher accuracy
};

// Loads and checks the teacher against the run's data (class count, input shape), computes γ and the teacher's
// accuracy on the training split. Throws Error for a missing/unloadable teacher or a class-count mismatch.
DistillSetup make_distillation(const DistillRunOptions& options, const train::TrainConfig& config);

// MI logging during training: when config.mi_classes is set, a function that adds "mi" (Î, see
// mutual_information.h) to each epoch's record, measured on the first config.mi_examples training examples of each
// class with config.mi_views views (crop padding config.crop_padding or 4 when that is 0, flip; augmentation seed
// config.seed — independent of --no-augment). Returns an empty function otherwise.
using EpochExtras = std::function<void(model::ClassifierImpl&, int64_t, nlohmann::json&)>;
EpochExtras make_mi_logger(const train::TrainConfig& config, nlohmann::json* meta = nullptr);

// `smoothlab mi RUN_DIR`: Î for a trained run's latest checkpoint.
struct RunMiOptions {
  std::string classes;          // "a,b": names or indices
  std::string split = "train";  // train | val | test
  int64_t examples = 300;       // per class
  int64_t views = 5;
  int64_t crop_padding = 4;
  bool hflip = true;
  uint64_t seed = 0;
  std::string device;           // "" keeps the run's
  std::filesystem::path out;    // "" : RUN_DIR/mi.json
  bool write_gaps = true;       // also RUN_DIR/mi_gaps.npy (float64 [N, L]) and mi_labels.npy
};

// Loads the run, measures Î on the first `examples` examples of each class of the split, writes mi.json
// (atomically) and returns it: the estimate (to_json(MiEstimate)), the settings, the run's epochs, per-class mean
// gap. Throws Error for an unknown class, a split without enough examples, or bad options.
nlohmann::json run_mutual_information(const std::filesystem::path& run_dir, const RunMiOptions& options);

// Chains two epoch_extras functions (either may be empty).
EpochExtras chain(EpochExtras first, EpochExtras second);

}  // namespace smoothlab::distill
