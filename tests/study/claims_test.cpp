// study::claims and study::when_answers on hand-made tables: the one verdict rule of evidence.h on each side of
// each claim's boundary (held / inconclusive / not held), the paired bootstrap against its closed form, the
// temperature re-fit against its closed form, and the choices made on validation.
#include <cmath>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "smoothlab/study/claims.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using study::CalibRow;
using study::Claim;
using study::DistillRow;
using study::Interval;
using study::ProjectionRow;
using study::RunPredictions;
using study::RunRow;
using study::Stat;
using study::Tables;
using study::Verdict;

Stat one(double value) {
  Stat s;
  s.mean = s.min = s.max = value;
  s.n = 1;
  return s;
}

// n test examples, the first `hits` correct, every confidence `conf` (at T̂: `conf_ts`).
RunPredictions preds(int64_t n, int64_t hits, float conf, float conf_ts = 0.9f) {
  RunPredictions p;
  p.classes = 10;
  p.correct.assign(size_t(n), 0);
  for (int64_t i = 0; i < hits; ++i)
    p.correct[size_t(i)] = 1;
  p.confidence.assign(size_t(n), conf);
  p.confidence_ts.assign(size_t(n), conf_ts);
  return p;
}

RunRow run(
    const std::string& group,
    double eps,
    RunPredictions p,
    uint64_t seed = 0,
    double teacher_eps = 0,
    double temperature = 0) {
  RunRow r;
  r.spec.group = group;
  r.spec.epsilon = eps;
  r.spec.seed = seed;
  r.spec.teacher_epsilon = teacher_eps;
  r.spec.temperature = temperature;
  r.predictions = std::make_shared<RunPredictions>(std::move(p));
  return r;
}

CalibRow calib_row(double eps, double val_ece) {
  CalibRow c;
  c.group = "teacher";
  c.epsilon = eps;
  c.accuracy = c.nll = c.ece = c.mean_confidence = c.temperature = c.ece_ts = c.nll_ts = one(0.5);
  c.val_ece = one(val_ece);
  c.test_count = 10000;
  return c;
}

// A teacher regime with ε ∈ {0, 0.1}, one seed, the two runs' predictions given.
Tables regime_tables(RunPredictions hard, RunPredictions smooth) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.teacher_regime = "short";
  t.num_classes = 10;
  t.regimes = {{"teacher", "short", {0.0, 0.1}}};
  t.calibration = {calib_row(0.0, 0.05), calib_row(0.1, 0.03)};
  t.runs = {run("teacher", 0.0, std::move(hard)), run("teacher", 0.1, std::move(smooth))};
  t.bootstrap.resamples = 400;
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

Interval interval(double low, double high) {
  Interval iv;
  iv.estimate = (low + high) / 2;
  iv.low = low;
  iv.high = high;
  iv.resamples = 1000;
  return iv;
}

TEST(StudyEvidence, OneRuleOnEachSideOfTheThreshold) {
  for (double threshold : {0.0, -0.005}) {
    EXPECT_EQ(study::decide(interval(threshold + 1e-6, threshold + 0.01), threshold), Verdict::Held);
    EXPECT_EQ(study::decide(interval(threshold - 0.01, threshold - 1e-6), threshold), Verdict::NotHeld);
    EXPECT_EQ(study::decide(interval(threshold - 1e-6, threshold + 0.01), threshold), Verdict::Inconclusive);
    EXPECT_EQ(study::decide(interval(threshold - 0.01, threshold + 1e-6), threshold), Verdict::Inconclusive);
    EXPECT_EQ(study::decide(interval(threshold, threshold), threshold), Verdict::Inconclusive); // on the line
  }
  EXPECT_EQ(study::decide(Interval{}, 0.0), Verdict::NotTested);
}

// B is right wherever A is, and on 100 more of the 10 000 examples: Δ = 0.01, and the paired difference d_i ∈ {0, 1}
// has standard error sqrt(0.01 · 0.99 / 10⁴) = 0.000995 (unpaired it would be 0.0042).
TEST(StudyEvidence, SeedBootstrapOfPerSeedValues) {
  study::EvidenceOptions s;
  s.resamples = 2000;
  EXPECT_FALSE(study::seed_bootstrap({}, s).valid());
  const auto one = study::seed_bootstrap({0.4}, s); // one seed: the value, no interval
  EXPECT_DOUBLE_EQ(one.estimate, 0.4);
  EXPECT_FALSE(one.valid());
  const auto same = study::seed_bootstrap({0.3, 0.3, 0.3}, s); // no spread: a point interval
  EXPECT_DOUBLE_EQ(same.low, 0.3);
  EXPECT_DOUBLE_EQ(same.high, 0.3);
  // Two seeds {0, 1}: a resample's mean is 0, ½ or 1 with probabilities ¼, ½, ¼, so the 95% interval is [0, 1].
  const auto two = study::seed_bootstrap({0.0, 1.0}, s);
  EXPECT_DOUBLE_EQ(two.estimate, 0.5);
  EXPECT_EQ(two.resamples, 2000);
  EXPECT_EQ(two.seeds, 2);
  EXPECT_DOUBLE_EQ(two.low, 0.0);
  EXPECT_DOUBLE_EQ(two.high, 1.0);
}

