// The study's figures, drawn from its tables (tables.h): reliability per regime ([M] Fig. 2), ECE and NLL against
// ε with the cap rule's ε, the projections ([M] Fig. 1), students against the teachers' γ ([M] Fig. 5), the students'
// validation curves, and Î over training ([M] Fig. 6).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "smoothlab/study/claims.h"
#include "smoothlab/study/tables.h"

namespace smoothlab::study {

// Figure key → its PNG's path relative to the study folder, e.g. {"distillation": "figures/distillation.png"}.
using FigurePaths = std::map<std::string, std::string>;

// Writes each figure into fig_dir as PNG and SVG (projections into fig_dir/projection_<kind>/) and returns their
// paths relative to fig_dir's parent. `when`: when_answers(tables), for the cap rule's ε on the calibration figure.
FigurePaths write_figures(
    const Tables& tables,
    const std::vector<RegimeAnswer>& when,
    const std::filesystem::path& fig_dir);

} // namespace smoothlab::study
