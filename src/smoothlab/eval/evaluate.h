// `smoothlab eval RUN_DIR`: metrics of a trained run on its validation and test splits, temperature scaling
// fitted on validation and reported on test ([M] §3, [G] §4.2), and the run's outputs as .npy.
//
// Writes the run folder's eval.json (train::EvalRecord: metrics of val and test, the temperature fitted on val, test at
// that temperature, γ), calibration.json (the calibration report: fit on val, before/after on test), the reliability
// diagrams and the {val,test} logits, labels and features as .npy for other tools (train/run_dir.h names them).
// Without a validation split no temperature is fitted (never on test): the record has none and calibration.json
// says why.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/core/note.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/model/predict.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::eval {

struct EvalOptions {
  std::optional<train::Device> device; // nullopt keeps the run's
  std::optional<model::Precision> precision; // of the forward passes; nullopt keeps the run's training precision
  bool write_npy = true;
  bool write_features = true; // with write_npy: the penultimate features too (the study keeps only logits, labels)
  bool diagrams = true; // reliability diagrams (PNG + SVG)
  int64_t bootstrap = 0; // bootstrap replicates for ECE intervals (0: none)
  uint64_t seed = 0;
  // The equivalent smoothing γ ([M] Fig. 5) at T = 1 is always reported for val and test; with train_gamma also
  // over the (un-augmented) training split, as distillation records it — one more pass over the training data.
  bool train_gamma = false;
  NoteHook on_note; // one-line notes (emulated bf16: model::precision_note)

  // Throws Error naming the option (--bootstrap) for values out of range; evaluate_run calls it before loading.
  void validate() const;
};

struct SplitOutputs {
  model::Predictions val, test;
};

// Predicts both splits of a loaded run (with features).
SplitOutputs predict_splits(train::LoadedRun& run);

// Evaluates a run folder; returns what it wrote to eval.json.
train::EvalRecord evaluate_run(const std::filesystem::path& run_dir, const EvalOptions& options = {});

} // namespace smoothlab::eval
