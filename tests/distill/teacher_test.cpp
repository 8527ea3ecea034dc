// Teachers: TorchScript and run-folder loading, freezing (eval mode, no gradients), normalisation mapping, the
// distillation hooks (cache = live teacher, γ recorded) and the errors a user can cause.
#include <fstream>

#include <torch/script.h>
#include <torch/torch.h>

#include "smoothlab/calib/gamma.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/distill/teacher.h"
#include "smoothlab/distill/training.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using distill::Teacher;

// A TorchScript linear teacher written from C++ (what torch.jit.save produces in PyTorch): logits = flatten(x)·W + b.
void save_linear_script(const fs::path& path, const torch::Tensor& w, const torch::Tensor& b) {
  torch::jit::Module m("LinearTeacher");
  m.register_parameter("w", w, false);
  m.register_parameter("b", b, false);
  m.define(R"JIT(
def forward(self, x):
    return torch.flatten(x, 1).mm(self.w) + self.b
)JIT");
  m.train(); // saved in training mode: loading must still give an eval-mode, frozen teacher
  m.save(path.string());
}

TEST(DistillTeacher, TorchScriptTeacherIsFrozenAndComputesItsLogits) {
  TempDir dir;
  torch::manual_seed(1);
  auto w = torch::randn({64, 3}), b = torch::randn({3});
  save_linear_script(dir / "teacher.pt", w, b);
  auto teacher = Teacher::load(dir / "teacher.pt");
  EXPECT_EQ(teacher.kind(), Teacher::Kind::TorchScript);
  EXPECT_FALSE(teacher.is_training());
  ASSERT_EQ(teacher.parameters().size(), 2u);
  for (const auto& p : teacher.parameters())
    EXPECT_FALSE(p.requires_grad());
  auto x = torch::randn({5, 1, 8, 8});
  EXPECT_TENSOR_NEAR(teacher.logits(x), x.flatten(1).mm(w) + b, 1e-5, 1e-5);
  EXPECT_FALSE(teacher.logits(x.requires_grad_(true)).requires_grad());
  EXPECT_EQ(teacher.check_compatible({1, 8, 8, 3}), 3);
  EXPECT_TRUE(error_mentions(
      [&] {
        teacher.check_compatible({1, 8, 8, 4});
      },
      {"teacher has 3 classes but the student has 4"}));
  EXPECT_TRUE(error_mentions([&] { teacher.check_compatible({1, 9, 9, 3}); }, {"forward failed"}));
}

TEST(DistillTeacher, MissingOrForeignFilesAreClearErrors) {
  TempDir dir;
  const auto missing = (dir / "nope").string();
  EXPECT_TRUE(
      error_mentions([&] { Teacher::load(missing); }, {"--teacher " + missing + ": no such run folder or file"}));
  std::ofstream(dir / "junk.pt") << "not a model";
  EXPECT_TRUE(error_mentions([&] { Teacher::load(dir / "junk.pt"); }, {"not a TorchScript archive"}));
  fs::create_directories(dir / "empty_run");
  EXPECT_TRUE(error_mentions([&] { Teacher::load(dir / "empty_run"); }, {"not a run folder"}));
}

// A student normalised with (m_s, s_s) is fed to a teacher trained with (m_t, s_t) as (x·s_s + m_s − m_t) / s_t.
TEST(DistillTeacher, StudentNormalisationIsMappedToTheTeachers) {
  torch::manual_seed(2);
  auto model = model::make_model("mlp", {1, 4, 4, 3});
  auto teacher = Teacher::from_model(model, {0.25f}, {0.5f});
  EXPECT_FALSE(model->is_training());
  auto raw = torch::rand({6, 1, 4, 4});
  auto student_x = (raw - 0.4) / 0.2;
  teacher.set_student_normalisation({0.4f}, {0.2f});
  torch::NoGradGuard no_grad;
  EXPECT_TENSOR_NEAR(teacher.logits(student_x), model->forward((raw - 0.25) / 0.5), 1e-4, 1e-5);
  EXPECT_THROW(teacher.set_student_normalisation({0.1f, 0.2f, 0.3f}, {1, 1, 1}), Error);
}

