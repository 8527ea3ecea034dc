// The options of `smoothlab train`, shared with commands that train (distill, study).
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "smoothlab/train/config.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::cli {

struct TrainArgs {
  train::TrainConfig config;
  std::string out;
  bool resume = false, force = false, no_augment = false;
  std::optional<double> lr; // --lr; unset: the model's default at --batch-size (model::default_lr)
  std::optional<int64_t> crop_padding; // --crop-padding; unset: the model's (model::default_crop_padding)
};

void add_train_options(CLI::App& sub, TrainArgs& args);

// Default run folder when --out is not given: runs/<model>_eps<ε>_seed<seed>.
std::string default_run_dir(const train::TrainConfig& config);

train::ExistingRun existing_run_mode(const TrainArgs& args);

// Applies the options that depend on others (--no-augment, the model's default --lr) to args.config.
void resolve_train_options(TrainArgs& args);

// A run folder opened for training (the resume/force/new decision, made once) and its data, loaded once.
struct PreparedRun {
  train::OpenedRun run; // run.config is the effective configuration: the saved one with --resume
  data::DataBundle data;
};

// Resolves args (resolve_train_options, the default --out), sets the threads, opens the run folder and loads the
// effective configuration's data.
PreparedRun prepare_training(TrainArgs& args);

// Prints the effective configuration (stderr), runs training with a progress line, prints the last epoch.
train::TrainResult run_training(const PreparedRun& prepared, train::TrainHooks hooks = {});

} // namespace smoothlab::cli
