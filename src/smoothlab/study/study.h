// `smoothlab study` as a library call: reproduces "When Does Label Smoothing Help?" ([M]) on the data at hand.
//
// run_study(options) expands the preset (preset.h) into runs, trains each one into OUT/runs/<name> with
// train::ExistingRun::Resume semantics and evaluates it (eval/evaluate.h: eval.json, calibration.json), then analyses
// them all (tables.h → claims.h, figures.h) and writes (the folder's layout: study_dir.h)
//   OUT/study.json     the preset and the plan (written first)
//   OUT/summary.json   every number of the report, the claims and their verdicts, provenance
//   OUT/report.html    one self-contained page (figures embedded as data: URIs) — report_page.h
//   OUT/figures/*.png  the figures, also as separate files
// A run whose eval.json records all its epochs is done and is never touched again; a partial run resumes from its
// checkpoint. So a repeated or killed study continues where it stopped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/arg.h>

#include "smoothlab/core/note.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/study/claims.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"

namespace smoothlab::study {

// How one call of run_study divides the study's work. The three ways other than All exclude each other; from_flags
// checks that once, where the CLI's flags come in.
struct StudyMode {
  enum class Kind {
    All, // trains every pending run of the plan in its order, reusing the finished ones, then writes the report
    // For schedulers that hand out indices (a Slurm job array): trains run `index` of the plan (study_plan) and
    // nothing else, and writes no report; a student whose teacher is not finished is an Error (run the teachers'
    // indices, stage 0, first).
    OneRun,
    Report, // trains nothing: writes summary.json and report.html from OUT/runs/ alone; an Error while any run is
            // unfinished
    // One of several workers sharing OUT (run_lock.h): claims pending runs one at a time (a student once its teacher
    // is finished), waits while the others' claims are live, takes over claims not renewed for `claim_timeout`
    // seconds; the worker that finds every run finished writes the report (under OUT/report.lock).
    Worker,
  };
  Kind kind = Kind::All;
  int64_t index = -1; // OneRun: the run's index in the plan
  double claim_timeout = 120; // Worker: seconds

  static StudyMode one_run(int64_t index);
  static StudyMode report();
  static StudyMode worker(double claim_timeout = 120);
  // From `smoothlab study`'s flags (run_index < 0: --run-index not given). Throws Error when more than one of
  // --run-index, --report and --worker is given, and for the values validate() refuses.
  static StudyMode from_flags(int64_t run_index, bool report, bool worker, double claim_timeout);
  // Throws Error naming the option: OneRun's index < 0 (--run-index), Worker's claim_timeout ≤ 0 (--claim-timeout).
  void validate() const;
};

struct StudyOptions {
  StudyOptions() {}
  // Throws Error naming the option: an empty --data or --out, negative --threads, and what StudyMode::validate
  // refuses. study_plan (and so run_study) calls it first; the preset's name is checked by make_preset.
  void validate() const;

  TORCH_ARG(std::string, preset) = "quick";
  TORCH_ARG(std::string, data) = "fashion-mnist";
  TORCH_ARG(std::string, out) = "study";
  TORCH_ARG(train::Device, device); // every run's (train::TrainConfig::Execution)
  TORCH_ARG(model::Precision, precision) = model::Precision::Fp32; // every run's (train::TrainConfig::Execution)
  TORCH_ARG(int, threads) = 0; // recorded in each run's config (the caller sets LibTorch's threads)
  TORCH_ARG(std::string, command_line) = ""; // for provenance
  TORCH_ARG(StudyMode, mode);
};

struct StudyProgress {
  int64_t runs_done = 0, runs_total = 0; // finished runs (reused or trained now) of the plan
  std::string current; // the run being trained ("" between runs)
  train::Progress run; // its progress (epoch, step, ...)
  double elapsed_seconds = 0, eta_seconds = 0;
};

struct StudyHooks {
  std::function<void(const StudyProgress&)> on_progress;
  NoteHook on_note;
  // After each run is finished and evaluated; reused = it was already done before this call.
  std::function<void(const RunSpec&, bool reused)> on_run_done;
};

struct StudyResult {
  std::vector<Claim> claims; // the claims and their verdicts (summary.h)
  std::filesystem::path report, summary_path;
  int64_t runs_total = 0, runs_reused = 0, runs_trained = 0;
};

// Throws Error for an unknown preset or data spec and for anything a run throws (the study can then be rerun).
StudyResult run_study(const StudyOptions& options, const StudyHooks& hooks = {});

// The runs run_study trains for these options, in its order (teachers before their students), with the device,
// precision and threads applied. A run's stage is 1 when it needs a teacher of the plan (a student), else 0.
std::vector<RunSpec> study_plan(const StudyOptions& options);
int stage_of(const RunSpec& run);

} // namespace smoothlab::study
