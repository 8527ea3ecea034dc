// The streaming calibration meter: per-batch fused softmax pass (kernels.h), then binning at value() time.
#include "smoothlab/calib/meter.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "smoothlab/calib/estimators.h"
#include "smoothlab/calib/selective.h"
#include "smoothlab/calib/smooth_ece.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/json_int.h"

namespace smoothlab::calib {

void MeterOptions::validate() const {
  check(bins() >= 1, "--bins must be at least 1, got {}", bins());
  check(
      temperature() > 0 && std::isfinite(temperature()),
      "temperature must be a positive number, got {}",
      temperature());
}

CalibrationMeter::CalibrationMeter(MeterOptions options) : options_(options) {
  options_.validate();
}

void CalibrationMeter::reset() {
  classes_ = 0;
  nll_sum_ = brier_sum_ = 0;
  confidence_.clear();
  correct_.clear();
  classwise_ = {};
  keep_probabilities_ = false;
  probabilities_.clear();
  labels_.clear();
}

void CalibrationMeter::add(const torch::Tensor& logits_in, const torch::Tensor& labels_in) {
  check(logits_in.dim() == 2, "logits must be [N, K], got {} dimension(s)", logits_in.dim());
  check(logits_in.is_floating_point(), "logits must be floating point, got {}", c10::toString(logits_in.scalar_type()));
  check(
      !labels_in.is_floating_point() && labels_in.scalar_type() != torch::kBool,
      "labels must be integers, got {}",
      c10::toString(labels_in.scalar_type()));
  check(
      labels_in.dim() == 1 && labels_in.size(0) == logits_in.size(0),
      "labels must be [N] with N = {}, got [{}]",
      logits_in.size(0),
      fmt::join(labels_in.sizes(), ", "));
  const int64_t n = logits_in.size(0), k = logits_in.size(1);
  check(k >= 2, "logits need at least 2 classes, got K = {}", k);
  if (classes_ == 0) {
    classes_ = k;
    if (options_.classwise())
      classwise_.resize(k, options_.bins());
    keep_probabilities_ = options_.classwise() && k <= kClasswiseEstimatorMaxClasses;
  }
  check(k == classes_, "logits have K = {} classes, earlier batches had {}", k, classes_);
  if (n == 0)
    return;
  auto logits = logits_in.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  auto labels = labels_in.detach().to(torch::kCPU, torch::kInt64).contiguous();
  const auto lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
  check(lo >= 0 && hi < k, "labels must lie in [0, {}), got values in [{}, {}]", k, lo, hi);

  std::vector<float> confidence(static_cast<size_t>(n));
  std::vector<int64_t> prediction(static_cast<size_t>(n));
  std::vector<double> nll(static_cast<size_t>(n)), brier(static_cast<size_t>(n));
  detail::RowOutputs out{confidence.data(), prediction.data(), nll.data(), brier.data()};
  detail::ClasswiseHistogram batch_hist;
  if (options_.classwise())
    batch_hist.resize(k, options_.bins());
  detail::metrics_rows(
      logits.data_ptr<float>(),
      labels.data_ptr<int64_t>(),
      n,
      k,
      1.0 / options_.temperature(),
      out,
      options_.classwise() ? &batch_hist : nullptr);
  double nll_sum = 0, brier_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    nll_sum += nll[size_t(i)];
    brier_sum += brier[size_t(i)];
  }
  check(std::isfinite(nll_sum) && std::isfinite(brier_sum), "logits contain NaN or Inf");
  const auto* y = labels.data_ptr<int64_t>();
  confidence_.reserve(confidence_.size() + size_t(n));
  correct_.reserve(correct_.size() + size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    confidence_.push_back(double(confidence[size_t(i)]));
    correct_.push_back(prediction[size_t(i)] == y[i] ? 1 : 0);
  }
  nll_sum_ += nll_sum;
  brier_sum_ += brier_sum;
  if (options_.classwise())
    classwise_.add(batch_hist);
  if (keep_probabilities_ && int64_t(probabilities_.size()) + n * k > kClasswiseEstimatorMaxValues) {
    keep_probabilities_ = false; // past the bound: the class-wise estimators are NaN
    probabilities_ = {};
    labels_ = {};
  }
  if (keep_probabilities_) {
    const auto p = torch::softmax(logits * float(1.0 / options_.temperature()), 1).contiguous();
    probabilities_.insert(probabilities_.end(), p.data_ptr<float>(), p.data_ptr<float>() + n * k);
    labels_.insert(labels_.end(), y, y + n);
  }
}

