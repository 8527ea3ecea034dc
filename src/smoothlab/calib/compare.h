// An honest comparison of post-hoc calibrators (issue 28, item 3): every method is fitted on the fit split only, with
// its hyper-parameters chosen by k-fold cross-validation on that split (ODIR's λ = μ for matrix and Dirichlet, the
// bin count for histogram binning: the value with the lowest mean held-out-fold NLL), and evaluated once on the
// held-out evaluation split. Rows are ranked by held-out NLL. Each row carries paired bootstrap intervals of
//   Δ_NLL = NLL(TS) − NLL(method),  Δ_Brier = Brier(TS) − Brier(method)
// (positive: the method beats temperature scaling) and the study's evidence rule (study/evidence.h) with threshold 0:
// "better" when the interval's low end is > 0, "worse" when its high end is < 0, else "inconclusive". One resample
// draws the evaluation examples with replacement once and evaluates both methods on that draw; resample r uses a
// generator seeded from (seed, r), so intervals do not depend on threads.
//
// The cross-validation of matrix and Dirichlet runs each fold along the λ grid from the largest value down, every fit
// after the first warm-started from that fold's solution at the previous value (LinearCalibrator::warm_start; the
// first from temperature scaling). The folds run in parallel (one task each; scores are summed in a fixed order, so
// they do not depend on threads). Every CV fit has the same stopping rule as the final fit (options.calibrator:
// max |gradient| ≤ 1e-6 or 500 evaluations), so the CV scores are those of the same optima to that tolerance; fits
// that reach the evaluation cap stop there, as they did from cold starts. The final fit on the whole fit split
// starts from temperature scaling, as a calibrator fitted on its own does.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/meter.h"

namespace smoothlab::calib {

struct CompareOptions {
  std::vector<std::string> methods = calibrator_names(); // must include "temperature" (the reference)
  int64_t folds = 5; // k of the cross-validation on the fit split
  int64_t bins = 15; // metrics' bins
  int64_t bootstrap = 1000; // resamples of the paired intervals (0: none)
  double level = 0.95;
  uint64_t seed = 0;
  std::vector<double> odir_grid = {1e-4, 1e-3, 1e-2, 1e-1, 1.0}; // λ = μ candidates
  std::vector<int64_t> bin_grid = {5, 10, 15, 20, 30}; // histogram binning candidates
  CalibratorOptions calibrator; // tolerance, iterations

  // Throws Error naming the option for a value out of range (compare_calibrators calls it): folds ≥ 2, bins ≥ 1,
  // bootstrap ≥ 0, level in (0, 1), known methods, grids non-empty with λ = μ ≥ 0 and bins ≥ 1, calibrator's own.
  void validate() const;
};

// "all" or a comma-separated list of registry names; throws Error naming --methods on an unknown one.
std::vector<std::string> parse_methods(const std::string& text);

struct PairedInterval {
  double estimate = 0, low = 0, high = 0;
  std::string verdict = "not tested"; // "better" | "worse" | "inconclusive" | "not tested"
};

struct MethodResult {
  std::string name;
  FitReport fit;
  nlohmann::json chosen; // the cross-validated hyper-parameters ({} when none) and each candidate's CV NLL
  // Mean held-out-fold NLL of the k-fold cross-validation on the fit split, at the chosen hyper-parameters (every
  // method is cross-validated, tuned or not): what a choice among the methods may rank by without touching the
  // evaluation split. NaN when a fold's NLL is not finite.
  double cv_nll = NAN;
  CalibrationMetrics metrics; // on the evaluation split
  double accuracy_change = 0; // accuracy(method) − accuracy(uncalibrated): matrix/Dirichlet/vector may move argmax
  PairedInterval nll_vs_ts, brier_vs_ts;
  nlohmann::json state; // the fitted calibrator (Calibrator::state())
  double seconds = 0; // cross-validation + fit + evaluation
  std::vector<double> confidence; // calibrated top-label confidence per evaluation example (for the diagrams)
  std::vector<uint8_t> correct;
};

struct Comparison {
  CalibrationMetrics uncalibrated; // evaluation split at T = 1
  std::vector<double> confidence; // its top-label confidence per evaluation example
  std::vector<uint8_t> correct;
  std::vector<MethodResult> rows; // ranked by held-out NLL, best first
  int64_t fit_count = 0, eval_count = 0, folds = 0;
  bool evaluated_on_fit_split = false;
};

// fit_*: [N, K] logits and [N] labels to fit on; eval_*: the held-out pair (undefined tensors: the fit pair, flagged).
// Throws Error on bad input, fewer fit examples than folds, or folds < 2.
Comparison compare_calibrators(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const torch::Tensor& eval_logits,
    const torch::Tensor& eval_labels,
    const CompareOptions& options = {});

nlohmann::json to_json(const Comparison& c);
// The ranked table as text: method, NLL, Brier, ECE, smECE, Δaccuracy, Δ_NLL vs TS [interval] verdict.
std::string format_comparison(const Comparison& c);

} // namespace smoothlab::calib
