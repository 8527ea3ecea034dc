// `smoothlab study`: reproduces "When Does Label Smoothing Help?" on the data at hand — every run, the report
// (report.html, self-contained) and summary.json with the paper's claims and verdicts. Resumable: rerun to continue.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "command.h"
#include "launch.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/note.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/study/study.h"

namespace smoothlab::cli {
namespace {

namespace fs = std::filesystem;

struct StudyArgs {
  std::string preset = "quick", data = "fashion-mnist", out;
  // parsed when the command runs; the defaults are StudyOptions'
  std::string device = train::device_name(study::StudyOptions().device()),
              precision = model::precision_name(study::StudyOptions().precision());
  int threads = 0;
  bool list_runs = false, report = false, worker = false;
  int jobs = 1;
  double claim_timeout = 120;
  std::string run_index; // "" not given; "env": $SLURM_ARRAY_TASK_ID; else the index
};

// --run-index's value: an index, or (given without one) $SLURM_ARRAY_TASK_ID.
int64_t parse_run_index(const std::string& text) {
  std::string value = text;
  if (value == "env") {
    const char* env = std::getenv("SLURM_ARRAY_TASK_ID");
    if (!env || !*env)
      throw Error(
          "--run-index without a value needs $SLURM_ARRAY_TASK_ID, which is not set",
          "give the index: --run-index I (smoothlab study --list-runs prints them)");
    value = env;
  }
  size_t used = 0;
  long long index = -1;
  try {
    index = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || index < 0)
    throw Error(fmt::format("--run-index: '{}' is not a run index (0, 1, 2, ...)", value));
  return index;
}

std::string duration(double seconds) {
  const int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600)
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

const bool registered_study = register_command(
    {"study",
     "reproduce the paper on the data at hand: all runs, report.html and summary.json (resumable)",
     5,
     [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<StudyArgs>();
       sub.add_option(
              "--preset",
              args->preset,
              "quick (≤ 3 min on 2 cores) | standard (about an hour on 2 cores: resnet20, 3 seeds) | paper "
              "([M]'s models, CIFAR, GPU) | tiny (seconds, a pipeline check)")
           ->capture_default_str();
       sub.add_option("--data", args->data, join(data::source_names(), " | "))->capture_default_str();
       sub.add_option("--out", args->out, "study folder (default: study-<preset>); rerun with it to continue");
       sub.add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
       sub.add_option("--threads", args->threads, "LibTorch threads (0: all cores)");
       sub.add_option(
              "--precision",
              args->precision,
              "fp32 | bf16 | fp16 of every run's forward passes (runs at another precision are other runs)")
           ->capture_default_str();
       sub.add_flag(
           "--list-runs",
           args->list_runs,
           "print the plan, one run a line (index, stage, status, name), and exit; a stage-1 run (a student) needs its "
           "teacher, a stage-0 run, finished");
       sub.add_option(
              "--run-index",
              args->run_index,
              "train run I of --list-runs only, no report (default I: $SLURM_ARRAY_TASK_ID, for job arrays)")
           ->expected(0, 1)
           ->default_str("env");
       sub.add_flag("--report", args->report, "train nothing: write the report from OUT/runs once every run is done");
       sub.add_flag(
           "--worker",
           args->worker,
           "one of several workers on a shared --out (srun -n 16 smoothlab study --worker): claim pending runs one at a "
           "time through lock files in OUT/runs; the last to finish writes the report");
       sub.add_option("--jobs", args->jobs, "run N --worker processes on this machine, the threads split between them")
           ->capture_default_str()
           ->check(CLI::Range(1, 256));
       sub.add_option(
              "--claim-timeout",
              args->claim_timeout,
              "--worker: seconds after which a claim its owner stopped renewing is taken over")
           ->capture_default_str()
           ->check(CLI::PositiveNumber);
       return [args] {
         if (args->jobs > 1) {
           if (args->list_runs || args->report || !args->run_index.empty())
             throw Error("--jobs runs workers: it excludes --list-runs, --report and --run-index");
           const int cores = std::max(1, int(std::thread::hardware_concurrency()));
           const int total = args->threads > 0 ? args->threads : cores;
           return launch_study_workers(args->jobs, std::max(1, total / args->jobs));
         }
         const int threads = apply_threads(args->threads);
         if (args->out.empty())
           args->out = "study-" + args->preset;
         study::StudyOptions options;
         options.preset(args->preset)
             .data(args->data)
             .out(args->out)
             .device(train::parse_device(args->device))
             .precision(model::parse_precision(args->precision))
             .threads(threads)
             .mode(study::StudyMode::from_flags(
                 args->run_index.empty() ? -1 : parse_run_index(args->run_index),
                 args->report,
                 args->worker,
                 args->claim_timeout))
             .command_line(command_line());
         if (args->list_runs) {
           const auto plan = study::study_plan(options);
           for (size_t i = 0; i < plan.size(); ++i)
             std::cout << fmt::format(
                 "{}\t{}\t{}\t{}\n",
                 i,
                 study::stage_of(plan[i]),
                 study::run_finished(fs::path(args->out) / "runs" / plan[i].name, plan[i].config.optimiser.epochs)
                     ? "done"
                     : "pending",
                 plan[i].name);
           return 0;
         }
         const auto preset = study::make_preset(args->preset);
         std::cerr << fmt::format(
             "smoothlab study: preset {} on {} → {}  ({} threads)\n  {}\n",
             args->preset,
             args->data,
             args->out,
             threads,
             preset.description);
         // The one-line warning for emulated bf16 comes before any run.
         if (options.device().is_cpu())
           if (const auto slow = model::precision_note(options.precision(), torch::kCPU); !slow.empty())
             status_line("note: " + slow, true);
         study::StudyHooks hooks;
         hooks.on_note = [](const Note& n) { // the data and precision notes were said once, above
           if (n.kind == NoteKind::Resume || n.kind == NoteKind::Study)
             status_line(n.text, true);
         };
         const bool tty = ::isatty(2);
         hooks.on_progress = [tty,
                              last = std::chrono::steady_clock::time_point{}](const study::StudyProgress& p) mutable {
           const auto now = std::chrono::steady_clock::now();
           const bool boundary = p.current.empty() || p.run.step == 0;
           if (!boundary && now - last < std::chrono::milliseconds(tty ? 250 : 15000))
             return;
           last = now;
           std::string line = fmt::format(
               "study {}/{} runs  elapsed {}  ETA {}",
               p.runs_done,
               p.runs_total,
               duration(p.elapsed_seconds),
               duration(p.eta_seconds));
           if (!p.current.empty()) {
             line += "  | " + p.current;
             if (p.run.epochs > 0)
               line += fmt::format(
                   " epoch {}/{} step {}/{} loss {:.3f}",
                   p.run.epoch,
                   p.run.epochs,
                   p.run.step,
                   p.run.steps,
                   p.run.loss);
           }
           status_line(line, false);
         };
         hooks.on_run_done = [](const study::RunSpec& r, bool reused) {
           status_line(fmt::format("{} {}", reused ? "done already:" : "finished:", r.name), true);
         };
         const auto result = study::run_study(options, hooks);
         if (result.report.empty()) // one run, or a worker that left the report to another
           return 0;
         std::cout << fmt::format(
             "{} runs ({} reused, {} trained now)\n", result.runs_total, result.runs_reused, result.runs_trained);
         for (const auto& c : result.claims)
           std::cout << fmt::format("  [{}] {}: {}\n", study::verdict_name(c.verdict), c.claim, c.measured);
         std::cout << fmt::format("report: {}\nsummary: {}\n", result.report.string(), result.summary_path.string());
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