namespace {

struct ClasswiseEstimates {
  double smooth_ece, ks_error, debiased_squared, debiased_l2;
};

// The class-wise means of the top-label estimators: class k's (p_ik, [y_i = k]) for every k, in parallel over k.
ClasswiseEstimates classwise_estimates(
    const std::vector<float>& probabilities,
    const std::vector<int64_t>& labels,
    int64_t classes,
    int64_t bins) {
  const size_t n = labels.size();
  const auto count = static_cast<size_t>(classes);
  std::vector<double> smooth(count), ks(count), squared(count);
  at::parallel_for(0, classes, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> f(n), y(n);
    for (int64_t k = begin; k < end; ++k) {
      for (size_t i = 0; i < n; ++i) {
        f[i] = double(probabilities[i * size_t(classes) + size_t(k)]);
        y[i] = labels[i] == k ? 1.0 : 0.0;
      }
      smooth[size_t(k)] = smooth_ece(f, y).value;
      ks[size_t(k)] = ks_error(f, y);
      squared[size_t(k)] = debiased_squared_ce(f, y, bins).squared;
    }
  });
  ClasswiseEstimates e{0, 0, 0, 0};
  double clipped = 0;
  for (int64_t k = 0; k < classes; ++k) {
    e.smooth_ece += smooth[size_t(k)] / double(classes);
    e.ks_error += ks[size_t(k)] / double(classes);
    e.debiased_squared += squared[size_t(k)] / double(classes);
    clipped += std::max(squared[size_t(k)], 0.0) / double(classes);
  }
  e.debiased_l2 = std::sqrt(clipped);
  return e;
}

} // namespace

CalibrationMetrics CalibrationMeter::value() const {
  CalibrationMetrics m;
  m.count = int64_t(confidence_.size());
  m.classes = classes_;
  m.bins = options_.bins();
  m.binning = options_.binning();
  m.temperature = options_.temperature();
  m.classwise_ece = options_.classwise() ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  m.reliability = make_bins(confidence_, correct_, m.bins, m.binning);
  if (m.count == 0)
    return m;
  const double n = double(m.count);
  double correct = 0, confidence = 0;
  for (size_t i = 0; i < confidence_.size(); ++i) {
    correct += correct_[i];
    confidence += confidence_[i];
  }
  m.accuracy = correct / n;
  m.mean_confidence = confidence / n;
  m.nll = nll_sum_ / n;
  m.brier = brier_sum_ / n;
  const auto chosen = binned_errors(m.reliability);
  m.ece = chosen.ece;
  m.mce = chosen.mce;
  m.rms = chosen.rms;
  const auto other = binned_errors(make_bins(
      confidence_, correct_, m.bins, m.binning == Binning::EqualWidth ? Binning::EqualMass : Binning::EqualWidth));
  m.ece_equal_width = m.binning == Binning::EqualWidth ? chosen.ece : other.ece;
  m.ece_equal_mass = m.binning == Binning::EqualMass ? chosen.ece : other.ece;
  if (options_.classwise()) {
    double total = 0;
    for (size_t i = 0; i < classwise_.count.size(); ++i)
      total += std::abs(classwise_.hits[i] - classwise_.prob_sum[i]);
    m.classwise_ece = total / (n * double(classes_));
  }
  const std::vector<double> outcome(correct_.begin(), correct_.end());
  const auto smooth = calib::smooth_ece(confidence_, outcome);
  m.smooth_ece = smooth.value;
  m.smooth_ece_bandwidth = smooth.bandwidth;
  m.ks_error = calib::ks_error(confidence_, outcome);
  const auto debiased = calib::debiased_squared_ce(confidence_, outcome, m.bins);
  m.debiased_squared_ce = debiased.squared;
  m.debiased_l2_ce = debiased.l2;
  m.ace_netcal = calib::netcal_ace(confidence_, outcome, m.bins);
  const auto selective = selective_metrics(rank_scores(confidence_), correct_);
  m.aurc = selective.aurc;
  m.e_aurc = selective.e_aurc;
  m.augrc = selective.augrc;
  if (keep_probabilities_) {
    const auto c = classwise_estimates(probabilities_, labels_, classes_, m.bins);
    m.classwise_smooth_ece = c.smooth_ece;
    m.classwise_ks_error = c.ks_error;
    m.classwise_debiased_squared_ce = c.debiased_squared;
    m.classwise_debiased_l2_ce = c.debiased_l2;
  } else {
    m.classwise_smooth_ece = m.classwise_ks_error = std::nan("");
    m.classwise_debiased_squared_ce = m.classwise_debiased_l2_ce = std::nan("");
  }
  return m;
}

CalibrationMetrics calibration_metrics(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const MeterOptions& options) {
  CalibrationMeter meter(options);
  meter.add(logits, labels);
  return meter.value();
}

