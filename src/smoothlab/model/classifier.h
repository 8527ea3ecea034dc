// Classifiers by name (one table: model_names()). Every model is features() → head: the penultimate activations x and
// the last linear layer whose rows w_k (with bias b_k) are the class templates of the paper's §2, logits = x·w_kᵀ +
// b_k.
//
//   mlp        flatten → 256 → ReLU → 256 → ReLU                                   → head
//   cnn        [conv3×3-32, BN, ReLU]×2, max-pool 2, [conv3×3-64, BN, ReLU]×2, max-pool 2, fc 128, ReLU → head
//   alexnet    the TF CIFAR-10 tutorial net the paper calls AlexNet: conv5×5-64, ReLU, max-pool 3/2,
//              conv5×5-64, ReLU, max-pool 3/2, fc 384, ReLU, fc 192, ReLU          → head
//   resnet20/32/56/110  He et al. 2016 CIFAR ResNets (3 stages of 16/32/64 channels, n = (depth − 2)/6 basic
//              blocks each, option-A shortcuts: strided identity zero-padded in channels), global average pool → head
//
// Any input channel count and size (≥ 8×8 for the pooled nets) is accepted.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace smoothlab::model {

struct InputShape {
  int64_t channels = 1, height = 28, width = 28, num_classes = 10;
};

class ClassifierImpl : public torch::nn::Module {
 public:
  // Penultimate activations: [N, D] float.
  virtual torch::Tensor features(const torch::Tensor& x) = 0;
  // Logits: [N, K].
  torch::Tensor forward(const torch::Tensor& x) {
    return head->forward(features(x));
  }
  // The last linear layer: weight [K, D], bias [K].
  torch::nn::Linear head{nullptr};
};

using Classifier = std::shared_ptr<ClassifierImpl>;

// Builds a model by name; throws Error listing the known names for an unknown one.
Classifier make_model(const std::string& name, const InputShape& shape);
// The model names, in the order of the one table (classifier.cpp) that make_model and the defaults below read.
std::vector<std::string> model_names();

// The peak SGD learning rate a model trains well with under the default cosine schedule: 0.1 at batch 128 (He et
// al.'s CIFAR ResNet rate; the cnn on Fashion-MNIST: 91.8% test accuracy in 5 epochs at 0.1, 91.5% at 0.05,
// docs/performance.md "The cnn"). Below batch 128 it is scaled linearly, lr·B/128 (Goyal et al.'s linear-scaling rule:
// the same lr per example seen, so small batches do not diverge: the mlp at lr 0.1 and batch 8 does); above 128 it
// stays at the batch-128 rate (scaling up needs a warm-up to be safe; pass --lr and --warmup-epochs for that).
double default_lr(const std::string& model, int64_t batch_size = 128);
// The random crop's padding a model trains best with: 2 for cnn (Fashion-MNIST's 28 px: the textbook recipe; 4 moves
// a garment's edge out of the frame), 4 for the others (He et al.'s CIFAR recipe).
// Both throw the unknown-model Error for a name make_model does not know.
int64_t default_crop_padding(const std::string& model);

} // namespace smoothlab::model
