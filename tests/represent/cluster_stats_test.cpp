// Tests for represent/cluster_stats: hand-worked values, a numpy golden, order invariance, held-out shift.
#include "smoothlab/represent/cluster_stats.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/represent/projection.h"
#include "support/support.h"

namespace smoothlab::represent {
namespace {

// Hand-worked example. Plane points (x, y) and a third feature z (only in the full-space features):
//   class 0: (0,0,+3), (2,0,−3)   centroid (1,0)   spread_plane 1   spread_full √(1+9) = √10   norms 0, 2
//   class 5: (10,0,0), (10,4,0)   centroid (10,2)  spread_plane 2   spread_full 2              norms 10, √116
//   class 2: (−1,10,0), (1,10,0)  centroid (0,10)  spread_plane 1   spread_full 1              norms √101, √101
//   class 7: (50,50,0)            not one of the three: ignored
// Centroid distances: d(0,5) = √(81+4) = √85, d(5,2) = √(100+64) = √164, d(0,2) = √(1+100) = √101; the full-space
// centroids are the plane ones with z = 0, so the same. mean_spread_plane = 4/3, mean_spread_full = (√10 + 3)/3,
// tightness_plane = (4/3) / ((√85+√164+√101)/3) = 4/(√85+√164+√101), regularity = √85/√164,
// mean_norm = (0 + 2 + 10 + √116 + 2√101) / 6.
struct HandWorked {
  torch::Tensor coords, features, labels;
  HandWorked() {
    auto f = torch::tensor(
        {{0.0, 0.0, 3.0},
         {2.0, 0.0, -3.0},
         {10.0, 0.0, 0.0},
         {10.0, 4.0, 0.0},
         {-1.0, 10.0, 0.0},
         {1.0, 10.0, 0.0},
         {50.0, 50.0, 0.0}},
        torch::kFloat64);
    features = f;
    coords = f.slice(1, 0, 2);
    labels = torch::tensor({0, 0, 5, 5, 2, 2, 7}, torch::kInt64);
  }
};

TEST(ClusterStatsTest, HandWorkedValues) {
  HandWorked h;
  auto s = cluster_stats(h.coords, h.features, h.labels, {0, 5, 2});
  ASSERT_EQ(s.classes.size(), 3u);
  EXPECT_EQ(s.classes[0].label, 0);
  EXPECT_EQ(s.classes[1].count, 2);
  EXPECT_DOUBLE_EQ(s.classes[0].centroid[0], 1.0);
  EXPECT_DOUBLE_EQ(s.classes[1].centroid[1], 2.0);
  EXPECT_DOUBLE_EQ(s.classes[0].spread_plane, 1.0);
  EXPECT_DOUBLE_EQ(s.classes[1].spread_plane, 2.0);
  EXPECT_DOUBLE_EQ(s.classes[2].spread_plane, 1.0);
  EXPECT_NEAR(s.classes[0].spread_full, std::sqrt(10.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.classes[1].spread_full, 2.0);
  EXPECT_DOUBLE_EQ(s.classes[0].mean_norm, 1.0);
  EXPECT_NEAR(s.classes[1].mean_norm, (10 + std::sqrt(116.0)) / 2, 1e-12);
  EXPECT_NEAR(s.classes[2].mean_norm, std::sqrt(101.0), 1e-12);
  const double d01 = std::sqrt(85.0), d12 = std::sqrt(164.0), d02 = std::sqrt(101.0);
  EXPECT_NEAR(s.centroid_distances[0], d01, 1e-12);
  EXPECT_NEAR(s.centroid_distances[1], d12, 1e-12);
  EXPECT_NEAR(s.centroid_distances[2], d02, 1e-12);
  EXPECT_NEAR(s.centroid_distances_full[1], d12, 1e-12);
  EXPECT_NEAR(s.mean_spread_plane, 4.0 / 3, 1e-12);
  EXPECT_NEAR(s.mean_spread_full, (std::sqrt(10.0) + 3) / 3, 1e-12);
  EXPECT_NEAR(s.tightness_plane, 4 / (d01 + d12 + d02), 1e-12);
  EXPECT_NEAR(s.tightness_full, (std::sqrt(10.0) + 3) / (d01 + d12 + d02), 1e-12);
  EXPECT_NEAR(s.regularity, d01 / d12, 1e-12);
  EXPECT_NEAR(s.mean_norm, (2 + 10 + std::sqrt(116.0) + 2 * std::sqrt(101.0)) / 6, 1e-12);
}

TEST(ClusterStatsTest, EquilateralPointClustersAreRegularAndTight) {
  // Three single points on the unit circle at 120° apart: zero spread, regularity 1, tightness 0, norms 1.
  const double pi = std::acos(-1.0);
  auto coords = torch::tensor(
      {{1.0, 0.0}, {std::cos(2 * pi / 3), std::sin(2 * pi / 3)}, {std::cos(4 * pi / 3), std::sin(4 * pi / 3)}},
      torch::kFloat64);
  auto s = cluster_stats(coords, {}, torch::tensor({0, 1, 2}, torch::kInt64), {0, 1, 2});
  EXPECT_NEAR(s.regularity, 1.0, 1e-12);
  EXPECT_NEAR(s.tightness_plane, 0.0, 1e-15);
  EXPECT_NEAR(s.mean_norm, 1.0, 1e-12);
  EXPECT_NEAR(s.mean_centroid_distance, std::sqrt(3.0), 1e-12);
  EXPECT_TRUE(std::isnan(s.tightness_full)); // no features given
  EXPECT_TRUE(to_json(s)["tightness_full"].is_null());
}

TEST(ClusterStatsTest, InvariantToClassOrder) {
  torch::manual_seed(11);
  auto templates = torch::randn({6, 8}, torch::kFloat64);
  auto labels = torch::randint(0, 6, {200}, torch::kInt64);
  auto x = templates.index({labels}) * 2 + torch::randn({200, 8}, torch::kFloat64) * 0.3;
  const std::array<int64_t, 3> first{1, 4, 5}, second{5, 1, 4}, third{4, 1, 5};
  auto stats_for = [&](const std::array<int64_t, 3>& c) {
    return cluster_stats(project(template_plane(templates, c), x), x, labels, c);
  };
  auto s1 = stats_for(first);
  for (const auto& order : {second, third}) {
    auto s2 = stats_for(order);
    EXPECT_NEAR(s2.tightness_plane, s1.tightness_plane, 1e-12);
    EXPECT_NEAR(s2.tightness_full, s1.tightness_full, 1e-12);
    EXPECT_NEAR(s2.regularity, s1.regularity, 1e-12);
    EXPECT_NEAR(s2.mean_norm, s1.mean_norm, 1e-12);
    EXPECT_NEAR(s2.mean_spread_plane, s1.mean_spread_plane, 1e-12);
    EXPECT_NEAR(s2.mean_centroid_distance, s1.mean_centroid_distance, 1e-12);
    auto d1 = s1.centroid_distances, d2 = s2.centroid_distances;
    std::sort(d1.begin(), d1.end());
    std::sort(d2.begin(), d2.end());
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR(d1[k], d2[k], 1e-12);
    for (const auto& c2 : s2.classes)
      for (const auto& c1 : s1.classes)
        if (c1.label == c2.label) {
          EXPECT_EQ(c1.count, c2.count);
          EXPECT_NEAR(c1.spread_plane, c2.spread_plane, 1e-12);
          EXPECT_NEAR(c1.spread_full, c2.spread_full, 1e-12);
          EXPECT_NEAR(c1.mean_norm, c2.mean_norm, 1e-12);
        }
  }
}

TEST(ClusterStatsTest, MatchesNumpyGolden) {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/projection_golden.json");
  ASSERT_TRUE(in.good()) << "run /usr/bin/python3 scripts/golden/projection_golden.py";
  auto g = nlohmann::json::parse(in);
  auto c = g["classes"].get<std::vector<int64_t>>();
  const std::array<int64_t, 3> classes{c[0], c[1], c[2]};
  auto to_tensor = [](const nlohmann::json& rows) {
    std::vector<torch::Tensor> out;
    for (const auto& row : rows)
      out.push_back(torch::tensor(row.get<std::vector<double>>(), torch::kFloat64));
    return torch::stack(out);
  };
  auto t =
      class_templates(to_tensor(g["weight"]), torch::tensor(g["bias"].get<std::vector<double>>(), torch::kFloat64));
  auto x = augment_features(to_tensor(g["features"]));
  auto labels = torch::tensor(g["labels"].get<std::vector<int64_t>>(), torch::kInt64);
  auto s = cluster_stats(project(template_plane(t, classes), x), x, labels, classes);
  const auto& e = g["stats"];
  for (size_t k = 0; k < 3; ++k) {
    const auto& ek = e["classes"][k];
    EXPECT_EQ(s.classes[k].label, ek["label"].get<int64_t>());
    EXPECT_EQ(s.classes[k].count, ek["count"].get<int64_t>());
    EXPECT_NEAR(s.classes[k].spread_plane, ek["spread_plane"].get<double>(), 1e-12);
    EXPECT_NEAR(s.classes[k].spread_full, ek["spread_full"].get<double>(), 1e-12);
    EXPECT_NEAR(s.classes[k].mean_norm, ek["mean_norm"].get<double>(), 1e-12);
    EXPECT_NEAR(s.centroid_distances[k], e["centroid_distances"][k].get<double>(), 1e-12);
    EXPECT_NEAR(s.centroid_distances_full[k], e["centroid_distances_full"][k].get<double>(), 1e-12);
  }
  EXPECT_NEAR(s.tightness_plane, e["tightness_plane"].get<double>(), 1e-12);
  EXPECT_NEAR(s.tightness_full, e["tightness_full"].get<double>(), 1e-12);
  EXPECT_NEAR(s.regularity, e["regularity"].get<double>(), 1e-12);
  EXPECT_NEAR(s.mean_norm, e["mean_norm"].get<double>(), 1e-12);
}

TEST(ClusterStatsTest, HeldOutShiftOfAShrunkCopy) {
  // Held-out points at half the training coordinates: every radial and spread ratio is exactly 1/2.
  HandWorked h;
  auto train = cluster_stats(h.coords, h.features, h.labels, {0, 5, 2});
  auto held = cluster_stats(h.coords * 0.5, h.features * 0.5, h.labels, {0, 5, 2});
  auto shift = held_out_shift(train, held);
  ASSERT_EQ(shift.labels, (std::vector<int64_t>{0, 5, 2}));
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(shift.radial_ratio[k], 0.5, 1e-12);
    EXPECT_NEAR(shift.toward_centre[k], 0.5, 1e-12);
    EXPECT_NEAR(shift.spread_ratio[k], 0.5, 1e-12);
  }
  EXPECT_NEAR(shift.radial_ratio_all, 0.5, 1e-12);
  EXPECT_NEAR(shift.spread_ratio_all, 0.5, 1e-12);
  auto j = to_json(shift, {"zero", "one", "two", "three", "four", "five"});
  EXPECT_EQ(j["classes"][1]["name"], "five");
  // Statistics of different classes cannot be compared.
  auto other = cluster_stats(h.coords, h.features, h.labels, {5, 0, 2});
  EXPECT_THROW(held_out_shift(train, other), Error);
}

TEST(ClusterStatsTest, MissingClassIsAnError) {
  HandWorked h;
  EXPECT_THROW(cluster_stats(h.coords, h.features, h.labels, {0, 5, 3}), Error);
  EXPECT_THROW(cluster_stats(h.coords, h.features, h.labels.slice(0, 0, 3), {0, 5, 2}), Error);
}

} // namespace
} // namespace smoothlab::represent
