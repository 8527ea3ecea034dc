// A small valid run folder (config.json, metrics.jsonl, eval.json, calibration.json, test outputs) written with the
// library's own writers: the background the run-folder targets damage one file of, and the source of their seeds.
#pragma once

#include <torch/torch.h>

#include <filesystem>

#include "smoothlab/calib/meter.h"
#include "smoothlab/train/run_dir.h"

namespace smoothlab::fuzz {

inline constexpr int64_t kRunClasses = 3;
inline constexpr int64_t kRunEpochs = 2;

// Test logits [6, 3] and labels [6] of a run that got most examples right.
inline std::pair<torch::Tensor, torch::Tensor> run_outputs() {
  const auto labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  auto logits = torch::one_hot(labels, kRunClasses).to(torch::kFloat32) * 2.0f;
  logits[5][0] = 3.0f; // one wrong
  return {logits, labels};
}

inline void write_run_folder(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const train::RunDir run(dir);
  train::RunRecord record;
  record.config.model = "mlp";
  record.config.optimiser.epochs = kRunEpochs;
  record.data.name = "fuzz";
  record.data.num_classes = kRunClasses;
  record.data.class_names = {"a", "b", "c"};
  record.data.shape = {1, 4, 4};
  record.data.mean = {0.5f};
  record.data.std = {0.25f};
  record.data.train_size = 12;
  record.data.test_size = 6;
  record.command = "smoothlab train --out fuzz";
  run.write_config(record);
  std::vector<train::EpochRecord> epochs(kRunEpochs);
  for (int64_t e = 0; e < kRunEpochs; ++e) {
    epochs[size_t(e)].epoch = e + 1;
    epochs[size_t(e)].lr = 0.1 / double(e + 1);
    epochs[size_t(e)].train_loss = 1.0 / double(e + 1);
    epochs[size_t(e)].train_accuracy = 0.5 + 0.1 * double(e);
    epochs[size_t(e)].val_accuracy = 0.4 + 0.1 * double(e);
    epochs[size_t(e)].seconds = 1.5;
    epochs[size_t(e)].steps = 3;
  }
  run.write_metrics(epochs);
  const auto [logits, labels] = run_outputs();
  const auto metrics = calib::calibration_metrics(logits, labels);
  train::EvalRecord eval;
  eval.epochs_done = kRunEpochs;
  eval.test = metrics;
  run.write_eval(eval);
  run.write_calibration(nlohmann::json{{"before", calib::to_json(metrics)}});
  run.write_outputs(data::Split::Test, logits, labels, {});
}

} // namespace smoothlab::fuzz
