// Per-predicted-class 1-D maps of the top-label confidence, with re-normalisation (top_label.h).
#include "smoothlab/calib/top_label.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib::detail {

double Map1d::operator()(double p) const {
  if (x.empty())
    return p;
  const auto it = std::lower_bound(x.begin(), x.end(), p); // first x[i] ≥ p
  if (kind == Kind::Step)
    return it == x.end() ? y.back() : y[size_t(it - x.begin())];
  const auto clipped = [&](double v) { return kind == Kind::LinearClipped ? std::clamp(v, 0.0, 1.0) : v; };
  if (it == x.begin())
    return clipped(y.front());
  if (it == x.end())
    return clipped(y.back());
  const size_t i = size_t(it - x.begin());
  const double t = (p - x[i - 1]) / (x[i] - x[i - 1]);
  return clipped(*it == p ? y[i] : y[i - 1] + t * (y[i] - y[i - 1]));
}

namespace {

struct TopLabel {
  std::vector<double> confidence;
  std::vector<int64_t> prediction;
};

// Rows of logits [N, K] (float32 or float64) a block at a time, blocks in parallel on LibTorch's threads:
// f(r0, r1, x, top, rest) with x the block's first row and top, rest the top-label pass of its rows
// (kernels.h: top_label_rows). Nothing of size [N, K] is built.
constexpr int64_t kBlockRows = 32;

template <typename T, typename F>
void for_each_block(const T* x, int64_t n, int64_t k, const F& f) {
  at::parallel_for(0, n, kBlockRows, [&](int64_t b0, int64_t b1) {
    int64_t top[kBlockRows];
    double rest[kBlockRows];
    for (int64_t r0 = b0; r0 < b1; r0 += kBlockRows) {
      const int64_t r1 = std::min(r0 + kBlockRows, b1);
      top_label_rows(x + r0 * k, r1 - r0, k, top, rest);
      f(r0, r1, x + r0 * k, top, rest);
    }
  });
}

template <typename F>
void for_each_block(const torch::Tensor& logits, const F& f) {
  const int64_t n = logits.size(0), k = logits.size(1);
  if (logits.scalar_type() == torch::kFloat)
    for_each_block(logits.data_ptr<float>(), n, k, f);
  else
    for_each_block(logits.data_ptr<double>(), n, k, f);
}

// The top-label confidence p̂ = max_k softmax(z)_k from the others' relative mass.
double confidence_of(double rest) {
  return 1.0 / (1.0 + rest);
}

TopLabel top_label(const torch::Tensor& logits) {
  const auto n = size_t(logits.size(0));
  TopLabel t{std::vector<double>(n), std::vector<int64_t>(n)};
  for_each_block(logits, [&](int64_t r0, int64_t r1, const auto*, const int64_t* top, const double* rest) {
    for (int64_t r = r0; r < r1; ++r) {
      t.confidence[size_t(r)] = confidence_of(rest[r - r0]);
      t.prediction[size_t(r)] = top[r - r0];
    }
  });
  return t;
}

Map1d fit_sorted(const std::vector<size_t>& rows, const TopLabel& t, const std::vector<double>& hit, const Fit1d& f) {
  std::vector<size_t> order = rows;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t.confidence[a] < t.confidence[b]; });
  std::vector<double> x(order.size()), y(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    x[i] = t.confidence[order[i]];
    y[i] = hit[order[i]];
  }
  return f(x, y);
}

nlohmann::json map_json(const Map1d& m) {
  return {{"x", m.x}, {"y", m.y}};
}

Map1d map_from_json(const nlohmann::json& j, Map1d::Kind kind, const std::string& where) {
  Map1d m;
  m.kind = kind;
  m.x = j.at("x").get<std::vector<double>>();
  m.y = j.at("y").get<std::vector<double>>();
  check(!m.x.empty() && m.x.size() == m.y.size(), "{}: knots x and y must be non-empty and of one length", where);
  check(std::is_sorted(m.x.begin(), m.x.end()), "{}: knots x must be ascending", where);
  for (double v : m.y)
    if (kind == Map1d::Kind::LinearClipped)
      check(std::isfinite(v), "{}: map values must be finite, got {}", where, v);
    else
      check(v >= 0 && v <= 1, "{}: map values must lie in [0, 1], got {}", where, v);
  return m;
}

} // namespace

