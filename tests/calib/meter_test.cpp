// CalibrationMeter: a hand-worked example, agreement with the independent float64 numpy/torch implementation
// in scripts/golden/calib_golden.py, streaming = one batch, and the trainer's compute_metrics wrapper.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/metrics.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

nlohmann::json calib_golden() {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/calib_golden.json");
  return nlohmann::json::parse(in);
}

torch::Tensor case_logits(const nlohmann::json& c) {
  auto v = c["logits"].get<std::vector<double>>();
  return torch::tensor(v, torch::kFloat64).reshape({c["n"].get<int64_t>(), c["k"].get<int64_t>()}).to(torch::kFloat32);
}

torch::Tensor case_labels(const nlohmann::json& c) {
  return torch::tensor(c["labels"].get<std::vector<int64_t>>(), torch::kInt64);
}

TEST(CalibMeter, HandWorkedTwoClasses) {
  // Rows (K = 2): z = [0, 0], y = 0 → p = (.5, .5), argmax tie → class 0, correct, conf .5
  //               z = [ln 3, 0], y = 1 → p = (.75, .25), wrong, conf .75
  //               z = [0, ln 9], y = 1 → p = (.1, .9), correct, conf .9
  // accuracy = 2/3; NLL = (ln 2 + ln 4 + ln(10/9))/3
  // Brier = [(.5−1)² + .5²  +  .75² + (.25−1)²  +  .1² + (.9−1)²]/3 = (.5 + 1.125 + .02)/3
  // ECE (M = 15): .5 ∈ bin 8, .75 ∈ bin 12, .9 ∈ bin 14, one sample each → (|1−.5| + |0−.75| + |1−.9|)/3 = .45
  // MCE = .75; RMS = sqrt((.25 + .5625 + .01)/3)
  // Class-wise: class 0 probs .5 (y=0), .75, .1 → (.5 + .75 + .1)/3 = .45; class 1 probs .5, .25 (y=1), .9 (y=1)
  //   → (.5 + .75 + .1)/3 = .45; mean over classes .45.
  auto logits = torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 0.0, std::log(9.0)}).reshape({3, 2});
  auto labels = torch::tensor({0, 1, 1}, torch::kInt64);
  auto m = calib::calibration_metrics(logits, labels);
  EXPECT_EQ(m.count, 3);
  EXPECT_EQ(m.classes, 2);
  EXPECT_NEAR(m.accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.nll, (std::log(2.0) + std::log(4.0) + std::log(10.0 / 9.0)) / 3, 1e-6);
  EXPECT_NEAR(m.brier, (0.5 + 1.125 + 0.02) / 3, 1e-6);
  EXPECT_NEAR(m.ece, 0.45, 1e-6);
  EXPECT_NEAR(m.mce, 0.75, 1e-6);
  EXPECT_NEAR(m.rms, std::sqrt((0.25 + 0.5625 + 0.01) / 3), 1e-6);
  EXPECT_NEAR(m.classwise_ece, 0.45, 1e-6);
  EXPECT_NEAR(m.mean_confidence, (0.5 + 0.75 + 0.9) / 3, 1e-6);
  EXPECT_EQ(m.reliability.count[7], 1);
  EXPECT_EQ(m.reliability.count[11], 1);
  EXPECT_EQ(m.reliability.count[13], 1);
}

TEST(CalibMeter, MatchesGoldenImplementation) {
  const auto g = calib_golden();
  ASSERT_GE(g["cases"].size(), 4u);
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto bins = c["bins"].get<int64_t>();
    for (const char* key : {"metrics", "metrics_t2"}) {
      const double t = std::string(key) == "metrics" ? 1.0 : 2.0;
      const auto& want = c[key];
      auto m =
          calib::calibration_metrics(case_logits(c), case_labels(c), calib::MeterOptions().bins(bins).temperature(t));
      EXPECT_NEAR(m.accuracy, want["accuracy"].get<double>(), 1e-12);
      EXPECT_NEAR(m.nll, want["nll"].get<double>(), 2e-6);
      EXPECT_NEAR(m.brier, want["brier"].get<double>(), 2e-6);
      EXPECT_NEAR(m.mean_confidence, want["mean_confidence"].get<double>(), 1e-6);
      EXPECT_NEAR(m.ece, want["ece"].get<double>(), 1e-6);
      EXPECT_NEAR(m.mce, want["mce"].get<double>(), 1e-5);
      EXPECT_NEAR(m.rms, want["rms_ce"].get<double>(), 1e-6);
      EXPECT_NEAR(m.ece_equal_mass, want["ece_equal_mass"].get<double>(), 1e-6);
      EXPECT_NEAR(m.classwise_ece, want["classwise_ece"].get<double>(), 1e-6);
      auto mass = calib::calibration_metrics(
          case_logits(c),
          case_labels(c),
          calib::MeterOptions().bins(bins).temperature(t).binning(calib::Binning::EqualMass));
      EXPECT_NEAR(mass.ece, want["ece_equal_mass"].get<double>(), 1e-6);
      EXPECT_NEAR(mass.mce, want["mce_equal_mass"].get<double>(), 1e-5);
      EXPECT_NEAR(mass.rms, want["rms_ce_equal_mass"].get<double>(), 1e-6);
      EXPECT_NEAR(mass.ece_equal_width, want["ece"].get<double>(), 1e-6);
    }
  }
}

