#include "smoothlab/distributed/group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#if SMOOTHLAB_WITH_GLOO
#include "smoothlab/core/torch_compat_c10d.h"
#include "smoothlab/distributed/backend.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include "smoothlab/core/error.h"
#include "smoothlab/core/json_diff.h"

namespace smoothlab::distributed {

namespace {

std::optional<std::string> env_var(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const auto v = env_var(name);
  if (!v)
    return fallback;
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || value < lo || value > hi)
    throw Error(
        fmt::format("environment variable {}={} is not an integer in [{}, {}]", name, *v, lo, hi),
        "torchrun and srun set it; unset it to train in one process");
  return value;
}

// The first line of a c10d or Gloo message, without its source location prefix.
std::string first_line(const std::string& what) {
  auto line = what.substr(0, what.find('\n'));
  if (line.size() > 300)
    line = line.substr(0, 300) + "…";
  return line;
}

[[noreturn]] void lost_peers(const char* op, const std::exception& e, std::chrono::milliseconds timeout) {
  throw std::runtime_error(fmt::format(
      "{} failed: another rank stopped or did not answer within --dist-timeout {} s ({})",
      op,
      timeout.count() / 1000.0,
      first_line(e.what())));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The local address of the route to host:port (a UDP connect sends nothing), or "" when it cannot be found.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    return "";
  std::string out;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char buf[INET_ADDRSTRLEN] = {};
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        ::inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)))
      out = buf;
  }
  if (fd >= 0)
    ::close(fd);
  freeaddrinfo(res);
  return out;
}

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

} // namespace

std::optional<LaunchEnv> launch_env() {
  if (!env_var("WORLD_SIZE"))
    return std::nullopt;
  LaunchEnv e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  if (!env_var("RANK") && e.world_size > 1)
    throw Error("WORLD_SIZE is set but RANK is not", "launch with torchrun, srun or smoothlab train --nproc-per-node");
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", 0, 0, 1 << 20);
  e.local_world_size = env_int("LOCAL_WORLD_SIZE", 1, 1, 1 << 20);
  e.master_addr = env_var("MASTER_ADDR").value_or("127.0.0.1");
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  e.agent_store = env_var("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  e.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
  e.libuv = env_var("USE_LIBUV").value_or("1") == "1";
  return e;
}

std::string rendezvous_failure(const LaunchEnv& e, std::chrono::milliseconds timeout, const std::string& what) {
  std::string lower = what;
  for (auto& c : lower)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("timed out") != std::string::npos || lower.find("timeout") != std::string::npos)
    return fmt::format(
        "cannot reach the rendezvous at {}:{} within --dist-timeout {} s ({})",
        e.master_addr,
        e.master_port,
        timeout.count() / 1000.0,
        first_line(what));
  return fmt::format("cannot join the rendezvous at {}:{}: {}", e.master_addr, e.master_port, first_line(what));
}

std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const int64_t n = t.numel() * int64_t(t.element_size());
    const bool fits = !buckets.empty() && filled + n <= bucket_bytes &&
        tensors[buckets.back().front()].scalar_type() == t.scalar_type() &&
        tensors[buckets.back().front()].device() == t.device();
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += n;
  }
  return buckets;
}

#if SMOOTHLAB_WITH_GLOO

bool available() {
  return true;
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> pg;
  std::optional<torch::Device> device; // NCCL: every collective's tensors live on this rank's GPU
  std::string backend = "gloo";

  // t on the backend's device (itself when it is there or when the backend takes any device).
  torch::Tensor on_device(const torch::Tensor& t) const {
    return device ? t.to(*device) : t;
  }
};

Group::Group(const LaunchEnv& e, std::chrono::milliseconds timeout, const torch::Device& device)
    : env_(e), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions so;
  so.port = uint16_t(e.master_port);
  so.isServer = !e.agent_store && e.rank == 0;
  so.numWorkers = size_t(e.world_size);
  so.waitWorkers = false; // the process group's connect waits for every rank, within the timeout
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> tcp;
  try {
    tcp = compat::make_tcp_store(e.master_addr, so, e.libuv);
  } catch (const std::exception& ex) {
    const std::string what = ex.what();
    if (so.isServer && what.find("in use") != std::string::npos)
      throw Error(
          fmt::format("MASTER_PORT {} on {} is in use: cannot host the rendezvous", e.master_port, e.master_addr),
          "set MASTER_PORT (torchrun --master_port) to a free port");
    throw std::runtime_error(rendezvous_failure(e, timeout, what));
  }
  // torchrun's agent store outlives restarts: each attempt's keys under their own prefix, as torch.distributed does.
  impl_->store = tcp;
  if (e.agent_store)
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", e.restart_count), tcp);
  impl_->store = c10::make_intrusive<c10d::PrefixStore>("smoothlab", impl_->store);
  impl_->store->setTimeout(timeout);

#if SMOOTHLAB_WITH_NCCL
  if (device.is_cuda()) {
    impl_->device = device;
    impl_->backend = "nccl";
    impl_->pg = make_nccl(impl_->store, e.rank, e.world_size, timeout); // connects at the first collective
    return;
  }
