// Models by name: the layer stacks of classifier.h and the one table of names, factories and per-model defaults.
#include "smoothlab/model/classifier.h"

#include <algorithm>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/model/sync_batch_norm.h"

namespace smoothlab::model {

namespace nn = torch::nn;

namespace {

class MlpImpl : public ClassifierImpl {
 public:
  explicit MlpImpl(const InputShape& s) {
    fc1 = register_module("fc1", nn::Linear(s.channels * s.height * s.width, 256));
    fc2 = register_module("fc2", nn::Linear(256, 256));
    head = register_module("head", nn::Linear(256, s.num_classes));
  }
  torch::Tensor features(const torch::Tensor& x) override {
    return torch::relu(fc2(torch::relu(fc1(x.flatten(1)))));
  }
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

// The convolution nets keep weights and activations channels-last (NHWC in memory): oneDNN's convolutions then run
// without layout reorders. Measured (bench/train_bench, 2 threads): cnn trains at 1003 img/s instead of 860,
// resnet20 at 581 instead of 541; the cnn forward at batch 128 runs 1.6× faster. Values are unchanged up to rounding.
//
// The strides are set explicitly, as Python's module.to(memory_format=torch.channels_last) does: contiguous() keeps a
// one-input-channel weight [O, 1, k, k] as it is (it already counts as channels-last contiguous), and oneDNN then
// reads the NCHW strides as a request for NCHW output: the first layer's convolution, batch norm and pooling ran in
// NCHW, and at bf16 on slow paths (measured: the cnn trained at 3 070 img/s in fp32 and 4 120 in bf16, now 4 900 and
// 7 400, docs/performance.md).
void to_channels_last(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters())
    if (p.dim() == 4)
      p.set_data(torch::empty_like(p, torch::MemoryFormat::ChannelsLast).copy_(p));
}
torch::Tensor channels_last(const torch::Tensor& x) {
  return x.contiguous(torch::MemoryFormat::ChannelsLast);
}

// ReLU over a fresh activation in place (one tensor less per layer); only on outputs that the op producing them does
// not need for its backward: batch norm, convolution, addition.
torch::Tensor relu_inplace(torch::Tensor x) {
  return x.relu_();
}

// Convolution followed by batch norm. In eval mode the norm is folded into the convolution's weight and bias
// (w·γ/√(σ²+ε), β − μ·γ/√(σ²+ε)): one pass over the activations less per layer, the same values up to rounding.
torch::Tensor conv_bn(nn::Conv2d& conv, nn::BatchNorm2d& bn, const torch::Tensor& x) {
  if (bn->is_training())
    return batch_norm(bn, conv(x));
  const auto& o = conv->options;
  const auto scale = bn->weight * torch::rsqrt(bn->running_var + bn->options.eps());
  auto bias = bn->bias - bn->running_mean * scale;
  if (conv->bias.defined())
    bias = bias + conv->bias * scale;
  const auto& w = conv->weight; // every convolution here pads k/2 ("same" for stride 1)
  return torch::conv2d(x, w * scale.view({-1, 1, 1, 1}), bias, o.stride(), {w.size(2) / 2, w.size(3) / 2});
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(bias));
}

// The textbook Fashion-MNIST CNN: conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, fc128-BN-ReLU, head. Batch norm before
// the classifier matters: the earlier 4-conv net without it reached 90.9% in 5 epochs, this one 91.5%+
// (docs/performance.md, "The cnn"); it also costs about half the multiply-adds.
class CnnImpl : public ClassifierImpl {
 public:
  explicit CnnImpl(const InputShape& s) {
    const int64_t widths[2] = {32, 64};
    int64_t in = s.channels;
    for (int i = 0; i < 2; ++i) {
      convs.push_back(register_module("conv" + std::to_string(i), conv(in, widths[i], 3, 1, 1, false)));
      bns.push_back(register_module("bn" + std::to_string(i), nn::BatchNorm2d(widths[i])));
      in = widths[i];
    }
    const int64_t flat = 64 * (s.height / 4) * (s.width / 4);
    check(flat > 0, "model cnn needs inputs of at least 4x4, got {}x{}", s.height, s.width);
    fc = register_module("fc", nn::Linear(nn::LinearOptions(flat, 128).bias(false)));
    fc_bn = register_module("fc_bn", nn::BatchNorm1d(128));
    head = register_module("head", nn::Linear(128, s.num_classes));
    to_channels_last(*this);
  }
  torch::Tensor features(const torch::Tensor& input) override {
    auto x = channels_last(input);
    for (size_t i = 0; i < 2; ++i)
      x = torch::max_pool2d(relu_inplace(conv_bn(convs[i], bns[i], x)), 2);
    auto h = fc(x.flatten(1));
    // A training batch of one example (the last of an epoch) cannot give batch statistics: it is normalised with the
    // running ones instead, which it leaves as they are.
    if (is_training() && h.size(0) == 1)
      return relu_inplace(torch::batch_norm(
          h,
          fc_bn->weight,
          fc_bn->bias,
          fc_bn->running_mean,
          fc_bn->running_var,
          false,
          0.0,
          fc_bn->options.eps(),
          false));
    return relu_inplace(batch_norm(fc_bn, h));
  }
  std::vector<nn::Conv2d> convs;
  std::vector<nn::BatchNorm2d> bns;
  nn::Linear fc{nullptr};
  nn::BatchNorm1d fc_bn{nullptr};
};

// TF's CIFAR-10 tutorial network (the paper's "AlexNet"), SAME padding throughout.
class AlexNetImpl : public ClassifierImpl {
 public:
  explicit AlexNetImpl(const InputShape& s) {
    conv1 = register_module("conv1", conv(s.channels, 64, 5, 1, 2, true));
    conv2 = register_module("conv2", conv(64, 64, 5, 1, 2, true));
    auto pooled = [](int64_t n) { return (n + 2 - 3) / 2 + 1; }; // max-pool 3/2 with padding 1
    const int64_t h = pooled(pooled(s.height)), w = pooled(pooled(s.width));
    check(h > 0 && w > 0, "model alexnet needs inputs of at least 4x4, got {}x{}", s.height, s.width);
    fc1 = register_module("fc1", nn::Linear(64 * h * w, 384));
    fc2 = register_module("fc2", nn::Linear(384, 192));
    head = register_module("head", nn::Linear(192, s.num_classes));
    to_channels_last(*this);
  }
  torch::Tensor features(const torch::Tensor& input) override {
    auto x = torch::max_pool2d(relu_inplace(conv1(channels_last(input))), 3, 2, 1);
    x = torch::max_pool2d(relu_inplace(conv2(x)), 3, 2, 1);
    return torch::relu(fc2(torch::relu(fc1(x.flatten(1)))));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) : stride_(stride), pad_(out - in) {
    conv1 = register_module("conv1", conv(in, out, 3, stride, 1, false));
    bn1 = register_module("bn1", nn::BatchNorm2d(out));
    conv2 = register_module("conv2", conv(out, out, 3, 1, 1, false));
    bn2 = register_module("bn2", nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv_bn(conv2, bn2, relu_inplace(conv_bn(conv1, bn1, x)));
    if (stride_ == 1 && pad_ == 0)
      return relu_inplace(y + x);
    // Option A: the strided identity, zero-padded in channels, i.e. added to the middle channels of y only (in place:
    // batch norm's backward does not need its output).
    const auto shortcut = x.slice(2, 0, x.size(2), stride_).slice(3, 0, x.size(3), stride_);
    y.narrow(1, pad_ / 2, x.size(1)).add_(shortcut);
    return relu_inplace(y);
  }
  int64_t stride_, pad_;
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(BasicBlock);

class CifarResNetImpl : public ClassifierImpl {
 public:
  CifarResNetImpl(const InputShape& s, int depth) {
    const int n = (depth - 2) / 6;
    stem = register_module("stem", conv(s.channels, 16, 3, 1, 1, false));
    bn = register_module("bn", nn::BatchNorm2d(16));
    int64_t in = 16;
    const int64_t widths[3] = {16, 32, 64};
    for (int stage = 0; stage < 3; ++stage)
      for (int b = 0; b < n; ++b) {
        const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
        blocks->push_back(BasicBlock(in, widths[stage], stride));
        in = widths[stage];
      }
    register_module("blocks", blocks);
    head = register_module("head", nn::Linear(64, s.num_classes));
    for (auto& m : modules(false)) {
      if (auto* c = m->as<nn::Conv2d>())
        nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
    to_channels_last(*this);
  }
  torch::Tensor features(const torch::Tensor& input) override {
    auto x = relu_inplace(conv_bn(stem, bn, channels_last(input)));
    x = blocks->forward(x);
    return x.mean({2, 3});
  }
  nn::Conv2d stem{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::Sequential blocks;
};

// The models, one row each: name, factory, and the training defaults that depend on the model. make_model,
// model_names(), default_lr and default_crop_padding all read this table (and nothing else names the models).
struct ModelEntry {
  const char* name;
  Classifier (*make)(const InputShape& shape);
  double lr_at_128; // peak SGD rate at batch 128 (default_lr)
  int64_t crop_padding; // random-crop padding (default_crop_padding)
};

template <typename Impl>
Classifier make(const InputShape& shape) {
  return std::make_shared<Impl>(shape);
}
template <int Depth>
Classifier make_resnet(const InputShape& shape) {
  return std::make_shared<CifarResNetImpl>(shape, Depth);
}

const std::vector<ModelEntry>& model_table() {
  static const std::vector<ModelEntry> table = {
      {"mlp", &make<MlpImpl>, 0.1, 4},
      {"cnn", &make<CnnImpl>, 0.1, 2},
      {"alexnet", &make<AlexNetImpl>, 0.1, 4},
      {"resnet20", &make_resnet<20>, 0.1, 4},
      {"resnet32", &make_resnet<32>, 0.1, 4},
      {"resnet56", &make_resnet<56>, 0.1, 4},
      {"resnet110", &make_resnet<110>, 0.1, 4},
  };
  return table;
}

const ModelEntry& find_model(const std::string& name) {
  for (const auto& entry : model_table())
    if (name == entry.name)
      return entry;
  throw Error(fmt::format("--model: unknown model '{}'", name), fmt::format("known: {}", join(model_names())));
}

} // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : model_table())
    names.push_back(entry.name);
  return names;
}

double default_lr(const std::string& model, int64_t batch_size) {
  return find_model(model).lr_at_128 * double(std::clamp<int64_t>(batch_size, 1, 128)) / 128.0;
}

int64_t default_crop_padding(const std::string& model) {
  return find_model(model).crop_padding;
}

Classifier make_model(const std::string& name, const InputShape& shape) {
  const ModelEntry& entry = find_model(name);
  check(shape.num_classes >= 2, "a classifier needs at least 2 classes, got {}", shape.num_classes);
  return entry.make(shape);
}

} // namespace smoothlab::model
