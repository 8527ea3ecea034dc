// The study's tables from its run folders (tables.h).
#include "smoothlab/study/tables.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include "smoothlab/calib/bootstrap.h"
#include "smoothlab/calib/compare.h"
#include "smoothlab/core/error.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/data/split.h"
#include "smoothlab/represent/cluster_stats.h"
#include "smoothlab/represent/feature_model.h"
#include "smoothlab/represent/neural_collapse.h"
#include "smoothlab/represent/projection.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::study {

namespace fs = std::filesystem;
using Output = train::RunDir::Output; // a run's saved outputs (RUN_DIR/<split>_<kind>.npy)
using json = nlohmann::json;

Stat stat_of(const std::vector<double>& v) {
  Stat s;
  s.n = int64_t(v.size());
  if (v.empty())
    return s;
  double sum = 0;
  s.min = s.max = v[0];
  for (double x : v) {
    sum += x;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  s.mean = sum / double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v)
      ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / double(v.size() - 1));
  }
  return s;
}

json to_json(const Stat& s) {
  return {{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}, {"n", s.n}};
}

std::string format_epsilon(double epsilon) {
  return fmt::format("{:g}", epsilon);
}

double RunRow::temperature() const {
  return scaled() ? eval.temperature->temperature : NAN;
}
double RunRow::ece_ts() const {
  return eval.test_scaled ? eval.test_scaled->ece : NAN;
}
double RunRow::nll_ts() const {
  return eval.test_scaled ? eval.test_scaled->nll : NAN;
}
double RunRow::val_ece() const {
  return eval.val ? eval.val->ece : NAN;
}
calib::SelectiveMetrics RunRow::selective(bool logit_norm) const {
  if (!predictions)
    return calib::selective_metrics({}, {}); // NaN metrics
  return study::selective(*predictions, Resample{}, logit_norm);
}
double RunRow::gamma() const {
  return record.distill ? record.distill->teacher_gamma : NAN;
}
double RunRow::train_accuracy() const {
  return epochs.empty() ? NAN : epochs.back().train_accuracy;
}
std::optional<double> RunRow::val_accuracy() const {
  return epochs.empty() ? std::nullopt : epochs.back().val_accuracy;
}
bool RunRow::plateaued() const {
  const auto n_val = double(record.data.val_size);
  if (epochs.size() < 2 || !epochs.back().val_accuracy || n_val <= 0)
    return false;
  const double last = *epochs.back().val_accuracy;
  const double bound = 2 * std::sqrt(2.0) * std::sqrt(std::max(last * (1 - last), 1.0 / n_val) / n_val);
  const size_t from = std::min(epochs.size() - 2, epochs.size() - (epochs.size() + 3) / 4);
  for (size_t e = from; e + 1 < epochs.size(); ++e)
    if (!epochs[e].val_accuracy || std::abs(*epochs[e].val_accuracy - last) > bound)
      return false;
  return true;
}

const CalibRow* Tables::calibration_row(const std::string& group, double epsilon) const {
  for (const auto& r : calibration)
    if (r.group == group && r.epsilon == epsilon)
      return &r;
  return nullptr;
}

std::vector<const RunRow*> Tables::select(
    const std::string& group,
    std::optional<double> epsilon,
    std::optional<double> teacher_epsilon,
    std::optional<double> temperature) const {
  std::vector<const RunRow*> out;
  for (const auto& r : runs) {
    if (r.spec.group != group)
      continue;
    if (epsilon && r.spec.epsilon != *epsilon)
      continue;
    if (teacher_epsilon && r.spec.teacher_epsilon != *teacher_epsilon)
      continue;
    if (temperature && r.spec.temperature != *temperature)
      continue;
    out.push_back(&r);
  }
  return out;
}

