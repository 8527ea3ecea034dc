// Opening a run folder for training (the resume / force / new decision) and loading one for analysis (run_loading.h).
#include "smoothlab/train/run_loading.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/train/checkpoint.h"

namespace smoothlab::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---- opening and loading -----------------------------------------------------------------------------------------

OpenedRun open_run(const fs::path& out, ExistingRun mode, const TrainConfig& requested) {
  OpenedRun run{RunDir(out), requested, false, std::nullopt, false};
  if (fs::exists(out) && !fs::is_directory(out))
    throw Error(fmt::format("--out {}: exists and is not a folder", out.string()));
  if (fs::is_directory(out))
    remove_dead_temp_files(out); // a folder that a kill left with only a half-written file is empty
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (mode == ExistingRun::Refuse) {
      // The same command again continues its unfinished run (a crash, a killed rank, a torchrun restart, a requeued
      // job); anything else that is there is refused.
      const std::string options =
          "pass --resume to continue that run as saved, --force to replace it, or choose another --out";
      if (!run.dir.has_config())
        throw Error(fmt::format("--out {}: folder exists and is not empty", out.string()), options);
      auto saved = run.dir.read_config();
      if (const auto diff = first_difference(result_settings(saved.config), result_settings(requested)))
        throw Error(fmt::format("--out {}: holds a run of another configuration ({})", out.string(), *diff), options);
      const int64_t done = run.dir.has_checkpoint() ? checkpoint_epochs(run.dir.checkpoint_file()) : 0;
      if (done >= saved.config.optimiser.epochs)
        throw Error(
            fmt::format(
                "--out {}: holds a finished run of this configuration (epoch {} of {})",
                out.string(),
                done,
                saved.config.optimiser.epochs),
            "pass --force to train it again, or choose another --out");
      run.saved = std::move(saved);
      run.rerun = true; // the requested configuration: the same results, this command's execution settings
    } else if (mode == ExistingRun::Force) {
      run.wipe = true;
    } else if (run.dir.has_config()) {
      run.saved = run.dir.read_config();
      run.config = run.saved->config;
    }
  }
  run.config.validate();
  return run;
}

LoadedRun load_run(const fs::path& run_dir, const std::optional<Device>& device_override) {
  LoadedRun run;
  run.dir = RunDir(run_dir);
  run.record = run.dir.read_config();
  run.config = run.record.config;
  run.device = torch_device(device_override.value_or(run.config.execution.device));
  if (!run.dir.has_checkpoint())
    throw Error(
        fmt::format("{}: run has no checkpoint yet", run_dir.string()),
        "finish at least one epoch: smoothlab train --resume --out " + run_dir.string());
  run.data = data::load_data(data_options(run.config));
  run.model =
      model::make_model(run.config.model, {run.data.channels, run.data.height, run.data.width, run.data.num_classes});
  run.epochs_done = load_checkpoint(run.dir.checkpoint_file(), *run.model, nullptr);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

} // namespace smoothlab::train
