// The study folder's layout (study_dir.h).
#include "smoothlab/study/study_dir.h"

#include <fmt/format.h>

#include "smoothlab/core/error.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/train/run_dir.h"

namespace smoothlab::study {

namespace fs = std::filesystem;

void StudyDir::create() const {
  if (fs::exists(root_) && !fs::is_directory(root_))
    throw Error(fmt::format("--out {}: exists and is not a folder", root_.string()));
  fs::create_directories(runs());
  fs::create_directories(figures());
}

bool StudyDir::finished(const std::string& name, int64_t epochs) const {
  return train::RunDir(run(name)).evaluated(epochs);
}

bool StudyDir::finished(const RunSpec& run) const {
  return finished(run.name, run.config.optimiser.epochs);
}

} // namespace smoothlab::study
