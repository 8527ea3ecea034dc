// Tests for represent/projection: the plane through three templates, its frame, and the seeded example choice.
#include "smoothlab/represent/projection.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::represent {
namespace {

torch::Tensor random_templates(int64_t k, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({k, d}, torch::kFloat64);
}

torch::Tensor json_tensor(const nlohmann::json& j) {
  if (j.is_array() && !j.empty() && j[0].is_array()) {
    std::vector<torch::Tensor> rows;
    for (const auto& row : j)
      rows.push_back(json_tensor(row));
    return torch::stack(rows);
  }
  return torch::tensor(j.get<std::vector<double>>(), torch::kFloat64);
}

TEST(ProjectionTest, TemplatesLandOnTheirVertices) {
  auto t = random_templates(5, 6, 1);
  auto plane = template_plane(t, {1, 3, 4});
  auto projected = project(plane, torch::stack({t[1], t[3], t[4]}));
  EXPECT_TENSOR_NEAR(projected, plane.vertices, 0, 1e-12);
  // Documented frame: origin at the centroid (vertices sum to 0), w_a → w_b along +x, w_c at positive y.
  EXPECT_TENSOR_NEAR(plane.vertices.sum(0), torch::zeros({2}, torch::kFloat64), 0, 1e-12);
  auto ab = plane.vertices[1] - plane.vertices[0];
  EXPECT_NEAR(ab[0].item<double>(), (t[3] - t[1]).norm().item<double>(), 1e-12);
  EXPECT_NEAR(ab[1].item<double>(), 0.0, 1e-12);
  EXPECT_GT(plane.vertices[2][1].item<double>(), 0.0);
  // Side lengths of the vertex triangle equal the distances between the templates (the plane contains them).
  EXPECT_NEAR(
      (plane.vertices[2] - plane.vertices[0]).norm().item<double>(), (t[4] - t[1]).norm().item<double>(), 1e-12);
  EXPECT_NEAR(
      (plane.vertices[2] - plane.vertices[1]).norm().item<double>(), (t[4] - t[3]).norm().item<double>(), 1e-12);
}

TEST(ProjectionTest, BasisIsOrthonormalAndSpansTheTemplates) {
  auto t = random_templates(4, 9, 2);
  auto plane = template_plane(t, {0, 2, 3});
  EXPECT_TENSOR_NEAR(torch::matmul(plane.axes, plane.axes.t()), torch::eye(2, torch::kFloat64), 0, 1e-13);
  // w_b − w_a and w_c − w_a have no component outside span{e1, e2}.
  for (int64_t k : {2, 3}) {
    auto v = t[k] - t[0];
    auto residual = v - torch::matmul(plane.axes.t(), torch::matmul(plane.axes, v));
    EXPECT_LT(residual.norm().item<double>(), 1e-12);
  }
  EXPECT_TENSOR_NEAR(plane.origin, (t[0] + t[2] + t[3]) / 3, 0, 1e-14);
}

TEST(ProjectionTest, PointsInThePlaneKeepTheirCoordinates) {
  auto t = random_templates(3, 5, 3);
  auto plane = template_plane(t, {0, 1, 2});
  auto uv = torch::tensor({{0.0, 0.0}, {1.5, -2.0}, {-3.25, 0.5}, {100.0, 7.0}}, torch::kFloat64);
  auto points = plane.origin + torch::matmul(uv, plane.axes);
  EXPECT_TENSOR_NEAR(project(plane, points), uv, 0, 1e-12);
}

TEST(ProjectionTest, OffsetOrthogonalToThePlaneMapsToTheOrigin) {
  auto t = random_templates(3, 5, 4);
  auto plane = template_plane(t, {0, 1, 2});
  torch::manual_seed(40);
  auto n = torch::randn({3, 5}, torch::kFloat64);
  n = n - torch::matmul(torch::matmul(n, plane.axes.t()), plane.axes); // remove the in-plane part
  ASSERT_GT(n.norm().item<double>(), 0.5);
  EXPECT_TENSOR_NEAR(project(plane, plane.origin + n), torch::zeros({3, 2}, torch::kFloat64), 0, 1e-12);
  // And adding such an offset to any point leaves its projection unchanged.
  auto x = torch::randn({3, 5}, torch::kFloat64);
  EXPECT_TENSOR_NEAR(project(plane, x + n), project(plane, x), 0, 1e-12);
}

TEST(ProjectionTest, ReorderingClassesIsAnIsometryAboutTheOrigin) {
  auto t = random_templates(5, 6, 5);
  torch::manual_seed(50);
  auto x = torch::randn({20, 6}, torch::kFloat64);
  auto p1 = project(template_plane(t, {0, 2, 4}), x);
  auto p2 = project(template_plane(t, {4, 0, 2}), x);
  auto p3 = project(template_plane(t, {2, 4, 0}), x);
  // Solve p2 = p1·Q by least squares (normal equations); Q must be orthogonal and reproduce p2 exactly.
  for (const auto& other : {p2, p3}) {
    auto q = torch::matmul(torch::inverse(torch::matmul(p1.t(), p1)), torch::matmul(p1.t(), other));
    EXPECT_TENSOR_NEAR(torch::matmul(q, q.t()), torch::eye(2, torch::kFloat64), 0, 1e-10);
    EXPECT_TENSOR_NEAR(torch::matmul(p1, q), other, 0, 1e-10);
  }
}

TEST(ProjectionTest, AugmentedDotTemplateIsTheLogit) {
  torch::manual_seed(6);
  torch::nn::Linear head(8, 4);
  auto x = torch::randn({5, 8});
  auto logits = head->forward(x).to(torch::kFloat64);
  auto t = class_templates(head->weight.detach(), head->bias.detach());
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{4, 9}));
  auto via_templates = torch::matmul(augment_features(x), t.t());
  EXPECT_TENSOR_NEAR(via_templates, logits, 1e-6, 1e-6);
  EXPECT_TENSOR_NEAR(augment_features(x).select(1, 8), torch::ones({5}, torch::kFloat64), 0, 0);
}

