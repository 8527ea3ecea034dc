#include "smoothlab/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/core/torch_compat.h"
#include "smoothlab/train/grad_scaler.h"

namespace smoothlab::train {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors stores little-endian bytes");

namespace {

constexpr const char* kModelPrefix = "model.";
constexpr const char* kMomentumPrefix = "optimizer.momentum_buffer.";
constexpr uint64_t kMaxHeaderBytes = 100'000'000; // safetensors' own limit

// safetensors' dtype names for the dtypes a checkpoint holds.
const std::vector<std::pair<std::string, torch::Dtype>>& dtype_names() {
  static const std::vector<std::pair<std::string, torch::Dtype>> names = {
      {"F64", torch::kFloat64},
      {"F32", torch::kFloat32},
      {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},
      {"I32", torch::kInt32},
      {"I16", torch::kInt16},
      {"I8", torch::kInt8},
      {"U8", torch::kUInt8},
      {"BOOL", torch::kBool},
  };
  return names;
}

// The CRC-32 of size bytes at data, continuing from sum (0 to start).
uint32_t crc32_of(const char* data, uint64_t size, uint32_t sum = 0) {
  for (uint64_t done = 0; done < size;) {
    const uint64_t n = std::min<uint64_t>(size - done, 1 << 30);
    sum = uint32_t(crc32(sum, reinterpret_cast<const Bytef*>(data + done), uInt(n)));
    done += n;
  }
  return sum;
}

// The parameters' names by their TensorImpl, to name the optimizer's per-parameter state.
std::map<const void*, std::string> parameter_names(torch::nn::Module& model) {
  std::map<const void*, std::string> names;
  for (const auto& p : model.named_parameters())
    names[p.value().unsafeGetTensorImpl()] = p.key();
  return names;
}

[[noreturn]] void unreadable(const std::filesystem::path& path, const std::string& why) {
  throw Error(
      fmt::format("{}: not a readable checkpoint (corrupt or truncated: {})", path.string(), why),
      "rerun training with --force to start over");
}

// The checksum covers the whole file, its header included, with the checksum's own 8 hex digits read as "00000000".
constexpr const char* kUnsetCrc = "00000000";

// A checkpoint file, every byte checked: the header's JSON, each tensor's dtype, shape and byte range (the ranges tile
// the data exactly, as safetensors requires), the format and version, and the file's CRC-32.
class CheckpointFile {
 public:
  explicit CheckpointFile(const std::filesystem::path& path) : path_(path) {
    require_file(path, "cannot load checkpoint");
    bytes_ = read_file(path);
    if (bytes_.size() < 8)
      unreadable(path_, "shorter than its 8-byte header size");
    uint64_t header_size = 0;
    std::memcpy(&header_size, bytes_.data(), 8);
    if (header_size > kMaxHeaderBytes || header_size > bytes_.size() - 8)
      unreadable(path_, fmt::format("header of {} bytes in a file of {}", header_size, bytes_.size()));
    data_ = 8 + header_size;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes_.begin() + 8, bytes_.begin() + int64_t(data_));
    } catch (const nlohmann::json::exception&) {
      unreadable(path_, "its header is not JSON");
    }
    if (!header.is_object())
      unreadable(path_, "its header is not a JSON object");
    const auto meta = header.find("__metadata__");
    if (meta == header.end() || !meta->is_object() || meta->value("format", nlohmann::json()) != kCheckpointFormat)
      throw Error(
          fmt::format("{}: not a smoothlab checkpoint", path_.string()),
          "a checkpoint is what smoothlab train writes into its run folder");
    const int64_t version = meta_int(*meta, "version");
    if (version != kCheckpointVersion)
      throw Error(
          fmt::format(
              "{}: checkpoint version {} is {} than this smoothlab reads ({})",
              path_.string(),
              version,
              version > kCheckpointVersion ? "newer" : "older",
              kCheckpointVersion),
          "rerun training with --force to start over, or use the smoothlab that wrote it");
    epochs_done_ = meta_int(*meta, "epochs_done");
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__")
        continue;
      tensors_.emplace(name, parse_entry(name, entry));
      ranges.push_back(tensors_.at(name).range);
    }
    std::sort(ranges.begin(), ranges.end());
    uint64_t end = 0;
    for (const auto& [b, e] : ranges) {
      if (b != end)
        unreadable(path_, "its tensors' byte ranges overlap or leave a gap");
      end = e;
    }
    if (end != bytes_.size() - data_)
      unreadable(path_, fmt::format("its tensors take {} bytes of {}", end, bytes_.size() - data_));
    // The stored digits, found where the writer put them ("crc32":"…" once in the raw header), are read as zeros.
    const auto crc = meta->find("crc32");
    const std::string stored = crc != meta->end() && crc->is_string() ? crc->get<std::string>() : "";
    std::string head = bytes_.substr(0, data_);
    const std::string field = fmt::format("\"crc32\":\"{}\"", stored);
    const size_t at = stored.size() == 8 ? head.find(field) : std::string::npos;
    if (at != std::string::npos && head.find(field, at + 1) == std::string::npos)
      head.replace(at + 9, 8, kUnsetCrc);
    const uint32_t sum = crc32_of(bytes_.data() + data_, end, crc32_of(head.data(), head.size()));
    if (at == std::string::npos || stored != fmt::format("{:08x}", sum))
      throw Error(
          fmt::format("{}: damaged checkpoint: its bytes fail their checksum (crc32)", path_.string()),
          "the file was changed after it was written; rerun training with --force to start over");
  }

  int64_t epochs_done() const {
    return epochs_done_;
  }

  bool has(const std::string& name) const {
    return tensors_.count(name) > 0;
  }

  // The names that start with prefix.
  std::vector<std::string> names_with(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors_)
      if (name.rfind(prefix, 0) == 0)
        out.push_back(name);
    return out;
  }

  // A CPU tensor with the named entry's dtype, shape and bytes.
  torch::Tensor tensor(const std::string& name) const {
    const Entry& e = tensors_.at(name);
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
    if (e.range.second > e.range.first)
      std::memcpy(t.data_ptr(), bytes_.data() + data_ + e.range.first, e.range.second - e.range.first);
    return t;
  }

  // Copies the named entry into target, which must have its shape and dtype.
  void copy_into(const std::string& name, torch::Tensor target) const {
    if (!has(name))
      throw Error(fmt::format("{}: checkpoint does not fit this model: it has no {}", path_.string(), name));
    const Entry& e = tensors_.at(name);
    if (target.sizes() != torch::IntArrayRef(e.shape) || target.scalar_type() != e.dtype)
      throw Error(fmt::format(
          "{}: checkpoint does not fit this model: {} is {} {}, the model's is {} {}",
          path_.string(),
          name,
          c10::toString(e.dtype),
          fmt::join(e.shape, "×"),
          c10::toString(target.scalar_type()),
          fmt::join(target.sizes(), "×")));
    torch::NoGradGuard no_grad;
    target.copy_(tensor(name));
  }

  const std::filesystem::path& path() const {
    return path_;
  }

 private:
  struct Entry {
    torch::Dtype dtype;
    std::vector<int64_t> shape;
    std::pair<uint64_t, uint64_t> range;
  };

  int64_t meta_int(const nlohmann::json& meta, const char* key) const {
    const auto it = meta.find(key);
    const std::string s = it != meta.end() && it->is_string() ? it->get<std::string>() : "";
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos)
      unreadable(path_, fmt::format("its {} is not a whole number", key));
    return std::stoll(s);
  }

  Entry parse_entry(const std::string& name, const nlohmann::json& entry) const {
    const auto bad = [&](const char* what) { unreadable(path_, fmt::format("tensor {}: {}", name, what)); };
    if (!entry.is_object())
      bad("not an object");
    Entry e{};
    const auto dtype = entry.find("dtype");
    const std::string dtype_name = dtype != entry.end() && dtype->is_string() ? dtype->get<std::string>() : "";
    const auto found =
        std::find_if(dtype_names().begin(), dtype_names().end(), [&](const auto& d) { return d.first == dtype_name; });
    if (found == dtype_names().end())
      bad("unknown dtype");
    e.dtype = found->second;
    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array() || shape->size() > 8)
      bad("shape is not a list of at most 8 sizes");
    uint64_t bytes = c10::elementSize(e.dtype);
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned())
        bad("shape holds a size that is not a whole number ≥ 0");
      const uint64_t n = d.get<uint64_t>();
      if (n > (uint64_t(1) << 40) || (n > 0 && bytes > (uint64_t(1) << 62) / n))
        bad("shape too large");
      bytes *= n;
      e.shape.push_back(int64_t(n));
    }
    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      bad("data_offsets is not [begin, end]");
    e.range = {(*offsets)[0].get<uint64_t>(), (*offsets)[1].get<uint64_t>()};
    if (e.range.first > e.range.second || e.range.second > bytes_.size() - data_ ||
        e.range.second - e.range.first != bytes)
      bad("its byte range does not hold its shape");
    return e;
  }

  std::filesystem::path path_;
  std::string bytes_;
  uint64_t data_ = 0;
  int64_t epochs_done_ = 0;
  std::map<std::string, Entry> tensors_;
};

} // namespace

