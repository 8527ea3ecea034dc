#include "smoothlab/eval/evaluate.h"

#include <torch/torch.h>

#include "smoothlab/calib/metrics.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"

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

json metrics_json(const Predictions& p, int64_t bins) {
  auto m = calib::compute_metrics(p.logits, p.labels, bins);
  return {{"accuracy", m.accuracy}, {"nll", m.nll}, {"ece", m.ece}, {"brier", m.brier}, {"count", m.count}};
}

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
  if (outputs.val.logits.defined()) result["val"] = metrics_json(outputs.val, run.config.bins);
  result["test"] = metrics_json(outputs.test, run.config.bins);
  if (options.write_npy) {
    if (outputs.val.logits.defined()) write_outputs(run_dir, "val", outputs.val);
    write_outputs(run_dir, "test", outputs.test);
  }
  write_file_atomic(run_dir / "eval.json", result.dump(2) + "\n");
  return result;
}

}  // namespace smoothlab::eval
