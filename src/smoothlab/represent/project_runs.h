// `smoothlab project` as a library call: the representation picture of [M] §2 (Fig. 1) for one or more runs —
// coordinates, cluster statistics, held-out shift and the hard-vs-smoothed verdict — plus its figure.
//
// For each source (a smoothlab run folder, or a TorchScript file, see feature_model.h), each split and the three
// classes: pick per_class examples per class with select_examples(labels, classes, per_class, seed), run the model,
// project the bias-augmented features onto the plane of the run's own templates (projection.h), and compute
// cluster_stats (cluster_stats.h). The first split is the reference for held_out_shift of the others.
// With two or more runs of different smoothing, "comparison" sets the run with the smallest ε (baseline) against
// the one with the largest (smoothed) on the first split's tightness_plane (lower = tighter): the paper's claim is
// that the smoothed run's clusters are tighter.
//
// projection.json layout:
//   {classes: [{label, name}], frame, per_class, seed, splits,
//    runs: [{name, source, kind, smoothing, model, epochs_done, vertices [3][2], template_distances [3],
//            splits: {SPLIT: {count, indices, labels, coords [N][2], stats}}, held_out_shift: {SPLIT: {...}}}],
//    comparison: {metric, baseline, smoothed, ..., smoothed_tighter, regularity, mean_norm, verdict}}
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/data/split.h"
#include "smoothlab/train/device.h"

namespace smoothlab::represent {

struct ProjectOptions {
  ProjectOptions() {}
  TORCH_ARG(std::string, classes); // three names or indices, "Shirt,Pullover,6"
  TORCH_ARG(int64_t, per_class) = 100; // examples per class and split ([M]: 100)
  TORCH_ARG(std::vector<data::Split>, splits) = std::vector<data::Split>{data::Split::Train, data::Split::Val};
  TORCH_ARG(uint64_t, seed) = 0; // example choice
  TORCH_ARG(std::optional<train::Device>, device); // nullopt: each run's own (cpu for TorchScript)
  TORCH_ARG(std::string, data) = "fashion-mnist"; // data of TorchScript sources
  TORCH_ARG(std::string, features) = "features"; // TorchScript: features method/submodule
  TORCH_ARG(std::string, head) = ""; // TorchScript: last layer's name
  TORCH_ARG(int64_t, batch_size) = 500;

 public: // (TORCH_ARG leaves the section private)
  // Throws Error naming the option (--per-class, --splits; batch_size) for values out of range: per_class and
  // batch_size ≥ 1, at least one split and none twice. project_runs calls it first; the classes are checked against
  // the runs' data there.
  void validate() const;
};

// One run's projected examples of one split: what one panel of the figure shows.
struct ProjectedSplit {
  std::string title; // e.g. "eps0 (ε = 0) — train"
  torch::Tensor coords; // [N, 2] plane coordinates
  torch::Tensor labels; // int64 [N], each one of the three classes
  torch::Tensor vertices; // [3, 2] template coordinates, in the order of the classes
  std::string note; // e.g. "tightness 0.21, regularity 0.93"
};

// One side of the comparison: a run and its statistics on the first split (cluster_stats.h).
struct ComparisonSide {
  std::string run;
  double smoothing = 0;
  double tightness_plane = 0, tightness_full = 0, regularity = 0, mean_norm = 0;
};

// The hard-vs-smoothed verdict: the run of smallest ε (baseline) against the one of largest ε (smoothed) on the
// first split; lower tightness = tighter clusters, the paper's claim for the smoothed run.
struct ProjectComparison {
  data::Split split = data::Split::Train;
  ComparisonSide baseline, smoothed;
  double tightness_ratio = 0; // smoothed / baseline tightness_plane
  bool smoothed_tighter = false, smoothed_tighter_full = false, smoothed_more_regular = false,
       smoothed_smaller_norm = false;
  std::string verdict; // one sentence, e.g. "consistent with [M] §2 train: ε = 0.1 clusters are tighter than …"
};
nlohmann::json to_json(const ProjectComparison& comparison); // projection.json's "comparison"

struct ProjectResult {
  nlohmann::json json; // projection.json (its "comparison" is to_json(*comparison))
  std::optional<ProjectComparison> comparison; // none unless two runs have different ε
  std::vector<std::vector<ProjectedSplit>> panels; // [run][split]
  std::array<int64_t, 3> classes{};
  std::vector<std::string> class_names;
};

// Throws Error for options out of range (ProjectOptions::validate), unknown classes (the hint lists the valid names),
// fewer or more than three classes, a run without a validation split asked for Split::Val, and runs whose class lists
// differ.
ProjectResult project_runs(const std::vector<std::filesystem::path>& sources, const ProjectOptions& options);

// Writes out_dir/projection.json, projection.png and projection.svg (atomically; creates out_dir); the figure is
// viz/projection_plot.h's.
void write_projection(const ProjectResult& result, const std::filesystem::path& out_dir);

} // namespace smoothlab::represent