TEST(StudyEvidence, OptionsRefuseTooFewResamplesALevelOutsideTheUnitIntervalAndNoBins) {
  study::EvidenceOptions s;
  EXPECT_NO_THROW(s.validate());
  s.resamples = 1;
  EXPECT_ERROR_MENTIONS(s.validate(), "at least 2 resamples, got 1");
  s = {};
  s.level = 1;
  EXPECT_ERROR_MENTIONS(s.validate(), "(0, 1), got 1");
  s = {};
  s.bins = 0;
  EXPECT_ERROR_MENTIONS(s.validate(), "at least 1 bin, got 0");
  // bootstrap() checks them before anything else.
  const auto a = preds(100, 90, 0.9f);
  const study::Statistic acc = [](const RunPredictions& p, const study::Resample& r) { return study::accuracy(p, r); };
  EXPECT_ERROR_MENTIONS(study::bootstrap({{{&a}, acc, 1}}, s), "at least 1 bin");
}

TEST(StudyEvidence, PairedBootstrapOfAnAccuracyDifferenceMatchesItsClosedForm) {
  const auto a = preds(10000, 9000, 0.9f), b = preds(10000, 9100, 0.9f);
  study::EvidenceOptions s;
  const study::Statistic acc = [](const RunPredictions& p, const study::Resample& r) { return study::accuracy(p, r); };
  const auto iv = study::bootstrap({{{&b}, acc, 1}, {{&a}, acc, -1}}, s);
  const double se = std::sqrt(0.01 * 0.99 / 10000);
  EXPECT_NEAR(iv.estimate, 0.01, 1e-12);
  EXPECT_NEAR(iv.low, 0.01 - 1.96 * se, 0.35 * se);
  EXPECT_NEAR(iv.high, 0.01 + 1.96 * se, 0.35 * se);
  EXPECT_EQ(iv.resamples, 1000);
  // The same seed gives the same interval; identical arms give Δ = 0 on every resample.
  EXPECT_EQ(study::bootstrap({{{&b}, acc, 1}, {{&a}, acc, -1}}, s).low, iv.low);
  const auto zero = study::bootstrap({{{&a}, acc, 1}, {{&a}, acc, -1}}, s);
  EXPECT_EQ(zero.low, 0.0);
  EXPECT_EQ(zero.high, 0.0);
}

// 10 000 test examples, 90% right; smoothing loses k of them: Δ = −k/10⁴ with standard error ≈ sqrt(k)/10⁴.
TEST(StudyClaims, AccuracyDoesNotHurtByMoreThanHalfAPoint) {
  auto verdict = [](int64_t k) {
    return verdict_of(regime_tables(preds(10000, 9000, 0.9f), preds(10000, 9000 - k, 0.9f)), "accuracy_teacher");
  };
  EXPECT_EQ(verdict(20), Verdict::Held); // −0.2 ± 0.09 points
  EXPECT_EQ(verdict(50), Verdict::Inconclusive); // −0.5 ± 0.14: on the margin
  EXPECT_EQ(verdict(100), Verdict::NotHeld); // −1.0 ± 0.2
  const auto c =
      find(study::claims(regime_tables(preds(10000, 9000, 0.9f), preds(10000, 8980, 0.9f))), "accuracy_teacher");
  ASSERT_TRUE(c.evidence);
  EXPECT_NEAR(c.evidence->interval.estimate, -0.002, 1e-12);
  EXPECT_EQ(c.evidence->threshold, -study::kAccuracyMargin);
  EXPECT_NE(c.evidence->rule().find("above -0.50 points"), std::string::npos) << c.evidence->rule();
}

// Validation logits c·onehot(predicted class), 90% of them right, K = 10: the NLL-optimal temperature makes the top
// probability 0.9, so c/T = log(0.9 · 9 / 0.1) = log 81 and T = c / log 81.
RunPredictions with_val(RunPredictions p, double temperature) {
  const int64_t n = 5000, k = 10;
  const double c = temperature * std::log(81.0);
  p.val_logits.assign(size_t(n * k), 0.0f);
  p.val_labels.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t predicted = i % k;
    p.val_logits[size_t(i * k + predicted)] = float(c);
    p.val_labels[size_t(i)] = i % 10 < 9 ? predicted : (predicted + 1) % k; // every 10th is wrong
  }
  p.temperature = 1.0;
  return p;
}

