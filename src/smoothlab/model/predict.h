// Runs a classifier over a loader in eval mode without gradients: logits, penultimate features, labels.
#pragma once

#include <torch/types.h>

#include "smoothlab/data/loader.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/model/precision.h"

namespace smoothlab::model {

struct Predictions {
  torch::Tensor logits; // float32 [N, K], CPU
  torch::Tensor features; // float32 [N, D], CPU (empty unless requested)
  torch::Tensor labels; // int64 [N], CPU
};

// Restores the model's training flag afterwards. With a reduced precision the forward pass runs under autocast and
// the outputs are converted to float32.
Predictions predict(
    ClassifierImpl& model,
    data::BatchLoader& loader,
    const torch::Device& device,
    bool with_features = false,
    Precision precision = Precision::Fp32);

} // namespace smoothlab::model
