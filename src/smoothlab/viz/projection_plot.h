// The paper's representation figure ([M] §2, Fig. 1): panels of penultimate activations projected onto the
// plane through three class templates (represent/projection.h), one colour per class, template vertices marked.
//
//   rows    one per run (e.g. hard targets, ε = 0.1)
//   columns one per split (training, held-out)
// All panels of a row share the same x and y limits (covering every point and vertex of the row, equal aspect),
// so training and held-out of one run can be compared by eye; different runs keep their own scale, which the
// axis ticks show (without LS the projections reach much larger magnitudes).
#pragma once

#include <array>
#include <string>
#include <vector>

#include <torch/types.h>

#include "smoothlab/viz/figure.h"

namespace smoothlab::viz {

struct ProjectionPanel {
  std::string title; // e.g. "eps0 (ε = 0) — train"
  torch::Tensor coords; // [N, 2] plane coordinates
  torch::Tensor labels; // int64 [N], each one of the three classes
  torch::Tensor vertices; // [3, 2] template coordinates, in the order of the classes
  std::string note; // shown in the top-left corner, e.g. "tightness 0.21, regularity 0.93"
};

struct ProjectionFigureOptions {
  int panel_width = 420, panel_height = 400;
  std::string suptitle;
  bool triangle = true; // dashed triangle through the template vertices

  // Throws Error unless panel_width and panel_height are positive. projection_figure calls it.
  void validate() const;
};

// panels[row][col]; every row must have the same number of panels. class_names: names of all classes (indexed by
// label); classes: the three labels in the order of the vertices. Returns the figure; save it with save_png/save_svg.
Figure projection_figure(
    const std::vector<std::vector<ProjectionPanel>>& panels,
    const std::array<int64_t, 3>& classes,
    const std::vector<std::string>& class_names,
    const ProjectionFigureOptions& options = {});

} // namespace smoothlab::viz
