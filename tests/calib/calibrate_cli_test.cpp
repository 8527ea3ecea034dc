// `smoothlab calibrate` end to end: metrics and T printed and written, both diagram formats, bad input → exit 2.
#include <array>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An over-confident model with 5 classes: labels drawn from softmax(z), logits 2z (int32 labels, as some tools save).
void write_pair(const fs::path& dir, const std::string& prefix, int64_t n, uint64_t seed) {
  write_overconfident_pair(dir, prefix, n, seed, 5, {}, torch::kInt32);
}

TEST(CalibCli, CalibrateWritesEverything) {
  TempDir dir;
  write_pair(dir.path(), "val", 3000, 1);
  write_pair(dir.path(), "test", 2000, 2);
  auto r = run_cli(
      {"calibrate",
       "--logits",
       (dir / "val_logits.npy").string(),
       "--labels",
       (dir / "val_labels.npy").string(),
       "--test-logits",
       (dir / "test_logits.npy").string(),
       "--test-labels",
       (dir / "test_labels.npy").string(),
       "--bootstrap",
       "50",
       "--out",
       (dir / "out").string(),
       "--threads",
       "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("T = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classwise ECE"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(dir / "out" / "calibration.json"));
  // Fitted on val only: the same T as the library's fit of the val pair.
  auto val_z = data::read_npy(dir / "val_logits.npy");
  auto val_y = data::read_npy(dir / "val_labels.npy");
  const double t = calib::fit_temperature(val_z, val_y).temperature;
  EXPECT_NEAR(j["fit"]["temperature"].get<double>(), t, 1e-12);
  EXPECT_NEAR(t, 2.0, 0.25); // logits were doubled
  EXPECT_EQ(j["fit"]["count"].get<int64_t>(), 3000);
  EXPECT_EQ(j["before"]["count"].get<int64_t>(), 2000);
  EXPECT_FALSE(j["evaluated_on_fit_split"].get<bool>());
  auto test_before =
      calib::calibration_metrics(data::read_npy(dir / "test_logits.npy"), data::read_npy(dir / "test_labels.npy"));
  EXPECT_NEAR(j["before"]["ece"].get<double>(), test_before.ece, 1e-12);
  EXPECT_LT(j["after"]["ece"].get<double>(), j["before"]["ece"].get<double>());
  EXPECT_EQ(j["after"]["accuracy"].get<double>(), j["before"]["accuracy"].get<double>());
  for (const char* key : {"nll", "brier", "mce", "rms_ce", "ece_equal_mass", "classwise_ece", "mean_confidence"})
    EXPECT_TRUE(j["after"][key].is_number()) << key;
  EXPECT_EQ(j["before"]["reliability"]["count"].size(), 15u);
  EXPECT_LE(j["bootstrap"]["before"]["low"].get<double>(), j["bootstrap"]["before"]["high"].get<double>());
  for (const char* f : {"reliability.png", "reliability.svg", "reliability_before.png", "reliability_after.svg"}) {
    const auto bytes = slurp(dir / "out" / f);
    ASSERT_GT(bytes.size(), 1000u) << f;
    if (std::string(f).find(".png") != std::string::npos)
      EXPECT_EQ(bytes.substr(1, 3), "PNG");
    else
      EXPECT_NE(bytes.find("<svg"), std::string::npos);
  }
}

TEST(CalibCli, CalibrateOnFitPairCsvAndEqualMass) {
  TempDir dir;
  std::ofstream(dir / "z.csv") << "0,1,2\n2,1,0\n0,3,0\n1,1,0\n";
  std::ofstream(dir / "y.csv") << "2\n0\n0\n1\n";
  auto r = run_cli(
      {"calibrate",
       "--logits",
       (dir / "z.csv").string(),
       "--labels",
       (dir / "y.csv").string(),
       "--binning",
       "equal-mass",
       "--bins",
       "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(dir / "calibration.json")); // default --out: the logits' folder
  EXPECT_TRUE(j["evaluated_on_fit_split"].get<bool>());
  EXPECT_EQ(j["binning"], "equal-mass");
  EXPECT_EQ(j["before"]["accuracy"].get<double>(), 0.5);
  EXPECT_NE(r.out.find("optimistic"), std::string::npos);
}

TEST(CalibCli, CalibrateBadInputExitsTwo) {
  TempDir dir;
  write_pair(dir.path(), "val", 50, 3);
  auto nan = torch::randn({50, 5});
  nan[7][0] = std::nan("");
  data::write_npy(dir / "nan.npy", nan);
  data::write_npy(dir / "flat.npy", torch::randn({50}));
  data::write_npy(dir / "short.npy", torch::zeros({49}, torch::kInt64));
  data::write_npy(dir / "k1.npy", torch::randn({50, 1}));
  data::write_npy(dir / "big.npy", torch::full({50}, 5, torch::kInt64));
  data::write_npy(dir / "empty.npy", torch::zeros({0, 5}));
  const auto labels = (dir / "val_labels.npy").string();
  const auto logits = (dir / "val_logits.npy").string();
  struct Case {
    std::string z, y, needle;
  };
  for (const auto& c : std::vector<Case>{
           {(dir / "nan.npy").string(), labels, "NaN or Inf"},
           {(dir / "flat.npy").string(), labels, "2-D"},
           {logits, (dir / "short.npy").string(), "49 labels"},
           {(dir / "k1.npy").string(), labels, "K = 1"},
           {logits, (dir / "big.npy").string(), "out of range"},
           {(dir / "empty.npy").string(), labels, "no samples"}}) {
    auto r = run_cli({"calibrate", "--logits", c.z, "--labels", c.y, "--out", (dir / "o").string()});
    EXPECT_EQ(r.exit_code, 2) << c.needle << "\n" << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    const auto file = c.needle == "49 labels" || c.needle == "out of range" ? c.y : c.z;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
  }
  auto r = run_cli({"calibrate", "--logits", logits, "--labels", labels, "--test-logits", logits});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--test-labels"), std::string::npos) << r.err;
  r = run_cli({"calibrate", "--logits", logits, "--labels", labels, "--binning", "fancy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("equal-mass"), std::string::npos) << r.err;
  // Option checks live in the library's ReportOptions::validate(); the CLI prints them as they are.
  for (const auto& [option, value, message] : std::vector<std::array<std::string, 3>>{
           {"--bins", "0", "error: --bins must be at least 1, got 0"},
           {"--bootstrap", "1", "error: --bootstrap must be 0 (off) or at least 2 replicates, got 1"},
           {"--bootstrap", "-5", "error: --bootstrap must be 0 (off) or at least 2 replicates, got -5"},
           {"--min-temperature", "0", "error: --min-temperature and --max-temperature must satisfy 0 < min < max"}}) {
    r = run_cli({"calibrate", "--logits", logits, "--labels", labels, option, value, "--out", (dir / "o2").string()});
    EXPECT_EQ(r.exit_code, 2) << option << " " << value << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "o2" / "calibration.json"));
}

} // namespace
} // namespace smoothlab::testing
