// Reliability diagrams ([G] §2 Fig. 1, [M] §3 Fig. 2): per-bin accuracy against mean confidence with the
// identity line (perfect calibration) and each bin's gap to it, and under it the confidence histogram that
// the diagram alone hides. Several models overlay in one figure (e.g. hard targets, hard + temperature
// scaling, label smoothing); each model's ECE is in the legend and in the caption. PNG and SVG via viz::Figure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/viz/figure.h"

namespace smoothlab::viz {

struct ReliabilityCurve {
  std::string label; // e.g. "hard targets", "+ temperature scaling (T = 1.9)"
  calib::ReliabilityBins bins; // the diagram's bins (equal-width or equal-mass)
  calib::ReliabilityBins histogram; // equal-width bins for the confidence histogram
  double ece = 0;
};

// Builds a curve from per-sample top-label confidence and correctness.
ReliabilityCurve make_reliability_curve(
    std::string label,
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    calib::Binning binning = calib::Binning::EqualWidth);

// Two stacked panels: reliability (top) and confidence histogram (bottom). A single curve is drawn with
// Guo-style bars (accuracy per bin, the gap to the diagonal shaded); several curves as lines with markers
// and per-bin gap ticks. `title` becomes the caption's first part; the ECEs follow it.
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
