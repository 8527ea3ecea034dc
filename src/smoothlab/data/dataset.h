// Datasets by name and the train / validation / test split.
//
//   --data fashion-mnist      Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), the default
//   --data mnist:DIR | idx:DIR  IDX files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...
//   --data cifar10:DIR        CIFAR-10 binary (data_batch_1..5.bin, test_batch.bin)
//   --data cifar100:DIR       CIFAR-100 binary (train.bin, test.bin), fine labels
//   --data npy:DIR            train_images.npy, train_labels.npy, test_images.npy, test_labels.npy [, classes.txt]
//
// The validation split is held out of the training set, stratified and deterministic: within each class
// the examples are permuted by a fixed seed (split_seed) and the first share is taken, where each class's
// share is val_size * class_count / N rounded by the largest-remainder rule so the total is exactly val_size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace smoothlab::data {

// In-memory examples: images uint8 (pixel values 0..255) or float32 (values used as given, 1 = white),
// [N, C, H, W]; labels int64 [N].
struct Dataset {
  torch::Tensor images;
  torch::Tensor labels;
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Dataset subset(const torch::Tensor& indices) const;
};

struct DataOptions {
  std::string spec = "fashion-mnist";
  int64_t val_size = 5000;   // examples held out of training for validation (0: no validation split)
  uint64_t split_seed = 0;   // fixes which examples are held out
  int64_t limit_train = 0;   // > 0: keep only this many (stratified) training examples, for tests and smoke runs
  int64_t limit_test = 0;    // > 0: keep only the first this-many test examples
};

struct DataBundle {
  std::string spec;
  std::string name;  // e.g. "fashion-mnist"
  Dataset train, val, test;
  torch::Tensor train_index, val_index;  // int64 positions in the original training set
  std::vector<std::string> class_names;
  int64_t num_classes = 0, channels = 0, height = 0, width = 0;
  std::vector<float> mean, std;  // per channel, of the training split, in units where 1 = white (uint8 / 255)
};

// Loads the data named by options.spec and splits it. Throws Error for unknown names (listing the known
// ones), missing or corrupt files, labels out of range and shapes that disagree.
DataBundle load_data(const DataOptions& options);

// Names accepted before the ':' of a spec.
std::vector<std::string> known_data_sources();

// The stratified split used by load_data: returns {kept, held_out} positions, each sorted ascending.
std::pair<torch::Tensor, torch::Tensor> stratified_split(const torch::Tensor& labels, int64_t num_classes,
                                                         int64_t held_out, uint64_t seed);

// Resolves a comma-separated list of class names or indices ("Shirt,Pullover" or "6,2") to indices.
std::vector<int64_t> parse_classes(const std::string& list, const std::vector<std::string>& class_names,
                                   const std::string& option);

// Debian's Fashion-MNIST folder, overridable with SMOOTHLAB_FASHION_MNIST_DIR.
std::string default_fashion_mnist_dir();

}  // namespace smoothlab::data
