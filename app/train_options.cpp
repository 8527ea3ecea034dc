#include "train_options.h"

#include <unistd.h>

#include <iostream>
#include <thread>

#include <ATen/Parallel.h>

#include <fmt/format.h>

#include "command.h"
#include "launch.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/note.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::cli {

void add_train_options(CLI::App& sub, TrainArgs& a) {
  auto& c = a.config;
  a.loss_impl = loss::implementation_name(c.loss_impl);
  a.schedule = train::schedule_kind_name(c.optimiser.schedule);
  a.device = train::device_name(c.execution.device);
  a.precision = model::precision_name(c.execution.precision);
  a.folder_augment = data::transform_kind_name(c.data.folder_augment);
  a.resize_filter = data::resize_filter_name(c.data.resize_filter);
  sub.add_option("--data", c.data.source, join(data::source_names(), " | "))->capture_default_str();
  sub.add_option(
      "--val-size",
      c.data.val_size,
      "training examples held out for validation, stratified (default: 5000 for fashion-mnist, mnist and "
      "cifar, 10% of the training set for other sources)");
  sub.add_option("--split-seed", c.data.split_seed, "seed fixing the validation split")->capture_default_str();
  sub.add_option("--limit-train", c.data.limit_train, "use only this many training examples (0: all)")
      ->capture_default_str();
  sub.add_option("--limit-test", c.data.limit_test, "use only the first this-many test examples (0: all)")
      ->capture_default_str();
  sub.add_option(
      "--classes",
      c.data.classes,
      "train and evaluate on these classes only (names or indices, comma-separated), relabelled in this order");
  sub.add_option(
      "--label-noise",
      c.data.label_noise,
      "share of training and validation labels replaced by a uniformly drawn other class (test stays clean)");
  sub.add_flag("--no-augment", a.no_augment, "turn off random crop and horizontal flip");
  sub.add_option("--crop-padding", a.crop_padding, "padding of the random crop (default: 2 for cnn, 4 for the others)");
  sub.add_option("--model", c.model, join(model::model_names(), " | "))->capture_default_str();
  sub.add_option("--smoothing", c.smoothing, "label smoothing ε in [0, 1] (PyTorch's range): target (1−ε)·onehot + ε/K")
      ->capture_default_str();
  sub.add_option("--loss-impl", a.loss_impl, "fused | libtorch (LibTorch's composite, for comparison)")
      ->capture_default_str();
  sub.add_option("--epochs", c.optimiser.epochs)->capture_default_str();
  sub.add_option("--batch-size", c.optimiser.batch_size)->capture_default_str();
  sub.add_option("--lr", a.lr, "peak learning rate (default: 0.1 at batch 128, times B/128 below it)");
  sub.add_option("--momentum", c.optimiser.momentum)->capture_default_str();
  sub.add_option("--nesterov", c.optimiser.nesterov, "Nesterov momentum (true/false)")->capture_default_str();
  sub.add_option("--weight-decay", c.optimiser.weight_decay)->capture_default_str();
  sub.add_option("--schedule", a.schedule, "cosine | step | constant")->capture_default_str();
  sub.add_option("--warmup-epochs", c.optimiser.warmup_epochs, "linear warm-up length (fractions allowed)")
      ->capture_default_str();
  sub.add_option("--milestones", c.optimiser.milestones, "step schedule: epochs at which lr *= gamma")->delimiter(',');
  sub.add_option("--gamma", c.optimiser.gamma, "step schedule factor")->capture_default_str();
  sub.add_option("--clip-grad-norm", c.optimiser.clip_grad_norm, "clip the gradient norm (0: off)")
      ->capture_default_str();
  sub.add_option("--seed", c.seed)->capture_default_str();
  sub.add_option("--threads", c.execution.threads, "LibTorch threads (0: all cores)")->capture_default_str();
  sub.add_option("--workers", c.execution.workers, "batch-assembling threads")->capture_default_str();
  sub.add_option("--device", a.device, "cpu | cuda | cuda:N")->capture_default_str();
  sub.add_option(
         "--precision",
         a.precision,
         "fp32 | bf16 (autocast: CPU with AVX-512 BF16 or AMX, CUDA) | fp16 (CUDA, with loss scaling); weights, "
         "optimizer, loss and metrics stay float32")
      ->capture_default_str();
  sub.add_option("--eval-batch-size", c.execution.eval_batch_size)->capture_default_str();
  sub.add_option("--bins", c.probe.bins, "ECE bins")->capture_default_str();
  sub.add_option(
      "--mi-classes",
      c.probe.mi_classes,
      "log Î(example; z_a − z_b) every epoch for two classes, e.g. Shirt,Pullover ([M] Fig. 6)");
  sub.add_option("--mi-examples", c.probe.mi_examples, "MI: training examples per class")->capture_default_str();
  sub.add_option("--mi-views", c.probe.mi_views, "MI: augmented views per example")->capture_default_str();
  sub.add_option(
         "--mi-every", c.probe.mi_every, "MI: also every N optimizer steps from step 0 (0: each epoch's end only)")
      ->capture_default_str();
  sub.add_flag(
      "--sync-bn",
      c.execution.sync_bn,
      "distributed: batch norm with the statistics of the global batch (PyTorch's SyncBatchNorm); default per rank");
  sub.add_option(
         "--nproc-per-node",
         a.nproc_per_node,
         "spawn N local ranks of a data-parallel run (as torchrun --nproc_per_node N); --batch-size is per rank")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub.add_option(
         "--dist-timeout",
         a.dist_timeout,
         "distributed: seconds to wait for the other ranks (rendezvous and every collective) before failing")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--out", a.out, "run folder (default: runs/<model>_eps<ε>_seed<seed>)");
  sub.add_flag("--resume", a.resume, "continue the run in --out from its last checkpoint");
  sub.add_flag("--force", a.force, "delete the run in --out and start over");

  // --- image folders (--data folder:DIR; src/smoothlab/data/image_folder.h) ---
  sub.add_option("--image-size", c.data.image_size, "image folders: side of the square views fed to the model")
      ->capture_default_str();
  sub.add_option("--image-channels", c.data.image_channels, "image folders: 3 (RGB) or 1 (gray)")
      ->capture_default_str();
  sub.add_option(
         "--folder-augment",
         a.folder_augment,
         "image folders: training view rrc (RandomResizedCrop + flip) | pad-crop (resize, padded crop + flip) | "
         "center")
      ->capture_default_str();
  sub.add_option("--rrc-scale", c.data.rrc_scale, "RandomResizedCrop area range MIN,MAX")->delimiter(',')->expected(2);
  sub.add_option("--rrc-ratio", c.data.rrc_ratio, "RandomResizedCrop aspect range MIN,MAX")
      ->delimiter(',')
      ->expected(2);
  sub.add_option("--resize-filter", a.resize_filter, "image folders: bilinear | bicubic | lanczos")
      ->capture_default_str();
  sub.add_flag(
      "--skip-bad-images",
      c.data.skip_bad_images,
      "image folders: skip unreadable images (listed in RUN_DIR/bad_images.txt) instead of stopping");
}

