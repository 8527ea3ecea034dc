// The representation study for a set of runs ([M] §2, Fig. 1): data, features, projection, statistics, verdict.
// See project_runs.h.
#include "smoothlab/represent/project_runs.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/represent/cluster_stats.h"
#include "smoothlab/represent/feature_model.h"
#include "smoothlab/represent/projection.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/viz/projection_plot.h"

namespace smoothlab::represent {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct Source {
  std::string name, kind;
  fs::path path;
  std::shared_ptr<FeatureModel> model;
  data::DataBundle data;
  std::vector<float> mean, std; // empty for TorchScript (the module normalises)
  json info = json::object();
  double smoothing = std::nan("");
};

Source open_source(const fs::path& path, const ProjectOptions& o) {
  Source s;
  s.path = path;
  s.name = path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
  if (fs::is_directory(path)) {
    auto run = train::load_run(path, o.device());
    s.kind = "run";
    s.model = classifier_feature_model(run.model, run.device);
    s.mean = run.data.mean;
    s.std = run.data.std;
    s.smoothing = run.config.smoothing;
    s.info = {
        {"model", run.config.model},
        {"epochs_done", run.epochs_done},
        {"smoothing", run.config.smoothing},
        {"data", run.config.data.source}};
    s.data = std::move(run.data);
  } else {
    if (!fs::exists(path))
      throw Error(
          fmt::format("{}: no such run folder or TorchScript file", path.string()),
          "give run folders written by smoothlab train, or a TorchScript .pt file with --data");
    s.kind = "torchscript";
    s.model = load_torchscript_model(
        path,
        TorchScriptOptions().features(o.features()).head(o.head()).device(o.device().value_or(train::Device::cpu())));
    data::DataOptions d;
    d.spec = o.data();
    // Hold out the default validation split only when it is drawn (small --data folders have no room for it).
    if (std::find(o.splits().begin(), o.splits().end(), data::Split::Val) == o.splits().end())
      d.val_size = 0;
    s.data = data::load_data(d);
    s.info = {{"data", o.data()}};
  }
  s.info["smoothing"] = std::isnan(s.smoothing) ? json(nullptr) : json(s.smoothing);
  return s;
}

const data::Dataset& split_of(const Source& s, data::Split split) {
  if (split == data::Split::Val && s.data.val.size() == 0)
    throw Error(
        fmt::format("{}: --splits val: the run has no validation split", s.path.string()), "use --splits train,test");
  return s.data.split(split);
}

json tensor_rows(const torch::Tensor& t) { // [N, 2] → [[x, y], ...]
  auto d = t.to(torch::kFloat64).contiguous();
  json out = json::array();
  for (int64_t i = 0; i < d.size(0); ++i)
    out.push_back({d[i][0].item<double>(), d[i][1].item<double>()});
  return out;
}

json int_list(const torch::Tensor& t) {
  auto d = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + d.numel());
}

std::string fmt_eps(const Source& s) {
  return std::isnan(s.smoothing) ? s.name : fmt::format("{} (ε = {:g})", s.name, s.smoothing);
}

// Every run must have the first run's classes, in the same order.
void check_same_classes(const std::vector<Source>& runs) {
  const auto& class_names = runs[0].data.class_names;
  for (const auto& r : runs)
    if (r.data.class_names != class_names)
      throw Error(
          fmt::format(
              "{}: its classes ({}) differ from those of {} ({})",
              r.path.string(),
              join(r.data.class_names),
              runs[0].path.string(),
              join(class_names)),
          "project runs trained on the same data");
}

// --classes: exactly three different classes, by name or label.
std::array<int64_t, 3> three_classes(const ProjectOptions& o, const std::vector<std::string>& class_names) {
  auto parsed = data::parse_classes(o.classes(), class_names, "--classes");
  if (parsed.size() != 3)
    throw Error(
        fmt::format("--classes: need exactly three classes, got {} ('{}')", parsed.size(), o.classes()),
        fmt::format(
            "e.g. --classes \"{}\"; known: {}",
            join(
                std::vector<std::string>(
                    class_names.begin(), class_names.begin() + std::min<size_t>(3, class_names.size())),
                ","),
            join(class_names)));
  const std::array<int64_t, 3> classes{parsed[0], parsed[1], parsed[2]};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < i; ++j)
      check(
          classes[i] != classes[j],
          "--classes: '{}' is given twice; three different classes are needed",
          class_names[classes[i]]);
  return classes;
}

