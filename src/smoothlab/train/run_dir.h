// The run folder: the only code that knows its file names and formats. Every stage hands data to the next through
// the typed records of records.h, never through file names or JSON lookups of its own; run_loading.h opens and loads
// a run folder.
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
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "smoothlab/data/split.h"
#include "smoothlab/train/records.h"

namespace smoothlab::train {

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
  // What eval writes of a split: RUN_DIR/<split>_<kind>.npy, kind = logits | labels | features.
  enum class Output { Logits, Labels, Features };
  std::filesystem::path outputs_file(data::Split split, Output kind) const;
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
      data::Split split,
      const torch::Tensor& logits,
      const torch::Tensor& labels,
      const torch::Tensor& features) const;

  // True when eval.json records at least `epochs` epochs (a finished, evaluated run).
  bool evaluated(int64_t epochs) const;

 private:
  std::filesystem::path dir_;
};

} // namespace smoothlab::train
