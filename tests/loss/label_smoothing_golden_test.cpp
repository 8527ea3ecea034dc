// Golden values for the fused label-smoothing cross-entropy from PyTorch 1.13's F.cross_entropy(..., label_smoothing)
// (scripts/golden/loss_golden.py → tests/golden/loss_golden.json): weights, ignore_index (default and a real class),
// soft targets, [N, C, d...] inputs, every reduction. An independent path beside the LibTorch C++ comparison.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "smoothlab/loss/label_smoothing.h"
#include "support/support.h"

namespace smoothlab::loss {
namespace {

nlohmann::json load_golden() {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/loss_golden.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/loss_golden.json (run scripts/golden/loss_golden.py)";
  return nlohmann::json::parse(in);
}

torch::Tensor to_tensor(const nlohmann::json& values, torch::ScalarType dtype) {
  return torch::tensor(values.get<std::vector<double>>(), torch::kDouble).to(dtype);
}

TEST(LabelSmoothingGolden, MatchesPyTorch113) {
  const auto golden = load_golden();
  ASSERT_GE(golden["cases"].size(), 7u);
  for (auto dtype : {torch::kDouble, torch::kFloat}) {
    const double rtol = dtype == torch::kDouble ? 1e-10 : 1e-5;
    for (const auto& c : golden["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>() + " " + c10::toString(dtype));
      const auto shape = c["shape"].get<std::vector<int64_t>>();
      auto logits = to_tensor(c["logits"], dtype).view(shape).requires_grad_(true);
      const bool soft = c["soft"].get<bool>();
      torch::Tensor target;
      if (soft) {
        target = to_tensor(c["target"], dtype).view(shape).requires_grad_(true);
      } else {
        std::vector<int64_t> tshape = shape;
        tshape.erase(tshape.begin() + 1);
        target = torch::tensor(c["target"].get<std::vector<int64_t>>(), torch::kLong).view(tshape);
      }
      const std::string red = c["reduction"];
      LabelSmoothingOptions o = LabelSmoothingOptions()
                                    .smoothing(c["smoothing"].get<double>())
                                    .ignore_index(c["ignore_index"].get<int64_t>())
                                    .reduction(
                                        red == "none"      ? Reduction::None
                                            : red == "sum" ? Reduction::Sum
                                                           : Reduction::Mean);
      if (!c["weight"].is_null())
        o.weight(to_tensor(c["weight"], dtype));
      auto loss = label_smoothing_cross_entropy(logits, target, o);
      const auto want_loss = to_tensor(c["loss"], torch::kDouble);
      EXPECT_TENSOR_NEAR(loss.to(torch::kDouble).reshape({-1}), want_loss, rtol, 0);
      std::vector<torch::Tensor> wrt = {logits};
      if (soft)
        wrt.push_back(target);
      auto grads = torch::autograd::grad({loss.sum()}, wrt);
      const auto want_grad = to_tensor(c["grad_logits"], torch::kDouble).view(shape);
      const double gmax = want_grad.abs().max().item<double>();
      EXPECT_TENSOR_NEAR(grads[0].to(torch::kDouble), want_grad, rtol, rtol * gmax);
      if (soft) {
        const auto want_t = to_tensor(c["grad_target"], torch::kDouble).view(shape);
        EXPECT_TENSOR_NEAR(grads[1].to(torch::kDouble), want_t, rtol, rtol * want_t.abs().max().item<double>());
      }
    }
  }
}

} // namespace
} // namespace smoothlab::loss
