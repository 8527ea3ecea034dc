// Training: schedules, a short run that must learn, resume equals an uninterrupted run, run-folder rules.
#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/note.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/data/split.h"
#include "smoothlab/eval/evaluate.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/train/checkpoint.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/schedule.h"
#include "smoothlab/train/trainer.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(Schedule, WarmupCosineAndStep) {
  train::ScheduleOptions o{train::ScheduleKind::Cosine, 0.2, 1.0, {}, 0.1, 5, 10};
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 0), 0.2 * 1 / 10); // warm-up step 1 of 10
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 9), 0.2); // end of warm-up
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 10), 0.2); // cosine starts at the peak
  EXPECT_NEAR(train::learning_rate(o, 30), 0.1, 1e-12); // halfway through 40 post-warm-up steps
  o = {train::ScheduleKind::Step, 1.0, 0.0, {2, 4}, 0.1, 5, 10};
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 19), 1.0);
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 20), 0.1);
  EXPECT_NEAR(train::learning_rate(o, 45), 0.01, 1e-15);
  o.kind = train::ScheduleKind::Constant;
  EXPECT_DOUBLE_EQ(train::learning_rate(o, 45), 1.0);
}

// The schedule refuses values that would give a negative, infinite or NaN learning rate, naming the option.
TEST(Schedule, OptionsValidateNameTheOption) {
  train::ScheduleOptions o;
  EXPECT_NO_THROW(o.validate());
  o.gamma = -0.1;
  EXPECT_ERROR_MENTIONS(o.validate(), "--gamma must be positive, got -0.1");
  o.gamma = 0.1;
  o.base_lr = std::nan("");
  EXPECT_ERROR_MENTIONS(train::learning_rate(o, 0), "--lr must be positive, got nan");
  o.base_lr = 0.1;
  o.epochs = 2;
  o.warmup_epochs = 2;
  EXPECT_ERROR_MENTIONS(o.validate(), "--warmup-epochs must be in [0, epochs), got 2");
  o.warmup_epochs = 0;
  o.steps_per_epoch = 0;
  EXPECT_ERROR_MENTIONS(o.validate(), "steps_per_epoch must be at least 1, got 0");
}

// The names are parsed once into the kind; an unknown one is refused there (it used to fall through to constant).
TEST(Schedule, KindsParseByNameAndAnUnknownOneIsRefused) {
  for (const auto kind : {train::ScheduleKind::Cosine, train::ScheduleKind::Step, train::ScheduleKind::Constant})
    EXPECT_EQ(train::parse_schedule_kind(train::schedule_kind_name(kind)), kind);
  EXPECT_STREQ(train::schedule_kind_name(train::ScheduleKind::Step), "step");
  try {
    train::parse_schedule_kind("Cosine");
    ADD_FAILURE() << "'Cosine' was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--schedule: unknown schedule 'Cosine'");
    EXPECT_EQ(e.hint(), "known: cosine, step, constant");
  }
  // config.json spells the kind by name: read through the same parser, written back by the same name.
  train::TrainConfig c;
  c.optimiser.schedule = train::ScheduleKind::Step;
  const nlohmann::json j = c;
  EXPECT_EQ(j.at("schedule"), "step");
  EXPECT_EQ(j.get<train::TrainConfig>().optimiser.schedule, train::ScheduleKind::Step);
  auto unknown = j;
  unknown["schedule"] = "linear";
  EXPECT_NE(error_of([&] { unknown.get<train::TrainConfig>(); }).find("unknown schedule 'linear'"), std::string::npos);
}

train::TrainConfig tiny_config(const fs::path& data) {
  train::TrainConfig c;
  c.data.source = "idx:" + data.string();
  c.data.val_size = 30;
  c.model = "mlp";
  c.smoothing = 0.1;
  c.optimiser.epochs = 3;
  c.optimiser.batch_size = 16;
  c.optimiser.lr = model::default_lr("mlp", 16); // 0.0125: the mlp stays finite on every ISA path
  c.execution.workers = 1;
  c.execution.threads = 1;
  c.execution.eval_batch_size = 64;
  return c;
}

