// `smoothlab calibrate`: temperature scaling and every calibration metric for any framework's logits (.npy/.csv).
// Fits T on --logits/--labels, reports before/after on --test-logits/--test-labels (or the fit pair), writes
// calibration.json and the reliability diagrams (PNG + SVG).
// With --methods LIST|all: every listed post-hoc calibrator fitted on the fit pair (hyper-parameters by --folds-fold
// cross-validation there), evaluated on the test pair, ranked (calib/compare.h): comparison.json, the table,
// calibrators/<method>.json and the overlaid diagrams. `smoothlab calibrate apply --calibrator cal.json --logits X
// --out DIR` applies a saved calibrator and writes DIR/log_probs.npy (calibrated log-probabilities, float32 [N, K]).
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/compare.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/viz/reliability.h"

namespace smoothlab::cli {
namespace {

struct CalibrateArgs {
  std::string logits, labels, test_logits, test_labels, out, binning = "equal-width", title = "Reliability";
  std::vector<std::string> compare_logits, compare_labels, compare_names;
  int64_t bins = 15, bootstrap = 0;
  uint64_t seed = 0;
  double min_t = 1e-2, max_t = 1e2;
  int threads = 0;
  std::string methods;
  int64_t folds = 5;
  bool bootstrap_given = false; // --methods defaults to 1000 resamples; the TS report to none
};

struct ApplyArgs {
  std::string calibrator, logits, out;
  int threads = 0;
};

int run_apply(const ApplyArgs& a) {
  apply_threads(a.threads);
  const std::string text = read_file(a.calibrator);
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("--calibrator {}: not JSON ({})", a.calibrator, e.what()));
  }
  auto cal = calib::load_calibrator(state, a.calibrator);
  const auto logits = calib::load_logits(a.logits);
  calib::check_logits(logits, a.logits);
  if (logits.size(1) != cal->classes())
    throw Error(
        fmt::format(
            "--logits {}: K = {} classes, but --calibrator {} was fitted for K = {}",
            a.logits,
            logits.size(1),
            a.calibrator,
            cal->classes()),
        "apply a calibrator to logits of the model (and class set) it was fitted on");
  const auto log_q = cal->log_probs(logits).to(torch::kFloat32);
  const fs::path dir = a.out.empty() ? fs::path(".") : fs::path(a.out);
  fs::create_directories(dir);
  data::write_npy(dir / "log_probs.npy", log_q);
  std::cout << fmt::format(
      "applied {} ({} classes) to {} rows\nwrote {}\n",
      cal->name(),
      cal->classes(),
      logits.size(0),
      (dir / "log_probs.npy").string());
  return 0;
}

int run_compare(const CalibrateArgs& a) {
  apply_threads(a.threads);
  calib::CompareOptions options;
  options.methods = calib::parse_methods(a.methods);
  options.folds = a.folds;
  options.bins = a.bins;
  options.bootstrap = a.bootstrap_given ? a.bootstrap : 1000;
  options.seed = a.seed;
  if (options.bins < 1)
    throw Error(fmt::format("--bins must be at least 1, got {}", options.bins));
  auto fit = calib::load_labeled_logits(a.logits, a.labels);
  calib::LabeledLogits test;
  if (!a.test_logits.empty())
    test = calib::load_labeled_logits(a.test_logits, a.test_labels);
  const auto c = calib::compare_calibrators(fit.logits, fit.labels, test.logits, test.labels, options);
  auto json = calib::to_json(c);
  json["command"] = command_line();
  json["fit_on"] = a.logits;
  json["evaluated_on"] = a.test_logits.empty() ? a.logits : a.test_logits;
  const fs::path dir = a.out.empty() ? fs::path(a.logits).parent_path() : fs::path(a.out);
  const fs::path out = dir.empty() ? fs::path(".") : dir;
  fs::create_directories(out / "calibrators");
  write_file_atomic(out / "comparison.json", json.dump(2) + "\n");
  std::vector<fs::path> written{out / "comparison.json"};
  // One overlay of every method: smooth curves without bands (they would hide each other).
  const auto binning = calib::parse_binning(a.binning, "--binning");
  std::vector<viz::ReliabilityCurve> curves{
      viz::make_reliability_curve("uncalibrated", c.confidence, c.correct, a.bins, binning, 0)};
  for (const auto& r : c.rows) {
    write_file_atomic(out / "calibrators" / (r.name + ".json"), r.state.dump() + "\n");
    written.push_back(out / "calibrators" / (r.name + ".json"));
    curves.push_back(viz::make_reliability_curve(r.name, r.confidence, r.correct, a.bins, binning, 0));
  }
  for (const auto& p : viz::save_reliability_diagram(curves, out / "comparison", a.title))
    written.push_back(p);
  std::cout << calib::format_comparison(c);
  for (const auto& p : written)
    std::cout << fmt::format("wrote {}\n", p.string());
  return 0;
}

