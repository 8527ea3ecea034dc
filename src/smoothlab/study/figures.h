// The study's figures, drawn from its tables (tables.h): reliability per regime ([M] Fig. 2), ECE and NLL against
// ε with the cap rule's ε, the projections ([M] Fig. 1), students against the teachers' γ ([M] Fig. 5), the students'
// validation curves, and Î over training ([M] Fig. 6).
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "smoothlab/study/claims.h"
#include "smoothlab/study/tables.h"

namespace smoothlab::study {

// Writes each figure into fig_dir as PNG and SVG (projections into fig_dir/projection_<kind>/) and returns
// {figure key: PNG path relative to fig_dir's parent}, e.g. {"distillation": "figures/distillation.png"}.
// `when`: when_answers(tables), for the cap rule's ε on the calibration figure.
nlohmann::json write_figures(
    const Tables& tables,
    const std::vector<RegimeAnswer>& when,
    const std::filesystem::path& fig_dir);

} // namespace smoothlab::study