#endif
  (void)device; // Gloo takes CPU and CUDA tensors alike (CUDA ones through the host)
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  if (const auto ifname = env_var("GLOO_SOCKET_IFNAME")) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
  } else {
    std::string address =
        is_loopback(e.master_addr) ? "127.0.0.1" : local_address_towards(e.master_addr, e.master_port);
    if (address.empty())
      throw Error(
          fmt::format("cannot find this host's address towards MASTER_ADDR={}", e.master_addr),
          "set GLOO_SOCKET_IFNAME to the network interface to use (e.g. eth0)");
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(address));
  }
  options->threads = 2;
  try {
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, e.rank, e.world_size, options);
  } catch (const std::exception& ex) {
    throw std::runtime_error(fmt::format(
        "the {} ranks did not all arrive within --dist-timeout {} s ({})",
        e.world_size,
        timeout.count() / 1000.0,
        first_line(ex.what())));
  }
}

Group::~Group() = default;

const std::string& Group::backend() const {
  return impl_->backend;
}

void Group::check_same(const std::string& what, const nlohmann::json& value) const {
  try {
    impl_->store->set(fmt::format("check/{}/{}", what, rank()), bytes(value.dump()));
    // Every rank (rank 0 too) compares every rank's value with rank 0's, so all stop with the same message.
    nlohmann::json first;
    for (int r = 0; r < size(); ++r) {
      const auto theirs = impl_->store->get(fmt::format("check/{}/{}", what, r));
      const auto other = nlohmann::json::parse(std::string(theirs.begin(), theirs.end()));
      if (r == 0)
        first = other;
      if (other == first)
        continue;
      std::string detail;
      if (other.is_object() && first.is_object())
        if (const auto key = first_different_key(first, other))
          detail = fmt::format(
              ": {} is {} on rank 0 and {} on rank {}",
              *key,
              first.value(*key, nlohmann::json()).dump(),
              other.value(*key, nlohmann::json()).dump(),
              r);
      throw Error(
          fmt::format("the {} of rank {} differs from rank 0's{}", what, r, detail),
          "start every rank with the same command line");
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    lost_peers("comparing the ranks' configurations", ex, timeout_);
  }
}

void Group::all_reduce_sum(const std::vector<torch::Tensor>& tensors) const {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<at::Tensor>> flats;
  std::vector<decltype(impl_->pg->allreduce(std::declval<std::vector<at::Tensor>&>()))> works;
  const auto buckets = make_buckets(tensors, int64_t(25) << 20);
  try {
    for (const auto& bucket : buckets) {
      std::vector<torch::Tensor> parts;
      for (const size_t i : bucket)
        parts.push_back(tensors[i].reshape({-1}));
      flats.push_back({impl_->on_device(parts.size() == 1 ? parts[0].clone() : torch::cat(parts))});
      works.push_back(impl_->pg->allreduce(flats.back()));
    }
    for (size_t b = 0; b < buckets.size(); ++b) {
      works[b]->wait(timeout_);
      int64_t offset = 0;
      for (const size_t i : buckets[b]) {
        const auto& t = tensors[i];
        t.copy_(flats[b][0].slice(0, offset, offset + t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  } catch (const std::exception& ex) {
    lost_peers("all-reduce", ex, timeout_);
  }
}

void Group::average_gradients(const std::vector<torch::Tensor>& parameters) const {
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined())
      grads.push_back(p.grad());
  all_reduce_sum(grads);
  torch::NoGradGuard no_grad;
  for (auto& g : grads)
    g.div_(double(size()));
}

void Group::broadcast(const std::vector<torch::Tensor>& tensors, int root) const {
  torch::NoGradGuard no_grad;
  try {
    for (const auto& t : tensors) {
      std::vector<at::Tensor> one{impl_->on_device(t).contiguous()};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      impl_->pg->broadcast(one, o)->wait(timeout_);
      if (!one[0].is_same(t))
        t.copy_(one[0]);
    }
  } catch (const std::exception& ex) {
    lost_peers("broadcast", ex, timeout_);
  }
}

torch::Tensor Group::all_gather(const torch::Tensor& local) const {
  try {
    std::vector<at::Tensor> in{impl_->on_device(local).contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < size(); ++r)
      out[0].push_back(torch::empty_like(in[0]));
    impl_->pg->allgather(out, in)->wait(timeout_);
    return torch::cat(out[0]).to(local.device());
  } catch (const std::exception& ex) {
    lost_peers("all-gather", ex, timeout_);
  }
}

void Group::barrier() const {
  try {
    impl_->pg->barrier()->wait(timeout_);
  } catch (const std::exception& ex) {
    lost_peers("barrier", ex, timeout_);
  }
}

#else // no Gloo in this build

bool available() {
  return false;
}

struct Group::Impl {};

Group::Group(const LaunchEnv& e, std::chrono::milliseconds timeout, const torch::Device&) : env_(e), timeout_(timeout) {
  throw Error(
      "this smoothlab was built without c10d's Gloo backend: it cannot join a process group",
      "install libgloo-dev (Debian) and rebuild (scripts/setup.sh does both)");
}
Group::~Group() = default;
const std::string& Group::backend() const {
  static const std::string none = "none";
  return none;
}
void Group::check_same(const std::string&, const nlohmann::json&) const {}
void Group::all_reduce_sum(const std::vector<torch::Tensor>&) const {}
void Group::average_gradients(const std::vector<torch::Tensor>&) const {}
void Group::broadcast(const std::vector<torch::Tensor>&, int) const {}
torch::Tensor Group::all_gather(const torch::Tensor& local) const {
  return local;
}
void Group::barrier() const {}

#endif

} // namespace smoothlab::distributed
