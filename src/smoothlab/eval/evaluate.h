// `smoothlab eval RUN_DIR`: metrics of a trained run on its validation and test splits, temperature scaling
// fitted on validation and reported on test ([M] §3, [G] §4.2), and the run's outputs as .npy.
//
// Writes RUN_DIR/eval.json:
//   {"epochs_done", "bins", "val": metrics, "test": metrics, "temperature": TemperatureFit | null,
//    "test_scaled": metrics at the fitted T | absent}
// where metrics = {accuracy, nll, ece, brier, count, mce, rms_ce, ece_equal_width, ece_equal_mass,
// classwise_ece, mean_confidence, ...} (calib::to_json); RUN_DIR/calibration.json (calib::to_json of the
// report: fit on val, before/after on test); RUN_DIR/reliability{,_before,_after}.{png,svg};
// and RUN_DIR/{val,test}_{logits,labels,features}.npy for other tools. Without a validation split no
// temperature is fitted (never on test): "temperature" is null and calibration.json says why.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/eval/predict.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::eval {

struct EvalOptions {
  std::string device;    // "" keeps the run's
  bool write_npy = true;
  bool diagrams = true;  // reliability diagrams (PNG + SVG)
  int64_t bootstrap = 0;  // bootstrap replicates for ECE intervals (0: none)
  uint64_t seed = 0;
  // The equivalent smoothing γ ([M] Fig. 5) at T = 1 is always reported for val and test; with train_gamma also
  // over the (un-augmented) training split, as distillation records it — one more pass over the training data.
  bool train_gamma = false;
};

struct SplitOutputs {
  Predictions val, test;
};

// Predicts both splits of a loaded run (with features).
SplitOutputs predict_splits(train::LoadedRun& run);

// Evaluates a run folder; returns what it wrote to eval.json.
nlohmann::json evaluate_run(const std::filesystem::path& run_dir, const EvalOptions& options = {});

}  // namespace smoothlab::eval
