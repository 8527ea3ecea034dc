// Numbers for the representation picture ([M] §2, Fig. 1): how tight the class clusters are, how regular the
// triangle they form is, how large the projections are, and how held-out points move relative to training.
//
// For the three classes a, b, c, with plane coordinates p_i (projection.h) and bias-augmented features x_i:
//   centroid_k        c_k = mean_{i in k} p_i                 (plane)      c̄_k = mean_{i in k} x_i  (full space)
//   spread_plane_k    mean_{i in k} ‖p_i − c_k‖                spread_full_k  mean_{i in k} ‖x_i − c̄_k‖
//   mean_norm_k       mean_{i in k} ‖p_i‖, the distance from the origin (the templates' centroid)
//   centroid distances d_ab = ‖c_a − c_b‖, d_bc, d_ac           (and the same for c̄ in full space)
//   mean_spread       (spread_a + spread_b + spread_c) / 3     (each class weighs the same)
//   tightness         mean_spread / mean(d_ab, d_bc, d_ac)     (lower = tighter clusters; [M]: lower with LS)
//   regularity        min(d) / max(d) of the plane centroids    (1 = equilateral triangle; [M]: near 1 with LS)
//   mean_norm         mean ‖p_i‖ over all points               ([M]: larger without LS)
// Held-out against training (held_out_shift):
//   radial_ratio_k    mean_norm_k(held-out) / mean_norm_k(train)  (< 1: held-out points sit closer to the centre)
//   toward_centre_k   1 − radial_ratio_k
//   spread_ratio_k    spread_plane_k(held-out) / spread_plane_k(train)
// Every quantity is a distance in the plane or in feature space, so none depends on the order in which the three
// classes are given (projection.h: a reorder is a rotation/reflection about the origin). Only the order of the
// per-class entries and the pair labels follow the order given.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::represent {

struct ClassStats {
  int64_t label = 0;
  int64_t count = 0;
  std::array<double, 2> centroid{}; // plane
  double spread_plane = 0, spread_full = 0, mean_norm = 0;
};

struct ClusterStats {
  std::vector<ClassStats> classes; // in the order given
  // Pairs (a, b), (b, c), (a, c) of the order given.
  std::array<double, 3> centroid_distances{}, centroid_distances_full{};
  double mean_centroid_distance = 0, mean_centroid_distance_full = 0;
  double mean_spread_plane = 0, mean_spread_full = 0;
  double tightness_plane = 0, tightness_full = 0;
  double regularity = 0;
  double mean_norm = 0;
};

// coords: [N, 2] plane coordinates; features: [N, D'] bias-augmented features of the same points, or undefined (then
// the full-space fields are NaN); labels: int64 [N]. Points whose label is not one of the three classes are ignored.
// Throws Error when a class has no points.
ClusterStats cluster_stats(
    const torch::Tensor& coords,
    const torch::Tensor& features,
    const torch::Tensor& labels,
    const std::array<int64_t, 3>& classes);

struct HeldOutShift {
  std::vector<int64_t> labels; // in the order of the statistics
  std::vector<double> radial_ratio, toward_centre, spread_ratio;
  double radial_ratio_all = 0, toward_centre_all = 0, spread_ratio_all = 0; // from the all-point / mean values
};

// Compares held-out statistics with training statistics of the same run and classes (same order).
HeldOutShift held_out_shift(const ClusterStats& train, const ClusterStats& held_out);

nlohmann::json to_json(const ClusterStats& stats, const std::vector<std::string>& class_names = {});
nlohmann::json to_json(const HeldOutShift& shift, const std::vector<std::string>& class_names = {});

} // namespace smoothlab::represent
