// Mutual-information estimate Î(example; logit gap): golden values, closed forms, the log N and 0 limits, a plain
// reference computation, and the probe that collects augmented views from a model.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/model/classifier.h"
#include "smoothlab/represent/mi_probe.h"
#include "smoothlab/represent/mutual_information.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using represent::estimate_mutual_information;

TEST(DistillMi, MatchesNumpyGolden) {
  std::ifstream in(std::string(SMOOTHLAB_SOURCE_DIR) + "/tests/golden/distill_golden.json");
  auto g = nlohmann::json::parse(in)["mi"];
  ASSERT_EQ(g.size(), 4u);
  for (const auto& c : g) {
    std::vector<double> flat;
    int64_t n = 0, l = 0;
    for (const auto& row : c["gaps"]) {
      l = int64_t(row.size());
      for (double v : row)
        flat.push_back(v);
      ++n;
    }
    auto e = estimate_mutual_information(torch::tensor(flat, torch::kFloat64).view({n, l}));
    EXPECT_NEAR(e.mi_raw, c["mi_raw"].get<double>(), 1e-10) << c["name"];
    EXPECT_NEAR(e.sigma2, c["sigma2"].get<double>(), 1e-12) << c["name"];
    EXPECT_EQ(e.examples, n);
    EXPECT_EQ(e.views, l);
    EXPECT_DOUBLE_EQ(e.log_n, std::log(double(n)));
  }
}

// σ² pools within-example deviations over N·(L − 1): gaps {0, 2} and {10, 14} → deviations ±1, ±2 → σ² = 10/2 = 5.
TEST(DistillMi, PooledVarianceClosedForm) {
  auto e = estimate_mutual_information(torch::tensor({0.0, 2.0, 10.0, 14.0}).view({2, 2}));
  EXPECT_DOUBLE_EQ(e.sigma2, 5.0);
  EXPECT_DOUBLE_EQ(e.between_variance, 30.25); // means 1 and 12: population variance ((12 − 1)/2)²
}

// Well-separated examples and no augmentation noise: every view sits on its own mean, so each term is exactly
// log N (the mixture is (1/N)·e⁰ plus vanishing others).
TEST(DistillMi, DistinctNoiseFreeExamplesGiveLogN) {
  const int64_t N = 50, L = 5;
  auto gaps = torch::arange(N, torch::kFloat64).mul(3.0).unsqueeze(1).expand({N, L}).contiguous();
  auto e = estimate_mutual_information(gaps);
  EXPECT_EQ(e.sigma2, 0.0);
  EXPECT_NEAR(e.mi, std::log(double(N)), 1e-9);
  // with small noise relative to the spacing it stays ≈ log N
  torch::manual_seed(7);
  auto noisy = estimate_mutual_information(gaps + 0.05 * torch::randn({N, L}, torch::kFloat64));
  EXPECT_NEAR(noisy.mi, std::log(double(N)), 1e-3);
}

// All examples share one mean: I(X; Y) = 0. The plug-in estimate has a small positive bias that shrinks with L
// (numpy: ≈ 0.002 at N = 20, L = 200; ≈ 0.11 at the paper's N = 600, L = 5).
TEST(DistillMi, SharedMeanGivesAboutZero) {
  torch::manual_seed(8);
  auto e = estimate_mutual_information(torch::randn({20, 200}, torch::kFloat64) * 2 + 7);
  EXPECT_GE(e.mi, 0.0);
  EXPECT_LT(e.mi, 0.01);
  EXPECT_NEAR(e.sigma2, 4.0, 0.2);
  auto identical = estimate_mutual_information(torch::full({10, 3}, 1.5, torch::kFloat64));
  EXPECT_NEAR(identical.mi, 0.0, 1e-12); // σ² = 0 and one shared mean: every mixture term equals the own term
}

