#include "launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/core/error.h"

namespace smoothlab::cli {

namespace {

// A port the kernel reports free now (bind to 0). Rank 0 binds it a moment later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "--nproc-per-node: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  check(ok, "--nproc-per-node: cannot find a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

// argv without the options named (each with its value, or as --name=value).
std::vector<std::string> args_without(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  const auto& args = program_args();
  for (size_t i = 0; i < args.size(); ++i) {
    bool drop = false;
    for (const auto& name : names) {
      if (args[i] == name) {
        ++i;
        drop = true;
      } else if (args[i].rfind(name + "=", 0) == 0) {
        drop = true;
      }
    }
    if (!drop)
      out.push_back(args[i]);
  }
  return out;
}

int exit_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

// Starts one child per element of `envs` running `args` with those variables set, waits for all. After the first
// failure the others get kill_after seconds (< 0: forever) before SIGTERM. Returns 0 or the first failure's status.
int run_children(
    const std::vector<std::string>& args,
    const std::vector<std::vector<std::pair<std::string, std::string>>>& envs,
    double kill_after) {
  std::vector<pid_t> pids;
  const pid_t parent = ::getpid();
  for (const auto& env : envs) {
    const pid_t pid = ::fork();
    check(pid >= 0, "fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM); // a child dies with its launcher
      if (::getppid() != parent)
        ::_exit(1);
      for (const auto& [name, value] : env)
        if (value.empty())
          ::unsetenv(name.c_str());
        else
          ::setenv(name.c_str(), value.c_str(), 1);
      std::vector<char*> argv;
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::cerr << "error: cannot start " << args[0] << "\n";
      ::_exit(1);
    }
    pids.push_back(pid);
  }
  using clock = std::chrono::steady_clock;
  int result = 0;
  std::optional<clock::time_point> deadline; // set by the first failure
  size_t running = pids.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid > 0) {
      for (auto& p : pids)
        if (p == pid) {
          p = 0;
          --running;
          const int code = exit_status(status);
          if (code != 0 && result == 0) {
            result = code;
            if (kill_after >= 0)
              deadline =
                  clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(kill_after));
          }
        }
      continue;
    }
    if (pid < 0 && errno != EINTR)
      break;
    if (deadline && clock::now() > *deadline) {
      for (const pid_t p : pids)
        if (p > 0)
          ::kill(p, SIGTERM);
      deadline = clock::now() + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

} // namespace

int launch_local_ranks(int nproc, double dist_timeout_seconds) {
  const int port = std::getenv("MASTER_PORT") ? std::atoi(std::getenv("MASTER_PORT")) : free_port();
  std::cerr << fmt::format("smoothlab: launching {} local ranks (MASTER_PORT {})\n", nproc, port);
  std::vector<std::vector<std::pair<std::string, std::string>>> envs;
  for (int r = 0; r < nproc; ++r)
    envs.push_back(
        {{"RANK", std::to_string(r)},
         {"LOCAL_RANK", std::to_string(r)},
         {"WORLD_SIZE", std::to_string(nproc)},
         {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
         {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", std::to_string(port)},
         {"TORCHELASTIC_USE_AGENT_STORE", ""}});
  // The survivors of a failed rank stop on their own within --dist-timeout; the grace covers their last words.
  return run_children(args_without({"--nproc-per-node"}), envs, dist_timeout_seconds + 30);
}

int launch_study_workers(int jobs, int threads_each) {
  auto args = args_without({"--jobs", "--threads"});
  if (std::find(args.begin(), args.end(), "--worker") == args.end())
    args.push_back("--worker");
  args.push_back("--threads");
  args.push_back(std::to_string(threads_each));
  std::cerr << fmt::format("smoothlab study: {} workers × {} threads\n", jobs, threads_each);
  return run_children(args, std::vector<std::vector<std::pair<std::string, std::string>>>(size_t(jobs)), -1);
}

} // namespace smoothlab::cli
