// The folder of one study (`smoothlab study --out OUT`): the one place that spells its layout.
//   OUT/study.json          the preset, the data and the plan (written first)
//   OUT/runs/<name>/        each run's folder (train/run_dir.h); OUT/runs/<name>.lock a worker's claim on it
//   OUT/figures/*.png       the report's figures
//   OUT/summary.json        every number of the report
//   OUT/report.html         the report; OUT/report.lock the claim of the worker that writes it
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace smoothlab::study {

struct RunSpec;

class StudyDir {
 public:
  explicit StudyDir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const {
    return root_;
  }
  std::filesystem::path plan() const {
    return root_ / "study.json";
  }
  std::filesystem::path runs() const {
    return root_ / "runs";
  }
  std::filesystem::path run(const std::string& name) const {
    return runs() / name;
  }
  std::filesystem::path run_lock(const std::string& name) const {
    return runs() / (name + ".lock");
  }
  std::filesystem::path figures() const {
    return root_ / "figures";
  }
  std::filesystem::path summary() const {
    return root_ / "summary.json";
  }
  std::filesystem::path report() const {
    return root_ / "report.html";
  }
  std::filesystem::path report_lock() const {
    return root_ / "report.lock";
  }

  // Makes OUT, runs/ and figures/; Error "--out OUT: exists and is not a folder" when OUT is a file.
  void create() const;
  // True when the run's folder holds it finished (all its epochs) and evaluated.
  bool finished(const RunSpec& run) const;
  // True when the named run has finished and been evaluated for at least `epochs` epochs (a teacher: 1).
  bool finished(const std::string& name, int64_t epochs) const;

 private:
  std::filesystem::path root_;
};

} // namespace smoothlab::study
