// CIFAR-10 / CIFAR-100 binary version (the "-bin" archives).
// CIFAR-10 record: 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32).
// CIFAR-100 record: 1 coarse label byte + 1 fine label byte + 3072 pixel bytes; we use the fine label.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace smoothlab::data {

struct ImagesAndLabels {
  torch::Tensor images; // uint8 [N, C, H, W]
  torch::Tensor labels; // int64 [N]
};

// Reads one CIFAR binary batch file. label_bytes is 1 for CIFAR-10 and 2 for CIFAR-100.
// Throws Error naming the file when its size is not a positive multiple of the record size or a
// label is >= num_classes.
ImagesAndLabels read_cifar_batch(const std::filesystem::path& path, int label_bytes, int64_t num_classes);

// Reads a whole CIFAR folder (the folder holding data_batch_*.bin / train.bin, or its parent).
// Returns {train, test} and fills class_names from batches.meta.txt / fine_label_names.txt when present.
std::pair<ImagesAndLabels, ImagesAndLabels> read_cifar_folder(
    const std::filesystem::path& dir,
    int num_classes,
    std::vector<std::string>& class_names);

} // namespace smoothlab::data