TEST(ProjectionTest, MatchesNumpyGolden) {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/projection_golden.json");
  ASSERT_TRUE(in.good()) << "run /usr/bin/python3 scripts/golden/projection_golden.py";
  auto g = nlohmann::json::parse(in);
  auto c = g["classes"].get<std::vector<int64_t>>();
  auto t = class_templates(json_tensor(g["weight"]), json_tensor(g["bias"]));
  auto plane = template_plane(t, {c[0], c[1], c[2]});
  EXPECT_TENSOR_NEAR(plane.origin, json_tensor(g["origin"]), 0, 1e-12);
  EXPECT_TENSOR_NEAR(plane.axes, json_tensor(g["axes"]), 0, 1e-12);
  EXPECT_TENSOR_NEAR(plane.vertices, json_tensor(g["vertices"]), 0, 1e-12);
  auto x = augment_features(json_tensor(g["features"]));
  EXPECT_TENSOR_NEAR(project(plane, x), json_tensor(g["coords"]), 0, 1e-12);
}

TEST(ProjectionTest, DegenerateTemplatesAreErrors) {
  auto t = random_templates(4, 5, 7);
  auto collinear = torch::stack({t[0], t[1], 2 * t[1] - t[0]});
  EXPECT_THROW(template_plane(collinear, {0, 1, 2}), Error);
  EXPECT_THROW(template_plane(t[0], t[0], t[1]), Error);
  EXPECT_THROW(template_plane(t, {0, 1, 1}), Error);
  EXPECT_THROW(template_plane(t, {0, 1, 4}), Error);
  auto plane = template_plane(t, {0, 1, 2});
  EXPECT_THROW(project(plane, torch::zeros({2, 4})), Error); // features not bias-augmented
  EXPECT_THROW(class_templates(torch::zeros({3, 2}), torch::zeros({4})), Error);
}

TEST(ProjectionTest, SelectExamplesIsSeededAndPerClass) {
  auto labels = torch::arange(300, torch::kInt64).remainder(5); // 60 per class
  labels[7] = 9;
  auto a = select_examples(labels, {3, 0, 4}, 10, 123);
  auto b = select_examples(labels, {3, 0, 4}, 10, 123);
  auto other = select_examples(labels, {3, 0, 4}, 10, 124);
  ASSERT_EQ(a.numel(), 30);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, other));
  auto picked = labels.index({a});
  const std::array<int64_t, 3> order{3, 0, 4};
  for (int64_t g = 0; g < 3; ++g)
    EXPECT_TRUE(torch::all(picked.slice(0, g * 10, g * 10 + 10) == order[g]).item<bool>()) << "group " << g;
  std::set<int64_t> distinct(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel());
  EXPECT_EQ(distinct.size(), 30u);
  // The first k of a larger selection: --per-class 4 is a prefix of --per-class 10 in each group.
  auto small = select_examples(labels, {3, 0, 4}, 4, 123);
  for (int64_t g = 0; g < 3; ++g)
    EXPECT_TRUE(torch::equal(small.slice(0, g * 4, g * 4 + 4), a.slice(0, g * 10, g * 10 + 4)));
  // Fewer examples than asked: all of them. Class 9 has one.
  EXPECT_EQ(select_examples(labels, {9, 1, 2}, 100, 0).numel(), 1 + 60 + 59); // position 7 was class 2
  EXPECT_THROW(select_examples(labels, {0, 1, 2}, 0, 0), Error);
}

} // namespace
} // namespace smoothlab::represent
