// The mutual-information probes: MI logging hooks for the training loop and `smoothlab mi` (see mi_probe.h).
#include "smoothlab/represent/mi_probe.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::represent {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using EpochExtras = std::function<void(model::ClassifierImpl&, int64_t, train::EpochRecord&)>;

// Chains two epoch_extras functions (either may be empty).
EpochExtras chain_epoch_extras(EpochExtras first, EpochExtras second) {
  if (!first)
    return second;
  if (!second)
    return first;
  return [first, second](model::ClassifierImpl& model, int64_t epoch, train::EpochRecord& record) {
    first(model, epoch, record);
    second(model, epoch, record);
  };
}

// The views' settings of `smoothlab mi` (the classes and the batch size come from the run).
MiOptions run_view_options(const RunMiOptions& o) {
  return MiOptions().examples(o.examples).views(o.views).crop_padding(o.crop_padding).hflip(o.hflip).seed(o.seed);
}

} // namespace

void add_mi_logger(const train::TrainConfig& config, const data::DataBundle& bundle, train::TrainHooks& hooks) {
  if (config.probe.mi_classes.empty())
    return;
  const auto classes = data::parse_classes(config.probe.mi_classes, bundle.class_names, "--mi-classes");
  if (classes.size() != 2)
    throw Error(
        fmt::format("--mi-classes {}: name exactly two classes, got {}", config.probe.mi_classes, classes.size()),
        "e.g. --mi-classes Shirt,Pullover (Fashion-MNIST) or --mi-classes airplane,dog (CIFAR-10)");
  // The probe uses up to --mi-examples per class: a small data set (an image folder) may hold fewer; the number
  // used is recorded in the run's record (MiFacts).
  const auto labels = bundle.train.labels.to(torch::kCPU, torch::kInt64);
  const int64_t available =
      std::min(labels.eq(classes[0]).sum().item<int64_t>(), labels.eq(classes[1]).sum().item<int64_t>());
  auto options = MiOptions()
                     .class_a(classes[0])
                     .class_b(classes[1])
                     .examples(std::min(config.probe.mi_examples, std::max<int64_t>(available, 1)))
                     .views(config.probe.mi_views)
                     .crop_padding(config.data.crop_padding > 0 ? config.data.crop_padding : 4)
                     .hflip(true)
                     .seed(config.seed)
                     .batch_size(config.execution.eval_batch_size);
  auto probe = std::make_shared<MiProbe>(bundle.train, bundle.num_classes, bundle.mean, bundle.std, options);
  const torch::Device device = train::torch_device(config.execution.device);
  {
    auto name = [&](int64_t k) {
      return size_t(k) < bundle.class_names.size() ? bundle.class_names[size_t(k)] : std::to_string(k);
    };
    train::MiFacts facts;
    facts.classes = {classes[0], classes[1]};
    facts.class_names = {name(classes[0]), name(classes[1])};
    facts.examples_per_class = options.examples();
    facts.views = options.views();
    facts.crop_padding = options.crop_padding();
    facts.hflip = true;
    facts.seed = options.seed();
    facts.split = data::Split::Train;
    hooks.record.mi = facts;
  }
  hooks.epoch_extras = chain_epoch_extras(
      hooks.epoch_extras, [probe, device](model::ClassifierImpl& model, int64_t, train::EpochRecord& record) {
        const auto e = probe->measure(model, device);
        record.mi = e.mi;
        record.mi_raw = e.mi_raw;
        record.mi_sigma2 = e.sigma2;
      });
  if (config.probe.mi_every > 0) {
    hooks.step_extras_every = config.probe.mi_every;
    hooks.step_extras = [probe, device](model::ClassifierImpl& model, int64_t step, train::EpochRecord& record) {
      const auto e = probe->measure(model, device);
      record.mi_steps.push_back({step, e.mi, e.mi_raw, e.sigma2});
    };
  }
}

void RunMiOptions::validate() const {
  run_view_options(*this).validate();
}

json to_json(const RunMiResult& r) {
  json j = to_json(r.estimate);
  j["run"] = r.run.string();
  j["epochs_done"] = r.epochs_done;
  j["classes"] = r.classes;
  j["class_names"] = r.class_names;
  j["split"] = data::split_name(r.split);
  j["examples_per_class"] = r.examples_per_class;
  j["crop_padding"] = r.crop_padding;
  j["hflip"] = r.hflip;
  j["seed"] = r.seed;
  j["mean_gap"] = r.mean_gap;
  j["estimator"] =
      "gaussian mixture, y_x = each of the L views, mu_x = mean of the L views, sigma2 pooled within examples over "
      "N(L-1); mi clamped to [0, log N]";
  return j;
}

RunMiResult run_mutual_information(const fs::path& run_dir, const RunMiOptions& o) {
  o.validate();
  const train::RunDir out(o.out.empty() ? run_dir : o.out);
  if (fs::exists(out.path()) && !fs::is_directory(out.path()))
    throw Error(
        fmt::format("--out {}: exists and is not a folder", out.path().string()),
        "--out names the folder that gets mi.json (and mi_gaps.npy, mi_labels.npy)");
  auto run = train::load_run(run_dir, o.device);
  const auto classes = data::parse_classes(o.classes, run.data.class_names, "--classes");
  if (classes.size() != 2)
    throw Error(
        fmt::format("--classes {}: name exactly two classes, got {}", o.classes, classes.size()),
        "e.g. --classes Shirt,Pullover (Fashion-MNIST) or --classes airplane,dog (CIFAR-10)");
  const data::Dataset& dataset = run.data.split(o.split);
  auto options =
      run_view_options(o).class_a(classes[0]).class_b(classes[1]).batch_size(run.config.execution.eval_batch_size);
  MiProbe probe(dataset, run.data.num_classes, run.data.mean, run.data.std, options);
  auto gaps = probe.gaps(*run.model, run.device);
  auto name = [&](int64_t k) {
    return size_t(k) < run.data.class_names.size() ? run.data.class_names[size_t(k)] : std::to_string(k);
  };
  auto mu = gaps.mean(1);
  const int64_t n = o.examples;
  RunMiResult result;
  result.estimate = estimate_mutual_information(gaps);
  result.run = run_dir;
  result.epochs_done = run.epochs_done;
  result.classes = {classes[0], classes[1]};
  result.class_names = {name(classes[0]), name(classes[1])};
  result.split = o.split;
  result.examples_per_class = n;
  result.crop_padding = o.crop_padding;
  result.hflip = o.hflip;
  result.seed = o.seed;
  result.mean_gap = {mu.slice(0, 0, n).mean().item<double>(), mu.slice(0, n).mean().item<double>()};
  std::error_code ec;
  fs::create_directories(out.path(), ec);
  if (ec)
    throw Error(fmt::format("--out {}: cannot create the folder ({})", out.path().string(), ec.message()));
  if (o.write_gaps) {
    data::write_npy(out.mi_gaps_file(), gaps);
    data::write_npy(out.mi_labels_file(), dataset.labels.index_select(0, probe.positions()));
  }
  write_file_atomic(out.mi_file(), to_json(result).dump(2) + "\n");
  return result;
}

} // namespace smoothlab::represent