void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::SGD* optimizer,
    int64_t epochs_done,
    const torch::Tensor& scaler_state) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  const auto add = [&](std::string name, const torch::Tensor& t) {
    tensors.emplace_back(std::move(name), t.detach().to(torch::kCPU).contiguous());
  };
  for (const auto& p : model.named_parameters())
    add(kModelPrefix + p.key(), p.value());
  for (const auto& b : model.named_buffers())
    add(kModelPrefix + b.key(), b.value());
  if (optimizer) {
    const auto names = parameter_names(model);
    for (const auto& group : optimizer->param_groups())
      for (const auto& p : group.params()) {
        const auto it = optimizer->state().find(compat::optimizer_state_key(p));
        if (it == optimizer->state().end())
          continue;
        const auto& buffer = static_cast<const torch::optim::SGDParamState&>(*it->second).momentum_buffer();
        const auto name = names.find(p.unsafeGetTensorImpl());
        check(name != names.end(), "save_checkpoint: the optimizer holds a parameter the model does not");
        if (buffer.defined())
          add(kMomentumPrefix + name->second, buffer);
      }
  }
  if (scaler_state.defined())
    add("grad_scaler", scaler_state);
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    add("rng_state", generator.get_state());
  }

  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const torch::Tensor& t = tensor; // a structured binding cannot be captured in C++17
    const auto dtype = std::find_if(
        dtype_names().begin(), dtype_names().end(), [&](const auto& d) { return d.second == t.scalar_type(); });
    check(dtype != dtype_names().end(), "save_checkpoint: {} has dtype {}", name, c10::toString(t.scalar_type()));
    const uint64_t begin = data.size();
    data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    header[name] = {{"dtype", dtype->first}, {"shape", t.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  header["__metadata__"] = {
      {"format", kCheckpointFormat},
      {"version", std::to_string(kCheckpointVersion)},
      {"epochs_done", std::to_string(epochs_done)},
      {"crc32", kUnsetCrc},
  };
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' '); // the data starts 8-byte aligned, as safetensors writes it
  const uint64_t header_size = json.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &header_size, 8);
  bytes += json;
  const uint32_t sum = crc32_of(data.data(), data.size(), crc32_of(bytes.data(), bytes.size()));
  const size_t at = bytes.find(fmt::format("\"crc32\":\"{}\"", kUnsetCrc));
  check(at != std::string::npos, "save_checkpoint: no crc32 field in the header");
  bytes.replace(at + 9, 8, fmt::format("{:08x}", sum));
  bytes += data;
  write_file_atomic(path, bytes);
}

