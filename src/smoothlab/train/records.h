// The typed records of a run folder (run_dir.h names their files): what a run was (RunRecord, config.json), each
// epoch (EpochRecord, metrics.jsonl), its evaluation (EvalRecord, eval.json) and calibration (CalibrationRecord),
// with the facts of its data, its teacher and its MI logging. Every stage hands data to the next through them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/data/split.h"
#include "smoothlab/train/config.h"

namespace smoothlab::train {

// Facts of the data a run was trained on (config.json "data_info").
struct DataInfo {
  std::string name, spec;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<int64_t> shape; // {C, H, W}
  std::vector<float> mean, std;
  int64_t train_size = 0, val_size = 0, test_size = 0;
};
DataInfo data_info(const data::DataBundle& bundle);

// A run-folder teacher's own facts, for the record.
struct TeacherRunFacts {
  std::string model;
  double smoothing = 0;
  int64_t epochs = 0;
  uint64_t seed = 0;
};

// Distillation of a student run (config.json "distill"; distill/training.h).
struct DistillFacts {
  std::string teacher; // run folder or TorchScript file
  std::string teacher_kind = "run"; // run | torchscript
  std::string form = "paper"; // paper | hinton | custom
  double temperature = 1, beta = 1;
  bool soften_student = false, t_squared = false;
  std::string soft_term = "ce"; // ce | kl
  double hard_smoothing = 0; // ε of the hard term (the run's --smoothing)
  loss::Implementation hard_loss_impl = loss::Implementation::Fused; // the run's --loss-impl, used by the hard term
  double teacher_gamma = 0, teacher_gamma_t1 = 0; // γ at T and at 1 over teacher_gamma_split
  data::Split teacher_gamma_split = data::Split::Train;
  double teacher_train_accuracy = 0;
  bool teacher_cached = false;
  std::optional<TeacherRunFacts> teacher_run;
};

// MI logging during training (config.json "mi"; represent/mi_probe.h add_mi_logger).
struct MiFacts {
  std::vector<int64_t> classes;
  std::vector<std::string> class_names;
  int64_t examples_per_class = 0, views = 0, crop_padding = 0;
  bool hflip = true;
  uint64_t seed = 0;
  data::Split split = data::Split::Train;
};

// config.json.
struct RunRecord {
  TrainConfig config;
  DataInfo data;
  nlohmann::json versions = nlohmann::json::object();
  std::string command;
  int64_t world_size = 1; // ranks the run started with (distributed training; a resume may use another number)
  std::optional<DistillFacts> distill;
  std::optional<MiFacts> mi;
  nlohmann::json study; // a study's facts about this run (study/), kept as given; null when not part of a study
};

// Î measured during an epoch, before optimizer step `step` (global, from 0) of the run (--mi-every).
struct MiStep {
  int64_t step = 0;
  double mi = 0, mi_raw = 0, mi_sigma2 = 0;
};

// One line of metrics.jsonl.
struct EpochRecord {
  int64_t epoch = 0; // 1-based
  double lr = 0, train_loss = 0, train_accuracy = 0, images_per_second = 0, seconds = 0;
  std::optional<double> val_loss, val_nll, val_accuracy, val_ece; // when the run has a validation split
  std::optional<data::LoaderSummary> loader; // the epoch's loader (diagnostics); none in records without one
  int64_t bad_images = 0;
  std::optional<double> teacher_gamma; // distillation
  std::optional<double> mi, mi_raw, mi_sigma2; // MI logging, at the epoch's end
  std::vector<MiStep> mi_steps; // MI logging within the epoch (--mi-every)
  int64_t steps = 0; // optimizer steps of the epoch (0 in records written before it was kept)
  std::optional<int64_t> world_size; // ranks that trained the epoch, when more than one
};

// γ of the run's own predictions at T = 1 (calib/gamma.h) per split.
struct GammaRecord {
  double temperature = 1;
  std::optional<double> val, test, train;
};

// eval.json.
struct EvalRecord {
  int64_t epochs_done = 0, bins = 15;
  model::Precision precision = model::Precision::Fp32; // of the forward passes that made these logits
  std::optional<calib::CalibrationMetrics> val; // without bins
  calib::CalibrationMetrics test; // without bins
  std::optional<calib::TemperatureFit> temperature; // fitted on val; none without a validation split
  std::optional<calib::CalibrationMetrics> test_scaled; // test at the fitted T
  GammaRecord gamma;
};

// calibration.json, the parts other stages read: the evaluation split's metrics with reliability bins.
struct CalibrationRecord {
  calib::CalibrationMetrics before;
  std::optional<calib::CalibrationMetrics> after; // at the fitted temperature
};

// The smoothlab, LibTorch and compiler versions and LibTorch's parallel set-up of this process, for provenance.
struct VersionInfo {
  std::string smoothlab, libtorch, compiler;
  std::string parallel; // at::get_parallel_info(), its first 400 characters
  int64_t threads = 0;
};
VersionInfo versions();
nlohmann::json to_json(const VersionInfo& versions);
inline nlohmann::json version_info() {
  return to_json(versions());
}

void to_json(nlohmann::json& j, const RunRecord& r);
void from_json(const nlohmann::json& j, RunRecord& r);
void to_json(nlohmann::json& j, const EpochRecord& r);
void from_json(const nlohmann::json& j, EpochRecord& r);
void to_json(nlohmann::json& j, const EvalRecord& r);
void from_json(const nlohmann::json& j, EvalRecord& r);
void to_json(nlohmann::json& j, const DistillFacts& r);
void from_json(const nlohmann::json& j, DistillFacts& r);

} // namespace smoothlab::train
