// Reliability diagrams ([G] §2 Fig. 1, [M] §3 Fig. 2): per-bin accuracy against mean confidence with the
// identity line (perfect calibration) and each bin's gap to it, and under it the confidence histogram that
// the diagram alone hides. Beside the bars, the smooth-ECE reliability curve (Błasiok & Nakkiran 2024; relplot's
// diagram) with its bootstrap band. Several models overlay in one figure (e.g. hard targets, hard + temperature
// scaling, label smoothing): each model's smooth curve, its bins as markers with their gaps, its ECE and smECE in the
// legend. PNG and SVG via viz::Figure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/calib/smooth_ece.h"
#include "smoothlab/viz/figure.h"

namespace smoothlab::viz {

struct ReliabilityCurve {
  std::string label; // e.g. "hard targets", "+ temperature scaling (T = 1.9)"
  calib::ReliabilityBins bins; // the diagram's bins (equal-width or equal-mass)
  calib::ReliabilityBins histogram; // equal-width bins for the confidence histogram
  double ece = 0;
  calib::SmoothEce smooth; // smECE, σ*, the smoothed curve and (band_replicates > 0) its band
};

// Builds a curve from per-sample top-label confidence and correctness: the bins, and the smooth curve with a band
// of `band_replicates` resamples (0: no band; calib::smooth_ece_with_band).
ReliabilityCurve make_reliability_curve(
    std::string label,
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    calib::Binning binning = calib::Binning::EqualWidth,
    int64_t band_replicates = 200);

// Two stacked panels: reliability (top) and confidence histogram (bottom). A single curve is drawn with
// Guo-style bars (accuracy per bin, the gap to the diagonal shaded) and the smooth curve with its band; several
// curves as smooth curves with their bins' markers and per-bin gap ticks. `title` becomes the caption's first part;
// the ECEs follow it.
Figure reliability_figure(const std::vector<ReliabilityCurve>& curves, const std::string& title = "Reliability");

// Writes <stem>.png and <stem>.svg (atomically); returns the two paths.
std::vector<std::filesystem::path> save_reliability_diagram(
    const std::vector<ReliabilityCurve>& curves,
    const std::filesystem::path& stem,
    const std::string& title = "Reliability");

// The diagrams of a calibration report: <stem>.{png,svg} with the evaluation split before and after temperature
// scaling (plus `extra` curves, e.g. a label-smoothing model) overlaid, and the single-model
// <stem>_before.{png,svg} / <stem>_after.{png,svg}. Returns the paths written.
std::vector<std::filesystem::path> save_calibration_diagrams(
    const calib::CalibrationReport& report,
    const std::filesystem::path& stem,
    const std::string& title = "Reliability",
    const std::vector<ReliabilityCurve>& extra = {});

} // namespace smoothlab::viz
