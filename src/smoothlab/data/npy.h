// NumPy .npy files (format versions 1-3), little-endian, C order.
// Read: uint8, int8, int16, int32, int64, uint16, float32, float64. Write: any of those dtypes.
#pragma once

#include <filesystem>

#include <torch/types.h>

namespace smoothlab::data {

// Reads a .npy file into a tensor of its dtype and shape. Throws Error naming the file for a bad
// magic, big-endian or Fortran-order data, an unsupported dtype, or a size that disagrees with the
// header.
torch::Tensor read_npy(const std::filesystem::path& path);

// Writes a tensor as a version-1 .npy file, atomically.
void write_npy(const std::filesystem::path& path, const torch::Tensor& values);

} // namespace smoothlab::data