int64_t checkpoint_epochs(const std::filesystem::path& path) {
  return CheckpointFile(path).epochs_done();
}

int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::SGD* optimizer,
    torch::Tensor* scaler_state) {
  const CheckpointFile file(path);
  // The names are checked before anything is changed: a checkpoint of another model leaves this one as it was. (A
  // tensor of another shape or dtype under the same name is refused when it is reached.)
  size_t expected = 0;
  for (const auto& p : model.named_parameters())
    expected += file.has(kModelPrefix + p.key()) ? 1 : 0;
  for (const auto& b : model.named_buffers())
    expected += file.has(kModelPrefix + b.key()) ? 1 : 0;
  const size_t stored = file.names_with(kModelPrefix).size();
  if (expected != model.named_parameters().size() + model.named_buffers().size() || stored != expected)
    throw Error(fmt::format(
        "{}: checkpoint does not fit this model ({} of its {} model tensors match the model's {} names)",
        path.string(),
        expected,
        stored,
        model.named_parameters().size() + model.named_buffers().size()));
  torch::Tensor scaler;
  if (file.has("grad_scaler")) {
    scaler = file.tensor("grad_scaler");
    if (!GradScaler::valid_state(scaler))
      throw Error(
          fmt::format("{}: damaged fp16 loss-scaler state (expected [scale > 0, steps ≥ 0])", path.string()),
          "rerun training with --force to start over");
  }
  for (const auto& p : model.named_parameters())
    file.copy_into(kModelPrefix + p.key(), p.value());
  for (const auto& b : model.named_buffers())
    file.copy_into(kModelPrefix + b.key(), b.value());
  if (optimizer) {
    const auto names = parameter_names(model);
    optimizer->state().clear();
    for (const auto& group : optimizer->param_groups())
      for (const auto& p : group.params()) {
        const auto name = names.find(p.unsafeGetTensorImpl());
        if (name == names.end() || !file.has(kMomentumPrefix + name->second))
          continue;
        auto buffer = torch::empty_like(p);
        file.copy_into(kMomentumPrefix + name->second, buffer);
        auto state = std::make_unique<torch::optim::SGDParamState>();
        state->momentum_buffer(buffer);
        optimizer->state()[compat::optimizer_state_key(p)] = std::move(state);
      }
  }
  if (scaler_state)
    *scaler_state = scaler;
  if (file.has("rng_state")) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    try {
      generator.set_state(file.tensor("rng_state"));
    } catch (const c10::Error&) {
      throw Error(
          fmt::format("{}: damaged checkpoint: its rng_state is not a generator state", path.string()),
          "rerun training with --force to start over");
    }
  }
  return file.epochs_done();
}

} // namespace smoothlab::train