TEST(CalibMeter, StreamingEqualsOneBatchAndResets) {
  torch::manual_seed(7);
  auto logits = torch::randn({1000, 37}) * 3; // K = 37: not a multiple of the 8 vector lanes
  auto labels = torch::randint(0, 37, {1000}, torch::kInt64);
  auto whole = calib::calibration_metrics(logits, labels);
  calib::CalibrationMeter meter;
  for (int64_t start = 0; start < 1000; start += 333) {
    const int64_t end = std::min<int64_t>(1000, start + 333);
    meter.add(logits.slice(0, start, end), labels.slice(0, start, end).to(torch::kInt32));
  }
  auto streamed = meter.value();
  EXPECT_EQ(streamed.count, 1000);
  EXPECT_NEAR(streamed.nll, whole.nll, 1e-12);
  EXPECT_NEAR(streamed.brier, whole.brier, 1e-12);
  EXPECT_NEAR(streamed.ece, whole.ece, 1e-12);
  EXPECT_NEAR(streamed.ece_equal_mass, whole.ece_equal_mass, 1e-12);
  EXPECT_NEAR(streamed.classwise_ece, whole.classwise_ece, 1e-9); // bin-1 sums flushed from float per 16 rows
  // An independent float64 LibTorch path for the non-binned metrics.
  auto lp = torch::log_softmax(logits.to(torch::kFloat64), 1);
  EXPECT_NEAR(whole.nll, -lp.gather(1, labels.unsqueeze(1)).mean().item<double>(), 1e-6);
  auto p = lp.exp();
  auto onehot = torch::one_hot(labels, 37).to(torch::kFloat64);
  EXPECT_NEAR(whole.brier, (p - onehot).pow(2).sum(1).mean().item<double>(), 1e-6);
  EXPECT_NEAR(whole.accuracy, logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>(), 1e-12);
  meter.reset();
  EXPECT_EQ(meter.value().count, 0);
  EXPECT_EQ(meter.value().ece, 0.0);
  meter.add(logits.slice(0, 0, 10).slice(1, 0, 5), labels.slice(0, 0, 10).remainder(5)); // new K after reset
  EXPECT_EQ(meter.value().classes, 5);
}

TEST(CalibMeter, TemperatureOneIsTheIdentityAndAccuracyIsInvariant) {
  torch::manual_seed(3);
  auto logits = torch::randn({400, 10}) * 2;
  auto labels = torch::randint(0, 10, {400}, torch::kInt64);
  auto plain = calib::calibration_metrics(logits, labels);
  auto t1 = calib::calibration_metrics(logits, labels, calib::MeterOptions().temperature(1.0));
  EXPECT_EQ(plain.nll, t1.nll);
  EXPECT_EQ(plain.ece, t1.ece);
  // softmax(z / T) computed by the meter equals the metrics of logits already divided by T.
  auto t3 = calib::calibration_metrics(logits, labels, calib::MeterOptions().temperature(3.0));
  auto scaled = calib::calibration_metrics(logits / 3.0, labels);
  EXPECT_NEAR(t3.nll, scaled.nll, 1e-6);
  EXPECT_NEAR(t3.ece, scaled.ece, 1e-6);
  EXPECT_EQ(t3.accuracy, plain.accuracy);
}

