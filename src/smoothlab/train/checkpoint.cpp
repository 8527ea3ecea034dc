#include "smoothlab/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/archive.h>
#include <torch/torch.h>
#include <zlib.h>

#include <fstream>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/train/grad_scaler.h"

namespace smoothlab::train {

void save_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    int64_t epochs_done,
    const torch::Tensor& scaler_state) {
  torch::serialize::OutputArchive archive;
  archive.write("smoothlab_checkpoint", torch::tensor({kCheckpointMagic, kCheckpointVersion}, torch::kInt64));
  archive.write("epochs_done", torch::tensor(epochs_done, torch::kInt64));
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  if (scaler_state.defined())
    archive.write("grad_scaler", scaler_state);
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_state", generator.get_state());
  }
  write_atomic_with(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
}

namespace {

// The archive is a zip file whose records are stored uncompressed, each with its CRC-32 in the central directory.
// LibTorch's reader does not check them (its miniz is built without the check), so a changed byte in a weight would
// load silently: check every record before loading. Throws Error naming the file and the record.
class ZipRecords {
 public:
  explicit ZipRecords(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
    in_.seekg(0, std::ios::end);
    size_ = uint64_t(in_.tellg());
  }

  void verify() {
    // The end-of-central-directory record: 22 bytes and a comment of at most 65 535 at the end of the file.
    const uint64_t tail_size = std::min<uint64_t>(size_, 22 + 65535);
    const std::string tail = read(size_ - tail_size, tail_size);
    size_t eocd = std::string::npos;
    for (size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;)
      if (u32(tail, i) == 0x06054b50) {
        eocd = i;
        break;
      }
    if (eocd == std::string::npos)
      unreadable();
    uint64_t entries = u16(tail, eocd + 10), cd_size = u32(tail, eocd + 12), cd_offset = u32(tail, eocd + 16);
    if (cd_offset == 0xFFFFFFFF || entries == 0xFFFF) { // zip64: its locator sits just before the record
      if (eocd < 20 || u32(tail, eocd - 20) != 0x07064b50)
        unreadable();
      const std::string z64 = read(u64(tail, eocd - 20 + 8), 56);
      if (u32(z64, 0) != 0x06064b50)
        unreadable();
      entries = u64(z64, 32);
      cd_size = u64(z64, 40);
      cd_offset = u64(z64, 48);
    }
    if (cd_offset > size_ || cd_size > size_ - cd_offset || entries > cd_size / 46)
      unreadable();
    const std::string cd = read(cd_offset, cd_size);
    size_t at = 0;
    for (uint64_t e = 0; e < entries; ++e) {
      if (at + 46 > cd.size() || u32(cd, at) != 0x02014b50)
        unreadable();
      const uint32_t method = u16(cd, at + 10), crc = u32(cd, at + 16);
      uint64_t size = u32(cd, at + 20), offset = u32(cd, at + 42);
      const size_t name_len = u16(cd, at + 28), extra_len = u16(cd, at + 30), comment_len = u16(cd, at + 32);
      if (at + 46 + name_len + extra_len + comment_len > cd.size())
        unreadable();
      const std::string name = cd.substr(at + 46, name_len);
      // zip64 sizes and offset in the extra field (id 1): uncompressed, compressed, offset, each only when its
      // 32-bit field is all ones.
      const bool big_size = size == 0xFFFFFFFF, big_offset = offset == 0xFFFFFFFF;
      const bool big_uncompressed = u32(cd, at + 24) == 0xFFFFFFFF;
      for (size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
        const size_t id = u16(cd, x), len = u16(cd, x + 2);
        if (x + 4 + len > at + 46 + name_len + extra_len)
          unreadable();
        if (id == 1) {
          size_t f = x + 4;
          auto next = [&] {
            if (f + 8 > x + 4 + len)
              unreadable();
            const uint64_t v = u64(cd, f);
            f += 8;
            return v;
          };
          const uint64_t uncompressed = big_uncompressed ? next() : 0;
          if (big_size)
            size = next();
          else if (big_uncompressed)
            size = uncompressed;
          if (big_offset)
            offset = next();
        }
        x += 4 + len;
      }
      at += 46 + name_len + extra_len + comment_len;
      if (method != 0)
        continue; // LibTorch stores every record; a compressed one is left to the reader
      const std::string local = read(offset, 30);
      if (u32(local, 0) != 0x04034b50)
        unreadable();
      const uint64_t data = offset + 30 + u16(local, 26) + u16(local, 28);
      if (data > size_ || size > size_ - data)
        unreadable();
      uLong sum = crc32(0L, Z_NULL, 0);
      for (uint64_t done = 0; done < size;) {
        const uint64_t n = std::min<uint64_t>(size - done, 1 << 20);
        const std::string chunk = read(data + done, n);
        sum = crc32(sum, reinterpret_cast<const Bytef*>(chunk.data()), uInt(n));
        done += n;
      }
      if (uint32_t(sum) != crc)
        throw Error(
            fmt::format("{}: damaged checkpoint: its record {} fails its checksum", path_.string(), name),
            "the file was changed after it was written; rerun training with --force to start over");
    }
  }

