// train::RunDir and open_run: records survive a write and a read, damaged files are Errors naming them, and the
// resume / force / new decision.
#include <cmath>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/train/checkpoint.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using json = nlohmann::json;

train::RunRecord sample_record() {
  train::RunRecord r;
  r.config.model = "mlp";
  r.config.smoothing = 0.2;
  r.config.optimiser.epochs = 7;
  r.data.name = "idx";
  r.data.spec = "idx:/x";
  r.data.num_classes = 3;
  r.data.class_names = {"a", "b", "c"};
  r.data.shape = {1, 8, 8};
  r.data.mean = {0.25f};
  r.data.std = {0.5f};
  r.data.train_size = 120;
  r.data.val_size = 30;
  r.data.test_size = 30;
  r.command = "smoothlab distill --teacher t";
  train::DistillFacts d;
  d.teacher = "t";
  d.form = "hinton";
  d.temperature = 4;
  d.beta = 0.7;
  d.soften_student = true;
  d.t_squared = true;
  d.soft_term = "kl";
  d.hard_smoothing = 0.2;
  d.hard_loss_impl = loss::Implementation::LibTorch;
  d.teacher_gamma = 0.125;
  d.teacher_gamma_t1 = 0.0625;
  d.teacher_train_accuracy = 0.875;
  d.teacher_cached = true;
  d.teacher_run = train::TeacherRunFacts{"cnn", 0.1, 3, 5};
  r.distill = d;
  train::MiFacts m;
  m.classes = {0, 2};
  m.class_names = {"a", "c"};
  m.examples_per_class = 5;
  m.views = 3;
  m.crop_padding = 4;
  m.seed = 9;
  r.mi = m;
  r.study = {{"group", "student"}};
  return r;
}