namespace {

std::vector<float> floats_of(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}
std::vector<int64_t> longs_of(const torch::Tensor& t) {
  const auto c = t.to(torch::kInt64).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// The run's test and val logits and labels (the study's evaluation writes them): null when the test logits are absent.
std::shared_ptr<const RunPredictions> read_predictions(const train::RunDir& dir, int64_t classes, double temperature) {
  const auto test_logits = dir.outputs_file(data::Split::Test, Output::Logits),
             test_labels = dir.outputs_file(data::Split::Test, Output::Labels);
  if (!fs::exists(test_logits) || !fs::exists(test_labels))
    return nullptr;
  std::vector<float> vl;
  std::vector<int64_t> vy;
  if (fs::exists(dir.outputs_file(data::Split::Val, Output::Logits))) {
    vl = floats_of(data::read_npy(dir.outputs_file(data::Split::Val, Output::Logits)));
    vy = longs_of(data::read_npy(dir.outputs_file(data::Split::Val, Output::Labels)));
  }
  const auto tl = data::read_npy(test_logits);
  if (tl.dim() != 2 || tl.size(1) != classes)
    throw Error(fmt::format("{}: expected logits of {} classes", test_logits.string(), classes), "rerun the study");
  return std::make_shared<RunPredictions>(
      make_predictions(floats_of(tl), longs_of(data::read_npy(test_labels)), vl, vy, classes, temperature));
}

} // namespace

RunRow read_run(const RunSpec& spec, const fs::path& runs_dir) {
  RunRow r;
  r.spec = spec;
  r.dir = runs_dir / spec.name;
  const train::RunDir dir(r.dir);
  r.record = dir.read_config();
  r.eval = dir.read_eval();
  r.calibration = dir.read_calibration();
  r.epochs = dir.read_metrics();
  for (const auto& e : r.epochs)
    r.train_seconds += e.seconds;
  r.predictions = read_predictions(dir, r.record.data.num_classes, r.temperature());
  return r;
}

namespace {

template <typename F>
Stat stat_over(const std::vector<const RunRow*>& runs, F f) {
  std::vector<double> v;
  for (auto* r : runs) {
    const double x = f(*r);
    if (std::isfinite(x))
      v.push_back(x);
  }
  return stat_of(v);
}

CalibRow calibration_row(const std::string& group, double eps, const std::vector<const RunRow*>& sel) {
  CalibRow row;
  row.group = group;
  row.epsilon = eps;
  row.accuracy = stat_over(sel, [](auto& r) { return r.eval.test.accuracy; });
  row.nll = stat_over(sel, [](auto& r) { return r.eval.test.nll; });
  row.ece = stat_over(sel, [](auto& r) { return r.eval.test.ece; });
  row.mean_confidence = stat_over(sel, [](auto& r) { return r.eval.test.mean_confidence; });
  row.temperature = stat_over(sel, [](auto& r) { return r.temperature(); });
  row.ece_ts = stat_over(sel, [](auto& r) { return r.ece_ts(); });
  row.nll_ts = stat_over(sel, [](auto& r) { return r.nll_ts(); });
  row.val_ece = stat_over(sel, [](auto& r) { return r.val_ece(); });
  row.aurc = stat_over(sel, [](auto& r) { return r.selective().aurc; });
  row.e_aurc = stat_over(sel, [](auto& r) { return r.selective().e_aurc; });
  row.augrc = stat_over(sel, [](auto& r) { return r.selective().augrc; });
  row.aurc_logit_norm = stat_over(sel, [](auto& r) { return r.selective(true).aurc; });
  for (auto* r : sel)
    row.test_count = r->eval.test.count;
  return row;
}

// Percentile interval of Δ(rows) over resamples of n paired examples (rows: int64 indices drawn with replacement;
// undefined: the full sample). A resample whose Δ throws Error (it lost a class entirely) is skipped.
Interval rows_interval(int64_t n, const std::function<double(const torch::Tensor&)>& delta, const EvidenceOptions& s) {
  Interval out;
  out.estimate = delta(torch::Tensor());
  std::vector<double> values;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s.seed);
  for (int64_t r = 0; r < s.resamples; ++r) {
    const auto rows = torch::randint(n, {n}, gen, torch::kInt64);
    try {
      values.push_back(delta(rows));
    } catch (const Error&) {
    }
  }
  if (values.size() < 2)
    return out;
  set_percentiles(out, std::move(values), s);
  out.seeds = 1;
  out.test_examples = n;
  return out;
}

// Paired bootstrap of tightness(run 0) − tightness(run 1) on the training panels of a projection: the same examples
// (rows) in both runs, resampled with replacement.
Interval tightness_interval(const represent::ProjectResult& result, const EvidenceOptions& s) {
  Interval out;
  if (result.panels.size() < 2 || result.panels[0].empty() || result.panels[1].empty())
    return out;
  const auto& a = result.panels[0][0];
  const auto& b = result.panels[1][0];
  if (a.labels.numel() != b.labels.numel() || !a.labels.equal(b.labels))
    return out;
  auto tightness = [&](const represent::ProjectedSplit& p, const torch::Tensor& rows) {
    const auto coords = rows.defined() ? p.coords.index_select(0, rows) : p.coords;
    const auto labels = rows.defined() ? p.labels.index_select(0, rows) : p.labels;
    return represent::cluster_stats(coords, torch::Tensor(), labels, result.classes).tightness_plane;
  };
  return rows_interval(
      a.labels.numel(), [&](const torch::Tensor& rows) { return tightness(a, rows) - tightness(b, rows); }, s);
}

void add_projections(Tables& t, const StudyPreset& preset, const std::string& data) {
  auto hard = t.select("teacher", 0.0), ls = t.select("teacher", preset.claim_epsilon);
  if (hard.empty() || ls.empty())
    return;
  const auto classes = choose_classes(data);
  for (const auto& [kind, triple] : std::vector<std::pair<std::string, std::string>>{
           {"dissimilar", classes.dissimilar}, {"similar", classes.similar}}) {
    ProjectionRow row;
    row.kind = kind;
    row.classes = triple;
    try {
      row.result = std::make_shared<represent::ProjectResult>(represent::project_runs(
          {hard[0]->dir, ls[0]->dir},
          represent::ProjectOptions()
              .classes(triple)
              .per_class(preset.projection_per_class)
              .splits({data::Split::Train, data::Split::Val})));
    } catch (const Error& e) {
      t.notes.push_back(fmt::format("projection ({}, classes {}) skipped: {}", kind, triple, e.what()));
      continue;
    }
    row.comparison = row.result->comparison;
    if (row.comparison)
      row.tightness_difference = tightness_interval(*row.result, t.bootstrap);
    t.projection.push_back(std::move(row));
  }
}

// NC1 and NC2 of the first seed's ε = 0 and claim-ε teachers on the same un-augmented training examples
// (up to kCollapsePerClass of each class), and the paired interval of NC1(0) − NC1(ε).
void add_neural_collapse(Tables& t, const StudyPreset& preset) {
  auto hard = t.select("teacher", 0.0), ls = t.select("teacher", preset.claim_epsilon);
  if (hard.empty() || ls.empty() || t.num_classes < 2)
    return;
  std::vector<torch::Tensor> features, labels_of;
  try {
    for (const RunRow* r : {hard[0], ls[0]}) {
      auto run = train::load_run(r->dir);
      std::vector<int64_t> classes(static_cast<size_t>(t.num_classes));
      std::iota(classes.begin(), classes.end(), int64_t(0));
      const auto rows = represent::select_examples_of(run.data.train.labels, classes, kCollapsePerClass, 0);
      auto model = represent::classifier_feature_model(run.model, run.device);
      auto set = represent::collect_features(*model, run.data.train.subset(rows), run.data.mean, run.data.std);
      features.push_back(set.features.narrow(1, 0, set.features.size(1) - 1)); // without the bias column
      labels_of.push_back(set.labels);
      t.collapse.push_back({r->spec.epsilon, represent::neural_collapse(features.back(), set.labels, t.num_classes)});
    }
  } catch (const Error& e) {
    t.notes.push_back(fmt::format("neural collapse skipped: {}", e.what()));
    t.collapse.clear();
    return;
  }
  // Paired: the same training examples in both runs (the runs' splits agree), or no interval.
  if (!labels_of[0].equal(labels_of[1])) {
    t.notes.push_back("neural collapse: the two teachers' training splits differ, so NC1 has no paired interval");
    return;
  }
  const auto& labels = labels_of[0];
  const int64_t k = t.num_classes;
  t.nc1_difference = rows_interval(
      labels.numel(),
      [&](const torch::Tensor& rows) {
        auto nc1 = [&](const torch::Tensor& f) {
          return rows.defined()
              ? represent::neural_collapse(f.index_select(0, rows), labels.index_select(0, rows), k).nc1
              : represent::neural_collapse(f, labels, k).nc1;
        };
        return nc1(features[0]) - nc1(features[1]);
      },
      t.bootstrap);
}

// Multiplicities of n examples in a resample's rows (undefined rows: the full sample, empty counts).
std::vector<uint32_t> counts_of(const torch::Tensor& rows, int64_t n) {
  std::vector<uint32_t> counts;
  if (!rows.defined())
    return counts;
  counts.assign(static_cast<size_t>(n), 0);
  const auto r = rows.contiguous();
  for (int64_t i = 0; i < r.numel(); ++i)
    counts[size_t(r.data_ptr<int64_t>()[i])] += 1;
  return counts;
}

// One transfer model: its probe on the unseen classes and its detection scores; `known` gets the detection set's
// seen (1) / unseen (0) flags, `unseen_labels` the unseen classes' test labels (to check that the two models' sets
// are the same examples).
TransferRow transfer_row(const RunRow& r, TransferTable& tt, torch::Tensor& unseen_labels) {
  auto run = train::load_run(r.dir);
  // The other half of the classes, on the same splits: every class of the data, then those the run did not see.
  auto options = train::data_options(run.config);
  options.classes.clear();
  auto unseen = data::load_data(options);
  const auto seen_idx = data::parse_classes(run.config.data.classes, unseen.class_names, "--classes");
  std::vector<std::string> rest;
  for (int64_t k = 0; k < unseen.num_classes; ++k)
    if (std::find(seen_idx.begin(), seen_idx.end(), k) == seen_idx.end())
      rest.push_back(std::to_string(k));
  tt.seen = join(run.data.class_names, ",");
  data::keep_classes(unseen, join(rest, ","));
  tt.unseen = join(unseen.class_names, ",");
  auto model = represent::classifier_feature_model(run.model, run.device);
  auto features = [&](const data::Dataset& d) {
    auto set = represent::collect_features(*model, d, run.data.mean, run.data.std);
    set.features = set.features.narrow(1, 0, set.features.size(1) - 1); // without the bias column
    return set;
  };
  std::vector<int64_t> all(static_cast<size_t>(unseen.num_classes));
  std::iota(all.begin(), all.end(), int64_t(0));
  const auto train_set =
      features(unseen.train.subset(represent::select_examples_of(unseen.train.labels, all, kProbePerClass, 0)));
  const auto val_set = features(unseen.val);
  const auto test_set = features(unseen.test);
  TransferRow row;
  row.epsilon = r.spec.epsilon;
  row.probe = represent::linear_probe(
      train_set.features,
      train_set.labels,
      val_set.features,
      val_set.labels,
      test_set.features,
      test_set.labels,
      unseen.num_classes);
  // Detection: the run's own test images (seen classes) against the unseen classes' test images.
  const auto seen_logits = features(run.data.test).logits;
  const auto logits = torch::cat({seen_logits, test_set.logits}).contiguous();
  const int64_t n = logits.size(0), k = logits.size(1);
  tt.known.assign(static_cast<size_t>(n), 0);
  std::fill(tt.known.begin(), tt.known.begin() + seen_logits.size(0), uint8_t(1));
  for (auto score : calib::kOpenSetScores) {
    const auto ranked = calib::rank_scores(calib::open_set_score(logits.data_ptr<float>(), n, k, score));
    row.detection.push_back({score, calib::detection_metrics(ranked, tt.known)});
    if (score == calib::OpenSetScore::MaxSoftmax)
      row.ranked_msp = ranked;
  }
  tt.probe_train = train_set.labels.numel();
  tt.probe_val = val_set.labels.numel();
  tt.seen_test = seen_logits.size(0);
  tt.unseen_test = test_set.labels.numel();
  unseen_labels = torch::cat({run.data.test.labels, test_set.labels});
  return row;
}

// The transfer regime's first seed: both models' rows, and the paired intervals of the probe accuracy and the
// max-softmax AUROC over the same test examples.
void add_transfer(Tables& t, const StudyPreset& preset) {
  auto hard = t.select("transfer", 0.0), ls = t.select("transfer", preset.claim_epsilon);
  if (hard.empty() || ls.empty())
    return;
  TransferTable tt;
  tt.regime = preset.transfer_regime;
  torch::Tensor labels[2];
  try {
    tt.rows.push_back(transfer_row(*hard[0], tt, labels[0]));
    tt.rows.push_back(transfer_row(*ls[0], tt, labels[1]));
  } catch (const Error& e) {
    t.notes.push_back(fmt::format("transfer and unseen-class detection skipped: {}", e.what()));
    return;
  }
  if (!labels[0].equal(labels[1])) { // paired: the same test examples for both models, or no interval
    t.notes.push_back("transfer: the two models' test splits differ, so the probe and AUROC have no paired interval");
    t.transfer = std::move(tt);
    return;
  }
  const auto& a = tt.rows[0];
  const auto& b = tt.rows[1];
  const auto m = int64_t(a.probe.test_correct.size());
  tt.probe_difference = rows_interval(
      m,
      [&](const torch::Tensor& rows) {
        const auto w = counts_of(rows, m);
        double diff = 0, total = 0;
        for (size_t i = 0; i < size_t(m); ++i) {
          const double weight = w.empty() ? 1.0 : double(w[i]);
          diff += weight * (double(a.probe.test_correct[i]) - double(b.probe.test_correct[i]));
          total += weight;
        }
        return diff / total;
      },
      t.bootstrap);
  const auto n = int64_t(tt.known.size());
  tt.auroc_difference = rows_interval(
      n,
      [&](const torch::Tensor& rows) {
        const auto w = counts_of(rows, n);
        const uint32_t* weights = w.empty() ? nullptr : w.data();
        const double d = calib::detection_metrics(a.ranked_msp, tt.known, weights).auroc -
            calib::detection_metrics(b.ranked_msp, tt.known, weights).auroc;
        if (!std::isfinite(d))
          throw Error("a resample without seen or unseen examples");
        return d;
      },
      t.bootstrap);
  t.transfer = std::move(tt);
}

void add_noise(Tables& t, const StudyPreset& preset) {
  if (preset.noisy.optimiser.epochs <= 0)
    return;
  t.label_noise = preset.label_noise;
  t.noisy_regime = preset.noisy_regime;
  for (double eps : preset.noise_epsilons) {
    const auto sel = t.select("noisy", eps);
    if (sel.empty())
      continue;
    NoiseRow row;
    row.epsilon = eps;
    row.accuracy = stat_over(sel, [](auto& r) { return r.eval.test.accuracy; });
    row.ece = stat_over(sel, [](auto& r) { return r.eval.test.ece; });
    row.val_accuracy = stat_over(sel, [](auto& r) { return r.eval.val ? r.eval.val->accuracy : NAN; });
    t.noise.push_back(row);
  }
}

void add_distillation(Tables& t, const StudyPreset& preset) {
  if (preset.student.optimiser.epochs <= 0)
    return;
  auto add_row = [&](const std::string& series,
                     const std::vector<const RunRow*>& sel,
                     double teacher_eps,
                     double temp,
                     bool direct) {
    if (sel.empty())
      return;
    DistillRow row;
    row.series = series;
    row.teacher_epsilon = teacher_eps;
    row.temperature = temp;
    row.student_accuracy = stat_over(sel, [](auto& r) { return r.eval.test.accuracy; });
    row.student_ece = stat_over(sel, [](auto& r) { return r.eval.test.ece; });
    row.student_val_accuracy = stat_over(sel, [](auto& r) { return r.val_accuracy().value_or(NAN); });
    row.runs = int64_t(sel.size());
    for (auto* r : sel) {
      row.plateaued_runs += r->plateaued() ? 1 : 0;
      for (size_t e = 0; e < r->epochs.size(); ++e) {
        if (row.val_curve.size() <= e)
          row.val_curve.push_back(0);
        row.val_curve[e] += r->epochs[e].val_accuracy.value_or(NAN) / double(sel.size());
      }
    }
    if (direct) {
      row.gamma = stat_of(std::vector<double>(sel.size(), sel[0]->spec.epsilon));
    } else {
      row.gamma = stat_over(sel, [](auto& r) { return r.gamma(); });
      row.teacher_accuracy = stat_over(t.select("teacher", teacher_eps), [](auto& r) { return r.eval.test.accuracy; });
    }
    t.distillation.push_back(row);
  };
  for (double temp : preset.temperatures)
    add_row("hard teacher", t.select("student", std::nullopt, 0.0, temp), 0.0, temp, false);
  for (double eps : preset.epsilons)
    if (eps > 0)
      add_row("smoothed teacher", t.select("student", std::nullopt, eps, 1.0), eps, 1.0, false);
  for (double eps : preset.student_epsilons)
    add_row("trained with LS (no teacher)", t.select("direct", eps), eps, 0, true);
}

void add_mutual_information(Tables& t, const StudyPreset& preset) {
  for (double eps : preset.epsilons) {
    std::map<int64_t, std::vector<double>> by_step;
    int64_t steps_per_epoch = 0;
    for (auto* r : t.select("teacher", eps)) {
      std::map<int64_t, double> run_points; // one value per step: an epoch's end and the next step-0 probe coincide
      int64_t step = 0;
      for (const auto& e : r->epochs) {
        for (const auto& m : e.mi_steps)
          run_points.emplace(m.step, m.mi);
        step += e.steps;
        if (e.steps > 0)
          steps_per_epoch = e.steps;
        if (e.mi)
          run_points.emplace(e.steps > 0 ? step : -e.epoch, *e.mi); // records without steps: keyed by epoch
      }
      for (auto& [s, mi] : run_points)
        by_step[s].push_back(mi);
    }
    if (by_step.empty())
      continue;
    MiRow row;
    row.epsilon = eps;
    for (auto& [step, values] : by_step)
      row.points.push_back(
          {step,
           step < 0 ? double(-step) : double(step) / double(std::max<int64_t>(1, steps_per_epoch)),
           stat_of(values)});
    std::sort(
        row.points.begin(), row.points.end(), [](const MiPoint& a, const MiPoint& b) { return a.epoch < b.epoch; });
    t.mutual_information.push_back(row);
  }
}

// The comparison of every post-hoc calibrator on one run's validation (fit) and test (evaluation) logits.
calib::Comparison compare_posthoc(const RunRow& r, const EvidenceOptions& bootstrap) {
  const train::RunDir dir(r.dir);
  const auto& p = *r.predictions;
  const auto val_n = int64_t(p.val_labels.size());
  const auto val_logits =
      torch::from_blob(const_cast<float*>(p.val_logits.data()), {val_n, p.classes}, torch::kFloat32);
  const auto val_labels = torch::from_blob(const_cast<int64_t*>(p.val_labels.data()), {val_n}, torch::kInt64);
  calib::CompareOptions o;
  o.bins = bootstrap.bins;
  o.bootstrap = 0; // the study's own paired bootstrap gives the intervals (claims.h)
  o.seed = bootstrap.seed;
  return calib::compare_calibrators(
      val_logits,
      val_labels,
      data::read_npy(dir.outputs_file(data::Split::Test, Output::Logits)),
      data::read_npy(dir.outputs_file(data::Split::Test, Output::Labels)),
      o);
}

// PostHocChoice of every ε = 0 run of a regime that kept its validation split (tables.h).
void add_posthoc(Tables& t) {
  std::vector<RunRow*> todo;
  for (auto& r : t.runs) {
    if (r.spec.epsilon != 0 || !r.predictions || r.predictions->val_labels.empty())
      continue;
    bool in_regime = false;
    for (const auto& g : t.regimes)
      in_regime = in_regime || g.group == r.spec.group;
    if (!in_regime)
      continue;
    const auto val_n = int64_t(r.predictions->val_labels.size());
    const int64_t folds = calib::CompareOptions{}.folds;
    if (val_n < folds) {
      t.notes.push_back(fmt::format(
          "{}: no best post-hoc calibrator (its {} validation examples are fewer than the {} folds)",
          r.spec.name,
          val_n,
          folds));
      continue;
    }
    todo.push_back(&r);
  }
  // The comparisons are independent: one task each. A task's folds then run on its own thread (a nested parallel
  // region runs inline), so the regimes' comparisons share the cores instead of queueing behind each other's last
  // fold; a comparison's numbers do not depend on the thread count (compare.h).
  std::vector<std::optional<calib::Comparison>> done(todo.size());
  std::vector<std::string> failed(todo.size());
  at::parallel_for(0, int64_t(todo.size()), 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      try {
        done[size_t(i)] = compare_posthoc(*todo[size_t(i)], t.bootstrap);
      } catch (const Error& e) { // e.g. a single-class split: the comparison is left out, the rest of the study stands
        failed[size_t(i)] = e.what();
      }
    }
  });
  for (size_t i = 0; i < todo.size(); ++i) {
    RunRow& r = *todo[i];
    if (!done[i]) {
      t.notes.push_back(fmt::format("{}: no best post-hoc calibrator: {}", r.spec.name, failed[i]));
      continue;
    }
    const calib::Comparison& c = *done[i];
    std::vector<const calib::MethodResult*> by_cv;
    for (const auto& m : c.rows)
      if (std::isfinite(m.cv_nll))
        by_cv.push_back(&m);
    if (by_cv.empty())
      continue;
    std::stable_sort(by_cv.begin(), by_cv.end(), [](auto* a, auto* b) { return a->cv_nll < b->cv_nll; });
    const auto& best = *by_cv.front();
    PostHocChoice choice;
    choice.method = best.name;
    choice.cv_nll = best.cv_nll;
    choice.ece = best.metrics.ece;
    choice.nll = best.metrics.nll;
    choice.accuracy = best.metrics.accuracy;
    for (const auto* m : by_cv)
      choice.ranking.push_back({m->name, m->cv_nll, m->metrics.ece, m->metrics.nll});
    auto with = std::make_shared<RunPredictions>(*r.predictions);
    with->confidence_posthoc.assign(best.confidence.begin(), best.confidence.end());
    with->correct_posthoc = best.correct;
    r.predictions = std::move(with);
    r.posthoc = std::move(choice);
  }
}

} // namespace

