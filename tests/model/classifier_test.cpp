// Models by name: shapes, features → head equals forward, parameter counts against the papers.
#include <map>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/model/classifier.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

int64_t parameter_count(model::ClassifierImpl& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    n += p.numel();
  return n;
}

TEST(Models, EveryModelMapsImagesToLogitsThroughItsTemplates) {
  torch::manual_seed(0);
  for (const auto& name : model::model_names()) {
    for (auto shape : {model::InputShape{1, 28, 28, 10}, model::InputShape{3, 32, 32, 7}}) {
      auto m = model::make_model(name, shape);
      m->eval();
      auto x = torch::randn({2, shape.channels, shape.height, shape.width});
      auto logits = m->forward(x);
      EXPECT_EQ(logits.sizes(), (torch::IntArrayRef{2, shape.num_classes})) << name;
      auto f = m->features(x);
      EXPECT_EQ(f.size(1), m->head->weight.size(1)) << name;
      // logits = x·Wᵀ + b: the templates of paper §2
      EXPECT_TENSOR_NEAR(logits, torch::matmul(f, m->head->weight.t()) + m->head->bias, 1e-5, 1e-5);
    }
  }
}

TEST(Models, ParameterCountsMatchThePapers) {
  // He et al. 2016, Table 6 (CIFAR-10, 3 input channels): ResNet-20 0.27M, -32 0.46M, -56 0.85M, -110 1.7M;
  // exact counts with option-A shortcuts (no shortcut parameters): 269,722 / 464,154 / 853,018 / 1,727,962.
  const model::InputShape cifar{3, 32, 32, 10};
  EXPECT_EQ(parameter_count(*model::make_model("resnet20", cifar)), 269722);
  EXPECT_EQ(parameter_count(*model::make_model("resnet32", cifar)), 464154);
  EXPECT_EQ(parameter_count(*model::make_model("resnet56", cifar)), 853018);
  EXPECT_EQ(parameter_count(*model::make_model("resnet110", cifar)), 1727962);
  // TF CIFAR-10 tutorial net on 32×32 (SAME padding; pools 32 → 16 → 8):
  // conv1 3·25·64+64 = 4,864; conv2 64·25·64+64 = 102,464; fc1 4096·384+384 = 1,573,248;
  // fc2 384·192+192 = 73,920; head 192·10+10 = 1,930; total 1,756,426.
  EXPECT_EQ(parameter_count(*model::make_model("alexnet", cifar)), 1756426);
}

TEST(Models, ResNetDownsamplesTwice) {
  auto m = model::make_model("resnet20", {1, 28, 28, 10});
  // Global average pool after 3 stages: features are the 64 channels.
  EXPECT_EQ(m->features(torch::randn({1, 1, 28, 28})).size(1), 64);
}

// resnet20 against a plain NCHW re-computation from its own parameters: He et al.'s option-A shortcut (strided identity
// zero-padded in channels), batch norm with non-trivial running statistics, gradients through the in-place ReLUs.
TEST(Models, ResNetMatchesAPlainRecomputation) {
  torch::manual_seed(0);
  auto m = model::make_model("resnet20", {3, 16, 16, 5});
  std::map<std::string, torch::Tensor> p;
  {
    torch::NoGradGuard no_grad;
    for (auto& b : m->named_buffers())
      if (b.key().find("running_") != std::string::npos)
        b.value().uniform_(0.5, 1.5);
    for (auto& t : m->named_parameters())
      p[t.key()] = t.value();
    for (auto& t : m->named_buffers())
      p[t.key()] = t.value();
  }
  auto bn = [&](const torch::Tensor& x, const std::string& name) {
    return torch::batch_norm(
        x,
        p[name + ".weight"],
        p[name + ".bias"],
        p[name + ".running_mean"],
        p[name + ".running_var"],
        false,
        0.1,
        1e-5,
        false);
  };
  auto conv = [&](const torch::Tensor& x, const std::string& name, int64_t stride) {
    return torch::conv2d(x, p[name + ".weight"].contiguous(), {}, stride, 1);
  };
  auto reference = [&](const torch::Tensor& input) {
    auto x = torch::relu(bn(conv(input, "stem", 1), "bn"));
    int64_t in = 16;
    for (int i = 0; i < 9; ++i) {
      const std::string b = "blocks." + std::to_string(i);
      const int64_t out = 16 << (i / 3), stride = (i == 3 || i == 6) ? 2 : 1;
      auto y = bn(conv(torch::relu(bn(conv(x, b + ".conv1", stride), b + ".bn1")), b + ".conv2", 1), b + ".bn2");
      auto shortcut = x.slice(2, 0, x.size(2), stride).slice(3, 0, x.size(3), stride);
      const int64_t pad = out - in;
      shortcut = torch::constant_pad_nd(shortcut, {0, 0, 0, 0, pad / 2, pad - pad / 2});
      x = torch::relu(y + shortcut);
      in = out;
    }
    return torch::linear(x.mean({2, 3}), p["head.weight"], p["head.bias"]);
  };
  m->eval();
  auto x = torch::randn({4, 3, 16, 16});
  EXPECT_TENSOR_NEAR(m->forward(x), reference(x), 1e-4, 1e-4);
  // Training mode: batch statistics; the gradients of the in-place ReLUs match too.
  m->train();
  auto xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
  m->forward(xa).square().sum().backward();
  auto stats_free = [&](const torch::Tensor& input) {
    auto bn_train = [&](const torch::Tensor& t, const std::string& name) {
      return torch::batch_norm(t, p[name + ".weight"], p[name + ".bias"], {}, {}, true, 0.1, 1e-5, false);
    };
    auto y = torch::relu(bn_train(conv(input, "stem", 1), "bn"));
    int64_t in = 16;
    for (int i = 0; i < 9; ++i) {
      const std::string b = "blocks." + std::to_string(i);
      const int64_t out = 16 << (i / 3), stride = (i == 3 || i == 6) ? 2 : 1;
      auto z =
          bn_train(conv(torch::relu(bn_train(conv(y, b + ".conv1", stride), b + ".bn1")), b + ".conv2", 1), b + ".bn2");
      auto shortcut = y.slice(2, 0, y.size(2), stride).slice(3, 0, y.size(3), stride);
      const int64_t pad = out - in;
      y = torch::relu(z + torch::constant_pad_nd(shortcut, {0, 0, 0, 0, pad / 2, pad - pad / 2}));
      in = out;
    }
    return torch::linear(y.mean({2, 3}), p["head.weight"], p["head.bias"]);
  };
  stats_free(xb).square().sum().backward();
  // Channels-last (the model) and NCHW (this recomputation) take different oneDNN kernels, chosen by the ISA
  // (DNNL_MAX_CPU_ISA), and batch norm's backward cancels across 19 layers: the slack follows the gradient's scale.
  EXPECT_TENSOR_NEAR(xa.grad(), xb.grad(), 1e-4, std::max(1e-3, 1e-4 * xb.grad().abs().max().item<double>()));
}

