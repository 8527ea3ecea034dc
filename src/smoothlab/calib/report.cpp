// Temperature fit + metrics before/after + bootstrap intervals (see report.h).
#include "smoothlab/calib/report.h"

#include <fmt/format.h>

#include "smoothlab/calib/inputs.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

namespace {

std::pair<CalibrationMetrics, CalibrationMeter> measure(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const ReportOptions& options,
    double temperature) {
  CalibrationMeter meter(MeterOptions().bins(options.bins()).binning(options.binning()).temperature(temperature));
  meter.add(logits, labels);
  auto value = meter.value();
  return {value, std::move(meter)};
}

} // namespace

void ReportOptions::validate() const {
  check(bins() >= 1, "--bins must be at least 1, got {}", bins());
  check(
      bootstrap() == 0 || bootstrap() >= 2,
      "--bootstrap must be 0 (off) or at least 2 replicates, got {}",
      bootstrap());
  check(level() > 0 && level() < 1, "the confidence level must lie in (0, 1), got {}", level());
  temperature().validate();
}

CalibrationReport calibration_report(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const torch::Tensor& eval_logits,
    const torch::Tensor& eval_labels,
    const ReportOptions& options,
    const std::string& fit_name,
    const std::string& eval_name) {
  options.validate();
  check_logits(fit_logits, fit_name);
  check_labels(fit_labels, fit_logits.size(0), fit_logits.size(1), fit_name + " labels", fit_name);
  CalibrationReport r;
  r.fit_name = fit_name;
  r.evaluated_on_fit_split = !eval_logits.defined();
  r.eval_name = r.evaluated_on_fit_split ? fit_name : eval_name;
  const auto& logits = r.evaluated_on_fit_split ? fit_logits : eval_logits;
  const auto& labels = r.evaluated_on_fit_split ? fit_labels : eval_labels;
  if (!r.evaluated_on_fit_split) {
    check_logits(eval_logits, eval_name);
    check_labels(eval_labels, eval_logits.size(0), eval_logits.size(1), eval_name + " labels", eval_name);
    if (eval_logits.size(1) != fit_logits.size(1))
      throw Error(
          fmt::format(
              "{} has K = {} classes but {} has K = {}", eval_name, eval_logits.size(1), fit_name, fit_logits.size(1)),
          "fit and evaluate logits of the same model");
  }
  r.fit = fit_temperature(fit_logits, fit_labels, options.temperature());
  auto [before, meter_before] = measure(logits, labels, options, 1.0);
  auto [after, meter_after] = measure(logits, labels, options, r.fit.temperature);
  r.before = before;
  r.after = after;
  r.fit_before = r.evaluated_on_fit_split ? before : measure(fit_logits, fit_labels, options, 1.0).first;
  r.confidence_before = meter_before.confidence();
  r.confidence_after = meter_after.confidence();
  r.correct = meter_before.correct();
  if (options.bootstrap() > 0) {
    auto bo = BootstrapOptions()
                  .replicates(options.bootstrap())
                  .seed(options.seed())
                  .level(options.level())
                  .bins(options.bins())
                  .binning(options.binning());
    r.ci_before = bootstrap_ece(r.confidence_before, r.correct, bo);
    r.ci_after = bootstrap_ece(r.confidence_after, r.correct, bo);
  }
  return r;
}

nlohmann::json to_json(const CalibrationReport& r) {
  auto fit = to_json(r.fit);
  fit["on"] = r.fit_name;
  fit["metrics_before"] = to_json(r.fit_before, false);
  nlohmann::json j = {
      {"bins", r.before.bins},
      {"binning", binning_name(r.before.binning)},
      {"fit", fit},
      {"evaluated_on", r.eval_name},
      {"evaluated_on_fit_split", r.evaluated_on_fit_split},
      {"before", to_json(r.before)},
      {"after", to_json(r.after)}};
  if (r.ci_before)
    j["bootstrap"] = {{"before", to_json(*r.ci_before)}, {"after", to_json(*r.ci_after)}};
  return j;
}

std::string format_report(const CalibrationReport& r) {
  std::string out = fmt::format(
      "temperature fitted on {} (n = {}): T = {:.4f}  NLL {:.4f} -> {:.4f}  ({} iterations{}{})\n",
      r.fit_name,
      r.fit.count,
      r.fit.temperature,
      r.fit.nll_before,
      r.fit.nll_after,
      r.fit.iterations,
      r.fit.converged ? "" : ", NOT converged",
      r.fit.at_bound ? ", at the temperature bound" : "");
  out += fmt::format(
      "metrics on {} (n = {}, K = {}){}:\n",
      r.eval_name,
      r.before.count,
      r.before.classes,
      r.evaluated_on_fit_split ? " — the split T was fitted on, so 'after' is optimistic" : "");
  out += fmt::format("  {:<22} {:>10} {:>10}\n", "", "T = 1", fmt::format("T = {:.3f}", r.fit.temperature));
  auto row = [&](const char* name, double a, double b) {
    out += fmt::format("  {:<22} {:>10.4f} {:>10.4f}\n", name, a, b);
  };
  const std::string ece_name =
      fmt::format("ECE ({} {})", r.before.bins, r.before.binning == Binning::EqualWidth ? "eq-width" : "eq-mass");
  row("accuracy", r.before.accuracy, r.after.accuracy);
  row("NLL", r.before.nll, r.after.nll);
  row("Brier", r.before.brier, r.after.brier);
  row(ece_name.c_str(), r.before.ece, r.after.ece);
  row("MCE", r.before.mce, r.after.mce);
  row("RMS calibration error", r.before.rms, r.after.rms);
  row("ECE equal-width", r.before.ece_equal_width, r.after.ece_equal_width);
  row("ECE equal-mass", r.before.ece_equal_mass, r.after.ece_equal_mass);
  row("classwise ECE", r.before.classwise_ece, r.after.classwise_ece);
  row("mean confidence", r.before.mean_confidence, r.after.mean_confidence);
  if (r.ci_before)
    out += fmt::format(
        "  ECE {:.0f}% bootstrap interval ({} replicates): [{:.4f}, {:.4f}] -> [{:.4f}, {:.4f}]\n",
        100 * r.ci_before->level,
        r.ci_before->replicates,
        r.ci_before->low,
        r.ci_before->high,
        r.ci_after->low,
        r.ci_after->high);
  return out;
}

} // namespace smoothlab::calib
