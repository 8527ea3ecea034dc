// `smoothlab mi RUN_DIR`: Î between example index and logit gap z_a − z_b over augmented views ([M] §4, Fig. 6).
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/data/split.h"
#include "smoothlab/represent/mi_probe.h"
#include "smoothlab/train/run_dir.h"

namespace smoothlab::cli {
namespace {

struct MiArgs {
  std::string run_dir;
  represent::RunMiOptions options;
  std::string split = "train"; // --split, parsed into options.split
  std::string device; // "" keeps the run's
  std::string out;
  bool no_flip = false, no_gaps = false;
  int threads = 0;
};

const bool registered_mi = register_command(
    {"mi", "estimate I(example; logit gap) of a run over augmented views (mi.json)", 35, [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<MiArgs>();
       auto& o = args->options;
       sub.add_option("RUN_DIR", args->run_dir, "run folder written by smoothlab train or distill")->required();
       sub.add_option("--classes", o.classes, "two classes a,b (names or indices), e.g. Shirt,Pullover")->required();
       sub.add_option("--examples", o.examples, "examples per class: the first ones of the split")
           ->capture_default_str();
       sub.add_option("--views", o.views, "augmented views L per example")->capture_default_str();
       sub.add_option("--split", args->split, "train | val | test")->capture_default_str();
       sub.add_option("--crop-padding", o.crop_padding, "random-crop padding of the views")->capture_default_str();
       sub.add_flag("--no-flip", args->no_flip, "views without horizontal flips");
       sub.add_option("--seed", o.seed, "augmentation seed of the views")->capture_default_str();
       sub.add_option("--device", args->device, "cpu | cuda | cuda:N (default: the run's)");
       sub.add_option("--threads", args->threads, "LibTorch threads (0: all cores)");
       sub.add_option("--out", args->out, "output folder for mi.json, mi_gaps.npy, mi_labels.npy (default: RUN_DIR)");
       sub.add_flag("--no-gaps", args->no_gaps, "do not write mi_gaps.npy and mi_labels.npy");
       return [args] {
         apply_threads(args->threads);
         auto o = args->options;
         o.split = data::parse_split(args->split, "--split");
         o.hflip = !args->no_flip;
         o.write_gaps = !args->no_gaps;
         o.out = args->out;
         if (!args->device.empty())
           o.device = train::parse_device(args->device);
         auto r = represent::run_mutual_information(args->run_dir, o);
         std::cout << fmt::format(
             "Î = {:.4f} nats (raw {:.4f}, log N = {:.4f}, N = {}, L = {}, σ² = {:.4g})  {} vs {}\n",
             r.estimate.mi,
             r.estimate.mi_raw,
             r.estimate.log_n,
             r.estimate.examples,
             r.estimate.views,
             r.estimate.sigma2,
             r.class_names[0],
             r.class_names[1]);
         std::cout << fmt::format(
             "wrote {}\n", train::RunDir(args->out.empty() ? args->run_dir : args->out).mi_file().string());
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
