// A classifier seen as the paper's §2 sees it: penultimate features x, then a last linear layer whose rows
// (with the bias) are the class templates. Two sources: smoothlab's own models (model/classifier.h), and a
// TorchScript module exported from PyTorch whose forward returns logits and that has a method or a submodule
// giving the penultimate features.
//
// TorchScript contract (what `smoothlab project MODEL.pt --data ...` expects):
//   forward(x)  : [N, C, H, W] float → logits [N, K]; x holds pixels in [0, 1] (1 = white), NOT normalised —
//                 put the normalisation inside the exported module
//   features(x) : a method (or a submodule called on x) → [N, D], the input of the last layer
//   HEAD.weight [K, D], HEAD.bias [K]: parameters of the last layer; HEAD is found among head, fc, classifier,
//                 linear, last_linear, or named explicitly
// The pair is checked on the first batch: forward(x) must equal features(x)·Wᵀ + b.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/train/device.h"

namespace smoothlab::represent {

class FeatureModel {
 public:
  virtual ~FeatureModel() = default;
  // images: float [B, C, H, W] on device() → [B, D]
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  // images → logits [B, K]
  virtual torch::Tensor logits(const torch::Tensor& images) = 0;
  // The last layer: weight [K, D], bias [K] (undefined when the layer has none).
  virtual torch::Tensor weight() const = 0;
  virtual torch::Tensor bias() const = 0;
  virtual torch::Device device() const = 0;
  // Bias-augmented templates [K, D + 1] float64 (projection.h).
  torch::Tensor templates() const;
};

// Wraps a smoothlab model (already on its device).
std::shared_ptr<FeatureModel> classifier_feature_model(model::Classifier model, torch::Device device);

struct TorchScriptOptions {
  TorchScriptOptions() {}
  TORCH_ARG(std::string, features) = "features"; // method or submodule giving the penultimate features
  TORCH_ARG(std::string, head) = ""; // "" : the first of head, fc, classifier, linear, last_linear
  TORCH_ARG(train::Device, device);

 public: // (TORCH_ARG leaves the section private)
  // Throws Error naming --features when no features method or submodule is named. load_torchscript_model calls it.
  void validate() const;
};

// Loads a TorchScript file; throws Error naming the file when it cannot be read, has no such method/submodule,
// or no last layer with 2-D weight is found (the hint lists candidate parameter names).
std::shared_ptr<FeatureModel> load_torchscript_model(
    const std::filesystem::path& path,
    const TorchScriptOptions& options = {});

struct FeatureSet {
  torch::Tensor features; // float64 [N, D + 1], bias-augmented
  torch::Tensor logits; // float32 [N, K]
  torch::Tensor labels; // int64 [N]
};

// Runs the model over `dataset` in order (eval mode, no gradients), normalising with mean/std (empty: pixels
// as-is in [0, 1]), and checks on the first batch that logits == features·Wᵀ + b (relative tolerance 1e-3);
// throws Error when they differ (the named last layer is not the one forward ends with).
FeatureSet collect_features(
    FeatureModel& model,
    const data::Dataset& dataset,
    const std::vector<float>& mean,
    const std::vector<float>& std,
    int64_t batch_size = 500);

} // namespace smoothlab::represent
