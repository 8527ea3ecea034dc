// `smoothlab distill --resume` continues the student as saved (its ε, --loss-impl, teacher, T, β), whatever the new
// command line says; the same command without --resume continues an unfinished student and refuses other settings;
// `smoothlab mi --out` is a folder like every other --out.
#include <nlohmann/json.hpp>

#include "smoothlab/core/files.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using json = nlohmann::json;

class DistillResume : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_folder(dir_ / "data", 150, 30, 8, 8, 3);
  }
  CliResult run(std::vector<std::string> args) const {
    const std::vector<std::string> common = {
        "--data",
        "idx:" + (dir_ / "data").string(),
        "--val-size",
        "30",
        "--threads",
        "1",
        "--workers",
        "0",
        "--batch-size",
        "16",
        "--no-augment"};
    args.insert(args.end(), common.begin(), common.end());
    return run_cli(args);
  }
  // A teacher that has learnt the bands (see cli_test.cpp).
  void train_teacher() const {
    auto r = run({"train", "--model", "mlp", "--epochs", "3", "--lr", "0.05", "--out", teacher()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string teacher() const {
    return (dir_ / "teacher").string();
  }
  TempDir dir_;
};

// The hard term (β = 0.5) of the resumed student must use the saved ε = 0.1 and --loss-impl libtorch, not the new
// command line's ε = 0.4 and T = 5: the first epoch's loss, recomputed after the resume, is the original one.
TEST_F(DistillResume, ResumeTrainsWithTheSavedSmoothingAndDistillationSettings) {
  train_teacher();
  const fs::path student = dir_ / "student";
  auto r = run({"distill", "--teacher",   teacher(), "--model",     "mlp",      "--epochs", "2",
                "--lr",    "0.05",        "--form",  "hinton",      "-T",       "2",        "--beta",
                "0.5",     "--smoothing", "0.1",     "--loss-impl", "libtorch", "--out",    student.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first = read_jsonl(student / "metrics.jsonl");
  ASSERT_EQ(first.size(), 2u);
  auto meta = json::parse(read_file(student / "config.json"));
  EXPECT_EQ(meta["distill"]["hard_smoothing"], 0.1);
  EXPECT_EQ(meta["distill"]["hard_loss_impl"], "libtorch");

  // Killed before its first checkpoint: config.json is there, nothing else.
  fs::remove(student / "checkpoint.safetensors");
  fs::remove(student / "metrics.jsonl");
  r = run(
      {"distill",
       "--resume",
       "--teacher",
       teacher(),
       "--model",
       "mlp",
       "--epochs",
       "5",
       "--form",
       "paper",
       "-T",
       "5",
       "--smoothing",
       "0.4",
       "--out",
       student.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming with the saved configuration"), std::string::npos) << r.err;
  meta = json::parse(read_file(student / "config.json"));
  EXPECT_EQ(meta["config"]["smoothing"], 0.1);
  EXPECT_EQ(meta["config"]["epochs"], 2);
  EXPECT_EQ(meta["distill"]["hard_smoothing"], 0.1);
  EXPECT_EQ(meta["distill"]["hard_loss_impl"], "libtorch");
  EXPECT_EQ(meta["distill"]["temperature"], 2.0);
  EXPECT_EQ(meta["distill"]["beta"], 0.5);
  EXPECT_EQ(meta["distill"]["form"], "hinton");
  const auto again = read_jsonl(student / "metrics.jsonl");
  ASSERT_EQ(again.size(), 2u);
  // Same process-independent path (one thread, same batches, same kernels): the same loss to rounding.
  for (size_t e = 0; e < 2; ++e)
    EXPECT_NEAR(
        again[e]["train_loss"].get<double>(),
        first[e]["train_loss"].get<double>(),
        1e-6 * first[e]["train_loss"].get<double>())
        << "epoch " << e + 1;
}

TEST_F(DistillResume, StudentsAndPlainRunsResumeOnlyWithTheirOwnCommand) {
  train_teacher();
  const auto student = (dir_ / "student").string();
  auto r =
      run({"distill", "--teacher", teacher(), "--model", "mlp", "--epochs", "1", "--lr", "0.05", "--out", student});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"train", "--resume", "--out", student});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("error: --out " + student + ": the run is a distilled student"), std::string::npos) << r.err;
  r = run({"distill", "--resume", "--teacher", teacher(), "--out", teacher()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the run was not trained by distill"), std::string::npos) << r.err;

  // Killed before its first checkpoint: the same command continues the student, another T is refused by name.
  fs::remove(fs::path(student) / "checkpoint.safetensors");
  fs::remove(fs::path(student) / "metrics.jsonl");
  const std::vector<std::string> again = {
      "distill", "--teacher", teacher(), "--model", "mlp", "--epochs", "1", "--lr", "0.05", "--out", student};
  auto other_t = again;
  other_t.insert(other_t.end(), {"-T", "3"});
  r = run(other_t);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(
      r.err.find("holds a student distilled with other settings (temperature: 1.0 in the run, 3.0 here)"),
      std::string::npos)
      << r.err;
  r = run(again);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming: the folder holds this command's unfinished run"), std::string::npos) << r.err;
  EXPECT_EQ(read_jsonl(fs::path(student) / "metrics.jsonl").size(), 1u);
}

TEST_F(DistillResume, MiOutIsAFolder) {
  train_teacher();
  const fs::path out = dir_ / "mi_out";
  auto r = run_cli(
      {"mi",
       teacher(),
       "--classes",
       "0,2",
       "--examples",
       "5",
       "--views",
       "3",
       "--threads",
       "1",
       "--out",
       out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto mi = json::parse(read_file(out / "mi.json"));
  EXPECT_EQ(mi["examples"], 10);
  EXPECT_TRUE(fs::exists(out / "mi_gaps.npy"));
  EXPECT_TRUE(fs::exists(out / "mi_labels.npy"));
  EXPECT_FALSE(fs::exists(fs::path(teacher()) / "mi.json"));
  EXPECT_NE(r.out.find((out / "mi.json").string()), std::string::npos) << r.out;

  write_bytes(dir_ / "a_file", "x");
  r = run_cli({"mi", teacher(), "--classes", "0,2", "--examples", "5", "--out", (dir_ / "a_file").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find("--out " + (dir_ / "a_file").string() + ": exists and is not a folder"), std::string::npos)
      << r.err;
}

} // namespace
} // namespace smoothlab::testing
