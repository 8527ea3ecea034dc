// Classifiers by name. Every model is features() → head: the penultimate activations x and the last
// linear layer whose rows w_k (with bias b_k) are the class templates of the paper's §2, logits = x·w_kᵀ + b_k.
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
  torch::Tensor forward(const torch::Tensor& x) { return head->forward(features(x)); }
  // The last linear layer: weight [K, D], bias [K].
  torch::nn::Linear head{nullptr};
};

using Classifier = std::shared_ptr<ClassifierImpl>;

// Builds a model by name; throws Error listing the known names for an unknown one.
Classifier make_model(const std::string& name, const InputShape& shape);
std::vector<std::string> known_models();

// The peak SGD learning rate a model trains well with under the default cosine schedule, batch 128 (measured on
// Fashion-MNIST: cnn reaches 91.1% test accuracy in 5 epochs at 0.05 and 89.9% at 0.1); 0.1 for the others
// (He et al.'s CIFAR ResNet rate).
double default_lr(const std::string& model);

}  // namespace smoothlab::model