TEST(StudyClaims, OverConfidentWhenTheRefittedTemperatureExceedsOne) {
  const auto p = with_val(preds(1000, 900, 0.9f), 1.5);
  EXPECT_NEAR(study::fitted_temperature(p, {}), 1.5, 1e-5);
  auto verdict = [](double temperature) {
    const auto hard = with_val(preds(1000, 900, 0.9f), temperature);
    return verdict_of(regime_tables(hard, with_val(preds(1000, 900, 0.9f), 1.0)), "overconfident_teacher");
  };
  EXPECT_EQ(verdict(1.06), Verdict::Held); // T's standard error over 5 000 validation examples is about 0.012
  EXPECT_EQ(verdict(1.0), Verdict::Inconclusive);
  EXPECT_EQ(verdict(0.94), Verdict::NotHeld);
}

// One confidence for every test example, 90% right: ECE = |0.9 − confidence| (one bin).
TEST(StudyClaims, TemperatureScalingLowersTheEce) {
  auto verdict = [](float conf_ts) {
    return verdict_of(
        regime_tables(preds(10000, 9000, 0.95f, conf_ts), preds(10000, 9000, 0.9f)), "temperature_scaling_teacher");
  };
  EXPECT_EQ(verdict(0.9f), Verdict::Held); // 0.05 → 0
  EXPECT_EQ(verdict(0.85f), Verdict::Inconclusive); // 0.05 → 0.05, the other side
  EXPECT_EQ(verdict(0.99f), Verdict::NotHeld); // 0.05 → 0.09
}

TEST(StudyClaims, LabelSmoothingLowersTheEce) {
  auto verdict = [](float conf) {
    return verdict_of(regime_tables(preds(10000, 9000, 0.95f), preds(10000, 9000, conf)), "ls_calibrates_teacher");
  };
  EXPECT_EQ(verdict(0.9f), Verdict::Held);
  EXPECT_EQ(verdict(0.85f), Verdict::Inconclusive);
  EXPECT_EQ(verdict(0.99f), Verdict::NotHeld);
  // Under-confidence with smoothing is named.
  auto t = regime_tables(preds(10000, 9000, 0.95f), preds(10000, 9000, 0.85f));
  t.calibration[1].mean_confidence = one(0.85);
  t.calibration[1].accuracy = one(0.9);
  EXPECT_NE(find(study::claims(t), "ls_calibrates_teacher").note.find("under-confident"), std::string::npos);
}

// TS leaves ECE |acc − 0.9| ≈ 0; smoothing's ECE is |acc − conf|: within 0.01 of TS, or not.
TEST(StudyClaims, LabelSmoothingCalibratesAboutAsWellAsTemperatureScaling) {
  auto verdict = [](float conf) {
    return verdict_of(regime_tables(preds(10000, 9000, 0.95f, 0.9f), preds(10000, 9000, conf)), "ls_vs_ts_teacher");
  };
  EXPECT_EQ(verdict(0.905f), Verdict::Held); // ≈ −0.005
  EXPECT_EQ(verdict(0.912f), Verdict::Inconclusive); // ≈ −0.012 to −0.002
  EXPECT_EQ(verdict(0.93f), Verdict::NotHeld); // ≈ −0.03
}

TEST(StudyClaims, TheSmoothingForLsVsTsIsChosenOnValidation) {
  auto t = regime_tables(preds(10000, 9000, 0.95f, 0.9f), preds(10000, 9000, 0.93f));
  t.regimes[0].epsilons = {0.0, 0.1, 0.2};
  t.calibration.push_back(calib_row(0.2, 0.02)); // lower validation ECE than ε = 0.1's 0.03
  t.runs.push_back(run("teacher", 0.2, preds(10000, 9000, 0.905f)));
  const auto c = find(study::claims(t), "ls_vs_ts_teacher");
  EXPECT_EQ(c.verdict, Verdict::Held);
  EXPECT_NE(c.measured.find("ε = 0.2, chosen on validation"), std::string::npos) << c.measured;
}

TEST(StudyClaims, ProjectionFollowsItsIntervalOrIsNotTested) {
  Tables t;
  t.teacher_regime = "short";
  auto claims = study::claims(t);
  EXPECT_EQ(find(claims, "projection_dissimilar").verdict, Verdict::NotTested);
  EXPECT_EQ(find(claims, "projection_similar").verdict, Verdict::NotTested);
  ProjectionRow p;
  p.kind = "similar";
  p.classes = "a,b,c";
  p.comparison = represent::ProjectComparison{};
  t.projection = {p};
  EXPECT_EQ(verdict_of(t, "projection_similar"), Verdict::NotTested); // compared, but no interval
  t.projection[0].tightness_difference = interval(0.01, 0.2);
  EXPECT_EQ(verdict_of(t, "projection_similar"), Verdict::Held);
  t.projection[0].tightness_difference = interval(-0.01, 0.2);
  EXPECT_EQ(verdict_of(t, "projection_similar"), Verdict::Inconclusive);
  t.projection[0].tightness_difference = interval(-0.2, -0.01);
  EXPECT_EQ(verdict_of(t, "projection_similar"), Verdict::NotHeld);
  EXPECT_EQ(verdict_of(t, "projection_dissimilar"), Verdict::NotTested);
}

