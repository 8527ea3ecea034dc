// Subcommands register themselves here; main() builds the CLI from the registry.
// Each app/cmd_*.cpp adds one subcommand: it declares its options on the CLI11 sub-app and returns the
// function that runs it. Only the CLI prints and chooses exit codes; the library throws smoothlab::Error.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace smoothlab::cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App& sub)>;

struct CommandInfo {
  std::string name, description;
  int order; // position in --help
  Setup setup;
};

bool register_command(CommandInfo info);
std::vector<CommandInfo>& commands();

// Sets LibTorch's intra-op threads: n > 0, or all cores for 0. Returns the count used.
int apply_threads(int n);

// Writes one status line to stderr: updating in place on a terminal, a plain line otherwise.
void status_line(const std::string& text, bool final_line);

// The process's command line, for provenance.
std::string& command_line();
// The same, one argument per element (the local launcher re-runs it).
std::vector<std::string>& program_args();

} // namespace smoothlab::cli
