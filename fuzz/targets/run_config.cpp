// config.json → the run record (train/run_dir.h RunDir::read_config: resume, eval, load_run and the study read it).
#include "fuzz/fuzz_target.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

SMOOTHLAB_FUZZ_TARGET(run_config) {
  const auto dir = smoothlab::fuzz::scratch_path("run_config");
  const smoothlab::train::RunDir run(dir);
  smoothlab::fuzz::write_input(run.config_file(), data, size);
  const auto record = run.read_config();
  (void)nlohmann::json(record).dump(); // written back as it was read (a resumed run rewrites it)
}