DistillRow drow(const std::string& series, double teacher_eps, double temperature, double val_accuracy) {
  DistillRow d;
  d.series = series;
  d.teacher_epsilon = teacher_eps;
  d.temperature = temperature;
  d.student_accuracy = one(0.8);
  d.student_val_accuracy = one(val_accuracy);
  return d;
}

// Students on 10 000 test examples. Hard teacher: T = 1 right on 8 000, T = 2 (best on validation) on `hard2`,
// T = 4 on 9 500 but worst on validation. Smoothed teacher (ε = 0.1, T = 1): `smooth`; trained with ε = 0.1: `direct`.
Tables distill_tables(int64_t hard2, int64_t smooth, int64_t direct = 8000) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.teacher_regime = "short";
  t.bootstrap.resamples = 400;
  t.distillation = {
      drow("hard teacher", 0.0, 1.0, 0.80),
      drow("hard teacher", 0.0, 2.0, 0.82),
      drow("hard teacher", 0.0, 4.0, 0.70),
      drow("smoothed teacher", 0.1, 1.0, 0.81),
      drow("trained with LS (no teacher)", 0.1, 0.0, 0.8)};
  t.runs = {
      run("student", 0.0, preds(10000, 8000, 0.8f), 0, 0.0, 1.0),
      run("student", 0.0, preds(10000, hard2, 0.8f), 0, 0.0, 2.0),
      run("student", 0.0, preds(10000, 9500, 0.8f), 0, 0.0, 4.0),
      run("student", 0.0, preds(10000, smooth, 0.8f), 0, 0.1, 1.0),
      run("direct", 0.1, preds(10000, direct, 0.8f))};
  return t;
}

TEST(StudyClaims, MullersProtocolComparesTheHardTeacherAtItsBestTemperature) {
  EXPECT_EQ(verdict_of(distill_tables(8100, 8000), "distill_hard_teacher"), Verdict::Held); // +1 point
  EXPECT_EQ(verdict_of(distill_tables(8000, 8000), "distill_hard_teacher"), Verdict::Inconclusive);
  EXPECT_EQ(verdict_of(distill_tables(8000, 8100), "distill_hard_teacher"), Verdict::NotHeld);
  // T = 2 is the best on validation; T = 4's higher test accuracy is not looked at.
  const auto c = find(study::claims(distill_tables(8100, 8000)), "distill_hard_teacher");
  EXPECT_NE(c.measured.find("T = 2 (best by validation)"), std::string::npos) << c.measured;
  EXPECT_NEAR(c.evidence->interval.estimate, 0.01, 1e-12);
}

TEST(StudyClaims, ShensProtocolComparesEveryTeacherAtTemperatureOne) {
  EXPECT_EQ(verdict_of(distill_tables(8000, 8100), "distill_shen"), Verdict::Held);
  EXPECT_EQ(verdict_of(distill_tables(8000, 8000), "distill_shen"), Verdict::Inconclusive);
  EXPECT_EQ(verdict_of(distill_tables(8000, 7900), "distill_shen"), Verdict::NotHeld);
}

TEST(StudyClaims, TheDistillationConclusionNamesTheProtocolTheDataSupports) {
  auto conclusion = [](int64_t hard2, int64_t smooth) {
    return study::distillation_conclusion(study::claims(distill_tables(hard2, smooth)));
  };
  EXPECT_NE(conclusion(8100, 7900).find("supports Müller"), std::string::npos); // Müller held, Shen not held
  EXPECT_NE(conclusion(8000, 8100).find("supports Shen"), std::string::npos); // Shen held, Müller not held
  EXPECT_NE(conclusion(8300, 8100).find("Both hold"), std::string::npos);
  EXPECT_NE(conclusion(8000, 8000).find("cannot separate"), std::string::npos);
  EXPECT_EQ(study::distillation_conclusion({}), "");
}

TEST(StudyClaims, SmoothedTeachersStudentNoBetterThanDirect) {
  EXPECT_EQ(verdict_of(distill_tables(8000, 8020, 8000), "distill_vs_direct"), Verdict::Held); // −0.2 points
  EXPECT_EQ(verdict_of(distill_tables(8000, 8050, 8000), "distill_vs_direct"), Verdict::Inconclusive);
  EXPECT_EQ(verdict_of(distill_tables(8000, 8100, 8000), "distill_vs_direct"), Verdict::NotHeld);
}

