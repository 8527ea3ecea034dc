// Open-set detection scores, AUROC and FPR@95 (open_set.h).
#include "smoothlab/calib/open_set.h"

#include <algorithm>
#include <cmath>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::calib {

const char* score_name(OpenSetScore score) {
  static constexpr Named<OpenSetScore> kNames[] = {
      {OpenSetScore::MaxSoftmax, "msp"},
      {OpenSetScore::MaxLogit, "max_logit"},
      {OpenSetScore::Energy, "energy"},
  };
  return name_of(kNames, score);
}

std::vector<double> open_set_score(const float* logits, int64_t n, int64_t classes, OpenSetScore score) {
  check(classes >= 1, "open-set score: need at least one class, got {}", classes);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    const double top = *std::max_element(z, z + classes);
    double rest = 0; // Σ_k e^{z_k − max}
    for (int64_t k = 0; k < classes; ++k)
      rest += std::exp(double(z[k]) - top);
    switch (score) {
      case OpenSetScore::MaxSoftmax:
        out[size_t(i)] = 1 / rest;
        break;
      case OpenSetScore::MaxLogit:
        out[size_t(i)] = top;
        break;
      case OpenSetScore::Energy:
        out[size_t(i)] = top + std::log(rest);
        break;
    }
  }
  return out;
}

DetectionMetrics detection_metrics(const RankedScores& ranked, const std::vector<uint8_t>& known, const uint32_t* w) {
  check(ranked.size() == known.size(), "open-set detection: {} scores but {} labels", ranked.size(), known.size());
  DetectionMetrics m;
  for (size_t i = 0; i < known.size(); ++i) {
    const double weight = w ? double(w[i]) : 1.0;
    (known[i] ? m.known : m.unseen) += weight;
  }
  if (!(m.known > 0) || !(m.unseen > 0)) {
    m.auroc = m.fpr95 = NAN;
    return m;
  }
  double known_above = 0, unseen_above = 0, pairs = 0; // counts of the blocks above; Σ known·(unseen below + ½ tied)
  m.fpr95 = NAN;
  for (size_t b = 0; b + 1 < ranked.block_begin.size(); ++b) {
    double block_known = 0, block_unseen = 0;
    for (int64_t i = ranked.block_begin[b]; i < ranked.block_begin[b + 1]; ++i) {
      const auto k = size_t(ranked.order[size_t(i)]);
      const double weight = w ? double(w[k]) : 1.0;
      (known[k] ? block_known : block_unseen) += weight;
    }
    pairs += block_known * (m.unseen - unseen_above - block_unseen + 0.5 * block_unseen);
    known_above += block_known;
    unseen_above += block_unseen;
    if (std::isnan(m.fpr95) && known_above / m.known >= 0.95) // as sklearn compares its tpr
      m.fpr95 = unseen_above / m.unseen;
  }
  m.auroc = pairs / (m.known * m.unseen);
  return m;
}

} // namespace smoothlab::calib
