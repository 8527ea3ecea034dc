#include "smoothlab/train/trainer.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <torch/torch.h>
#include <torch/version.h>

#include "smoothlab/calib/metrics.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/eval/predict.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/train/checkpoint.h"
#include "smoothlab/train/schedule.h"

namespace smoothlab::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error(fmt::format("--device {}: CUDA is not available", name),
                  "this build uses a CPU LibTorch; configure with -DTorch_DIR=<a CUDA LibTorch> or use --device cpu");
    return torch::Device(name);
  }
  throw Error(fmt::format("--device: unknown device '{}'", name), "known: cpu, cuda, cuda:N");
}

data::DataOptions data_options(const TrainConfig& c) {
  data::DataOptions o;
  o.spec = c.data;
  o.val_size = c.val_size;
  o.split_seed = c.split_seed;
  o.limit_train = c.limit_train;
  o.limit_test = c.limit_test;
  // image folders (data/image_folder.h)
  o.augment = c.augment;
  o.folder.image_size = c.image_size;
  o.folder.channels = c.image_channels;
  o.folder.augment = c.folder_augment;
  if (c.rrc_scale.size() == 2) o.folder.scale_min = c.rrc_scale[0], o.folder.scale_max = c.rrc_scale[1];
  if (c.rrc_ratio.size() == 2) o.folder.ratio_min = c.rrc_ratio[0], o.folder.ratio_max = c.rrc_ratio[1];
  o.folder.padding = c.crop_padding;
  o.folder.filter = c.resize_filter;
  o.folder.skip_bad = c.skip_bad_images;
  return o;
}

json version_info() {
  return {{"smoothlab", SMOOTHLAB_VERSION},
          {"libtorch", TORCH_VERSION},
          {"compiler", fmt::format("{} {}.{}.{}", "gcc", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__)},
          {"parallel", at::get_parallel_info().substr(0, 400)},
          {"threads", at::get_num_threads()}};
}

namespace {

json data_info(const data::DataBundle& d) {
  return {{"name", d.name},
          {"spec", d.spec},
          {"num_classes", d.num_classes},
          {"class_names", d.class_names},
          {"shape", {d.channels, d.height, d.width}},
          {"mean", d.mean},
          {"std", d.std},
          {"train_size", d.train.size()},
          {"val_size", d.val.size()},
          {"test_size", d.test.size()}};
}

void write_metrics(const fs::path& path, const std::vector<json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  write_file_atomic(path, text);
}

loss::LabelSmoothingOptions loss_options(const TrainConfig& c) {
  return loss::LabelSmoothingOptions().smoothing(c.smoothing).implementation(loss::parse_implementation(c.loss_impl));
}

}  // namespace

std::vector<json> read_metrics(const fs::path& path) {
  std::vector<json> records;
  if (!fs::exists(path)) return records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      records.push_back(json::parse(line));
    } catch (const json::exception&) {
      // A torn last line cannot happen with atomic rewrites; skip anything unparsable all the same.
    }
  }
  return records;
}

