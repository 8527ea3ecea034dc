// Unseen-class detection (calib/open_set.h): the scores, AUROC and FPR@95 against scikit-learn
// (tests/golden/open_set_golden.json, made by scripts/golden/open_set_golden.py), with ties and multiplicities, and
// against closed forms.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/open_set.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

nlohmann::json golden() {
  std::ifstream in(golden_path("open_set_golden.json"));
  return nlohmann::json::parse(in);
}

TEST(CalibOpenSet, ScoresAurocAndFpr95MatchScikitLearn) {
  const auto g = golden();
  const auto rows = g["logits"].get<std::vector<std::vector<double>>>();
  std::vector<float> z;
  for (const auto& r : rows)
    z.insert(z.end(), r.begin(), r.end());
  const auto known = g["known"].get<std::vector<uint8_t>>();
  const int64_t n = int64_t(rows.size()), k = int64_t(rows[0].size());
  for (auto score : calib::kOpenSetScores) {
    SCOPED_TRACE(calib::score_name(score));
    const auto& want = g["detection"][calib::score_name(score)];
    const auto m = calib::detection_metrics(calib::rank_scores(calib::open_set_score(z.data(), n, k, score)), known);
    EXPECT_NEAR(m.auroc, want["auroc"].get<double>(), 1e-12);
    EXPECT_NEAR(m.fpr95, want["fpr95"].get<double>(), 1e-12);
    EXPECT_EQ(m.known, 400);
    EXPECT_EQ(m.unseen, 300);
  }
}

TEST(CalibOpenSet, TiesCountHalfAndMultiplicitiesWeigh) {
  const auto t = golden()["ties"];
  const auto score = t["score"].get<std::vector<double>>();
  const auto known = t["known"].get<std::vector<uint8_t>>();
  const auto weights = t["weights"].get<std::vector<uint32_t>>();
  const auto ranked = calib::rank_scores(score);
  const auto m = calib::detection_metrics(ranked, known);
  EXPECT_NEAR(m.auroc, t["auroc"].get<double>(), 1e-12);
  EXPECT_NEAR(m.fpr95, t["fpr95"].get<double>(), 1e-12);
  const auto w = calib::detection_metrics(ranked, known, weights.data());
  EXPECT_NEAR(w.auroc, t["weighted_auroc"].get<double>(), 1e-12);
  EXPECT_NEAR(w.fpr95, t["weighted_fpr95"].get<double>(), 1e-12);
}

TEST(CalibOpenSet, ClosedForms) {
  // Perfect separation: AUROC 1, FPR@95 0; reversed: AUROC 0, FPR@95 1; all tied: AUROC ½, FPR@95 1.
  const std::vector<uint8_t> known = {1, 1, 1, 0, 0};
  auto metrics = [&](std::vector<double> s) { return calib::detection_metrics(calib::rank_scores(s), known); };
  EXPECT_EQ(metrics({5, 4, 3, 2, 1}).auroc, 1.0);
  EXPECT_EQ(metrics({5, 4, 3, 2, 1}).fpr95, 0.0);
  EXPECT_EQ(metrics({1, 2, 3, 4, 5}).auroc, 0.0);
  EXPECT_EQ(metrics({1, 2, 3, 4, 5}).fpr95, 1.0);
  EXPECT_EQ(metrics({1, 1, 1, 1, 1}).auroc, 0.5);
  EXPECT_EQ(metrics({1, 1, 1, 1, 1}).fpr95, 1.0);
  // One unseen example (3.5) above the lowest known one (3): 1 of the 3·2 pairs is the wrong way round.
  EXPECT_NEAR(metrics({5, 4, 3, 3.5, 0}).auroc, 5.0 / 6.0, 1e-15);
  EXPECT_EQ(metrics({5, 4, 3, 3.5, 0}).fpr95, 0.5); // all 3 known accepted at t = 3, with 3.5
  // Without an example of either kind: NaN.
  EXPECT_TRUE(std::isnan(calib::detection_metrics(calib::rank_scores(std::vector<double>{1, 2}), {1, 1}).auroc));
  // The scores: MSP of equal logits is 1/K, energy log K above them, the max logit the largest.
  const std::vector<float> z = {2, 2, 2, 2, 0, 1, 3, -1};
  const auto msp = calib::open_set_score(z.data(), 2, 4, calib::OpenSetScore::MaxSoftmax);
  const auto energy = calib::open_set_score(z.data(), 2, 4, calib::OpenSetScore::Energy);
  const auto top = calib::open_set_score(z.data(), 2, 4, calib::OpenSetScore::MaxLogit);
  EXPECT_NEAR(msp[0], 0.25, 1e-15);
  EXPECT_NEAR(energy[0], 2 + std::log(4.0), 1e-14);
  EXPECT_EQ(top[1], 3.0);
  EXPECT_NEAR(msp[1], std::exp(3.0) / (1 + std::exp(1.0) + std::exp(3.0) + std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(energy[1], std::log(1 + std::exp(1.0) + std::exp(3.0) + std::exp(-1.0)), 1e-14);
}

} // namespace
} // namespace smoothlab::testing
