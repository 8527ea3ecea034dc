// Selective-classification metrics (calib/selective.h) against closed forms and brute force: the definitions summed
// directly over every order of the tied examples, multiplicities against repeated examples, and the logit norm.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "smoothlab/calib/selective.h"
#include "smoothlab/core/error.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// The definitions of selective.h summed directly for one order of the examples.
struct Direct {
  double aurc = 0, augrc = 0;
};
Direct direct(const std::vector<int>& order, const std::vector<uint8_t>& correct) {
  Direct d;
  double errors = 0;
  const double n = double(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    errors += 1 - correct[size_t(order[i])];
    d.aurc += errors / double(i + 1) / n;
    d.augrc += errors / n / n;
  }
  return d;
}

// The mean of the direct sums over every order that sorts the scores descending (ties in every order).
Direct mean_over_tie_orders(const std::vector<double>& score, const std::vector<uint8_t>& correct) {
  std::vector<int> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end());
  Direct sum;
  int count = 0;
  do {
    bool sorted = true;
    for (size_t i = 1; i < order.size(); ++i)
      sorted = sorted && score[size_t(order[i - 1])] >= score[size_t(order[i])];
    if (!sorted)
      continue;
    const auto d = direct(order, correct);
    sum.aurc += d.aurc;
    sum.augrc += d.augrc;
    ++count;
  } while (std::next_permutation(order.begin(), order.end()));
  sum.aurc /= count;
  sum.augrc /= count;
  return sum;
}

TEST(Selective, ClosedFormsOfSmallCases) {
  // Ranked: correct, wrong, correct, wrong → e = 0, 1, 1, 2: AURC = (0 + 1/2 + 1/3 + 2/4)/4 = 1/3.
  const std::vector<double> score{0.9, 0.8, 0.7, 0.6};
  const std::vector<uint8_t> correct{1, 0, 1, 0};
  const auto m = calib::selective_metrics(calib::rank_scores(score), correct);
  EXPECT_NEAR(m.aurc, 1.0 / 3, 1e-15);
  // Oracle: correct, correct, wrong, wrong → e = 0, 0, 1, 2: (1/3 + 1/2)/4 = 5/24.
  EXPECT_NEAR(m.oracle_aurc, 5.0 / 24, 1e-15);
  EXPECT_NEAR(m.e_aurc, 1.0 / 3 - 5.0 / 24, 1e-15);
  EXPECT_NEAR(m.augrc, (0 + 1 + 1 + 2) / 16.0, 1e-15);
  EXPECT_EQ(m.total, 4);
  EXPECT_EQ(m.errors, 2);
  // The input order does not matter, and reversing the ranking is the worst case: e = 1, 2, 2, 2.
  const auto rev = calib::selective_metrics(calib::rank_scores(std::vector<double>{0.1, 0.8, 0.2, 0.9}), correct);
  EXPECT_NEAR(rev.aurc, (1 + 1 + 2.0 / 3 + 0.5) / 4, 1e-15);
  // All correct: every risk is 0; all wrong: every risk is 1 and the oracle is as bad.
  const auto good = calib::selective_metrics(calib::rank_scores(score), {1, 1, 1, 1});
  EXPECT_EQ(good.aurc, 0);
  EXPECT_EQ(good.e_aurc, 0);
  const auto bad = calib::selective_metrics(calib::rank_scores(score), {0, 0, 0, 0});
  EXPECT_NEAR(bad.aurc, 1, 1e-15);
  EXPECT_NEAR(bad.e_aurc, 0, 1e-15);
  EXPECT_NEAR(bad.augrc, (1 + 2 + 3 + 4) / 16.0, 1e-15);
  EXPECT_TRUE(std::isnan(calib::selective_metrics(calib::rank_scores(std::vector<double>{}), {}).aurc));
}

TEST(Selective, TiesAreTheMeanOverTheirOrders) {
  std::mt19937 gen(7);
  for (int trial = 0; trial < 40; ++trial) {
    const int n = 2 + trial % 7;
    std::vector<double> score(static_cast<size_t>(n));
    std::vector<uint8_t> correct(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      score[size_t(i)] = double(gen() % 3) / 4; // three levels: many ties
      correct[size_t(i)] = uint8_t(gen() % 2);
    }
    const auto want = mean_over_tie_orders(score, correct);
    const auto got = calib::selective_metrics(calib::rank_scores(score), correct);
    EXPECT_NEAR(got.aurc, want.aurc, 1e-13) << "trial " << trial;
    EXPECT_NEAR(got.augrc, want.augrc, 1e-13) << "trial " << trial;
  }
}

TEST(Selective, WeightsAreRepeatedExamples) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> u(0, 1);
  const size_t n = 500;
  std::vector<double> score(n), repeated_score;
  std::vector<uint8_t> correct(n), repeated_correct;
  std::vector<uint32_t> weight(n);
  for (size_t i = 0; i < n; ++i) {
    score[i] = std::round(u(gen) * 50) / 50; // ties inside and across repeats
    correct[i] = uint8_t(u(gen) < score[i]);
    weight[i] = uint32_t(gen() % 4);
    for (uint32_t k = 0; k < weight[i]; ++k) {
      repeated_score.push_back(score[i]);
      repeated_correct.push_back(correct[i]);
    }
  }
  const auto w = calib::selective_metrics(calib::rank_scores(score), correct, weight.data());
  const auto r = calib::selective_metrics(calib::rank_scores(repeated_score), repeated_correct);
  EXPECT_EQ(w.total, double(repeated_score.size()));
  EXPECT_NEAR(w.aurc, r.aurc, 1e-12);
  EXPECT_NEAR(w.e_aurc, r.e_aurc, 1e-12);
  EXPECT_NEAR(w.augrc, r.augrc, 1e-12);
}

