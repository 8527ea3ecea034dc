#include "smoothlab/calib/metrics.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"

namespace smoothlab::calib {

Metrics compute_metrics(const torch::Tensor& logits_in, const torch::Tensor& labels_in, int64_t bins) {
  check(logits_in.dim() == 2, "logits must be [N, K], got {} dimensions", logits_in.dim());
  check(labels_in.dim() == 1 && labels_in.size(0) == logits_in.size(0), "labels must be [N] with N = {}",
        logits_in.size(0));
  Metrics m;
  m.count = logits_in.size(0);
  if (m.count == 0) return m;
  auto logits = logits_in.detach().to(torch::kCPU, torch::kFloat64);
  auto labels = labels_in.detach().to(torch::kCPU, torch::kInt64);
  auto log_probs = torch::log_softmax(logits, 1);
  auto probs = log_probs.exp();
  auto [confidence, prediction] = probs.max(1);
  auto correct = prediction.eq(labels).to(torch::kFloat64);
  m.accuracy = correct.mean().item<double>();
  m.nll = -log_probs.gather(1, labels.unsqueeze(1)).mean().item<double>();
  auto onehot = torch::zeros_like(probs).scatter_(1, labels.unsqueeze(1), 1.0);
  m.brier = (probs - onehot).pow(2).sum(1).mean().item<double>();
  // Bin m holds confidences in ((m−1)/M, m/M]; confidence 0 is impossible for a softmax over K ≥ 1 classes.
  const auto* conf = confidence.data_ptr<double>();
  const auto* ok = correct.data_ptr<double>();
  std::vector<double> conf_sum(size_t(bins), 0.0), acc_sum(size_t(bins), 0.0);
  std::vector<int64_t> count(size_t(bins), 0);
  for (int64_t i = 0; i < m.count; ++i) {
    int64_t b = int64_t(std::ceil(conf[i] * double(bins))) - 1;
    b = std::min<int64_t>(std::max<int64_t>(b, 0), bins - 1);
    conf_sum[size_t(b)] += conf[i];
    acc_sum[size_t(b)] += ok[i];
    count[size_t(b)] += 1;
  }
  for (int64_t b = 0; b < bins; ++b)
    if (count[size_t(b)] > 0) m.ece += std::abs(acc_sum[size_t(b)] - conf_sum[size_t(b)]) / double(m.count);
  return m;
}

}  // namespace smoothlab::calib