std::string default_run_dir(const train::TrainConfig& c) {
  return fmt::format("runs/{}_eps{}_seed{}", c.model, c.smoothing, c.seed);
}

train::ExistingRun existing_run_mode(const TrainArgs& a) {
  if (a.resume && a.force)
    throw Error("--resume and --force exclude each other");
  return a.resume ? train::ExistingRun::Resume : a.force ? train::ExistingRun::Force : train::ExistingRun::Refuse;
}

int world_size(const TrainArgs& a) {
  if (const auto env = distributed::launch_env())
    return env->world_size;
  return a.nproc_per_node;
}

void resolve_train_options(TrainArgs& a) {
  auto& c = a.config;
  c.loss_impl = loss::parse_implementation(a.loss_impl);
  c.optimiser.schedule = train::parse_schedule_kind(a.schedule);
  c.execution.device = train::parse_device(a.device);
  c.execution.precision = model::parse_precision(a.precision);
  c.data.folder_augment = data::parse_transform_kind(a.folder_augment);
  c.data.resize_filter = data::parse_resize_filter(a.resize_filter);
  if (a.no_augment)
    a.config.data.augment = false;
  train::fill_model_defaults(a.config, a.lr, a.crop_padding, world_size(a));
}

PreparedRun prepare_training(TrainArgs& a, const std::optional<distill::DistillRunOptions>& distill) {
  resolve_train_options(a);
  if (a.out.empty())
    a.out = default_run_dir(a.config);
  const auto mode = existing_run_mode(a);
  a.config.validate();
  const auto env = distributed::launch_env();
  if (a.config.execution.sync_bn && !(env && env->world_size > 1) && a.nproc_per_node <= 1)
    throw Error("--sync-bn needs a distributed run", "launch with torchrun or add --nproc-per-node N");
  PreparedRun prepared{train::open_run(a.out, mode, a.config), {}, nullptr};
  // This process's threads: the command line's, also when resuming; by default the cores shared by the local ranks.
  int threads = a.config.execution.threads;
  if (threads == 0 && env && env->local_world_size > 1)
    threads = std::max(1, int(std::thread::hardware_concurrency()) / env->local_world_size);
  apply_threads(threads);
  if (env && env->world_size > 1) {
    auto& device = prepared.run.config.execution.device;
    if (device.is_cuda() && !device.has_index())
      device = train::Device::cuda(env->local_rank); // one GPU per local rank
    prepared.group = std::make_shared<distributed::Group>(
        *env, std::chrono::milliseconds(int64_t(a.dist_timeout * 1000)), train::torch_device(device));
  }
  prepared.assembled = distill::assemble_run(prepared.run, distill);
  return prepared;
}