Tables mi_tables(const std::vector<double>& hard, const std::vector<double>& smooth) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.mi_examples = 300;
  t.bootstrap.resamples = 400;
  for (size_t s = 0; s < hard.size(); ++s)
    for (auto [eps, mi] : {std::pair{0.0, hard[s]}, std::pair{0.1, smooth[s]}}) {
      RunRow r = run("teacher", eps, preds(10, 9, 0.9f), s);
      train::EpochRecord e;
      e.epoch = 1;
      e.mi = mi;
      r.epochs = {e};
      t.runs.push_back(r);
    }
  return t;
}

TEST(StudyClaims, MutualInformationEndsLowerWithSmoothingOverSeeds) {
  EXPECT_EQ(verdict_of(mi_tables({1.5, 1.4, 1.6}, {1.3, 1.35, 1.5}), "mi_falls"), Verdict::Held);
  EXPECT_EQ(verdict_of(mi_tables({1.5, 1.4, 1.6}, {1.3, 1.5, 1.5}), "mi_falls"), Verdict::Inconclusive);
  EXPECT_EQ(verdict_of(mi_tables({1.3, 1.35, 1.5}, {1.5, 1.4, 1.6}), "mi_falls"), Verdict::NotHeld);
  const auto c = find(study::claims(mi_tables({1.5}, {1.0})), "mi_falls"); // one seed: no interval
  EXPECT_EQ(c.verdict, Verdict::Inconclusive);
  EXPECT_NE(c.measured.find(fmt::format("{:.3f}", std::log(600.0))), std::string::npos); // log N, N = 2 · 300
}

TEST(StudyWhen, CapRuleValidationChoiceAndConfidenceStates) {
  auto t = regime_tables(preds(10000, 9000, 0.95f, 0.9f), preds(10000, 9000, 0.85f));
  t.regimes[0].epsilons = {0.0, 0.02, 0.1};
  t.calibration.push_back(calib_row(0.02, 0.01)); // the lowest validation ECE
  t.runs.push_back(run("teacher", 0.02, preds(10000, 9000, 0.901f)));
  train::EpochRecord e;
  e.train_accuracy = 0.982;
  t.runs[0].epochs = {e};
  const auto answers = study::when_answers(t);
  ASSERT_EQ(answers.size(), 1u);
  const auto& a = answers[0];
  EXPECT_NEAR(a.train_accuracy, 0.982, 1e-15);
  EXPECT_NEAR(a.cap_epsilon, 0.018 / 0.9, 1e-12); // 1 − ε + ε/10 = 0.982
  EXPECT_EQ(a.val_epsilon, 0.02);
  ASSERT_EQ(a.rows.size(), 3u);
  EXPECT_EQ(a.rows[0].state, "over-confident"); // 0.95 vs 90% right
  EXPECT_EQ(a.rows[1].state, "calibrated within noise"); // 0.901
  EXPECT_EQ(a.rows[2].state, "under-confident"); // 0.85
  ASSERT_TRUE(a.val_vs_ts);
  EXPECT_EQ(study::decide(a.val_vs_ts->interval, a.val_vs_ts->threshold), Verdict::Held);
  EXPECT_NE(a.conclusion.find("over-confident"), std::string::npos) << a.conclusion;
  EXPECT_NE(a.conclusion.find("as well as temperature scaling"), std::string::npos) << a.conclusion;
  EXPECT_NE(a.conclusion.find("ε = 0.1 and above make the model under-confident"), std::string::npos) << a.conclusion;
  EXPECT_NE(a.conclusion.find("predicts ε ≈ 0.020"), std::string::npos) << a.conclusion;
}

// The "when" answer against the best post-hoc calibrator: the hard run's calibrated confidences are 0.9 with 90% right
// (ECE 0); the validation choice is ε = 0.1 (validation ECE 0.03 < 0.05), whose confidence x gives ECE |x − acc|.
// Δ = ECE(0, best post-hoc) − ECE(0.1) > −0.01 on each side of the margin.
study::RegimeAnswer posthoc_answer(float smoothed_confidence) {
  auto hard = preds(10000, 9000, 0.95f);
  hard.confidence_posthoc.assign(hard.correct.size(), 0.9f);
  hard.correct_posthoc = hard.correct;
  auto t = regime_tables(hard, preds(10000, 9000, smoothed_confidence));
  study::PostHocChoice choice;
  choice.method = "dirichlet";
  choice.ece = 0.0;
  t.runs[0].posthoc = choice;
  const auto answers = study::when_answers(t);
  EXPECT_EQ(answers.size(), 1u);
  return answers.at(0);
}

