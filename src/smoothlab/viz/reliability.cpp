// Reliability diagrams drawn with viz::Figure (see reliability.h).
#include "smoothlab/viz/reliability.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "smoothlab/core/error.h"

namespace smoothlab::viz {

ReliabilityCurve make_reliability_curve(
    std::string label,
    const std::vector<double>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins,
    calib::Binning binning,
    int64_t band_replicates) {
  ReliabilityCurve c;
  c.label = std::move(label);
  c.bins = calib::make_bins(confidence, correct, bins, binning);
  c.histogram = binning == calib::Binning::EqualWidth ? c.bins : calib::equal_width_bins(confidence, correct, bins);
  c.ece = calib::binned_errors(c.bins).ece;
  const std::vector<double> outcome(correct.begin(), correct.end());
  c.smooth = band_replicates > 0 ? calib::smooth_ece_with_band(confidence, outcome, band_replicates)
                                 : calib::smooth_ece(confidence, outcome);
  return c;
}

namespace {

// The smooth curve's values where its kernel density is at least 2% of its peak, NaN (a gap) elsewhere: away from
// the data the curve only shows the smoother's regularisation (relplot thins the line there instead).
std::vector<double> where_dense(const calib::SmoothEce& s, const std::vector<double>& values) {
  const double peak = s.density.empty() ? 0.0 : *std::max_element(s.density.begin(), s.density.end());
  std::vector<double> out(values.size(), std::nan(""));
  for (size_t e = 0; e < values.size() && e < s.density.size(); ++e)
    if (s.density[e] >= 0.02 * peak)
      out[e] = values[e];
  return out;
}

// The caption: the title and the binning, with the ECE when there is a single model.
std::string reliability_suptitle(const std::vector<ReliabilityCurve>& curves, const std::string& title) {
  const auto& first = curves.front().bins;
  // Several models: each legend entry carries its ECE, the title only the binning (it would not fit otherwise).
  return curves.size() == 1
      ? fmt::format(
            "{} — ECE {:.4f} ({} {} bins)", title, curves.front().ece, first.size(), calib::binning_name(first.binning))
      : fmt::format("{} — ECE in the legend ({} {} bins)", title, first.size(), calib::binning_name(first.binning));
}

// One model in Guo et al.'s style: one bar per bin up to its accuracy; the gap to the bin's confidence shaded red;
// then the bins' markers and the smooth-ECE curve with its band. xs, ys: the non-empty bins' confidence, accuracy.
void add_single_model(
    Axes& rel,
    const ReliabilityCurve& c,
    Color color,
    const std::vector<double>& xs,
    const std::vector<double>& ys,
    const std::string& label) {
  const auto& b = c.bins;
  const auto& sm = c.smooth;
  std::vector<double> lefts, rights, heights;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.count[i] == 0)
      continue;
    // Equal-mass bins span their smallest..largest confidence; keep very narrow ones visible.
    lefts.push_back(b.lower[i]);
    rights.push_back(std::max(b.upper[i], b.lower[i] + 0.004));
    heights.push_back(b.accuracy(i));
  }
  rel.bars(lefts, rights, heights, Style().with_color(color).with_alpha(0.55).with_label("accuracy (" + c.label + ")"));
  bool first_gap = true;
  for (size_t i = 0; i < lefts.size(); ++i) {
    const double conf = xs[i], acc = ys[i];
    rel.bars(
        {lefts[i]},
        {rights[i]},
        {std::max(conf, acc)},
        Style().with_color(kRed).with_alpha(0.25).with_label(first_gap ? "gap to confidence" : ""),
        std::min(conf, acc));
    first_gap = false;
  }
  rel.line(xs, ys, Style().with_color(kBlack).with_line_width(1.2));
  rel.scatter(xs, ys, Style().with_color(kBlack).with_marker_size(3.0).with_label(label));
  // The smooth-ECE curve (relplot's diagram) and its bootstrap band.
  if (sm.band_replicates > 0)
    rel.band(
        sm.t,
        where_dense(sm, sm.lower),
        where_dense(sm, sm.upper),
        Style().with_color(kOrange).with_alpha(0.25).with_label(
            fmt::format("smooth curve: {:.0f}% band ({} resamples)", 100 * sm.band_level, sm.band_replicates)));
  rel.line(
      sm.t,
      where_dense(sm, sm.accuracy),
      Style().with_color(kOrange).with_line_width(2.0).with_label(
          fmt::format("smooth curve (smECE {:.4f}, σ = {:.3f})", sm.value, sm.bandwidth)));
}

// One of several models overlaid: its smooth curve, its bins as markers, and a thin tick from each to the diagonal
// (the gap).
void add_overlaid_model(
    Axes& rel,
    const ReliabilityCurve& c,
    Color color,
    const std::vector<double>& xs,
    const std::vector<double>& ys,
    const std::string& label) {
  const auto& sm = c.smooth;
  for (size_t i = 0; i < xs.size(); ++i)
    rel.line(
        {xs[i], xs[i]}, {ys[i], xs[i]}, Style().with_color(color).with_alpha(0.6).with_line_width(1.0).with_dashed());
  rel.line(sm.t, where_dense(sm, sm.accuracy), Style().with_color(color).with_line_width(2.0));
  rel.scatter(xs, ys, Style().with_color(color).with_marker_size(3.5).with_label(label));
}

