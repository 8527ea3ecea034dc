// Logits and labels as .csv (`smoothlab calibrate --logits x.csv`): fuzz/calib_inputs.h.
#include "fuzz/calib_inputs.h"

SMOOTHLAB_FUZZ_TARGET(calib_csv) {
  smoothlab::fuzz::read_calibration_inputs("calib_csv", ".csv", data, size);
}