TEST(Trainer, ResumedRunEndsWithTheSameParameters) {
  torch::set_num_threads(1);
  TempDir dir;
  write_idx_folder(dir / "data", 150, 30, 8, 8, 3);
  auto config = tiny_config(dir / "data");
  train::train(config, dir / "full", train::ExistingRun::Refuse);

  // Interrupt after epoch 1 (the checkpoint is written before on_epoch runs), then resume.
  train::TrainHooks stop_after_first;
  stop_after_first.on_epoch = [](const train::EpochRecord& r) {
    if (r.epoch == 1)
      throw std::runtime_error("simulated kill");
  };
  EXPECT_THROW(train::train(config, dir / "resumed", train::ExistingRun::Refuse, stop_after_first), std::runtime_error);
  auto changed = config;
  changed.optimiser.lr = 123.0; // ignored on resume: the saved config wins
  std::vector<Note> notes;
  train::TrainHooks keep_notes;
  keep_notes.on_note = [&](const Note& n) { notes.push_back(n); };
  auto result = train::train(changed, dir / "resumed", train::ExistingRun::Resume, keep_notes);
  EXPECT_EQ(result.epochs_done, 3);
  // The front ends choose notes by kind (the study shows Resume and Study notes only).
  auto of_kind = [&](NoteKind kind) {
    std::vector<std::string> texts;
    for (const auto& n : notes)
      if (n.kind == kind)
        texts.push_back(n.text);
    return texts;
  };
  ASSERT_EQ(of_kind(NoteKind::Resume).size(), 1u);
  EXPECT_EQ(of_kind(NoteKind::Resume)[0].rfind("resuming ", 0), 0u) << of_kind(NoteKind::Resume)[0];
  EXPECT_TRUE(of_kind(NoteKind::Finished).empty());
  notes.clear();
  EXPECT_EQ(train::train(config, dir / "full", train::ExistingRun::Resume, keep_notes).epochs_done, 3);
  ASSERT_EQ(of_kind(NoteKind::Finished).size(), 1u);
  EXPECT_NE(of_kind(NoteKind::Finished)[0].find("already finished its 3 epochs"), std::string::npos);
  ASSERT_EQ(of_kind(NoteKind::Resume).size(), 1u); // it resumes from its last checkpoint first
  EXPECT_NE(of_kind(NoteKind::Resume)[0].find("after epoch 3 of 3"), std::string::npos) << of_kind(NoteKind::Resume)[0];

  auto a = model::make_model("mlp", {1, 8, 8, 3}), b = model::make_model("mlp", {1, 8, 8, 3});
  train::load_checkpoint(dir / "full" / "checkpoint.safetensors", *a, nullptr);
  train::load_checkpoint(dir / "resumed" / "checkpoint.safetensors", *b, nullptr);
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& item : pa)
    EXPECT_TRUE(item.value().equal(pb[item.key()])) << item.key();

  auto records = read_jsonl(dir / "resumed" / "metrics.jsonl");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(records[size_t(i)]["epoch"], i + 1);
  auto full = read_jsonl(dir / "full" / "metrics.jsonl");
  EXPECT_DOUBLE_EQ(full[2]["train_loss"].get<double>(), records[2]["train_loss"].get<double>());

  // The same command again (no --resume) continues its killed run too; another configuration is refused by name.
  EXPECT_THROW(train::train(config, dir / "rerun", train::ExistingRun::Refuse, stop_after_first), std::runtime_error);
  EXPECT_TRUE(error_mentions(
      [&] { train::train(changed, dir / "rerun", train::ExistingRun::Refuse); },
      {"another configuration", "lr: 0.0125 in the run, 123.0 here"},
      {"--resume", "--force"}));
  EXPECT_EQ(train::train(config, dir / "rerun", train::ExistingRun::Refuse).epochs_done, 3);
  auto c = model::make_model("mlp", {1, 8, 8, 3});
  train::load_checkpoint(dir / "rerun" / "checkpoint.safetensors", *c, nullptr);
  auto pc = c->named_parameters();
  for (const auto& item : pa)
    EXPECT_TRUE(item.value().equal(pc[item.key()])) << item.key();
  records = read_jsonl(dir / "rerun" / "metrics.jsonl");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(records[size_t(i)]["epoch"], i + 1);
}

TEST(Trainer, ExistingRunFolderNeedsResumeOrForce) {
  TempDir dir;
  write_idx_folder(dir / "data", 60, 20, 8, 8, 3);
  auto config = tiny_config(dir / "data");
  config.optimiser.epochs = 1;
  config.data.val_size = 12;
  train::train(config, dir / "run", train::ExistingRun::Refuse);
  EXPECT_TRUE(error_mentions(
      [&] { train::train(config, dir / "run", train::ExistingRun::Refuse); }, {"finished run"}, {"--force"}));
  // Force starts over: metrics hold one epoch again.
  train::train(config, dir / "run", train::ExistingRun::Force);
  EXPECT_EQ(read_jsonl(dir / "run" / "metrics.jsonl").size(), 1u);
  // A corrupt checkpoint is reported with its path.
  std::ofstream(dir / "run" / "checkpoint.safetensors") << "garbage";
  EXPECT_TRUE(error_mentions([&] { train::load_run(dir / "run"); }, {"checkpoint.safetensors"}));
}