TEST(StudyWhen, BestPostHocCalibratorAgainstTheValidationChoice) {
  auto verdict = [](const study::RegimeAnswer& a) {
    EXPECT_TRUE(a.val_vs_posthoc);
    return a.val_vs_posthoc ? study::decide(a.val_vs_posthoc->interval, a.val_vs_posthoc->threshold)
                            : Verdict::NotTested;
  };
  const auto held = posthoc_answer(0.9f); // Δ = 0 on every resample
  EXPECT_EQ(held.val_epsilon, 0.1);
  EXPECT_EQ(held.posthoc_method, "dirichlet");
  EXPECT_EQ(held.ece_posthoc, 0.0);
  EXPECT_EQ(verdict(held), Verdict::Held);
  EXPECT_NEAR(held.val_vs_posthoc->interval.estimate, 0.0, 1e-7);
  EXPECT_NE(held.conclusion.find("best post-hoc calibrator"), std::string::npos) << held.conclusion;
  EXPECT_NE(held.conclusion.find("ε = 0.1 calibrates as well as it"), std::string::npos) << held.conclusion;
  // 0.915: Δ = −0.015 where the resampled accuracy is ≤ 0.9, up to ≈ −0.003 above it: the interval holds −0.01.
  EXPECT_EQ(verdict(posthoc_answer(0.915f)), Verdict::Inconclusive);
  const auto worse = posthoc_answer(0.95f); // Δ ≈ −0.05
  EXPECT_EQ(verdict(worse), Verdict::NotHeld);
  EXPECT_NEAR(worse.val_vs_posthoc->interval.estimate, -0.05, 1e-6);
  EXPECT_NE(worse.conclusion.find("it calibrates better than ε = 0.1"), std::string::npos) << worse.conclusion;
  // Without a choice for every ε = 0 run there is no comparison.
  auto t = regime_tables(preds(10000, 9000, 0.95f), preds(10000, 9000, 0.9f));
  const auto none = study::when_answers(t).at(0);
  EXPECT_TRUE(none.posthoc_method.empty());
  EXPECT_FALSE(none.val_vs_posthoc);
}

// n examples, the first `hits` correct, scored so that the correct ones come first (`correct_first`) or in a seeded
// random order; the normalised max logit ranks them the other way round (p = 2).
RunPredictions ranked(int64_t n, int64_t hits, bool correct_first, bool logit_norm_correct_first = true) {
  RunPredictions p = preds(n, hits, 0.9f);
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(0.5f, 1.0f);
  auto scores = [&](bool first) {
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      s[size_t(i)] = first ? (p.correct[size_t(i)] ? 2.0f : 1.0f) - float(i) / float(n) : u(gen);
    return s;
  };
  p.ranked = calib::rank_scores(scores(correct_first));
  p.ranked_logit_norm = calib::rank_scores(scores(logit_norm_correct_first));
  p.logit_norm_p = 2;
  return p;
}

// The regime tables with the selective-classification rows present (their means are only printed).
Tables selective_tables(RunPredictions hard, RunPredictions smooth) {
  auto t = regime_tables(std::move(hard), std::move(smooth));
  for (auto& c : t.calibration)
    c.aurc = c.e_aurc = c.augrc = c.aurc_logit_norm = one(0.05);
  return t;
}

TEST(StudyClaims, LabelSmoothingWorsensSelectiveClassification) {
  auto verdict = [](bool hard_first, bool smooth_first) {
    return verdict_of(
        selective_tables(ranked(2000, 1800, hard_first), ranked(2000, 1800, smooth_first)), "selective_teacher");
  };
  EXPECT_EQ(verdict(true, false), Verdict::Held); // the oracle against a random ranking
  EXPECT_EQ(verdict(true, true), Verdict::Inconclusive); // Δ = 0 in every resample
  EXPECT_EQ(verdict(false, true), Verdict::NotHeld);
  // The evidence is the AURC difference itself: the oracle's AURC against the random ranking's.
  auto t = selective_tables(ranked(2000, 1800, true), ranked(2000, 1800, false));
  const auto all = study::claims(t); // held here: the evidence refers into it
  const auto& e = *find(all, "selective_teacher").evidence;
  const auto hard = study::selective(*t.runs[0].predictions, {}), smooth = study::selective(*t.runs[1].predictions, {});
  EXPECT_NEAR(hard.e_aurc, 0, 1e-15);
  EXPECT_DOUBLE_EQ(e.interval.estimate, smooth.aurc - hard.aurc);
  EXPECT_EQ(e.scale, 1000);
}

