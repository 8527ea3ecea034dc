#include "smoothlab/train/trainer.h"

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>

#include <torch/torch.h>

#include "smoothlab/calib/metrics.h"
#include "smoothlab/core/allocator.h"
#include "smoothlab/core/error.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/model/predict.h"
#include "smoothlab/model/sync_batch_norm.h"
#include "smoothlab/train/checkpoint.h"
#include "smoothlab/train/grad_scaler.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/schedule.h"

namespace smoothlab::train {

namespace fs = std::filesystem;

namespace {

loss::LabelSmoothingOptions loss_options(const TrainConfig& c) {
  return loss::LabelSmoothingOptions().smoothing(c.smoothing).implementation(c.loss_impl);
}

// A batch that cannot fit in memory is refused before the first step, not by the kernel's OOM killer after minutes
// (CPU): a forward and backward pass at 8 and at 16 examples measure what one more example costs, at fp32 (autocast
// needs less), plus the loader's prefetched batches. The probe leaves the weights, batch-norm statistics and RNG as
// they were. Batches of at most 64 examples are not probed.
void check_batch_fits(
    model::ClassifierImpl& model,
    const TrainConfig& config,
    const data::DataBundle& bundle,
    int64_t examples_per_rank) {
  const int64_t batch = std::min(config.optimiser.batch_size, examples_per_rank);
  if (batch <= 64)
    return;
  const int64_t available = available_memory_bytes();
  if (available < 0)
    return;
  auto step_bytes = [&](int64_t b) {
    CpuAllocationPeak peak;
    {
      auto logits = model.forward(torch::zeros({b, bundle.channels, bundle.height, bundle.width}));
      torch::nn::functional::cross_entropy(logits, torch::zeros({b}, torch::kLong)).backward();
    }
    for (auto& p : model.parameters())
      p.mutable_grad() = torch::Tensor();
    return peak.bytes();
  };
  std::vector<torch::Tensor> buffers;
  for (const auto& b : model.buffers())
    buffers.push_back(b.clone());
  auto generator = at::detail::getDefaultCPUGenerator();
  const auto rng = generator.get_state();
  const bool training = model.is_training();
  model.train();
  const int64_t at8 = step_bytes(8), at16 = step_bytes(16);
  model.train(training);
  generator.set_state(rng);
  {
    torch::NoGradGuard no_grad;
    const auto now = model.buffers();
    for (size_t i = 0; i < now.size(); ++i)
      now[i].copy_(buffers[i]);
  }
  const double image_bytes = 4.0 * double(bundle.channels * bundle.height * bundle.width);
  // The allocator's count misses what oneDNN, BLAS and the heap's fragmentation add: resnet20 on Fashion-MNIST at batch
  // 8192 counted 9.7 GB and peaked at 13.1 GB of resident memory (docs/performance.md), so each example counts 1.5×.
  const double per_example = 1.5 * double(std::max<int64_t>(at16 - at8, 0)) / 8 + 5 * image_bytes; // + 4 ahead
  const double needed = double(at16) + per_example * double(batch - 16);
  const double room = 0.9 * double(available);
  if (needed <= room)
    return;
  const int64_t fits = std::max<int64_t>(1, int64_t((room - double(at16)) / per_example) + 16);
  int64_t hint = 1;
  while (hint * 2 <= fits)
    hint *= 2;
  throw Error(
      fmt::format(
          "--batch-size {}: a training step of {} on {} examples needs about {:.1f} GB of memory; {:.1f} GB are "
          "available",
          config.optimiser.batch_size,
          config.model,
          batch,
          needed / 1e9,
          double(available) / 1e9),
      fmt::format("about {} examples fit in a batch here: pass --batch-size {} or less", fits, hint));
}

// What must agree between the ranks of one run: the result settings, and whether each rank resumes.
nlohmann::json shared_settings(const TrainConfig& c, bool resuming) {
  nlohmann::json j = result_settings(c);
  j["resuming"] = resuming;
  return j;
}

std::vector<torch::Tensor> state_tensors(torch::nn::Module& m) {
  auto out = m.parameters();
  for (auto& b : m.buffers())
    out.push_back(b);
  return out;
}

// The rows of every rank's shard (DistributedSampler without shuffling: rank r holds examples r, r + W, …, padded)
// gathered back into the dataset's order, padding dropped: rank-major [W·m, …] → [n, …].
torch::Tensor gather_shards(const torch::Tensor& local, int64_t n, const distributed::Group& group) {
  const auto g = group.all_gather(local.cpu().contiguous());
  std::vector<int64_t> shape = {group.size(), local.size(0)};
  for (int64_t d = 1; d < g.dim(); ++d)
    shape.push_back(g.size(d));
  return g.reshape(shape).transpose(0, 1).reshape(g.sizes()).slice(0, 0, n).contiguous();
}

} // namespace

TrainResult train(const TrainConfig& config, const fs::path& run_dir, ExistingRun mode, const TrainHooks& hooks) {
  const auto run = open_run(run_dir, mode, config);
  const auto bundle = data::load_data(data_options(run.config));
  return train(run, bundle, hooks);
}

TrainResult train(
    const OpenedRun& run,
    const data::DataBundle& bundle,
    const TrainHooks& hooks,
    const distributed::Group* group) {
  const TrainConfig& config = run.config;
  const RunDir& dir = run.dir;
  const fs::path& run_dir = dir.path();
  const bool writer = !group || group->rank() == 0; // rank 0 alone writes the run folder
  const int world = group ? group->size() : 1;
  auto note = [&](NoteKind kind, std::string text) {
    if (hooks.on_note && writer)
      hooks.on_note({kind, std::move(text)});
  };
  const bool resuming = run.resuming() && dir.has_checkpoint();
  if (group) // before anything is written: a rank started with other settings stops all of them
    group->check_same("configuration", shared_settings(config, resuming));
  if (writer) {
    if (run.wipe && fs::exists(run_dir))
      for (const auto& entry : fs::directory_iterator(run_dir))
        fs::remove_all(entry.path());
    fs::create_directories(run_dir); // open_run and every write remove a killed write's temp files (core/files.h)
  }

  const torch::Device device = torch_device(config.execution.device);
  const model::Precision precision = config.execution.precision;
  for (const auto& n : bundle.notes)
    note(NoteKind::Data, n);
  if (const auto slow = model::precision_note(precision, device); !slow.empty())
    note(NoteKind::Precision, slow);
  torch::manual_seed(config.seed);
  auto model = model::make_model(config.model, {bundle.channels, bundle.height, bundle.width, bundle.num_classes});
  model->to(device);
  if (device.is_cpu())
    check_batch_fits(*model, config, bundle, (bundle.train.size() + world - 1) / world);
  torch::optim::SGD optimizer(
      model->parameters(),
      torch::optim::SGDOptions(config.optimiser.lr)
          .momentum(config.optimiser.momentum)
          .nesterov(config.optimiser.nesterov && config.optimiser.momentum > 0)
          .weight_decay(config.optimiser.weight_decay));
  int64_t start_epoch = 0;
  std::vector<EpochRecord> records;
  torch::Tensor scaler_state; // the fp16 loss scale the run had reached
  if (resuming) {
    start_epoch = load_checkpoint(dir.checkpoint_file(), *model, &optimizer, &scaler_state);
    model->to(device);
    if (writer) {
      for (auto& r : dir.read_metrics())
        if (r.epoch <= start_epoch)
          records.push_back(r);
      dir.write_metrics(records);
    }
    note(
        NoteKind::Resume,
        fmt::format("resuming {} after epoch {} of {}", run_dir.string(), start_epoch, config.optimiser.epochs));
  } else if (writer) {
    RunRecord record = hooks.record;
    record.config = config;
    record.data = data_info(bundle);
    record.versions = version_info();
    record.world_size = world;
    dir.write_config(record);
    dir.write_metrics(records);
  }
  if (group) {
    // Every rank resumed from the same checkpoint (or none): the same epoch. Rank 0's weights for all, as DDP does.
    group->check_same("checkpoint", nlohmann::json{{"epochs_done", start_epoch}});
    group->broadcast(state_tensors(*model));
  }
  // Batch norm over the global batch for the whole run (forward and backward), with --sync-bn.
  std::optional<model::SyncBatchNorm> sync_bn;
  if (group && config.execution.sync_bn)
    sync_bn.emplace([group](const torch::Tensor& t) { group->all_reduce_sum({t}); });

  data::LoaderOptions lo;
  lo.batch_size = config.optimiser.batch_size;
  lo.drop_last = false;
  lo.crop_padding = config.data.augment ? config.data.crop_padding : 0;
  lo.hflip = config.data.augment;
  lo.workers = config.execution.workers;
  lo.seed = config.seed;
  lo.mean = bundle.mean;
  lo.std = bundle.std;
  lo.pin_memory = device.is_cuda();
  data::BatchLoader train_loader(
      std::make_shared<data::TensorSource>(bundle.train),
      std::make_shared<data::DistributedSampler>(
          bundle.train.size(), group ? group->rank() : 0, world, true, config.seed),
      lo);
  // Validation: the whole split, or with a group this rank's shard (gathered after the forward passes).
  std::unique_ptr<data::BatchLoader> val_loader;
  if (bundle.val.size() > 0)
    val_loader = data::make_eval_loader(
        bundle.val,
        config.execution.eval_batch_size,
        bundle.mean,
        bundle.std,
        config.execution.workers,
        group ? std::make_shared<data::DistributedSampler>(bundle.val.size(), group->rank(), world, false, 0)
              : nullptr);

  ScheduleOptions so{
      config.optimiser.schedule,
      config.optimiser.lr,
      config.optimiser.warmup_epochs,
      config.optimiser.milestones,
      config.optimiser.gamma,
      config.optimiser.epochs,
      std::max<int64_t>(1, train_loader.num_batches())};
  const auto lopts = loss_options(config);
  GradScaler scaler(precision == model::Precision::Fp16);
  if (scaler.enabled() && scaler_state.defined())
    scaler.load_state(scaler_state);
  TrainResult result;
  result.epochs_done = start_epoch;
  if (!records.empty())
    result.last_record = records.back();
  if (start_epoch >= config.optimiser.epochs) {
    note(
        NoteKind::Finished,
        fmt::format("{} already finished its {} epochs", run_dir.string(), config.optimiser.epochs));
    return result;
  }
  using clock = std::chrono::steady_clock;
  const auto run_start = clock::now();
  int64_t images_seen_this_run = 0;
  for (int64_t epoch = start_epoch; epoch < config.optimiser.epochs; ++epoch) {
    model->train();
    train_loader.start_epoch(epoch);
    const auto epoch_start = clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    const int64_t steps = train_loader.num_batches();
    data::Batch batch;
    double lr = 0;
    EpochRecord record;
    while (train_loader.next(batch)) {
      const int64_t global_step = epoch * steps + step;
      if (writer && hooks.step_extras && hooks.step_extras_every > 0 && global_step % hooks.step_extras_every == 0)
        hooks.step_extras(*model, global_step, record);
      lr = learning_rate(so, global_step);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      auto x = batch.images.to(device), y = batch.labels.to(device);
      torch::Tensor logits, loss;
      {
        // Forward and loss under autocast (a no-op at fp32); backward and the step outside it, as with torch.autocast.
        model::Autocast autocast(precision, device);
        logits = model->forward(x);
        loss = hooks.loss ? hooks.loss(logits, batch) : loss::label_smoothing_cross_entropy(logits, y, lopts);
      }
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw Error(
            fmt::format("training diverged: loss is {} at epoch {}, step {}", loss_value, epoch + 1, step + 1),
            "lower --lr, or add --clip-grad-norm 5");
      optimizer.zero_grad();
      scaler.scale_loss(loss).backward();
      if (group)
        group->average_gradients(model->parameters());
      const bool grads_finite = scaler.unscale(model->parameters()); // fp16 only; else always true
      if (grads_finite) {
        if (config.optimiser.clip_grad_norm > 0)
          torch::nn::utils::clip_grad_norm_(model->parameters(), config.optimiser.clip_grad_norm);
        optimizer.step();
      }
      scaler.update(grads_finite);
      const int64_t b = batch.labels.size(0);
      loss_sum += loss_value * double(b);
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += b;
      images_seen_this_run += b;
      ++step;
      if (hooks.on_progress) {
        Progress p;
        p.epoch = epoch + 1;
        p.epochs = config.optimiser.epochs;
        p.step = step;
        p.steps = steps;
        p.loss = loss_sum / double(seen);
        p.accuracy = double(correct) / double(seen);
        const double elapsed = std::chrono::duration<double>(clock::now() - run_start).count();
        p.images_per_second = double(images_seen_this_run) / std::max(1e-9, elapsed);
        const double remaining = double(
            (config.optimiser.epochs - epoch - 1) * train_loader.num_examples() + (train_loader.num_examples() - seen));
        p.eta_seconds = remaining / std::max(1e-9, p.images_per_second);
        hooks.on_progress(p);
      }
    }
    const double train_seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    if (group) { // the epoch's metrics over all ranks' shards
      auto sums = torch::tensor({loss_sum, double(correct), double(seen)}, torch::kFloat64);
      group->all_reduce_sum({sums});
      loss_sum = sums[0].item<double>();
      correct = int64_t(std::llround(sums[1].item<double>()));
      seen = int64_t(std::llround(sums[2].item<double>()));
      // Per-rank batch norm statistics (no --sync-bn) differ: rank 0's are the model's, as DDP's broadcast_buffers.
      if (!config.execution.sync_bn)
        group->broadcast(model->buffers());
    }
    record.epoch = epoch + 1;
    record.steps = step;
    record.lr = lr;
    record.train_loss = loss_sum / double(std::max<int64_t>(1, seen));
    record.train_accuracy = double(correct) / double(std::max<int64_t>(1, seen));
    record.images_per_second = double(seen) / std::max(1e-9, train_seconds);
    if (val_loader) {
      auto pred = model::predict(*model, *val_loader, device, false, precision);
      if (group) {
        pred.logits = gather_shards(pred.logits, bundle.val.size(), *group);
        pred.labels = gather_shards(pred.labels, bundle.val.size(), *group);
      }
      auto m = calib::compute_metrics(pred.logits, pred.labels, config.probe.bins);
      record.val_loss = loss::label_smoothing_cross_entropy(pred.logits, pred.labels, lopts).item<double>();
      record.val_nll = m.nll;
      record.val_accuracy = m.accuracy;
      record.val_ece = m.ece;
    }
    record.loader =
        data::summarise(train_loader.stats()); // wait_fraction near 1: the loader, not the model, sets the pace
    if (group)
      record.world_size = world;
    if (writer) {
      record.bad_images = data::write_bad_images(bundle, dir.bad_images_file());
      if (hooks.epoch_extras)
        hooks.epoch_extras(*model, epoch + 1, record);
    }
    record.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    records.push_back(record);
    if (writer) {
      dir.write_metrics(records); // metrics first: a kill before the checkpoint redoes this epoch
      save_checkpoint(
          dir.checkpoint_file(), *model, &optimizer, epoch + 1, scaler.enabled() ? scaler.state() : torch::Tensor());
    }
    result.epochs_done = epoch + 1;
    result.last_record = record;
    if (hooks.on_epoch)
      hooks.on_epoch(record);
  }
  return result;
}

} // namespace smoothlab::train
