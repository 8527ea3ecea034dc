// Image-folder listing with a cached index, and the lazily decoding ExampleSource over its files.
#include "smoothlab/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/loader.h"

namespace smoothlab::data {

namespace fs = std::filesystem;

void BadImageLog::add(const std::string& path, const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.insert({path, why});
}

std::vector<std::pair<std::string, std::string>> BadImageLog::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {entries_.begin(), entries_.end()};
}

size_t BadImageLog::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

namespace {

constexpr const char* kIndexName = ".smoothlab-index";
constexpr const char* kIndexMagic = "smoothlab-image-index";
constexpr int kIndexVersion = 1;

bool is_image_name(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos)
    return false;
  std::string ext = name.substr(dot + 1);
  for (auto& ch : ext)
    ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "jpg" || ext == "jpeg" || ext == "jpe" || ext == "jfif" || ext == "png";
}

int64_t mtime_of(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  return ec ? -1 : int64_t(t.time_since_epoch().count());
}

struct ClassDir {
  std::string name;
  int64_t mtime = 0, count = 0;
};

std::vector<ClassDir> class_dirs(const fs::path& root) {
  std::vector<ClassDir> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.')
      continue;
    if (it->is_directory(ec))
      dirs.push_back({name, mtime_of(it->path()), 0});
  }
  if (ec)
    throw Error(fmt::format("{}: cannot list folder ({})", root.string(), ec.message()));
  std::sort(dirs.begin(), dirs.end(), [](const ClassDir& a, const ClassDir& b) { return a.name < b.name; });
  return dirs;
}

// Reads FOLDER/.smoothlab-index if it matches `dirs`; returns false otherwise (missing, stale or unreadable).
bool read_index(
    const fs::path& root,
    std::vector<ClassDir>& dirs,
    std::vector<std::string>& files,
    std::vector<int64_t>& local_labels) {
  std::ifstream in(root / kIndexName);
  if (!in)
    return false;
  std::string line, magic;
  int version = 0;
  size_t k = 0, n = 0;
  if (!std::getline(in, line))
    return false;
  std::istringstream(line) >> magic >> version;
  if (magic != kIndexMagic || version != kIndexVersion)
    return false;
  if (!std::getline(in, line) || std::sscanf(line.c_str(), "classes %zu", &k) != 1 || k != dirs.size())
    return false;
  std::vector<int64_t> counts(k);
  for (size_t c = 0; c < k; ++c) {
    if (!std::getline(in, line))
      return false;
    const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos)
      return false;
    if (line.substr(0, t1) != dirs[c].name)
      return false;
    try {
      if (std::stoll(line.substr(t1 + 1, t2 - t1 - 1)) != dirs[c].mtime)
        return false;
      counts[c] = std::stoll(line.substr(t2 + 1));
    } catch (const std::exception&) {
      return false;
    }
  }
  if (!std::getline(in, line) || std::sscanf(line.c_str(), "files %zu", &n) != 1)
    return false;
  files.clear();
  local_labels.clear();
  // n is the file's claim: reserve no more than a million lines up front (a garbled count is found out at the end).
  files.reserve(std::min(n, size_t(1) << 20));
  local_labels.reserve(std::min(n, size_t(1) << 20));
  std::vector<int64_t> seen(k, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!std::getline(in, line))
      return false;
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      return false;
    int64_t label = -1;
    try {
      label = std::stoll(line.substr(0, tab));
    } catch (const std::exception&) {
      return false;
    }
    if (label < 0 || label >= int64_t(k))
      return false;
    seen[size_t(label)] += 1;
    local_labels.push_back(label);
    files.push_back(line.substr(tab + 1));
  }
  for (size_t c = 0; c < k; ++c) {
    if (seen[c] != counts[c])
      return false;
    dirs[c].count = counts[c];
  }
  return true;
}

