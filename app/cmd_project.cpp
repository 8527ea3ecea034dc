// `smoothlab project RUN_DIR [RUN_DIR ...] --classes a,b,c`: the representation picture of [M] §2 (Fig. 1) —
// projection.png/.svg (runs × splits panels) and projection.json (coordinates, cluster statistics, verdict).
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/data/split.h"
#include "smoothlab/represent/project_runs.h"

namespace smoothlab::cli {
namespace {

struct ProjectArgs {
  std::vector<std::string> sources, splits = data::split_names(represent::ProjectOptions().splits());
  std::string classes, out = "projection", device, data = "fashion-mnist", features = "features", head;
  int64_t per_class = 100;
  uint64_t seed = 0;
  int threads = 0;
};

const bool registered_project = register_command(
    {"project",
     "project penultimate activations onto the plane of three class templates (figure + statistics)",
     40,
     [](CLI::App& sub) -> Runner {
       auto a = std::make_shared<ProjectArgs>();
       sub.add_option("RUN_DIR", a->sources, "run folders (e.g. ε = 0 and ε = 0.1) or TorchScript .pt files")
           ->required();
       sub.add_option("--classes", a->classes, "three class names or indices, e.g. \"T-shirt/top,Shirt,Pullover\"")
           ->required();
       sub.add_option("--per-class", a->per_class, "examples per class and split ([M] §2: 100)")->capture_default_str();
       sub.add_option("--splits", a->splits, "splits to draw; the first is the reference (train | val | test)")
           ->delimiter(',')
           ->capture_default_str();
       sub.add_option("--seed", a->seed, "seed of the example choice")->capture_default_str();
       sub.add_option("--out", a->out, "output folder (projection.png, .svg, .json)")->capture_default_str();
       sub.add_option("--device", a->device, "cpu | cuda | cuda:N (default: each run's)");
       sub.add_option("--threads", a->threads, "LibTorch threads (0: all cores)");
       sub.add_option("--data", a->data, "data for TorchScript models (smoothlab runs use their own)")
           ->capture_default_str();
       sub.add_option("--features", a->features, "TorchScript: method or submodule giving penultimate features")
           ->capture_default_str();
       sub.add_option(
           "--head", a->head, "TorchScript: name of the last linear layer (default: head, fc, classifier, ...)");
       return [a] {
         apply_threads(a->threads);
         std::vector<std::filesystem::path> sources(a->sources.begin(), a->sources.end());
         std::vector<data::Split> splits;
         for (const auto& name : a->splits)
           splits.push_back(data::parse_split(name, "--splits"));
         auto options = represent::ProjectOptions()
                            .classes(a->classes)
                            .per_class(a->per_class)
                            .splits(splits)
                            .seed(a->seed)
                            .data(a->data)
                            .features(a->features)
                            .head(a->head);
         if (!a->device.empty())
           options.device(train::parse_device(a->device));
         auto result = represent::project_runs(sources, options);
         represent::write_projection(result, a->out);
         const auto& j = result.json;
         std::cout << fmt::format(
             "{:<28} {:<6} {:>5} {:>10} {:>10} {:>10} {:>11}\n",
             "run",
             "split",
             "n",
             "tightness",
             "tight_full",
             "regularity",
             "mean |p|");
         for (const auto& run : j["runs"])
           for (const auto& split : j["splits"]) {
             const auto& s = run["splits"][split.get<std::string>()];
             auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
             std::cout << fmt::format(
                 "{:<28} {:<6} {:>5} {:>10.4f} {:>10.4f} {:>10.3f} {:>11.4g}\n",
                 run["name"].get<std::string>(),
                 split.get<std::string>(),
                 s["count"].get<int64_t>(),
                 num(s["stats"]["tightness_plane"]),
                 num(s["stats"]["tightness_full"]),
                 num(s["stats"]["regularity"]),
                 num(s["stats"]["mean_norm"]));
           }
         for (const auto& run : j["runs"])
           for (const auto& [split, shift] : run["held_out_shift"].items())
             std::cout << fmt::format(
                 "{}: {} points sit at {:.3f}× the training distance from the centre\n",
                 run["name"].get<std::string>(),
                 split,
                 shift["radial_ratio"].get<double>());
         if (result.comparison)
           std::cout << result.comparison->verdict << "\n";
         std::cout << fmt::format("wrote {0}/projection.png, {0}/projection.svg, {0}/projection.json\n", a->out);
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
