// The study runner: plan → train/resume + evaluate each run → analysis → summary.json and report.html.
#include "smoothlab/study/study.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <thread>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/data/split.h"
#include "smoothlab/distill/assemble.h"
#include "smoothlab/eval/evaluate.h"
#include "smoothlab/study/claims.h"
#include "smoothlab/study/figures.h"
#include "smoothlab/study/report_page.h"
#include "smoothlab/study/run_lock.h"
#include "smoothlab/study/study_dir.h"
#include "smoothlab/study/summary.h"
#include "smoothlab/study/tables.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::study {

namespace fs = std::filesystem;
using Output = train::RunDir::Output; // a run's saved outputs (RUN_DIR/<split>_<kind>.npy)
using json = nlohmann::json;

namespace {

// The evaluation a study keeps of each run: eval.json, calibration.json and the val/test logits and labels (the
// claims' bootstrap resamples their examples), no figures, no features.
eval::EvalOptions study_eval_options() {
  eval::EvalOptions eo;
  eo.write_npy = true;
  eo.write_features = false;
  eo.diagrams = false;
  return eo;
}

// A finished run evaluated before the study kept its logits (an older smoothlab) is evaluated again; no retraining.
void ensure_outputs(const fs::path& run_dir) {
  const train::RunDir dir(run_dir);
  if (!fs::exists(dir.outputs_file(data::Split::Test, Output::Logits)) ||
      !fs::exists(dir.outputs_file(data::Split::Test, Output::Labels)))
    eval::evaluate_run(run_dir, study_eval_options());
}

std::string first_line_with(const fs::path& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto pos = line.find(':');
      if (pos == std::string::npos)
        return line;
      auto v = line.substr(pos + 1);
      while (!v.empty() && v.front() == ' ')
        v.erase(v.begin());
      return v;
    }
  return "";
}

// LibTorch's build-time BLAS interface (Debian's says "generic": built against the libblas.so.3 interface) and the
// library that interface resolves to in this process (Debian's alternatives pick OpenBLAS or the reference BLAS).
std::string blas_info() {
  const std::string config = at::show_config();
  std::string build = config.find("MKL") != std::string::npos ? "mkl" : "unknown";
  for (const char* key : {"BLAS_INFO=", "LAPACK_INFO="}) {
    auto pos = config.find(key);
    if (pos != std::string::npos) {
      auto end = config.find_first_of(", \n", pos);
      build = config.substr(
          pos + std::strlen(key), end == std::string::npos ? std::string::npos : end - pos - std::strlen(key));
      break;
    }
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos)
      continue;
    const std::string path = line.substr(slash);
    const std::string name = fs::path(path).filename().string();
    if (name.rfind("libblas", 0) != 0 && name.rfind("libopenblas", 0) != 0 && name.rfind("libmkl_rt", 0) != 0)
      continue;
    std::error_code ec;
    const auto real = fs::canonical(path, ec);
    return build + " interface, loaded " + (ec ? path : real.string());
  }
  return build;
}

Provenance::Machine machine_info() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return {
      host,
      first_line_with("/proc/cpuinfo", "model name"),
      first_line_with("/proc/meminfo", "MemTotal"),
      int64_t(std::thread::hardware_concurrency()),
      torch::cuda::is_available()};
}

} // namespace

StudyMode StudyMode::one_run(int64_t index) {
  StudyMode m;
  m.kind = Kind::OneRun;
  m.index = index;
  return m;
}

StudyMode StudyMode::report() {
  StudyMode m;
  m.kind = Kind::Report;
  return m;
}

StudyMode StudyMode::worker(double claim_timeout) {
  StudyMode m;
  m.kind = Kind::Worker;
  m.claim_timeout = claim_timeout;
  return m;
}