TEST(RunDir, RecordsSurviveAWriteAndARead) {
  TempDir dir;
  const train::RunDir run(dir.path());
  const auto written = sample_record();
  run.write_config(written);
  const auto read = run.read_config();
  EXPECT_EQ(json(read), json(written));
  ASSERT_TRUE(read.distill && read.distill->teacher_run);
  EXPECT_EQ(read.distill->hard_loss_impl, loss::Implementation::LibTorch);
  EXPECT_EQ(read.distill->teacher_run->seed, 5u);
  EXPECT_EQ(read.config.smoothing, 0.2);
  EXPECT_EQ(read.data.mean, std::vector<float>{0.25f});
  ASSERT_TRUE(read.mi);
  EXPECT_EQ(read.mi->classes, (std::vector<int64_t>{0, 2}));

  train::EpochRecord with_val, without_val;
  with_val.epoch = 1;
  with_val.train_loss = 0.75;
  with_val.val_accuracy = 0.5;
  with_val.val_loss = with_val.val_nll = with_val.val_ece = 0.25;
  with_val.mi = 1.5;
  with_val.bad_images = 2;
  without_val.epoch = 2;
  without_val.seconds = 3;
  run.write_metrics({with_val, without_val});
  const auto epochs = run.read_metrics();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(json(epochs[0]), json(with_val));
  EXPECT_EQ(json(epochs[1]), json(without_val));
  EXPECT_FALSE(epochs[1].val_accuracy.has_value());
  EXPECT_FALSE(read_jsonl(run.metrics_file())[1].contains("val_accuracy")); // absent, not null
  EXPECT_EQ(epochs[0].bad_images, 2);
  EXPECT_FALSE(epochs[1].loader.has_value());
  EXPECT_TRUE(read_jsonl(run.metrics_file())[1].at("loader").empty()); // {} as records without one always had

  // The loader's summary: the counts and the rates LoaderStats derives, typed both ways.
  data::LoaderStats stats;
  stats.batches = 4;
  stats.examples = 100;
  stats.wall_seconds = 2;
  stats.wait_seconds = 0.5;
  stats.work_seconds = 1;
  stats.ready_sum = 6;
  stats.workers = 2;
  stats.prefetch = 3;
  with_val.loader = data::summarise(stats);
  run.write_metrics({with_val});
  const auto line = read_jsonl(run.metrics_file())[0].at("loader");
  EXPECT_EQ(line.at("examples"), 100);
  EXPECT_DOUBLE_EQ(line.at("wait_fraction").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(line.at("mean_ready").get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(line.at("images_per_second").get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(line.at("capacity_images_per_second").get<double>(), 200.0); // 100 / 1 s · 2 workers
  const auto again = run.read_metrics();
  ASSERT_TRUE(again[0].loader.has_value());
  EXPECT_EQ(again[0].loader->workers, 2);
  EXPECT_DOUBLE_EQ(again[0].loader->wait_fraction, 0.25);
  EXPECT_EQ(json(again[0]), json(with_val));

  train::EvalRecord eval;
  eval.epochs_done = 3;
  eval.test.count = 30;
  eval.test.classes = 3;
  eval.test.accuracy = 0.9;
  eval.test.classwise_ece = std::nan("");
  eval.temperature = calib::TemperatureFit{1.5, 0.4, 0.3, 7, true, false, 30};
  eval.test_scaled = eval.test;
  eval.gamma.test = 0.125;
  run.write_eval(eval);
  const auto e = run.read_eval();
  EXPECT_EQ(json(e), json(eval));
  EXPECT_FALSE(e.val.has_value());
  EXPECT_TRUE(std::isnan(e.test.classwise_ece));
  ASSERT_TRUE(e.temperature);
  EXPECT_EQ(e.temperature->temperature, 1.5);
  EXPECT_TRUE(run.evaluated(3));
  EXPECT_FALSE(run.evaluated(4));
}

TEST(RunDir, ADamagedFileIsAnErrorNamingIt) {
  TempDir dir;
  const train::RunDir run(dir.path());
  run.write_metrics({train::EpochRecord{}});
  write_bytes(run.metrics_file(), read_bytes(run.metrics_file()) + "{\"epoch\": 2, \"lr\"");
  std::string what = error_of([&] { run.read_metrics(); });
  EXPECT_NE(what.find(run.metrics_file().string() + ":2"), std::string::npos) << what;

  write_bytes(run.config_file(), "{\"config\": {}}"); // no data_info
  what = error_of([&] { run.read_config(); });
  EXPECT_NE(what.find(run.config_file().string()), std::string::npos) << what;
  EXPECT_NE(what.find("unreadable run configuration"), std::string::npos) << what;

  what = error_of([&] { run.read_eval(); });
  EXPECT_NE(what.find(run.eval_file().string()), std::string::npos) << what;
  write_bytes(run.eval_file(), "{\"epochs_done\": 3");
  EXPECT_FALSE(run.evaluated(1)); // a torn eval.json is redone, not trusted
  EXPECT_NE(error_of([&] { run.read_eval(); }).find("unreadable evaluation"), std::string::npos);

  what = error_of([&] { train::RunDir(dir / "nothing").read_config(); });
  EXPECT_NE(what.find("no such run folder"), std::string::npos) << what;
}

// Numbers outside their field's type (converting them would be undefined behaviour: found by fuzz/metrics and
// fuzz/run_config) are Errors naming the file and line.
TEST(RunDir, ANumberOutOfItsFieldsRangeIsAnErrorNamingIt) {
  TempDir dir;
  const train::RunDir run(dir.path());
  json epoch = train::EpochRecord{};
  auto metrics_with_epoch = [&](const json& value) {
    json e = epoch;
    e["epoch"] = value;
    return epoch.dump() + "\n" + e.dump() + "\n";
  };
  write_bytes(run.metrics_file(), metrics_with_epoch(2e23));
  std::string what = error_of([&] { run.read_metrics(); });
  EXPECT_NE(what.find(run.metrics_file().string() + ":2: unreadable epoch record"), std::string::npos) << what;
  EXPECT_NE(what.find("not an integer in range"), std::string::npos) << what;
  write_bytes(run.metrics_file(), metrics_with_epoch(1.5));
  EXPECT_NE(error_of([&] { run.read_metrics(); }).find("not an integer in range"), std::string::npos);
  write_bytes(run.metrics_file(), metrics_with_epoch(3.0)); // a whole number written as a float is one
  EXPECT_EQ(run.read_metrics().at(1).epoch, 3);
  json loader_record = epoch;
  loader_record["loader"] = {{"batches", 1e300}};
  write_bytes(run.metrics_file(), loader_record.dump() + "\n");
  what = error_of([&] { run.read_metrics(); });
  EXPECT_NE(what.find(run.metrics_file().string() + ":1: unreadable epoch record"), std::string::npos) << what;
  EXPECT_NE(what.find("not an integer in range"), std::string::npos) << what;

  json record = sample_record();
  record["data_info"]["std"] = {1e300};
  write_bytes(run.config_file(), record.dump());
  what = error_of([&] { run.read_config(); });
  EXPECT_NE(what.find(run.config_file().string() + ": unreadable run configuration"), std::string::npos) << what;
  EXPECT_NE(what.find("out of a float's range"), std::string::npos) << what;
  record["data_info"]["std"] = {0.5};
  record["config"]["epochs"] = 1e30;
  write_bytes(run.config_file(), record.dump());
  EXPECT_NE(error_of([&] { run.read_config(); }).find("not an integer in range"), std::string::npos);
  record["config"]["epochs"] = 7;
  record["world_size"] = -1e300;
  write_bytes(run.config_file(), record.dump());
  EXPECT_NE(error_of([&] { run.read_config(); }).find("not an integer in range"), std::string::npos);
  record.erase("world_size");
  write_bytes(run.config_file(), record.dump());
  EXPECT_EQ(run.read_config().data.std, std::vector<float>{0.5f});
}

TEST(RunDir, OpenRunDecidesOnceAndTouchesNoFile) {
  TempDir dir;
  train::TrainConfig requested;
  requested.smoothing = 0.3;

  // A new folder: the requested configuration.
  auto fresh = train::open_run(dir / "new", train::ExistingRun::Refuse, requested);
  EXPECT_FALSE(fresh.resuming());
  EXPECT_EQ(fresh.config.smoothing, 0.3);
  EXPECT_FALSE(fs::exists(dir / "new"));

  // An existing run: refused, resumed with its saved configuration, or marked for wiping.
  const train::RunDir saved(dir / "old");
  fs::create_directories(saved.path());
  auto record = sample_record();
  saved.write_config(record);
  EXPECT_NE(
      error_of([&] {
        train::open_run(saved.path(), train::ExistingRun::Refuse, requested);
      }).find("holds a run of another configuration (epochs: 7 in the run, 10 here)"),
      std::string::npos);
  auto resumed = train::open_run(saved.path(), train::ExistingRun::Resume, requested);
  EXPECT_TRUE(resumed.resuming());
  EXPECT_EQ(resumed.config.smoothing, 0.2);
  ASSERT_TRUE(resumed.saved && resumed.saved->distill);
  EXPECT_EQ(resumed.saved->distill->temperature, 4);
  auto forced = train::open_run(saved.path(), train::ExistingRun::Force, requested);
  EXPECT_TRUE(forced.wipe);
  EXPECT_FALSE(forced.resuming());
  EXPECT_EQ(forced.config.smoothing, 0.3);
  EXPECT_TRUE(saved.has_config()); // wiping happens when training starts

  // The same settings again: an unfinished run is continued with the command's execution settings, a finished one
  // is refused; a folder of other files is refused.
  auto same = record.config;
  same.execution.threads = record.config.execution.threads + 3;
  auto rerun = train::open_run(saved.path(), train::ExistingRun::Refuse, same);
  EXPECT_TRUE(rerun.rerun && rerun.resuming());
  EXPECT_EQ(rerun.config.execution.threads, same.execution.threads);
  auto net = torch::nn::Linear(2, 2);
  train::save_checkpoint(saved.checkpoint_file(), *net, nullptr, record.config.optimiser.epochs - 1);
  EXPECT_TRUE(train::open_run(saved.path(), train::ExistingRun::Refuse, same).rerun);
  train::save_checkpoint(saved.checkpoint_file(), *net, nullptr, record.config.optimiser.epochs);
  EXPECT_EQ(train::checkpoint_epochs(saved.checkpoint_file()), record.config.optimiser.epochs);
  EXPECT_NE(
      error_of([&] { train::open_run(saved.path(), train::ExistingRun::Refuse, same); }).find("holds a finished run"),
      std::string::npos);
  fs::create_directories(dir / "other");
  write_bytes(dir / "other" / "notes.txt", "x");
  EXPECT_NE(
      error_of([&] {
        train::open_run(dir / "other", train::ExistingRun::Refuse, requested);
      }).find("folder exists and is not empty"),
      std::string::npos);

  // A bad requested value is refused whatever the folder holds; a bad saved one when resuming.
  requested.smoothing = 1.5;
  EXPECT_NE(
      error_of([&] { train::open_run(dir / "new", train::ExistingRun::Refuse, requested); }).find("--smoothing"),
      std::string::npos);
  write_bytes(dir / "file", "x");
  EXPECT_NE(
      error_of([&] { train::open_run(dir / "file", train::ExistingRun::Resume, {}); }).find("not a folder"),
      std::string::npos);
}

} // namespace
} // namespace smoothlab::testing
