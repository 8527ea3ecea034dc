#include "smoothlab/loss/label_smoothing.h"

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::loss {

namespace F = torch::nn::functional;

torch::Tensor libtorch_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                     const LabelSmoothingOptions& options) {
  auto o = F::CrossEntropyFuncOptions().label_smoothing(options.smoothing()).ignore_index(options.ignore_index());
  if (options.weight().defined()) o = o.weight(options.weight());
  switch (options.reduction()) {
    case Reduction::None: o = o.reduction(torch::kNone); break;
    case Reduction::Sum: o = o.reduction(torch::kSum); break;
    case Reduction::Mean: o = o.reduction(torch::kMean); break;
  }
  return F::cross_entropy(logits, target, o);
}

torch::Tensor label_smoothing_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                            const LabelSmoothingOptions& options) {
  check(options.smoothing() >= 0.0 && options.smoothing() < 1.0, "smoothing must be in [0, 1), got {}",
        options.smoothing());
  // The fused kernel (issue 7) replaces this path; until then both names use LibTorch's composite.
  return libtorch_cross_entropy(logits, target, options);
}

Implementation parse_implementation(const std::string& name) {
  if (name == "fused") return Implementation::Fused;
  if (name == "libtorch") return Implementation::LibTorch;
  throw Error(fmt::format("--loss-impl: unknown implementation '{}'", name), "known: fused, libtorch");
}

const char* implementation_name(Implementation impl) {
  return impl == Implementation::Fused ? "fused" : "libtorch";
}

}  // namespace smoothlab::loss
