// The training loop and the run folder it writes.
//
// RUN_DIR/config.json     the TrainConfig, data facts (classes, normalisation, split sizes), versions, command
// RUN_DIR/metrics.jsonl   one JSON object per finished epoch (train loss/accuracy, validation loss/NLL/accuracy/ECE,
//                         lr, img/s, seconds), rewritten atomically each epoch
// RUN_DIR/checkpoint.pt   model + optimizer + epochs done + RNG state, written atomically after each epoch's metrics
//
// A killed run is resumed from its checkpoint: metrics of epochs after the checkpoint are dropped and redone, so
// every epoch is recorded exactly once. Batches are a pure function of (seed, epoch), so a resumed run with one
// thread ends with the same parameters as an uninterrupted one.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/config.h"

namespace smoothlab::train {

enum class ExistingRun { Refuse, Resume, Force };

struct Progress {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;  // epoch is 1-based
  double loss = 0, accuracy = 0, images_per_second = 0, eta_seconds = 0;
};

// Extension points for distillation, MI logging and reporting; all optional.
struct TrainHooks {
  std::function<void(const Progress&)> on_progress;
  std::function<void(const nlohmann::json&)> on_epoch;
  std::function<void(const std::string&)> on_note;
  // Replaces the label-smoothed loss, e.g. with a distillation loss. Gets the student logits and the batch.
  std::function<torch::Tensor(const torch::Tensor& logits, const data::Batch& batch)> loss;
  // Adds fields to an epoch's record (after validation).
  std::function<void(model::ClassifierImpl& model, int64_t epoch, nlohmann::json& record)> epoch_extras;
  nlohmann::json meta = nlohmann::json::object();  // merged into config.json (command line, teacher, ...)
};

struct TrainResult {
  int64_t epochs_done = 0;
  nlohmann::json last_record;
};

// Trains (or resumes) the run in run_dir. With ExistingRun::Refuse an existing run folder is an Error;
// Resume continues it with its saved config (the given config is ignored); Force deletes it and starts over.
TrainResult train(const TrainConfig& config, const std::filesystem::path& run_dir, ExistingRun mode,
                  const TrainHooks& hooks = {});

// A run folder loaded for evaluation and analysis: its config, its data, its model with the latest checkpoint.
struct LoadedRun {
  std::filesystem::path dir;
  TrainConfig config;
  nlohmann::json meta;  // the whole config.json
  data::DataBundle data;
  model::Classifier model;
  int64_t epochs_done = 0;
  torch::Device device = torch::kCPU;
};

// The records of RUN_DIR/metrics.jsonl, one per epoch, in order ({} when the file does not exist; an unparsable line
// is skipped).
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path);

// device_override: "" keeps the run's device.
LoadedRun load_run(const std::filesystem::path& run_dir, const std::string& device_override = "");

// Parses "cpu" / "cuda" / "cuda:N"; throws Error when CUDA is asked for but not available.
torch::Device parse_device(const std::string& name);

data::DataOptions data_options(const TrainConfig& config);

// smoothlab, LibTorch, compiler and BLAS versions for provenance.
nlohmann::json version_info();

}  // namespace smoothlab::train