Tables make_tables(
    const StudyPreset& preset,
    const std::string& data,
    const std::vector<RunSpec>& plan,
    const fs::path& runs_dir) {
  Tables t;
  t.claim_epsilon = preset.claim_epsilon;
  t.teacher_regime = preset.teacher_regime;
  t.seeds = int64_t(preset.seeds.size());
  t.mi_examples = preset.teacher.probe.mi_examples;
  t.regimes = {{"teacher", preset.teacher_regime, preset.epsilons}};
  if (preset.overconf.optimiser.epochs > 0)
    t.regimes.push_back({"overconf", preset.overconf_regime, preset.overconf_epsilons});
  t.runs.reserve(plan.size());
  for (const auto& spec : plan)
    t.runs.push_back(read_run(spec, runs_dir));
  if (!t.runs.empty()) {
    t.test_count = t.runs[0].eval.test.count;
    t.num_classes = t.runs[0].record.data.num_classes;
  }
  for (const auto& g : t.regimes)
    for (double eps : g.epsilons)
      t.calibration.push_back(calibration_row(g.group, eps, t.select(g.group, eps)));
  add_posthoc(t);
  add_projections(t, preset, data);
  add_neural_collapse(t, preset);
  add_transfer(t, preset);
  add_noise(t, preset);
  add_distillation(t, preset);
  add_mutual_information(t, preset);
  return t;
}