TEST(StudyClaims, LogitNormalisationRecoversSelectiveClassification) {
  auto verdict = [](bool msp_first, bool norm_first) {
    return verdict_of(
        selective_tables(ranked(2000, 1800, true), ranked(2000, 1800, msp_first, norm_first)), "logit_norm_teacher");
  };
  EXPECT_EQ(verdict(false, true), Verdict::Held);
  EXPECT_EQ(verdict(true, true), Verdict::Inconclusive);
  EXPECT_EQ(verdict(true, false), Verdict::NotHeld);
  // Without a p (no validation split) there is no claim.
  auto t = selective_tables(ranked(2000, 1800, true), ranked(2000, 1800, false));
  t.calibration[1].aurc_logit_norm = Stat{};
  EXPECT_THROW(find(study::claims(t), "logit_norm_teacher"), std::runtime_error);
}

// After temperature scaling: ECE |0.9 − conf_ts| for 90% accuracy; the claim holds unless smoothing is better by 0.01.
TEST(StudyClaims, AfterTemperatureScalingSmoothingCalibratesNoBetter) {
  auto verdict = [](float hard_ts, float smooth_ts) {
    return verdict_of(
        selective_tables(preds(10000, 9000, 0.95f, hard_ts), preds(10000, 9000, 0.85f, smooth_ts)),
        "calibratable_teacher");
  };
  EXPECT_EQ(verdict(0.9f, 0.95f), Verdict::Held); // Δ ≈ +0.05: smoothing worse
  EXPECT_EQ(verdict(0.905f, 0.9f), Verdict::Held); // Δ ≈ −0.005: within the margin
  EXPECT_EQ(verdict(0.915f, 0.9f), Verdict::Inconclusive); // Δ ∈ about [−0.015, −0.003]
  EXPECT_EQ(verdict(0.95f, 0.9f), Verdict::NotHeld); // Δ ≈ −0.05: smoothing calibrates better
  // Held with the whole interval above +0.01 is worse, not merely no better: the answer lists it as a harm.
  auto t = selective_tables(preds(10000, 9000, 0.95f, 0.9f), preds(10000, 9000, 0.85f, 0.95f));
  const auto verdicts = study::claims(t);
  const auto a = study::when_answers(t, verdicts).at(0);
  EXPECT_NE(
      a.short_answer.find("hurt: calibration after temperature scaling (calibratable_teacher)"), std::string::npos)
      << a.short_answer;
  EXPECT_NE(a.beyond_calibration.find("calibrated worse, by more than 0.01"), std::string::npos)
      << a.beyond_calibration;
}

TEST(StudyWhen, BeyondCalibrationNamesTheClaimsItRestsOn) {
  auto t = selective_tables(ranked(2000, 1800, true), ranked(2000, 1800, false));
  const auto verdicts = study::claims(t);
  const auto a = study::when_answers(t, verdicts);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].beyond_calibration.find("hurt selective classification"), std::string::npos)
      << a[0].beyond_calibration;
  EXPECT_NE(a[0].beyond_calibration.find("; selective_teacher)"), std::string::npos);
  EXPECT_NE(a[0].beyond_calibration.find("logit_norm_teacher"), std::string::npos);
  EXPECT_NE(a[0].beyond_calibration.find("calibratable_teacher"), std::string::npos);
  EXPECT_NE(a[0].short_answer.find("ε = 0.1 hurt: selective classification (selective_teacher)"), std::string::npos)
      << a[0].short_answer;
  EXPECT_TRUE(study::when_answers(t).at(0).beyond_calibration.empty()); // without the verdicts
  EXPECT_EQ(study::claim_headline("selective_overconf"), "LS worsens selective classification (AURC)");
  EXPECT_EQ(study::claim_headline("projection_similar"), "LS tightens the training clusters (similar classes)");
}

TEST(StudyClaims, NeuralCollapseFollowsItsInterval) {
  Tables t;
  t.claim_epsilon = 0.1;
  t.teacher_regime = "short";
  study::CollapseRow hard, smooth;
  hard.nc.nc1 = 2.0;
  smooth.nc.nc1 = 1.5;
  hard.nc.count = smooth.nc.count = 2000;
  t.collapse = {hard, smooth};
  auto verdict = [&](double low, double high) {
    t.nc1_difference = interval(low, high);
    return find(study::claims(t), "neural_collapse").verdict;
  };
  EXPECT_EQ(verdict(0.2, 0.8), Verdict::Held);
  EXPECT_EQ(verdict(-0.1, 0.8), Verdict::Inconclusive);
  EXPECT_EQ(verdict(-0.8, -0.2), Verdict::NotHeld);
  t.nc1_difference = Interval{}; // no interval: not tested
  EXPECT_EQ(find(study::claims(t), "neural_collapse").verdict, Verdict::NotTested);
  EXPECT_NE(find(study::claims(t), "neural_collapse").measured.find("NC1 2.000 → 1.500"), std::string::npos);
  t.collapse.pop_back(); // one teacher: no claim
  EXPECT_THROW(find(study::claims(t), "neural_collapse"), std::runtime_error);
}

