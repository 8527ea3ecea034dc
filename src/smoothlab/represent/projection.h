// The representation picture of Müller, Kornblith & Hinton, "When Does Label Smoothing Help?", §2 (Fig. 1):
// penultimate activations projected onto the plane through the templates of three classes.
//
// Logit k is x·w_k, where x is the penultimate activation with a 1 appended and w_k is row k of the last layer
// with its bias appended (the class template). Since ‖x − w_k‖² = xᵀx − 2xᵀw_k + w_kᵀw_k, a logit measures how
// close x is to w_k. For three classes a, b, c the plane through w_a, w_b, w_c has directions
// span{w_b − w_a, w_c − w_a}; projecting onto it shows how the clusters sit relative to the templates.
//
// Fixed frame (so that figures and statistics of different runs are comparable):
//   origin   o  = (w_a + w_b + w_c) / 3, the templates' centroid
//   axis 1   e1 = (w_b − w_a) / ‖w_b − w_a‖                     (w_a → w_b points along +x)
//   axis 2   e2 = r / ‖r‖,  r = (w_c − w_a) − ((w_c − w_a)·e1) e1  (Gram–Schmidt: w_c lies at y > 0)
//   coords   p(x) = [ (x − o)·e1, (x − o)·e2 ]
// So the vertices satisfy v_a + v_b + v_c = 0, v_b − v_a = (‖w_b − w_a‖, 0), and v_c has positive y.
// Giving the classes in another order moves every point by the same rotation/reflection about the origin,
// so distances and norms in the plane — everything in cluster_stats.h — do not depend on the order.
// All arithmetic is float64 (inputs of any floating type are converted).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace smoothlab::represent {

// Appends a column of ones: features [N, D] → [N, D + 1] float64.
torch::Tensor augment_features(const torch::Tensor& features);

// The class templates, last-layer weights with the bias appended: weight [K, D], bias [K] → [K, D + 1] float64.
// An undefined bias counts as zero. Throws Error when the shapes disagree.
torch::Tensor class_templates(const torch::Tensor& weight, const torch::Tensor& bias);

struct Plane {
  torch::Tensor origin; // float64 [D'], the templates' centroid
  torch::Tensor axes; // float64 [2, D'], orthonormal rows e1, e2
  torch::Tensor vertices; // float64 [3, 2], coordinates of w_a, w_b, w_c (in the order given)
};

// The plane through three templates (each [D'], any floating type), in the frame documented above.
// Throws Error when the three templates are (numerically) collinear or coincide: no plane is defined.
Plane template_plane(const torch::Tensor& w_a, const torch::Tensor& w_b, const torch::Tensor& w_c);

// The plane through rows classes[0..2] of templates [K, D']. Throws Error for a class index out of range or repeated.
Plane template_plane(const torch::Tensor& templates, const std::array<int64_t, 3>& classes);

// Plane coordinates p(x) = (x − o)·[e1, e2]ᵀ: points [N, D'] → [N, 2] float64. A point already in the plane keeps its
// position exactly (o + u e1 + v e2 ↦ (u, v)); a point whose offset from o is orthogonal to the plane maps to (0, 0).
torch::Tensor project(const Plane& plane, const torch::Tensor& points);

// Seeded example choice for reproducible figures: a permutation of 0..N−1 drawn from `seed` (mt19937_64,
// Fisher–Yates) is walked in order and the first `per_class` positions whose label is classes[k] are kept, for
// each k. Returns int64 positions grouped by class in the order given, each group in permutation order.
// A class with fewer than per_class examples contributes all of them. labels: int64 [N].
torch::Tensor select_examples(
    const torch::Tensor& labels,
    const std::array<int64_t, 3>& classes,
    int64_t per_class,
    uint64_t seed);
// The same for any number of classes.
torch::Tensor select_examples_of(
    const torch::Tensor& labels,
    const std::vector<int64_t>& classes,
    int64_t per_class,
    uint64_t seed);

} // namespace smoothlab::represent