StudyMode StudyMode::from_flags(int64_t run_index, bool report, bool worker, double claim_timeout) {
  if (int(run_index >= 0) + int(report) + int(worker) > 1)
    throw Error(
        "--run-index, --report and --worker exclude each other",
        "one way per call: a Slurm array's --run-index I, then --report; or --worker on each node");
  StudyMode m = run_index >= 0 ? one_run(run_index) : report ? StudyMode::report() : StudyMode();
  if (worker)
    m = StudyMode::worker(claim_timeout);
  m.validate();
  return m;
}

void StudyMode::validate() const {
  if (kind == Kind::OneRun)
    check(index >= 0, "--run-index must be non-negative, got {}", index);
  if (kind == Kind::Worker)
    check(claim_timeout > 0 && std::isfinite(claim_timeout), "--claim-timeout must be positive, got {}", claim_timeout);
}

void StudyOptions::validate() const {
  if (data().empty())
    throw Error("--data: empty data spec", "e.g. --data fashion-mnist or cifar10:DIR");
  check(!out().empty(), "--out: empty folder name");
  check(threads() >= 0, "--threads must be non-negative, got {}", threads());
  mode().validate();
}

std::vector<RunSpec> study_plan(const StudyOptions& options) {
  options.validate();
  auto plan = make_plan(make_preset(options.preset()), options.data());
  for (auto& r : plan) {
    r.config.execution.device = options.device();
    r.config.execution.precision = options.precision();
    r.config.execution.threads = options.threads();
    r.config.validate();
  }
  return plan;
}

int stage_of(const RunSpec& run) {
  return run.teacher.empty() ? 0 : 1;
}

namespace {

// One call of run_study: its plan and folders, what it trained, and the progress (with its ETA) it reports.
struct StudyCall {
  using clock = std::chrono::steady_clock;

  const StudyOptions& options;
  const StudyHooks& hooks;
  const clock::time_point start = clock::now();
  StudyPreset preset;
  std::vector<RunSpec> plan;
  int64_t index = -1; // --run-index, or < 0
  StudyDir dir;
  StudyResult result;
  StudyProgress progress;
  // ETA: the cost model's estimate of what is left, scaled by how fast the runs trained so far actually were.
  double trained_cost = 0, trained_seconds = 0, remaining_cost = 0;
  std::vector<bool> done; // finished before this call

  StudyCall(const StudyOptions& o, const StudyHooks& h) : options(o), hooks(h), dir(o.out()) {}

  void note(const std::string& s) const {
    if (hooks.on_note)
      hooks.on_note({NoteKind::Study, s});
  }

  // The preset with its estimated minutes, the plan, and the checks of --run-index.
  void make_study_plan() {
    preset = make_preset(options.preset());
    plan = study_plan(options);
    double total_cost = 0;
    for (const auto& r : plan)
      total_cost += r.cost_seconds;
    preset.estimated_minutes = (total_cost + analysis_seconds(preset, plan)) / 60.0; // study_plan validated options
    index = options.mode().kind == StudyMode::Kind::OneRun ? options.mode().index : -1;
    if (index >= int64_t(plan.size()))
      throw Error(
          fmt::format("--run-index {}: the plan has {} runs (0 to {})", index, plan.size(), plan.size() - 1),
          "smoothlab study --list-runs prints them");
  }

  // The output folders, and study.json (the preset, the data and the plan).
  void write_study_json() {
    dir.create();
    json plan_json = json::array();
    for (const auto& r : plan)
      plan_json.push_back(to_json(r));
    write_file_atomic(
        dir.plan(), json{{"preset", to_json(preset)}, {"data", options.data()}, {"plan", plan_json}}.dump(2) + "\n");
  }

