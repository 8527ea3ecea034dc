// Models by name: shapes, features → head equals forward, parameter counts against the papers.
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/model/classifier.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

int64_t parameter_count(model::ClassifierImpl& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(Models, EveryModelMapsImagesToLogitsThroughItsTemplates) {
  torch::manual_seed(0);
  for (const auto& name : model::known_models()) {
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

TEST(Models, UnknownNameListsKnownOnes) {
  try {
    model::make_model("vgg16", {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown model 'vgg16'"), std::string::npos);
    EXPECT_NE(e.hint().find("resnet56"), std::string::npos);
  }
}

}  // namespace
}  // namespace smoothlab::testing