// The header's promise: sums are combined in a fixed order, so no metric depends on the thread count — the
// class-wise histogram included (it used to be merged per thread, in whatever order the threads finished).
TEST(CalibMeter, ResultsDoNotDependOnTheThreadCount) {
  const int threads_before = torch::get_num_threads();
  torch::manual_seed(11);
  const auto logits = torch::randn({20000, 37}) * 3;
  const auto labels = torch::randint(0, 37, {20000}, torch::kInt64);
  std::vector<calib::CalibrationMetrics> runs;
  for (int threads : {1, 2, 3, 4}) {
    torch::set_num_threads(threads);
    runs.push_back(calib::calibration_metrics(logits, labels, calib::MeterOptions().bins(15)));
  }
  torch::set_num_threads(threads_before);
  for (size_t i = 1; i < runs.size(); ++i) {
    SCOPED_TRACE("threads " + std::to_string(i + 1));
    EXPECT_EQ(runs[i].classwise_ece, runs[0].classwise_ece); // bitwise: the same sums in the same order
    EXPECT_EQ(runs[i].nll, runs[0].nll);
    EXPECT_EQ(runs[i].brier, runs[0].brier);
    EXPECT_EQ(runs[i].ece, runs[0].ece);
    EXPECT_EQ(runs[i].ece_equal_mass, runs[0].ece_equal_mass);
  }
  EXPECT_GT(runs[0].classwise_ece, 0.0);
}

// metrics_from_json restores the reliability bins to_json writes, and refuses bins it could not restore: arrays of
// different lengths (an out_of_range escaped) or a count that is not a whole number of examples (1e300 was cast to
// int64): both found by fuzz/study_plan.
TEST(CalibMeter, ReliabilityBinsSurviveJsonAndDamageIsAnError) {
  auto logits = torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 0.0, std::log(9.0)}).reshape({3, 2});
  const auto m = calib::calibration_metrics(logits, torch::tensor({0, 1, 1}, torch::kInt64));
  const auto j = calib::to_json(m);
  const auto back = calib::metrics_from_json(j);
  EXPECT_EQ(back.reliability.count, m.reliability.count);
  EXPECT_EQ(back.reliability.total, 3);
  EXPECT_DOUBLE_EQ(back.reliability.confidence(11), m.reliability.confidence(11));
  EXPECT_NEAR(back.reliability.confidence(11), 0.75, 1e-6); // float32 softmax
  EXPECT_NEAR(back.reliability.accuracy(13), 1.0, 1e-12);
  for (const char* key : {"lower", "upper", "count", "confidence", "accuracy"}) {
    auto damaged = j;
    damaged["reliability"][key].push_back(0.0);
    EXPECT_THROW(calib::metrics_from_json(damaged), Error) << key;
  }
  for (double count : {1e300, 0.5, -1.0}) {
    auto damaged = j;
    damaged["reliability"]["count"][0] = count;
    EXPECT_THROW(calib::metrics_from_json(damaged), Error) << count;
  }
}

TEST(CalibMeter, BadInputThrows) {
  calib::CalibrationMeter meter;
  EXPECT_THROW(meter.add(torch::zeros({4}), torch::zeros({4}, torch::kInt64)), Error);
  EXPECT_THROW(meter.add(torch::zeros({4, 1}), torch::zeros({4}, torch::kInt64)), Error);
  EXPECT_THROW(meter.add(torch::zeros({4, 3}), torch::zeros({5}, torch::kInt64)), Error);
  EXPECT_THROW(meter.add(torch::zeros({4, 3}), torch::full({4}, 3, torch::kInt64)), Error);
  EXPECT_THROW(meter.add(torch::zeros({4, 3}), torch::zeros({4})), Error);
  auto nan = torch::zeros({4, 3});
  nan[2][1] = std::nan("");
  EXPECT_THROW(meter.add(nan, torch::zeros({4}, torch::kInt64)), Error);
  meter.add(torch::zeros({2, 3}), torch::zeros({2}, torch::kInt64));
  EXPECT_THROW(meter.add(torch::zeros({2, 4}), torch::zeros({2}, torch::kInt64)), Error); // K changed
  EXPECT_THROW(calib::CalibrationMeter(calib::MeterOptions().temperature(0)), Error);
}

TEST(CalibMeter, ComputeMetricsKeepsItsContract) {
  auto logits = torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 0.0, std::log(9.0)}).reshape({3, 2});
  auto m = calib::compute_metrics(logits, torch::tensor({0, 1, 1}, torch::kInt64), 15);
  EXPECT_EQ(m.count, 3);
  EXPECT_NEAR(m.ece, 0.45, 1e-6);
  EXPECT_NEAR(m.brier, (0.5 + 1.125 + 0.02) / 3, 1e-6);
}

} // namespace
} // namespace smoothlab::testing