// 2 epochs, ε = 0.1, on 6 000 training images (1 000 of them held out) and the first 2 000 test images, no
// augmentation.
train::TrainConfig short_fashion_mnist_run(const std::string& model) {
  train::TrainConfig c;
  c.model = model;
  c.smoothing = 0.1;
  c.optimiser.epochs = 2;
  c.data.limit_train = 6000;
  c.data.limit_test = 2000;
  c.data.val_size = 1000;
  c.data.augment = false;
  return c;
}

TEST(Trainer, ShortFashionMnistRunLearns) {
  const std::string fmnist = fashion_mnist_dir();
  if (fmnist.empty())
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  torch::set_num_threads(2);
  TempDir dir;
  train::TrainConfig c = short_fashion_mnist_run("mlp");
  c.optimiser.lr = 0.05;
  train::train(c, dir / "run", train::ExistingRun::Refuse);
  auto result = eval::evaluate_run(dir / "run");
  // 10 classes: chance is 10%; an MLP reaches ~80% on 6k examples in 2 epochs.
  EXPECT_GT(result.test.accuracy, 0.75);
  ASSERT_TRUE(result.val.has_value());
  EXPECT_GT(result.val->accuracy, 0.75);
  for (const char* f : {"test_logits.npy", "test_labels.npy", "test_features.npy", "val_logits.npy", "eval.json"})
    EXPECT_TRUE(fs::exists(dir / "run" / f)) << f;
  auto records = read_jsonl(dir / "run" / "metrics.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_LT(records[1]["train_loss"].get<double>(), records[0]["train_loss"].get<double>());
  for (const char* key :
       {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_ece", "images_per_second", "seconds", "lr"})
    EXPECT_TRUE(records[1].contains(key)) << key;
}

TEST(Trainer, Bf16RunLearnsAsWellAsItsFp32Twin) {
  // The cnn (convolutions, batch norm, pooling under autocast) trained twice from the same seed, at fp32 and at bf16:
  // both learn, and their test accuracies differ by less than 3 standard errors of a difference of two accuracies
  // on 2000 examples. The bf16 run's logits really are bfloat16 values (widened to float32), the fp32 run's are not.
  const std::string fmnist = fashion_mnist_dir();
  if (fmnist.empty())
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  torch::set_num_threads(2);
  TempDir dir;
  train::TrainConfig c = short_fashion_mnist_run("cnn");
  if (!model::cpu_runs_bf16()) { // e.g. the suite's AVX2 pass (DNNL_MAX_CPU_ISA=AVX2): refused in one line, no crash
    c.execution.precision = model::Precision::Bf16;
    EXPECT_TRUE(error_mentions(
        [&] { train::train(c, dir / "bf16", train::ExistingRun::Refuse); }, {"--precision bf16", "AVX-512"}, {"fp32"}));
    EXPECT_FALSE(fs::exists(dir / "bf16"));
    return;
  }
  std::map<std::string, train::EvalRecord> results;
  std::map<std::string, torch::Tensor> logits;
  for (const auto p : {model::Precision::Fp32, model::Precision::Bf16}) {
    const std::string precision = model::precision_name(p);
    c.execution.precision = p;
    train::train(c, dir / precision, train::ExistingRun::Refuse);
    results[precision] = eval::evaluate_run(dir / precision);
    logits[precision] =
        data::read_npy(train::RunDir(dir / precision).outputs_file(data::Split::Test, train::RunDir::Output::Logits));
    EXPECT_EQ(train::RunDir(dir / precision).read_config().config.execution.precision, p);
    EXPECT_EQ(results[precision].precision, p);
  }
  const double a32 = results["fp32"].test.accuracy, a16 = results["bf16"].test.accuracy;
  EXPECT_GT(a32, 0.8);
  EXPECT_GT(a16, 0.8);
  const double p = 0.5 * (a32 + a16), se = std::sqrt(2.0 * p * (1.0 - p) / 2000.0);
  EXPECT_LT(std::abs(a32 - a16), 3.0 * se) << "fp32 " << a32 << ", bf16 " << a16;
  // eval --precision: the fp32 run evaluated at bf16 is recorded as such and classifies about as well.
  eval::EvalOptions at_bf16;
  at_bf16.precision = model::Precision::Bf16;
  at_bf16.write_npy = false;
  at_bf16.diagrams = false;
  const auto cross = eval::evaluate_run(dir / "fp32", at_bf16);
  EXPECT_EQ(cross.precision, model::Precision::Bf16);
  EXPECT_LT(std::abs(cross.test.accuracy - a32), 3.0 * se);
  const auto widened = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat).equal(t); };
  EXPECT_TRUE(widened(logits["bf16"]));
  EXPECT_FALSE(widened(logits["fp32"]));
}

} // namespace
} // namespace smoothlab::testing
