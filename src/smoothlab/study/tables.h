// The study's numbers as typed tables, built from the run folders' records (train/records.h): per-run rows,
// mean ± std over seeds per group and ε (calibration, distillation, Î) and the projection comparison of [M] §2.
// The claims (claims.h) and figures (figures.h) read these tables and nothing else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/open_set.h"
#include "smoothlab/represent/linear_probe.h"
#include "smoothlab/represent/neural_collapse.h"
#include "smoothlab/represent/project_runs.h"
#include "smoothlab/study/evidence.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/train/run_dir.h"

namespace smoothlab::study {

// Mean and sample standard deviation (n − 1; 0 for one value), min and max.
struct Stat {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t n = 0;
};
Stat stat_of(const std::vector<double>& values); // non-finite values are the caller's to drop
nlohmann::json to_json(const Stat& s);

// ε as the report writes it: 0.1, 0.05, 0.
std::string format_epsilon(double epsilon);

// The best post-hoc calibrator of a hard-target (ε = 0) run (issue 28, item 3): every calibrator of calib/compare.h
// fitted on the run's validation split, hyper-parameters by 5-fold cross-validation there, and the one with the lowest
// cross-validated NLL on validation chosen — the test split plays no part in the choice — then evaluated on test.
struct PostHocChoice {
  std::string method;
  double cv_nll = 0; // its cross-validated NLL on validation
  double ece = 0, nll = 0, accuracy = 0; // on test, after it (ECE: the study's equal-width bins)
  struct Ranked {
    std::string method;
    double cv_nll = 0, ece = 0, nll = 0; // cross-validated NLL on validation; ECE and NLL on test
  };
  std::vector<Ranked> ranking; // every method with a finite cv_nll, in its order
};

// One run of the plan with what its folder recorded.
struct RunRow {
  RunSpec spec;
  std::filesystem::path dir;
  train::RunRecord record;
  train::EvalRecord eval;
  train::CalibrationRecord calibration;
  std::vector<train::EpochRecord> epochs;
  double train_seconds = 0; // summed over the recorded epochs
  std::shared_ptr<const RunPredictions> predictions; // per-example test (and val) predictions; null without them
  std::optional<PostHocChoice> posthoc; // ε = 0 runs of a regime with a validation split

