// Cluster statistics of projected activations ([M] §2). See cluster_stats.h for the definitions.
#include "smoothlab/represent/cluster_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::represent {
namespace {

constexpr std::array<std::array<int, 2>, 3> kPairs{{{0, 1}, {1, 2}, {0, 2}}};
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string class_name(int64_t label, const std::vector<std::string>& names) {
  return label >= 0 && label < int64_t(names.size()) ? names[label] : std::to_string(label);
}

nlohmann::json number(double value) { // JSON has no NaN: write null
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

} // namespace

ClusterStats cluster_stats(
    const torch::Tensor& coords,
    const torch::Tensor& features,
    const torch::Tensor& labels,
    const std::array<int64_t, 3>& classes) {
  auto p = coords.to(torch::kCPU, torch::kFloat64);
  auto l = labels.to(torch::kCPU, torch::kInt64).reshape({-1});
  check(p.dim() == 2 && p.size(1) == 2, "cluster statistics: coordinates must be [N, 2]");
  check(p.size(0) == l.size(0), "cluster statistics: {} coordinates but {} labels", p.size(0), l.size(0));
  const bool full = features.defined();
  torch::Tensor x;
  if (full) {
    x = features.to(torch::kCPU, torch::kFloat64);
    check(
        x.dim() == 2 && x.size(0) == p.size(0), "cluster statistics: features must be [N, D'] with N = {}", p.size(0));
  }
  ClusterStats s;
  std::vector<torch::Tensor> centroids_full;
  std::vector<torch::Tensor> norms;
  for (int64_t cls : classes) {
    auto mask = l == cls;
    const int64_t count = mask.sum().item<int64_t>();
    check(count > 0, "cluster statistics: no examples of class {}", cls);
    ClassStats c;
    c.label = cls;
    c.count = count;
    auto pk = p.index({mask});
    auto ck = pk.mean(0);
    c.centroid = {ck[0].item<double>(), ck[1].item<double>()};
    c.spread_plane = (pk - ck).norm(2, 1).mean().item<double>();
    auto nk = pk.norm(2, 1);
    norms.push_back(nk);
    c.mean_norm = nk.mean().item<double>();
    if (full) {
      auto xk = x.index({mask});
      auto cfk = xk.mean(0);
      centroids_full.push_back(cfk);
      c.spread_full = (xk - cfk).norm(2, 1).mean().item<double>();
    } else {
      c.spread_full = kNaN;
    }
    s.classes.push_back(c);
  }
  double sum_d = 0, sum_df = 0, min_d = std::numeric_limits<double>::infinity(), max_d = 0;
  for (size_t k = 0; k < 3; ++k) {
    const auto& a = s.classes[kPairs[k][0]];
    const auto& b = s.classes[kPairs[k][1]];
    const double d = std::hypot(a.centroid[0] - b.centroid[0], a.centroid[1] - b.centroid[1]);
    s.centroid_distances[k] = d;
    sum_d += d;
    min_d = std::min(min_d, d);
    max_d = std::max(max_d, d);
    const double df = full ? (centroids_full[kPairs[k][0]] - centroids_full[kPairs[k][1]]).norm().item<double>() : kNaN;
    s.centroid_distances_full[k] = df;
    sum_df += df;
  }
  s.mean_centroid_distance = sum_d / 3;
  s.mean_centroid_distance_full = sum_df / 3;
  for (const auto& c : s.classes) {
    s.mean_spread_plane += c.spread_plane / 3;
    s.mean_spread_full += c.spread_full / 3;
  }
  s.tightness_plane = s.mean_centroid_distance > 0 ? s.mean_spread_plane / s.mean_centroid_distance
                                                   : std::numeric_limits<double>::infinity();
  s.tightness_full = full ? s.mean_spread_full / s.mean_centroid_distance_full : kNaN;
  s.regularity = max_d > 0 ? min_d / max_d : 0;
  s.mean_norm = torch::cat(norms).mean().item<double>();
  return s;
}

HeldOutShift held_out_shift(const ClusterStats& train, const ClusterStats& held_out) {
  check(train.classes.size() == held_out.classes.size(), "held-out shift: class counts differ");
  HeldOutShift h;
  for (size_t k = 0; k < train.classes.size(); ++k) {
    const auto& t = train.classes[k];
    const auto& v = held_out.classes[k];
    check(t.label == v.label, "held-out shift: classes differ ({} vs {})", t.label, v.label);
    h.labels.push_back(t.label);
    h.radial_ratio.push_back(v.mean_norm / t.mean_norm);
    h.toward_centre.push_back(1 - v.mean_norm / t.mean_norm);
    h.spread_ratio.push_back(v.spread_plane / t.spread_plane);
  }
  h.radial_ratio_all = held_out.mean_norm / train.mean_norm;
  h.toward_centre_all = 1 - h.radial_ratio_all;
  h.spread_ratio_all = held_out.mean_spread_plane / train.mean_spread_plane;
  return h;
}

nlohmann::json to_json(const ClusterStats& s, const std::vector<std::string>& names) {
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : s.classes)
    classes.push_back(
        {{"label", c.label},
         {"name", class_name(c.label, names)},
         {"count", c.count},
         {"centroid", {c.centroid[0], c.centroid[1]}},
         {"spread_plane", number(c.spread_plane)},
         {"spread_full", number(c.spread_full)},
         {"mean_norm", number(c.mean_norm)}});
  nlohmann::json pairs = nlohmann::json::array();
  for (size_t k = 0; k < 3; ++k)
    pairs.push_back(
        {{"classes",
          {class_name(s.classes[kPairs[k][0]].label, names), class_name(s.classes[kPairs[k][1]].label, names)}},
         {"distance_plane", number(s.centroid_distances[k])},
         {"distance_full", number(s.centroid_distances_full[k])}});
  return {
      {"classes", classes},
      {"centroid_distances", pairs},
      {"mean_centroid_distance_plane", number(s.mean_centroid_distance)},
      {"mean_centroid_distance_full", number(s.mean_centroid_distance_full)},
      {"mean_spread_plane", number(s.mean_spread_plane)},
      {"mean_spread_full", number(s.mean_spread_full)},
      {"tightness_plane", number(s.tightness_plane)},
      {"tightness_full", number(s.tightness_full)},
      {"regularity", number(s.regularity)},
      {"mean_norm", number(s.mean_norm)}};
}

nlohmann::json to_json(const HeldOutShift& h, const std::vector<std::string>& names) {
  nlohmann::json classes = nlohmann::json::array();
  for (size_t k = 0; k < h.labels.size(); ++k)
    classes.push_back(
        {{"label", h.labels[k]},
         {"name", class_name(h.labels[k], names)},
         {"radial_ratio", number(h.radial_ratio[k])},
         {"toward_centre", number(h.toward_centre[k])},
         {"spread_ratio", number(h.spread_ratio[k])}});
  return {
      {"classes", classes},
      {"radial_ratio", number(h.radial_ratio_all)},
      {"toward_centre", number(h.toward_centre_all)},
      {"spread_ratio", number(h.spread_ratio_all)}};
}

} // namespace smoothlab::represent