void TopLabelMaps::fit(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    int64_t min_class_count,
    const Fit1d& fit_1d) {
  const auto t = top_label(logits);
  const auto* y = labels.data_ptr<int64_t>();
  const size_t n = t.confidence.size();
  std::vector<double> hit(n);
  std::vector<size_t> all(n);
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t i = 0; i < n; ++i) {
    hit[i] = t.prediction[i] == y[i] ? 1.0 : 0.0;
    all[i] = i;
    by_class[t.prediction[i]].push_back(i);
  }
  pooled = fit_sorted(all, t, hit, fit_1d);
  per_class.clear();
  for (const auto& [c, rows] : by_class)
    if (int64_t(rows.size()) >= min_class_count)
      per_class[c] = fit_sorted(rows, t, hit, fit_1d);
}

double TopLabelMaps::map(double confidence, int64_t prediction) const {
  const auto it = per_class.find(prediction);
  return (it == per_class.end() ? pooled : it->second)(confidence);
}

torch::Tensor TopLabelMaps::confidence(const torch::Tensor& logits) const {
  const auto t = top_label(logits);
  auto out = torch::empty({int64_t(t.confidence.size())}, torch::kFloat64);
  auto* o = out.data_ptr<double>();
  for (size_t i = 0; i < t.confidence.size(); ++i)
    o[i] = map(t.confidence[i], t.prediction[i]);
  return out;
}

// Per block: the top-label pass, the mapped confidences, then the re-normalised rows straight from the logits into
// the output.
torch::Tensor TopLabelMaps::log_probs(const torch::Tensor& logits) const {
  const int64_t k = logits.size(1);
  auto out = torch::empty({logits.size(0), k}, torch::kFloat64);
  double* o = out.data_ptr<double>();
  for_each_block(logits, [&](int64_t r0, int64_t r1, const auto* x, const int64_t* top, const double* rest) {
    double c[kBlockRows];
    for (int64_t r = 0; r < r1 - r0; ++r)
      c[r] = map(confidence_of(rest[r]), top[r]);
    renormalise_top_label_rows(x, top, rest, c, r1 - r0, k, o + r0 * k);
  });
  return out;
}

nlohmann::json TopLabelMaps::to_json() const {
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [c, m] : per_class)
    classes[std::to_string(c)] = map_json(m);
  return {{"pooled", map_json(pooled)}, {"per_class", classes}};
}

void TopLabelMaps::from_json(const nlohmann::json& j, int64_t classes, Map1d::Kind kind) {
  pooled = map_from_json(j.at("pooled"), kind, "pooled map");
  per_class.clear();
  for (const auto& [key, m] : j.at("per_class").items()) {
    int64_t c = -1;
    try {
      c = std::stoll(key);
    } catch (const std::exception&) {
    }
    check(c >= 0 && c < classes, "per-class map '{}' is not a class in [0, {})", key, classes);
    per_class[c] = map_from_json(m, kind, "map of class " + key);
  }
}

} // namespace smoothlab::calib::detail

namespace smoothlab::calib {

FitReport TopLabelCalibrator::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  maps_.fit(logits, labels, min_class_count(), [this](const auto& x, const auto& y) { return fit_map(x, y); });
  FitReport r;
  r.converged = r.exact = true;
  return r;
}

torch::Tensor TopLabelCalibrator::log_probs_impl(const torch::Tensor& logits) const {
  return maps_.log_probs(logits);
}

nlohmann::json TopLabelCalibrator::parameters() const {
  auto j = maps_.to_json();
  j.update(settings());
  return j;
}

void TopLabelCalibrator::set_parameters(const nlohmann::json& parameters, int64_t classes) {
  load_settings(parameters);
  maps_.from_json(parameters, classes, kind_);
}

} // namespace smoothlab::calib
