// Penultimate features and last layer of smoothlab models and of TorchScript modules ([M] §2). See feature_model.h.
#include "smoothlab/represent/feature_model.h"

#include <fmt/ranges.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/represent/projection.h"

namespace smoothlab::represent {
namespace {

class ClassifierFeatures : public FeatureModel {
 public:
  ClassifierFeatures(model::Classifier model, torch::Device device) : model_(std::move(model)), device_(device) {}
  torch::Tensor features(const torch::Tensor& images) override {
    return model_->features(images);
  }
  torch::Tensor logits(const torch::Tensor& images) override {
    return model_->forward(images);
  }
  torch::Tensor weight() const override {
    return model_->head->weight.detach();
  }
  torch::Tensor bias() const override {
    return model_->head->bias.defined() ? model_->head->bias.detach() : torch::Tensor();
  }
  torch::Device device() const override {
    return device_;
  }
  void set_eval(bool eval) {
    if (eval)
      model_->eval();
  }
  model::Classifier model_;

 private:
  torch::Device device_;
};

class ScriptFeatures : public FeatureModel {
 public:
  ScriptFeatures(
      torch::jit::Module module,
      std::string features,
      torch::Tensor weight,
      torch::Tensor bias,
      torch::Device device)
      : module_(std::move(module)),
        features_(std::move(features)),
        weight_(std::move(weight)),
        bias_(std::move(bias)),
        device_(device) {}
  torch::Tensor features(const torch::Tensor& images) override {
    if (auto method = module_.find_method(features_))
      return (*method)({images}).toTensor();
    for (const auto& child : module_.named_children())
      if (child.name == features_) {
        torch::jit::Module submodule = child.value; // a handle; forward is not const
        return submodule.forward({images}).toTensor();
      }
    throw Error(fmt::format("TorchScript model: no method or submodule '{}'", features_));
  }
  torch::Tensor logits(const torch::Tensor& images) override {
    return module_.forward({images}).toTensor();
  }
  torch::Tensor weight() const override {
    return weight_;
  }
  torch::Tensor bias() const override {
    return bias_;
  }
  torch::Device device() const override {
    return device_;
  }

 private:
  torch::jit::Module module_;
  std::string features_;
  torch::Tensor weight_, bias_;
  torch::Device device_;
};

} // namespace

torch::Tensor FeatureModel::templates() const {
  return class_templates(weight(), bias());
}

std::shared_ptr<FeatureModel> classifier_feature_model(model::Classifier model, torch::Device device) {
  check(model && model->head, "model: no last layer");
  return std::make_shared<ClassifierFeatures>(std::move(model), device);
}

void TorchScriptOptions::validate() const {
  if (features().empty())
    throw Error(
        "--features: empty; name the method or submodule that gives the penultimate features",
        "e.g. --features features (the default)");
}

std::shared_ptr<FeatureModel> load_torchscript_model(
    const std::filesystem::path& path,
    const TorchScriptOptions& options) {
  options.validate();
  require_file(path, "TorchScript model");
  const torch::Device device = train::torch_device(options.device());
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), device);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(
        fmt::format("{}: not a readable TorchScript file ({})", path.string(), what.substr(0, what.find('\n'))),
        "export one with torch.jit.script(model).save(path) (see README: smoothlab project)");
  } catch (const std::exception& e) {
    throw Error(
        fmt::format("{}: not a readable TorchScript file ({})", path.string(), e.what()),
        "export one with torch.jit.script(model).save(path) (see README: smoothlab project)");
  }
  module.eval();
  bool has_features = module.find_method(options.features()).has_value();
  for (const auto& child : module.named_children())
    has_features = has_features || child.name == options.features();
  if (!has_features)
    throw Error(
        fmt::format(
            "{}: no method or submodule '{}' giving the penultimate features", path.string(), options.features()),
        "add a @torch.jit.export def features(self, x) to the exported module, or pass --features NAME");
  std::vector<std::string> heads = {options.head()};
  if (options.head().empty())
    heads = {"head", "fc", "classifier", "linear", "last_linear"};
  std::vector<std::string> candidates;
  for (const auto& head : heads) {
    torch::Tensor weight, bias;
    for (const auto& p : module.named_parameters(true)) {
      if (p.name == head + ".weight")
        weight = p.value.detach();
      if (p.name == head + ".bias")
        bias = p.value.detach();
    }
    if (weight.defined() && weight.dim() == 2)
      return std::make_shared<ScriptFeatures>(module, options.features(), weight, bias, device);
  }
  for (const auto& p : module.named_parameters(true))
    if (p.value.dim() == 2 && p.name.size() > 7 && p.name.substr(p.name.size() - 7) == ".weight")
      candidates.push_back(p.name.substr(0, p.name.size() - 7));
  throw Error(
      fmt::format("{}: no last linear layer named {}", path.string(), join(heads, " or ")),
      candidates.empty() ? std::string("the module has no 2-D weight parameters")
                         : fmt::format("pass --head NAME; layers with a 2-D weight: {}", join(candidates)));
}

FeatureSet collect_features(
    FeatureModel& model,
    const data::Dataset& dataset,
    const std::vector<float>& mean,
    const std::vector<float>& std,
    int64_t batch_size) {
  check(dataset.size() > 0, "features: no examples to run");
  torch::NoGradGuard no_grad;
  if (auto* own = dynamic_cast<ClassifierFeatures*>(&model))
    own->set_eval(true);
  auto loader = data::make_eval_loader(dataset, batch_size, mean, std, 0);
  std::vector<torch::Tensor> features, logits, labels;
  auto weight = model.weight().to(model.device(), torch::kFloat32);
  auto bias = model.bias();
  if (bias.defined())
    bias = bias.to(model.device(), torch::kFloat32);
  loader->start_epoch(0);
  data::Batch batch;
  bool first = true;
  while (loader->next(batch)) {
    auto x = batch.images.to(model.device());
    auto f = model.features(x).to(torch::kFloat32);
    auto z = model.logits(x).to(torch::kFloat32);
    check(
        f.dim() == 2 && f.size(1) == weight.size(1),
        "features: the features have shape [{}] but the last layer expects {} inputs",
        fmt::join(f.sizes().vec(), ", "),
        weight.size(1));
    if (first) {
      auto from_head = torch::matmul(f, weight.t());
      if (bias.defined())
        from_head = from_head + bias;
      check(
          z.sizes() == from_head.sizes(),
          "features: logits have shape [{}] but the last layer gives [{}]",
          fmt::join(z.sizes().vec(), ", "),
          fmt::join(from_head.sizes().vec(), ", "));
      const double gap = (z - from_head).abs().max().item<double>();
      const double scale = std::max(1.0, z.abs().max().item<double>());
      if (gap > 1e-3 * scale)
        throw Error(
            fmt::format("features: forward's logits differ from features·Wᵀ + b by up to {:.3g}", gap),
            "the last layer named (--head) must be the one forward ends with, applied to features(x)");
      first = false;
    }
    features.push_back(f.cpu());
    logits.push_back(z.cpu());
    labels.push_back(batch.labels);
  }
  FeatureSet out;
  out.features = augment_features(torch::cat(features));
  out.logits = torch::cat(logits);
  out.labels = torch::cat(labels);
  return out;
}

} // namespace smoothlab::represent