  // Which runs are finished already, the cost of what this call trains, and --report's refusal of pending runs.
  void find_finished_runs() {
    result.runs_total = int64_t(plan.size());
    progress.runs_total = result.runs_total;
    done.assign(plan.size(), false);
    for (size_t i = 0; i < plan.size(); ++i) {
      done[i] = dir.finished(plan[i]);
      if (!done[i] && (index < 0 || int64_t(i) == index)) // the ETA is of what this call trains
        remaining_cost += plan[i].cost_seconds;
    }
    if (options.mode().kind != StudyMode::Kind::Report)
      return;
    const auto pending = std::count(done.begin(), done.end(), false);
    if (pending > 0) {
      const auto first = size_t(std::find(done.begin(), done.end(), false) - done.begin());
      throw Error(
          fmt::format(
              "--report: {} of the {} runs in {} are not finished (the first: index {}, {})",
              pending,
              plan.size(),
              dir.runs().string(),
              first,
              plan[first].name),
          "train them: smoothlab study --run-index I for each pending index, or smoothlab study without --report");
    }
  }

  void report_progress(double current_fraction, double current_cost) {
    if (!hooks.on_progress)
      return;
    const double speed = trained_cost > 0 ? trained_seconds / trained_cost : 1.0;
    progress.elapsed_seconds = std::chrono::duration<double>(clock::now() - start).count();
    progress.eta_seconds = std::max(0.0, (remaining_cost - current_fraction * current_cost) * speed);
    hooks.on_progress(progress);
  }

  // Trains (or resumes) run i of the plan and evaluates it.
  void train_run(size_t i) {
    const auto& spec = plan[i];
    const fs::path run_dir = dir.run(spec.name);
    const auto run_start = clock::now();
    progress.current = spec.name;
    progress.run = {};
    report_progress(0, spec.cost_seconds);
    const auto opened = train::open_run(run_dir, train::ExistingRun::Resume, spec.config);
    std::optional<distill::DistillRunOptions> student;
    if (spec.group == "student") {
      if (!dir.finished(spec.teacher, 1))
        throw Error(
            fmt::format("study: the teacher {} of {} is not finished", spec.teacher, spec.name),
            "with --run-index, train the stage-0 runs of smoothlab study --list-runs first (a Slurm array: the "
            "students' job with --dependency=afterok on the teachers')");
      student.emplace();
      student->teacher = dir.run(spec.teacher).string();
      student->loss = distill::DistillationOptions::paper(spec.temperature);
      student->form = distill::Form::Paper;
    }
    const auto assembled = distill::assemble_run(opened, student);
    train::TrainHooks th = assembled.hooks;
    th.record.command = options.command_line();
    th.record.study = {{"preset", preset.name}, {"group", spec.group}, {"run", to_json(spec)}};
    th.on_note = hooks.on_note;
    th.on_progress = [&](const train::Progress& p) {
      progress.run = p;
      const double fraction = p.epochs > 0
          ? (double(p.epoch - 1) + (p.steps > 0 ? double(p.step) / double(p.steps) : 0.0)) / p.epochs
          : 0.0;
      report_progress(fraction, spec.cost_seconds);
    };
    train::train(opened, assembled.data, th);
    eval::evaluate_run(run_dir, study_eval_options());
    const double seconds = std::chrono::duration<double>(clock::now() - run_start).count();
    trained_seconds += seconds;
    trained_cost += spec.cost_seconds;
    remaining_cost -= spec.cost_seconds;
    ++result.runs_trained;
    ++progress.runs_done;
    progress.current.clear();
    report_progress(0, 0);
    if (hooks.on_run_done)
      hooks.on_run_done(spec, false);
  }

  // One process: every run of the plan in its order (or run --run-index only), reusing the finished ones.
  void train_in_order() {
    for (size_t i = 0; i < plan.size(); ++i) {
      if (index >= 0 && int64_t(i) != index)
        continue;
      if (done[i]) {
        ++result.runs_reused;
        ++progress.runs_done;
        if (hooks.on_run_done)
          hooks.on_run_done(plan[i], true);
        continue;
      }
      train_run(i);
    }
  }

