// `smoothlab distill`, `smoothlab mi` and `smoothlab train --mi-classes` end to end on a tiny IDX dataset.
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include "smoothlab/core/files.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using json = nlohmann::json;

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

class DistillCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_folder(dir_ / "data", 60, 12, 8, 8, 3);
    write_idx_folder(dir_ / "data4", 60, 12, 8, 8, 4);
  }
  std::vector<std::string> common(const std::string& data = "data") const {
    return {"--data", "idx:" + (dir_ / data).string(), "--val-size", "12", "--threads", "1", "--workers", "0",
            "--batch-size", "16", "--eval-batch-size", "20"};
  }
  CliResult run(std::vector<std::string> args, const std::string& data = "data") const {
    for (const auto& a : common(data)) args.push_back(a);
    return run_cli(args);
  }
  TempDir dir_;
};

TEST_F(DistillCli, TrainDistillAndMi) {
  const auto teacher = (dir_ / "teacher").string(), student = (dir_ / "student").string();
  // A teacher that logs Î every epoch.
  auto r = run({"train", "--model", "cnn", "--epochs", "2", "--smoothing", "0.1", "--mi-classes", "0,2",
                "--mi-examples", "5", "--mi-views", "3", "--out", teacher});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = read_jsonl(fs::path(teacher) / "metrics.jsonl");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& rec : records) {
    ASSERT_TRUE(rec.contains("mi")) << rec.dump();
    EXPECT_GE(rec["mi"].get<double>(), 0.0);
    EXPECT_LE(rec["mi"].get<double>(), std::log(10.0) + 1e-12);
  }
  auto meta = json::parse(read_file(fs::path(teacher) / "config.json"));
  EXPECT_EQ(meta["config"]["mi_classes"], "0,2");
  EXPECT_EQ(meta["mi"]["examples_per_class"], 5);

  // Distil with augmentation off (cached teacher) in Hinton's form.
  r = run({"distill", "--teacher", teacher, "--model", "mlp", "--epochs", "1", "--no-augment", "-T", "3", "--form",
           "hinton", "--beta", "0.8", "--out", student});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("logits cached"), std::string::npos) << r.err;
  meta = json::parse(read_file(fs::path(student) / "config.json"));
  const auto& d = meta["distill"];
  EXPECT_EQ(d["temperature"], 3.0);
  EXPECT_EQ(d["beta"], 0.8);
  EXPECT_EQ(d["form"], "hinton");
  EXPECT_EQ(d["soft_term"], "kl");
  EXPECT_EQ(d["teacher_run"]["smoothing"], 0.1);
  const double gamma = d["teacher_gamma"];
  EXPECT_GT(gamma, 0.0);
  EXPECT_LE(gamma, 1.0 + 1e-12);
  EXPECT_GT(d["teacher_gamma_t1"].get<double>(), 0.0);
  records = read_jsonl(fs::path(student) / "metrics.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_DOUBLE_EQ(records[0]["teacher_gamma"].get<double>(), gamma);

  // Î of the teacher over augmented views.
  r = run_cli({"mi", teacher, "--classes", "2,0", "--examples", "6", "--views", "4", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto mi = json::parse(read_file(fs::path(teacher) / "mi.json"));
  EXPECT_EQ(mi["examples"], 12);
  EXPECT_EQ(mi["views"], 4);
  EXPECT_EQ(mi["class_names"], json({"2", "0"}));
  EXPECT_NEAR(mi["log_n"].get<double>(), std::log(12.0), 1e-12);
  EXPECT_GE(mi["mi"].get<double>(), 0.0);
  EXPECT_LE(mi["mi"].get<double>(), mi["log_n"].get<double>());
  EXPECT_TRUE(fs::exists(fs::path(teacher) / "mi_gaps.npy"));
  // Class 2 lights the bottom band, class 0 the top: a trained teacher separates them, z_2 − z_0 > 0 for class 2.
  EXPECT_GT(mi["mean_gap"][0].get<double>(), mi["mean_gap"][1].get<double>());
}

TEST_F(DistillCli, TorchScriptTeacher) {
  torch::jit::Module m("LinearTeacher");
  torch::manual_seed(4);
  m.register_parameter("w", torch::randn({64, 3}) * 0.1, false);
  m.define("def forward(self, x):\n    return torch.flatten(x, 1).mm(self.w)\n");
  m.save((dir_ / "teacher.pt").string());
  auto r = run({"distill", "--teacher", (dir_ / "teacher.pt").string(), "--model", "mlp", "--epochs", "1", "--out",
                (dir_ / "s").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto meta = json::parse(read_file(dir_ / "s" / "config.json"));
  EXPECT_EQ(meta["distill"]["teacher_kind"], "torchscript");
  EXPECT_EQ(meta["distill"]["form"], "paper");
  EXPECT_EQ(meta["distill"]["beta"], 1.0);
  EXPECT_EQ(meta["distill"]["t_squared"], false);
  EXPECT_EQ(meta["distill"]["teacher_cached"], false);  // augmentation on: the teacher sees each augmented batch
}

TEST_F(DistillCli, BadInputsExitWithTwo) {
  auto expect_error = [&](const CliResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  const auto missing = (dir_ / "no_teacher").string();
  expect_error(run({"distill", "--teacher", missing, "--out", (dir_ / "a").string()}), "no such run folder or file");
  expect_error(run_cli({"distill", "--out", (dir_ / "a").string()}), "--teacher");
  auto r = run({"train", "--model", "mlp", "--epochs", "1", "--out", (dir_ / "t3").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_error(run({"distill", "--teacher", (dir_ / "t3").string(), "-T", "0", "--out", (dir_ / "b").string()}),
               "--temperature must be positive");
  expect_error(run({"distill", "--teacher", (dir_ / "t3").string(), "--beta", "2", "--out", (dir_ / "b").string()}),
               "--beta");
  expect_error(run({"distill", "--teacher", (dir_ / "t3").string(), "--out", (dir_ / "c").string()}, "data4"),
               "the teacher has 3 classes but the student has 4");
  expect_error(run({"distill", "--teacher", (dir_ / "t3").string(), "--form", "fancy", "--out", (dir_ / "d").string()}),
               "--form");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,7"}), "unknown class '7'");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,1,2"}), "exactly two classes");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,1", "--examples", "500"}), "has only");
  expect_error(run({"train", "--mi-classes", "0", "--out", (dir_ / "e").string()}), "exactly two classes");
}

}  // namespace
}  // namespace smoothlab::testing
