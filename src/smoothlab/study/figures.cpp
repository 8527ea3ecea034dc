// The study's figures (figures.h).
#include "smoothlab/study/figures.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "smoothlab/calib/selective.h"
#include "smoothlab/represent/project_runs.h"
#include "smoothlab/viz/figure.h"
#include "smoothlab/viz/reliability.h"

namespace smoothlab::study {

namespace fs = std::filesystem;

namespace {

viz::Style line_style(viz::Color color, const std::string& label = "", bool dashed = false) {
  viz::Style s;
  s.color = color;
  s.label = label;
  s.dashed = dashed;
  return s;
}

viz::Style dot(viz::Color color, double size = 3) {
  viz::Style s;
  s.color = color;
  s.marker_size = size;
  return s;
}

std::string regime_label(const std::string& group) {
  return group == "teacher" ? "short schedule" : "over-confident regime";
}

// Saves fig as fig_dir/stem.{png,svg} and records the PNG under `stem`, relative to fig_dir's parent.
void save_figure(const viz::Figure& fig, const fs::path& fig_dir, const std::string& stem, FigurePaths& figures) {
  fig.save_png(fig_dir / (stem + ".png"));
  fig.save_svg(fig_dir / (stem + ".svg"));
  figures[stem] = fig_dir.filename().string() + "/" + stem + ".png";
}

viz::ReliabilityCurve curve_from(const calib::CalibrationMetrics& metrics, const std::string& label) {
  viz::ReliabilityCurve c;
  c.label = label;
  c.bins = metrics.reliability;
  c.histogram = metrics.reliability;
  c.ece = metrics.ece;
  return c;
}

void reliability_figures(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  for (const auto& g : t.regimes) {
    auto hard = t.select(g.group, 0.0), ls = t.select(g.group, t.claim_epsilon);
    if (hard.empty() || !hard[0]->scaled() || !hard[0]->calibration.after)
      continue;
    std::vector<viz::ReliabilityCurve> curves = {
        curve_from(hard[0]->calibration.before, "hard targets (ε = 0)"),
        curve_from(
            *hard[0]->calibration.after,
            fmt::format("hard + temperature scaling (T = {:.2f})", hard[0]->temperature()))};
    if (!ls.empty())
      curves.push_back(curve_from(
          ls[0]->calibration.before, fmt::format("label smoothing (ε = {})", format_epsilon(t.claim_epsilon))));
    const std::string stem = "reliability_" + g.group;
    viz::save_reliability_diagram(
        curves,
        fig_dir / stem,
        fmt::format(
            "Reliability, test split, seed {} — {}",
            hard[0]->spec.seed,
            g.group == "teacher" ? "short schedule" : "over-confident regime"));
    figures[stem] = fig_dir.filename().string() + "/" + stem + ".png";
  }
}

void calibration_figure(
    const Tables& t,
    const std::vector<RegimeAnswer>& when,
    const fs::path& fig_dir,
    FigurePaths& figures) {
  viz::Figure fig(1100, 420, 1, 2);
  auto& ece_ax = fig.axes(0, 0);
  auto& nll_ax = fig.axes(0, 1);
  ece_ax.title = "ECE (15 bins, test) against ε";
  ece_ax.xlabel = "label smoothing ε";
  ece_ax.ylabel = "ECE";
  nll_ax.title = "NLL (test) against ε";
  nll_ax.xlabel = "label smoothing ε";
  nll_ax.ylabel = "NLL";
  ece_ax.legend_position = "upper left";
  nll_ax.legend_position = "upper left";
  for (size_t gi = 0; gi < t.regimes.size(); ++gi) {
    const auto& g = t.regimes[gi];
    std::vector<double> xs, ece, nll;
    for (double eps : g.epsilons) {
      const CalibRow* r = t.calibration_row(g.group, eps);
      if (!r || r->ece.n == 0)
        continue;
      xs.push_back(eps);
      ece.push_back(r->ece.mean);
      nll.push_back(r->nll.mean);
    }
    const std::string label = regime_label(g.group);
    const auto color = viz::palette(gi);
    ece_ax.line(xs, ece, line_style(color, label));
    ece_ax.scatter(xs, ece, dot(color));
    nll_ax.line(xs, nll, line_style(color, label));
    nll_ax.scatter(xs, nll, dot(color));
    if (const CalibRow* h = t.calibration_row(g.group, 0.0); h && h->ece_ts.n > 0 && !xs.empty()) {
      const double ts = h->ece_ts.mean, nts = h->nll_ts.mean;
      ece_ax.line({xs.front(), xs.back()}, {ts, ts}, line_style(color, label + ": ε = 0 + temperature scaling", true));
      nll_ax.line(
          {xs.front(), xs.back()}, {nts, nts}, line_style(color, label + ": ε = 0 + temperature scaling", true));
    }
    for (const auto& a : when)
      if (a.group == g.group && std::isfinite(a.cap_epsilon) && !ece.empty()) {
        const auto [lo, hi] = std::minmax_element(ece.begin(), ece.end());
        ece_ax.line(
            {a.cap_epsilon, a.cap_epsilon},
            {*lo, *hi},
            line_style(color, fmt::format("{}: cap rule ε = {:.3f}", label, a.cap_epsilon), true));
      }
  }
  fig.suptitle = "Calibration against label smoothing (mean over seeds)";
  save_figure(fig, fig_dir, "ece_nll_vs_eps", figures);
}

void projection_figures(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  for (const auto& p : t.projection) {
    if (!p.result)
      continue;
    represent::write_projection(*p.result, fig_dir / ("projection_" + p.kind));
    figures["projection_" + p.kind] = fig_dir.filename().string() + "/projection_" + p.kind + "/projection.png";
  }
}

void distillation_figure(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  if (t.distillation.empty())
    return;
  viz::Figure fig(760, 480);
  auto& ax = fig.axes(0, 0);
  ax.title = "Students: test accuracy against the teacher's equivalent smoothing γ";
  ax.xlabel = "γ (teacher) or ε (trained directly with LS)";
  ax.ylabel = "student test accuracy";
  ax.legend_position = "lower left";
  const std::vector<std::string> series = {"hard teacher", "smoothed teacher", "trained with LS (no teacher)"};
  for (size_t si = 0; si < series.size(); ++si) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& row : t.distillation)
      if (row.series == series[si])
        pts.push_back({row.gamma.mean, row.student_accuracy.mean});
    std::sort(pts.begin(), pts.end());
    std::vector<double> xs, ys;
    for (auto& [x, y] : pts)
      xs.push_back(x), ys.push_back(y);
    const std::string label = si == 0 ? "hard teacher, T varied" : si == 1 ? "smoothed teachers, T = 1" : series[si];
    ax.line(xs, ys, line_style(viz::palette(si), label, si == 2));
    ax.scatter(xs, ys, dot(viz::palette(si), 4));
  }
  for (const auto& row : t.distillation)
    if (row.series == "hard teacher")
      ax.text(row.gamma.mean, row.student_accuracy.mean, fmt::format("T={:g}", row.temperature), dot(viz::palette(0)));
  save_figure(fig, fig_dir, "distillation", figures);
}

