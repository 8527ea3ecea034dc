// Image folders in the ImageNet layout (one sub-folder per class, torchvision ImageFolder semantics) as lazily
// decoding example sources.
//
//   --data folder:DIR   DIR/<class>/*.jpg|*.jpeg|*.png            training images; validation and test held out
//                       DIR/train/<class>/... [DIR/val/...] [DIR/test/...]   separate split folders
//
// Classes are the sorted names of the training folder's sub-folders (label = position); val/test sub-folders
// must name training classes. Files are listed in sorted order; other extensions and hidden entries are ignored.
// With DIR/train: test = DIR/test, else DIR/val, else held out of train; val = DIR/val when DIR/test exists,
// else held out of train (stratified, seeded: dataset.h's stratified_split, at most a fifth of the training folder).
//
// Index cache: listing a million files takes minutes on network storage, so each split folder gets an index
// FOLDER/.smoothlab-index (text: magic + version, each class folder's name, mtime and file count, then one
// "label<TAB>relative path" line per file). It is reused while the class folders and their mtimes are unchanged
// (adding or removing a file changes its folder's mtime) and rewritten atomically otherwise; a read-only folder
// is simply listed every time.
//
// Decoding: image_decode.h (TurboJPEG with DCT scaling, libpng); geometry: augment.h; resampling: resample.h.
// A file that cannot be read or decoded is an Error naming it; with skip_bad it is recorded in the shared
// BadImageLog instead and left out of its batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "smoothlab/data/augment.h"
#include "smoothlab/data/image_decode.h"
#include "smoothlab/data/source.h"

namespace smoothlab::data {

struct FolderOptions {
  int64_t image_size = 224; // output side of every split (--image-size)
  int64_t channels = 3; // 3 RGB, 1 gray (--image-channels)
  TransformKind augment = TransformKind::RandomResizedCrop; // training view (--folder-augment)
  double scale_min = 0.08, scale_max = 1.0; // RandomResizedCrop area range (--rrc-scale)
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0; // RandomResizedCrop aspect range (--rrc-ratio)
  int64_t padding = 4; // pad-crop padding (the trainer's --crop-padding)
  ResizeFilter filter = ResizeFilter::Bilinear; // --resize-filter
  bool skip_bad = false; // --skip-bad-images
  DctScaling scaling = DctScaling::PowersOfTwo;
  bool fast_dct = false;
  bool cache_index = true;

  // The view drawn from each image: the training view (`augment` with flips) or the evaluation one (a centre crop,
  // or the whole image resized after pad-crop training).
  TransformOptions view(bool augmented) const;

  // Throws Error naming the option (--image-size, --image-channels, --rrc-scale, --rrc-ratio, --crop-padding) for
  // values out of range. ImageFolderSource's constructor calls it first.
  void validate() const;
};

// Unreadable files met while loading (skip_bad): thread-safe, shared by all splits of a bundle.
class BadImageLog {
 public:
  void add(const std::string& path, const std::string& why);
  std::vector<std::pair<std::string, std::string>> entries() const; // sorted by path
  size_t count() const;

 private:
  mutable std::mutex mutex_;
  std::set<std::pair<std::string, std::string>> entries_;
};

struct ImageIndex {
  std::vector<std::string> class_names; // sorted sub-folder names of this folder
  std::vector<std::string> files; // relative to the folder
  std::vector<int64_t> labels; // class positions, in `classes` if given to index_image_folder
  bool from_cache = false;
  std::string note; // e.g. why the cache could not be written
};

// Lists root/<class>/<image>. classes: the training classes to map to (val/test); nullptr: this folder's own
// classes (training; each must hold at least one image). Throws Error for a missing/empty folder, an
// unknown class, or a training class without images.
ImageIndex index_image_folder(
    const std::filesystem::path& root,
    const std::vector<std::string>* classes,
    bool use_cache);

// Lazily decoding source over files of one folder. augment: apply options' training view (random, drawn from
// (seed, epoch, index)); otherwise the deterministic evaluation view (centre crop; full resize for pad-crop).
class ImageFolderSource : public ExampleSource {
 public:
  ImageFolderSource(
      std::filesystem::path root,
      std::vector<std::string> files,
      std::vector<int64_t> labels,
      const FolderOptions& options,
      bool augment,
      std::shared_ptr<BadImageLog> log);
  int64_t size() const override {
    return int64_t(files_.size());
  }
  std::vector<int64_t> shape() const override;
  int64_t label(int64_t index) const override {
    return labels_[size_t(index)];
  }
  void read(int64_t index, float* out) const override;
  bool read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const override;
  bool augments() const override {
    return augment_;
  }

  const std::filesystem::path& root() const {
    return root_;
  }
  const std::vector<std::string>& files() const {
    return files_;
  }

 private:
  std::filesystem::path root_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  TransformOptions transform_;
  DecodeOptions decode_;
  bool augment_, skip_bad_;
  std::shared_ptr<BadImageLog> log_;
};

// Decodes `bytes` and writes its view (C·size·size floats, 1 = white) to out: the whole per-example pipeline,
// exposed for tests and benchmarks. hash feeds draw_view.
void decode_view(
    const std::vector<uint8_t>& bytes,
    const std::string& name,
    const TransformOptions& transform,
    const DecodeOptions& decode,
    uint64_t hash,
    float* out);

// A view onto some examples of another source (Dataset::subset of a lazy dataset).
class SubsetSource : public ExampleSource {
 public:
  SubsetSource(std::shared_ptr<const ExampleSource> parent, std::vector<int64_t> indices)
      : parent_(std::move(parent)), indices_(std::move(indices)) {}
  int64_t size() const override {
    return int64_t(indices_.size());
  }
  std::vector<int64_t> shape() const override {
    return parent_->shape();
  }
  int64_t label(int64_t index) const override {
    return parent_->label(indices_[size_t(index)]);
  }
  void read(int64_t index, float* out) const override {
    parent_->read(indices_[size_t(index)], out);
  }
  bool read_example(int64_t index, int64_t epoch, uint64_t seed, float* out) const override {
    return parent_->read_example(indices_[size_t(index)], epoch, seed, out);
  }
  bool augments() const override {
    return parent_->augments();
  }

 private:
  std::shared_ptr<const ExampleSource> parent_;
  std::vector<int64_t> indices_;
};

// Standard ImageNet normalisation used for folders (computing statistics would decode the whole folder):
// RGB mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225); gray mean 0.449, std 0.226.
std::pair<std::vector<float>, std::vector<float>> folder_normalisation(int64_t channels);

} // namespace smoothlab::data
