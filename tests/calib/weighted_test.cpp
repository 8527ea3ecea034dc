// Statistics of a weighted sample (calib/weighted.h) and the weighted temperature fit (temperature.h): a closed form
// by hand, and each against the unweighted statistic of the sample with example i written out weights[i] times.
#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "smoothlab/calib/ece.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/calib/weighted.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(CalibWeighted, ClosedFormOnThreeExamples) {
  // Confidences 0.9 (right), 0.7 (wrong), 0.3 (right), drawn 2, 3 and 0 times: 5 examples in all.
  const std::vector<float> conf{0.9f, 0.7f, 0.3f};
  const std::vector<uint8_t> correct{1, 0, 1};
  const std::vector<uint32_t> w{2, 3, 0};
  EXPECT_DOUBLE_EQ(calib::weighted_accuracy(correct, w.data()), 2.0 / 5.0);
  const double c9 = double(0.9f), c7 = double(0.7f);
  EXPECT_NEAR(calib::weighted_overconfidence(conf, correct, w.data()), (2 * c9 + 3 * c7) / 5 - 2.0 / 5.0, 1e-15);
  // 10 equal-width bins: 0.9 alone in bin 9 (gap 1 − 0.9), 0.7 alone in bin 7 (gap 0.7); the 0.3 was not drawn.
  EXPECT_NEAR(calib::weighted_ece(conf, correct, 10, w.data()), (2 * (1 - c9) + 3 * c7) / 5, 1e-15);
  // Unweighted: each once.
  EXPECT_DOUBLE_EQ(calib::weighted_accuracy(correct, nullptr), 2.0 / 3.0);
  // Nothing drawn: NaN, not 0.
  const std::vector<uint32_t> none{0, 0, 0};
  EXPECT_TRUE(std::isnan(calib::weighted_accuracy(correct, none.data())));
  EXPECT_TRUE(std::isnan(calib::weighted_overconfidence(conf, correct, none.data())));
  EXPECT_TRUE(std::isnan(calib::weighted_ece(conf, correct, 10, none.data())));
  EXPECT_TRUE(std::isnan(calib::weighted_ece({}, {}, 10, nullptr)));
  EXPECT_THROW(calib::weighted_ece(conf, {1, 0}, 10, nullptr), Error);
}

TEST(CalibWeighted, EqualsTheSampleWrittenOut) {
  torch::manual_seed(5);
  const int64_t n = 2000, bins = 15;
  const auto conf_t = torch::rand({n}) * 0.9 + 0.1;
  const auto correct_t = torch::rand({n}).lt(conf_t);
  const auto w_t = torch::randint(0, 4, {n}, torch::kInt64);
  std::vector<float> conf(static_cast<size_t>(n));
  std::vector<uint8_t> correct(static_cast<size_t>(n));
  std::vector<uint32_t> w(static_cast<size_t>(n));
  std::vector<double> conf_out;
  std::vector<uint8_t> correct_out;
  for (int64_t i = 0; i < n; ++i) {
    conf[size_t(i)] = conf_t[i].item<float>();
    correct[size_t(i)] = uint8_t(correct_t[i].item<bool>());
    w[size_t(i)] = uint32_t(w_t[i].item<int64_t>());
    for (uint32_t c = 0; c < w[size_t(i)]; ++c) {
      conf_out.push_back(double(conf[size_t(i)]));
      correct_out.push_back(correct[size_t(i)]);
    }
  }
  const double m = double(conf_out.size());
  double hits = 0, conf_sum = 0;
  for (size_t i = 0; i < conf_out.size(); ++i) {
    hits += correct_out[i];
    conf_sum += conf_out[i];
  }
  EXPECT_NEAR(calib::weighted_accuracy(correct, w.data()), hits / m, 1e-12);
  EXPECT_NEAR(calib::weighted_overconfidence(conf, correct, w.data()), (conf_sum - hits) / m, 1e-12);
  const auto bins_out = calib::equal_width_bins(conf_out, correct_out, bins);
  const auto bins_w = calib::weighted_equal_width_bins(conf, correct, bins, w.data());
  EXPECT_EQ(bins_w.total, int64_t(conf_out.size()));
  for (size_t b = 0; b < size_t(bins); ++b)
    EXPECT_EQ(bins_w.count[b], bins_out.count[b]) << "bin " << b;
  EXPECT_NEAR(calib::weighted_ece(conf, correct, bins, w.data()), calib::binned_errors(bins_out).ece, 1e-12);
}

TEST(CalibWeighted, TemperatureFitEqualsTheFitOnTheRowsWrittenOut) {
  torch::manual_seed(7);
  const int64_t n = 600, k = 10;
  const auto z = (torch::randn({n, k}) * 3.0).contiguous();
  const auto y = torch::multinomial(torch::softmax(z / 2.0, 1), 1).squeeze(1).contiguous(); // over-confident: T ≈ 2
  const auto w_t = torch::randint(0, 3, {n}, torch::kInt64);
  std::vector<uint32_t> w(static_cast<size_t>(n));
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i) {
    w[size_t(i)] = uint32_t(w_t[i].item<int64_t>());
    for (uint32_t c = 0; c < w[size_t(i)]; ++c)
      rows.push_back(i);
  }
  const auto index = torch::tensor(rows, torch::kInt64);
  const auto written_out = calib::fit_temperature(z.index_select(0, index), y.index_select(0, index));
  const auto weighted =
      calib::fit_temperature(z.data_ptr<float>(), y.data_ptr<int64_t>(), w.data(), n, k, calib::TemperatureOptions{});
  EXPECT_TRUE(weighted.converged);
  EXPECT_EQ(weighted.count, int64_t(rows.size()));
  EXPECT_NEAR(weighted.temperature, written_out.temperature, 1e-6 * written_out.temperature);
  EXPECT_NEAR(weighted.nll_after, written_out.nll_after, 1e-9);
  EXPECT_GT(weighted.temperature, 1.5); // the labels came from softmax(z / 2)
  EXPECT_LT(weighted.temperature, 2.5);
  // No weights: the tensor fit itself.
  const auto plain = calib::fit_temperature(z.data_ptr<float>(), y.data_ptr<int64_t>(), nullptr, n, k);
  EXPECT_DOUBLE_EQ(plain.temperature, calib::fit_temperature(z, y).temperature);
  const std::vector<uint32_t> none(size_t(n), 0u);
  EXPECT_THROW(calib::fit_temperature(z.data_ptr<float>(), y.data_ptr<int64_t>(), none.data(), n, k), Error);
}

} // namespace
} // namespace smoothlab::testing
