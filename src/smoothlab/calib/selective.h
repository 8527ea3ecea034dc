// Selective classification by a confidence score κ (Geifman & El-Yaniv, NeurIPS 2017; Geifman, Uziel & El-Yaniv,
// ICLR 2019): accept the examples of highest κ, reject the rest. With the N examples ranked by κ, highest first, and
// e_i the errors among the first i:
//   selective risk at coverage i/N   r_i = e_i / i
//   AURC   = (1/N) Σ_{i=1}^{N} r_i                         (the area under the risk–coverage curve)
//   AURC*  = (1/N) Σ_{i=N−E+1}^{N} (i − N + E) / i          (the oracle ranking every correct prediction first;
//                                                           E = total errors: exact, not FMFP's continuous form)
//   E-AURC = AURC − AURC*                                   (the ranking's excess, free of the accuracy)
//   AUGRC  = (1/N) Σ_{i=1}^{N} e_i / N                      (Traub et al., NeurIPS 2024: the generalised risk)
// Ties in κ: every order of a tie block is equally likely and the metrics are their mean (within a block of m
// examples after a earlier ones, e_{a+j} is replaced by its mean e_a + j·E_block/m), so they do not depend on the input
// order; without ties AURC is exactly FMFP's aurc_eaurc (tests/golden/selective_golden.json).
//
// Logit normalisation (Xia, Laurent, Franchi & Bouganis, ICLR 2025, after Cattelan & Silva, UAI 2024): the score
// κ_p(z) = max_k z_k / ‖z‖_p (no centring, as Xia's CIFAR-10 code computes it), p chosen in {1, …, 8} by the lowest
// AURC on a validation split of the same model.
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::calib {

// Examples in descending score order, grouped into tie blocks: order[block_begin[b] .. block_begin[b + 1]) tie.
// Build it once per score vector; every metric below walks it in O(N).
struct RankedScores {
  std::vector<int64_t> order;
  std::vector<int64_t> block_begin; // size blocks + 1 (the last entry is N); a default one ranks nothing
  size_t size() const {
    return order.size();
  }
};
// Throws Error on a non-finite score.
RankedScores rank_scores(const std::vector<double>& score);
RankedScores rank_scores(const std::vector<float>& score);

struct SelectiveMetrics {
  double aurc = 0, oracle_aurc = 0, e_aurc = 0, augrc = 0;
  double total = 0, errors = 0; // N and E (weighted)
};

// correct[i] ∈ {0, 1} for example i (indices as in the score vector); weights: multiplicities of the examples (a
// bootstrap resample; null = each once). NaN metrics for an empty (or all-zero-weight) sample.
SelectiveMetrics selective_metrics(
    const RankedScores& ranked,
    const std::vector<uint8_t>& correct,
    const uint32_t* weights = nullptr);

// The oracle's AURC for N examples of which E are errors (integers as doubles).
double oracle_aurc(double total, double errors);

// The risk–coverage curve at coverages c = 1/points, 2/points, …, 1: risk(c) = e(cN)/(cN), e linear inside a tie
// block (its mean over orders) and between examples.
struct RiskCoverage {
  std::vector<double> coverage, risk;
};
RiskCoverage risk_coverage(const RankedScores& ranked, const std::vector<uint8_t>& correct, int64_t points = 200);

// Per row of logits (row-major [n, classes]) at inverse temperature beta: the softmax mass off the top class relative
// to it, s = Σ_{j ≠ top} exp(β·(z_j − z_top)), in float64 without the top term, so that the top softmax probability
// is 1/(1 + s) and −s ranks the rows by it with full relative precision even where that probability rounds to 1 (a
// saturated model's confidences would otherwise tie).
std::vector<double> softmax_rest_mass(const float* logits, int64_t n, int64_t classes, double beta);
// The top softmax probability 1/(1 + s) of each row from its rest mass s, in float32.
std::vector<float> top_confidence(const std::vector<double>& rest_mass);

// κ_p of each row of logits (row-major [n, classes]), in float64; a row of zeros scores 0. p ≥ 1.
std::vector<double> normalised_max_logit(const float* logits, int64_t n, int64_t classes, double p);

// The p ∈ {1, …, max_p} with the lowest AURC of κ_p on (logits, labels) (the smallest p on a tie), and that AURC.
struct LogitNormChoice {
  int p = 2;
  double aurc = 0;
};
LogitNormChoice choose_logit_norm(
    const float* logits,
    const int64_t* labels,
    int64_t n,
    int64_t classes,
    int max_p = 8);

} // namespace smoothlab::calib
