// What the calib_csv and calib_npy targets share: `smoothlab calibrate`'s readers of logits and labels
// (calib/inputs.h load_logits, load_labels) on one file, then the checks calibrate applies to what they return.
#pragma once

#include "fuzz/fuzz_target.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/core/error.h"

namespace smoothlab::fuzz {

// Writes the input to <scratch>/outputs<extension> and reads it as logits (a refusal is fine) and as labels.
inline void read_calibration_inputs(
    const std::string& target,
    const std::string& extension,
    const uint8_t* data,
    size_t size) {
  const auto path = scratch_path(target) / ("outputs" + extension);
  write_input(path, data, size);
  try {
    const auto logits = calib::load_logits(path);
    calib::check_logits(logits, path.string());
  } catch (const Error&) {
  }
  const auto labels = calib::load_labels(path);
  calib::check_labels(labels, labels.size(0), 10, path.string(), "logits");
}

} // namespace smoothlab::fuzz
