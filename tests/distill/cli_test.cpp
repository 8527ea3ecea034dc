// `smoothlab distill`, `smoothlab mi` and `smoothlab train --mi-classes` end to end on a tiny IDX dataset.
#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/checkpoint.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using json = nlohmann::json;

class DistillCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_folder(dir_ / "data", 150, 30, 8, 8, 3);
    write_idx_folder(dir_ / "data4", 150, 30, 8, 8, 4);
  }
  // A teacher that has learnt the bands: no augmentation (a 4-pixel crop shift moves a band of these 8-row images
  // onto another class's rows) and a rate that cannot diverge.
  CliResult train_teacher(const std::string& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {
        "train", "--model", "mlp", "--epochs", "3", "--lr", "0.05", "--no-augment", "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
  std::vector<std::string> common(const std::string& data = "data") const {
    return {
        "--data",
        "idx:" + (dir_ / data).string(),
        "--val-size",
        "30",
        "--threads",
        "1",
        "--workers",
        "0",
        "--batch-size",
        "16",
        "--eval-batch-size",
        "20"};
  }
  CliResult run(std::vector<std::string> args, const std::string& data = "data") const {
    for (const auto& a : common(data))
      args.push_back(a);
    return run_cli(args);
  }
  TempDir dir_;
};

TEST_F(DistillCli, TrainDistillAndMi) {
  const auto teacher = (dir_ / "teacher").string(), student = (dir_ / "student").string();
  // A teacher that logs Î every epoch.
  auto r = run(
      {"train",
       "--model",
       "cnn",
       "--epochs",
       "3",
       "--lr",
       "0.05",
       "--smoothing",
       "0.1",
       "--no-augment",
       "--mi-classes",
       "0,2",
       "--mi-examples",
       "5",
       "--mi-views",
       "3",
       "--out",
       teacher});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto records = read_jsonl(fs::path(teacher) / "metrics.jsonl");
  ASSERT_EQ(records.size(), 3u);
  for (const auto& rec : records)
    ASSERT_TRUE(rec.contains("mi")) << rec.dump();
  auto meta = json::parse(read_file(fs::path(teacher) / "config.json"));
  EXPECT_EQ(meta["config"]["mi_classes"], "0,2");
  const auto& probe = meta["mi"];
  EXPECT_EQ(probe["examples_per_class"], 5);
  EXPECT_EQ(probe["views"], 3);
  EXPECT_EQ(probe["crop_padding"], 2); // the cnn's default crop padding
  // The last epoch's Î is the Î of the saved model: `smoothlab mi` with the probe's settings measures it again.
  r = run_cli(
      {"mi",
       teacher,
       "--classes",
       "0,2",
       "--examples",
       "5",
       "--views",
       "3",
       "--crop-padding",
       std::to_string(probe["crop_padding"].get<int64_t>()),
       "--seed",
       std::to_string(probe["seed"].get<uint64_t>()),
       "--threads",
       "1",
       "--out",
       (dir_ / "mi_last").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto again = json::parse(read_file(dir_ / "mi_last" / "mi.json"));
  EXPECT_NEAR(records.back()["mi"].get<double>(), again["mi"].get<double>(), 1e-6);
  EXPECT_NEAR(records.back()["mi_raw"].get<double>(), again["mi_raw"].get<double>(), 1e-6);

  // Distil with augmentation off (cached teacher) in Hinton's form.
  r = run(
      {"distill",
       "--teacher",
       teacher,
       "--model",
       "mlp",
       "--epochs",
       "1",
       "--no-augment",
       "-T",
       "3",
       "--form",
       "hinton",
       "--beta",
       "0.8",
       "--out",
       student});
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
  // Views shifted by at most one row: a band of these 8-row images stays mostly on its own rows.
  r = run_cli(
      {"mi", teacher, "--classes", "2,0", "--examples", "6", "--views", "4", "--crop-padding", "1", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto mi = json::parse(read_file(fs::path(teacher) / "mi.json"));
  EXPECT_NE(r.out.find(fmt::format("Î = {:.4f} nats", mi["mi"].get<double>())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("N = 12, L = 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 vs 0"), std::string::npos) << r.out;
  EXPECT_EQ(mi["examples"], 12);
  EXPECT_EQ(mi["views"], 4);
  EXPECT_EQ(mi["class_names"], json({"2", "0"}));
  EXPECT_NEAR(mi["log_n"].get<double>(), std::log(12.0), 1e-12);
  // Î is the estimate of the gaps written beside it, computed here the plain way.
  const auto gaps = data::read_npy(fs::path(teacher) / "mi_gaps.npy").to(torch::kFloat64);
  ASSERT_EQ(gaps.sizes(), torch::IntArrayRef({12, 4}));
  std::vector<std::vector<double>> rows(12, std::vector<double>(4));
  for (int64_t x = 0; x < 12; ++x)
    for (int64_t l = 0; l < 4; ++l)
      rows[size_t(x)][size_t(l)] = gaps[x][l].item<double>();
  const double reference = reference_mutual_information(rows);
  EXPECT_NEAR(mi["mi_raw"].get<double>(), reference, 1e-9);
  EXPECT_NEAR(mi["mi"].get<double>(), std::max(0.0, reference), 1e-9);
  // Class 2 lights the bottom band, class 0 the top: a trained teacher separates them, z_2 − z_0 > 0 for class 2.
  EXPECT_GT(mi["mean_gap"][0].get<double>(), mi["mean_gap"][1].get<double>());
}

// The README's export convention (pixels in [0, 1], normalisation inside the module), built here from a trained
// run's own weights: distilling from the export equals distilling from the run folder.
TEST_F(DistillCli, TorchScriptExportOfARunTeachesLikeTheRun) {
  const auto teacher = (dir_ / "teacher").string();
  auto r = train_teacher(teacher);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto config = json::parse(read_file(fs::path(teacher) / "config.json"));
    auto m = model::make_model("mlp", {1, 8, 8, 3});
    train::load_checkpoint(fs::path(teacher) / "checkpoint.safetensors", *m, nullptr);
    const auto mean = config["data_info"]["mean"].get<std::vector<float>>();
    const auto std = config["data_info"]["std"].get<std::vector<float>>();
    torch::jit::Module exported("ExportedMlp");
    exported.register_buffer("mean", torch::tensor(mean).view({1, -1, 1, 1}));
    exported.register_buffer("std", torch::tensor(std).view({1, -1, 1, 1}));
    for (const auto& p : m->named_parameters()) {
      std::string name = p.key();
      std::replace(name.begin(), name.end(), '.', '_');
      exported.register_parameter(name, p.value().detach().clone(), false);
    }
    exported.define(R"(
def forward(self, x):
    x = torch.flatten((x - self.mean) / self.std, 1)
    h = torch.relu(x.matmul(self.fc1_weight.t()) + self.fc1_bias)
    h = torch.relu(h.matmul(self.fc2_weight.t()) + self.fc2_bias)
    return h.matmul(self.head_weight.t()) + self.head_bias
)");
    exported.save((dir_ / "teacher.pt").string());
  }
  const std::vector<std::string> student = {"--model", "mlp", "--epochs", "2", "--no-augment", "-T", "2"};
  auto distill = [&](const std::string& from, const std::string& out) {
    std::vector<std::string> args = {"distill", "--teacher", from, "--out", (dir_ / out).string()};
    args.insert(args.end(), student.begin(), student.end());
    auto result = run(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return std::make_pair(
        json::parse(read_file(dir_ / out / "config.json"))["distill"], read_jsonl(dir_ / out / "metrics.jsonl"));
  };
  const auto [from_run, run_records] = distill(teacher, "s_run");
  const auto [from_script, script_records] = distill((dir_ / "teacher.pt").string(), "s_script");
  EXPECT_EQ(from_run["teacher_kind"], "run");
  EXPECT_EQ(from_script["teacher_kind"], "torchscript");
  // The same teacher function up to float32 rounding of the (un)normalisation: γ and accuracy agree.
  EXPECT_NEAR(from_script["teacher_gamma"].get<double>(), from_run["teacher_gamma"].get<double>(), 1e-5);
  EXPECT_NEAR(
      from_script["teacher_train_accuracy"].get<double>(), from_run["teacher_train_accuracy"].get<double>(), 1e-9);
  EXPECT_GT(from_run["teacher_train_accuracy"].get<double>(), 0.9);
  // The students saw (nearly) the same targets: their losses agree to rounding over these few steps.
  ASSERT_EQ(run_records.size(), 2u);
  ASSERT_EQ(script_records.size(), 2u);
  for (size_t e = 0; e < 2; ++e)
    EXPECT_NEAR(
        script_records[e]["train_loss"].get<double>(),
        run_records[e]["train_loss"].get<double>(),
        1e-4 * run_records[e]["train_loss"].get<double>())
        << "epoch " << e + 1;
}

// A TorchScript teacher that does not know the student's inputs (here: random weights; in practice a module exported
// for normalised input) scores about chance and is refused, with the input convention in the hint.
TEST_F(DistillCli, ChanceLevelTorchScriptTeacherIsRefused) {
  torch::jit::Module m("LinearTeacher");
  torch::manual_seed(4);
  m.register_parameter("w", torch::randn({64, 3}) * 0.1, false);
  m.define("def forward(self, x):\n    return torch.flatten(x, 1).mm(self.w) * 0.0\n");
  m.save((dir_ / "teacher.pt").string());
  auto r = run(
      {"distill",
       "--teacher",
       (dir_ / "teacher.pt").string(),
       "--model",
       "mlp",
       "--epochs",
       "1",
       "--out",
       (dir_ / "s").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("about chance"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: a TorchScript teacher takes pixels in [0, 1]"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "s" / "checkpoint.safetensors"));
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
  auto r = train_teacher((dir_ / "t3").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_error(
      run({"distill", "--teacher", (dir_ / "t3").string(), "-T", "0", "--out", (dir_ / "b").string()}),
      "--temperature must be positive");
  expect_error(
      run({"distill", "--teacher", (dir_ / "t3").string(), "--beta", "2", "--out", (dir_ / "b").string()}), "--beta");
  expect_error(
      run({"distill", "--teacher", (dir_ / "t3").string(), "--out", (dir_ / "c").string()}, "data4"),
      "the teacher has 3 classes but the student has 4");
  expect_error(
      run({"distill", "--teacher", (dir_ / "t3").string(), "--form", "fancy", "--out", (dir_ / "d").string()}),
      "error: --form: unknown form 'fancy'\n");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,7"}), "unknown class '7'");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,1,2"}), "exactly two classes");
  expect_error(run_cli({"mi", (dir_ / "t3").string(), "--classes", "0,1", "--examples", "500"}), "has only");
  expect_error(run({"train", "--mi-classes", "0", "--out", (dir_ / "e").string()}), "exactly two classes");
}

} // namespace
} // namespace smoothlab::testing