class DistillRun : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_folder(dir_ / "data3", 150, 12, 8, 8, 3);
    write_idx_folder(dir_ / "data4", 150, 12, 8, 8, 4);
    teacher_config_.data.source = "idx:" + (dir_ / "data3").string();
    teacher_config_.data.val_size = 0;
    teacher_config_.model = "cnn"; // batch norm: eval mode is visible in the logits
    // A teacher that has learnt the bands (distillation refuses one near chance): no augmentation (a 4-pixel crop
    // shift moves a band of these 8-row images onto another class's rows), a rate that cannot diverge.
    teacher_config_.data.augment = false;
    teacher_config_.optimiser.epochs = 4;
    teacher_config_.optimiser.lr = 0.05;
    teacher_config_.optimiser.batch_size = 16;
    teacher_config_.execution.workers = 0;
    teacher_config_.execution.eval_batch_size = 7;
    const auto result = train::train(teacher_config_, dir_ / "teacher", train::ExistingRun::Refuse);
    ASSERT_EQ(result.epochs_done, 4);
  }
  // The student's configuration: the teacher's data, an mlp at the batch-16 default rate.
  train::TrainConfig student_config() const {
    auto c = teacher_config_;
    c.model = "mlp";
    c.optimiser.lr = model::default_lr("mlp", c.optimiser.batch_size);
    return c;
  }
  TempDir dir_;
  train::TrainConfig teacher_config_;
};

// The hooks feed the student's batch to the frozen teacher: in eval mode a batch's loss is the mean of its
// single-example losses (training-mode batch norm would mix examples); the cached logits (no augmentation) give the
// same losses as the live teacher; γ in the summary is the teacher's γ on the training split.
TEST_F(DistillRun, HooksUseAFrozenTeacherOnTheStudentsBatch) {
  auto student_config = this->student_config();
  student_config.data.augment = false;
  auto options = distill::DistillRunOptions{(dir_ / "teacher").string(), distill::DistillationOptions::paper(2.0)};
  auto bundle = data::load_data(train::data_options(student_config));
  auto cached = distill::make_distillation(options, student_config, bundle);
  options.cache_teacher = false;
  auto live = distill::make_distillation(options, student_config, bundle);
  EXPECT_TRUE(cached.facts.teacher_cached);
  EXPECT_FALSE(live.facts.teacher_cached);
  EXPECT_EQ(cached.facts.teacher_kind, "run");
  ASSERT_TRUE(cached.hooks.record.distill.has_value());
  EXPECT_EQ(cached.hooks.record.distill->temperature, 2.0);

  auto loader = data::make_eval_loader(bundle.train, 5, bundle.mean, bundle.std, 0);
  loader->start_epoch(0);
  data::Batch batch;
  ASSERT_TRUE(loader->next(batch));
  torch::manual_seed(3);
  auto student = torch::randn({5, 3}).requires_grad_(true);
  auto loss = live.hooks.loss(student, batch);
  // The cache was computed at batch eval_batch_size (7), the live teacher at 5: another batch shape may take another
  // oneDNN/BLAS kernel, so agreement is to float32 rounding, not bitwise.
  EXPECT_NEAR(
      cached.hooks.loss(student, batch).item<double>(),
      loss.item<double>(),
      1e-5 * std::max(1.0, std::abs(loss.item<double>())));
  double single_sum = 0;
  for (int64_t i = 0; i < 5; ++i) {
    data::Batch one{batch.images.slice(0, i, i + 1), batch.labels.slice(0, i, i + 1), batch.indices.slice(0, i, i + 1)};
    single_sum += live.hooks.loss(student.slice(0, i, i + 1), one).item<double>();
  }
  EXPECT_NEAR(loss.item<double>(), single_sum / 5, 1e-5);
  loss.backward();
  EXPECT_TRUE(student.grad().defined());
  EXPECT_FALSE(live.teacher.is_training());
  for (const auto& p : live.teacher.parameters()) {
    EXPECT_FALSE(p.requires_grad());
    EXPECT_FALSE(p.grad().defined());
  }
  // The same pass as the summary's (batch eval_batch_size, its workers): the same kernels, so γ agrees to 1e-9.
  auto logits = live.teacher.dataset_logits(
      bundle.train, student_config.execution.eval_batch_size, student_config.execution.workers);
  EXPECT_NEAR(cached.facts.teacher_gamma, calib::equivalent_smoothing(logits, bundle.train.labels, 2.0), 1e-9);
  EXPECT_NEAR(cached.facts.teacher_gamma_t1, calib::equivalent_smoothing(logits, bundle.train.labels, 1.0), 1e-9);
}

