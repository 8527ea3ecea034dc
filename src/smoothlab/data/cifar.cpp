#include "smoothlab/data/cifar.h"

#include <fstream>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"

namespace smoothlab::data {

namespace fs = std::filesystem;

ImagesAndLabels read_cifar_batch(const fs::path& path, int label_bytes, int64_t num_classes) {
  const std::string bytes = read_file(path);
  const size_t record = size_t(label_bytes) + 3072;
  if (bytes.empty() || bytes.size() % record != 0)
    throw Error(
        fmt::format(
            "{}: size {} is not a positive multiple of the {}-byte CIFAR record", path.string(), bytes.size(), record),
        "the file is damaged or truncated, or it is not the binary version of CIFAR");
  const int64_t n = int64_t(bytes.size() / record);
  ImagesAndLabels out{torch::empty({n, 3, 32, 32}, torch::kUInt8), torch::empty({n}, torch::kInt64)};
  auto* images = out.images.data_ptr<uint8_t>();
  auto* labels = out.labels.data_ptr<int64_t>();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (int64_t i = 0; i < n; ++i, p += record) {
    const int64_t label = p[label_bytes - 1];
    if (label >= num_classes)
      throw Error(fmt::format("{}: record {} has label {}, expected 0..{}", path.string(), i, label, num_classes - 1));
    labels[i] = label;
    std::memcpy(images + i * 3072, p + label_bytes, 3072);
  }
  return out;
}

namespace {

std::vector<std::string> read_names(const fs::path& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (!line.empty())
      names.push_back(line);
  }
  return names;
}

ImagesAndLabels concat(const std::vector<ImagesAndLabels>& parts) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& p : parts) {
    images.push_back(p.images);
    labels.push_back(p.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

} // namespace

std::pair<ImagesAndLabels, ImagesAndLabels> read_cifar_folder(
    const fs::path& dir_in,
    int num_classes,
    std::vector<std::string>& class_names) {
  const bool ten = num_classes == 10;
  const char* sub = ten ? "cifar-10-batches-bin" : "cifar-100-binary";
  fs::path dir = dir_in;
  if (!fs::exists(dir / (ten ? "data_batch_1.bin" : "train.bin")) && fs::exists(dir / sub))
    dir = dir / sub;
  if (!fs::is_directory(dir))
    throw Error(
        fmt::format("--data cifar{}: no such folder {}", num_classes, dir_in.string()),
        "point it at the extracted binary archive (cifar-10-batches-bin or cifar-100-binary)");
  std::vector<ImagesAndLabels> train_parts;
  ImagesAndLabels test;
  if (ten) {
    for (int b = 1; b <= 5; ++b)
      train_parts.push_back(read_cifar_batch(dir / fmt::format("data_batch_{}.bin", b), 1, 10));
    test = read_cifar_batch(dir / "test_batch.bin", 1, 10);
    if (fs::exists(dir / "batches.meta.txt"))
      class_names = read_names(dir / "batches.meta.txt");
  } else {
    train_parts.push_back(read_cifar_batch(dir / "train.bin", 2, 100));
    test = read_cifar_batch(dir / "test.bin", 2, 100);
    if (fs::exists(dir / "fine_label_names.txt"))
      class_names = read_names(dir / "fine_label_names.txt");
  }
  if (class_names.size() != size_t(num_classes)) {
    class_names.clear();
    for (int k = 0; k < num_classes; ++k)
      class_names.push_back(std::to_string(k));
  }
  return {concat(train_parts), test};
}

} // namespace smoothlab::data