nlohmann::json to_json(const CalibrationMetrics& m, bool with_bins) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j = {
      {"count", m.count},
      {"classes", m.classes},
      {"temperature", m.temperature},
      {"accuracy", m.accuracy},
      {"nll", m.nll},
      {"brier", m.brier},
      {"mean_confidence", m.mean_confidence},
      {"ece", m.ece},
      {"mce", m.mce},
      {"rms_ce", m.rms},
      {"ece_equal_width", m.ece_equal_width},
      {"ece_equal_mass", m.ece_equal_mass},
      {"classwise_ece", num(m.classwise_ece)},
      {"smooth_ece", num(m.smooth_ece)},
      {"smooth_ece_bandwidth", num(m.smooth_ece_bandwidth)},
      {"ks_error", num(m.ks_error)},
      {"debiased_squared_ce", num(m.debiased_squared_ce)},
      {"debiased_l2_ce", num(m.debiased_l2_ce)},
      {"ace_netcal", num(m.ace_netcal)},
      {"aurc", num(m.aurc)},
      {"e_aurc", num(m.e_aurc)},
      {"augrc", num(m.augrc)},
      {"classwise_smooth_ece", num(m.classwise_smooth_ece)},
      {"classwise_ks_error", num(m.classwise_ks_error)},
      {"classwise_debiased_squared_ce", num(m.classwise_debiased_squared_ce)},
      {"classwise_debiased_l2_ce", num(m.classwise_debiased_l2_ce)},
      {"bins", m.bins},
      {"binning", binning_name(m.binning)}};
  if (with_bins) {
    const auto& r = m.reliability;
    std::vector<double> conf(r.size()), acc(r.size());
    for (size_t b = 0; b < r.size(); ++b) {
      conf[b] = r.confidence(b);
      acc[b] = r.accuracy(b);
    }
    j["reliability"] = {
        {"lower", r.lower}, {"upper", r.upper}, {"count", r.count}, {"confidence", conf}, {"accuracy", acc}};
  }
  return j;
}

CalibrationMetrics metrics_from_json(const nlohmann::json& j) {
  auto num = [&](const char* key) { return j.at(key).is_null() ? std::nan("") : j.at(key).get<double>(); };
  CalibrationMetrics m;
  m.count = json_int(j.at("count"));
  m.classes = json_int(j.at("classes"));
  m.temperature = num("temperature");
  m.accuracy = num("accuracy");
  m.nll = num("nll");
  m.brier = num("brier");
  m.mean_confidence = num("mean_confidence");
  m.ece = num("ece");
  m.mce = num("mce");
  m.rms = num("rms_ce");
  m.ece_equal_width = num("ece_equal_width");
  m.ece_equal_mass = num("ece_equal_mass");
  m.classwise_ece = num("classwise_ece");
  auto optional = [&](const char* key) { return j.contains(key) ? num(key) : std::nan(""); };
  m.smooth_ece = optional("smooth_ece");
  m.smooth_ece_bandwidth = optional("smooth_ece_bandwidth");
  m.ks_error = optional("ks_error");
  m.debiased_squared_ce = optional("debiased_squared_ce");
  m.debiased_l2_ce = optional("debiased_l2_ce");
  m.ace_netcal = optional("ace_netcal");
  m.aurc = optional("aurc");
  m.e_aurc = optional("e_aurc");
  m.augrc = optional("augrc");
  m.classwise_smooth_ece = optional("classwise_smooth_ece");
  m.classwise_ks_error = optional("classwise_ks_error");
  m.classwise_debiased_squared_ce = optional("classwise_debiased_squared_ce");
  m.classwise_debiased_l2_ce = optional("classwise_debiased_l2_ce");
  m.bins = json_int(j.at("bins"));
  m.binning = parse_binning(j.at("binning").get<std::string>());
  if (j.contains("reliability")) {
    const auto& rel = j.at("reliability");
    auto& b = m.reliability;
    b.binning = m.binning;
    b.lower = rel.at("lower").get<std::vector<double>>();
    b.upper = rel.at("upper").get<std::vector<double>>();
    const auto counts = json_ints(rel.at("count")); // whole numbers in int64's range (core/json_int.h)
    const auto conf = rel.at("confidence").get<std::vector<double>>(),
               acc = rel.at("accuracy").get<std::vector<double>>();
    const size_t n = counts.size();
    check(
        b.lower.size() == n && b.upper.size() == n && conf.size() == n && acc.size() == n,
        "the reliability bins' lower, upper, count, confidence and accuracy differ in length ({}, {}, {}, {}, {})",
        b.lower.size(),
        b.upper.size(),
        n,
        conf.size(),
        acc.size());
    for (size_t i = 0; i < n; ++i) {
      // examples: none negative, and a total that a double (the bins' sums) still counts exactly
      check(
          counts[i] >= 0 && counts[i] <= (int64_t(1) << 53) - b.total,
          "reliability bin {} has count {}, not a number of examples",
          i,
          counts[i]);
      b.count.push_back(double(counts[i]));
      b.confidence_sum.push_back(conf[i] * b.count[i]);
      b.correct_sum.push_back(acc[i] * b.count[i]);
      b.total += counts[i];
    }
  }
  return m;
}

} // namespace smoothlab::calib
