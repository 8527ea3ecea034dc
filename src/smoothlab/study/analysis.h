// The analysis of a finished study: per-run numbers, mean ± std over seeds per group and ε, the figures of [M]
// (reliability Fig. 2, ECE/NLL against ε, projection Fig. 1, distillation Fig. 5, Î Fig. 6) and each claim of the
// paper with the number measured here, the paper's number and a verdict (held / not held / not tested).
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/study/preset.h"

namespace smoothlab::study {

// runs_dir: OUT/runs with every run of `plan` finished and evaluated; figures are written to fig_dir (PNG + SVG).
// Returns the summary (see study.h): {"preset", "data", "regimes", "runs", "tables", "projection", "claims",
// "figures"}; figure paths are relative to fig_dir's parent.
nlohmann::json analyse_study(const StudyPreset& preset, const std::string& data, const std::vector<RunSpec>& plan,
                             const std::filesystem::path& runs_dir, const std::filesystem::path& fig_dir);

// Mean and sample standard deviation (n − 1; 0 for one value), min and max.
struct Stat {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t n = 0;
};
Stat stat_of(const std::vector<double>& values);

}  // namespace smoothlab::study
