#include "smoothlab/data/idx.h"

#include <cerrno>
#include <cstring>

#include <zlib.h>

#include <fmt/ranges.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/core/int128.h"

namespace smoothlab::data {

namespace {

// Whole file, decompressed when it starts with the gzip magic.
std::string read_maybe_gzip(const std::filesystem::path& path) {
  require_file(path, "cannot read IDX file");
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file)
    throw Error(fmt::format("cannot open {}", path.string()));
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    int got = gzread(file, buffer, sizeof(buffer));
    if (got < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      throw Error(
          fmt::format("{}: corrupt gzip data ({})", path.string(), message),
          "the file is damaged or truncated; download or copy it again");
    }
    if (got == 0)
      break;
    bytes.append(buffer, static_cast<size_t>(got));
  }
  // gzread returns 0 at a truncated gzip stream without an error on some zlib versions:
  // gzclose_r reports Z_BUF_ERROR then.
  int rc = gzclose(file);
  if (rc == Z_BUF_ERROR)
    throw Error(
        fmt::format("{}: truncated gzip stream", path.string()),
        "the file is damaged or truncated; download or copy it again");
  return bytes;
}

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

} // namespace

torch::Tensor read_idx(const std::filesystem::path& path) {
  const std::string bytes = read_maybe_gzip(path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0)
    throw Error(
        fmt::format("{}: not an IDX file (bad magic)", path.string()),
        "expected an MNIST-style IDX file such as train-images-idx3-ubyte[.gz]");
  if (p[2] != 0x08)
    throw Error(
        fmt::format("{}: IDX element type 0x{:02x} is not supported (only 0x08, unsigned byte)", path.string(), p[2]));
  const int ndim = p[3];
  if (ndim < 1 || ndim > 4)
    throw Error(fmt::format("{}: IDX file has {} dimensions, expected 1 to 4", path.string(), ndim));
  const size_t header = 4 + 4 * size_t(ndim);
  if (bytes.size() < header)
    throw Error(fmt::format("{}: truncated IDX header", path.string()));
  const size_t payload = bytes.size() - header;
  std::vector<int64_t> shape;
  uint128 count = 1; // cannot overflow: at most 4 factors below 2^32
  for (int d = 0; d < ndim; ++d) {
    shape.push_back(read_be32(p + 4 + 4 * d));
    count *= uint64_t(shape.back());
  }
  for (int64_t side : shape)
    if (side == 0)
      throw Error(
          fmt::format("{}: IDX header has a zero dimension ({})", path.string(), fmt::join(shape, " x ")),
          "the file is damaged or was written without data");
  if (count != payload)
    throw Error(
        fmt::format(
            "{}: header says {} bytes of data ({}), file has {} ({})",
            path.string(),
            (count >> 64) != 0 ? fmt::format("{:.4g}", double(count)) : std::to_string(uint64_t(count)),
            fmt::join(shape, " x "),
            payload,
            payload < count ? "truncated" : "trailing bytes"),
        "the file is damaged or truncated; download or copy it again");
  auto out = torch::empty(shape, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), p + header, payload);
  return out;
}

void write_idx(const std::filesystem::path& path, const torch::Tensor& values, bool gzip) {
  auto t = values.to(torch::kUInt8).contiguous();
  std::string bytes = {0, 0, 0x08, static_cast<char>(t.dim())};
  for (int64_t d = 0; d < t.dim(); ++d) {
    uint32_t s = static_cast<uint32_t>(t.size(d));
    bytes += {char(s >> 24), char((s >> 16) & 0xff), char((s >> 8) & 0xff), char(s & 0xff)};
  }
  bytes.append(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), size_t(t.numel()));
  if (!gzip) {
    write_file_atomic(path, bytes);
    return;
  }
  write_atomic_with(path, [&](const std::filesystem::path& tmp) {
    gzFile file = gzopen(tmp.c_str(), "wb");
    if (!file)
      throw Error(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
    const bool written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size());
    if (gzclose(file) != Z_OK || !written) // the writer names a full disk as such (core/files.h)
      throw Error(fmt::format("{}: cannot write", path.string()));
  });
}

} // namespace smoothlab::data
