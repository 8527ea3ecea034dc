// Distillation hooks for the training loop (see training.h).
#include "smoothlab/distill/training.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/calib/gamma.h"
#include "smoothlab/core/error.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/loss/label_smoothing.h"

namespace smoothlab::distill {

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

void DistillRunOptions::validate() const {
  check(!teacher.empty(), "--teacher is required (a run folder or a TorchScript file)");
  loss.validate();
}

DistillRunOptions student_of(
    const std::string& teacher,
    Form form,
    double temperature,
    std::optional<double> beta,
    const std::string& form_option) {
  DistillRunOptions o;
  o.teacher = teacher;
  o.form = form;
  switch (form) {
    case Form::Paper:
      o.loss = DistillationOptions::paper(temperature);
      if (beta)
        o.loss.beta(*beta);
      break;
    case Form::Hinton:
      o.loss = DistillationOptions::hinton(temperature, beta.value_or(0.5));
      break;
    case Form::Custom:
      throw Error(
          fmt::format("{} custom: a name runs' records may carry; a new student is paper or hinton", form_option),
          "paper: [M] §4, H(softmax(z_t/T), softmax(z_s)), β = 1; hinton: (1 − β)·CE + β·T²·KL at temperature T");
  }
  return o;
}

DistillRunOptions options_from(const train::DistillFacts& f) {
  DistillRunOptions o;
  o.teacher = f.teacher;
  o.form = parse_form(f.form);
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
      {"form", form_name(o.form)},
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
  options.validate();
  auto loss_options = options.loss;
  // The hard term's ε and implementation are the run's (TrainConfig::validate checked them).
  loss_options.smoothing(config.smoothing).implementation(config.loss_impl);
  const torch::Device device = train::torch_device(config.execution.device);

  auto state = std::make_shared<DistillState>(
      DistillState{Teacher::load(options.teacher, config.execution.device), loss_options, {}, 0});
  state->teacher.set_student_normalisation(bundle.mean, bundle.std);
  state->teacher.check_compatible({bundle.channels, bundle.height, bundle.width, bundle.num_classes});

  // One pass over the un-augmented training split: γ, the teacher's accuracy, and the cache when it applies.
  auto logits = state->teacher.dataset_logits(bundle.train, config.execution.eval_batch_size, config.execution.workers);
  const double T = loss_options.temperature();
  state->gamma = calib::equivalent_smoothing(logits, bundle.train.labels, T);
  const double gamma_t1 = calib::equivalent_smoothing(logits, bundle.train.labels, 1.0);
  const double teacher_accuracy = logits.argmax(1).eq(bundle.train.labels).to(torch::kFloat64).mean().item<double>();
  check_teacher_accuracy(state->teacher, teacher_accuracy, bundle.train.labels, bundle.num_classes);
  const bool cached = options.cache_teacher && !config.data.augment;
  if (cached)
    state->cache = logits.to(device);

  train::DistillFacts facts;
  facts.teacher = options.teacher;
  facts.teacher_kind = teacher_kind_name(state->teacher.kind());
  facts.form = form_name(options.form);
  facts.temperature = T;
  facts.beta = loss_options.beta();
  facts.soften_student = loss_options.soften_student();
  facts.t_squared = loss_options.t_squared();
  facts.soft_term = soft_term_name(loss_options.soft_term());
  facts.hard_smoothing = loss_options.smoothing();
  facts.hard_loss_impl = loss_options.implementation();
  facts.teacher_gamma = state->gamma;
  facts.teacher_gamma_t1 = gamma_t1;
  facts.teacher_gamma_split = data::Split::Train;
  facts.teacher_train_accuracy = teacher_accuracy;
  facts.teacher_cached = cached;
  if (state->teacher.kind() == Teacher::Kind::Run) {
    const auto teacher_config = train::RunDir(options.teacher).read_config().config;
    facts.teacher_run = train::TeacherRunFacts{
        teacher_config.model, teacher_config.smoothing, teacher_config.optimiser.epochs, teacher_config.seed};
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

} // namespace smoothlab::distill
