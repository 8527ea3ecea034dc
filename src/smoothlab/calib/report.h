// The calibration report of one model ([M] §3, [G] §4.2): temperature fitted on held-out logits, and every
// metric of the evaluation split before (T = 1) and after scaling, optionally with bootstrap intervals of
// the ECE. Shared by `smoothlab calibrate` (any framework's logits) and `smoothlab eval` (a trained run).
// The temperature is fitted on the `fit` pair only; when no separate evaluation pair is given, the report
// evaluates on the fit pair itself and says so (`evaluated_on_fit_split`) — an optimistic estimate.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"

namespace smoothlab::calib {

struct ReportOptions {
  TORCH_ARG(int64_t, bins) = 15;
  TORCH_ARG(Binning, binning) = Binning::EqualWidth;
  TORCH_ARG(int64_t, bootstrap) = 0; // bootstrap replicates for the ECE interval; 0: none
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(double, level) = 0.95;
  TORCH_ARG(TemperatureOptions, temperature) = {};

 public:
  // Throws Error naming the option as the CLI spells it ("--bins must be at least 1, got 0", --bootstrap,
  // --min-temperature, --max-temperature); calibration_report calls it before looking at the logits.
  void validate() const;
};

struct CalibrationReport {
  std::string fit_name = "validation", eval_name = "test"; // where the numbers come from (files or splits)
  bool evaluated_on_fit_split = false;
  TemperatureFit fit;
  CalibrationMetrics fit_before; // metrics of the fit split at T = 1
  CalibrationMetrics before, after; // evaluation split at T = 1 and at the fitted T
  std::optional<BootstrapInterval> ci_before, ci_after;
  // Per-sample top-label confidence and correctness on the evaluation split (for the diagrams).
  std::vector<double> confidence_before, confidence_after;
  std::vector<uint8_t> correct;
};

// fit_*: held-out logits [N, K] and labels [N]; eval_*: the split to report on (undefined tensors: the fit
// pair). Checks both pairs (inputs.h) with the given names in the messages.
CalibrationReport calibration_report(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const torch::Tensor& eval_logits,
    const torch::Tensor& eval_labels,
    const ReportOptions& options = {},
    const std::string& fit_name = "validation",
    const std::string& eval_name = "test");

// {"fit": {"on", ...TemperatureFit, "metrics_before"}, "evaluated_on": name, "evaluated_on_fit_split",
//  "before": metrics, "after": metrics, "bootstrap": {"before", "after"} (when requested), "bins", "binning"}
nlohmann::json to_json(const CalibrationReport& report);

// One line per metric: name, before, after (for terminals).
std::string format_report(const CalibrationReport& report);

} // namespace smoothlab::calib
