// `smoothlab eval RUN_DIR`: accuracy, NLL, ECE and Brier on validation and test; logits/features as .npy.
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/eval/evaluate.h"

namespace smoothlab::cli {
namespace {

struct EvalArgs {
  std::string run_dir, device;
  int threads = 0;
};

const bool registered = register_command(
    {"eval", "evaluate a run on its validation and test splits (eval.json, *.npy)", 20, [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<EvalArgs>();
       sub.add_option("RUN_DIR", args->run_dir, "run folder written by smoothlab train")->required();
       sub.add_option("--device", args->device, "cpu | cuda (default: the run's)");
       sub.add_option("--threads", args->threads, "LibTorch threads (0: all cores)");
       return [args] {
         apply_threads(args->threads);
         eval::EvalOptions options;
         options.device = args->device;
         auto result = eval::evaluate_run(args->run_dir, options);
         for (const char* split : {"val", "test"}) {
           if (!result.contains(split)) continue;
           const auto& m = result[split];
           std::cout << fmt::format("{:<5} accuracy {:.4f}  nll {:.4f}  ece {:.4f}  brier {:.4f}  (n = {})\n", split,
                                    m["accuracy"].get<double>(), m["nll"].get<double>(), m["ece"].get<double>(),
                                    m["brier"].get<double>(), m["count"].get<int64_t>());
         }
         std::cout << fmt::format("wrote {}/eval.json\n", args->run_dir);
         return 0;
       };
     }});

}  // namespace
}  // namespace smoothlab::cli
