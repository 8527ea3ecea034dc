#include "smoothlab/model/predict.h"

#include <torch/torch.h>

namespace smoothlab::model {

Predictions predict(
    ClassifierImpl& model,
    data::BatchLoader& loader,
    const torch::Device& device,
    bool with_features,
    Precision precision) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> logits, features, labels;
  loader.start_epoch(0);
  data::Batch batch;
  while (loader.next(batch)) {
    auto x = batch.images.to(device);
    Autocast autocast(precision, device);
    auto f = model.features(x);
    logits.push_back(model.head->forward(f).to(torch::kCPU, torch::kFloat32));
    if (with_features)
      features.push_back(f.to(torch::kCPU, torch::kFloat32));
    labels.push_back(batch.labels);
  }
  model.train(was_training);
  Predictions p;
  p.logits = torch::cat(logits);
  p.labels = torch::cat(labels);
  if (with_features)
    p.features = torch::cat(features);
  return p;
}

} // namespace smoothlab::model