// Two collapsed clusters (the end of LS training in Fig. 6): Î → log 2.
TEST(DistillMi, TwoCollapsedClustersGiveLogTwo) {
  torch::manual_seed(9);
  const int64_t N = 40, L = 50;
  auto means = torch::where(
      torch::arange(N) < N / 2, torch::full({N}, -5.0, torch::kFloat64), torch::full({N}, 5.0, torch::kFloat64));
  auto e = estimate_mutual_information(means.unsqueeze(1) + 0.3 * torch::randn({N, L}, torch::kFloat64));
  EXPECT_NEAR(e.mi, std::log(2.0), 0.03);
}

// Two examples, two views each: gaps {−1, 1} and {d − 1, d + 1}. µ = 0 and d, σ² = 4/2 = 2, and each of the four
// terms is log 2 − log(1 + exp(−(d² ± 2d)/4)), so Î = log 2 − ½[log(1 + e^{−(d²+2d)/4}) + log(1 + e^{−(d²−2d)/4})]:
// 0 at d = 0, rising towards log 2 as the examples separate.
TEST(DistillMi, TwoExamplesTwoViewsClosedForm) {
  for (double d : {0.0, 0.5, 1.0, 2.0, 5.0}) {
    const auto e = estimate_mutual_information(torch::tensor({-1.0, 1.0, d - 1, d + 1}, torch::kFloat64).view({2, 2}));
    const double expected =
        std::log(2.0) - 0.5 * (std::log1p(std::exp(-(d * d + 2 * d) / 4)) + std::log1p(std::exp(-(d * d - 2 * d) / 4)));
    EXPECT_DOUBLE_EQ(e.sigma2, 2.0) << d;
    EXPECT_NEAR(e.mi_raw, expected, 1e-12) << d;
    EXPECT_NEAR(e.mi, expected, 1e-12) << d; // inside [0, log 2]: the clamp leaves it as it is
  }
  // d = 2 by hand: log 2 − ½[log(1 + e⁻²) + log 2] = ½·log 2 − ½·log(1 + e⁻²) ≈ 0.28311
  const auto e = estimate_mutual_information(torch::tensor({-1.0, 1.0, 1.0, 3.0}, torch::kFloat64).view({2, 2}));
  EXPECT_NEAR(e.mi, 0.2831095847584864, 1e-12);
}

// The chunked, vectorised estimator against the plain triple loop (support.h) on random gaps of many shapes, including
// N·L beyond one 4096-row chunk.
TEST(DistillMi, MatchesThePlainComputation) {
  torch::manual_seed(10);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t N = trial == 19 ? 700 : 2 + trial % 17, L = 2 + trial % 5;
    const double spread = 0.3 * (trial % 11);
    auto gaps = torch::randn({N, 1}, torch::kFloat64) * spread + torch::randn({N, L}, torch::kFloat64);
    std::vector<std::vector<double>> rows(static_cast<size_t>(N), std::vector<double>(static_cast<size_t>(L), 0.0));
    for (int64_t x = 0; x < N; ++x)
      for (int64_t l = 0; l < L; ++l)
        rows[size_t(x)][size_t(l)] = gaps[x][l].item<double>();
    const double reference = reference_mutual_information(rows);
    const auto e = estimate_mutual_information(gaps);
    EXPECT_NEAR(e.mi_raw, reference, 1e-10) << "N " << N << " L " << L;
    EXPECT_DOUBLE_EQ(e.mi, std::max(0.0, e.mi_raw)) << "N " << N << " L " << L;
  }
}

TEST(DistillMi, BadGapsAreErrors) {
  EXPECT_THROW(estimate_mutual_information(torch::zeros({5})), Error);
  EXPECT_THROW(estimate_mutual_information(torch::zeros({1, 4})), Error);
  EXPECT_THROW(estimate_mutual_information(torch::zeros({4, 1})), Error);
  auto nan = torch::zeros({3, 3});
  nan[1][1] = NAN;
  EXPECT_THROW(estimate_mutual_information(nan), Error);
}

