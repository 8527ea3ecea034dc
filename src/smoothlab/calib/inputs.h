// Logits and labels from users of any framework: loading (.npy or .csv) and validation with errors that name
// the file and the problem. `smoothlab calibrate` and fit_temperature go through these checks.
//
// Logits: .npy float32/float64 [N, K], C order; or .csv with K numbers per line (an optional header line whose
// first field is not a number is skipped). Labels: .npy int32/int64/uint8 (any integer type) [N] or [N, 1];
// or .csv with one integer per line (optional header).
#pragma once

#include <filesystem>
#include <string>

#include <torch/types.h>

namespace smoothlab::calib {

// Reads logits; the result keeps the file's float dtype. Throws Error naming `path` for anything else.
torch::Tensor load_logits(const std::filesystem::path& path);
// Reads labels as int64 [N].
torch::Tensor load_labels(const std::filesystem::path& path);

// Checks logits [N, K]: floating point, 2-D, N ≥ 1, K ≥ 2, all finite, and not probabilities (every value in
// [0, 1] and every row summing to 1 ± 1e-3). `name` (a file or "logits") starts each message.
void check_logits(const torch::Tensor& logits, const std::string& name);
// Checks labels [N] against logits with n rows and k classes: integer, count n, values in [0, k).
void check_labels(
    const torch::Tensor& labels,
    int64_t n,
    int64_t k,
    const std::string& name,
    const std::string& logits_name);

struct LabeledLogits {
  torch::Tensor logits; // float32 or float64 [N, K]
  torch::Tensor labels; // int64 [N]
};
// load_logits + load_labels + both checks.
LabeledLogits load_labeled_logits(const std::filesystem::path& logits_path, const std::filesystem::path& labels_path);

} // namespace smoothlab::calib
