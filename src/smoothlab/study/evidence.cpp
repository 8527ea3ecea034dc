// Paired bootstrap intervals and the verdict rule (evidence.h).
#include "smoothlab/study/evidence.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/calib/weighted.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::study {

using json = nlohmann::json;

const char* verdict_name(Verdict v) {
  static constexpr Named<Verdict> kVerdicts[] = {
      {Verdict::Held, "held"},
      {Verdict::NotHeld, "not held"},
      {Verdict::Inconclusive, "inconclusive"},
      {Verdict::NotTested, "not tested"},
  };
  return name_of(kVerdicts, v);
}

namespace {

// A ranking of finite scores; empty (the selective metrics are then NaN) when one is not finite.
calib::RankedScores rank_if_finite(const std::vector<double>& score) {
  for (double v : score)
    if (!std::isfinite(v))
      return {};
  return calib::rank_scores(score);
}

} // namespace

RunPredictions make_predictions(
    const std::vector<float>& test_logits,
    const std::vector<int64_t>& test_labels,
    const std::vector<float>& val_logits,
    const std::vector<int64_t>& val_labels,
    int64_t classes,
    double temperature) {
  check(classes >= 1, "predictions need at least one class");
  check(
      test_logits.size() == test_labels.size() * size_t(classes) &&
          val_logits.size() == val_labels.size() * size_t(classes),
      "logits and labels disagree in length");
  RunPredictions p;
  p.classes = classes;
  p.temperature = std::isfinite(temperature) ? temperature : 1.0;
  auto rest = calib::softmax_rest_mass(test_logits.data(), int64_t(test_labels.size()), classes, 1.0);
  p.confidence = calib::top_confidence(rest);
  if (std::isfinite(temperature))
    p.confidence_ts = calib::top_confidence(
        calib::softmax_rest_mass(test_logits.data(), int64_t(test_labels.size()), classes, 1.0 / temperature));
  p.correct.resize(test_labels.size());
  for (size_t i = 0; i < test_labels.size(); ++i) {
    const float* z = test_logits.data() + i * size_t(classes);
    p.correct[i] = uint8_t(int64_t(std::max_element(z, z + classes) - z) == test_labels[i]);
  }
  p.val_logits = val_logits;
  p.val_labels = val_labels;
  for (auto& v : rest) // ranked by −s: the confidence 1/(1 + s) without its float32 rounding
    v = -v;
  p.ranked = rank_if_finite(rest);
  p.val_finite = std::all_of(val_logits.begin(), val_logits.end(), [](float v) { return std::isfinite(v); });
  if (!val_labels.empty() && p.val_finite) {
    p.logit_norm_p =
        calib::choose_logit_norm(val_logits.data(), val_labels.data(), int64_t(val_labels.size()), classes).p;
    p.ranked_logit_norm = rank_if_finite(
        calib::normalised_max_logit(test_logits.data(), int64_t(test_labels.size()), classes, p.logit_norm_p));
  }
  return p;
}

namespace {

const uint32_t* weights(const std::vector<uint32_t>* counts) {
  return counts ? counts->data() : nullptr;
}

} // namespace

double accuracy(const RunPredictions& p, const Resample& r) {
  return calib::weighted_accuracy(p.correct, weights(r.test));
}

double overconfidence(const RunPredictions& p, const Resample& r) {
  return calib::weighted_overconfidence(p.confidence, p.correct, weights(r.test));
}

double ece(const RunPredictions& p, const Resample& r, int64_t bins, bool at_fitted_temperature) {
  return calib::weighted_ece(at_fitted_temperature ? p.confidence_ts : p.confidence, p.correct, bins, weights(r.test));
}

double ece_posthoc(const RunPredictions& p, const Resample& r, int64_t bins) {
  return calib::weighted_ece(p.confidence_posthoc, p.correct_posthoc, bins, weights(r.test));
}

double fitted_temperature(const RunPredictions& p, const Resample& r) {
  const size_t n = p.val_labels.size();
  if (n == 0 || !p.val_finite)
    return NAN;
  return calib::fit_temperature(p.val_logits.data(), p.val_labels.data(), weights(r.val), int64_t(n), p.classes)
      .temperature;
}

calib::SelectiveMetrics selective(const RunPredictions& p, const Resample& r, bool logit_norm) {
  const auto& ranked = logit_norm ? p.ranked_logit_norm : p.ranked;
  if (ranked.size() != p.correct.size())
    return calib::selective_metrics({}, {}); // no ranking: NaN metrics
  return calib::selective_metrics(ranked, p.correct, r.test ? r.test->data() : nullptr);
}

void set_percentiles(Interval& out, std::vector<double> values, const EvidenceOptions& s) {
  std::sort(values.begin(), values.end());
  out.low = calib::sorted_quantile(values, (1 - s.level) / 2);
  out.high = calib::sorted_quantile(values, (1 + s.level) / 2);
  out.resamples = int64_t(values.size());
  out.level = s.level;
}

void EvidenceOptions::validate() const {
  check(resamples >= 2, "bootstrap needs at least 2 resamples, got {}", resamples);
  check(level > 0 && level < 1, "the confidence level must lie in (0, 1), got {}", level);
  check(bins >= 1, "the ECE needs at least 1 bin, got {}", bins);
}

