// `smoothlab eval`: predictions of both splits, every calibration metric, temperature scaling on validation.
#include "smoothlab/eval/evaluate.h"

#include <torch/torch.h>

#include "smoothlab/calib/report.h"
#include "smoothlab/core/files.h"
#include "smoothlab/distill/gamma.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/viz/reliability.h"

namespace smoothlab::eval {

namespace fs = std::filesystem;
using json = nlohmann::json;

SplitOutputs predict_splits(train::LoadedRun& run) {
  SplitOutputs out;
  const int64_t batch = run.config.eval_batch_size;
  const int workers = run.config.workers;
  if (run.data.val.size() > 0) {
    auto loader = data::make_eval_loader(run.data.val, batch, run.data.mean, run.data.std, workers);
    out.val = predict(*run.model, *loader, run.device, true);
  }
  auto loader = data::make_eval_loader(run.data.test, batch, run.data.mean, run.data.std, workers);
  out.test = predict(*run.model, *loader, run.device, true);
  return out;
}

namespace {

void write_outputs(const fs::path& dir, const std::string& split, const Predictions& p) {
  data::write_npy(dir / (split + "_logits.npy"), p.logits);
  data::write_npy(dir / (split + "_labels.npy"), p.labels);
  data::write_npy(dir / (split + "_features.npy"), p.features);
}

}  // namespace

json evaluate_run(const fs::path& run_dir, const EvalOptions& options) {
  auto run = train::load_run(run_dir, options.device);
  auto outputs = predict_splits(run);
  json result;
  result["epochs_done"] = run.epochs_done;
  result["bins"] = run.config.bins;
  const auto report_options = calib::ReportOptions().bins(run.config.bins).bootstrap(options.bootstrap).seed(options.seed);
  json calibration;
  const std::string name = (run_dir.filename().empty() ? run_dir.parent_path() : run_dir).filename().string();
  if (outputs.val.logits.defined() && outputs.val.logits.size(0) > 0) {
    // Temperature on validation only; test metrics with and without it.
    auto report = calib::calibration_report(outputs.val.logits, outputs.val.labels, outputs.test.logits,
                                            outputs.test.labels, report_options, "val", "test");
    result["val"] = calib::to_json(report.fit_before, false);
    result["test"] = calib::to_json(report.before, false);
    result["temperature"] = calib::to_json(report.fit);
    result["test_scaled"] = calib::to_json(report.after, false);
    calibration = calib::to_json(report);
    if (options.diagrams) viz::save_calibration_diagrams(report, run_dir, "Reliability of " + name);
  } else {
    calib::CalibrationMeter meter(calib::MeterOptions().bins(run.config.bins));
    meter.add(outputs.test.logits, outputs.test.labels);
    const auto test = meter.value();
    result["test"] = calib::to_json(test, false);
    result["temperature"] = nullptr;
    calibration = {{"bins", test.bins},
                   {"binning", calib::binning_name(test.binning)},
                   {"fit", nullptr},
                   {"note", "the run has no validation split: temperature scaling is never fitted on the test split"},
                   {"evaluated_on", "test"},
                   {"before", calib::to_json(test)}};
    if (options.diagrams)
      viz::save_reliability_diagram(
          {viz::make_reliability_curve("T = 1", meter.confidence(), meter.correct(), test.bins, test.binning)},
          run_dir / "reliability", "Reliability of " + name);
  }
  // Mass on wrong classes × K/(K−1), averaged over examples: ε for a label-smoothed target ([M] §4).
  json gamma = {{"temperature", 1.0}};
  if (outputs.val.logits.defined() && outputs.val.logits.size(0) > 0)
    gamma["val"] = distill::equivalent_smoothing(outputs.val.logits, outputs.val.labels, 1.0);
  gamma["test"] = distill::equivalent_smoothing(outputs.test.logits, outputs.test.labels, 1.0);
  if (options.train_gamma) {
    auto loader = data::make_eval_loader(run.data.train, run.config.eval_batch_size, run.data.mean, run.data.std,
                                         run.config.workers);
    auto train = predict(*run.model, *loader, run.device, false);
    gamma["train"] = distill::equivalent_smoothing(train.logits, train.labels, 1.0);
  }
  result["gamma"] = gamma;
  if (options.write_npy) {
    if (outputs.val.logits.defined()) write_outputs(run_dir, "val", outputs.val);
    write_outputs(run_dir, "test", outputs.test);
  }
  write_file_atomic(run_dir / "calibration.json", calibration.dump(2) + "\n");
  write_file_atomic(run_dir / "eval.json", result.dump(2) + "\n");
  return result;
}

}  // namespace smoothlab::eval