 private:
  [[noreturn]] void unreadable() const {
    throw Error(
        fmt::format("{}: not a readable checkpoint (corrupt or truncated)", path_.string()),
        "rerun training with --force to start over");
  }
  std::string read(uint64_t offset, uint64_t n) {
    if (offset > size_ || n > size_ - offset)
      unreadable();
    std::string out(n, '\0');
    in_.clear();
    in_.seekg(std::streamoff(offset));
    in_.read(out.data(), std::streamsize(n));
    if (!in_)
      unreadable();
    return out;
  }
  static uint64_t u16(const std::string& b, size_t i) {
    return uint64_t(uint8_t(b[i])) | uint64_t(uint8_t(b[i + 1])) << 8;
  }
  static uint64_t u32(const std::string& b, size_t i) {
    return u16(b, i) | u16(b, i + 2) << 16;
  }
  static uint64_t u64(const std::string& b, size_t i) {
    return u32(b, i) | u32(b, i + 4) << 32;
  }

  std::filesystem::path path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

// Opens path and checks its header; returns the epochs done.
int64_t open_checkpoint(const std::filesystem::path& path, torch::serialize::InputArchive& archive) {
  require_file(path, "cannot load checkpoint");
  ZipRecords(path).verify();
  try {
    archive.load_from(path.string());
  } catch (const std::exception&) { // c10::Error, or torch::jit::ErrorReport for damaged code in the archive
    throw Error(
        fmt::format("{}: not a readable checkpoint (corrupt or truncated)", path.string()),
        "rerun training with --force to start over");
  }
  torch::Tensor header, epochs_done;
  if (!archive.try_read("smoothlab_checkpoint", header) || header.numel() != 2 ||
      header[0].item<int64_t>() != kCheckpointMagic)
    throw Error(fmt::format("{}: not a smoothlab checkpoint", path.string()));
  if (header[1].item<int64_t>() > kCheckpointVersion)
    throw Error(fmt::format(
        "{}: checkpoint version {} is newer than this smoothlab reads ({})",
        path.string(),
        header[1].item<int64_t>(),
        kCheckpointVersion));
  archive.read("epochs_done", epochs_done);
  return epochs_done.item<int64_t>();
}

} // namespace

int64_t checkpoint_epochs(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  return open_checkpoint(path, archive);
}

int64_t load_checkpoint(
    const std::filesystem::path& path,
    torch::nn::Module& model,
    torch::optim::Optimizer* optimizer,
    torch::Tensor* scaler_state) {
  torch::serialize::InputArchive archive;
  const int64_t epochs_done = open_checkpoint(path, archive);
  if (scaler_state && !archive.try_read("grad_scaler", *scaler_state))
    *scaler_state = torch::Tensor();
  if (scaler_state && scaler_state->defined() && !GradScaler::valid_state(*scaler_state))
    throw Error(
        fmt::format("{}: damaged fp16 loss-scaler state (expected [scale > 0, steps ≥ 0])", path.string()),
        "rerun training with --force to start over");
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
  } catch (const c10::Error& e) {
    throw Error(fmt::format(
        "{}: checkpoint does not fit this model ({})",
        path.string(),
        std::string(e.what_without_backtrace()).substr(0, 200)));
  }
  torch::Tensor rng;
  if (archive.try_read("rng_state", rng)) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  }
  return epochs_done;
}

} // namespace smoothlab::train
