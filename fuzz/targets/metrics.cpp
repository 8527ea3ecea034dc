// metrics.jsonl → the epoch records (train/run_dir.h RunDir::read_metrics: resume, the study's tables).
#include "fuzz/fuzz_target.h"
#include "smoothlab/train/run_dir.h"

SMOOTHLAB_FUZZ_TARGET(metrics) {
  const auto dir = smoothlab::fuzz::scratch_path("metrics");
  const smoothlab::train::RunDir run(dir);
  smoothlab::fuzz::write_input(run.metrics_file(), data, size);
  for (const auto& record : run.read_metrics())
    (void)nlohmann::json(record).dump(); // a resumed run writes the kept records back
}
