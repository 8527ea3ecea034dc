// Datasets by name (one table of sources: source_names()) and the train / validation / test split.
//
//   --data fashion-mnist      Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), the default
//   --data mnist:DIR | idx:DIR  IDX files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...
//   --data cifar10:DIR        CIFAR-10 binary (data_batch_1..5.bin, test_batch.bin)
//   --data cifar100:DIR       CIFAR-100 binary (train.bin, test.bin), fine labels
//   --data npy:DIR            train_images.npy, train_labels.npy, test_images.npy, test_labels.npy [, classes.txt]
//   --data folder:DIR         JPEG/PNG files, one sub-folder per class, optional train/ val/ test/ (image_folder.h);
//                             decoded lazily: its Datasets carry an ExampleSource instead of image tensors
//
// The validation split is held out of the training set, stratified and deterministic: within each class
// the examples are permuted by a fixed seed (split_seed) and the first share is taken, where each class's
// share is val_size * class_count / N rounded by the largest-remainder rule so the total is exactly val_size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "smoothlab/data/image_folder.h"
#include "smoothlab/data/source.h"
#include "smoothlab/data/split.h"

namespace smoothlab::data {

// In-memory examples: images uint8 (pixel values 0..255) or float32 (values used as given, 1 = white),
// [N, C, H, W]; labels int64 [N]. A lazily decoded dataset (folder:DIR) leaves images undefined and carries
// its examples in `source` instead (labels are still in memory); TensorSource and make_eval_loader read either.
struct Dataset {
  torch::Tensor images;
  torch::Tensor labels;
  std::shared_ptr<const ExampleSource> source = nullptr; // set for lazy datasets only
  int64_t size() const {
    return labels.defined() ? labels.size(0) : 0;
  }
  bool lazy() const {
    return source != nullptr;
  }
  Dataset subset(const torch::Tensor& indices) const;
};

// --val-size's default: 5000 for Fashion-MNIST, MNIST and CIFAR (their customary split of 55k/45k + 5k), 10% of
// the training examples (stratified, at least 1) for every other source, so a small folder trains as it is.
constexpr int64_t kAutoValSize = -1;
int64_t default_val_size(const std::string& spec, int64_t train_examples);

struct DataOptions {
  std::string spec = "fashion-mnist";
  // Examples held out of training for validation (0: no validation split; kAutoValSize: default_val_size()).
  int64_t val_size = kAutoValSize;
  uint64_t split_seed = 0; // fixes which examples are held out
  int64_t limit_train = 0; // > 0: keep only this many (stratified) training examples, for tests and smoke runs
  int64_t limit_test = 0; // > 0: keep only the first this-many test examples
  // After the splits (so every class subset sees the same held-out examples): "" all classes, else a comma-separated
  // list of class names or indices; only their examples are kept in every split, relabelled 0..k−1 in the list's
  // order (class_names follow). Normalisation (mean, std) stays that of the whole training split.
  std::string classes;
  // Symmetric label noise on the training and validation splits (the test split stays clean): exactly
  // round(label_noise · n) examples of each, drawn without replacement, get a label drawn uniformly from the K − 1
  // other classes — so label_noise is the share of wrong labels (Lukasik et al. draw from all K: their ρ is this
  // share · K/(K − 1)). Fixed by split_seed, so every run on the same split sees the same noisy labels. In [0, 1).
  double label_noise = 0;
  // Image folders only: decoding and views, and whether the training split augments (random views).
  FolderOptions folder;
  bool augment = true;

  // Throws Error naming the option (--val-size, --limit-train, --limit-test, --label-noise; the image folder's
  // through FolderOptions::validate) for values out of range. load_data calls it first; the spec and the classes are
  // checked against the data by load_data.
  void validate() const;
};

struct DataBundle {
  std::string spec;
  std::string name; // e.g. "fashion-mnist"
  Dataset train, val, test;
  torch::Tensor train_index, val_index; // int64 positions in the original training set
  std::vector<std::string> class_names;
  int64_t num_classes = 0, channels = 0, height = 0, width = 0;
  std::vector<float> mean, std; // per channel, of the training split, in units where 1 = white (uint8 / 255)
                                // (image folders: the standard ImageNet values, folder_normalisation())
  std::shared_ptr<BadImageLog> bad_images; // image folders: unreadable files skipped so far (--skip-bad-images)
  std::vector<std::string> notes; // things worth telling the user (e.g. an index that was not cached)

  // The train, val or test Dataset.
  const Dataset& split(Split which) const;
};

// Loads the data named by options.spec and splits it. Throws Error for options out of range (DataOptions::validate),
// unknown names (listing the known ones), missing or corrupt files, labels out of range and shapes that disagree.
DataBundle load_data(const DataOptions& options);

// The data sources as --data spells them ("fashion-mnist", "mnist:DIR", ..., "folder:DIR"), in the order of the
// one table (dataset.cpp) that load_data, default_val_size and the unknown-source error read.
std::vector<std::string> source_names();

// The stratified split used by load_data: returns {kept, held_out} positions, each sorted ascending.
std::pair<torch::Tensor, torch::Tensor> stratified_split(
    const torch::Tensor& labels,
    int64_t num_classes,
    int64_t held_out,
    uint64_t seed);

// DataOptions::classes and ::label_noise on a loaded bundle (load_data applies them); exposed for tests.
void keep_classes(DataBundle& bundle, const std::string& classes);
void add_label_noise(DataBundle& bundle, double share, uint64_t seed);

// Resolves a comma-separated list of class names or indices ("Shirt,Pullover" or "6,2") to indices.
std::vector<int64_t> parse_classes(
    const std::string& list,
    const std::vector<std::string>& class_names,
    const std::string& option);

// Image folders with --skip-bad-images: writes `file` ("path<TAB>reason" lines, sorted; a run folder's
// bad_images.txt) and returns how many files were skipped so far; does nothing and returns 0 when none were (or for
// in-memory data).
int64_t write_bad_images(const DataBundle& bundle, const std::filesystem::path& file);

// Debian's Fashion-MNIST folder, overridable with SMOOTHLAB_FASHION_MNIST_DIR.
std::string default_fashion_mnist_dir();

} // namespace smoothlab::data
