// compute_metrics: the trainer's per-epoch summary, computed by CalibrationMeter without class-wise bins.
#include "smoothlab/calib/metrics.h"

#include "smoothlab/calib/meter.h"

namespace smoothlab::calib {

Metrics compute_metrics(const torch::Tensor& logits, const torch::Tensor& labels, int64_t bins) {
  const auto m = calibration_metrics(logits, labels, MeterOptions().bins(bins).classwise(false));
  Metrics out;
  out.accuracy = m.accuracy;
  out.nll = m.nll;
  out.ece = m.ece;
  out.brier = m.brier;
  out.count = m.count;
  return out;
}

} // namespace smoothlab::calib
