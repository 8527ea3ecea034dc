// The run folder: the only code that knows its file names and formats. Every stage hands data to the next through
// the typed records below, never through file names or JSON lookups of its own.
//
//   RUN_DIR/config.json        RunRecord: the effective TrainConfig, the data's facts, versions, the command line,
//                              distillation and MI-logging facts (written when the run starts)
//   RUN_DIR/metrics.jsonl      one EpochRecord per finished epoch, rewritten atomically after each epoch
//   RUN_DIR/checkpoint.safetensors   model + optimizer + epochs done + RNG state (train/checkpoint.h), after the
//                              metrics
//   RUN_DIR/eval.json          EvalRecord (`smoothlab eval`): metrics of val and test, temperature, γ
//   RUN_DIR/calibration.json   the calibration report (calib::to_json(CalibrationReport)): CalibrationRecord
//   RUN_DIR/reliability*.png|svg, RUN_DIR/{val,test}_{logits,labels,features}.npy   eval's figures and outputs
//   RUN_DIR/mi.json, mi_gaps.npy, mi_labels.npy                                      `smoothlab mi` (--out DIR)
//   RUN_DIR/bad_images.txt     image folders with --skip-bad-images
//
// Every file is written atomically (core/files.h). A file that exists but cannot be read as its record is an Error
// naming it (with a hint to rerun with --force or to re-evaluate); writes are atomic, so a torn file is corruption,
// never a normal state, and no reader skips a bad line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/split.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/device.h"

namespace smoothlab::train {

// What to do with a run folder that already holds files.
enum class ExistingRun { Refuse, Resume, Force };

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
  nlohmann::json loader = nlohmann::json::object(); // data::LoaderStats of the epoch (diagnostics)
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

// A run folder's paths, readers and writers.
class RunDir {
 public:
  explicit RunDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& path() const {
    return dir_;
  }
  std::string name() const; // the folder's own name

  std::filesystem::path config_file() const {
    return dir_ / "config.json";
  }
  std::filesystem::path metrics_file() const {
    return dir_ / "metrics.jsonl";
  }
  std::filesystem::path checkpoint_file() const {
    return dir_ / "checkpoint.safetensors";
  }
  std::filesystem::path eval_file() const {
    return dir_ / "eval.json";
  }
  std::filesystem::path calibration_file() const {
    return dir_ / "calibration.json";
  }
  std::filesystem::path bad_images_file() const {
    return dir_ / "bad_images.txt";
  }
  // The stem of eval's reliability diagrams: RUN_DIR/reliability (+ _before, _after; .png, .svg).
  std::filesystem::path reliability_stem() const {
    return dir_ / "reliability";
  }
  // RUN_DIR/<split>_<kind>.npy, kind = logits | labels | features.
  std::filesystem::path outputs_file(const std::string& split, const std::string& kind) const;
  std::filesystem::path mi_file() const {
    return dir_ / "mi.json";
  }
  std::filesystem::path mi_gaps_file() const {
    return dir_ / "mi_gaps.npy";
  }
  std::filesystem::path mi_labels_file() const {
    return dir_ / "mi_labels.npy";
  }

  bool has_config() const;
  bool has_checkpoint() const;

  // Readers throw Error naming the file when it is missing or unreadable.
  RunRecord read_config() const;
  std::vector<EpochRecord> read_metrics() const; // empty when the file does not exist
  EvalRecord read_eval() const;
  CalibrationRecord read_calibration() const;

  void write_config(const RunRecord& record) const;
  void write_metrics(const std::vector<EpochRecord>& records) const;
  void write_eval(const EvalRecord& record) const;
  void write_calibration(const nlohmann::json& report) const; // calib::to_json of a report, or a note without one
  // RUN_DIR/<split>_{logits,labels,features}.npy; features may be undefined.
  void write_outputs(
      const std::string& split,
      const torch::Tensor& logits,
      const torch::Tensor& labels,
      const torch::Tensor& features) const;

  // True when eval.json records at least `epochs` epochs (a finished, evaluated run).
  bool evaluated(int64_t epochs) const;

 private:
  std::filesystem::path dir_;
};

// The decision about an existing run folder, made once before anything is built from the configuration.
struct OpenedRun {
  RunDir dir;
  TrainConfig config; // effective: the saved configuration when resuming, else the requested one
  bool wipe = false; // --force: the folder's files are deleted when training starts
  std::optional<RunRecord> saved; // the saved record when resuming
  bool rerun = false; // resuming because the command repeats the saved run's result settings (ExistingRun::Refuse)
  bool resuming() const { // continues a saved run (its config.json)
    return saved.has_value();
  }
};

// Refuse: an existing folder that holds an unfinished run with the same result settings (config.h) is continued, with
// `requested` as the configuration (rerun); any other non-empty folder is an Error naming what differs; Resume: a
// folder with config.json is continued with its saved configuration (`requested` is ignored), one without starts anew;
// Force: starts anew, deleting what is there.
// Validates the effective configuration. Touches no file.
OpenedRun open_run(const std::filesystem::path& out, ExistingRun mode, const TrainConfig& requested);

// A run folder loaded for evaluation and analysis: its record, its data, its model with the latest checkpoint.
struct LoadedRun {
  RunDir dir{""};
  RunRecord record;
  TrainConfig config; // = record.config
  data::DataBundle data;
  model::Classifier model;
  int64_t epochs_done = 0;
  torch::Device device = torch::kCPU;
};

// device_override: nullopt keeps the run's. Throws Error for a CUDA device without CUDA (device.h torch_device).
LoadedRun load_run(const std::filesystem::path& run_dir, const std::optional<Device>& device_override = std::nullopt);

data::DataOptions data_options(const TrainConfig& config);

// smoothlab, LibTorch, compiler and BLAS versions for provenance.
nlohmann::json version_info();

void to_json(nlohmann::json& j, const RunRecord& r);
void from_json(const nlohmann::json& j, RunRecord& r);
void to_json(nlohmann::json& j, const EpochRecord& r);
void from_json(const nlohmann::json& j, EpochRecord& r);
void to_json(nlohmann::json& j, const EvalRecord& r);
void from_json(const nlohmann::json& j, EvalRecord& r);
void to_json(nlohmann::json& j, const DistillFacts& r);
void from_json(const nlohmann::json& j, DistillFacts& r);

} // namespace smoothlab::train
