// `smoothlab eval RUN_DIR`: metrics of a trained run on its validation and test splits, and its outputs as .npy.
//
// Writes RUN_DIR/eval.json {"val": {...}, "test": {...}} with accuracy, nll, ece (15 bins) and brier, and
// RUN_DIR/{val,test}_{logits,labels,features}.npy for other tools.
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
};

struct SplitOutputs {
  Predictions val, test;
};

// Predicts both splits of a loaded run (with features).
SplitOutputs predict_splits(train::LoadedRun& run);

// Evaluates a run folder; returns what it wrote to eval.json.
nlohmann::json evaluate_run(const std::filesystem::path& run_dir, const EvalOptions& options = {});

}  // namespace smoothlab::eval
