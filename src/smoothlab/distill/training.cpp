// Distillation and MI-logging hooks for the training loop (see training.h).
#include "smoothlab/distill/training.h"

#include <algorithm>
#include <filesystem>

#include <torch/torch.h>

#include "smoothlab/calib/gamma.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/loss/label_smoothing.h"

namespace smoothlab::distill {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct DistillState {
  Teacher teacher;
  DistillationOptions loss;
  torch::Tensor cache; // float32 [N_train, K] or undefined
  double gamma = 0;
};

// The last epoch's validation accuracy a run folder recorded, or -1 when there is none.
double recorded_val_accuracy(const train::RunDir& dir) {
  double last = -1;
  for (const auto& record : dir.read_metrics())
    if (record.val_accuracy)
      last = *record.val_accuracy;
  return last;
}

// Refuses a teacher that does not know the student's data: near a constant guess (the largest class's share, + 5
// points), or far below what its own run recorded (half its validation accuracy). Both mean the teacher sees other
// inputs than it was trained on: another data set, or (TorchScript) another input convention.
void check_teacher_accuracy(const Teacher& teacher, double accuracy, const torch::Tensor& labels, int64_t classes) {
  const auto counts = torch::bincount(labels.to(torch::kCPU, torch::kInt64), {}, classes);
  const double constant_guess = counts.max().item<double>() / double(std::max<int64_t>(labels.numel(), 1));
  const char* hint =
      "a TorchScript teacher takes pixels in [0, 1], [N, C, H, W], and normalises them itself (README, "
      "\"TorchScript models\"); a run-folder teacher must be trained on the student's data (the same --data)";
  if (accuracy < constant_guess + 0.05)
    throw Error(
        fmt::format(
            "--teacher {}: it classifies {:.1f}% of the student's training images correctly, about "
            "chance (a constant guess scores {:.1f}%)",
            teacher.source(),
            100 * accuracy,
            100 * constant_guess),
        hint);
  if (teacher.kind() == Teacher::Kind::Run) {
    const double recorded = recorded_val_accuracy(train::RunDir(teacher.source()));
    if (recorded > 0 && accuracy < 0.5 * recorded)
      throw Error(
          fmt::format(
              "--teacher {}: it classifies {:.1f}% of the student's training images correctly, far "
              "below the {:.1f}% validation accuracy its run recorded",
              teacher.source(),
              100 * accuracy,
              100 * recorded),
          hint);
  }
}

} // namespace

DistillRunOptions options_from(const train::DistillFacts& f) {
  DistillRunOptions o;
  o.teacher = f.teacher;
  o.form = f.form;
  o.loss = DistillationOptions()
               .temperature(f.temperature)
               .beta(f.beta)
               .soften_student(f.soften_student)
               .t_squared(f.t_squared)
               .soft_term(parse_soft_term(f.soft_term))
               .smoothing(f.hard_smoothing)
               .implementation(f.hard_loss_impl);
  o.cache_teacher = f.teacher_cached;
  return o;
}

nlohmann::json result_settings(const DistillRunOptions& o) {
  return {
      {"teacher", o.teacher},
      {"form", o.form},
      {"temperature", o.loss.temperature()},
      {"beta", o.loss.beta()},
      {"soften_student", o.loss.soften_student()},
      {"t_squared", o.loss.t_squared()},
      {"soft_term", soft_term_name(o.loss.soft_term())}};
}

DistillSetup make_distillation(
    const DistillRunOptions& options,
    const train::TrainConfig& config,
    const data::DataBundle& bundle) {
  check(!options.teacher.empty(), "--teacher is required (a run folder or a TorchScript file)");
  auto loss_options = options.loss;
  loss_options.smoothing(config.smoothing).implementation(config.loss_impl);
  loss_options.validate();
  const torch::Device device = train::torch_device(config.device);

  auto state =
      std::make_shared<DistillState>(DistillState{Teacher::load(options.teacher, config.device), loss_options, {}, 0});
  state->teacher.set_student_normalisation(bundle.mean, bundle.std);
  state->teacher.check_compatible({bundle.channels, bundle.height, bundle.width, bundle.num_classes});

  // One pass over the un-augmented training split: γ, the teacher's accuracy, and the cache when it applies.
  auto logits = state->teacher.dataset_logits(bundle.train, config.eval_batch_size, config.workers);
  const double T = loss_options.temperature();
  state->gamma = calib::equivalent_smoothing(logits, bundle.train.labels, T);
  const double gamma_t1 = calib::equivalent_smoothing(logits, bundle.train.labels, 1.0);
  const double teacher_accuracy = logits.argmax(1).eq(bundle.train.labels).to(torch::kFloat64).mean().item<double>();
  check_teacher_accuracy(state->teacher, teacher_accuracy, bundle.train.labels, bundle.num_classes);
  const bool cached = options.cache_teacher && !config.augment;
  if (cached)
    state->cache = logits.to(device);

  train::DistillFacts facts;
  facts.teacher = options.teacher;
  facts.teacher_kind = teacher_kind_name(state->teacher.kind());
  facts.form = options.form;
  facts.temperature = T;
  facts.beta = loss_options.beta();
  facts.soften_student = loss_options.soften_student();
  facts.t_squared = loss_options.t_squared();
  facts.soft_term = soft_term_name(loss_options.soft_term());
  facts.hard_smoothing = loss_options.smoothing();
  facts.hard_loss_impl = loss_options.implementation();
  facts.teacher_gamma = state->gamma;
  facts.teacher_gamma_t1 = gamma_t1;
  facts.teacher_gamma_split = "train";
  facts.teacher_train_accuracy = teacher_accuracy;
  facts.teacher_cached = cached;
  if (state->teacher.kind() == Teacher::Kind::Run) {
    const auto teacher_config = train::RunDir(options.teacher).read_config().config;
    facts.teacher_run = train::TeacherRunFacts{
        teacher_config.model, teacher_config.smoothing, teacher_config.epochs, teacher_config.seed};
  }

  DistillSetup setup{state->teacher, {}, facts};
  setup.hooks.record.distill = facts;
  setup.hooks.loss = [state](const torch::Tensor& student, const data::Batch& batch) {
    torch::Tensor teacher_logits = state->cache.defined()
        ? state->cache.index_select(0, batch.indices.to(state->cache.device()))
        : state->teacher.logits(batch.images.to(student.device()));
    // Called inside the trainer's autocast region: the teacher's forward runs at the run's precision too, and both
    // sets of logits enter the loss in float32 (the soft targets are not rounded to 16 bits).
    return distillation_loss(
        student.to(torch::kFloat), teacher_logits.to(torch::kFloat), batch.labels.to(student.device()), state->loss);
  };
  setup.hooks.epoch_extras = [state](model::ClassifierImpl&, int64_t, train::EpochRecord& record) {
    record.teacher_gamma = state->gamma;
  };
  return setup;
}

