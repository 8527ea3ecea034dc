// `smoothlab calibrate --methods` and `smoothlab calibrate apply` end to end: the ranked table and its files, the
// saved calibrators applied to new logits reproduce the library's output, and bad input exits 2 naming the option.
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// Over-confident logits (labels drawn from softmax(z + shift), logits 2z) with a class bias the vector/matrix maps can
// fix.
void write_biased_pair(const fs::path& dir, const std::string& prefix, int64_t n, uint64_t seed) {
  write_overconfident_pair(dir, prefix, n, seed, 4, {0.8f, 0.0f, -0.4f, 0.0f});
}

TEST(CalibCompareCli, RanksEveryMethodAndAppliesSavedFits) {
  TempDir dir;
  write_biased_pair(dir.path(), "val", 2000, 1);
  write_biased_pair(dir.path(), "test", 1500, 2);
  auto r = run_cli(
      {"calibrate",
       "--methods",
       "all",
       "--folds",
       "3",
       "--bootstrap",
       "200",
       "--logits",
       (dir / "val_logits.npy").string(),
       "--labels",
       (dir / "val_labels.npy").string(),
       "--test-logits",
       (dir / "test_logits.npy").string(),
       "--test-labels",
       (dir / "test_labels.npy").string(),
       "--out",
       (dir / "out").string(),
       "--threads",
       "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir / "out" / "comparison.json");
  const auto j = nlohmann::json::parse(in);
  const auto& rows = j.at("ranking");
  ASSERT_EQ(rows.size(), calib::calibrator_names().size());
  for (size_t i = 1; i < rows.size(); ++i)
    EXPECT_LE(rows[i - 1]["metrics"]["nll"].get<double>(), rows[i]["metrics"]["nll"].get<double>());
  double ts_nll = 0, vector_nll = 0;
  for (const auto& row : rows) {
    const auto name = row["method"].get<std::string>();
    EXPECT_TRUE(row["fit"]["converged"].get<bool>()) << name;
    EXPECT_NE(r.out.find(name), std::string::npos);
    if (name == "temperature")
      ts_nll = row["metrics"]["nll"].get<double>();
    if (name == "vector")
      vector_nll = row["metrics"]["nll"].get<double>();
    if (name == "dirichlet" || name == "matrix" || name == "histogram") {
      EXPECT_TRUE(row["cross_validation"].contains("candidates")) << name;
    }
    if (name != "temperature") {
      const auto& d = row["nll_vs_temperature"];
      EXPECT_LE(d["low"].get<double>(), d["estimate"].get<double>());
      EXPECT_GE(d["high"].get<double>(), d["estimate"].get<double>());
    }
    EXPECT_TRUE(fs::exists(dir / "out" / "calibrators" / (name + ".json"))) << name;
  }
  // A per-class bias of 0.8 logits over 1500 test examples: vector scaling (which can learn it) beats TS on NLL.
  EXPECT_LT(vector_nll, ts_nll);
  EXPECT_TRUE(fs::exists(dir / "out" / "comparison.png"));
  EXPECT_TRUE(fs::exists(dir / "out" / "comparison.svg"));

  // apply: the saved Dirichlet fit on the test logits equals the library's own application of the same file.
  const auto saved = dir / "out" / "calibrators" / "dirichlet.json";
  r = run_cli(
      {"calibrate",
       "apply",
       "--calibrator",
       saved.string(),
       "--logits",
       (dir / "test_logits.npy").string(),
       "--out",
       (dir / "applied").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream state_in(saved);
  const auto cal = calib::load_calibrator(nlohmann::json::parse(state_in), saved.string());
  const auto expected = cal->log_probs(data::read_npy(dir / "test_logits.npy")).to(torch::kFloat32);
  EXPECT_TENSOR_NEAR(data::read_npy(dir / "applied" / "log_probs.npy"), expected, 0, 0);

  // Bad input: exit 2 with one error line naming the option or file.
  torch::manual_seed(3);
  data::write_npy(dir / "k5.npy", torch::randn({10, 5}));
  r = run_cli({"calibrate", "apply", "--calibrator", saved.string(), "--logits", (dir / "k5.npy").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: --logits"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("K = 5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("K = 4"), std::string::npos) << r.err;
  data::write_npy(dir / "few_logits.npy", torch::randn({3, 4}));
  data::write_npy(dir / "few_labels.npy", torch::tensor({0, 1, 2}, torch::kInt64));
  r = run_cli(
      {"calibrate",
       "--methods",
       "vector",
       "--logits",
       (dir / "few_logits.npy").string(),
       "--labels",
       (dir / "few_labels.npy").string(),
       "--out",
       (dir / "few").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: --folds 5 exceeds the 3 fit examples"), std::string::npos) << r.err;
  r = run_cli(
      {"calibrate",
       "--methods",
       "vector,platt",
       "--logits",
       (dir / "val_logits.npy").string(),
       "--labels",
       (dir / "val_labels.npy").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: --methods: unknown calibrator 'platt'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: known: all, temperature"), std::string::npos) << r.err;
  write_bytes(dir / "broken.json", "{\"method\": \"vector\"");
  r = run_cli(
      {"calibrate", "apply", "--calibrator", (dir / "broken.json").string(), "--logits", (dir / "k5.npy").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
}

} // namespace
} // namespace smoothlab::testing
