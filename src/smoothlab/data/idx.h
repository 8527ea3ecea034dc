// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
// Layout: bytes 0-1 zero, byte 2 the element type (0x08 = unsigned byte), byte 3 the number of
// dimensions d, then d big-endian uint32 sizes, then the elements in C order.
#pragma once

#include <filesystem>

#include <torch/types.h>

namespace smoothlab::data {

// Reads an unsigned-byte IDX file (gzip or raw, detected from content) into a uint8 tensor of the
// stored shape. Throws Error naming the file on a bad magic, an unsupported type, or a payload
// shorter or longer than the header says.
torch::Tensor read_idx(const std::filesystem::path& path);

// Writes a uint8 tensor as a raw IDX file (used by tests and by tools that export data).
void write_idx(const std::filesystem::path& path, const torch::Tensor& values, bool gzip = false);

} // namespace smoothlab::data