void mutual_information_figure(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  if (t.mutual_information.empty())
    return;
  viz::Figure fig(760, 440);
  auto& ax = fig.axes(0, 0);
  ax.title = "Î(example; logit gap) over training";
  ax.xlabel = "epoch (steps / steps per epoch)";
  ax.ylabel = "Î (nats)";
  ax.legend_position = "lower right";
  double max_epoch = 1;
  for (size_t i = 0; i < t.mutual_information.size(); ++i) {
    const auto& row = t.mutual_information[i];
    std::vector<double> xs, ys;
    for (const auto& p : row.points) {
      xs.push_back(p.epoch);
      ys.push_back(p.mi.mean);
      max_epoch = std::max(max_epoch, p.epoch);
    }
    // The colour of the ε's place in the teacher grid, as before the tables existed.
    size_t color = i;
    if (!t.regimes.empty())
      for (size_t k = 0; k < t.regimes[0].epsilons.size(); ++k)
        if (t.regimes[0].epsilons[k] == row.epsilon)
          color = k;
    ax.line(xs, ys, line_style(viz::palette(color), fmt::format("ε = {}", format_epsilon(row.epsilon))));
    ax.scatter(xs, ys, dot(viz::palette(color), 4));
  }
  ax.line({0.0, max_epoch}, {std::log(2.0), std::log(2.0)}, line_style(viz::kGray, "log 2", true));
  save_figure(fig, fig_dir, "mutual_information", figures);
}

