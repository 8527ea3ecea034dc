// Tests for represent/feature_model: smoothlab models and a TorchScript module exported by PyTorch
// (scripts/golden/projection_torchscript.py) give the same features, logits and last layer.
#include "smoothlab/represent/feature_model.h"

#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/represent/projection.h"
#include "support/support.h"

namespace smoothlab::represent {
namespace {

const std::string kGolden = std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/";

torch::Tensor rows(const nlohmann::json& j) {
  std::vector<torch::Tensor> out;
  for (const auto& row : j)
    out.push_back(torch::tensor(row.get<std::vector<double>>(), torch::kFloat32));
  return torch::stack(out);
}

TEST(FeatureModelTest, TorchScriptMatchesPyTorch) {
  auto model = load_torchscript_model(kGolden + "projection_tiny.pt");
  auto g = nlohmann::json::parse(std::ifstream(kGolden + "projection_tiny.json"));
  auto x = torch::arange(128, torch::kFloat32).reshape({2, 1, 8, 8}) / 128.0;
  torch::NoGradGuard no_grad;
  EXPECT_TENSOR_NEAR(model->features(x), rows(g["features"]), 1e-5, 1e-6);
  EXPECT_TENSOR_NEAR(model->logits(x), rows(g["logits"]), 1e-5, 1e-6);
  EXPECT_TENSOR_NEAR(model->weight(), rows(g["fc_weight"]), 0, 0);
  // Bias-augmented templates reproduce the logits: x̃·w̃_kᵀ = logit k.
  auto z = torch::matmul(augment_features(model->features(x)), model->templates().t());
  EXPECT_TENSOR_NEAR(z.to(torch::kFloat32), rows(g["logits"]), 1e-5, 1e-5);
}

TEST(FeatureModelTest, TorchScriptErrorsNameTheProblem) {
  const auto tiny = kGolden + "projection_tiny.pt";
  EXPECT_ERROR_MENTIONS(load_torchscript_model(tiny, TorchScriptOptions().features("penultimate")), "penultimate");
  // the hint lists the layers with 2-D weights
  EXPECT_TRUE(
      testing::error_mentions([&] { load_torchscript_model(tiny, TorchScriptOptions().head("last")); }, {}, {"fc"}));
  // A wrong head (the first layer, whose input is not features(x)) fails the consistency check.
  auto wrong = load_torchscript_model(kGolden + "projection_tiny.pt", TorchScriptOptions().head("body.1"));
  data::Dataset d{torch::zeros({4, 1, 8, 8}, torch::kUInt8), torch::tensor({0, 1, 2, 0}, torch::kInt64)};
  EXPECT_THROW(collect_features(*wrong, d, {}, {}), Error);
  EXPECT_THROW(load_torchscript_model(kGolden + "projection_golden.json"), Error); // not TorchScript
  EXPECT_THROW(load_torchscript_model(kGolden + "no_such_model.pt"), Error);
}

TEST(FeatureModelTest, CollectFeaturesOfASmoothlabModel) {
  torch::manual_seed(3);
  auto net = model::make_model("mlp", {1, 8, 8, 3});
  auto fm = classifier_feature_model(net, torch::kCPU);
  data::Dataset d{
      torch::randint(0, 256, {7, 1, 8, 8}, torch::kInt64).to(torch::kUInt8),
      torch::tensor({0, 1, 2, 0, 1, 2, 0}, torch::kInt64)};
  auto set = collect_features(*fm, d, {0.5f}, {0.25f}, 3); // 3 batches
  ASSERT_EQ(set.features.sizes(), (std::vector<int64_t>{7, 257}));
  EXPECT_TRUE(torch::equal(set.labels, d.labels));
  // Independent path: normalise by hand and call the model directly.
  torch::NoGradGuard no_grad;
  net->eval();
  auto x = (d.images.to(torch::kFloat32) / 255.0 - 0.5) / 0.25;
  EXPECT_TENSOR_NEAR(set.features.slice(1, 0, 256).to(torch::kFloat32), net->features(x), 1e-5, 1e-5);
  EXPECT_TENSOR_NEAR(set.logits, net->forward(x), 1e-5, 1e-5);
  EXPECT_TENSOR_NEAR(set.features.select(1, 256), torch::ones({7}, torch::kFloat64), 0, 0);
}

TEST(FeatureModelTest, TorchScriptOptionsValidateNameTheOption) {
  EXPECT_NO_THROW(TorchScriptOptions().validate());
  EXPECT_ERROR_MENTIONS(TorchScriptOptions().features("").validate(), "--features: empty");
  // load_torchscript_model validates before it reads the file
  EXPECT_ERROR_MENTIONS(
      load_torchscript_model(kGolden + "no_such_model.pt", TorchScriptOptions().features("")), "--features");
}

} // namespace
} // namespace smoothlab::represent
