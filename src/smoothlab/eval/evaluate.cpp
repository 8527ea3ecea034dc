// `smoothlab eval`: predictions of both splits, every calibration metric, temperature scaling on validation.
#include "smoothlab/eval/evaluate.h"

#include <torch/torch.h>

#include "smoothlab/calib/gamma.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/data/split.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/viz/reliability.h"

namespace smoothlab::eval {

namespace fs = std::filesystem;
using json = nlohmann::json;

SplitOutputs predict_splits(train::LoadedRun& run) {
  SplitOutputs out;
  const int64_t batch = run.config.execution.eval_batch_size;
  const int workers = run.config.execution.workers;
  const auto precision = run.config.execution.precision;
  if (run.data.val.size() > 0) {
    auto loader = data::make_eval_loader(run.data.val, batch, run.data.mean, run.data.std, workers);
    out.val = model::predict(*run.model, *loader, run.device, true, precision);
  }
  auto loader = data::make_eval_loader(run.data.test, batch, run.data.mean, run.data.std, workers);
  out.test = model::predict(*run.model, *loader, run.device, true, precision);
  return out;
}

void EvalOptions::validate() const {
  calib::ReportOptions().bootstrap(bootstrap).seed(seed).validate();
}

train::EvalRecord evaluate_run(const fs::path& run_dir, const EvalOptions& options) {
  options.validate();
  auto run = train::load_run(run_dir, options.device);
  if (options.precision)
    run.config.execution.precision = *options.precision;
  const auto precision = run.config.execution.precision;
  model::check_precision(precision, run.device);
  if (const auto slow = model::precision_note(precision, run.device); !slow.empty() && options.on_note)
    options.on_note({NoteKind::Precision, slow});
  const auto& dir = run.dir;
  auto outputs = predict_splits(run);
  train::EvalRecord result;
  result.epochs_done = run.epochs_done;
  result.bins = run.config.probe.bins;
  result.precision = run.config.execution.precision;
  const auto report_options =
      calib::ReportOptions().bins(run.config.probe.bins).bootstrap(options.bootstrap).seed(options.seed);
  json calibration;
  const std::string title = "Reliability of " + dir.name();
  const bool has_val = outputs.val.logits.defined() && outputs.val.logits.size(0) > 0;
  if (has_val) {
    // Temperature on validation only; test metrics with and without it.
    auto report = calib::calibration_report(
        outputs.val.logits,
        outputs.val.labels,
        outputs.test.logits,
        outputs.test.labels,
        report_options,
        "val",
        "test");
    result.val = report.fit_before;
    result.test = report.before;
    result.temperature = report.fit;
    result.test_scaled = report.after;
    calibration = calib::to_json(report);
    if (options.diagrams)
      viz::save_calibration_diagrams(report, dir.reliability_stem(), title);
  } else {
    calib::CalibrationMeter meter(calib::MeterOptions().bins(run.config.probe.bins));
    meter.add(outputs.test.logits, outputs.test.labels);
    const auto test = meter.value();
    result.test = test;
    calibration = {
        {"bins", test.bins},
        {"binning", calib::binning_name(test.binning)},
        {"fit", nullptr},
        {"note", "the run has no validation split: temperature scaling is never fitted on the test split"},
        {"evaluated_on", "test"},
        {"before", calib::to_json(test)}};
    if (options.diagrams)
      viz::save_reliability_diagram(
          {viz::make_reliability_curve("T = 1", meter.confidence(), meter.correct(), test.bins, test.binning)},
          dir.reliability_stem(),
          title);
  }
  // Mass on wrong classes × K/(K−1), averaged over examples: ε for a label-smoothed target ([M] §4).
  result.gamma.temperature = 1.0;
  if (has_val)
    result.gamma.val = calib::equivalent_smoothing(outputs.val.logits, outputs.val.labels, 1.0);
  result.gamma.test = calib::equivalent_smoothing(outputs.test.logits, outputs.test.labels, 1.0);
  if (options.train_gamma) {
    auto loader = data::make_eval_loader(
        run.data.train,
        run.config.execution.eval_batch_size,
        run.data.mean,
        run.data.std,
        run.config.execution.workers);
    auto train = model::predict(*run.model, *loader, run.device, false, precision);
    result.gamma.train = calib::equivalent_smoothing(train.logits, train.labels, 1.0);
  }
  if (options.write_npy) {
    const auto features = [&](const torch::Tensor& f) { return options.write_features ? f : torch::Tensor(); };
    if (outputs.val.logits.defined())
      dir.write_outputs(data::Split::Val, outputs.val.logits, outputs.val.labels, features(outputs.val.features));
    dir.write_outputs(data::Split::Test, outputs.test.logits, outputs.test.labels, features(outputs.test.features));
  }
  dir.write_calibration(calibration);
  dir.write_eval(result);
  return result;
}

} // namespace smoothlab::eval