  bool scaled() const {
    return eval.temperature.has_value();
  }
  double temperature() const; // NaN without a fitted temperature
  double ece_ts() const; // test ECE at the fitted temperature, NaN without one
  double nll_ts() const;
  double val_ece() const; // NaN without a validation split
  // On the test split, from the predictions (evidence.h, selective): NaN metrics without them (or, for the
  // normalised max logit, without a validation split to choose p on).
  calib::SelectiveMetrics selective(bool logit_norm = false) const;
  double gamma() const; // the teacher's γ of a distilled run, NaN otherwise
  double train_accuracy() const; // the last epoch's running training accuracy, NaN without epochs
  std::optional<double> val_accuracy() const; // the last epoch's
  // Trained to a plateau: the validation accuracy of every epoch in the last quarter (at least the one before the
  // last) is within 2·√2 binomial standard errors of the last epoch's. False without a validation accuracy per epoch.
  bool plateaued() const;
};

// A group of runs trained under one schedule (a regime of the study).
struct Regime {
  std::string group; // teacher | overconf
  std::string description; // one line, for the report
  std::vector<double> epsilons;
};

// Mean ± std over seeds of one group and ε, on the test split.
struct CalibRow {
  std::string group;
  double epsilon = 0;
  Stat accuracy, nll, ece, mean_confidence, temperature, ece_ts, nll_ts, val_ece;
  Stat aurc, e_aurc, augrc, aurc_logit_norm; // selective classification (RunRow::selective)
  int64_t test_count = 0; // test images per run
};

struct DistillRow {
  std::string series; // "hard teacher" | "smoothed teacher" | "trained with LS (no teacher)"
  double teacher_epsilon = 0, temperature = 0;
  Stat student_accuracy, student_ece, gamma; // gamma: the teachers' γ (or ε for direct students)
  Stat student_val_accuracy; // last epoch's, what the protocols choose the best T or ε by
  std::optional<Stat> teacher_accuracy;
  std::vector<double> val_curve; // validation accuracy per epoch, mean over seeds
  int64_t runs = 0, plateaued_runs = 0; // RunRow::plateaued
};

// Î of the teachers of one ε at one point of training: before optimizer step `step` (--mi-every) or at an epoch's
// end; epoch = step / steps per epoch.
struct MiPoint {
  int64_t step = 0;
  double epoch = 0;
  Stat mi;
};
struct MiRow {
  double epsilon = 0;
  std::vector<MiPoint> points;
};

// The hard-vs-smoothed comparison of one class triple ([M] §2, Fig. 1; represent/project_runs.h).
struct ProjectionRow {
  std::string kind; // dissimilar | similar
  std::string classes; // e.g. "T-shirt/top,Trouser,Bag"
  std::optional<represent::ProjectComparison> comparison; // project_runs' verdict; none: not compared
  // tightness(ε = 0) − tightness(smoothed) on the training split, resampling the projected examples (the same
  // examples in both runs: paired); invalid without the projections
  Interval tightness_difference;
  std::shared_ptr<represent::ProjectResult> result; // for the figure (null in hand-made tables)
};

// NC1/NC2 of a teacher's penultimate features on training examples (represent/neural_collapse.h).
struct CollapseRow {
  double epsilon = 0;
  represent::NeuralCollapse nc;
};
inline constexpr int64_t kCollapsePerClass = 200; // training examples per class the collapse is measured on

// The transfer regime (preset.h) on its first seed: the ε = 0 and claim-ε models trained on the seen classes, their
// frozen penultimate features probed on the unseen classes (represent/linear_probe.h: up to kProbePerClass
// un-augmented training examples per class, λ on the validation split, accuracy on test), and their logits telling
// the unseen classes' test images from the seen ones' (calib/open_set.h).
struct TransferRow {
  double epsilon = 0;
  represent::LinearProbe probe;
  std::vector<std::pair<calib::OpenSetScore, calib::DetectionMetrics>> detection;
  calib::RankedScores ranked_msp; // the test examples (seen, then unseen) by max-softmax score, for the interval
};
inline constexpr int64_t kProbePerClass = 1000;
// FPR@95's convention, as summary.json and the report state it.
inline constexpr const char* kFpr95Convention =
    "seen classes positive: the share of unseen test images scoring at or above the highest threshold that accepts "
    "at least 95% of the seen ones";
struct TransferTable {
  std::string seen, unseen; // class names, comma-separated
  std::string regime;
  std::vector<TransferRow> rows; // ε = 0, claim ε
  int64_t probe_train = 0, probe_val = 0, seen_test = 0, unseen_test = 0;
  std::vector<uint8_t> known; // per detection test example: 1 seen, 0 unseen
  Interval probe_difference; // probe acc(0) − acc(c), resampling the unseen classes' test examples (paired)
  Interval auroc_difference; // AUROC_MSP(0) − AUROC_MSP(c), resampling the seen + unseen test examples (paired)
};

// The label-noise regime, per ε over seeds: accuracy on the clean test split, and on the noisy validation split
// (what a user can select ε by).
inline constexpr const char* kLabelNoiseConvention =
    "that share of the training and validation labels replaced by a class drawn uniformly from the other K − 1; the "
    "test labels clean";
struct NoiseRow {
  double epsilon = 0;
  Stat accuracy, val_accuracy, ece;
};

struct Tables {
  // What the claims are checked at.
  double claim_epsilon = 0.1;
  std::string teacher_regime;
  int64_t seeds = 1;
  int64_t mi_examples = 300; // per class: log N = log(2 · mi_examples)
  int64_t test_count = 0; // test images per run
  int64_t num_classes = 0;
  std::vector<Regime> regimes;
  EvidenceOptions bootstrap; // of every claim's interval (evidence.h)

  std::vector<RunRow> runs;
  std::vector<CalibRow> calibration;
  std::vector<DistillRow> distillation;
  std::vector<MiRow> mutual_information;
  std::vector<ProjectionRow> projection;
  // The first seed's ε = 0 and claim-ε teachers, and NC1(0) − NC1(claim ε) resampling the (paired) examples.
  std::vector<CollapseRow> collapse;
  Interval nc1_difference;
  std::optional<TransferTable> transfer;
  double label_noise = 0; // share of wrong training and validation labels in the noisy regime
  std::string noisy_regime;
  std::vector<NoiseRow> noise;
  std::vector<std::string> notes;

  const CalibRow* calibration_row(const std::string& group, double epsilon) const;
  // The runs of a group, optionally of one ε, teacher ε and temperature.
  std::vector<const RunRow*> select(
      const std::string& group,
      std::optional<double> epsilon = std::nullopt,
      std::optional<double> teacher_epsilon = std::nullopt,
      std::optional<double> temperature = std::nullopt) const;
};

// One run of a plan as make_tables reads it from runs_dir/<spec.name>: config.json, eval.json, calibration.json,
// metrics.jsonl and the test (and val) outputs. Throws Error naming the file that is missing or unreadable.
RunRow read_run(const RunSpec& spec, const std::filesystem::path& runs_dir);

// Reads every run of `plan` under runs_dir (all finished and evaluated) and builds the tables; projects the first
// seed's hard and claim-ε teachers on the data's class triples (choose_classes). Throws Error naming a run's file
// when it is missing or unreadable.
Tables make_tables(
    const StudyPreset& preset,
    const std::string& data,
    const std::vector<RunSpec>& plan,
    const std::filesystem::path& runs_dir);

// summary.json's "runs", "tables", "projection" and "notes".
nlohmann::json to_json(const Tables& tables);

} // namespace smoothlab::study
