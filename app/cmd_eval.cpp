// `smoothlab eval RUN_DIR`: every calibration metric on validation and test, temperature scaling fitted on
// validation and reported on test, reliability diagrams, and logits/features as .npy.
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/calib/report.h"
#include "smoothlab/eval/evaluate.h"

namespace smoothlab::cli {
namespace {

struct EvalArgs {
  std::string run_dir, device;
  int threads = 0;
  int64_t bootstrap = 0;
  uint64_t seed = 0;
  bool no_diagrams = false;
};

void print_metrics(const std::string& name, const nlohmann::json& m) {
  std::cout << fmt::format(
      "{:<12} accuracy {:.4f}  nll {:.4f}  ece {:.4f}  brier {:.4f}  mce {:.4f}  rms {:.4f}  "
      "ece(eq-mass) {:.4f}  classwise {:.4f}  (n = {})\n",
      name, m["accuracy"].get<double>(), m["nll"].get<double>(), m["ece"].get<double>(), m["brier"].get<double>(),
      m["mce"].get<double>(), m["rms_ce"].get<double>(), m["ece_equal_mass"].get<double>(),
      m["classwise_ece"].is_number() ? m["classwise_ece"].get<double>() : 0.0, m["count"].get<int64_t>());
}

const bool registered_eval = register_command(
    {"eval", "evaluate a run: calibration metrics, temperature scaling on val (eval.json, calibration.json, *.npy)",
     20, [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<EvalArgs>();
       sub.add_option("RUN_DIR", args->run_dir, "run folder written by smoothlab train")->required();
       sub.add_option("--device", args->device, "cpu | cuda (default: the run's)");
       sub.add_option("--threads", args->threads, "LibTorch threads (0: all cores)");
       sub.add_option("--bootstrap", args->bootstrap, "bootstrap replicates for ECE 95% intervals (0: off)");
       sub.add_option("--seed", args->seed, "bootstrap seed");
       sub.add_flag("--no-diagrams", args->no_diagrams, "skip the reliability diagrams");
       return [args] {
         apply_threads(args->threads);
         // The library's check of --bootstrap, before the run is loaded and predicted (EvalOptions has no validate()
         // of its own yet; evaluate_run's calibration_report checks the same options again).
         calib::ReportOptions().bootstrap(args->bootstrap).validate();
         eval::EvalOptions options;
         options.device = args->device;
         options.bootstrap = args->bootstrap;
         options.seed = args->seed;
         options.train_gamma = true;
         options.diagrams = !args->no_diagrams;
         auto result = eval::evaluate_run(args->run_dir, options);
         for (const char* split : {"val", "test"})
           if (result.contains(split)) print_metrics(split, result[split]);
         if (result["temperature"].is_object()) {
           const auto& t = result["temperature"];
           std::cout << fmt::format("temperature  T = {:.4f} fitted on val (NLL {:.4f} -> {:.4f}, {} iterations)\n",
                                    t["temperature"].get<double>(), t["nll_before"].get<double>(),
                                    t["nll_after"].get<double>(), t["iterations"].get<int64_t>());
           print_metrics("test (T)", result["test_scaled"]);
         } else {
           std::cout << "temperature  not fitted: the run has no validation split (never fitted on test)\n";
         }
         const auto& gamma = result["gamma"];
         std::cout << fmt::format("gamma        equivalent smoothing at T = 1: train {:.4f}  test {:.4f}\n",
                                  gamma.value("train", 0.0), gamma.value("test", 0.0));
         std::cout << fmt::format("wrote {0}/eval.json, {0}/calibration.json\n", args->run_dir);
         return 0;
       };
     }});

}  // namespace
}  // namespace smoothlab::cli
