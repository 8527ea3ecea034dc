// Paired bootstrap intervals and the verdict rule (evidence.h).
#include "smoothlab/study/evidence.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/kernels.h"
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

// Per row of logits (row-major [n, k]) at inverse temperature t: s = Σ_{j ≠ top} exp(t·(z_j − z_top)), computed in
// double without the top term, so that the top softmax probability is 1/(1 + s) and −s ranks the rows by it with
// full relative precision even where that probability rounds to 1 (a saturated model's confidences would otherwise
// tie).
std::vector<double> rest_mass(const std::vector<float>& logits, int64_t k, double t) {
  const size_t n = logits.size() / size_t(k);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * size_t(k);
    const auto top = std::max_element(z, z + k) - z;
    double sum = 0;
    for (int64_t j = 0; j < k; ++j)
      if (j != top)
        sum += std::exp(t * (double(z[j]) - double(z[top])));
    out[i] = sum;
  }
  return out;
}

// Top softmax probability 1/(1 + s) of each row from its rest mass s.
std::vector<float> top_confidence(const std::vector<double>& rest) {
  std::vector<float> out(rest.size());
  for (size_t i = 0; i < rest.size(); ++i)
    out[i] = float(1.0 / (1.0 + rest[i]));
  return out;
}

// A ranking of finite scores; empty (the selective metrics are then NaN) when one is not finite.
calib::RankedScores rank_if_finite(const std::vector<double>& score) {
  for (double v : score)
    if (!std::isfinite(v))
      return {};
  return calib::rank_scores(score);
}

double weight(const std::vector<uint32_t>* counts, size_t i) {
  return counts ? double((*counts)[i]) : 1.0;
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
  auto rest = rest_mass(test_logits, classes, 1.0);
  p.confidence = top_confidence(rest);
  if (std::isfinite(temperature))
    p.confidence_ts = top_confidence(rest_mass(test_logits, classes, 1.0 / temperature));
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
  const bool finite = std::all_of(val_logits.begin(), val_logits.end(), [](float v) { return std::isfinite(v); });
  if (!val_labels.empty() && finite) {
    p.logit_norm_p =
        calib::choose_logit_norm(val_logits.data(), val_labels.data(), int64_t(val_labels.size()), classes).p;
    p.ranked_logit_norm = rank_if_finite(
        calib::normalised_max_logit(test_logits.data(), int64_t(test_labels.size()), classes, p.logit_norm_p));
  }
  return p;
}

double accuracy(const RunPredictions& p, const Resample& r) {
  double hits = 0, total = 0;
  for (size_t i = 0; i < p.correct.size(); ++i) {
    const double w = weight(r.test, i);
    hits += w * p.correct[i];
    total += w;
  }
  return total > 0 ? hits / total : NAN;
}

double overconfidence(const RunPredictions& p, const Resample& r) {
  double sum = 0, total = 0;
  for (size_t i = 0; i < p.correct.size(); ++i) {
    const double w = weight(r.test, i);
    sum += w * (double(p.confidence[i]) - p.correct[i]);
    total += w;
  }
  return total > 0 ? sum / total : NAN;
}

namespace {

// Equal-width binned ECE of (confidence, correct) pairs weighted by the resample's multiplicities.
double binned_ece(
    const std::vector<float>& conf,
    const std::vector<uint8_t>& correct,
    const Resample& r,
    int64_t bins) {
  if (conf.empty())
    return NAN;
  const auto nb = static_cast<size_t>(bins);
  std::vector<double> count(nb), conf_sum(nb), hits(nb);
  double total = 0;
  for (size_t i = 0; i < conf.size(); ++i) {
    const double w = weight(r.test, i);
    if (w == 0)
      continue;
    const auto b = size_t(calib::detail::equal_width_bin(conf[i], bins));
    count[b] += w;
    conf_sum[b] += w * conf[i];
    hits[b] += w * correct[i];
    total += w;
  }
  double e = 0;
  for (size_t b = 0; b < nb; ++b)
    if (count[b] > 0)
      e += std::abs(hits[b] - conf_sum[b]) / total;
  return e;
}

} // namespace

double ece(const RunPredictions& p, const Resample& r, int64_t bins, bool at_fitted_temperature) {
  return binned_ece(at_fitted_temperature ? p.confidence_ts : p.confidence, p.correct, r, bins);
}

double ece_posthoc(const RunPredictions& p, const Resample& r, int64_t bins) {
  return binned_ece(p.confidence_posthoc, p.correct_posthoc, r, bins);
}

double fitted_temperature(const RunPredictions& p, const Resample& r) {
  const auto k = size_t(p.classes);
  const size_t n = p.val_labels.size();
  if (n == 0)
    return NAN;
  // NLL(t) = Σ w [logsumexp(t·z) − t·z_y] is convex in t = 1/T: Newton from the run's own fit.
  double t = 1.0 / p.temperature;
  std::vector<double> e(k);
  for (int iter = 0; iter < 30; ++iter) {
    double g = 0, h = 0;
    for (size_t i = 0; i < n; ++i) {
      const double w = weight(r.val, i);
      if (w == 0)
        continue;
      const float* z = p.val_logits.data() + i * k;
      const double m = *std::max_element(z, z + k);
      double sum = 0, mean = 0, second = 0;
      for (size_t j = 0; j < k; ++j) {
        e[j] = std::exp(t * (double(z[j]) - m));
        sum += e[j];
      }
      for (size_t j = 0; j < k; ++j) {
        const double q = e[j] / sum, zj = double(z[j]);
        mean += q * zj;
        second += q * zj * zj;
      }
      g += w * (mean - double(z[size_t(p.val_labels[i])]));
      h += w * (second - mean * mean);
    }
    if (!(h > 0))
      break;
    double next = t - g / h;
    if (!(next > 0))
      next = t / 2;
    const bool done = std::abs(next - t) <= 1e-10 * t;
    t = next;
    if (done)
      break;
  }
  return 1.0 / t;
}

calib::SelectiveMetrics selective(const RunPredictions& p, const Resample& r, bool logit_norm) {
  const auto& ranked = logit_norm ? p.ranked_logit_norm : p.ranked;
  if (ranked.size() != p.correct.size())
    return calib::selective_metrics({}, {}); // no ranking: NaN metrics
  return calib::selective_metrics(ranked, p.correct, r.test ? r.test->data() : nullptr);
}

void set_percentiles(Interval& out, std::vector<double> values, const BootstrapSettings& s) {
  std::sort(values.begin(), values.end());
  out.low = calib::sorted_quantile(values, (1 - s.level) / 2);
  out.high = calib::sorted_quantile(values, (1 + s.level) / 2);
  out.resamples = int64_t(values.size());
  out.level = s.level;
}

Interval bootstrap(const std::vector<Term>& terms, const BootstrapSettings& s) {
  check(!terms.empty(), "bootstrap: no terms");
  check(s.resamples >= 2, "bootstrap needs at least 2 resamples, got {}", s.resamples);
  check(s.level > 0 && s.level < 1, "the confidence level must lie in (0, 1), got {}", s.level);
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

Interval seed_bootstrap(const std::vector<double>& per_seed, const BootstrapSettings& s) {
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