std::string index_text(
    const std::vector<ClassDir>& dirs,
    const std::vector<std::string>& files,
    const std::vector<int64_t>& local_labels) {
  std::string text = fmt::format("{} {}\nclasses {}\n", kIndexMagic, kIndexVersion, dirs.size());
  for (const auto& d : dirs)
    text += fmt::format("{}\t{}\t{}\n", d.name, d.mtime, d.count);
  text += fmt::format("files {}\n", files.size());
  for (size_t i = 0; i < files.size(); ++i)
    text += fmt::format("{}\t{}\n", local_labels[i], files[i]);
  return text;
}

} // namespace

ImageIndex index_image_folder(const fs::path& root, const std::vector<std::string>* classes, bool use_cache) {
  if (!fs::is_directory(root))
    throw Error(
        fmt::format("--data folder: no such folder {}", root.string()),
        "a folder dataset holds one sub-folder of JPEG/PNG images per class");
  auto dirs = class_dirs(root);
  if (dirs.empty())
    throw Error(
        fmt::format("--data folder: {} has no class sub-folders", root.string()),
        "put the images of each class in their own sub-folder: DIR/<class>/<image>.jpg");
  ImageIndex index;
  std::vector<int64_t> local;
  if (use_cache && read_index(root, dirs, index.files, local)) {
    index.from_cache = true;
  } else {
    for (size_t c = 0; c < dirs.size(); ++c) {
      std::vector<std::string> names;
      std::error_code ec;
      for (fs::directory_iterator it(root / dirs[c].name, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || !is_image_name(name))
          continue;
        if (!it->is_directory(ec))
          names.push_back(name);
      }
      if (ec)
        throw Error(fmt::format("{}: cannot list folder ({})", (root / dirs[c].name).string(), ec.message()));
      std::sort(names.begin(), names.end());
      dirs[c].count = int64_t(names.size());
      for (auto& name : names) {
        index.files.push_back(dirs[c].name + "/" + name);
        local.push_back(int64_t(c));
      }
    }
    if (use_cache) {
      try {
        write_file_atomic(root / kIndexName, index_text(dirs, index.files, local));
      } catch (const std::exception& e) {
        index.note = fmt::format("{}: index not cached ({})", root.string(), e.what());
      }
    }
  }
  for (const auto& d : dirs)
    index.class_names.push_back(d.name);
  if (!classes) {
    for (const auto& d : dirs)
      if (d.count == 0)
        throw Error(
            fmt::format("--data folder: class folder {} has no JPEG or PNG images", (root / d.name).string()),
            "every training class needs at least one image (.jpg, .jpeg or .png)");
    index.labels = std::move(local);
    return index;
  }
  std::vector<int64_t> map(dirs.size());
  for (size_t c = 0; c < dirs.size(); ++c) {
    const auto it = std::find(classes->begin(), classes->end(), dirs[c].name);
    if (it == classes->end())
      throw Error(
          fmt::format("--data folder: {} is not a class of the training folder", (root / dirs[c].name).string()),
          fmt::format("training classes: {}", join(*classes)));
    map[c] = int64_t(it - classes->begin());
  }
  index.labels.reserve(local.size());
  for (auto l : local)
    index.labels.push_back(map[size_t(l)]);
  index.class_names = *classes;
  return index;
}

