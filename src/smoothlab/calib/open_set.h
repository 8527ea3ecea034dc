// Detecting inputs of classes the model never saw (open-set / out-of-distribution detection) by a score of its
// logits, higher for the known classes (Hendrycks & Gimpel, ICLR 2017; Hendrycks et al., ICML 2022; Liu et al.,
// NeurIPS 2020):
//   max softmax   MSP(z) = max_k softmax(z)_k
//   max logit     max_k z_k
//   energy        logsumexp_k z_k           (−E(z) at T = 1)
// and the two numbers the literature reports, with the known classes as the positives:
//   AUROC   = P(s_known > s_unseen) + ½ P(s_known = s_unseen)   (ties count half: sklearn's roc_auc_score)
//   FPR@95  = the share of unseen examples scoring ≥ t, where t is the highest score at which at least 95% of the
//             known examples score ≥ t (Hendrycks' convention and OpenOOD before v1.5; sklearn's
//             roc_curve(drop_intermediate=False) at its first tpr ≥ 0.95). OpenOOD v1.5 takes the unseen examples as
//             positives instead, a different number.
// Both walk the examples ranked by score (selective.h, RankedScores), so ties are whole blocks, and take
// multiplicities (a bootstrap resample).
#pragma once

#include <cstdint>
#include <vector>

#include "smoothlab/calib/selective.h"

namespace smoothlab::calib {

enum class OpenSetScore { MaxSoftmax, MaxLogit, Energy };
inline constexpr OpenSetScore kOpenSetScores[] = {
    OpenSetScore::MaxSoftmax,
    OpenSetScore::MaxLogit,
    OpenSetScore::Energy};
const char* score_name(OpenSetScore score); // "msp" | "max_logit" | "energy"

// The score of each row of logits (row-major [n, classes]), in float64.
std::vector<double> open_set_score(const float* logits, int64_t n, int64_t classes, OpenSetScore score);

struct DetectionMetrics {
  double auroc = 0, fpr95 = 0;
  double known = 0, unseen = 0; // (weighted) counts
};

// known[i] = 1 for an example of the known classes, 0 for an unseen one (indices as in the score vector); weights:
// multiplicities (null = each once). NaN metrics without examples of both kinds.
DetectionMetrics detection_metrics(
    const RankedScores& ranked,
    const std::vector<uint8_t>& known,
    const uint32_t* weights = nullptr);

} // namespace smoothlab::calib