// The JSON's description of the study: the classes, the frame of the plane and the options.
void describe_study(
    json& out,
    const std::array<int64_t, 3>& classes,
    const std::vector<std::string>& class_names,
    const ProjectOptions& o) {
  out["classes"] = json::array();
  for (auto c : classes)
    out["classes"].push_back({{"label", c}, {"name", class_names[c]}});
  out["frame"] =
      "origin at the templates' centroid (w_a + w_b + w_c)/3; x axis along w_b − w_a; y axis towards w_c "
      "(Gram–Schmidt); templates and features bias-augmented; classes in the order given";
  out["per_class"] = o.per_class();
  out["seed"] = o.seed();
  out["splits"] = data::split_names(o.splits());
  out["runs"] = json::array();
}

// A run's features on one split projected on the plane: the split's JSON entry; its panel and statistics are
// appended to `row` and `stats`.
json project_split(
    const Source& run,
    data::Split split,
    const Plane& plane,
    const std::array<int64_t, 3>& classes,
    const std::vector<std::string>& class_names,
    const ProjectOptions& o,
    std::vector<ProjectedSplit>& row,
    std::vector<ClusterStats>& stats) {
  const auto& dataset = split_of(run, split);
  auto indices = select_examples(dataset.labels, classes, o.per_class(), o.seed());
  auto set = collect_features(*run.model, dataset.subset(indices), run.mean, run.std, o.batch_size());
  auto coords = project(plane, set.features);
  auto s = cluster_stats(coords, set.features, set.labels, classes);
  json entry = {
      {"count", indices.numel()},
      {"indices", int_list(indices)},
      {"labels", int_list(set.labels)},
      {"coords", tensor_rows(coords)},
      {"stats", to_json(s, class_names)}};
  ProjectedSplit panel;
  panel.title = fmt::format("{} — {}", fmt_eps(run), data::split_name(split));
  panel.coords = coords;
  panel.labels = set.labels;
  panel.vertices = plane.vertices;
  panel.note =
      fmt::format("tightness {:.3f}  regularity {:.2f}  mean |p| {:.3g}", s.tightness_plane, s.regularity, s.mean_norm);
  row.push_back(std::move(panel));
  stats.push_back(s);
  return entry;
}

// One run on every split: its JSON entry; its panels and per-split statistics are appended to `row` and `stats`.
json project_run(
    const Source& run,
    const std::array<int64_t, 3>& classes,
    const std::vector<std::string>& class_names,
    const ProjectOptions& o,
    std::vector<ProjectedSplit>& row,
    std::vector<ClusterStats>& stats) {
  auto templates = run.model->templates();
  auto plane = template_plane(templates, classes);
  json r = run.info;
  r["name"] = run.name;
  r["source"] = run.path.string();
  r["kind"] = run.kind;
  r["vertices"] = tensor_rows(plane.vertices);
  r["template_distances"] = {
      (templates[classes[0]] - templates[classes[1]]).norm().item<double>(),
      (templates[classes[1]] - templates[classes[2]]).norm().item<double>(),
      (templates[classes[0]] - templates[classes[2]]).norm().item<double>()};
  r["splits"] = json::object();
  for (const auto split : o.splits())
    r["splits"][data::split_name(split)] = project_split(run, split, plane, classes, class_names, o, row, stats);
  r["held_out_shift"] = json::object();
  for (size_t k = 1; k < stats.size(); ++k)
    r["held_out_shift"][data::split_name(o.splits()[k])] = to_json(held_out_shift(stats[0], stats[k]), class_names);
  return r;
}

// A run and its statistics on the first split, as the verdict reports them.
ComparisonSide comparison_side(const Source& run, const ClusterStats& s) {
  return {run.name, run.smoothing, s.tightness_plane, s.tightness_full, s.regularity, s.mean_norm};
}

json to_json(const ComparisonSide& s) {
  return {
      {"run", s.run},
      {"smoothing", s.smoothing},
      {"tightness_plane", s.tightness_plane},
      {"tightness_full", s.tightness_full},
      {"regularity", s.regularity},
      {"mean_norm", s.mean_norm}};
}

