// The Gaussian-mixture estimate of I(example; logit gap) and the probe that gathers augmented gaps (see the header).
#include "smoothlab/represent/mutual_information.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/loader.h"

namespace smoothlab::represent {

MiEstimate estimate_mutual_information(const torch::Tensor& gaps_in) {
  check(gaps_in.dim() == 2, "mutual information: gaps must be [N examples, L views], got {} dimensions", gaps_in.dim());
  const int64_t N = gaps_in.size(0), L = gaps_in.size(1);
  check(N >= 2, "mutual information: need at least 2 examples, got {}", N);
  check(L >= 2, "mutual information: need at least 2 views per example to pool σ², got {}", L);
  auto y = gaps_in.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  check(torch::isfinite(y).all().item<bool>(), "mutual information: gaps contain NaN or Inf");
  MiEstimate e;
  e.examples = N;
  e.views = L;
  e.log_n = std::log(double(N));
  auto mu = y.mean(1); // [N]
  e.sigma2 = (y - mu.unsqueeze(1)).pow(2).sum().item<double>() / double(N * (L - 1));
  e.between_variance = (mu - mu.mean()).pow(2).mean().item<double>();
  const double floor = 1e-12 * std::max(1.0, y.pow(2).mean().item<double>());
  const double two_sigma2 = 2.0 * std::max(e.sigma2, floor);
  auto draws = y.flatten(); // [N·L], example x = row / L
  auto own_mu = mu.repeat_interleave(L); // [N·L]
  double total = 0;
  const int64_t chunk = 4096;
  for (int64_t begin = 0; begin < N * L; begin += chunk) {
    const int64_t end = std::min(begin + chunk, N * L);
    auto yc = draws.slice(0, begin, end);
    auto neg_a = -(yc.unsqueeze(1) - mu.unsqueeze(0)).pow(2) / two_sigma2; // [c, N]
    auto own = -(yc - own_mu.slice(0, begin, end)).pow(2) / two_sigma2; // [c]
    auto log_mixture = torch::logsumexp(neg_a, 1) - e.log_n; // log (1/N) Σ_x′ exp(−a_x′)
    total += (own - log_mixture).sum().item<double>();
  }
  e.mi_raw = total / double(N * L);
  e.mi = std::min(std::max(e.mi_raw, 0.0), e.log_n);
  return e;
}

nlohmann::json to_json(const MiEstimate& e) {
  return {
      {"mi", e.mi},
      {"mi_raw", e.mi_raw},
      {"log_n", e.log_n},
      {"sigma2", e.sigma2},
      {"between_variance", e.between_variance},
      {"examples", e.examples},
      {"views", e.views}};
}

void MiOptions::validate() const {
  check(crop_padding() >= 0, "--crop-padding must be non-negative, got {}", crop_padding());
  check(examples() >= 1, "--examples must be at least 1, got {}", examples());
  check(views() >= 2, "--views must be at least 2 (σ² is pooled over views), got {}", views());
  check(batch_size() >= 1, "mutual information: batch size must be positive");
}

MiProbe::MiProbe(
    const data::Dataset& dataset,
    int64_t num_classes,
    std::vector<float> mean,
    std::vector<float> std,
    const MiOptions& options)
    : mean_(std::move(mean)), std_(std::move(std)), options_(options) {
  options.validate();
  const int64_t a = options.class_a(), b = options.class_b();
  check(
      a >= 0 && a < num_classes && b >= 0 && b < num_classes,
      "--mi-classes: classes {} and {} are not in [0, {})",
      a,
      b,
      num_classes);
  check(a != b, "--mi-classes: the two classes must differ, got {} twice", a);
  auto labels = dataset.labels.to(torch::kCPU, torch::kInt64);
  std::vector<torch::Tensor> parts;
  for (int64_t k : {a, b}) {
    auto where = labels.eq(k).nonzero().flatten();
    if (where.size(0) < options.examples())
      throw Error(
          fmt::format(
              "--examples {}: class {} has only {} examples in this split", options.examples(), k, where.size(0)),
          "lower --examples (or --mi-examples)");
    parts.push_back(where.slice(0, 0, options.examples()));
  }
  positions_ = torch::cat(parts);
  subset_ = dataset.subset(positions_);
}

torch::Tensor MiProbe::gaps(model::ClassifierImpl& model, const torch::Device& device) const {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const int64_t N = subset_.size(), L = options_.views();
  auto out = torch::empty({N, L}, torch::kFloat64);
  data::LoaderOptions lo;
  lo.batch_size = options_.batch_size();
  lo.crop_padding = options_.crop_padding();
  lo.hflip = options_.hflip();
  lo.workers = 0;
  lo.seed = options_.seed();
  lo.mean = mean_;
  lo.std = std_;
  data::BatchLoader loader(
      std::make_shared<data::TensorSource>(subset_), std::make_shared<data::SequentialSampler>(N), lo);
  const int64_t a = options_.class_a(), b = options_.class_b();
  try {
    for (int64_t view = 0; view < L; ++view) {
      loader.start_epoch(view);
      data::Batch batch;
      while (loader.next(batch)) {
        auto z = model.forward(batch.images.to(device)).to(torch::kCPU, torch::kFloat64);
        check(
            z.dim() == 2 && z.size(1) > std::max(a, b),
            "mutual information: model gives {} logits, classes {} and {} asked",
            z.size(1),
            a,
            b);
        auto gap = z.select(1, a) - z.select(1, b);
        out.select(1, view).index_copy_(0, batch.indices, gap);
      }
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  return out;
}

MiEstimate MiProbe::measure(model::ClassifierImpl& model, const torch::Device& device) const {
  return estimate_mutual_information(gaps(model, device));
}

} // namespace smoothlab::represent