// The probe: examples are the first `examples` of class a then of class b; without augmentation every view equals
// the model's gap on the plain image (σ² = 0); with crop + flip the views differ, deterministically.
TEST(DistillMi, ProbeCollectsGapsOfFixedExamples) {
  TempDir dir;
  write_idx_folder(dir.path(), 30, 6, 8, 8, 3);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 0;
  auto bundle = data::load_data(o);
  torch::manual_seed(11);
  auto model = model::make_model("mlp", {1, 8, 8, 3});
  model->train(); // the probe must switch to eval and back
  auto plain = represent::MiOptions().class_a(2).class_b(0).examples(4).views(3).crop_padding(0).hflip(false);
  represent::MiProbe probe(bundle.train, 3, bundle.mean, bundle.std, plain);
  // labels are i % 3: class 2 at 2, 5, 8, 11; class 0 at 0, 3, 6, 9
  EXPECT_TRUE(probe.positions().equal(torch::tensor({2, 5, 8, 11, 0, 3, 6, 9}, torch::kInt64)));
  auto gaps = probe.gaps(*model, torch::kCPU);
  EXPECT_TRUE(model->is_training());
  ASSERT_EQ(gaps.sizes(), torch::IntArrayRef({8, 3}));
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = bundle.train.images.index_select(0, probe.positions()).to(torch::kFloat32).div(255.0);
  x = (x - bundle.mean[0]) / bundle.std[0];
  auto z = model->forward(x).to(torch::kFloat64);
  auto expected = (z.select(1, 2) - z.select(1, 0)).unsqueeze(1).expand({8, 3});
  EXPECT_TENSOR_NEAR(gaps, expected, 1e-5, 1e-6);
  EXPECT_NEAR(probe.measure(*model, torch::kCPU).mi, std::log(8.0), 1e-6);

  auto augmented = plain;
  augmented.crop_padding(2).hflip(true).seed(3);
  represent::MiProbe aug_probe(bundle.train, 3, bundle.mean, bundle.std, augmented);
  auto g1 = aug_probe.gaps(*model, torch::kCPU), g2 = aug_probe.gaps(*model, torch::kCPU);
  EXPECT_TRUE(g1.equal(g2));
  EXPECT_GT((g1 - g1.mean(1, true)).abs().max().item<double>(), 1e-4);
  auto e = estimate_mutual_information(g1);
  EXPECT_GT(e.sigma2, 0.0);

  // (TORCH_ARG setters modify in place: copy first)
  using Opt = represent::MiOptions;
  EXPECT_THROW(represent::MiProbe(bundle.train, 3, bundle.mean, bundle.std, Opt(plain).examples(11)), Error);
  EXPECT_THROW(represent::MiProbe(bundle.train, 3, bundle.mean, bundle.std, Opt(plain).class_b(2)), Error);
  EXPECT_THROW(represent::MiProbe(bundle.train, 3, bundle.mean, bundle.std, Opt(plain).class_b(3)), Error);
  EXPECT_THROW(represent::MiProbe(bundle.train, 3, bundle.mean, bundle.std, Opt(plain).views(1)), Error);
}

// The options refuse values out of range before any data is touched, naming the command line's option.
TEST(DistillMi, OptionsValidateNameTheOption) {
  EXPECT_ERROR_MENTIONS(
      represent::MiOptions().views(1).validate(), "--views must be at least 2 (σ² is pooled over views), got 1");
  represent::RunMiOptions run;
  // --split is parsed where it comes in (the CLI); the options hold a data::Split
  EXPECT_TRUE(error_mentions(
      [] { data::parse_split("holdout", "--split"); }, {"--split: unknown split 'holdout'"}, {"train, val, test"}));
  run.split = data::parse_split("val", "--split");
  EXPECT_EQ(run.split, data::Split::Val);
  run.crop_padding = -1;
  EXPECT_ERROR_MENTIONS(run.validate(), "--crop-padding must be non-negative, got -1");
  // run_mutual_information validates before it looks for the run
  run.crop_padding = 4;
  run.examples = 0;
  EXPECT_ERROR_MENTIONS(
      represent::run_mutual_information("/nonexistent/run", run), "--examples must be at least 1, got 0");
}

} // namespace
} // namespace smoothlab::testing