TEST(Selective, OracleIsTheBestRankingAndMatchesItsSum) {
  for (double total : {1.0, 7.0, 100.0})
    for (double errors = 0; errors <= total; errors += 1) {
      double sum = 0;
      for (double i = total - errors + 1; i <= total; i += 1)
        sum += (i - total + errors) / i;
      EXPECT_NEAR(calib::oracle_aurc(total, errors), sum / total, 1e-14);
    }
  // Scores that put every correct example first reach the oracle.
  std::vector<double> score;
  std::vector<uint8_t> correct;
  for (int i = 0; i < 30; ++i) {
    correct.push_back(uint8_t(i % 3 != 0));
    score.push_back(correct.back() ? 1.0 + i : double(i) / 100);
  }
  EXPECT_NEAR(calib::selective_metrics(calib::rank_scores(score), correct).e_aurc, 0, 1e-15);
}

TEST(Selective, RiskCoverageCurve) {
  const std::vector<double> score{0.9, 0.8, 0.7, 0.6};
  const std::vector<uint8_t> correct{1, 0, 1, 0};
  const auto c = calib::risk_coverage(calib::rank_scores(score), correct, 4);
  ASSERT_EQ(c.coverage.size(), 4u);
  EXPECT_EQ(c.coverage.back(), 1.0);
  const std::vector<double> want{0, 0.5, 1.0 / 3, 0.5};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(c.risk[i], want[i], 1e-15);
  // Between examples e is linear: at coverage 3/8 (1.5 examples) e = 0.5, risk 1/3.
  const auto fine = calib::risk_coverage(calib::rank_scores(score), correct, 8);
  EXPECT_NEAR(fine.risk[2], 0.5 / 1.5, 1e-15);
  // One tie block of everything: the risk is the error rate at every coverage.
  const auto flat = calib::risk_coverage(calib::rank_scores(std::vector<double>(4, 0.5)), correct, 5);
  for (double r : flat.risk)
    EXPECT_NEAR(r, 0.5, 1e-15);
}

TEST(Selective, NormalisedMaxLogit) {
  const std::vector<float> z{3, -4, 0, /* row 2 */ 0, 0, 0, /* row 3 */ 1e30f, 2e30f, -1e30f};
  const auto k2 = calib::normalised_max_logit(z.data(), 3, 3, 2);
  EXPECT_NEAR(k2[0], 3.0 / 5, 1e-15);
  EXPECT_EQ(k2[1], 0);
  EXPECT_NEAR(k2[2], 2 / std::sqrt(6.0), 1e-12); // no overflow at |z|² ~ 1e60
  const auto k1 = calib::normalised_max_logit(z.data(), 1, 3, 1);
  EXPECT_NEAR(k1[0], 3.0 / 7, 1e-15);
  const auto k8 = calib::normalised_max_logit(z.data(), 1, 3, 8);
  EXPECT_NEAR(k8[0], 3 / std::pow(std::pow(3.0, 8) + std::pow(4.0, 8), 1.0 / 8), 1e-15);
  EXPECT_THROW(calib::normalised_max_logit(z.data(), 1, 3, 0.5), Error);
}

TEST(Selective, ChooseLogitNormPicksTheLowestAurc) {
  std::mt19937 gen(11);
  std::normal_distribution<float> g(0, 2);
  const int64_t n = 400, k = 5;
  std::vector<float> z(static_cast<size_t>(n * k));
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (auto& v : z)
    v = g(gen);
  for (auto& v : y)
    v = int64_t(gen() % k);
  const auto choice = calib::choose_logit_norm(z.data(), y.data(), n, k);
  std::vector<uint8_t> correct(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    correct[size_t(i)] =
        uint8_t(std::max_element(&z[size_t(i * k)], &z[size_t(i * k + k)]) - &z[size_t(i * k)] == y[size_t(i)]);
  double best = INFINITY;
  for (int p = 1; p <= 8; ++p)
    best = std::min(
        best,
        calib::selective_metrics(calib::rank_scores(calib::normalised_max_logit(z.data(), n, k, p)), correct).aurc);
  EXPECT_EQ(choice.aurc, best);
  EXPECT_EQ(
      calib::selective_metrics(calib::rank_scores(calib::normalised_max_logit(z.data(), n, k, choice.p)), correct).aurc,
      best);
}

TEST(Selective, SoftmaxRestMassByClosedForm) {
  // Row 0: logits (0, log 3, 0): the top is class 1 and s = 2·exp(−β log 3); at β = 1, 2/3 and p̂ = 0.6; at β = 2,
  // 2/9 and p̂ = 9/11. Row 1: (0, 100), saturated: p̂ rounds to 1 but s = exp(−100β) still ranks it.
  const std::vector<float> z{0.0f, float(std::log(3.0)), 0.0f, 0.0f, 100.0f, 0.0f};
  const double l3 = double(float(std::log(3.0)));
  for (double beta : {1.0, 2.0}) {
    const auto s = calib::softmax_rest_mass(z.data(), 2, 3, beta);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_NEAR(s[0], 2 * std::exp(-beta * l3), 1e-15);
    EXPECT_NEAR(s[1], 2 * std::exp(-100 * beta), 1e-15 * std::exp(-100 * beta));
    const auto p = calib::top_confidence(s);
    EXPECT_FLOAT_EQ(p[0], float(1 / (1 + 2 * std::exp(-beta * l3))));
    EXPECT_EQ(p[1], 1.0f);
  }
  EXPECT_NEAR(calib::top_confidence(calib::softmax_rest_mass(z.data(), 1, 3, 1.0))[0], 0.6, 1e-7);
}

} // namespace
} // namespace smoothlab::testing