void add_mi_logger(const train::TrainConfig& config, const data::DataBundle& bundle, train::TrainHooks& hooks) {
  if (config.mi_classes.empty())
    return;
  const auto classes = data::parse_classes(config.mi_classes, bundle.class_names, "--mi-classes");
  if (classes.size() != 2)
    throw Error(
        fmt::format("--mi-classes {}: name exactly two classes, got {}", config.mi_classes, classes.size()),
        "e.g. --mi-classes Shirt,Pullover (Fashion-MNIST) or --mi-classes airplane,dog (CIFAR-10)");
  // The probe uses up to --mi-examples per class: a small data set (an image folder) may hold fewer; the number
  // used is recorded in the run's record (MiFacts).
  const auto labels = bundle.train.labels.to(torch::kCPU, torch::kInt64);
  const int64_t available =
      std::min(labels.eq(classes[0]).sum().item<int64_t>(), labels.eq(classes[1]).sum().item<int64_t>());
  auto options = MiOptions()
                     .class_a(classes[0])
                     .class_b(classes[1])
                     .examples(std::min(config.mi_examples, std::max<int64_t>(available, 1)))
                     .views(config.mi_views)
                     .crop_padding(config.crop_padding > 0 ? config.crop_padding : 4)
                     .hflip(true)
                     .seed(config.seed)
                     .batch_size(config.eval_batch_size);
  auto probe = std::make_shared<MiProbe>(bundle.train, bundle.num_classes, bundle.mean, bundle.std, options);
  const torch::Device device = train::torch_device(config.device);
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
    facts.split = "train";
    hooks.record.mi = facts;
  }
  hooks.epoch_extras =
      chain(hooks.epoch_extras, [probe, device](model::ClassifierImpl& model, int64_t, train::EpochRecord& record) {
        const auto e = probe->measure(model, device);
        record.mi = e.mi;
        record.mi_raw = e.mi_raw;
        record.mi_sigma2 = e.sigma2;
      });
  if (config.mi_every > 0) {
    hooks.step_extras_every = config.mi_every;
    hooks.step_extras = [probe, device](model::ClassifierImpl& model, int64_t step, train::EpochRecord& record) {
      const auto e = probe->measure(model, device);
      record.mi_steps.push_back({step, e.mi, e.mi_raw, e.sigma2});
    };
  }
}

void RunMiOptions::validate() const {
  check(
      split == "train" || split == "val" || split == "test",
      "--split: unknown split '{}' (known: train, val, test)",
      split);
  check(crop_padding >= 0, "--crop-padding must be non-negative, got {}", crop_padding);
}

json to_json(const RunMiResult& r) {
  json j = to_json(r.estimate);
  j["run"] = r.run.string();
  j["epochs_done"] = r.epochs_done;
  j["classes"] = r.classes;
  j["class_names"] = r.class_names;
  j["split"] = r.split;
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
  const data::Dataset& dataset = o.split == "train" ? run.data.train : o.split == "val" ? run.data.val : run.data.test;
  auto options = MiOptions()
                     .class_a(classes[0])
                     .class_b(classes[1])
                     .examples(o.examples)
                     .views(o.views)
                     .crop_padding(o.crop_padding)
                     .hflip(o.hflip)
                     .seed(o.seed)
                     .batch_size(run.config.eval_batch_size);
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

EpochExtras chain(EpochExtras first, EpochExtras second) {
  if (!first)
    return second;
  if (!second)
    return first;
  return [first, second](model::ClassifierImpl& model, int64_t epoch, train::EpochRecord& record) {
    first(model, epoch, record);
    second(model, epoch, record);
  };
}

} // namespace smoothlab::distill
