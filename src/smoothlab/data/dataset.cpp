// Data sources by name (one table, source_table()), their loaders and the stratified validation split (see dataset.h).
#include "smoothlab/data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>

#include <sys/stat.h>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/cifar.h"
#include "smoothlab/data/idx.h"
#include "smoothlab/data/npy.h"

namespace smoothlab::data {

namespace fs = std::filesystem;

Dataset Dataset::subset(const torch::Tensor& indices) const {
  if (source) {
    auto idx = indices.to(torch::kInt64).contiguous();
    std::vector<int64_t> positions(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    return {torch::Tensor(), labels.index_select(0, idx), std::make_shared<SubsetSource>(source, positions)};
  }
  return {images.index_select(0, indices), labels.index_select(0, indices), nullptr};
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("SMOOTHLAB_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

namespace {

const std::vector<std::string> kFashionMnistClasses =
    {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

struct RawData {
  std::string name;
  Dataset train, test;
  std::vector<std::string> class_names;
  int64_t num_classes = 0;
};

std::vector<std::string> read_class_file(const fs::path& path) {
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

fs::path find_idx(const fs::path& dir, const std::string& stem) {
  for (const auto& name : {stem, stem + ".gz"})
    if (fs::exists(dir / name))
      return dir / name;
  throw Error(
      fmt::format("--data: no {} or {}.gz in {}", stem, stem, dir.string()),
      "an IDX folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
      "and t10k-labels-idx1-ubyte (each optionally .gz)");
}

Dataset read_idx_pair(const fs::path& dir, const std::string& prefix) {
  const fs::path image_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const fs::path label_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  auto images = read_idx(image_path);
  auto labels = read_idx(label_path);
  if (images.dim() != 3)
    throw Error(fmt::format("{}: expected 3 dimensions [N, H, W], found {}", image_path.string(), images.dim()));
  if (labels.dim() != 1)
    throw Error(fmt::format("{}: expected 1 dimension [N], found {}", label_path.string(), labels.dim()));
  if (images.size(0) != labels.size(0))
    throw Error(fmt::format(
        "{} has {} images but {} has {} labels",
        image_path.string(),
        images.size(0),
        label_path.string(),
        labels.size(0)));
  return {images.unsqueeze(1), labels.to(torch::kInt64)};
}

RawData load_idx(const fs::path& dir, const std::string& name, std::vector<std::string> class_names) {
  if (!fs::is_directory(dir))
    throw Error(
        fmt::format("--data {}: no such folder {}", name, dir.string()),
        name == "fashion-mnist" ? "install it with: apt-get install dataset-fashion-mnist" : "");
  RawData raw{name, read_idx_pair(dir, "train"), read_idx_pair(dir, "t10k"), std::move(class_names), 0};
  if (fs::exists(dir / "classes.txt"))
    raw.class_names = read_class_file(dir / "classes.txt");
  return raw;
}

// Converts [N, H, W] or [N, H, W, C] numpy images to [N, C, H, W].
Dataset npy_pair(const fs::path& dir, const std::string& prefix) {
  const fs::path image_path = dir / (prefix + "_images.npy"), label_path = dir / (prefix + "_labels.npy");
  auto images = read_npy(image_path);
  auto labels = read_npy(label_path);
  if (images.scalar_type() != torch::kUInt8 && images.scalar_type() != torch::kFloat32)
    throw Error(fmt::format(
        "{}: images must be uint8 or float32, found {}", image_path.string(), c10::toString(images.scalar_type())));
  if (images.dim() == 3) {
    images = images.unsqueeze(1);
  } else if (images.dim() == 4) {
    images = images.permute({0, 3, 1, 2}).contiguous();
  } else {
    throw Error(fmt::format(
        "{}: images must be [N, H, W] or [N, H, W, C], found {} dimensions", image_path.string(), images.dim()));
  }
  for (int64_t d = 0; d < images.dim(); ++d)
    if (images.size(d) == 0)
      throw Error(fmt::format(
          "{}: images have a zero dimension (shape [N, C, H, W] = {})", image_path.string(), c10::str(images.sizes())));
  if (images.size(1) > 4)
    throw Error(
        fmt::format(
            "{}: images have {} channels (shape [N, C, H, W] = {})",
            image_path.string(),
            images.size(1),
            c10::str(images.sizes())),
        "store images as [N, H, W] or channels-last [N, H, W, C] with C = 1 or 3, as numpy and PIL do");
  if (!c10::isIntegralType(labels.scalar_type(), false) || labels.dim() != 1)
    throw Error(fmt::format("{}: labels must be a 1-D integer array", label_path.string()));
  if (images.size(0) != labels.size(0))
    throw Error(fmt::format(
        "{} has {} images but {} has {} labels",
        image_path.string(),
        images.size(0),
        label_path.string(),
        labels.size(0)));
  if (images.scalar_type() == torch::kFloat32 && !torch::isfinite(images).all().item<bool>())
    throw Error(fmt::format("{}: images contain NaN or Inf", image_path.string()));
  return {images, labels.to(torch::kInt64)};
}

RawData load_npy_dir(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw Error(fmt::format("--data npy: no such folder {}", dir.string()));
  RawData raw{"npy", npy_pair(dir, "train"), npy_pair(dir, "test"), {}, 0};
  if (fs::exists(dir / "classes.txt"))
    raw.class_names = read_class_file(dir / "classes.txt");
  if (raw.train.images.sizes().slice(1) != raw.test.images.sizes().slice(1))
    throw Error(fmt::format("{}: train and test images have different shapes", dir.string()));
  return raw;
}

void check_labels(const Dataset& d, int64_t num_classes, const std::string& where) {
  if (d.size() == 0)
    return;
  const int64_t lo = d.labels.min().item<int64_t>(), hi = d.labels.max().item<int64_t>();
  if (lo < 0 || hi >= num_classes)
    throw Error(
        fmt::format("{}: labels range over {}..{}, expected 0..{}", where, lo, hi, num_classes - 1),
        "labels must be class indices; add classes.txt to name the classes");
}

// Class count and names of raw data; checks the labels against them.
RawData finish_raw(RawData raw, const std::string& spec) {
  if (raw.num_classes == 0) {
    raw.num_classes = raw.class_names.empty()
        ? std::max(raw.train.labels.max().item<int64_t>(), raw.test.labels.max().item<int64_t>()) + 1
        : int64_t(raw.class_names.size());
  }
  if (raw.class_names.size() != size_t(raw.num_classes)) {
    raw.class_names.clear();
    for (int64_t k = 0; k < raw.num_classes; ++k)
      raw.class_names.push_back(std::to_string(k));
  }
  check_labels(raw.train, raw.num_classes, fmt::format("--data {} (training labels)", spec));
  check_labels(raw.test, raw.num_classes, fmt::format("--data {} (test labels)", spec));
  if (raw.num_classes < 2)
    throw Error(fmt::format("--data {}: needs at least 2 classes", spec));
  return raw;
}

RawData load_fashion_mnist(const std::string& dir) {
  RawData raw = load_idx(
      dir.empty() ? fs::path(default_fashion_mnist_dir()) : fs::path(dir), "fashion-mnist", kFashionMnistClasses);
  raw.num_classes = 10;
  return raw;
}

RawData load_mnist(const std::string& dir) {
  RawData raw = load_idx(dir, "mnist", {});
  raw.num_classes = 10;
  return raw;
}

RawData load_idx_source(const std::string& dir) {
  return load_idx(dir, "idx", {});
}

RawData load_cifar(const std::string& dir, int k) {
  RawData raw;
  auto [train, test] = read_cifar_folder(dir, k, raw.class_names);
  raw.name = k == 10 ? "cifar10" : "cifar100";
  raw.train = {train.images, train.labels};
  raw.test = {test.images, test.labels};
  raw.num_classes = k;
  return raw;
}

RawData load_npy_source(const std::string& dir) {
  return load_npy_dir(dir);
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// One split of an image folder: the files at `positions` of `index` (all when positions is undefined).
Dataset folder_split(
    const fs::path& root,
    const ImageIndex& index,
    const torch::Tensor& positions,
    const DataOptions& o,
    bool augment,
    const std::shared_ptr<BadImageLog>& log) {
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  if (positions.defined()) {
    for (int64_t p : to_vector(positions)) {
      files.push_back(index.files[size_t(p)]);
      labels.push_back(index.labels[size_t(p)]);
    }
  } else {
    files = index.files;
    labels = index.labels;
  }
  auto label_tensor = torch::tensor(labels, torch::kInt64);
  if (labels.empty())
    label_tensor = torch::empty({0}, torch::kInt64);
  auto source = std::make_shared<ImageFolderSource>(root, std::move(files), std::move(labels), o.folder, augment, log);
  return {torch::Tensor(), label_tensor, source};
}

DataBundle load_folder(const DataOptions& o, const fs::path& dir) {
  const bool split_layout = fs::is_directory(dir / "train");
  const fs::path train_dir = split_layout ? dir / "train" : dir;
  const bool has_test = split_layout && fs::is_directory(dir / "test");
  const bool has_val = split_layout && fs::is_directory(dir / "val");
  DataBundle b;
  b.spec = o.spec;
  b.name = "folder";
  b.bad_images = std::make_shared<BadImageLog>();
  const ImageIndex train = index_image_folder(train_dir, nullptr, o.folder.cache_index);
  if (!train.note.empty())
    b.notes.push_back(train.note);
  b.class_names = train.class_names;
  b.num_classes = int64_t(train.class_names.size());
  if (b.num_classes < 2)
    throw Error(fmt::format("--data {}: needs at least 2 class folders", o.spec));
  const auto labels = torch::tensor(train.labels, torch::kInt64);
  const int64_t n = labels.size(0);
  // Held-out splits take at most a fifth of the training folder each.
  auto held_size = [&](int64_t wanted, const char* what) {
    const int64_t cap = n / 5;
    if (wanted > cap) {
      b.notes.push_back(fmt::format(
          "--data {}: {} split of {} instead of {} (a fifth of {} training images)", o.spec, what, cap, wanted, n));
      return cap;
    }
    return wanted;
  };
  const int64_t val_size = o.val_size == kAutoValSize ? default_val_size(o.spec, n) : o.val_size;
  torch::Tensor pool = torch::arange(n, torch::kInt64); // positions still available for training
  auto hold_out = [&](int64_t count, uint64_t seed) {
    auto [kept, held] = stratified_split(labels.index_select(0, pool), b.num_classes, count, seed);
    torch::Tensor out = pool.index_select(0, held);
    pool = pool.index_select(0, kept);
    return out;
  };
  const std::shared_ptr<BadImageLog>& log = b.bad_images;
  if (has_test || has_val) {
    const fs::path test_dir = has_test ? dir / "test" : dir / "val";
    const ImageIndex test = index_image_folder(test_dir, &b.class_names, o.folder.cache_index);
    if (!test.note.empty())
      b.notes.push_back(test.note);
    if (test.files.empty())
      throw Error(fmt::format("--data {}: {} has no images", o.spec, test_dir.string()));
    b.test = folder_split(test_dir, test, torch::Tensor(), o, false, log);
  } else {
    const int64_t count = held_size(std::max<int64_t>(val_size, 1), "test");
    if (count < 1)
      throw Error(
          fmt::format("--data {}: too few images ({}) to hold out a test split", o.spec, n),
          "add a test/ folder beside train/, or more images");
    b.test = folder_split(train_dir, train, hold_out(count, o.split_seed + 0x7E57), o, false, log);
  }
  if (has_test && has_val) {
    const ImageIndex val = index_image_folder(dir / "val", &b.class_names, o.folder.cache_index);
    if (!val.note.empty())
      b.notes.push_back(val.note);
    b.val = folder_split(dir / "val", val, torch::Tensor(), o, false, log);
  } else if (val_size > 0) {
    const int64_t count = held_size(val_size, "validation");
    torch::Tensor held = count > 0 ? hold_out(count, o.split_seed) : torch::empty({0}, torch::kInt64);
    b.val_index = held;
    b.val = folder_split(train_dir, train, held, o, false, log);
  } else {
    b.val_index = torch::empty({0}, torch::kInt64);
    b.val = folder_split(train_dir, train, b.val_index, o, false, log);
  }
  if (o.limit_train > 0 && o.limit_train < pool.size(0)) {
    auto [rest, keep] = stratified_split(labels.index_select(0, pool), b.num_classes, o.limit_train, o.split_seed + 1);
    (void)rest;
    pool = pool.index_select(0, keep);
  }
  pool = std::get<0>(pool.sort());
  b.train_index = pool;
  b.train = folder_split(train_dir, train, pool, o, o.augment, log);
  if (o.limit_test > 0 && o.limit_test < b.test.size())
    b.test = b.test.subset(torch::arange(o.limit_test, torch::kInt64));
  b.channels = o.folder.channels;
  b.height = b.width = o.folder.image_size;
  std::tie(b.mean, b.std) = folder_normalisation(b.channels);
  return b;
}

DataBundle split_raw(const DataOptions& options, RawData raw);

// The data sources, one row each: the name before the ':', how --data spells it, --val-size's default, the hint for
// a missing folder, and the loader. Everything that names sources (the unknown-source error, --data's help through
// source_names(), default_val_size) reads this table.
struct SourceEntry {
  const char* name;
  const char* usage;
  bool needs_dir; // false: DIR is optional (fashion-mnist: Debian's folder)
  int64_t customary_val_size; // kAutoValSize: 10% of the training examples
  const char* dir_hint;
  DataBundle (*load)(const DataOptions& options, const std::string& dir);
};

// What identifies the files of an in-memory source: every regular file in `dir` and in its sub-folders one level down
// (CIFAR's archives unpack into one), each as path, size, inode, modification and change time, sorted. Empty when the
// folder cannot be listed or holds more than kMaxFingerprintFiles files: such a source is not kept.
constexpr size_t kMaxFingerprintFiles = 256;

std::string folder_fingerprint(const fs::path& dir) {
  std::vector<std::string> rows;
  bool ok = true;
  auto visit = [&](const fs::path& folder, int depth, auto& self) -> void {
    std::error_code ec;
    for (auto it = fs::directory_iterator(folder, ec); ok && !ec && it != fs::directory_iterator(); it.increment(ec)) {
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0)
        continue;
      if (S_ISDIR(st.st_mode) && depth == 0) {
        self(it->path(), 1, self);
      } else if (S_ISREG(st.st_mode)) {
        rows.push_back(fmt::format(
            "{}\t{}\t{}\t{}.{}\t{}.{}",
            it->path().string(),
            int64_t(st.st_size),
            uint64_t(st.st_ino),
            int64_t(st.st_mtim.tv_sec),
            int64_t(st.st_mtim.tv_nsec),
            int64_t(st.st_ctim.tv_sec),
            int64_t(st.st_ctim.tv_nsec)));
        ok = rows.size() <= kMaxFingerprintFiles;
      }
    }
    ok = ok && !ec;
  };
  visit(dir, 0, visit);
  if (!ok || rows.empty())
    return "";
  std::sort(rows.begin(), rows.end());
  return join(rows, "\n");
}

// A copy whose tensors are the caller's own: nothing done to it in place reaches the kept source.
RawData own_copy(const RawData& r) {
  RawData c = r;
  c.train = {r.train.images.clone(), r.train.labels.clone(), nullptr};
  c.test = {r.test.images.clone(), r.test.labels.clone(), nullptr};
  return c;
}

// An in-memory source (IDX, CIFAR, NPY) is decoded once per process while its files stay the same: a study trains,
// evaluates and analyses dozens of runs of one data set in one process, and decompressing Fashion-MNIST's IDX files
// on every load took about a tenth of the quick preset's time. Each loader keeps its last source, keyed by its
// folder's fingerprint (a rewritten file is read again; one rewritten in place at the same size within the file
// system's timestamp granularity, a few milliseconds, would not be noticed), and hands out copies.
template <RawData (*Load)(const std::string&)>
DataBundle load_in_memory(const DataOptions& options, const std::string& dir) {
  static std::mutex mutex;
  static std::string kept_key;
  static std::optional<RawData> kept;
  const fs::path folder = dir.empty() ? fs::path(default_fashion_mnist_dir()) : fs::path(dir);
  const std::string fingerprint = folder_fingerprint(folder);
  if (fingerprint.empty())
    return split_raw(options, finish_raw(Load(dir), options.spec));
  RawData raw;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = dir + "\n" + fingerprint;
    if (!kept || kept_key != key) {
      kept.reset();
      kept = Load(dir);
      kept_key = key;
    }
    raw = own_copy(*kept);
  }
  return split_raw(options, finish_raw(std::move(raw), options.spec));
}
RawData load_cifar10(const std::string& dir) {
  return load_cifar(dir, 10);
}
RawData load_cifar100(const std::string& dir) {
  return load_cifar(dir, 100);
}
DataBundle load_folder_source(const DataOptions& options, const std::string& dir) {
  return load_folder(options, fs::path(dir));
}

const std::vector<SourceEntry>& source_table() {
  static const std::vector<SourceEntry> table = {
      {"fashion-mnist", "fashion-mnist", false, 5000, "", &load_in_memory<&load_fashion_mnist>},
      {"mnist", "mnist:DIR", true, 5000, "", &load_in_memory<&load_mnist>},
      {"idx", "idx:DIR", true, kAutoValSize, "", &load_in_memory<&load_idx_source>},
      {"cifar10", "cifar10:DIR", true, 5000, "", &load_in_memory<&load_cifar10>},
      {"cifar100", "cifar100:DIR", true, 5000, "", &load_in_memory<&load_cifar100>},
      {"npy", "npy:DIR", true, kAutoValSize, "", &load_in_memory<&load_npy_source>},
      {"folder",
       "folder:DIR",
       true,
       kAutoValSize,
       "DIR holds one sub-folder of JPEG/PNG images per class (or train/, val/, test/ folders of them)",
       &load_folder_source},
  };
  return table;
}

const SourceEntry* find_source(const std::string& kind) {
  for (const auto& entry : source_table())
    if (kind == entry.name)
      return &entry;
  return nullptr;
}

} // namespace

std::vector<std::string> source_names() {
  std::vector<std::string> names;
  for (const auto& entry : source_table())
    names.push_back(entry.usage);
  return names;
}

int64_t default_val_size(const std::string& spec, int64_t train_examples) {
  const SourceEntry* entry = find_source(spec.substr(0, spec.find(':')));
  if (entry && entry->customary_val_size != kAutoValSize)
    return entry->customary_val_size;
  return std::max<int64_t>(1, (train_examples + 5) / 10);
}

std::pair<torch::Tensor, torch::Tensor> stratified_split(
    const torch::Tensor& labels_in,
    int64_t num_classes,
    int64_t held_out,
    uint64_t seed) {
  auto labels = labels_in.to(torch::kInt64).contiguous();
  const int64_t n = labels.size(0);
  check(held_out >= 0 && held_out < n, "--val-size {} must be in [0, {})", held_out, n);
  const auto* y = labels.data_ptr<int64_t>();
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(num_classes));
  for (int64_t i = 0; i < n; ++i)
    by_class[size_t(y[i])].push_back(i);
  // Largest-remainder allocation of held_out over classes in proportion to their counts.
  std::vector<int64_t> take(static_cast<size_t>(num_classes));
  std::vector<std::pair<double, int64_t>> remainders;
  int64_t assigned = 0;
  for (int64_t k = 0; k < num_classes; ++k) {
    const double exact = double(held_out) * double(by_class[size_t(k)].size()) / double(n);
    take[size_t(k)] = int64_t(exact);
    assigned += take[size_t(k)];
    remainders.push_back({-(exact - double(take[size_t(k)])), k});
  }
  std::sort(remainders.begin(), remainders.end());
  for (size_t i = 0; assigned < held_out; ++i, ++assigned)
    take[size_t(remainders[i].second)] += 1;
  std::vector<int64_t> kept, out;
  for (int64_t k = 0; k < num_classes; ++k) {
    auto& idx = by_class[size_t(k)];
    std::mt19937_64 rng(seed * 1000003ULL + uint64_t(k));
    std::shuffle(idx.begin(), idx.end(), rng);
    out.insert(out.end(), idx.begin(), idx.begin() + take[size_t(k)]);
    kept.insert(kept.end(), idx.begin() + take[size_t(k)], idx.end());
  }
  std::sort(kept.begin(), kept.end());
  std::sort(out.begin(), out.end());
  return {torch::tensor(kept, torch::kInt64), torch::tensor(out, torch::kInt64)};
}

void DataOptions::validate() const {
  check(val_size >= 0 || val_size == kAutoValSize, "--val-size must be non-negative, got {}", val_size);
  check(limit_train >= 0, "--limit-train must be non-negative (0: all), got {}", limit_train);
  check(limit_test >= 0, "--limit-test must be non-negative (0: all), got {}", limit_test);
  check(label_noise >= 0 && label_noise < 1, "--label-noise must be in [0, 1), got {}", label_noise);
  folder.validate();
}

const Dataset& DataBundle::split(Split which) const {
  switch (which) {
    case Split::Train:
      return train;
    case Split::Val:
      return val;
    case Split::Test:
      return test;
  }
  SMOOTHLAB_ASSERT(false, "split {} has no dataset", static_cast<int>(which));
}

DataBundle load_data(const DataOptions& options) {
  options.validate();
  const auto colon = options.spec.find(':');
  const std::string kind = options.spec.substr(0, colon);
  const std::string dir = colon == std::string::npos ? "" : options.spec.substr(colon + 1);
  const SourceEntry* entry = find_source(kind);
  if (!entry)
    throw Error(fmt::format("--data: unknown data source '{}'", kind), fmt::format("known: {}", join(source_names())));
  if (entry->needs_dir && dir.empty())
    throw Error(fmt::format("--data {}: needs a folder, as in --data {}", options.spec, entry->usage), entry->dir_hint);
  DataBundle bundle = entry->load(options, dir);
  if (!options.classes.empty())
    keep_classes(bundle, options.classes);
  if (options.label_noise > 0)
    add_label_noise(bundle, options.label_noise, options.split_seed);
  return bundle;
}

void keep_classes(DataBundle& b, const std::string& classes) {
  const auto kept = parse_classes(classes, b.class_names, "--classes");
  std::vector<int64_t> relabel(size_t(b.num_classes), -1);
  for (size_t i = 0; i < kept.size(); ++i) {
    if (relabel[size_t(kept[i])] >= 0)
      throw Error(fmt::format("--classes {}: class '{}' is listed twice", classes, b.class_names[size_t(kept[i])]));
    relabel[size_t(kept[i])] = int64_t(i);
  }
  if (kept.size() < 2)
    throw Error(fmt::format("--classes {}: needs at least 2 classes", classes));
  const auto map = torch::tensor(relabel, torch::kInt64);
  auto restrict = [&](Dataset& d, torch::Tensor* index) {
    if (d.size() == 0)
      return;
    const auto mapped = map.index_select(0, d.labels.to(torch::kInt64));
    const auto rows = torch::nonzero(mapped >= 0).flatten();
    Dataset out = d.subset(rows);
    out.labels = mapped.index_select(0, rows);
    d = std::move(out);
    if (index && index->defined() && index->numel() > 0)
      *index = index->index_select(0, rows);
  };
  restrict(b.train, &b.train_index);
  restrict(b.val, &b.val_index);
  restrict(b.test, nullptr);
  std::vector<std::string> names;
  for (int64_t k : kept)
    names.push_back(b.class_names[size_t(k)]);
  b.class_names = std::move(names);
  b.num_classes = int64_t(kept.size());
}

void add_label_noise(DataBundle& b, double share, uint64_t seed) {
  const int64_t k = b.num_classes;
  int64_t salt = 0;
  for (Dataset* d : {&b.train, &b.val}) {
    ++salt;
    const int64_t n = d->size();
    const int64_t flipped = int64_t(std::llround(share * double(n)));
    if (flipped == 0)
      continue;
    std::mt19937_64 gen(seed * 0x9E3779B97F4A7C15ull + 0x401CEull + uint64_t(salt));
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    for (int64_t i = 0; i < flipped; ++i) // partial Fisher–Yates: the first `flipped` positions are the sample
      std::swap(order[size_t(i)], order[size_t(i + int64_t(gen() % uint64_t(n - i)))]);
    auto labels = d->labels.to(torch::kInt64).clone().contiguous();
    int64_t* y = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < flipped; ++i) {
      const size_t at = size_t(order[size_t(i)]);
      y[at] = (y[at] + 1 + int64_t(gen() % uint64_t(k - 1))) % k; // uniform over the other K − 1 classes
    }
    d->labels = labels;
  }
}

namespace {

DataBundle split_raw(const DataOptions& options, RawData raw) {
  DataBundle b;
  b.spec = options.spec;
  b.name = raw.name;
  b.class_names = raw.class_names;
  b.num_classes = raw.num_classes;
  b.channels = raw.train.images.size(1);
  b.height = raw.train.images.size(2);
  b.width = raw.train.images.size(3);
  const int64_t val_size =
      options.val_size == kAutoValSize ? default_val_size(options.spec, raw.train.size()) : options.val_size;
  auto [kept, held] = stratified_split(raw.train.labels, raw.num_classes, val_size, options.split_seed);
  if (options.limit_train > 0 && options.limit_train < kept.size(0)) {
    auto [rest, keep] = stratified_split(
        raw.train.labels.index_select(0, kept), raw.num_classes, options.limit_train, options.split_seed + 1);
    (void)rest;
    kept = kept.index_select(0, keep);
  }
  b.train_index = kept;
  b.val_index = held;
  b.train = raw.train.subset(kept);
  b.val = raw.train.subset(held);
  b.test = raw.test;
  if (options.limit_test > 0 && options.limit_test < b.test.size())
    b.test = b.test.subset(torch::arange(options.limit_test, torch::kInt64));
  auto images = b.train.images.to(torch::kFloat64);
  if (b.train.images.scalar_type() == torch::kUInt8)
    images = images / 255.0;
  auto mean = images.mean({0, 2, 3}), std = images.std({0, 2, 3}, /*unbiased=*/false);
  for (int64_t c = 0; c < b.channels; ++c) {
    b.mean.push_back(float(mean[c].item<double>()));
    b.std.push_back(std::max(1e-6f, float(std[c].item<double>())));
  }
  return b;
}

} // namespace

int64_t write_bad_images(const DataBundle& bundle, const fs::path& file) {
  if (!bundle.bad_images || bundle.bad_images->count() == 0)
    return 0;
  const auto entries = bundle.bad_images->entries();
  std::string text;
  for (const auto& [path, why] : entries)
    text += path + "\t" + why + "\n";
  write_file_atomic(file, text);
  return int64_t(entries.size());
}

std::vector<int64_t> parse_classes(
    const std::string& list,
    const std::vector<std::string>& class_names,
    const std::string& option) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos)
      end = list.size();
    std::string item = list.substr(start, end - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    int64_t found = -1;
    for (size_t k = 0; k < class_names.size(); ++k)
      if (class_names[k] == item)
        found = int64_t(k);
    if (found < 0 && !item.empty() && std::all_of(item.begin(), item.end(), ::isdigit)) {
      found = std::stoll(item);
      if (found >= int64_t(class_names.size()))
        found = -1;
    }
    if (found < 0)
      throw Error(fmt::format("{}: unknown class '{}'", option, item), fmt::format("known: {}", join(class_names)));
    out.push_back(found);
    start = end + 1;
  }
  return out;
}

} // namespace smoothlab::data