TrainResult train(const TrainConfig& requested, const fs::path& run_dir, ExistingRun mode, const TrainHooks& hooks) {
  const fs::path config_path = run_dir / "config.json", metrics_path = run_dir / "metrics.jsonl",
                 checkpoint_path = run_dir / "checkpoint.pt";
  auto note = [&](const std::string& s) {
    if (hooks.on_note) hooks.on_note(s);
  };
  TrainConfig config = requested;
  bool resuming = false;
  if (fs::exists(run_dir) && !fs::is_directory(run_dir))
    throw Error(fmt::format("--out {}: exists and is not a folder", run_dir.string()));
  const bool has_run = fs::exists(config_path);
  if (fs::exists(run_dir) && !fs::is_empty(run_dir)) {
    if (mode == ExistingRun::Refuse)
      throw Error(fmt::format("--out {}: folder exists and is not empty", run_dir.string()),
                  "pass --resume to continue that run, --force to replace it, or choose another --out");
    if (mode == ExistingRun::Force) {
      for (const auto& entry : fs::directory_iterator(run_dir)) fs::remove_all(entry.path());
    } else if (has_run) {
      try {
        config = json::parse(read_file(config_path)).at("config").get<TrainConfig>();
      } catch (const json::exception& e) {
        throw Error(fmt::format("{}: unreadable run configuration ({})", config_path.string(), e.what()),
                    "rerun with --force to start over");
      }
      resuming = true;
    }
  }
  config.validate();
  fs::create_directories(run_dir);
  // Temp files of a write that a kill interrupted (see core/files.h) are never read: remove them.
  for (const auto& entry : fs::directory_iterator(run_dir))
    if (entry.path().filename().string().rfind('.', 0) == 0 &&
        entry.path().filename().string().find(".tmp.") != std::string::npos)
      fs::remove(entry.path());

  const torch::Device device = parse_device(config.device);
  auto bundle = data::load_data(data_options(config));
  for (const auto& n : bundle.notes) note(n);
  torch::manual_seed(config.seed);
  auto model = model::make_model(
      config.model, {bundle.channels, bundle.height, bundle.width, bundle.num_classes});
  model->to(device);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(config.lr)
                                                       .momentum(config.momentum)
                                                       .nesterov(config.nesterov && config.momentum > 0)
                                                       .weight_decay(config.weight_decay));
  int64_t start_epoch = 0;
  std::vector<json> records;
  if (resuming && fs::exists(checkpoint_path)) {
    start_epoch = load_checkpoint(checkpoint_path, *model, &optimizer);
    model->to(device);
    for (auto& r : read_metrics(metrics_path))
      if (r.value("epoch", int64_t(0)) <= start_epoch) records.push_back(r);
    write_metrics(metrics_path, records);
    note(fmt::format("resuming {} after epoch {} of {}", run_dir.string(), start_epoch, config.epochs));
  } else {
    json meta = hooks.meta;
    meta["config"] = config;
    meta["data_info"] = data_info(bundle);
    meta["versions"] = version_info();
    write_file_atomic(config_path, meta.dump(2) + "\n");
    write_metrics(metrics_path, records);
  }

  data::LoaderOptions lo;
  lo.batch_size = config.batch_size;
  lo.drop_last = false;
  lo.crop_padding = config.augment ? config.crop_padding : 0;
  lo.hflip = config.augment;
  lo.workers = config.workers;
  lo.seed = config.seed;
  lo.mean = bundle.mean;
  lo.std = bundle.std;
  lo.pin_memory = device.is_cuda();
  data::BatchLoader train_loader(std::make_shared<data::TensorSource>(bundle.train),
                                 std::make_shared<data::RandomSampler>(bundle.train.size(), config.seed), lo);
  std::unique_ptr<data::BatchLoader> val_loader;
  if (bundle.val.size() > 0)
    val_loader = data::make_eval_loader(bundle.val, config.eval_batch_size, bundle.mean, bundle.std, config.workers);

  ScheduleOptions so{config.schedule, config.lr, config.warmup_epochs, config.milestones, config.gamma,
                     config.epochs, std::max<int64_t>(1, train_loader.num_batches())};
  const auto lopts = loss_options(config);
  TrainResult result;
  result.epochs_done = start_epoch;
  if (!records.empty()) result.last_record = records.back();
  if (start_epoch >= config.epochs) {
    note(fmt::format("{} already finished its {} epochs", run_dir.string(), config.epochs));
    return result;
  }
  using clock = std::chrono::steady_clock;
  const auto run_start = clock::now();
  int64_t images_seen_this_run = 0;
  for (int64_t epoch = start_epoch; epoch < config.epochs; ++epoch) {
    model->train();
    train_loader.start_epoch(epoch);
    const auto epoch_start = clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    const int64_t steps = train_loader.num_batches();
    data::Batch batch;
    double lr = 0;
    while (train_loader.next(batch)) {
      lr = learning_rate(so, epoch * steps + step);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      auto x = batch.images.to(device), y = batch.labels.to(device);
      auto logits = model->forward(x);
      auto loss = hooks.loss ? hooks.loss(logits, batch) : loss::label_smoothing_cross_entropy(logits, y, lopts);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw Error(fmt::format("training diverged: loss is {} at epoch {}, step {}", loss_value, epoch + 1,
                                step + 1),
                    "lower --lr, or add --clip-grad-norm 5");
      optimizer.zero_grad();
      loss.backward();
      if (config.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), config.clip_grad_norm);
      optimizer.step();
      const int64_t b = batch.labels.size(0);
      loss_sum += loss_value * double(b);
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += b;
      images_seen_this_run += b;
      ++step;
      if (hooks.on_progress) {
        Progress p;
        p.epoch = epoch + 1;
        p.epochs = config.epochs;
        p.step = step;
        p.steps = steps;
        p.loss = loss_sum / double(seen);
        p.accuracy = double(correct) / double(seen);
        const double elapsed = std::chrono::duration<double>(clock::now() - run_start).count();
        p.images_per_second = double(images_seen_this_run) / std::max(1e-9, elapsed);
        const double remaining =
            double((config.epochs - epoch - 1) * train_loader.num_examples() + (train_loader.num_examples() - seen));
        p.eta_seconds = remaining / std::max(1e-9, p.images_per_second);
        hooks.on_progress(p);
      }
    }
    const double train_seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    json record = {{"epoch", epoch + 1},
                   {"lr", lr},
                   {"train_loss", loss_sum / double(std::max<int64_t>(1, seen))},
                   {"train_accuracy", double(correct) / double(std::max<int64_t>(1, seen))},
                   {"images_per_second", double(seen) / std::max(1e-9, train_seconds)}};
    if (val_loader) {
      auto pred = eval::predict(*model, *val_loader, device);
      auto m = calib::compute_metrics(pred.logits, pred.labels, config.bins);
      record["val_loss"] = loss::label_smoothing_cross_entropy(pred.logits, pred.labels, lopts).item<double>();
      record["val_nll"] = m.nll;
      record["val_accuracy"] = m.accuracy;
      record["val_ece"] = m.ece;
    }
    record["loader"] = train_loader.stats();  // wait_fraction near 1: the loader, not the model, sets the pace
    if (const int64_t bad = data::write_bad_images(bundle, run_dir.string())) record["bad_images"] = bad;
    if (hooks.epoch_extras) hooks.epoch_extras(*model, epoch + 1, record);
    record["seconds"] = std::chrono::duration<double>(clock::now() - epoch_start).count();
    records.push_back(record);
    write_metrics(metrics_path, records);  // metrics first: a kill before the checkpoint redoes this epoch
    save_checkpoint(checkpoint_path, *model, &optimizer, epoch + 1);
    result.epochs_done = epoch + 1;
    result.last_record = record;
    if (hooks.on_epoch) hooks.on_epoch(record);
  }
  return result;
}