int run_calibrate(const CalibrateArgs& a) {
  if (a.logits.empty() || a.labels.empty())
    throw Error("--logits and --labels are required", "run 'smoothlab calibrate --help'");
  if (!a.methods.empty())
    return run_compare(a);
  apply_threads(a.threads);
  if (a.test_logits.empty() != a.test_labels.empty())
    throw Error("--test-logits and --test-labels go together", "give both, or neither to report on the fit pair");
  if (a.compare_logits.size() != a.compare_labels.size())
    throw Error(
        fmt::format("{} --compare-logits but {} --compare-labels", a.compare_logits.size(), a.compare_labels.size()),
        "give one --compare-labels per --compare-logits");
  const auto binning = calib::parse_binning(a.binning, "--binning");
  auto options = calib::ReportOptions()
                     .bins(a.bins)
                     .binning(binning)
                     .bootstrap(a.bootstrap)
                     .seed(a.seed)
                     .temperature(calib::TemperatureOptions().min_temperature(a.min_t).max_temperature(a.max_t));
  auto fit = calib::load_labeled_logits(a.logits, a.labels);
  calib::LabeledLogits test;
  if (!a.test_logits.empty())
    test = calib::load_labeled_logits(a.test_logits, a.test_labels);
  auto report =
      calib::calibration_report(fit.logits, fit.labels, test.logits, test.labels, options, a.logits, a.test_logits);
  auto json = calib::to_json(report);
  json["command"] = command_line();
  std::vector<viz::ReliabilityCurve> extra;
  for (size_t i = 0; i < a.compare_logits.size(); ++i) {
    auto other = calib::load_labeled_logits(a.compare_logits[i], a.compare_labels[i]);
    const std::string name = i < a.compare_names.size() ? a.compare_names[i] : a.compare_logits[i];
    calib::CalibrationMeter meter(calib::MeterOptions().bins(a.bins).binning(binning));
    meter.add(other.logits, other.labels);
    json["compare"].push_back(
        {{"name", name}, {"logits", a.compare_logits[i]}, {"metrics", calib::to_json(meter.value())}});
    extra.push_back(viz::make_reliability_curve(name, meter.confidence(), meter.correct(), a.bins, binning, 0));
  }
  const fs::path out = a.out.empty() ? fs::path(a.logits).parent_path() : fs::path(a.out);
  fs::create_directories(out.empty() ? fs::path(".") : out);
  const fs::path dir = out.empty() ? fs::path(".") : out;
  write_file_atomic(dir / "calibration.json", json.dump(2) + "\n");
  auto written = viz::save_calibration_diagrams(report, dir / "reliability", a.title, extra);
  std::cout << calib::format_report(report);
  for (const auto& c : json.value("compare", nlohmann::json::array()))
    std::cout << fmt::format(
        "compare {}: accuracy {:.4f}  NLL {:.4f}  ECE {:.4f}\n",
        c["name"].get<std::string>(),
        c["metrics"]["accuracy"].get<double>(),
        c["metrics"]["nll"].get<double>(),
        c["metrics"]["ece"].get<double>());
  std::cout << fmt::format("wrote {}\n", (dir / "calibration.json").string());
  for (const auto& p : written)
    std::cout << fmt::format("wrote {}\n", p.string());
  return 0;
}

const bool registered_calibrate = register_command(
    {"calibrate",
     "temperature scaling + calibration metrics and reliability diagrams for any logits (.npy/.csv)",
     25,
     [](CLI::App& sub) -> Runner {
       auto a = std::make_shared<CalibrateArgs>();
       auto apply = std::make_shared<ApplyArgs>();
       CLI::App* apply_cmd =
           sub.add_subcommand("apply", "apply a saved calibrator (calibrators/<method>.json) to logits");
       apply_cmd->add_option("--calibrator", apply->calibrator, "a saved calibrator (.json)")->required();
       apply_cmd->add_option("--logits", apply->logits, "logits to calibrate: .npy or .csv [N, K]")->required();
       apply_cmd->add_option("--out", apply->out, "output folder for log_probs.npy (default: .)");
       apply_cmd->add_option("--threads", apply->threads, "LibTorch threads (0: all cores)");
       sub.add_option("--logits", a->logits, "held-out logits to fit on: .npy float32/float64 [N, K] or .csv");
       sub.add_option("--labels", a->labels, "their labels: .npy int32/int64/uint8 [N] or .csv");
       sub.add_option(
           "--methods",
           a->methods,
           "compare calibrators: 'all' or a list of " + join(calib::calibrator_names(), ",") +
               " (temperature is always included as the reference)");
       sub.add_option("--folds", a->folds, "cross-validation folds on the fit pair (--methods)")->capture_default_str();
       sub.add_option("--test-logits", a->test_logits, "logits to report on (default: the fit pair)");
       sub.add_option("--test-labels", a->test_labels, "labels of --test-logits");
       sub.add_option("--bins", a->bins, "number of confidence bins")->capture_default_str();
       sub.add_option("--binning", a->binning, "equal-width | equal-mass")->capture_default_str();
       CLI::Option* bootstrap = sub.add_option(
           "--bootstrap",
           a->bootstrap,
           "bootstrap replicates for an ECE 95% interval (default 0: off), or with --methods of the paired intervals "
           "against TS (default 1000)");
       sub.add_option("--seed", a->seed, "bootstrap seed")->capture_default_str();
       sub.add_option("--min-temperature", a->min_t, "smallest T searched")->capture_default_str();
       sub.add_option("--max-temperature", a->max_t, "largest T searched")->capture_default_str();
       sub.add_option("--compare-logits", a->compare_logits, "another model's logits to overlay at T = 1 (repeatable)");
       sub.add_option("--compare-labels", a->compare_labels, "labels of each --compare-logits");
       sub.add_option("--compare-name", a->compare_names, "legend name of each --compare-logits");
       sub.add_option("--title", a->title, "diagram caption")->capture_default_str();
       sub.add_option("--out", a->out, "output folder (default: the folder of --logits)");
       sub.add_option("--threads", a->threads, "LibTorch threads (0: all cores)");
       return [a, apply, apply_cmd, bootstrap] {
         a->bootstrap_given = bootstrap->count() > 0;
         return apply_cmd->parsed() ? run_apply(*apply) : run_calibrate(*a);
       };
     }});

} // namespace
} // namespace smoothlab::cli