namespace {

json ranking_json(const std::vector<PostHocChoice::Ranked>& ranking) {
  json out = json::array();
  for (const auto& m : ranking)
    out.push_back({{"method", m.method}, {"cv_nll", m.cv_nll}, {"ece", m.ece}, {"nll", m.nll}});
  return out;
}

// One run's entry in summary.json's "runs": its spec, test metrics, and what was derived from it.
json run_json(const RunRow& r) {
  json j = to_json(r.spec);
  const auto& test = r.eval.test;
  j["test"] = {
      {"accuracy", test.accuracy},
      {"nll", test.nll},
      {"ece", test.ece},
      {"mean_confidence", test.mean_confidence},
      {"count", test.count}};
  if (r.scaled())
    j["temperature_scaled"] = {{"temperature", r.temperature()}, {"ece", r.ece_ts()}, {"nll", r.nll_ts()}};
  j["val_ece"] = std::isfinite(r.val_ece()) ? json(r.val_ece()) : json(nullptr);
  if (r.predictions) {
    const auto msp = r.selective(), norm = r.selective(true);
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    j["selective"] = {
        {"score", "max softmax probability"},
        {"aurc", num(msp.aurc)},
        {"e_aurc", num(msp.e_aurc)},
        {"augrc", num(msp.augrc)},
        {"logit_norm",
         {{"score", "max_k z_k / ||z||_p, p chosen on validation by AURC"},
          {"p", r.predictions->logit_norm_p > 0 ? json(r.predictions->logit_norm_p) : json(nullptr)},
          {"aurc", num(norm.aurc)},
          {"e_aurc", num(norm.e_aurc)},
          {"augrc", num(norm.augrc)}}}};
  }
  if (r.posthoc)
    j["best_posthoc"] = {
        {"method", r.posthoc->method},
        {"chosen_by", "lowest 5-fold cross-validated NLL on the validation split"},
        {"cv_nll", r.posthoc->cv_nll},
        {"ece", r.posthoc->ece},
        {"nll", r.posthoc->nll},
        {"accuracy", r.posthoc->accuracy},
        {"ranking", ranking_json(r.posthoc->ranking)}};
  j["train_seconds"] = r.train_seconds;
  j["train_accuracy"] = r.train_accuracy();
  if (std::isfinite(r.gamma()))
    j["teacher_gamma"] = r.gamma();
  json mi = json::array();
  for (const auto& e : r.epochs)
    if (e.mi)
      mi.push_back({{"epoch", e.epoch}, {"mi", *e.mi}});
  if (!mi.empty())
    j["mi"] = mi;
  return j;
}

json calibration_json(const Tables& t) {
  json calibration = json::array();
  for (const auto& c : t.calibration)
    calibration.push_back(
        {{"group", c.group},
         {"epsilon", c.epsilon},
         {"accuracy", to_json(c.accuracy)},
         {"nll", to_json(c.nll)},
         {"ece", to_json(c.ece)},
         {"mean_confidence", to_json(c.mean_confidence)},
         {"temperature", to_json(c.temperature)},
         {"ece_ts", to_json(c.ece_ts)},
         {"nll_ts", to_json(c.nll_ts)},
         {"val_ece", to_json(c.val_ece)},
         {"aurc", to_json(c.aurc)},
         {"e_aurc", to_json(c.e_aurc)},
         {"augrc", to_json(c.augrc)},
         {"aurc_logit_norm", to_json(c.aurc_logit_norm)}});
  return calibration;
}

json distillation_json(const Tables& t) {
  json distillation = json::array();
  for (const auto& d : t.distillation) {
    json row = {
        {"series", d.series},
        {"teacher_epsilon", d.teacher_epsilon},
        {"temperature", d.temperature},
        {"student_accuracy", to_json(d.student_accuracy)},
        {"student_ece", to_json(d.student_ece)},
        {"student_val_accuracy", to_json(d.student_val_accuracy)},
        {"gamma", to_json(d.gamma)},
        {"val_curve", d.val_curve},
        {"runs", d.runs},
        {"plateaued_runs", d.plateaued_runs}};
    if (d.teacher_accuracy)
      row["teacher_accuracy"] = to_json(*d.teacher_accuracy);
    distillation.push_back(row);
  }
  return distillation;
}

json mutual_information_json(const Tables& t) {
  json mi = json::array();
  for (const auto& m : t.mutual_information) {
    json points = json::array();
    for (const auto& p : m.points)
      points.push_back({{"step", p.step}, {"epoch", p.epoch}, {"mi", to_json(p.mi)}});
    mi.push_back({{"epsilon", m.epsilon}, {"points", points}});
  }
  return mi;
}

json collapse_json(const Tables& t) {
  json collapse = json::array();
  for (const auto& c : t.collapse) {
    json j = represent::to_json(c.nc);
    j["epsilon"] = c.epsilon;
    collapse.push_back(j);
  }
  return collapse;
}

// The transfer table, or null when the preset has no transfer regime.
json transfer_json(const Tables& t) {
  if (!t.transfer)
    return nullptr;
  const auto& tt = *t.transfer;
  json rows = json::array();
  for (const auto& r : tt.rows) {
    json detection = json::object();
    for (const auto& [score, m] : r.detection)
      detection[calib::score_name(score)] = {{"auroc", m.auroc}, {"fpr95", m.fpr95}};
    rows.push_back({{"epsilon", r.epsilon}, {"probe", represent::to_json(r.probe)}, {"detection", detection}});
  }
  return {
      {"regime", tt.regime},
      {"seen_classes", tt.seen},
      {"unseen_classes", tt.unseen},
      {"probe_train_examples", tt.probe_train},
      {"probe_val_examples", tt.probe_val},
      {"seen_test_examples", tt.seen_test},
      {"unseen_test_examples", tt.unseen_test},
      {"fpr95_convention", kFpr95Convention},
      {"rows", rows}};
}

json label_noise_json(const Tables& t) {
  json noise = json::array();
  for (const auto& r : t.noise)
    noise.push_back(
        {{"epsilon", r.epsilon},
         {"accuracy", to_json(r.accuracy)},
         {"val_accuracy", to_json(r.val_accuracy)},
         {"ece", to_json(r.ece)}});
  return {
      {"share_of_wrong_labels", t.label_noise},
      {"regime", t.noisy_regime},
      {"convention", kLabelNoiseConvention},
      {"rows", noise}};
}

json projection_json(const Tables& t) {
  json projection = json::object();
  for (const auto& p : t.projection) {
    json j = {{"classes", p.classes}};
    if (p.comparison)
      j["comparison"] = represent::to_json(*p.comparison);
    projection[p.kind] = j;
  }
  return projection;
}

} // namespace

json to_json(const Tables& t) {
  json runs = json::array();
  for (const auto& r : t.runs)
    runs.push_back(run_json(r));
  return {
      {"runs", runs},
      {"tables",
       {{"calibration", calibration_json(t)},
        {"distillation", distillation_json(t)},
        {"mutual_information", mutual_information_json(t)},
        {"neural_collapse", collapse_json(t)},
        {"transfer", transfer_json(t)},
        {"label_noise", label_noise_json(t)}}},
      {"projection", projection_json(t)},
      {"notes", t.notes}};
}

} // namespace smoothlab::study
