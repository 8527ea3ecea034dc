// A run folder opened for training — the resume / force / new decision, made once before anything is built from the
// configuration — and a run folder loaded for evaluation and analysis.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <torch/types.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/run_dir.h"

namespace smoothlab::train {

// What to do with a run folder that already holds files.
enum class ExistingRun { Refuse, Resume, Force };

// The decision about an existing run folder, made once before anything is built from the configuration.
struct OpenedRun {
  RunDir dir;
  TrainConfig config; // effective: the saved configuration when resuming, else the requested one
  bool wipe = false; // --force: the folder's files are deleted when training starts
  std::optional<RunRecord> saved; // the saved record when resuming
  bool rerun = false; // resuming because the command repeats the saved run's result settings (ExistingRun::Refuse)
  bool resuming() const { // continues a saved run (its config.json)
    return saved.has_value();
  }
};

// Refuse: an existing folder that holds an unfinished run with the same result settings (config.h) is continued, with
// `requested` as the configuration (rerun); any other non-empty folder is an Error naming what differs; Resume: a
// folder with config.json is continued with its saved configuration (`requested` is ignored), one without starts anew;
// Force: starts anew, deleting what is there.
// Validates the effective configuration. Touches no file.
OpenedRun open_run(const std::filesystem::path& out, ExistingRun mode, const TrainConfig& requested);

// A run folder loaded for evaluation and analysis: its record, its data, its model with the latest checkpoint.
struct LoadedRun {
  RunDir dir{""};
  RunRecord record;
  TrainConfig config; // = record.config
  data::DataBundle data;
  model::Classifier model;
  int64_t epochs_done = 0;
  torch::Device device = torch::kCPU;
};

// device_override: nullopt keeps the run's. Throws Error for a CUDA device without CUDA (device.h torch_device).
LoadedRun load_run(const std::filesystem::path& run_dir, const std::optional<Device>& device_override = std::nullopt);

} // namespace smoothlab::train
