// study::claims on hand-made tables: each verdict rule of claims.h just on either side of its boundary.
#include <cmath>

#include <fmt/format.h>

#include "smoothlab/study/claims.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using study::CalibRow;
using study::Claim;
using study::DistillRow;
using study::MiRow;
using study::ProjectionRow;
using study::Stat;
using study::Tables;
using study::Verdict;

Stat one(double value) {
  Stat s;
  s.mean = s.min = s.max = value;
  s.n = 1;
  return s;
}

// A teacher regime with ε ∈ {0, 0.1}, one seed, 10 000 test images. ε = 0: accuracy 0.9, T = 1.5, confidence 0.95,
// ECE 0.05 → 0.02 with TS; ε = 0.1: accuracy `ls_accuracy`, ECE `ls_ece`, validation ECE 0.03.
Tables regime_tables(double ls_accuracy, double ls_ece) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.teacher_regime = "short";
  t.seeds = 1;
  t.test_count = 10000;
  t.regimes = {{"teacher", "short", {0.0, 0.1}}};
  CalibRow h;
  h.group = "teacher";
  h.epsilon = 0.0;
  h.accuracy = one(0.9);
  h.nll = one(0.3);
  h.ece = one(0.05);
  h.mean_confidence = one(0.95);
  h.temperature = one(1.5);
  h.ece_ts = one(0.02);
  h.nll_ts = one(0.28);
  h.val_ece = one(0.05);
  h.test_count = 10000;
  CalibRow l = h;
  l.epsilon = 0.1;
  l.accuracy = one(ls_accuracy);
  l.ece = one(ls_ece);
  l.mean_confidence = one(ls_accuracy);
  l.val_ece = one(0.03);
  t.calibration = {h, l};
  return t;
}

const Claim& find(const std::vector<Claim>& claims, const std::string& id) {
  for (const auto& c : claims)
    if (c.id == id)
      return c;
  throw std::runtime_error("no claim " + id);
}

Verdict verdict_of(const Tables& t, const std::string& id) {
  return find(study::claims(t), id).verdict;
}

// se = sqrt(2 · 0.9 · 0.1 / 10 000) = 0.0042426...: 2·se = 0.0084853 is the accuracy claim's margin.
constexpr double kTwoSe = 0.008485281374238571;

TEST(StudyClaims, AccuracyHeldWithinTwoStandardErrors) {
  EXPECT_EQ(verdict_of(regime_tables(0.9 - kTwoSe + 1e-4, 0.04), "accuracy_teacher"), Verdict::Held);
  EXPECT_EQ(verdict_of(regime_tables(0.9 - kTwoSe - 1e-4, 0.04), "accuracy_teacher"), Verdict::NotHeld);
  const auto c = find(study::claims(regime_tables(0.9 - kTwoSe - 1e-4, 0.04)), "accuracy_teacher");
  EXPECT_EQ(c.note, "smoothing hurt");
  EXPECT_NE(c.measured.find("2 standard errors = 0.85 points"), std::string::npos) << c.measured;
}

TEST(StudyClaims, OverConfidentNeedsTAboveOneAndConfidenceAboveAccuracy) {
  auto t = regime_tables(0.9, 0.04);
  EXPECT_EQ(verdict_of(t, "overconfident_teacher"), Verdict::Held);
  t.calibration[0].temperature = one(0.999);
  EXPECT_EQ(verdict_of(t, "overconfident_teacher"), Verdict::NotHeld);
  t.calibration[0].temperature = one(1.001);
  t.calibration[0].mean_confidence = one(0.899);
  EXPECT_EQ(verdict_of(t, "overconfident_teacher"), Verdict::NotHeld);
}

TEST(StudyClaims, TemperatureScalingMustLowerTheEce) {
  auto t = regime_tables(0.9, 0.04);
  t.calibration[0].ece_ts = one(0.0499);
  EXPECT_EQ(verdict_of(t, "temperature_scaling_teacher"), Verdict::Held);
  t.calibration[0].ece_ts = one(0.0501);
  EXPECT_EQ(verdict_of(t, "temperature_scaling_teacher"), Verdict::NotHeld);
}

TEST(StudyClaims, LabelSmoothingMustLowerTheEceAndUnderConfidenceIsNoted) {
  EXPECT_EQ(verdict_of(regime_tables(0.9, 0.0499), "ls_calibrates_teacher"), Verdict::Held);
  EXPECT_EQ(verdict_of(regime_tables(0.9, 0.0501), "ls_calibrates_teacher"), Verdict::NotHeld);
  auto t = regime_tables(0.9, 0.04);
  t.calibration[1].mean_confidence = one(0.85);
  EXPECT_NE(find(study::claims(t), "ls_calibrates_teacher").note.find("UNDER-confident"), std::string::npos);
  t.calibration[1].mean_confidence = one(0.95);
  EXPECT_EQ(find(study::claims(t), "ls_calibrates_teacher").note, "");
}