void student_curves_figure(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  if (t.distillation.empty())
    return;
  viz::Figure fig(760, 480);
  auto& ax = fig.axes(0, 0);
  ax.title = "Students: validation accuracy per epoch";
  ax.xlabel = "epoch";
  ax.ylabel = "validation accuracy";
  ax.legend_position = "lower right";
  size_t color = 0;
  for (const auto& row : t.distillation) {
    std::vector<double> xs, ys;
    for (size_t e = 0; e < row.val_curve.size(); ++e)
      if (std::isfinite(row.val_curve[e])) {
        xs.push_back(double(e + 1));
        ys.push_back(row.val_curve[e]);
      }
    if (xs.empty())
      continue;
    const std::string label = row.series == "hard teacher" ? fmt::format("hard teacher, T = {:g}", row.temperature)
        : row.series == "smoothed teacher" ? fmt::format("ε = {} teacher, T = 1", format_epsilon(row.teacher_epsilon))
                                           : fmt::format("trained with ε = {}", format_epsilon(row.teacher_epsilon));
    const bool direct = row.series == "trained with LS (no teacher)";
    ax.line(xs, ys, line_style(viz::palette(color), label, direct));
    ax.scatter(xs, ys, dot(viz::palette(color), 3));
    ++color;
  }
  save_figure(fig, fig_dir, "student_curves", figures);
}

} // namespace

// Risk–coverage curves of the first seed's ε = 0 and claim-ε runs per regime (Xia et al. 2025, Fig. 1): max-softmax
// confidence solid, the normalised max logit dashed.
void risk_coverage_figure(const Tables& t, const fs::path& fig_dir, FigurePaths& figures) {
  std::vector<const Regime*> shown;
  for (const auto& g : t.regimes) {
    const auto hard = t.select(g.group, 0.0), ls = t.select(g.group, t.claim_epsilon);
    if (!hard.empty() && !ls.empty() && hard[0]->predictions && ls[0]->predictions)
      shown.push_back(&g);
  }
  if (shown.empty())
    return;
  viz::Figure fig(550 * int(shown.size()), 420, 1, int(shown.size()));
  for (size_t gi = 0; gi < shown.size(); ++gi) {
    const auto& g = *shown[gi];
    auto& ax = fig.axes(0, int(gi));
    ax.title = regime_label(g.group);
    ax.xlabel = "coverage (share of test examples accepted)";
    ax.ylabel = "selective risk (error rate of the accepted)";
    ax.legend_position = "upper left";
    const std::pair<double, const RunRow*> arms[] = {
        {0.0, t.select(g.group, 0.0)[0]}, {t.claim_epsilon, t.select(g.group, t.claim_epsilon)[0]}};
    for (size_t a = 0; a < 2; ++a) {
      const auto& p = *arms[a].second->predictions;
      const auto color = viz::palette(a);
      const auto msp = calib::risk_coverage(p.ranked, p.correct);
      ax.line(
          msp.coverage,
          msp.risk,
          line_style(
              color,
              fmt::format("ε = {}: AURC {:.4f}", format_epsilon(arms[a].first), arms[a].second->selective().aurc)));
      if (p.ranked_logit_norm.size() == p.correct.size() && p.logit_norm_p > 0) {
        const auto norm = calib::risk_coverage(p.ranked_logit_norm, p.correct);
        ax.line(
            norm.coverage,
            norm.risk,
            line_style(
                color,
                fmt::format(
                    "ε = {}, logit norm p = {}: {:.4f}",
                    format_epsilon(arms[a].first),
                    p.logit_norm_p,
                    arms[a].second->selective(true).aurc),
                true));
      }
    }
  }
  fig.suptitle = "Risk against coverage: accept the most confident, reject the rest (first seed)";
  save_figure(fig, fig_dir, "risk_coverage", figures);
}

FigurePaths write_figures(const Tables& tables, const std::vector<RegimeAnswer>& when, const fs::path& fig_dir) {
  FigurePaths figures;
  reliability_figures(tables, fig_dir, figures);
  calibration_figure(tables, when, fig_dir, figures);
  risk_coverage_figure(tables, fig_dir, figures);
  projection_figures(tables, fig_dir, figures);
  distillation_figure(tables, fig_dir, figures);
  student_curves_figure(tables, fig_dir, figures);
  mutual_information_figure(tables, fig_dir, figures);
  return figures;
}

} // namespace smoothlab::study
