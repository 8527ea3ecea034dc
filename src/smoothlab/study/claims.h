// The claims of [M] (and [G], [S]) checked against a study's tables, and the "when" answers per regime: pure
// functions of the tables, so each verdict can be tested on hand-made numbers on either side of its boundary
// (tests/study/claims_test.cpp).
//
// One rule for every claim (evidence.h): Δ, oriented so that larger means "as the paper says", with a paired
// bootstrap interval over the test examples (and the seeds); held when the interval lies above the threshold, not
// held when below, inconclusive when it contains it. ε = c is the claim ε; choices (the best T, the best ε) are made
// on the validation split and kept fixed in the resamples.
//   accuracy_<g>             Δ = acc(c) − acc(0)                         > −0.5 points  ("does not hurt")
//   overconfident_<g>        Δ = T̂ − 1 (T re-fitted on each validation resample)        > 0
//   temperature_scaling_<g>  Δ = ECE(0, T = 1) − ECE(0, T̂)                               > 0
//   ls_calibrates_<g>        Δ = ECE(0) − ECE(c)                                          > 0
//   ls_vs_ts_<g>             Δ = ECE(0, T̂) − ECE(ε*), ε* > 0 by validation ECE           > −0.01 ("about as well")
// and in the "when" answers (RegimeAnswer), beside ECE(0, T̂) − ECE(ε*) with ε* ≥ 0 by validation ECE:
//   ECE(0, best post-hoc calibrator chosen on validation) − ECE(ε*)                        > −0.01
//   projection_<kind>        Δ = tightness(0) − tightness(c), resampling the projected examples > 0
//   distill_hard_teacher     [M]: Δ = acc(student of the hard teacher at its best T) − acc(best student of a
//                            smoothed teacher at T = 1)                                  > 0
//   distill_shen             [S]: Δ = acc(best student of a smoothed teacher, T = 1) − acc(student of the hard
//                            teacher, T = 1); β = 1, no hard term                        > 0
//   distill_vs_direct        Δ = acc(student trained with ε = c) − acc(student of the ε = c teacher) > −0.5 points
//   mi_falls                 Δ = Î(0) − Î(c) at the end of training, over seeds (one seed: inconclusive) > 0
// and what the literature since 2019 says label smoothing hurts, from the same runs' test logits (no training):
//   selective_<g>            [Xia 2025]: Δ = AURC(c) − AURC(0), max-softmax confidence (calib/selective.h)     > 0
//   logit_norm_<g>           [Xia 2025]: Δ = AURC(c) − AURC(c, max z/‖z‖_p), p chosen on validation            > 0
//   neural_collapse          [Guo 2025]: Δ = NC1(0) − NC1(c) on the first seed's teachers' training features,
//                            resampling the (paired) examples                                                    > 0
//   calibratable_<g>         [Wang 2021]: Δ = ECE(c, T̂_c) − ECE(0, T̂_0), each at its own fitted temperature > −0.01
//                            ("no better after temperature scaling")
// and from the transfer and label-noise regimes (preset.h):
//   transfer                 [Kornblith 2021]: Δ = probe acc(0) − probe acc(c) on the unseen classes' test images
//                            (first seed; resampling those examples, paired)                                    > 0
//   unseen_classes           [Xu 2024 vs Vaze 2022]: Δ = AUROC(0) − AUROC(c), max-softmax score, seen classes'
//                            test images against the unseen ones' (first seed; resampling both, paired)         > 0
//   label_noise              [Lukasik 2020]: Δ = acc(ε̂) − acc(0) on the clean test split, ε̂ > 0 the ε of the
//                            highest noisy-validation accuracy                                                   > 0
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/study/evidence.h"
#include "smoothlab/study/tables.h"

namespace smoothlab::study {

inline constexpr double kAccuracyMargin = 0.005; // 0.5 points: "does not hurt", "no better than"
inline constexpr double kEceMargin = 0.01; // "calibrates about as well as"

struct Claim {
  std::string id; // e.g. "accuracy_teacher"
  std::string source; // e.g. "[M] §1, Table 2"
  std::string claim; // the claim as the paper states it
  std::string paper; // the paper's numbers
  std::string measured; // this study's numbers
  Verdict verdict = Verdict::NotTested;
  std::string regime;
  std::string note;
  std::optional<Evidence> evidence; // none for a claim that could not be tested
};

// A few words for a claim on the report's first-screen board, by its id: "LS does not hurt accuracy".
std::string claim_headline(const std::string& id);

std::vector<Claim> claims(const Tables& tables);

// Which distillation protocol the data supports, in one sentence, from the distill_hard_teacher and distill_shen
// verdicts; empty without them.
std::string distillation_conclusion(const std::vector<Claim>& claims);

// The answer to "when does label smoothing help?" for one regime.
struct EpsilonRow {
  double epsilon = 0;
  double ece = 0, nll = 0, accuracy = 0; // means over seeds
  std::optional<double> val_ece;
  Interval overconfidence; // mean confidence − accuracy (test), bootstrap
  std::string state; // "over-confident" | "under-confident" | "calibrated within noise" | ""
};
struct RegimeAnswer {
  std::string group, description;
  std::vector<EpsilonRow> rows;
  double ece_ts = NAN, nll_ts = NAN, temperature = NAN; // ε = 0 after temperature scaling
  double train_accuracy = NAN; // the hard-target model's, last epoch
  double cap_epsilon = NAN; // 1 − ε + ε/K = train_accuracy
  double val_epsilon = NAN; // lowest validation ECE over the grid (0 included)
  std::optional<Evidence> val_vs_ts; // ECE(ε = 0, T̂) − ECE(val_epsilon), > −kEceMargin
  // The best post-hoc calibrator of the ε = 0 runs (tables.h, PostHocChoice; per seed when they differ), its test ECE
  // (mean over seeds), and ECE(ε = 0, best post-hoc) − ECE(val_epsilon), > −kEceMargin (the calibrator held fixed)
  std::string posthoc_method;
  double ece_posthoc = NAN;
  std::optional<Evidence> val_vs_posthoc;
  std::string conclusion; // plain language
  // Where label smoothing hurt on this regime's runs beyond calibration (selective classification, calibratability
  // after temperature scaling; from the claims' verdicts, each named by its id): plain language, empty without them.
  std::string beyond_calibration;
  // The report's first screen: a few short sentences (the hard model's state, the ε chosen on validation against
  // temperature scaling, and what ε = c helped and hurt by the claims' verdicts, each named by its id).
  std::string short_answer;
};
// `verdicts`: claims(tables), for beyond_calibration (empty: not written).
std::vector<RegimeAnswer> when_answers(const Tables& tables, const std::vector<Claim>& verdicts = {});

// The first screen's sentences on what the regimes' own claims found beyond calibration: label noise, transfer to
// unseen classes, detecting them, distillation — each pointing at its claim's id; "" when none was tested.
std::string answer_beyond_regimes(const Tables& tables, const std::vector<Claim>& verdicts);

nlohmann::json to_json(const Claim& claim);
nlohmann::json to_json(const RegimeAnswer& answer);

} // namespace smoothlab::study
