// `smoothlab train`: one label-smoothed training run into a run folder.
#include "command.h"
#include "train_options.h"

namespace smoothlab::cli {
namespace {

const bool registered_train = register_command(
    {"train", "train a classifier with label smoothing into a run folder", 10, [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<TrainArgs>();
       add_train_options(sub, *args);
       return [args] {
         if (const auto status = launch_if_asked(*args))
           return *status;
         const auto prepared = prepare_training(*args);
         run_training(prepared);
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
