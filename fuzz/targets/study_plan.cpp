// What a study reads of its plan's runs on disk (study/study_dir.h StudyDir::finished: is the run done; study/tables.h
// read_run: its records, as the tables read them) in a valid run folder whose eval.json (first byte even) or
// calibration.json (odd) is the rest of the input.
#include "fuzz/fuzz_target.h"
#include "fuzz/run_folder.h"
#include "smoothlab/study/study_dir.h"
#include "smoothlab/study/tables.h"

SMOOTHLAB_FUZZ_TARGET(study_plan) {
  namespace fuzz = smoothlab::fuzz;
  static const std::filesystem::path runs = [] {
    const auto r = fuzz::scratch_path("study_plan") / "runs";
    fuzz::write_run_folder(r / "run");
    return r;
  }();
  const smoothlab::train::RunDir run(runs / "run");
  static const std::string eval = fuzz::read_whole(run.eval_file()),
                           calibration = fuzz::read_whole(run.calibration_file());
  fuzz::write_input(run.eval_file(), eval);
  fuzz::write_input(run.calibration_file(), calibration);
  if (size == 0)
    return; // the warm-up run (fuzz_main.cpp): the folder is made
  fuzz::write_input(data[0] % 2 == 0 ? run.eval_file() : run.calibration_file(), data + 1, size - 1);
  smoothlab::study::RunSpec spec;
  spec.name = "run";
  spec.config.optimiser.epochs = fuzz::kRunEpochs;
  smoothlab::study::StudyDir(runs.parent_path()).finished(spec);
  smoothlab::study::read_run(spec, runs);
}