Interval bootstrap(const std::vector<Term>& terms, const EvidenceOptions& s) {
  s.validate();
  check(!terms.empty(), "bootstrap: no terms");
  const size_t seeds = terms[0].runs.size();
  check(seeds >= 1, "bootstrap: a term without runs");
  const RunPredictions& first = *terms[0].runs[0];
  const size_t n_test = first.correct.size(), n_val = first.val_labels.size();
  for (const auto& term : terms) {
    SMOOTHLAB_ASSERT(term.runs.size() == seeds, "bootstrap: terms with {} and {} seeds", seeds, term.runs.size());
    for (const auto* run : term.runs)
      check(
          run && run->correct.size() == n_test && run->val_labels.size() == n_val,
          "bootstrap: runs evaluated on different examples ({} and {} test examples)",
          n_test,
          run ? run->correct.size() : 0);
  }
  check(n_test > 0, "bootstrap: no test examples");
  auto value = [&](const std::vector<size_t>& seed_of, const Resample& r) {
    double delta = 0;
    for (const auto& term : terms) {
      double sum = 0;
      for (size_t j : seed_of)
        sum += term.stat(*term.runs[j], r);
      delta += term.sign * sum / double(seed_of.size());
    }
    return delta;
  };
  Interval out;
  std::vector<size_t> identity(seeds);
  for (size_t j = 0; j < seeds; ++j)
    identity[j] = j;
  out.estimate = value(identity, Resample{});
  std::vector<double> values(size_t(s.resamples));
  at::parallel_for(0, s.resamples, 1, [&](int64_t r0, int64_t r1) {
    std::vector<uint32_t> test(n_test), val(n_val);
    std::vector<size_t> seed_of(seeds);
    for (int64_t r = r0; r < r1; ++r) {
      std::seed_seq seq{uint32_t(s.seed), uint32_t(s.seed >> 32), uint32_t(r), uint32_t(r >> 32)};
      std::mt19937_64 rng(seq);
      std::uniform_int_distribution<size_t> pick_seed(0, seeds - 1), pick_test(0, n_test - 1),
          pick_val(0, n_val > 0 ? n_val - 1 : 0);
      for (auto& j : seed_of)
        j = seeds > 1 ? pick_seed(rng) : 0;
      std::fill(test.begin(), test.end(), 0u);
      for (size_t i = 0; i < n_test; ++i)
        ++test[pick_test(rng)];
      std::fill(val.begin(), val.end(), 0u);
      for (size_t i = 0; i < n_val; ++i)
        ++val[pick_val(rng)];
      values[size_t(r)] = value(seed_of, Resample{&test, &val});
    }
  });
  set_percentiles(out, std::move(values), s);
  out.seeds = int64_t(seeds);
  out.test_examples = int64_t(n_test);
  out.val_examples = int64_t(n_val);
  return out;
}

Interval seed_bootstrap(const std::vector<double>& per_seed, const EvidenceOptions& s) {
  Interval out;
  if (per_seed.empty())
    return out;
  double sum = 0;
  for (double d : per_seed)
    sum += d;
  out.estimate = sum / double(per_seed.size());
  out.seeds = int64_t(per_seed.size());
  if (per_seed.size() < 2)
    return out;
  std::mt19937_64 rng(s.seed);
  std::uniform_int_distribution<size_t> pick(0, per_seed.size() - 1);
  std::vector<double> values(size_t(s.resamples));
  for (auto& v : values) {
    double m = 0;
    for (size_t j = 0; j < per_seed.size(); ++j)
      m += per_seed[pick(rng)];
    v = m / double(per_seed.size());
  }
  set_percentiles(out, std::move(values), s);
  return out;
}

Verdict decide(const Interval& interval, double threshold) {
  if (!interval.valid() || !std::isfinite(interval.low) || !std::isfinite(interval.high))
    return Verdict::NotTested;
  if (interval.low > threshold)
    return Verdict::Held;
  if (interval.high < threshold)
    return Verdict::NotHeld;
  return Verdict::Inconclusive;
}

namespace {

std::string number(double v, double scale, const std::string& unit) {
  const int digits = unit == "points" ? 2 : 4;
  return fmt::format("{:+.{}f}", v * scale, digits);
}

} // namespace

std::string Evidence::rule() const {
  const std::string at = threshold == 0 ? "0" : number(threshold, scale, unit) + (unit.empty() ? "" : " " + unit);
  return fmt::format(
      "held if the {:g}% interval of Δ lies above {}, not held if it lies below, inconclusive if it contains it",
      100 * interval.level,
      at);
}

std::string Evidence::interval_text() const {
  if (!interval.valid())
    return "no interval";
  return fmt::format(
      "{}{} [{}, {}]",
      number(interval.estimate, scale, unit),
      unit.empty() ? "" : " " + unit,
      number(interval.low, scale, unit),
      number(interval.high, scale, unit));
}

json to_json(const Evidence& e) {
  return {
      {"quantity", e.quantity},
      {"unit", e.unit},
      {"scale", e.scale},
      {"threshold", e.threshold},
      {"estimate", e.interval.estimate},
      {"low", e.interval.low},
      {"high", e.interval.high},
      {"level", e.interval.level},
      {"resamples", e.interval.resamples},
      {"seeds", e.interval.seeds},
      {"test_examples", e.interval.test_examples},
      {"val_examples", e.interval.val_examples},
      {"resampled", e.resampled},
      {"rule", e.rule()},
      {"text", e.interval_text()}};
}

} // namespace smoothlab::study