// The verdict: smallest ε against largest ε on the first split (none unless two runs have different ε).
std::optional<ProjectComparison> compare_runs(
    const std::vector<Source>& runs,
    const std::vector<std::vector<ClusterStats>>& all_stats,
    const ProjectOptions& o) {
  size_t base = runs.size(), smooth = runs.size();
  for (size_t i = 0; i < runs.size(); ++i) {
    if (std::isnan(runs[i].smoothing))
      continue;
    if (base == runs.size() || runs[i].smoothing < runs[base].smoothing)
      base = i;
    if (smooth == runs.size() || runs[i].smoothing > runs[smooth].smoothing)
      smooth = i;
  }
  if (base == runs.size() || !(runs[smooth].smoothing > runs[base].smoothing))
    return std::nullopt;
  const auto& b = all_stats[base][0];
  const auto& s = all_stats[smooth][0];
  ProjectComparison c;
  c.split = o.splits()[0];
  c.baseline = comparison_side(runs[base], b);
  c.smoothed = comparison_side(runs[smooth], s);
  c.tightness_ratio = s.tightness_plane / b.tightness_plane;
  c.smoothed_tighter = s.tightness_plane < b.tightness_plane;
  c.smoothed_tighter_full = s.tightness_full < b.tightness_full;
  c.smoothed_more_regular = s.regularity > b.regularity;
  c.smoothed_smaller_norm = s.mean_norm < b.mean_norm;
  c.verdict = fmt::format(
      "{} {}: {} clusters are {} than {}'s (tightness {:.4f} vs {:.4f}, ratio {:.3f})",
      c.smoothed_tighter ? "consistent with [M] §2" : "NOT consistent with [M] §2",
      data::split_name(c.split),
      fmt_eps(runs[smooth]),
      c.smoothed_tighter ? "tighter" : "not tighter",
      fmt_eps(runs[base]),
      s.tightness_plane,
      b.tightness_plane,
      c.tightness_ratio);
  return c;
}

} // namespace

json to_json(const ProjectComparison& c) {
  return {
      {"split", data::split_name(c.split)},
      {"metric",
       "tightness_plane = mean within-class spread / mean distance between class centroids, in the "
       "plane (lower = tighter)"},
      {"baseline", to_json(c.baseline)},
      {"smoothed", to_json(c.smoothed)},
      {"tightness_ratio", c.tightness_ratio},
      {"smoothed_tighter", c.smoothed_tighter},
      {"smoothed_tighter_full", c.smoothed_tighter_full},
      {"smoothed_more_regular", c.smoothed_more_regular},
      {"smoothed_smaller_norm", c.smoothed_smaller_norm},
      {"verdict", c.verdict}};
}

void ProjectOptions::validate() const {
  check(per_class() > 0, "--per-class: must be positive, got {}", per_class());
  check(!splits().empty(), "--splits: give at least one of train, val, test");
  for (size_t i = 0; i < splits().size(); ++i)
    for (size_t j = 0; j < i; ++j)
      check(
          splits()[i] != splits()[j],
          "--splits: '{}' is given twice; each split is drawn once",
          data::split_name(splits()[i]));
  check(batch_size() > 0, "project: batch_size must be positive, got {}", batch_size());
}

ProjectResult project_runs(const std::vector<fs::path>& sources, const ProjectOptions& o) {
  o.validate();
  check(!sources.empty(), "project: no run folders given");
  std::vector<Source> runs;
  for (const auto& path : sources)
    runs.push_back(open_source(path, o));
  ProjectResult result;
  result.class_names = runs[0].data.class_names;
  check_same_classes(runs);
  result.classes = three_classes(o, result.class_names);
  json& out = result.json;
  describe_study(out, result.classes, result.class_names, o);
  std::vector<std::vector<ClusterStats>> all_stats;
  for (auto& run : runs) {
    std::vector<ClusterStats> stats;
    std::vector<ProjectedSplit> row;
    out["runs"].push_back(project_run(run, result.classes, result.class_names, o, row, stats));
    all_stats.push_back(stats);
    result.panels.push_back(std::move(row));
  }
  result.comparison = compare_runs(runs, all_stats, o);
  if (result.comparison)
    out["comparison"] = to_json(*result.comparison);
  return result;
}

void write_projection(const ProjectResult& result, const fs::path& out_dir) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    throw Error(fmt::format("--out {}: cannot create the folder ({})", out_dir.string(), ec.message()));
  viz::ProjectionFigureOptions options;
  std::vector<std::string> names;
  for (auto c : result.classes)
    names.push_back(result.class_names[c]);
  options.suptitle = "Penultimate activations projected on the plane of the templates of " + join(names);
  std::vector<std::vector<viz::ProjectionPanel>> panels;
  for (const auto& row : result.panels) {
    panels.emplace_back();
    for (const auto& p : row)
      panels.back().push_back({p.title, p.coords, p.labels, p.vertices, p.note});
  }
  auto fig = viz::projection_figure(panels, result.classes, result.class_names, options);
  fig.save_png(out_dir / "projection.png");
  fig.save_svg(out_dir / "projection.svg");
  write_file_atomic(out_dir / "projection.json", result.json.dump(1) + "\n");
}

} // namespace smoothlab::represent
