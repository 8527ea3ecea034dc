// End-to-end tests of `smoothlab project` on tiny synthetic data: two one-epoch runs (ε = 0 and ε = 0.1) and a
// TorchScript model; checks the files, the JSON against an independent recomputation, and the error messages.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/data/split.h"
#include "smoothlab/represent/project_runs.h"
#include "smoothlab/represent/projection.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

const std::string kGoldenDir = std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void write_names(const fs::path& dir) {
  std::ofstream(dir / "classes.txt") << "alpha\nbeta\ngamma\n";
}

// Two tiny runs shared by the tests of this suite (a few seconds each).
class ProjectCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_idx_folder(*dir_ / "data", 90, 30, 8, 8, 3);
    write_names(*dir_ / "data");
    for (const char* eps : {"0", "0.1"}) {
      auto r = run_cli(
          {"train",
           "--data",
           "idx:" + (*dir_ / "data").string(),
           "--model",
           "mlp",
           "--epochs",
           "1",
           "--val-size",
           "15",
           "--batch-size",
           "16",
           "--threads",
           "1",
           "--workers",
           "0",
           "--smoothing",
           eps,
           "--out",
           (*dir_ / (std::string("eps") + eps)).string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* ProjectCliTest::dir_ = nullptr;

TEST_F(ProjectCliTest, TwoRunsGiveFigureJsonAndVerdict) {
  const auto out = *dir_ / "proj";
  auto r = run_cli(
      {"project",
       (*dir_ / "eps0").string(),
       (*dir_ / "eps0.1").string(),
       "--classes",
       "gamma,alpha,1",
       "--per-class",
       "4",
       "--out",
       out.string(),
       "--threads",
       "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"projection.png", "projection.svg", "projection.json"})
    EXPECT_GT(fs::file_size(out / f), 100u) << f;
  auto j = read_json(out / "projection.json");
  ASSERT_EQ(j["classes"].size(), 3u);
  EXPECT_EQ(j["classes"][0]["label"], 2); // names and indices both accepted, order kept
  EXPECT_EQ(j["classes"][2]["name"], "beta");
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["smoothing"].get<double>(), 0.1);
  for (const auto& run : j["runs"]) {
    for (const char* split : {"train", "val"}) {
      const auto& s = run["splits"][split];
      EXPECT_EQ(s["count"], 12);
      EXPECT_EQ(s["coords"].size(), 12u);
      // Labels come grouped in the order of --classes.
      EXPECT_EQ(s["labels"][0], 2);
      EXPECT_EQ(s["labels"][11], 1);
    }
    EXPECT_TRUE(run["held_out_shift"].contains("val"));
  }
  // Independent recomputation for the ε = 0.1 run: its templates' plane and the first training example chosen.
  auto loaded = train::load_run(*dir_ / "eps0.1");
  auto templates = represent::class_templates(loaded.model->head->weight.detach(), loaded.model->head->bias.detach());
  auto plane = represent::template_plane(templates, {2, 0, 1});
  const auto& v = j["runs"][1]["vertices"];
  for (int k = 0; k < 3; ++k)
    for (int d = 0; d < 2; ++d)
      EXPECT_NEAR(v[k][d].get<double>(), plane.vertices[k][d].item<double>(), 1e-9);
  const int64_t first = j["runs"][1]["splits"]["train"]["indices"][0];
  auto image = loaded.data.train.images[first].unsqueeze(0).to(torch::kFloat32) / 255.0;
  image = (image - loaded.data.mean[0]) / loaded.data.std[0];
  torch::NoGradGuard no_grad;
  auto p = represent::project(plane, represent::augment_features(loaded.model->features(image)));
  const auto& c = j["runs"][1]["splits"]["train"]["coords"][0];
  EXPECT_NEAR(c[0].get<double>(), p[0][0].item<double>(), 1e-4);
  EXPECT_NEAR(c[1].get<double>(), p[0][1].item<double>(), 1e-4);
  // The verdict compares ε = 0 (baseline) with ε = 0.1 on the training split.
  const auto& cmp = j["comparison"];
  EXPECT_EQ(cmp["baseline"]["run"], "eps0");
  EXPECT_EQ(cmp["smoothed"]["run"], "eps0.1");
  EXPECT_EQ(
      cmp["smoothed_tighter"].get<bool>(),
      cmp["smoothed"]["tightness_plane"].get<double>() < cmp["baseline"]["tightness_plane"].get<double>());
  EXPECT_DOUBLE_EQ(
      cmp["smoothed"]["tightness_plane"].get<double>(),
      j["runs"][1]["splits"]["train"]["stats"]["tightness_plane"].get<double>());
  EXPECT_NE(r.out.find("tightness"), std::string::npos);
}

TEST_F(ProjectCliTest, SameSeedSameExamples) {
  auto a = run_cli(
      {"project",
       (*dir_ / "eps0").string(),
       "--classes",
       "0,1,2",
       "--per-class",
       "3",
       "--splits",
       "test",
       "--out",
       (*dir_ / "a").string(),
       "--seed",
       "5"});
  auto b = run_cli(
      {"project",
       (*dir_ / "eps0").string(),
       "--classes",
       "0,1,2",
       "--per-class",
       "3",
       "--splits",
       "test",
       "--out",
       (*dir_ / "b").string(),
       "--seed",
       "5"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto ja = read_json(*dir_ / "a" / "projection.json"), jb = read_json(*dir_ / "b" / "projection.json");
  EXPECT_EQ(ja["runs"][0]["splits"]["test"]["indices"], jb["runs"][0]["splits"]["test"]["indices"]);
  EXPECT_FALSE(ja.contains("comparison")); // one run: nothing to compare
}

TEST_F(ProjectCliTest, BadClassesListTheValidNames) {
  auto r = run_cli(
      {"project", (*dir_ / "eps0").string(), "--classes", "alpha,beta,Delta", "--out", (*dir_ / "bad").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: --classes: unknown class 'Delta'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("alpha, beta, gamma"), std::string::npos) << r.err;
  r = run_cli({"project", (*dir_ / "eps0").string(), "--classes", "alpha,beta"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exactly three"), std::string::npos) << r.err;
  r = run_cli({"project", (*dir_ / "eps0").string(), "--classes", "alpha,beta,0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("twice"), std::string::npos) << r.err;
  r = run_cli({"project", (*dir_ / "nope").string(), "--classes", "0,1,2"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli({"project", (*dir_ / "eps0").string(), "--classes", "0,1,2", "--splits", "train,holdout"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holdout"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(*dir_ / "bad"));
}

TEST_F(ProjectCliTest, TorchScriptModel) {
  const auto out = *dir_ / "ts";
  auto r = run_cli(
      {"project",
       kGoldenDir + "projection_tiny.pt",
       "--data",
       "idx:" + (*dir_ / "data").string(),
       "--classes",
       "alpha,beta,gamma",
       "--per-class",
       "5",
       "--splits",
       "train,test",
       "--out",
       out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = read_json(out / "projection.json");
  EXPECT_EQ(j["runs"][0]["kind"], "torchscript");
  EXPECT_EQ(j["runs"][0]["splits"]["test"]["count"], 15);
  EXPECT_TRUE(j["runs"][0]["smoothing"].is_null());
  // The tiny model's templates come from its fc layer: check one vertex-to-vertex distance against PyTorch's.
  auto g = read_json(kGoldenDir + "projection_tiny.json");
  auto w = g["fc_weight"], b = g["fc_bias"];
  double d2 = 0;
  for (int k = 0; k < 6; ++k)
    d2 += std::pow(w[0][k].get<double>() - w[1][k].get<double>(), 2);
  d2 += std::pow(b[0].get<double>() - b[1].get<double>(), 2);
  EXPECT_NEAR(j["runs"][0]["template_distances"][0].get<double>(), std::sqrt(d2), 1e-6);
  r = run_cli(
      {"project",
       kGoldenDir + "projection_tiny.pt",
       "--data",
       "idx:" + (*dir_ / "data").string(),
       "--classes",
       "0,1,2",
       "--features",
       "embed",
       "--out",
       (*dir_ / "ts2").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("embed"), std::string::npos) << r.err;
}

// ProjectOptions refuse sizes out of range, no split and a split drawn twice before any run is opened.
TEST(ProjectOptions, ValidateNamesTheOption) {
  using data::Split;
  using represent::ProjectOptions;
  EXPECT_NO_THROW(ProjectOptions().validate());
  EXPECT_ERROR_MENTIONS(ProjectOptions().per_class(0).validate(), "--per-class: must be positive, got 0");
  EXPECT_ERROR_MENTIONS(ProjectOptions().splits({}).validate(), "--splits: give at least one of train, val, test");
  EXPECT_ERROR_MENTIONS(
      represent::project_runs({"/nonexistent/run"}, ProjectOptions().splits({Split::Test, Split::Val, Split::Test})),
      "--splits: 'test' is given twice");
  EXPECT_ERROR_MENTIONS(ProjectOptions().batch_size(-1).validate(), "batch_size must be positive, got -1");
}

} // namespace
} // namespace smoothlab::testing