void decode_view(
    const std::vector<uint8_t>& bytes,
    const std::string& name,
    const TransformOptions& transform,
    const DecodeOptions& decode,
    uint64_t hash,
    float* out) {
  const ImageInfo info = read_image_info(bytes.data(), bytes.size(), name);
  const View view = draw_view(transform, info.width, info.height, hash);
  const int64_t size = transform.size;
  DecodeOptions d = decode;
  // DCT scaling: the box must still be at least `size` pixels wide and high after scaling.
  d.min_width = double(info.width) * double(size) / view.box.width();
  d.min_height = double(info.height) * double(size) / view.box.height();
  const DecodedImage image = decode_image(bytes.data(), bytes.size(), name, d);
  const double fx = double(image.width) / double(info.width), fy = double(image.height) / double(info.height);
  const Box box{view.box.x0 * fx, view.box.y0 * fy, view.box.x1 * fx, view.box.y1 * fy};
  if (view.dy == 0 && view.dx == 0) {
    resample_to_chw(image, box, size, size, transform.filter, view.flip, out);
    return;
  }
  // PadCrop: resample, then out(y, x) = resized(y + dy, x' + dx) with x' the flipped x, zero outside.
  const int64_t C = image.channels;
  std::vector<float> resized(size_t(C * size * size));
  resample_to_chw(image, box, size, size, transform.filter, false, resized.data());
  for (int64_t c = 0; c < C; ++c) {
    const float* src = resized.data() + c * size * size;
    float* dst = out + c * size * size;
    for (int64_t y = 0; y < size; ++y) {
      const int64_t sy = y + view.dy;
      for (int64_t x = 0; x < size; ++x) {
        const int64_t sx = (view.flip ? size - 1 - x : x) + view.dx;
        dst[y * size + x] = (sy < 0 || sy >= size || sx < 0 || sx >= size) ? 0.0f : src[sy * size + sx];
      }
    }
  }
}

TransformOptions FolderOptions::view(bool augmented) const {
  TransformOptions t;
  t.size = image_size;
  t.filter = filter;
  t.scale_min = scale_min;
  t.scale_max = scale_max;
  t.ratio_min = ratio_min;
  t.ratio_max = ratio_max;
  t.padding = padding;
  if (augmented) {
    t.kind = augment;
    t.hflip = true;
  } else {
    // Evaluation view: centre crop (ImageNet), or the whole image resized (CIFAR-style pad-crop training).
    t.kind = augment == TransformKind::PadCrop ? TransformKind::PadCrop : TransformKind::Center;
    t.padding = 0;
    t.hflip = false;
  }
  return t;
}

void FolderOptions::validate() const {
  check(channels == 1 || channels == 3, "--image-channels must be 1 or 3, got {}", channels);
  view(true).validate(); // the training view holds every range the evaluation view uses
}

ImageFolderSource::ImageFolderSource(
    fs::path root,
    std::vector<std::string> files,
    std::vector<int64_t> labels,
    const FolderOptions& options,
    bool augment,
    std::shared_ptr<BadImageLog> log)
    : root_(std::move(root)),
      files_(std::move(files)),
      labels_(std::move(labels)),
      augment_(augment),
      skip_bad_(options.skip_bad),
      log_(log ? std::move(log) : std::make_shared<BadImageLog>()) {
  options.validate();
  check(files_.size() == labels_.size(), "image folder: {} files but {} labels", files_.size(), labels_.size());
  transform_ = options.view(augment);
  decode_.channels = options.channels;
  decode_.scaling = options.scaling;
  decode_.fast_dct = options.fast_dct;
}

std::vector<int64_t> ImageFolderSource::shape() const {
  return {decode_.channels, transform_.size, transform_.size};
}

void ImageFolderSource::read(int64_t index, float* out) const {
  read_example(index, 0, 0, out);
}

bool ImageFolderSource::read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const {
  const std::string path = (root_ / files_[size_t(index)]).string();
  try {
    const auto bytes = read_bytes(path);
    decode_view(bytes, path, transform_, decode_, augment_ ? example_hash(seed, epoch, index) : 0, out);
    return true;
  } catch (const Error& e) {
    if (!skip_bad_)
      throw;
    std::string why = e.what();
    if (why.rfind(path + ": ", 0) == 0)
      why = why.substr(path.size() + 2); // the path is the list's first column
    log_->add(path, why);
    std::fill(out, out + decode_.channels * transform_.size * transform_.size, 0.0f);
    return false;
  }
}

std::pair<std::vector<float>, std::vector<float>> folder_normalisation(int64_t channels) {
  if (channels == 1)
    return {{0.449f}, {0.226f}};
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

} // namespace smoothlab::data
