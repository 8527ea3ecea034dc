// Data-parallel communication on PyTorch's c10d: the process group of a run launched by torchrun, Slurm or
// `smoothlab train --nproc-per-node N`, and the few collectives training needs.
//
//   launch_env() ── RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun's variables) ──▶ Group
//   Group: TCPStore rendezvous (rank 0 hosts it, or torchrun's agent does: TORCHELASTIC_USE_AGENT_STORE=True, keys
//          under /worker/attempt_<restart count>), then ProcessGroupNCCL for a CUDA run where this build has it
//          (distributed/nccl.cpp, enabled by a CMake compile probe), else ProcessGroupGloo over TCP (CPU tensors;
//          CUDA tensors are copied through the host); every collective bounded by the group's timeout.
//
// Failures never hang: a peer that never arrives, one that dies, a port in use, end in an exception within the
// timeout. std::runtime_error for lost peers (exit 1), Error for bad settings (exit 2): a port in use, ranks whose
// configurations differ (check_same), malformed variables.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::distributed {

// torchrun's environment of one worker process.
struct LaunchEnv {
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false; // TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent hosts the TCPStore
  int restart_count = 0; // TORCHELASTIC_RESTART_COUNT
  bool libuv = true; // USE_LIBUV: the rendezvous store's server on libuv unless "0" (torchrun's rule), where the
                     // LibTorch at hand has libuv (Debian's has not: then the classic server, as with USE_LIBUV=0)
};

// The launch environment when WORLD_SIZE is set (RANK then required; the rest defaulted as torchrun's env://
// rendezvous does), else nullopt. Throws Error naming the variable when one is malformed or out of range.
std::optional<LaunchEnv> launch_env();

// The one-line message of a rendezvous that failed with `what` (c10d's message): a timeout is named as one, with
// --dist-timeout, and anything else as what it is.
std::string rendezvous_failure(const LaunchEnv& env, std::chrono::milliseconds timeout, const std::string& what);

// Whether this build has c10d's Gloo backend (Debian's libgloo-dev at build time).
bool available();

// Splits parameter-sized tensors into buckets of about bucket_bytes (DDP's bucket_cap_mb, default 25 MiB): indices
// into the input, in order, each bucket of one dtype and device.
std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes);

class Group {
 public:
  // Joins the group: rendezvous through the TCPStore at MASTER_ADDR:MASTER_PORT, then a full mesh of TCP pairs.
  // The Gloo device binds the interface named by GLOO_SOCKET_IFNAME, else the address this host reaches
  // MASTER_ADDR from (loopback for a loopback master): never the hostname, which Debian maps to 127.0.1.1.
  // `device` is the one this rank trains on: a CUDA device selects NCCL where this build has it, on that GPU
  // (backend() tells which).
  Group(const LaunchEnv& env, std::chrono::milliseconds timeout, const torch::Device& device = torch::kCPU);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const {
    return env_.rank;
  }
  int size() const {
    return env_.world_size;
  }
  const LaunchEnv& env() const {
    return env_;
  }
  std::chrono::milliseconds timeout() const {
    return timeout_;
  }
  const std::string& backend() const; // "gloo" | "nccl"

  // Every rank publishes `value` under `what`; throws Error on every rank when one differs from rank 0's, naming the
  // first key whose value differs (for JSON objects) and both values.
  void check_same(const std::string& what, const nlohmann::json& value) const;

  // In place: the element-wise sum over ranks. Tensors are flattened into buckets (make_buckets) and all buckets are
  // in flight at once (one all-reduce each), then copied back.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors) const;
  // The gradients of `parameters` (those defined) replaced by their mean over ranks: DDP's gradient averaging.
  void average_gradients(const std::vector<torch::Tensor>& parameters) const;
  // In place: root's values on every rank (DDP's broadcast of parameters and buffers at construction).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0) const;
  // The rows of every rank's `local` (the same shape on every rank), rank-major: [size · n, ...].
  torch::Tensor all_gather(const torch::Tensor& local) const;
  void barrier() const;

 private:
  struct Impl;
  LaunchEnv env_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;
};

} // namespace smoothlab::distributed