std::optional<int> launch_if_asked(const TrainArgs& a) {
  if (a.nproc_per_node <= 1 || distributed::launch_env())
    return std::nullopt;
  return launch_local_ranks(a.nproc_per_node, a.dist_timeout);
}

train::TrainResult run_training(const PreparedRun& prepared) {
  const auto& run = prepared.run;
  train::TrainHooks hooks = prepared.assembled.hooks;
  nlohmann::json shown = run.config;
  std::string table;
  for (auto& [key, value] : shown.items())
    table += fmt::format("  {:<16} {}\n", key, value.dump());
  const bool rank0 = !prepared.group || prepared.group->rank() == 0;
  if (rank0)
    std::cerr << fmt::format(
        "smoothlab train → {}  ({} threads{})\n{}",
        run.dir.path().string(),
        at::get_num_threads(),
        run.rerun            ? ", resuming: the folder holds this command's unfinished run"
            : run.resuming() ? ", resuming with the saved configuration"
                             : "",
        table);
  hooks.record.command = command_line();
  hooks.on_note = [](const Note& n) { std::cerr << n.text << "\n"; };
  if (prepared.group && rank0)
    std::cerr << fmt::format(
        "data-parallel: {} ranks × batch {} = global batch {}{}, {}\n",
        prepared.group->size(),
        run.config.optimiser.batch_size,
        run.config.optimiser.batch_size * prepared.group->size(),
        run.config.execution.sync_bn ? ", synchronised batch norm" : "",
        prepared.group->backend());
  hooks.on_progress = [rank0, last = std::chrono::steady_clock::time_point{}](const train::Progress& p) mutable {
    if (!rank0)
      return;
    const auto now = std::chrono::steady_clock::now();
    const bool tty = ::isatty(2);
    if (p.step != p.steps && now - last < std::chrono::milliseconds(tty ? 200 : 15000))
      return;
    last = now;
    status_line(
        fmt::format(
            "epoch {}/{} step {}/{}  loss {:.4f}  acc {:.4f}  {:.0f} img/s  ETA {:.0f}s",
            p.epoch,
            p.epochs,
            p.step,
            p.steps,
            p.loss,
            p.accuracy,
            p.images_per_second,
            p.eta_seconds),
        false);
  };
  hooks.on_epoch = [rank0](const train::EpochRecord& r) {
    if (!rank0)
      return;
    std::string line =
        fmt::format("epoch {:>3}  train loss {:.4f} acc {:.4f}", r.epoch, r.train_loss, r.train_accuracy);
    if (r.val_accuracy)
      line += fmt::format("  val loss {:.4f} acc {:.4f} ece {:.4f}", *r.val_loss, *r.val_accuracy, *r.val_ece);
    if (r.mi)
      line += fmt::format("  Î {:.4f}", *r.mi);
    line += fmt::format("  {:.0f} img/s  {:.1f}s", r.images_per_second, r.seconds);
    status_line(line, true);
  };
  auto result = train::train(run, prepared.assembled.data, hooks, prepared.group.get());
  if (rank0)
    std::cout << fmt::format("run folder: {}\n", run.dir.path().string());
  return result;
}

} // namespace smoothlab::cli