  // --worker: claims and trains pending runs until none is left, then claims the report; null when another worker
  // holds it.
  std::unique_ptr<RunLock> train_as_worker() {
    const auto lease = std::chrono::milliseconds(int64_t(options.mode().claim_timeout * 1000));
    const std::string owner = lock_owner();
    for (;;) {
      bool pending = false, trained = false;
      for (size_t i = 0; i < plan.size() && !trained; ++i) {
        const auto& spec = plan[i];
        if (dir.finished(spec))
          continue;
        pending = true;
        if (!spec.teacher.empty() && !dir.finished(spec.teacher, 1))
          continue; // its teacher is another worker's, still training
        const auto lock = RunLock::try_claim(dir.run_lock(spec.name), owner, lease);
        if (!lock || dir.finished(spec))
          continue; // another worker's, or finished since the check
        train_run(i);
        trained = true; // rescan from the start: teachers come first
      }
      if (!pending)
        break;
      if (!trained) // every pending run is claimed by a live worker or waits for a teacher
        std::this_thread::sleep_for(std::min(std::chrono::milliseconds(1000), lease / 4));
    }
    result.runs_reused = result.runs_total - result.runs_trained;
    return RunLock::try_claim(dir.report_lock(), owner, lease);
  }

  Provenance provenance() const {
    Provenance p;
    p.command_line = options.command_line();
    p.versions = train::versions();
    p.blas = blas_info();
    p.machine = machine_info();
    p.threads = options.threads() > 0 ? options.threads() : at::get_num_threads();
    p.device = options.device();
    p.precision = options.precision();
    p.seconds_this_call = std::chrono::duration<double>(clock::now() - start).count();
    p.runs_reused = result.runs_reused;
    p.runs_trained = result.runs_trained;
    p.estimated_minutes = preset.estimated_minutes;
    return p;
  }

  // The analysis of the finished runs: summary.json, the figures and report.html.
  void write_summary_and_report() {
    note("study: all runs finished; analysing");
    for (const auto& spec : plan)
      ensure_outputs(dir.run(spec.name));
    StudySummary s;
    s.preset = preset;
    s.data = options.data();
    s.tables = make_tables(preset, options.data(), plan, dir.runs());
    s.claims = claims(s.tables);
    s.distillation_conclusion = distillation_conclusion(s.claims);
    s.when = when_answers(s.tables, s.claims);
    s.answer_beyond_regimes = answer_beyond_regimes(s.tables, s.claims);
    s.figures = write_figures(s.tables, s.when, dir.figures());
    s.provenance = provenance();
    result.summary_path = dir.summary();
    result.report = dir.report();
    write_file_atomic(result.summary_path, to_json(s).dump(2) + "\n");
    write_file_atomic(result.report, render_report(s, dir.root()));
    result.claims = std::move(s.claims);
  }
};

} // namespace

StudyResult run_study(const StudyOptions& options, const StudyHooks& hooks) {
  StudyCall s(options, hooks);
  s.make_study_plan();
  s.write_study_json();
  s.find_finished_runs();
  std::unique_ptr<RunLock> report_lock; // a worker's, held while it writes the report
  switch (options.mode().kind) {
    case StudyMode::Kind::All:
      s.train_in_order();
      break;
    case StudyMode::Kind::OneRun:
      s.train_in_order();
      s.note(fmt::format(
          "study: run {} of {} ({}) finished; smoothlab study --report writes the report once all are",
          s.index,
          s.plan.size(),
          s.plan[size_t(s.index)].name));
      return std::move(s.result);
    case StudyMode::Kind::Report:
      s.train_in_order(); // every run is finished (find_finished_runs): counts them as reused
      break;
    case StudyMode::Kind::Worker:
      report_lock = s.train_as_worker();
      if (!report_lock) {
        s.note("study: every run is finished; another worker writes the report");
        return std::move(s.result);
      }
      break;
  }
  s.write_summary_and_report();
  return std::move(s.result);
}

} // namespace smoothlab::study
