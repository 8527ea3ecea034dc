// smoothlab: the command-line program. Parses argv, runs one subcommand, maps errors to exit codes:
// 0 success, 2 bad input or options ("error: ..." and a "hint: ..."), 1 an internal failure.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "command.h"
#include "smoothlab/core/allocator.h"
#include "smoothlab/core/cpu_isa.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/parallel.h"

namespace smoothlab::cli {

std::vector<CommandInfo>& commands() {
  static std::vector<CommandInfo> registry;
  return registry;
}

bool register_command(CommandInfo info) {
  commands().push_back(std::move(info));
  return true;
}

int apply_threads(int n) {
  const int threads = n > 0 ? n : std::max(1, int(std::thread::hardware_concurrency()));
  set_threads(threads);
  return threads;
}

void status_line(const std::string& text, bool final_line) {
  static const bool tty = ::isatty(STDERR_FILENO);
  if (tty) {
    std::cerr << "\r\033[K" << text << (final_line ? "\n" : "") << std::flush;
  } else {
    std::cerr << text << "\n" << std::flush;
  }
}

std::string& command_line() {
  static std::string line;
  return line;
}

std::vector<std::string>& program_args() {
  static std::vector<std::string> args;
  return args;
}

// "rank R: " in a rank of a distributed run (torchrun's RANK with WORLD_SIZE > 1), so every line names its process.
std::string rank_prefix() {
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (!rank || !world || std::string(world) == "1" || std::string(world).empty())
    return "";
  return std::string("rank ") + rank + ": ";
}

} // namespace smoothlab::cli

int main(int argc, char** argv) {
  using namespace smoothlab::cli;
  smoothlab::keep_freed_memory(); // every step reuses mapped pages (core/allocator.h)
  for (int i = 0; i < argc; ++i) {
    command_line() += (i ? " " : "") + std::string(argv[i]);
    program_args().push_back(argv[i]);
  }
  const std::string rank = rank_prefix();
  CLI::App app{"smoothlab: label smoothing — training, calibration, representations and distillation on LibTorch"};
  app.set_version_flag("--version", std::string("smoothlab ") + SMOOTHLAB_VERSION);
  app.require_subcommand(1);
  auto& registry = commands();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, Runner>> runners;
  for (auto& info : registry) {
    CLI::App* sub = app.add_subcommand(info.name, info.description);
    runners.emplace_back(sub, info.setup(*sub));
  }
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (auto& info : registry)
      names.push_back(info.name);
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::cerr << "error: unknown command '" << argv[1] << "'\nhint: known: " << smoothlab::join(names) << "\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << rank << e.what() << "\n";
    std::string hint = "run 'smoothlab --help'";
    for (auto& [sub, run] : runners)
      if (sub->parsed())
        hint = "run 'smoothlab " + sub->get_name() + " --help'";
    std::cerr << "hint: " << hint << "\n";
    return 2;
  }
  try {
    smoothlab::active_isa(); // an unknown SMOOTHLAB_CPU_ISA is refused before any work (core/cpu_isa.h)
    for (auto& [sub, run] : runners)
      if (sub->parsed())
        return run();
  } catch (const smoothlab::Error& e) {
    std::cerr << "\nerror: " << rank << e.what() << "\n";
    if (!e.hint().empty())
      std::cerr << "hint: " << e.hint() << "\n";
    return 2;
  } catch (const smoothlab::InternalError& e) {
    std::cerr << "\nerror: " << rank << "internal error: " << e.what() << "\n"
              << "hint: this is a bug in smoothlab, not in your input: please report it with the command line\n";
    return 1;
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    std::cerr << "\nerror: " << rank << what.substr(0, what.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "\nerror: " << rank << e.what() << "\n";
    return 1;
  }
  return 1;
}
