// Logits and labels as .npy (`smoothlab calibrate --logits x.npy`): fuzz/calib_inputs.h.
#include "fuzz/calib_inputs.h"

SMOOTHLAB_FUZZ_TARGET(calib_npy) {
  smoothlab::fuzz::read_calibration_inputs("calib_npy", ".npy", data, size);
}
