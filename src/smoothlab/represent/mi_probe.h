// The mutual-information probes ([M] §4, Fig. 6; the estimate and the probe's views are mutual_information.h): Î
// logged during training (`smoothlab train --mi-classes`, add_mi_logger plugs into train::train through
// train::TrainHooks) and Î of a trained run's latest checkpoint (`smoothlab mi RUN_DIR`, run_mutual_information).
//
// add_mi_logger takes the run's effective configuration (train::open_run: the saved one when resuming) and its data,
// loaded once by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "smoothlab/data/split.h"
#include "smoothlab/represent/mutual_information.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::represent {

// MI logging during training: when config.probe.mi_classes is set, adds Î (mutual_information.h) to each epoch's
// record ("mi", chained after hooks.epoch_extras) and, with config.probe.mi_every > 0, before every mi_every-th
// optimizer step from step 0 ("mi_steps", hooks.step_extras). Measured on the first config.probe.mi_examples training
// examples of each class with config.probe.mi_views views (crop padding config.data.crop_padding or 4 when that is 0,
// flip; augmentation seed config.seed — independent of --no-augment). The settings go into hooks.record.mi. Does
// nothing otherwise.
void add_mi_logger(const train::TrainConfig& config, const data::DataBundle& data, train::TrainHooks& hooks);

// `smoothlab mi RUN_DIR`: Î for a trained run's latest checkpoint.
struct RunMiOptions {
  std::string classes; // "a,b": names or indices
  data::Split split = data::Split::Train; // --split train | val | test
  int64_t examples = 300; // per class
  int64_t views = 5;
  int64_t crop_padding = 4;
  bool hflip = true;
  uint64_t seed = 0;
  std::optional<train::Device> device; // nullopt keeps the run's
  std::filesystem::path out; // output folder; "" : RUN_DIR
  bool write_gaps = true; // also OUT/mi_gaps.npy (float64 [N, L]) and mi_labels.npy

  // Throws Error naming the option (--crop-padding, --examples, --views through MiOptions::validate) for values out
  // of range. The classes are checked against the run's data by run_mutual_information.
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
  data::Split split = data::Split::Train;
  int64_t examples_per_class = 0, crop_padding = 0;
  bool hflip = true;
  uint64_t seed = 0;
  std::array<double, 2> mean_gap{};
};

nlohmann::json to_json(const RunMiResult& result);

// Validates the options, loads the run, measures Î on the first `examples` examples of each class of the split,
// writes OUT/mi.json (atomically; OUT is created) and returns what it wrote. Throws Error for an unknown class, a
// split without enough examples, or bad options.
RunMiResult run_mutual_information(const std::filesystem::path& run_dir, const RunMiOptions& options);

} // namespace smoothlab::represent