// TS ECE 0.02: the bound is max(1.5 · 0.02, 0.02 + 0.01) = 0.03.
TEST(StudyClaims, LsCalibratesAboutAsWellAsTsWithinItsBound) {
  EXPECT_EQ(verdict_of(regime_tables(0.9, 0.0299), "ls_vs_ts_teacher"), Verdict::Held);
  EXPECT_EQ(verdict_of(regime_tables(0.9, 0.0301), "ls_vs_ts_teacher"), Verdict::NotHeld);
  auto t = regime_tables(0.9, 0.0299);
  t.calibration[0].ece_ts = one(0.04); // bound max(0.06, 0.05) = 0.06
  t.calibration[1].ece = one(0.0599);
  EXPECT_EQ(verdict_of(t, "ls_vs_ts_teacher"), Verdict::Held);
  t.calibration[1].ece = one(0.0601);
  EXPECT_EQ(verdict_of(t, "ls_vs_ts_teacher"), Verdict::NotHeld);
}

TEST(StudyClaims, ProjectionFollowsTheComparisonOrIsNotTested) {
  Tables t;
  t.teacher_regime = "short";
  auto claims = study::claims(t);
  EXPECT_EQ(find(claims, "projection_dissimilar").verdict, Verdict::NotTested);
  EXPECT_EQ(find(claims, "projection_similar").verdict, Verdict::NotTested);
  ProjectionRow p;
  p.kind = "similar";
  p.classes = "a,b,c";
  p.compared = true;
  p.tightness_baseline = 0.4;
  p.tightness_smoothed = 0.2;
  p.tightness_ratio = 0.5;
  p.smoothed_tighter = true;
  t.projection = {p};
  claims = study::claims(t);
  EXPECT_EQ(find(claims, "projection_similar").verdict, Verdict::Held);
  EXPECT_EQ(find(claims, "projection_dissimilar").verdict, Verdict::NotTested);
  t.projection[0].smoothed_tighter = false;
  EXPECT_EQ(verdict_of(t, "projection_similar"), Verdict::NotHeld);
}

// Students: hard teacher best 0.8 (T = 2), 1 seed, 10 000 test images: 2·se = 2·sqrt(2·0.8·0.2/10⁴) = 0.011314.
Tables distill_tables(double smoothed, double direct) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.teacher_regime = "short";
  t.seeds = 1;
  t.test_count = 10000;
  DistillRow hard1{"hard teacher", 0.0, 1.0, one(0.79), one(0.05), one(0.01), one(0.9)};
  DistillRow hard2{"hard teacher", 0.0, 2.0, one(0.8), one(0.05), one(0.02), one(0.9)};
  DistillRow ls{"smoothed teacher", 0.1, 1.0, one(smoothed), one(0.05), one(0.1), one(0.9)};
  DistillRow dir{"trained with LS (no teacher)", 0.1, 0.0, one(direct), one(0.05), one(0.1), std::nullopt};
  t.distillation = {hard1, hard2, ls, dir};
  return t;
}
constexpr double kTwoSeStudents = 0.011313708498984762;

TEST(StudyClaims, HardTeachersStudentsAtLeastAsGoodWithinNoise) {
  EXPECT_EQ(verdict_of(distill_tables(0.8 + kTwoSeStudents - 1e-4, 0.8), "distill_hard_teacher"), Verdict::Held);
  EXPECT_EQ(verdict_of(distill_tables(0.8 + kTwoSeStudents + 1e-4, 0.8), "distill_hard_teacher"), Verdict::NotHeld);
  const auto c = find(study::claims(distill_tables(0.7, 0.8)), "distill_hard_teacher");
  EXPECT_NE(c.measured.find("(T = 2)"), std::string::npos) << c.measured; // the best hard-teacher student
}

TEST(StudyClaims, SmoothedTeachersStudentNoBetterThanDirectWithinNoise) {
  EXPECT_EQ(verdict_of(distill_tables(0.8 + kTwoSeStudents - 1e-4, 0.8), "distill_vs_direct"), Verdict::Held);
  EXPECT_EQ(verdict_of(distill_tables(0.8 + kTwoSeStudents + 1e-4, 0.8), "distill_vs_direct"), Verdict::NotHeld);
}

TEST(StudyClaims, MutualInformationMustEndLowerWithSmoothing) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.mi_examples = 300;
  MiRow h{0.0, {{1, one(1.5)}, {2, one(1.2)}}};
  MiRow l{0.1, {{1, one(1.4)}, {2, one(1.1999)}}};
  t.mutual_information = {h, l};
  EXPECT_EQ(verdict_of(t, "mi_falls"), Verdict::Held);
  t.mutual_information[1].points.back().mi = one(1.2001);
  EXPECT_EQ(verdict_of(t, "mi_falls"), Verdict::NotHeld);
  // log N with N = 2 · 300 examples is printed with the numbers.
  EXPECT_NE(
      find(study::claims(t), "mi_falls").measured.find(fmt::format("{:.3f}", std::log(600.0))), std::string::npos);
}

TEST(StudyClaims, NoClaimWithoutItsRows) {
  Tables t; // no regimes, students or Î: only the two projection claims, not tested
  const auto claims = study::claims(t);
  ASSERT_EQ(claims.size(), 2u);
  for (const auto& c : claims)
    EXPECT_EQ(c.verdict, Verdict::NotTested) << c.id;
}

} // namespace
} // namespace smoothlab::testing