// A whole (tiny) distillation run through train::train: the teacher stays frozen, every epoch records γ.
TEST_F(DistillRun, TrainingLeavesTheTeacherFrozenAndRecordsGamma) {
  auto student_config = this->student_config();
  student_config.optimiser.epochs = 2;
  auto setup = distill::make_distillation(
      {(dir_ / "teacher").string(), distill::DistillationOptions::hinton(4.0, 0.7)},
      student_config,
      data::load_data(train::data_options(student_config)));
  auto before = setup.teacher.parameters()[0].clone();
  auto result = train::train(student_config, dir_ / "student", train::ExistingRun::Refuse, setup.hooks);
  EXPECT_EQ(result.epochs_done, 2);
  EXPECT_FALSE(setup.teacher.is_training());
  EXPECT_TRUE(setup.teacher.parameters()[0].equal(before));
  for (const auto& p : setup.teacher.parameters())
    EXPECT_FALSE(p.grad().defined());
  ASSERT_TRUE(result.last_record && result.last_record->teacher_gamma);
  EXPECT_DOUBLE_EQ(*result.last_record->teacher_gamma, setup.facts.teacher_gamma);
  auto meta = nlohmann::json::parse(read_file(dir_ / "student" / "config.json"));
  EXPECT_EQ(meta["distill"]["beta"], 0.7);
  EXPECT_EQ(meta["distill"]["t_squared"], true);
  EXPECT_EQ(meta["distill"]["teacher_run"]["model"], "cnn");
}

// The run's options refuse an out-of-range value by the command line's name before any teacher is loaded.
TEST(DistillTeacher, RunOptionsValidateNameTheOption) {
  distill::DistillRunOptions options{"unused-teacher", distill::DistillationOptions::paper(2.0).beta(1.5)};
  EXPECT_ERROR_MENTIONS(options.validate(), "--beta must be in [0, 1], got 1.5");
  options.loss.beta(1.0);
  EXPECT_NO_THROW(options.validate());
  options.teacher.clear();
  EXPECT_ERROR_MENTIONS(options.validate(), "--teacher is required");
}

TEST_F(DistillRun, ClassCountMismatchAndBadTemperatureAreErrors) {
  auto student_config = teacher_config_;
  student_config.data.source = "idx:" + (dir_ / "data4").string();
  EXPECT_TRUE(error_mentions(
      [&] {
        distill::make_distillation(
            {(dir_ / "teacher").string(), distill::DistillationOptions::paper(1.0)},
            student_config,
            data::load_data(train::data_options(student_config)));
      },
      {"the teacher has 3 classes but the student has 4"}));
  EXPECT_TRUE(error_mentions(
      [&] {
        distill::make_distillation(
            {(dir_ / "teacher").string(), distill::DistillationOptions::paper(0.0)},
            teacher_config_,
            data::load_data(train::data_options(teacher_config_)));
      },
      {"--temperature must be positive"}));
  EXPECT_TRUE(error_mentions(
      [&] {
        distill::make_distillation(
            {"", distill::DistillationOptions::paper(1.0)},
            teacher_config_,
            data::load_data(train::data_options(teacher_config_)));
      },
      {"--teacher is required"}));
}

} // namespace
} // namespace smoothlab::testing
