#include "launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
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

// argv without --nproc-per-node N / --nproc-per-node=N.
std::vector<std::string> child_args() {
  std::vector<std::string> out;
  const auto& args = program_args();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc-per-node") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc-per-node=", 0) == 0)
      continue;
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

} // namespace

int launch_local_ranks(int nproc, double dist_timeout_seconds) {
  const int port = std::getenv("MASTER_PORT") ? std::atoi(std::getenv("MASTER_PORT")) : free_port();
  const auto args = child_args();
  std::cerr << fmt::format("smoothlab: launching {} local ranks (MASTER_PORT {})\n", nproc, port);
  std::vector<pid_t> pids;
  const pid_t parent = ::getpid();
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    check(pid >= 0, "--nproc-per-node: fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent)
        ::_exit(1);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
      std::vector<char*> argv;
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::cerr << "error: --nproc-per-node: cannot start " << args[0] << "\n";
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
            deadline = clock::now() +
                std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(dist_timeout_seconds + 30));
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
      dist_timeout_seconds = 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

} // namespace smoothlab::cli
