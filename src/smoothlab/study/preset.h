// The presets of `smoothlab study` and the plan of runs they expand to: every run of a study is a normal run folder
// (train/trainer.h) named by its group and keyed by a hash of its configuration, so a repeated or interrupted study
// finds what is done and continues.
//
// A study has four groups of runs ([M] §3 Table 2–3, §2 Fig. 1, §4 Fig. 5–6):
//   teacher   the main model, ε ∈ epsilons × seeds, "short" schedule (augmentation, weight decay 5e-4), with Î
//             logged from step 0 every mi_every steps and at each epoch's end (mi_classes) — accuracy (Table 2),
//             calibration, projection (Fig. 1), Î (Fig. 6)
//   overconf  a schedule that makes the hard-target model over-confident (no augmentation, little weight decay,
//             more epochs; paper-methods §7) × calib_epsilons × seeds — the regime the calibration claim is about
//   student   the smaller student distilled ([M] §4 form: H(softmax(z_t/T), softmax(z_s)), β = 1, no hard term) from
//             the hard teacher at every T in temperatures and from each smoothed teacher at T = 1, per seed: Müller's
//             protocol (hard teacher at its best T) and Shen's (every teacher at T = 1) read the same runs
//   direct    the student model trained directly with each ε (the paper's "students trained with LS")
//   transfer  the transfer model trained on the first half of the classes (ClassChoice::seen) at ε = 0 and the claim
//             ε, per seed: its frozen features are probed on the other half (Kornblith et al. 2021) and its logits
//             tell the other half's test images from its own (unseen-class detection)
//   noisy     the label-noise model at each noise_epsilons, per seed, on training and validation labels of which
//             label_noise are wrong (data::DataOptions::label_noise); the test labels stay clean
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/train/config.h"

namespace smoothlab::study {

struct StudyPreset {
  std::string name, description;
  std::string teacher_regime; // one line on what the teacher schedule is (for the report)
  std::string overconf_regime; // the same for the over-confident schedule
  train::TrainConfig teacher; // base configuration of the teacher group (smoothing and seed set per run)
  std::vector<double> epsilons; // teacher ε grid, must contain 0
  std::vector<uint64_t> seeds;
  double claim_epsilon = 0.1; // the ε the paper's Table 2/3 and Fig. 1 claims are checked at (in epsilons)
  train::TrainConfig overconf; // over-confident regime; overconf.optimiser.epochs == 0: no such group
  std::vector<double> overconf_epsilons;
  train::TrainConfig student; // student model (distilled and direct); student.optimiser.epochs == 0: no distillation
  std::vector<double> temperatures; // the hard teacher is distilled at each T
  std::vector<double> student_epsilons; // direct students (LS on the student itself)
  int64_t projection_per_class = 100;
  train::TrainConfig
      transfer; // transfer.optimiser.epochs == 0: no transfer regime (nor one for data without a ClassChoice::seen)
  std::string transfer_regime;
  train::TrainConfig noisy; // noisy.optimiser.epochs == 0: no label-noise regime
  std::string noisy_regime;
  double label_noise = 0.4;
  std::vector<double> noise_epsilons;
  double estimated_minutes = 0; // on 2 idle CPU cores (set by make_plan's cost model)
};

// "tiny" (tests: seconds), "quick" (≤ 5 minutes on 2 cores), "standard" (≤ 2 hours), "paper" ([M]'s models and
// schedules; CIFAR and a GPU). Throws Error listing the known names for others.
StudyPreset make_preset(const std::string& name);
std::vector<std::string> known_presets();

// One run of the plan.
struct RunSpec {
  std::string group; // teacher | overconf | student | direct | transfer | noisy
  std::string name; // folder name under STUDY/runs: e.g. teacher_cnn_eps0.1_seed0_3fa2c9d1
  train::TrainConfig config;
  double epsilon = 0; // the run's own label smoothing
  uint64_t seed = 0;
  // students only: the teacher run's name, its ε, the distillation temperature
  std::string teacher;
  double teacher_epsilon = 0, temperature = 0;
  double cost_seconds = 0; // estimate on 2 idle cores, for the ETA
};

// Expands a preset on the data spec (fashion-mnist, cifar10:DIR, ...): teachers first (students need them).
// mi_classes and the projection triples come from choose_classes().
std::vector<RunSpec> make_plan(const StudyPreset& preset, const std::string& data);

// The analysis after training (tables, claims, figures) on 2 idle cores: the best post-hoc calibrator of every ε = 0
// run of a calibration regime (5-fold cross-validation of every calibrator, ~8 s each at 5 000 validation examples),
// the transfer regime's probes (~8 s), the rest ~10 s (measured on the quick preset, 2026-12-04).
double analysis_seconds(const StudyPreset& preset, const std::vector<RunSpec>& plan);

// Class choices for the data set, by name where it is one the paper (or paper-methods.md) names, else by index:
// dissimilar / similar triples for Fig. 1 and the pair for Î (Fig. 6).
// seen: the transfer regime's training classes (the first half, by index), "" where the study does not know the
// data's classes (then no transfer regime).
struct ClassChoice {
  std::string dissimilar, similar, mi_pair, seen;
};
ClassChoice choose_classes(const std::string& data);

// Hash of the configuration fields that change results (not threads, workers, device, eval batch size): 8 hex digits.
std::string config_key(const train::TrainConfig& config);

nlohmann::json to_json(const StudyPreset& preset);
nlohmann::json to_json(const RunSpec& run);

} // namespace smoothlab::study
