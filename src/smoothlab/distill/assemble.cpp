// One run put together for train::train (assemble.h).
#include "smoothlab/distill/assemble.h"

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/represent/mi_probe.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::distill {

DistillRunOptions effective_distillation(const train::OpenedRun& run, const DistillRunOptions& requested) {
  if (!run.resuming())
    return requested;
  const std::string out = run.dir.path().string();
  if (!run.saved->distill)
    throw Error(
        fmt::format("--out {}: the run was not trained by distill", out),
        "resume it with smoothlab train --resume --out " + out);
  const auto saved = options_from(*run.saved->distill);
  if (run.rerun)
    if (const auto diff = train::first_difference(result_settings(saved), result_settings(requested)))
      throw Error(
          fmt::format("--out {}: holds a student distilled with other settings ({})", out, *diff),
          "pass --resume to continue it as saved, --force to replace it, or choose another --out");
  return saved;
}

AssembledRun assemble_run(const train::OpenedRun& run, const std::optional<DistillRunOptions>& distill) {
  AssembledRun a;
  if (distill)
    a.distill = effective_distillation(run, *distill); // before the data: a refusal costs nothing
  else if (run.saved && run.saved->distill)
    throw Error(
        fmt::format("--out {}: the run is a distilled student", run.dir.path().string()),
        fmt::format(
            "resume it with its teacher: smoothlab distill --resume --teacher T --out {0}, or from Python "
            "smoothlab.train(\"{0}\", resume=True, teacher=T)",
            run.dir.path().string()));
  a.data = data::load_data(train::data_options(run.config));
  if (a.distill) {
    auto setup = make_distillation(*a.distill, run.config, a.data);
    a.hooks = std::move(setup.hooks);
    a.facts = std::move(setup.facts);
  }
  represent::add_mi_logger(run.config, a.data, a.hooks);
  return a;
}

} // namespace smoothlab::distill
