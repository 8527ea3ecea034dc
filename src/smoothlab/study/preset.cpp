// The study presets (tiny, quick, standard, paper), the class choices per data set and the expansion into runs.
#include "smoothlab/study/preset.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"

namespace smoothlab::study {

using json = nlohmann::json;

namespace {

// Seconds per epoch over 55 000 Fashion-MNIST-sized images on 2 idle CPU cores, measured inside `smoothlab study
// --preset standard` (2026-12-02, AMD EPYC with AVX-512 BF16, nothing else running): resnet20 ~65 s with the MI probe
// every 100 steps, cnn ~14 s (~12 s as a student on cached teacher logits, ~16 s on 4 000 images), mlp ~1 s (quick
// preset); the others scaled from these by their multiply-adds.
double epoch_seconds_55k(const std::string& model) {
  if (model == "mlp")
    return 1.2;
  if (model == "cnn")
    return 14;
  if (model == "alexnet")
    return 25;
  if (model == "resnet20")
    return 65;
  if (model == "resnet32")
    return 80;
  if (model == "resnet56")
    return 135;
  if (model == "resnet110")
    return 270;
  return 35;
}

// Training-set size of the preset's data sets (CIFAR 50 000, Fashion-MNIST/MNIST 60 000).
double all_train_images(const train::TrainConfig& c) {
  return c.data.source.rfind("cifar", 0) == 0 ? 50000.0 : 60000.0;
}

// Examples held out for validation: --val-size, or its default for the data (data::default_val_size).
double val_images(const train::TrainConfig& c) {
  return double(
      c.data.val_size >= 0 ? c.data.val_size : data::default_val_size(c.data.source, int64_t(all_train_images(c))));
}

double train_images(const train::TrainConfig& c) {
  const double full = all_train_images(c) - val_images(c);
  const double kept = c.data.limit_train > 0 ? std::min<double>(double(c.data.limit_train), full) : full;
  return c.data.classes.empty() ? kept : kept / 2; // the transfer regime trains on half the classes
}

double data_factor(const train::TrainConfig& c) {
  return c.data.source.rfind("cifar", 0) == 0 ? 1.3 : 1.0;
}

// Training cost of a run (plus evaluation of validation and test, ~1/10 of an epoch each way).
double run_cost(const train::TrainConfig& c, const std::string& teacher_model = "") {
  const double per_image = epoch_seconds_55k(c.model) / 55000.0 * data_factor(c);
  double teacher = 0; // the teacher's forward passes: every epoch, or once when its logits are cached (no augmentation)
  if (!teacher_model.empty())
    teacher = epoch_seconds_55k(teacher_model) / 55000.0 / 3.0 * data_factor(c) * train_images(c) *
        (c.data.augment ? double(c.optimiser.epochs) : 1.0);
  const double epochs = double(c.optimiser.epochs);
  const double eval = (val_images(c) + 10000.0) * epoch_seconds_55k(c.model) / 55000.0 / 3.0;
  return per_image * train_images(c) * epochs + teacher + eval + 2.0; // + data loading
}

std::string fmt_num(double v) {
  return fmt::format("{:g}", v);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

// Points a run at the study's data. Image folders hold photos of any size; the presets' models and schedules are sized
// for 28–32 px images (the 224 px default of `smoothlab train` would make the quick preset take hours and its mlp
// diverge), so a study trains on 32×32 views: resize + padded crop + flip, like CIFAR.
void set_data(train::TrainConfig& c, const std::string& data) {
  c.data.source = data;
  if (data.rfind("folder:", 0) != 0)
    return;
  c.data.image_size = 32;
  c.data.folder_augment = data::TransformKind::PadCrop;
}

train::TrainConfig base(const std::string& model, int64_t epochs, int64_t limit_train) {
  train::TrainConfig c;
  c.model = model;
  c.optimiser.lr = model::default_lr(model);
  c.data.crop_padding = model::default_crop_padding(model);
  c.optimiser.epochs = epochs;
  c.data.limit_train = limit_train;
  return c;
}

// A pipeline check for the test suite: mlp, one epoch on a few hundred examples.
void fill_tiny_preset(StudyPreset& p) {
  p.description = "pipeline check for the test suite: a few hundred examples, one epoch, mlp (seconds)";
  p.teacher = base("mlp", 1, 600);
  p.teacher.data.val_size = 200;
  p.teacher.data.limit_test = 300;
  p.teacher.optimiser.batch_size = 64;
  p.teacher.optimiser.lr = model::default_lr("mlp", 64);
  p.teacher.execution.eval_batch_size = 300;
  p.teacher.execution.workers = 1;
  p.teacher.probe.mi_examples = 20;
  p.teacher.probe.mi_views = 2;
  p.teacher.probe.mi_every = 4;
  p.teacher_regime = "tiny: mlp, 1 epoch on 600 examples (a pipeline check; its numbers mean nothing)";
  p.epsilons = {0.0, 0.1};
  p.seeds = {0};
  p.overconf = p.teacher;
  p.overconf.optimiser.epochs = 2;
  p.overconf.data.augment = false;
  p.overconf.optimiser.weight_decay = 0;
  p.overconf.probe.mi_classes.clear();
  p.overconf_regime = "tiny: mlp, 2 epochs, no augmentation, no weight decay";
  p.overconf_epsilons = {0.0, 0.1};
  p.student = p.teacher;
  p.student.probe.mi_classes.clear();
  p.student.probe.mi_every = 0;
  p.temperatures = {1.0, 2.0};
  p.student_epsilons = {0.0, 0.1};
  p.projection_per_class = 20;
  p.transfer = p.teacher;
  p.transfer.probe.mi_classes.clear();
  p.transfer.probe.mi_every = 0;
  p.transfer_regime = "tiny: mlp, 1 epoch on the first half of the classes";
  p.noisy = p.overconf;
  p.noisy_regime = "tiny: mlp, 2 epochs, 40% of the training labels wrong";
  p.noise_epsilons = {0.0, 0.1};
}

// A first look in about 3 minutes: small cnn teachers, mlp for everything else, one seed.
void fill_quick_preset(StudyPreset& p) {
  p.description =
      "a first look in about 3 minutes on 2 CPU cores: small cnn teachers (3 epochs on 15k images), "
      "an over-confident mlp regime on a fine ε grid, mlp students trained to a plateau, mlp transfer and "
      "label-noise regimes, one seed";
  p.teacher = base("cnn", 3, 15000);
  p.teacher.probe.mi_every = 30; // 118 steps an epoch: Î at 12 points within the run, and at each epoch's end
  p.teacher_regime =
      "short schedule: cnn, 3 epochs on 15 000 training images, cosine lr 0.1, weight decay 5e-4, "
      "crop + flip (too short a schedule to make the model over-confident)";
  p.epsilons = {0.0, 0.1};
  p.seeds = {0};
  p.overconf = base("mlp", 15, 15000);
  p.overconf.data.augment = false;
  p.overconf.optimiser.weight_decay = 1e-4;
  p.overconf.optimiser.lr = 0.05;
  p.overconf_regime = "over-confident regime: mlp, 15 epochs on 15 000 images, no augmentation, weight decay 1e-4";
  p.overconf_epsilons = {0.0, 0.01, 0.02, 0.05, 0.1}; // from 0.05 on already under-confident
  // Students see un-augmented images, so the teacher's logits are computed once (distill/training.h): cheap
  // enough to train to a plateau.
  p.student = base("mlp", 8, 20000);
  p.student.data.augment = false;
  p.temperatures = {1.0, 2.0, 4.0};
  p.student_epsilons = {0.0, 0.1};
  p.projection_per_class = 100;
  p.transfer = base("mlp", 8, 20000);
  p.transfer.data.augment = false;
  p.transfer_regime = "transfer: mlp, 8 epochs on the first half of the classes (about 10 000 images), no augmentation";
  p.noisy = base("mlp", 12, 10000);
  p.noisy.data.augment = false;
  p.noisy.optimiser.weight_decay = 1e-4;
  p.noisy.optimiser.lr = 0.05;
  p.noisy_regime =
      "label noise: mlp, 12 epochs on 10 000 images with 40% of the training and validation labels wrong, "
      "no augmentation, weight decay 1e-4";
  p.noise_epsilons = {0.0, 0.1, 0.3};
}

// About an hour: resnet20 teachers, cnn students and regimes, 3 seeds.
// Measured 2026-12-04: 64 min wall time for the 84 runs and the analysis (62 min of it training), while a build
// and short profiling runs shared the cores for about 25 of those minutes (docs/performance.md). Subsets are
// stratified, so every class keeps its share.
void fill_standard_preset(StudyPreset& p) {
  p.description =
      "about an hour on 2 CPU cores: resnet20 teachers (6 epochs on 20 000 images), cnn students trained to a "
      "plateau, ε ∈ {0, 0.05, 0.1, 0.3}, T ∈ {1, 2, 4, 8}, a fine over-confident ε grid, cnn transfer and "
      "label-noise regimes, 3 seeds";
  p.teacher = base("resnet20", 6, 20000);
  p.teacher.probe.mi_every = 100; // 157 steps an epoch: Î at 10 points within the run, and at each epoch's end
  p.teacher_regime =
      "short schedule: resnet20, 6 epochs on 20 000 training images, cosine lr 0.1, weight decay "
      "5e-4, crop + flip (too short a schedule to make the model over-confident)";
  p.epsilons = {0.0, 0.05, 0.1, 0.3};
  p.seeds = {0, 1, 2};
  p.overconf = base("cnn", 12, 4000);
  p.overconf.data.augment = false;
  p.overconf.optimiser.weight_decay = 1e-4;
  p.overconf_regime = "over-confident regime: cnn, 12 epochs on 4 000 images, no augmentation, weight decay 1e-4";
  p.overconf_epsilons = {0.0, 0.01, 0.02, 0.05, 0.1, 0.2};
  p.student = base("cnn", 8, 15000);
  p.student.data.augment = false; // the teachers' logits are cached
  p.temperatures = {1.0, 2.0, 4.0, 8.0};
  p.student_epsilons = p.epsilons;
  p.transfer = base("cnn", 6, 20000);
  p.transfer_regime = "transfer: cnn, 6 epochs on the first half of the classes (about 10 000 images), crop + flip";
  p.noisy = base("cnn", 12, 8000);
  p.noisy.data.augment = false;
  p.noisy.optimiser.weight_decay = 1e-4;
  p.noisy_regime =
      "label noise: cnn, 12 epochs on 8 000 images with 40% of the training and validation labels "
      "wrong, no augmentation, weight decay 1e-4";
  p.noise_epsilons = {0.0, 0.05, 0.1, 0.2, 0.4};
}

// [M]'s models and schedules (ResNet-56 teachers, AlexNet students), for CIFAR and a GPU; no newer regimes.
void fill_paper_preset(StudyPreset& p) {
  p.description =
      "[M]'s models and schedules: ResNet-56 teachers (He et al. CIFAR schedule, 164 epochs), the "
      "CIFAR AlexNet student, [M]'s ε and T grids, 5 seeds — for CIFAR data and a GPU";
  p.teacher = base("resnet56", 164, 0);
  p.teacher.optimiser.weight_decay = 1e-4;
  p.teacher.optimiser.schedule = train::ScheduleKind::Step;
  p.teacher.optimiser.milestones = {82, 123};
  p.teacher.probe.mi_every = 500; // 391 steps an epoch on CIFAR: Î from step 0, about every 1.3 epochs ([M] Fig. 6)
  p.teacher_regime =
      "long schedule ([M]/He et al.): resnet56, 164 epochs, lr 0.1 stepped ×0.1 at 82 and 123, "
      "weight decay 1e-4, crop + flip — the over-confident regime of [G]";
  p.epsilons = {0.0, 0.05, 0.1, 0.15, 0.3, 0.45, 0.6, 0.75};
  p.seeds = {0, 1, 2, 3, 4};
  p.overconf.optimiser.epochs = 0; // the teachers are the over-confident regime
  p.student = base("alexnet", 100, 0);
  p.student.optimiser.weight_decay = 5e-4;
  p.student.optimiser.schedule = train::ScheduleKind::Step;
  p.student.optimiser.milestones = {50, 75};
  p.student.optimiser.lr = 0.05;
  p.temperatures = {1.0, 2.0, 3.0, 4.0, 8.0, 12.0, 16.0};
  p.student_epsilons = {0.0, 0.15, 0.3, 0.45, 0.6, 0.75};
  p.transfer.optimiser.epochs = 0; // [M]'s experiments only: the newer questions are the quick and standard presets'
  p.noisy.optimiser.epochs = 0;
}

// Adds a run of `group`: configuration c on the study's data at smoothing eps and seed.
void add_run(
    std::vector<RunSpec>& plan,
    const std::string& data,
    const std::string& group,
    train::TrainConfig c,
    double eps,
    uint64_t seed) {
  set_data(c, data);
  c.smoothing = eps;
  c.seed = seed;
  RunSpec r;
  r.group = group;
  r.config = c;
  r.epsilon = eps;
  r.seed = seed;
  r.name = fmt::format("{}_{}_eps{}_seed{}_{}", group, c.model, fmt_num(eps), seed, config_key(c));
  r.cost_seconds = run_cost(c);
  plan.push_back(r);
}

// The teacher of the plan trained at smoothing eps with this seed (a copy: the plan grows while it is used).
RunSpec teacher_of(const std::vector<RunSpec>& plan, const StudyPreset& preset, uint64_t seed, double eps) {
  for (const auto& r : plan)
    if (r.group == "teacher" && r.seed == seed && r.epsilon == eps)
      return r;
  throw Error(fmt::format("preset {}: no teacher with ε = {} for seed {}", preset.name, eps, seed));
}

// Adds a student distilled from `teacher` at `temperature`, named after its teacher and temperature.
void add_student(
    std::vector<RunSpec>& plan,
    const StudyPreset& preset,
    const std::string& data,
    uint64_t seed,
    const RunSpec& teacher,
    double temperature) {
  auto c = preset.student;
  set_data(c, data);
  c.smoothing = 0;
  c.seed = seed;
  RunSpec r;
  r.group = "student";
  r.config = c;
  r.seed = seed;
  r.teacher = teacher.name;
  r.teacher_epsilon = teacher.epsilon;
  r.temperature = temperature;
  const std::string key =
      fmt::format("{:08x}", fnv1a(config_key(c) + "|" + teacher.name + "|" + fmt_num(temperature)) & 0xffffffffull);
  r.name = fmt::format(
      "student_{}_from-eps{}_T{}_seed{}_{}", c.model, fmt_num(teacher.epsilon), fmt_num(temperature), seed, key);
  r.cost_seconds = run_cost(c, teacher.config.model);
  plan.push_back(r);
}

// One seed's students: of the hard-target teacher at each temperature, and of each smoothed teacher at T = 1.
void add_students(std::vector<RunSpec>& plan, const StudyPreset& preset, const std::string& data, uint64_t seed) {
  const auto hard = teacher_of(plan, preset, seed, 0.0);
  for (double t : preset.temperatures)
    add_student(plan, preset, data, seed, hard, t);
  for (double eps : preset.epsilons)
    if (eps > 0)
      add_student(plan, preset, data, seed, teacher_of(plan, preset, seed, eps), 1.0);
}

} // namespace

std::vector<std::string> known_presets() {
  return {"tiny", "quick", "standard", "paper"};
}

StudyPreset make_preset(const std::string& name) {
  StudyPreset p;
  p.name = name;
  if (name == "tiny")
    fill_tiny_preset(p);
  else if (name == "quick")
    fill_quick_preset(p);
  else if (name == "standard")
    fill_standard_preset(p);
  else if (name == "paper")
    fill_paper_preset(p);
  else
    throw Error(fmt::format("--preset: unknown preset '{}'", name), "known: " + join(known_presets()));
  return p;
}

ClassChoice choose_classes(const std::string& data) {
  const std::string half10 = "0,1,2,3,4";
  if (data == "fashion-mnist" || data.rfind("fashion-mnist:", 0) == 0)
    return {"Trouser,Bag,Sneaker", "T-shirt/top,Shirt,Pullover", "T-shirt/top,Trouser", half10};
  if (data.rfind("cifar10:", 0) == 0) // airplane, automobile, bird | cat, deer, dog; [M] Fig. 6: airplane, dog
    return {"0,1,2", "3,4,5", "0,5", half10};
  if (data.rfind("cifar100:", 0) == 0) { // apple, bicycle, cloud | beaver, dolphin, otter ([M] Fig. 1)
    std::string half100;
    for (int k = 0; k < 50; ++k)
      half100 += (k ? "," : "") + std::to_string(k);
    return {"0,8,23", "4,30,55", "0,1", half100};
  }
  if (data.rfind("mnist:", 0) == 0)
    return {"0,1,2", "3,4,5", "0,1", half10};
  return {"0,1,2", "3,4,5", "0,1", ""};
}

std::string config_key(const train::TrainConfig& config) {
  json j = train::result_settings(config); // the settings that decide a run's result (train/config.h), less
  j.erase("eval_batch_size"); // the evaluation's batching, fixed by each preset
  // the key of an fp32 run is what it was before --precision existed
  if (config.execution.precision == model::Precision::Fp32)
    j.erase("precision");
  if (!config.execution.sync_bn) // likewise for distributed training's --sync-bn
    j.erase("sync_bn");
  if (config.probe.mi_every == 0) // and for --mi-every
    j.erase("mi_every");
  return fmt::format("{:08x}", fnv1a(j.dump()) & 0xffffffffull);
}

std::vector<RunSpec> make_plan(const StudyPreset& preset, const std::string& data) {
  check(
      std::find(preset.epsilons.begin(), preset.epsilons.end(), 0.0) != preset.epsilons.end(),
      "preset {}: the teacher ε grid must contain 0",
      preset.name);
  const auto classes = choose_classes(data);
  std::vector<RunSpec> plan;
  for (uint64_t seed : preset.seeds)
    for (double eps : preset.epsilons) {
      auto c = preset.teacher;
      c.probe.mi_classes = classes.mi_pair;
      add_run(plan, data, "teacher", c, eps, seed);
    }
  if (preset.overconf.optimiser.epochs > 0)
    for (uint64_t seed : preset.seeds)
      for (double eps : preset.overconf_epsilons)
        add_run(plan, data, "overconf", preset.overconf, eps, seed);
  if (preset.student.optimiser.epochs > 0) {
    for (uint64_t seed : preset.seeds)
      add_students(plan, preset, data, seed);
    for (uint64_t seed : preset.seeds)
      for (double eps : preset.student_epsilons)
        add_run(plan, data, "direct", preset.student, eps, seed);
  }
  if (preset.transfer.optimiser.epochs > 0 && !classes.seen.empty())
    for (uint64_t seed : preset.seeds)
      for (double eps : {0.0, preset.claim_epsilon}) {
        auto c = preset.transfer;
        c.data.classes = classes.seen;
        add_run(plan, data, "transfer", c, eps, seed);
      }
  if (preset.noisy.optimiser.epochs > 0)
    for (uint64_t seed : preset.seeds)
      for (double eps : preset.noise_epsilons) {
        auto c = preset.noisy;
        c.data.label_noise = preset.label_noise;
        add_run(plan, data, "noisy", c, eps, seed);
      }
  return plan;
}

double analysis_seconds(const StudyPreset& preset, const std::vector<RunSpec>& plan) {
  double seconds = 10;
  for (const auto& r : plan) {
    if (r.epsilon == 0 && (r.group == "teacher" || r.group == "overconf"))
      seconds += 8 * val_images(r.config) / 5000.0;
    if (r.group == "transfer" && r.epsilon == 0 && r.seed == preset.seeds.front())
      seconds += 8;
  }
  return seconds;
}

json to_json(const StudyPreset& p) {
  json j = {
      {"name", p.name},
      {"description", p.description},
      {"teacher_regime", p.teacher_regime},
      {"overconf_regime", p.overconf_regime},
      {"teacher", p.teacher},
      {"epsilons", p.epsilons},
      {"seeds", p.seeds},
      {"claim_epsilon", p.claim_epsilon},
      {"overconf_epsilons", p.overconf_epsilons},
      {"temperatures", p.temperatures},
      {"student_epsilons", p.student_epsilons},
      {"projection_per_class", p.projection_per_class},
      {"transfer_regime", p.transfer_regime},
      {"noisy_regime", p.noisy_regime},
      {"label_noise", p.label_noise},
      {"noise_epsilons", p.noise_epsilons},
      {"estimated_minutes", p.estimated_minutes}};
  if (p.overconf.optimiser.epochs > 0)
    j["overconf"] = p.overconf;
  if (p.student.optimiser.epochs > 0)
    j["student"] = p.student;
  if (p.transfer.optimiser.epochs > 0)
    j["transfer"] = p.transfer;
  if (p.noisy.optimiser.epochs > 0)
    j["noisy"] = p.noisy;
  return j;
}

json to_json(const RunSpec& r) {
  json j = {
      {"group", r.group},
      {"name", r.name},
      {"epsilon", r.epsilon},
      {"seed", r.seed},
      {"model", r.config.model},
      {"epochs", r.config.optimiser.epochs},
      {"cost_seconds", r.cost_seconds}};
  if (r.group == "student") {
    j["teacher"] = r.teacher;
    j["teacher_epsilon"] = r.teacher_epsilon;
    j["temperature"] = r.temperature;
  }
  return j;
}

} // namespace smoothlab::study
