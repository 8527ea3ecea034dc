// Draws the representation panels of [M] §2, Fig. 1 with viz::Figure. See projection_plot.h.
#include "smoothlab/viz/projection_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::viz {
namespace {

std::vector<double> column(const torch::Tensor& t, int64_t col) {
  auto c = t.select(1, col).to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

} // namespace

void ProjectionFigureOptions::validate() const {
  check(
      panel_width > 0 && panel_height > 0,
      "projection figure: panel_width and panel_height must be positive, got {}x{}",
      panel_width,
      panel_height);
}

Figure projection_figure(
    const std::vector<std::vector<ProjectionPanel>>& panels,
    const std::array<int64_t, 3>& classes,
    const std::vector<std::string>& class_names,
    const ProjectionFigureOptions& options) {
  options.validate();
  check(!panels.empty() && !panels[0].empty(), "projection figure: no panels");
  const int rows = int(panels.size()), cols = int(panels[0].size());
  for (const auto& row : panels)
    check(int(row.size()) == cols, "projection figure: rows have different lengths");
  auto name = [&](int64_t label) {
    return label >= 0 && label < int64_t(class_names.size()) ? class_names[label] : std::to_string(label);
  };
  Figure fig(options.panel_width * cols, options.panel_height * rows + (options.suptitle.empty() ? 0 : 30), rows, cols);
  fig.suptitle = options.suptitle;
  for (int r = 0; r < rows; ++r) {
    // One square frame per row, as [M] Fig. 1: centred on the templates' centroid (the plane's origin), the
    // templates at the triangle's vertices with room for their labels, the activations around them (the frame
    // covers 99% of the points, so a few outliers do not shrink the picture).
    double reach = 0, vertex_reach = 0;
    for (const auto& panel : panels[r]) {
      if (panel.vertices.defined() && panel.vertices.numel() > 0)
        vertex_reach = std::max(vertex_reach, panel.vertices.to(torch::kFloat64).abs().max().item<double>());
      if (panel.coords.defined() && panel.coords.numel() > 0) {
        const auto extent = std::get<0>(panel.coords.to(torch::kFloat64).abs().max(1));
        reach = std::max(reach, torch::quantile(extent, 0.99).item<double>());
      }
    }
    const double half = std::max({reach * 1.08, vertex_reach * 1.4, 1e-9});
    const double cx = 0, cy = 0;
    for (int c = 0; c < cols; ++c) {
      const auto& panel = panels[r][c];
      Axes& ax = fig.axes(r, c);
      ax.title = panel.title;
      ax.equal_aspect = true;
      ax.legend_position = "upper right";
      ax.set_xlim(cx - half, cx + half);
      ax.set_ylim(cy - half, cy + half);
      ax.xlabel = "e1: along w_b − w_a (activation units)";
      ax.ylabel = "e2 (activation units)";
      auto labels = panel.labels.to(torch::kCPU, torch::kInt64);
      auto coords = panel.coords.to(torch::kCPU, torch::kFloat64);
      for (size_t k = 0; k < 3; ++k) {
        auto mask = labels == classes[k];
        auto pk = coords.index({mask});
        Style style;
        style.color = palette(k);
        style.alpha = 0.7;
        style.marker_size = 2.5;
        style.label = name(classes[k]);
        ax.scatter(
            pk.size(0) ? column(pk, 0) : std::vector<double>{},
            pk.size(0) ? column(pk, 1) : std::vector<double>{},
            style);
      }
      if (panel.vertices.defined()) {
        auto v = panel.vertices.to(torch::kCPU, torch::kFloat64);
        auto vx = column(v, 0), vy = column(v, 1);
        if (options.triangle) {
          Style tri;
          tri.color = kGray;
          tri.dashed = true;
          tri.line_width = 1.0;
          ax.line({vx[0], vx[1], vx[2], vx[0]}, {vy[0], vy[1], vy[2], vy[0]}, tri);
        }
        for (size_t k = 0; k < 3; ++k) {
          Style mark;
          mark.color = kBlack;
          mark.filled = false;
          mark.marker_size = 7;
          mark.line_width = 2.0;
          if (k == 0)
            mark.label = "templates w_k";
          ax.scatter({vx[k]}, {vy[k]}, mark);
          // The label sits outside the triangle, on the ray from the centroid through its vertex, aligned away from
          // it: the three labels never overlap one another or the triangle.
          const double norm = std::max(std::hypot(vx[k], vy[k]), 1e-12);
          const double dx = vx[k] / norm, dy = vy[k] / norm, gap = 0.06 * half;
          Style text;
          text.color = kBlack;
          ax.text(
              vx[k] + dx * gap,
              vy[k] + dy * gap,
              "w(" + name(classes[k]) + ")",
              text,
              {0.5 - 0.5 * dx, 0.5 + 0.5 * dy});
        }
      }
      if (!panel.note.empty())
        ax.note(panel.note);
    }
  }
  return fig;
}

} // namespace smoothlab::viz