// The cnn's batch norm before the classifier cannot take batch statistics of one example: a training batch of one
// (an epoch's last) is normalised with the running statistics and leaves them unchanged.
TEST(Models, CnnTrainsOnABatchOfOne) {
  torch::manual_seed(0);
  auto m = model::make_model("cnn", {1, 8, 8, 3});
  m->train();
  m->forward(torch::rand({4, 1, 8, 8})); // moves the running statistics away from their start
  const auto state = [&] {
    std::vector<torch::Tensor> out;
    for (const auto& b : m->named_buffers())
      out.push_back(b.value().clone());
    return out;
  };
  const auto before = state();
  const auto x = torch::rand({1, 1, 8, 8});
  const auto y = m->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 3}));
  y.sum().backward();
  const auto after = state();
  // The conv layers' batch norms still see 8×8 values per channel and update; the one before the classifier does not.
  const auto buffers = m->named_buffers();
  int checked = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].key().rfind("fc_bn.running", 0) != 0)
      continue;
    EXPECT_TRUE(after[i].equal(before[i])) << buffers[i].key();
    ++checked;
  }
  EXPECT_EQ(checked, 2); // running_mean, running_var
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(Models, ConvNetsRunChannelsLastFromTheFirstLayer) {
  // oneDNN picks a convolution's output layout from its operands' strides: a weight with one input channel,
  // [O, 1, k, k], counts as contiguous in both layouts, so only its strides say channels-last. With NCHW strides the
  // first convolution, batch norm and pooling ran NCHW (at bf16 on slow paths): cnn training 3 070 → 5 080 img/s.
  for (const std::string name : {"cnn", "alexnet", "resnet20"}) {
    for (const int64_t channels : {1, 3}) {
      auto m = model::make_model(name, {channels, 32, 32, 10});
      for (const auto& p : m->named_parameters()) {
        if (p.value().dim() == 4) {
          EXPECT_EQ(p.value().suggest_memory_format(), torch::MemoryFormat::ChannelsLast)
              << name << " with " << channels << " input channels: " << p.key() << " " << p.value().strides();
        }
      }
    }
  }
}

TEST(Models, UnknownNameListsKnownOnes) {
  EXPECT_TRUE(error_mentions(
      [&] { model::make_model("vgg16", {}); },
      {"--model: unknown model 'vgg16'"},
      {"known: mlp, cnn, alexnet, resnet20, resnet32, resnet56, resnet110"}));
  // the per-model defaults come from the same table, so they know the same names
  EXPECT_ERROR_MENTIONS(model::default_crop_padding("vgg16"), "--model: unknown model 'vgg16'");
  EXPECT_ERROR_MENTIONS(model::default_lr("vgg16", 128), "--model: unknown model 'vgg16'");
}

TEST(Models, PerModelDefaultsFromTheTable) {
  EXPECT_EQ(model::default_crop_padding("cnn"), 2);
  for (const char* name : {"mlp", "alexnet", "resnet20", "resnet110"})
    EXPECT_EQ(model::default_crop_padding(name), 4);
  EXPECT_DOUBLE_EQ(model::default_lr("resnet56", 128), 0.1);
  EXPECT_DOUBLE_EQ(model::default_lr("cnn", 32), 0.025); // linear scaling below batch 128
  EXPECT_DOUBLE_EQ(model::default_lr("mlp", 512), 0.1); // not above it
}

} // namespace
} // namespace smoothlab::testing
