// `smoothlab eval RUN_DIR`: every calibration metric on validation and test, temperature scaling fitted on
// validation and reported on test, reliability diagrams, and logits/features as .npy.
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/core/note.h"
#include "smoothlab/eval/evaluate.h"

namespace smoothlab::cli {
namespace {

struct EvalArgs {
  std::string run_dir, device, precision;
  int threads = 0;
  int64_t bootstrap = 0;
  uint64_t seed = 0;
  bool no_diagrams = false;
};

void print_metrics(const std::string& name, const calib::CalibrationMetrics& m) {
  std::cout << fmt::format(
      "{:<12} accuracy {:.4f}  nll {:.4f}  ece {:.4f}  brier {:.4f}  mce {:.4f}  rms {:.4f}  "
      "ece(eq-mass) {:.4f}  classwise {:.4f}  (n = {})\n",
      name,
      m.accuracy,
      m.nll,
      m.ece,
      m.brier,
      m.mce,
      m.rms,
      m.ece_equal_mass,
      std::isfinite(m.classwise_ece) ? m.classwise_ece : 0.0,
      m.count);
}

const bool registered_eval = register_command(
    {"eval",
     "evaluate a run: calibration metrics, temperature scaling on val (eval.json, calibration.json, *.npy)",
     20,
     [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<EvalArgs>();
       sub.add_option("RUN_DIR", args->run_dir, "run folder written by smoothlab train")->required();
       sub.add_option("--device", args->device, "cpu | cuda (default: the run's)");
       sub.add_option("--threads", args->threads, "LibTorch threads (0: all cores)");
       sub.add_option("--precision", args->precision, "fp32 | bf16 | fp16 of the forward passes (default: the run's)");
       sub.add_option("--bootstrap", args->bootstrap, "bootstrap replicates for ECE 95% intervals (0: off)");
       sub.add_option("--seed", args->seed, "bootstrap seed");
       sub.add_flag("--no-diagrams", args->no_diagrams, "skip the reliability diagrams");
       return [args] {
         apply_threads(args->threads);
         eval::EvalOptions options;
         if (!args->device.empty())
           options.device = train::parse_device(args->device);
         if (!args->precision.empty())
           options.precision = model::parse_precision(args->precision);
         options.bootstrap = args->bootstrap;
         options.seed = args->seed;
         options.train_gamma = true;
         options.diagrams = !args->no_diagrams;
         options.on_note = [](const Note& n) { std::cerr << n.text << "\n"; };
         auto result = eval::evaluate_run(args->run_dir, options);
         if (result.val)
           print_metrics("val", *result.val);
         print_metrics("test", result.test);
         if (result.temperature) {
           const auto& t = *result.temperature;
           std::cout << fmt::format(
               "temperature  T = {:.4f} fitted on val (NLL {:.4f} -> {:.4f}, {} iterations)\n",
               t.temperature,
               t.nll_before,
               t.nll_after,
               t.iterations);
           print_metrics("test (T)", *result.test_scaled);
         } else {
           std::cout << "temperature  not fitted: the run has no validation split (never fitted on test)\n";
         }
         std::cout << fmt::format(
             "gamma        equivalent smoothing at T = 1: train {:.4f}  test {:.4f}\n",
             result.gamma.train.value_or(0.0),
             result.gamma.test.value_or(0.0));
         const train::RunDir dir(args->run_dir);
         std::cout << fmt::format("wrote {}, {}\n", dir.eval_file().string(), dir.calibration_file().string());
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