TEST(StudyClaims, TransferAndUnseenClassesFollowTheirIntervals) {
  Tables t;
  t.claim_epsilon = 0.1;
  study::TransferTable tt;
  tt.seen = "a,b";
  tt.unseen = "c,d";
  tt.regime = "transfer: mlp";
  study::TransferRow hard, smooth;
  hard.epsilon = 0;
  smooth.epsilon = 0.1;
  hard.probe.test_accuracy = 0.80;
  smooth.probe.test_accuracy = 0.75;
  hard.detection = {{calib::OpenSetScore::MaxSoftmax, {0.90, 0.40, 100, 100}}};
  smooth.detection = {{calib::OpenSetScore::MaxSoftmax, {0.85, 0.50, 100, 100}}};
  tt.rows = {hard, smooth};
  t.transfer = tt;
  auto verdicts = [&](double low, double high) {
    t.transfer->probe_difference = interval(low, high);
    t.transfer->auroc_difference = interval(-high, -low); // the opposite side
    const auto cs = study::claims(t);
    return std::make_pair(find(cs, "transfer").verdict, find(cs, "unseen_classes").verdict);
  };
  EXPECT_EQ(verdicts(0.01, 0.09), std::make_pair(Verdict::Held, Verdict::NotHeld));
  EXPECT_EQ(verdicts(-0.01, 0.09), std::make_pair(Verdict::Inconclusive, Verdict::Inconclusive));
  EXPECT_EQ(verdicts(-0.09, -0.01), std::make_pair(Verdict::NotHeld, Verdict::Held));
  const auto cs = study::claims(t);
  EXPECT_NE(find(cs, "transfer").measured.find("accuracy 80.00% (ε = 0"), std::string::npos)
      << find(cs, "transfer").measured;
  EXPECT_EQ(find(cs, "transfer").evidence->scale, 100); // points
  EXPECT_NE(find(cs, "unseen_classes").measured.find("msp 90.00% (FPR@95 40.0%)"), std::string::npos);
  const auto beyond = study::answer_beyond_regimes(t, cs);
  EXPECT_NE(beyond.find("transferred better to the unseen classes (transfer: "), std::string::npos) << beyond;
  EXPECT_NE(beyond.find("harder to detect (unseen_classes: "), std::string::npos) << beyond;
  t.transfer->probe_difference = Interval{}; // no interval: not tested
  EXPECT_EQ(find(study::claims(t), "transfer").verdict, Verdict::NotTested);
}

// Noisy regime: ε ∈ {0, 0.1, 0.3}; ε = 0.3 has the best noisy-validation accuracy, so it is compared with ε = 0 on
// the clean test split: 10 000 examples, 80% right at ε = 0, 80% + k/10⁴ at ε = 0.3 (standard error ≈ √k/10⁴).
TEST(StudyClaims, LabelNoiseComparesTheEpsilonChosenOnNoisyValidation) {
  auto tables = [](int64_t k) {
    Tables t;
    t.label_noise = 0.4;
    t.noisy_regime = "label noise: mlp";
    t.bootstrap.resamples = 400;
    for (auto [eps, val] : {std::pair{0.0, 0.50}, {0.1, 0.52}, {0.3, 0.55}}) {
      study::NoiseRow r;
      r.epsilon = eps;
      r.val_accuracy = one(val);
      r.accuracy = one(0.8);
      t.noise.push_back(r);
    }
    t.runs = {
        run("noisy", 0.0, preds(10000, 8000, 0.9f)),
        run("noisy", 0.1, preds(10000, 7000, 0.9f)), // far worse on test: must not be the one compared
        run("noisy", 0.3, preds(10000, 8000 + k, 0.9f))};
    return t;
  };
  EXPECT_EQ(find(study::claims(tables(100)), "label_noise").verdict, Verdict::Held); // +1.0 ± 0.2 points
  EXPECT_EQ(find(study::claims(tables(0)), "label_noise").verdict, Verdict::Inconclusive);
  EXPECT_EQ(find(study::claims(tables(-100)), "label_noise").verdict, Verdict::NotHeld);
  const auto c = find(study::claims(tables(100)), "label_noise");
  EXPECT_NEAR(c.evidence->interval.estimate, 0.01, 1e-12);
  EXPECT_NE(c.evidence->quantity.find("acc(ε = 0.3) − acc(ε = 0)"), std::string::npos) << c.evidence->quantity;
  EXPECT_NE(c.claim.find("With 40% of the training labels wrong"), std::string::npos) << c.claim;
  const auto beyond = study::answer_beyond_regimes(tables(100), study::claims(tables(100)));
  EXPECT_NE(
      beyond.find("ε = 0.3 chosen on noisy validation helped clean accuracy (label_noise: +1.00 points"),
      std::string::npos)
      << beyond;
  EXPECT_EQ(
      study::claim_headline("label_noise"), "under label noise, LS (ε chosen on noisy validation) improves accuracy");
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