// The top panel: accuracy against confidence per model, with the diagonal of perfect calibration.
void fill_reliability_panel(Axes& rel, const std::vector<ReliabilityCurve>& curves) {
  const bool single = curves.size() == 1;
  rel.title = "accuracy vs confidence (diagonal: perfectly calibrated)";
  rel.xlabel = "confidence (mean max-probability in the bin)";
  rel.ylabel = "accuracy in the bin";
  rel.set_xlim(0, 1);
  rel.set_ylim(0, 1);
  rel.equal_aspect = false;
  rel.legend_position = "upper left";
  rel.line(
      {0, 1}, {0, 1}, Style().with_color(kGray).with_line_width(1.2).with_dashed().with_label("perfect calibration"));
  for (size_t m = 0; m < curves.size(); ++m) {
    const auto& c = curves[m];
    const auto& b = c.bins;
    const Color color = palette(m);
    std::vector<double> xs, ys;
    for (size_t i = 0; i < b.size(); ++i) {
      if (b.count[i] == 0)
        continue;
      xs.push_back(b.confidence(i));
      ys.push_back(b.accuracy(i));
    }
    const std::string label = fmt::format("{} (ECE {:.4f}, smECE {:.4f})", c.label, c.ece, c.smooth.value);
    if (single)
      add_single_model(rel, c, color, xs, ys, label);
    else
      add_overlaid_model(rel, c, color, xs, ys, label);
  }
}

// A count above a histogram bar, in its model's colour.
struct CountLabel {
  double x, height;
  std::string text;
  size_t model;
};

// Model m's histogram bars, side by side with the other models' in each bin; raises `top` to the tallest, and adds
// the counts under 100 to `labels`.
void add_model_histogram(
    Axes& hist,
    const std::vector<ReliabilityCurve>& curves,
    size_t m,
    double& top,
    std::vector<CountLabel>& labels) {
  const auto& h = curves[m].histogram;
  const double models = double(curves.size());
  std::vector<double> lefts, rights, heights;
  for (size_t i = 0; i < h.size(); ++i) {
    const double w = (h.upper[i] - h.lower[i]) / models;
    lefts.push_back(h.lower[i] + w * double(m));
    rights.push_back(h.lower[i] + w * double(m + 1));
    heights.push_back(double(h.count[i]));
    top = std::max(top, heights.back());
    if (h.count[i] > 0 && h.count[i] < 100)
      labels.push_back({(lefts.back() + rights.back()) / 2, heights.back(), fmt::format("{:.0f}", h.count[i]), m});
  }
  const double mean_conf = [&] {
    double s = 0;
    for (size_t i = 0; i < h.size(); ++i)
      s += h.confidence_sum[i];
    return h.total > 0 ? s / double(h.total) : 0.0;
  }();
  hist.bars(
      lefts,
      rights,
      heights,
      Style()
          .with_color(palette(m))
          .with_alpha(0.7)
          .with_label(
              fmt::format("{} (n = {:.0f}, mean confidence {:.3f})", curves[m].label, double(h.total), mean_conf)));
}

// The bottom panel: counts, not fractions (Guo et al. Fig. 1): a bin of a few examples shows as one, and is labelled
// with its count.
void fill_histogram_panel(Axes& hist, const std::vector<ReliabilityCurve>& curves) {
  hist.title = "examples per confidence bin (bins under 100 examples are labelled with their count)";
  hist.xlabel = "confidence";
  hist.ylabel = "examples per bin";
  hist.set_xlim(0, 1);
  double top = 0;
  std::vector<CountLabel> labels;
  for (size_t m = 0; m < curves.size(); ++m)
    add_model_histogram(hist, curves, m, top, labels);
  // Each model's labels on their own line above the bars, so neighbouring models' counts never overlap.
  for (const auto& l : labels)
    hist.text(
        l.x, l.height + (0.03 + 0.06 * double(l.model)) * top, l.text, Style().with_color(palette(l.model)), {0.5, 1});
  hist.set_ylim(0, std::max(1.0, top * (1.1 + 0.06 * double(curves.size()))));
  hist.legend_position = "upper left";
}

} // namespace

Figure reliability_figure(const std::vector<ReliabilityCurve>& curves, const std::string& title) {
  check(!curves.empty(), "a reliability diagram needs at least one model");
  Figure fig(760, 980, 2, 1);
  fig.suptitle = reliability_suptitle(curves, title);
  fill_reliability_panel(fig.axes(0, 0), curves);
  fill_histogram_panel(fig.axes(1, 0), curves);
  return fig;
}

std::vector<std::filesystem::path> save_reliability_diagram(
    const std::vector<ReliabilityCurve>& curves,
    const std::filesystem::path& stem,
    const std::string& title) {
  const auto fig = reliability_figure(curves, title);
  std::filesystem::path png = stem, svg = stem;
  png += ".png";
  svg += ".svg";
  fig.save_png(png);
  fig.save_svg(svg);
  return {png, svg};
}

std::vector<std::filesystem::path> save_calibration_diagrams(
    const calib::CalibrationReport& report,
    const std::filesystem::path& stem,
    const std::string& title,
    const std::vector<ReliabilityCurve>& extra) {
  const int64_t bins = report.before.bins;
  const auto binning = report.before.binning;
  auto before = make_reliability_curve("T = 1", report.confidence_before, report.correct, bins, binning);
  auto after = make_reliability_curve(
      fmt::format("temperature scaled (T = {:.3f})", report.fit.temperature),
      report.confidence_after,
      report.correct,
      bins,
      binning);
  const std::string caption = fmt::format("{} on {}", title, report.eval_name);
  std::vector<ReliabilityCurve> all{before, after};
  all.insert(all.end(), extra.begin(), extra.end());
  std::vector<std::filesystem::path> written;
  for (const auto& [curves, suffix] : std::vector<std::pair<std::vector<ReliabilityCurve>, std::string>>{
           {all, ""}, {{before}, "_before"}, {{after}, "_after"}}) {
    auto paths = save_reliability_diagram(curves, stem.string() + suffix, caption);
    written.insert(written.end(), paths.begin(), paths.end());
  }
  return written;
}

} // namespace smoothlab::viz
