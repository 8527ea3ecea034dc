// The training loop. The run folder it writes is train/run_dir.h's; the resume/force/new decision is
// train/run_loading.h's.
//
// A killed run is resumed from its checkpoint: metrics of epochs after the checkpoint are dropped and redone, so
// every epoch is recorded exactly once. Batches are a pure function of (seed, epoch), so a resumed run with one
// thread ends with the same parameters as an uninterrupted one.
//
// Data-parallel (a distributed::Group of W ranks), as PyTorch's DDP with a DistributedSampler: rank 0's parameters and
// buffers are broadcast at the start, every rank trains on its shard of the epoch (every W-th index of the shared
// permutation) with the per-rank batch size, gradients are averaged over the ranks after backward (bucketed
// all-reduce), batch norm is per rank unless config.execution.sync_bn. The epoch's metrics are sums over all ranks,
// validation is sharded and gathered. Rank 0 alone writes the run folder; every rank reads it when resuming, so the
// folder must be visible to all (one host, or a shared filesystem). The configurations of all ranks must agree (checked
// first).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <torch/types.h>

#include "smoothlab/core/note.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/distributed/group.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::train {

struct Progress {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0; // epoch is 1-based
  double loss = 0, accuracy = 0, images_per_second = 0, eta_seconds = 0;
};

// Extension points for distillation, MI logging and reporting; all optional.
struct TrainHooks {
  std::function<void(const Progress&)> on_progress;
  std::function<void(const EpochRecord&)> on_epoch;
  NoteHook on_note;
  // Replaces the label-smoothed loss, e.g. with a distillation loss. Gets the student logits and the batch.
  std::function<torch::Tensor(const torch::Tensor& logits, const data::Batch& batch)> loss;
  // Adds fields to an epoch's record (after validation).
  std::function<void(model::ClassifierImpl& model, int64_t epoch, EpochRecord& record)> epoch_extras;
  // Adds to the current epoch's record before each optimizer step whose global index (from 0) is a multiple of
  // step_extras_every (> 0): a probe of the model during training (--mi-every). Rank 0 only.
  std::function<void(model::ClassifierImpl& model, int64_t step, EpochRecord& record)> step_extras;
  int64_t step_extras_every = 0;
  // Written as config.json when the run starts: command line, distillation and MI facts, study facts. train() fills
  // in config, data and versions.
  RunRecord record;
};

struct TrainResult {
  int64_t epochs_done = 0;
  std::optional<EpochRecord> last_record;
};

// Trains (or resumes) an opened run (open_run) on its data (data::load_data(data_options(run.config))).
// group: null, or the process group of a data-parallel run (this process is one of its ranks).
TrainResult train(
    const OpenedRun& run,
    const data::DataBundle& data,
    const TrainHooks& hooks = {},
    const distributed::Group* group = nullptr);

// open_run(run_dir, mode, config), loads the data, then trains: with ExistingRun::Refuse an existing run folder is an
// Error; Resume continues it with its saved config (the given config is ignored); Force deletes it and starts over.
TrainResult train(
    const TrainConfig& config,
    const std::filesystem::path& run_dir,
    ExistingRun mode,
    const TrainHooks& hooks = {});

} // namespace smoothlab::train