LoadedRun load_run(const fs::path& run_dir, const std::string& device_override) {
  const fs::path config_path = run_dir / "config.json";
  if (!fs::is_directory(run_dir))
    throw Error(fmt::format("{}: no such run folder", run_dir.string()), "create one with: smoothlab train --out DIR");
  if (!fs::exists(config_path))
    throw Error(fmt::format("{}: not a run folder (no config.json)", run_dir.string()),
                "create one with: smoothlab train --out DIR");
  LoadedRun run;
  run.dir = run_dir;
  try {
    run.meta = json::parse(read_file(config_path));
    run.config = run.meta.at("config").get<TrainConfig>();
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: unreadable run configuration ({})", config_path.string(), e.what()));
  }
  run.device = parse_device(device_override.empty() ? run.config.device : device_override);
  run.data = data::load_data(data_options(run.config));
  run.model = model::make_model(run.config.model,
                                {run.data.channels, run.data.height, run.data.width, run.data.num_classes});
  const fs::path checkpoint = run_dir / "checkpoint.pt";
  if (!fs::exists(checkpoint))
    throw Error(fmt::format("{}: run has no checkpoint yet", run_dir.string()),
                "finish at least one epoch: smoothlab train --resume --out " + run_dir.string());
  run.epochs_done = load_checkpoint(checkpoint, *run.model, nullptr);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

}  // namespace smoothlab::train
