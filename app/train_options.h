// The options of `smoothlab train`, shared with commands that train (distill, study).
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "smoothlab/distill/assemble.h"
#include "smoothlab/distributed/group.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::cli {

struct TrainArgs {
  train::TrainConfig config;
  std::string out;
  bool resume = false, force = false, no_augment = false;
  std::optional<double> lr; // --lr; unset: the model's default at --batch-size (model::default_lr)
  std::optional<int64_t> crop_padding; // --crop-padding; unset: the model's (model::default_crop_padding)
  int nproc_per_node = 1; // > 1: spawn that many local ranks (launch.h) instead of training here
  double dist_timeout = 300; // seconds: rendezvous and every collective of a distributed run
  // The enum-like options as given (defaults: the names of config's): resolve_train_options parses them into config,
  // each with its one parser (an unknown name is an Error naming the option).
  std::string loss_impl, schedule, device, precision, folder_augment, resize_filter;
};

// The ranks this process trains with: WORLD_SIZE when launched by torchrun/srun, --nproc-per-node when it will spawn
// them, else 1.
int world_size(const TrainArgs& args);

void add_train_options(CLI::App& sub, TrainArgs& args);

// Default run folder when --out is not given: runs/<model>_eps<ε>_seed<seed>.
std::string default_run_dir(const train::TrainConfig& config);

train::ExistingRun existing_run_mode(const TrainArgs& args);

// Parses the enum-like options into args.config and applies the options that depend on others (--no-augment, the
// model's default --lr at the global batch --batch-size × world_size).
void resolve_train_options(TrainArgs& args);

// A run folder opened for training (the resume/force/new decision, made once), its data loaded once and its hooks
// (distill::assemble_run).
struct PreparedRun {
  train::OpenedRun run; // run.config is the effective configuration: the saved one with --resume
  distill::AssembledRun assembled;
  std::shared_ptr<distributed::Group> group; // set when launched as one rank of a data-parallel run
};

// With --nproc-per-node N > 1 (and no launcher's WORLD_SIZE): runs this command line as N local ranks and returns the
// exit status to end with; else nullopt, and the caller trains in this process.
std::optional<int> launch_if_asked(const TrainArgs& args);

// Resolves args (resolve_train_options, the default --out), sets the threads (all cores shared among the local
// ranks), joins the process group when launched as a rank, opens the run folder and assembles the run (its data, and
// the hooks of MI logging and, for a student of `distill`, distillation).
PreparedRun prepare_training(TrainArgs& args, const std::optional<distill::DistillRunOptions>& distill = std::nullopt);

// Prints the effective configuration (stderr), runs training with the assembled hooks and a progress line, prints the
// last epoch.
train::TrainResult run_training(const PreparedRun& prepared);

} // namespace smoothlab::cli
