// The evidence behind a claim: a paired bootstrap interval of the quantity the claim is about, and the one rule that
// turns an interval into a verdict (claims.h).
//
// Every claim is phrased as "the quantity Δ exceeds a threshold" with Δ oriented so that larger means "as the paper
// says": a directional claim has threshold 0 (e.g. Δ = ECE(ε = 0) − ECE(ε) for "smoothing lowers the ECE"), a claim of
// no harm or of equivalence a stated margin below 0 (e.g. Δ = acc(ε) − acc(0) > −0.5 points). With the level-L
// percentile interval [low, high] of Δ:
//   held          low > threshold     (the whole interval says so)
//   not held      high < threshold    (the whole interval says the opposite)
//   inconclusive  otherwise           (the interval contains the threshold: the data cannot tell)
//
// The interval is a paired bootstrap (Efron & Tibshirani ch. 16). Runs of the compared arms are paired by seed, and
// every run of a study is evaluated on the same test (and validation) examples, so one resample draws the seeds with
// replacement (when there are several) and, once, the examples with replacement; every arm's statistic is computed on
// that same draw. Resample r uses its own generator seeded from (seed, r): the interval does not depend on threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/calib/selective.h"

namespace smoothlab::study {

enum class Verdict { Held, NotHeld, Inconclusive, NotTested };
const char* verdict_name(Verdict verdict); // "held" | "not held" | "inconclusive" | "not tested"

// Per-example predictions of one run (RUN_DIR/{test,val}_{logits,labels}.npy), what a resample draws from.
struct RunPredictions {
  // test split
  std::vector<uint8_t> correct;
  std::vector<float> confidence; // top softmax probability at T = 1
  std::vector<float> confidence_ts; // at the run's fitted temperature; empty without one
  // after the best post-hoc calibrator on the validation split (tables.h, PostHocChoice): its top-label confidence
  // and correctness (matrix and Dirichlet calibration may move the argmax); empty without one
  std::vector<float> confidence_posthoc;
  std::vector<uint8_t> correct_posthoc;
  // validation split, for re-fitting the temperature on each resample: logits row-major [n_val, classes]
  std::vector<float> val_logits;
  std::vector<int64_t> val_labels;
  bool val_finite = true; // every validation logit is finite (make_predictions checks; else the re-fit is NaN)
  int64_t classes = 0;
  double temperature = 1; // the run's own fit
  // Selective classification (calib/selective.h): the test examples ranked by max-softmax confidence (computed in
  // double from the logits, so that confidences that round to 1 in float32 keep their order), and by the normalised
  // max logit κ_p with p chosen on the validation split (by its AURC; held fixed in the resamples; p = 0 and no
  // ranking without a validation split). No ranking (NaN metrics) when a logit is not finite.
  calib::RankedScores ranked;
  calib::RankedScores ranked_logit_norm;
  int logit_norm_p = 0;
};

// Softmax confidences, correctness and the validation logits of a run's outputs (logits row-major [n, classes]).
RunPredictions make_predictions(
    const std::vector<float>& test_logits,
    const std::vector<int64_t>& test_labels,
    const std::vector<float>& val_logits,
    const std::vector<int64_t>& val_labels,
    int64_t classes,
    double temperature); // NaN: no fitted temperature (no confidence_ts)

// The settings of every claim's interval: the paired bootstrap's resamples, level and seed, and the ECE bins.
struct EvidenceOptions {
  int64_t resamples = 1000;
  double level = 0.95;
  uint64_t seed = 0;
  int64_t bins = 15; // equal-width ECE bins, as the study's evaluation

  // Throws Error for resamples < 2, a level outside (0, 1) or bins < 1. bootstrap() calls it first.
  void validate() const;
};

// Multiplicities of the examples in one resample (count[i] = times example i was drawn); empty = the full sample.
struct Resample {
  const std::vector<uint32_t>* test = nullptr;
  const std::vector<uint32_t>* val = nullptr;
};

// Statistics of one run on a resample.
double accuracy(const RunPredictions& p, const Resample& r);
double ece(const RunPredictions& p, const Resample& r, int64_t bins, bool at_fitted_temperature = false);
// After the best post-hoc calibrator (held fixed: fitted once on the full validation split); NaN without one.
double ece_posthoc(const RunPredictions& p, const Resample& r, int64_t bins);
double overconfidence(const RunPredictions& p, const Resample& r); // mean confidence − accuracy (T = 1)
double fitted_temperature(const RunPredictions& p, const Resample& r); // calib::fit_temperature on the resampled val
// AURC, E-AURC and AUGRC of the max-softmax confidence, or of the normalised max logit (NaN metrics without its p).
calib::SelectiveMetrics selective(const RunPredictions& p, const Resample& r, bool logit_norm = false);

using Statistic = std::function<double(const RunPredictions&, const Resample&)>;

// One signed term of Δ: sign · mean over the (resampled) seeds of stat(runs[seed]).
struct Term {
  std::vector<const RunPredictions*> runs; // one per seed, paired by position with every other term's
  Statistic stat;
  double sign = 1;
};

struct Interval {
  double estimate = 0, low = 0, high = 0; // Δ on the full sample; the percentile interval
  int64_t resamples = 0, seeds = 0, test_examples = 0, val_examples = 0;
  double level = 0.95;
  bool valid() const {
    return resamples > 0;
  }
};

// Δ = Σ terms and its interval. Every term needs the same number of runs (seeds) and every run the same examples.
// Throws Error otherwise.
Interval bootstrap(const std::vector<Term>& terms, const EvidenceOptions& settings);

// For a statistic that is not a function of examples (Î, one value per seed): the mean of `per_seed` and its
// percentile interval over seeds drawn with replacement; with one seed an estimate without an interval (not valid).
Interval seed_bootstrap(const std::vector<double>& per_seed, const EvidenceOptions& settings);

// The level-`s.level` percentile interval of resampled Δs into out (low, high, resamples, level).
void set_percentiles(Interval& out, std::vector<double> values, const EvidenceOptions& s);

// The rule (above). An interval that is not valid gives NotTested.
Verdict decide(const Interval& interval, double threshold);

// A claim's evidence as the report prints it.
struct Evidence {
  std::string quantity; // "Δ = acc(ε = 0.1) − acc(ε = 0)"
  std::string unit; // "points" | "" (ECE) | "" (T − 1)
  double scale = 1; // display factor: 100 for accuracy in points
  double threshold = 0; // the claim: Δ > threshold
  Interval interval;
  std::string resampled; // "10 000 test examples, 3 seeds, paired"
  std::string rule() const; // "held if the 95% interval lies above −0.5 points, not held if below, else inconclusive"
  std::string interval_text() const; // "+0.12 points [−0.31, +0.55]"
};

nlohmann::json to_json(const Evidence& evidence);

} // namespace smoothlab::study
