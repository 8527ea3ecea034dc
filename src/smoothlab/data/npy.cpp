#include "smoothlab/data/npy.h"

#include <regex>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"

namespace smoothlab::data {

namespace {

struct DtypeInfo {
  const char* descr; // without the byte-order character
  torch::ScalarType type;
};

const DtypeInfo kDtypes[] = {
    {"u1", torch::kUInt8},
    {"i1", torch::kInt8},
    {"i2", torch::kInt16},
    {"i4", torch::kInt32},
    {"i8", torch::kInt64},
    {"f4", torch::kFloat32},
    {"f8", torch::kFloat64},
    {"b1", torch::kBool},
};

} // namespace

torch::Tensor read_npy(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const std::string name = path.string();
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(
        fmt::format("{}: not a .npy file (bad magic)", name),
        "save arrays with numpy.save(); .npz archives are not supported");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (size_t(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      throw Error(fmt::format("{}: truncated .npy header", name));
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw Error(fmt::format("{}: unsupported .npy format version {}", name, major));
  }
  if (bytes.size() < offset + header_len)
    throw Error(fmt::format("{}: truncated .npy header", name));
  const std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([<>|=])([a-z][0-9]+)'")))
    throw Error(fmt::format("{}: .npy header has no simple 'descr' (structured arrays are not supported)", name));
  const std::string order = m[1], code = m[2];
  if (order == ">")
    throw Error(
        fmt::format("{}: big-endian .npy data is not supported", name),
        "convert with array.astype(array.dtype.newbyteorder('<'))");
  const DtypeInfo* info = nullptr;
  for (const auto& d : kDtypes)
    if (code == d.descr)
      info = &d;
  if (!info)
    throw Error(
        fmt::format("{}: .npy dtype '{}' is not supported", name, code), "use uint8, int32, int64, float32 or float64");
  if (std::regex_search(header, std::regex("'fortran_order'\\s*:\\s*True")))
    throw Error(
        fmt::format("{}: .npy array is in Fortran order", name),
        "save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a))");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw Error(fmt::format("{}: .npy header has no shape", name));
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex number("[0-9]+");
  std::sregex_iterator it(dims.begin(), dims.end(), number), end;
  size_t count = 1;
  bool overflow = false;
  const size_t have = bytes.size() - offset - header_len;
  for (; it != end; ++it) {
    if (it->str().size() > 18)
      throw Error(fmt::format("{}: .npy shape ({}) is absurd", name, dims));
    shape.push_back(std::stoll(it->str()));
    overflow = overflow || __builtin_mul_overflow(count, size_t(shape.back()), &count);
  }
  // The size is checked before anything is allocated: an absurd shape (beyond 64 bits, or beyond the file) is refused.
  size_t want = 0;
  if (overflow || __builtin_mul_overflow(count, c10::elementSize(info->type), &want))
    throw Error(
        fmt::format("{}: .npy shape ({}) needs more data than the file holds ({} bytes, truncated)", name, dims, have),
        "the file is damaged or truncated; save it again");
  if (have != want)
    throw Error(fmt::format(
        "{}: shape ({}) needs {} bytes of data, file has {} ({})",
        name,
        dims,
        want,
        have,
        have < want ? "truncated" : "trailing bytes"));
  auto out = torch::empty(shape, info->type);
  if (want > 0) // an empty tensor's data pointer may be null, which memcpy must not get even for 0 bytes
    std::memcpy(out.data_ptr(), bytes.data() + offset + header_len, want);
  return out;
}

void write_npy(const std::filesystem::path& path, const torch::Tensor& values) {
  auto t = values.detach().to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& d : kDtypes)
    if (d.type == t.scalar_type())
      descr = d.descr;
  if (!descr)
    throw Error(fmt::format("{}: cannot write dtype {} as .npy", path.string(), c10::toString(t.scalar_type())));
  // numpy's spelling: "()", "(3,)", "(3, 2)".
  std::string shape;
  for (int64_t d = 0; d < t.dim(); ++d)
    shape += (d ? ", " : "") + std::to_string(t.size(d));
  if (t.dim() == 1)
    shape += ",";
  std::string header = fmt::format(
      "{{'descr': '{}{}', 'fortran_order': False, 'shape': ({}), }}", t.element_size() == 1 ? "|" : "<", descr, shape);
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes.append(static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * t.element_size());
  write_file_atomic(path, bytes);
}

} // namespace smoothlab::data
