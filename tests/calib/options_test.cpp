// The calibration options' validate(): each bad value is refused by the library function that takes the options,
// with a message naming the option as the CLI spells it (the CLI and the Python package print it as it is).
#include <torch/torch.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/compare.h"
#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using calib::ReportOptions;

struct Logits {
  torch::Tensor z, y;
};
Logits some_logits() {
  torch::manual_seed(3);
  return {torch::randn({40, 4}) * 2, torch::randint(0, 4, {40}, torch::kInt64)};
}

TEST(CalibOptions, ReportRefusesBadBinsAndBootstrap) {
  const auto d = some_logits();
  auto report = [&](const ReportOptions& o) { calib::calibration_report(d.z, d.y, {}, {}, o); };
  EXPECT_ERROR_MENTIONS(report(ReportOptions().bins(0)), "--bins must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(report(ReportOptions().bins(-3)), "--bins must be at least 1, got -3");
  EXPECT_ERROR_MENTIONS(
      report(ReportOptions().bootstrap(1)), "--bootstrap must be 0 (off) or at least 2 replicates, got 1");
  EXPECT_ERROR_MENTIONS(
      report(ReportOptions().bootstrap(-1)), "--bootstrap must be 0 (off) or at least 2 replicates, got -1");
  EXPECT_ERROR_MENTIONS(report(ReportOptions().level(1.5)), "confidence level must lie in (0, 1), got 1.5");
  EXPECT_ERROR_MENTIONS(
      report(ReportOptions().temperature(calib::TemperatureOptions().min_temperature(2).max_temperature(1))),
      "--min-temperature and --max-temperature must satisfy 0 < min < max < inf, got [2, 1]");
  // The options are checked before the logits: bad options and no logits at all give the options' message.
  EXPECT_ERROR_MENTIONS(calib::calibration_report({}, {}, {}, {}, ReportOptions().bins(0)), "--bins");
  // The smallest accepted values pass.
  const auto r = calib::calibration_report(d.z, d.y, {}, {}, ReportOptions().bins(1).bootstrap(2));
  EXPECT_EQ(r.before.bins, 1);
  ASSERT_TRUE(r.ci_before.has_value());
  EXPECT_EQ(r.ci_before->replicates, 2);
}

TEST(CalibOptions, MeterAndTemperatureFitRefuseBadOptions) {
  const auto d = some_logits();
  EXPECT_ERROR_MENTIONS(calib::CalibrationMeter(calib::MeterOptions().bins(0)), "--bins must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(
      calib::calibration_metrics(d.z, d.y, calib::MeterOptions().bins(0)), "--bins must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(
      calib::CalibrationMeter(calib::MeterOptions().temperature(0)), "temperature must be a positive number, got 0");
  EXPECT_ERROR_MENTIONS(
      calib::fit_temperature(d.z, d.y, calib::TemperatureOptions().min_temperature(0)),
      "--min-temperature and --max-temperature must satisfy 0 < min < max < inf, got [0, 100]");
  EXPECT_ERROR_MENTIONS(
      calib::fit_temperature(d.z, d.y, calib::TemperatureOptions().max_temperature(INFINITY)), "--max-temperature");
  EXPECT_ERROR_MENTIONS(
      calib::fit_temperature(d.z, d.y, calib::TemperatureOptions().max_iterations(0)),
      "max_iterations must be at least 1, got 0");
}

TEST(CalibOptions, CalibratorAndCompareRefuseBadOptions) {
  const auto d = some_logits();
  auto make = [](auto set) {
    calib::CalibratorOptions o;
    set(o);
    return calib::make_calibrator("temperature", o);
  };
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.tolerance = 0; }), "calibrator tolerance must be a positive number");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.tolerance = NAN; }), "calibrator tolerance");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.max_iterations = 0; }), "max_iterations must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.odir_lambda = -1; }), "ODIR lambda must be ≥ 0 and finite, got -1");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.odir_mu = INFINITY; }), "ODIR mu must be ≥ 0 and finite, got inf");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.bins = 0; }), "--bins must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(make([](auto& o) { o.spline_knots = 2; }), "spline knots must be at least 3, got 2");
  make([](auto& o) { o.spline_knots = 3, o.bins = 1, o.odir_lambda = o.odir_mu = 0; }); // the edges pass

  auto compare = [&](auto set) {
    calib::CompareOptions o;
    o.methods = {"temperature", "histogram"};
    o.bootstrap = 0;
    set(o);
    return calib::compare_calibrators(d.z, d.y, d.z, d.y, o);
  };
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.folds = 1; }), "--folds must be at least 2, got 1");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.folds = 41; }), "--folds 41 exceeds the 40 fit examples");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.level = 1; }), "the interval level must lie in (0, 1), got 1");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.bootstrap = -1; }), "--bootstrap must be ≥ 0, got -1");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.methods = {}; }), "--methods names no calibrator");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.methods = {"platt"}; }), "--methods: unknown calibrator 'platt'");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.bin_grid = {10, 0}; }), "bin grid values must be at least 1, got 0");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.odir_grid = {}; }), "the ODIR grid (λ = μ candidates) is empty");
  EXPECT_ERROR_MENTIONS(compare([](auto& o) { o.calibrator.spline_knots = 1; }), "spline knots must be at least 3");
  // The options are checked before the logits.
  calib::CompareOptions bad;
  bad.folds = 0;
  EXPECT_ERROR_MENTIONS(calib::compare_calibrators({}, {}, {}, {}, bad), "--folds");
  EXPECT_EQ(compare([](auto&) {}).rows.size(), 2u);
}

} // namespace
} // namespace smoothlab::testing
