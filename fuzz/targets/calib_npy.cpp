// Logits and labels as .npy (calib/inputs.h load_logits, load_labels: `smoothlab calibrate --logits x.npy`), then
// the checks calibrate applies to what they return.
#include "fuzz/fuzz_target.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/core/error.h"

SMOOTHLAB_FUZZ_TARGET(calib_npy) {
  const auto path = smoothlab::fuzz::scratch_path("calib_npy") / "outputs.npy";
  smoothlab::fuzz::write_input(path, data, size);
  try {
    const auto logits = smoothlab::calib::load_logits(path);
    smoothlab::calib::check_logits(logits, path.string());
  } catch (const smoothlab::Error&) {
  }
  const auto labels = smoothlab::calib::load_labels(path);
  smoothlab::calib::check_labels(labels, labels.size(0), 10, path.string(), "logits");
}
