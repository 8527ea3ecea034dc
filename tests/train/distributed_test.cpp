// Data-parallel training on c10d (issue 16): the sampler's shards, 2 ranks × batch B equal to 1 process × batch 2B,
// synchronised batch norm, failures that end in bounded time with `error: rank R:`, resume across world sizes.
// Every distributed run here is 2 processes × 1 thread on loopback.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "smoothlab/data/loader.h"
#include "smoothlab/distributed/group.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(DistributedSampler, ShardsAreDisjointEqualAndCoverTheEpochPaddedLikePyTorch) {
  const int64_t n = 10;
  const int world = 3;
  std::multiset<int64_t> all;
  for (int r = 0; r < world; ++r) {
    data::DistributedSampler s(n, r, world, true, 7);
    const auto shard = s.indices(2);
    EXPECT_EQ(int64_t(shard.size()), 4); // ceil(10 / 3)
    all.insert(shard.begin(), shard.end());
  }
  // 12 slots: every example once, and the epoch's first 2 again (PyTorch pads with the start of the order).
  EXPECT_EQ(all.size(), 12u);
  const auto order = data::RandomSampler(n, 7).indices(2);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(all.count(i), (i == order[0] || i == order[1]) ? 2u : 1u) << i;
  // Rank r takes positions r, r + W, … of the shared order.
  const auto shard1 = data::DistributedSampler(n, 1, world, true, 7).indices(2);
  EXPECT_EQ(shard1[0], order[1]);
  EXPECT_EQ(shard1[1], order[4]);
  EXPECT_EQ(shard1[3], order[0]); // position 10 = padding
  // One replica is the plain permutation; shuffle off is 0..n−1 strided.
  EXPECT_EQ(data::DistributedSampler(n, 0, 1, true, 7).indices(2), order);
  EXPECT_EQ(data::DistributedSampler(n, 1, 3, false, 0).indices(0), (std::vector<int64_t>{1, 4, 7, 0}));
}

TEST(DistributedBuckets, SplitAtTheCapAndNeverMixDtypes) {
  std::vector<torch::Tensor> t = {
      torch::zeros({100}), torch::zeros({100}), torch::zeros({300}), torch::zeros({10}, torch::kFloat64)};
  const auto b = distributed::make_buckets(t, 800); // 800 bytes = 200 floats
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(b[1], (std::vector<size_t>{2})); // larger than the cap: a bucket of its own
  EXPECT_EQ(b[2], (std::vector<size_t>{3}));
}

// The pid of the process with RANK=rank in its environment and `out` on its command line, or -1.
int find_rank(int rank, const std::string& out) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmdline, environ;
    try {
      cmdline = read_bytes(e.path() / "cmdline");
      environ = read_bytes(e.path() / "environ");
    } catch (const std::exception&) {
      continue; // gone, or not ours
    }
    if (cmdline.find(out) == std::string::npos)
      continue;
    std::istringstream vars(environ);
    for (std::string kv; std::getline(vars, kv, '\0');)
      if (kv == "RANK=" + std::to_string(rank))
        return std::stoi(name);
  }
  return -1;
}

// Debian's torchrun with 2 local ranks. Its defaults crash under Debian 12's Python 3.11 (hence --redirects/--tee).
constexpr const char* kTorchrun = "/usr/bin/torchrun --nproc_per_node 2 --redirects 1 --tee 1";

// Why torchrun cannot run here, or "" when it can. Debian 13's torchrun 2.6 cannot: its static rendezvous makes its
// TCPStore with the libuv server (the binding's default; USE_LIBUV is not consulted there), which Debian's torch was
// built without, and fails before any rank starts. Probed once, the way torchrun makes its store.
const std::string& torchrun_unusable() {
  static const std::string why = [] {
    if (!fs::exists("/usr/bin/torchrun"))
      return std::string("no torchrun (Debian: python3-torch)");
    const int rc = std::system(
        "/usr/bin/python3 -c \"import torch.distributed as d; d.TCPStore('127.0.0.1', 0, 1, True)\" >/dev/null 2>&1");
    return rc == 0 ? std::string()
                   : std::string(
                         "this torch's TCPStore refuses its default (libuv) server, so torchrun cannot host "
                         "its rendezvous (Debian 13's python3-torch 2.6 has no libuv)");
  }();
  return why;
}

// The rendezvous store on every LibTorch: torchrun's choice (libuv unless USE_LIBUV=0) where this LibTorch has libuv,
// the classic server where it has not (Debian's 2.x) or before 2.2 — a group of one forms, and its collectives work,
// either way.
TEST(DistRendezvous, AGroupOfOneFormsWithOrWithoutLibuv) {
  if (!distributed::available())
    GTEST_SKIP() << "built without c10d Gloo (libgloo-dev)";
  for (const bool libuv : {true, false}) {
    SCOPED_TRACE(libuv ? "USE_LIBUV=1" : "USE_LIBUV=0");
    distributed::LaunchEnv env;
    env.master_port = free_port();
    env.libuv = libuv;
    distributed::Group group(env, std::chrono::seconds(30));
    EXPECT_EQ(group.backend(), "gloo");
    auto t = torch::tensor({1.5F, -2.0F});
    group.all_reduce_sum({t});
    EXPECT_TRUE(torch::equal(t, torch::tensor({1.5F, -2.0F})));
  }
}

TEST(DistRendezvous, UseLibuvFollowsTorchrunsRule) {
  ScopedEnv world("WORLD_SIZE", "1");
  for (const auto& [value, expected] :
       std::vector<std::pair<const char*, bool>>{{nullptr, true}, {"1", true}, {"0", false}}) {
    ScopedEnv v("USE_LIBUV", value);
    const auto env = distributed::launch_env();
    ASSERT_TRUE(env.has_value());
    EXPECT_EQ(env->libuv, expected) << (value ? value : "unset");
  }
}

// A failed rendezvous names what failed: a timeout as one, with --dist-timeout; anything else (here LibTorch 2.6's
// refusal of libuv, which used to be reported as a timeout that never happened) as itself.
TEST(DistRendezvous, AFailureSaysWhatFailed) {
  distributed::LaunchEnv env;
  env.master_port = 41679;
  const auto timeout = std::chrono::seconds(300);
  const auto libuv = distributed::rendezvous_failure(
      env, timeout, "use_libuv was requested but PyTorch was build without libuv support\nException raised from ...");
  EXPECT_EQ(
      libuv,
      "cannot join the rendezvous at 127.0.0.1:41679: use_libuv was requested but PyTorch was build "
      "without libuv support");
  const auto timed_out = distributed::rendezvous_failure(
      env, timeout, "The client socket has timed out after 300000ms while trying to connect to (127.0.0.1, 41679).");
  EXPECT_EQ(
      timed_out,
      "cannot reach the rendezvous at 127.0.0.1:41679 within --dist-timeout 300 s (The client "
      "socket has timed out after 300000ms while trying to connect to (127.0.0.1, 41679).)");
}

// 8×8 synthetic images, 3 classes; 1 152 training examples after the 128 held out: 18 steps of 64 per epoch.
struct DistFixture : public ::testing::Test {
  void SetUp() override {
    if (!distributed::available())
      GTEST_SKIP() << "built without c10d Gloo (libgloo-dev)";
    write_idx_folder(dir / "data", 1280, 64, 8, 8, 3);
  }
  std::vector<std::string> args(const std::string& model, const std::string& out, int64_t batch, int epochs) const {
    return {
        "train",
        "--data",
        "idx:" + (dir / "data").string(),
        "--model",
        model,
        "--val-size",
        "128",
        "--epochs",
        std::to_string(epochs),
        "--batch-size",
        std::to_string(batch),
        "--lr",
        "0.02",
        "--smoothing",
        "0.1",
        "--threads",
        "1",
        "--workers",
        "0",
        "--eval-batch-size",
        "50",
        "--out",
        (dir / out).string()};
  }
  static std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  // max |θ_a − θ_b| over every parameter and buffer, and max |θ_a|.
  std::pair<double, double> distance(const std::string& a, const std::string& b) const {
    auto ra = train::load_run(dir / a), rb = train::load_run(dir / b);
    double d = 0, scale = 0;
    auto pb = rb.model->named_parameters();
    for (const auto& p : ra.model->named_parameters()) {
      d = std::max(d, (p.value() - pb[p.key()]).abs().max().item<double>());
      scale = std::max(scale, p.value().abs().max().item<double>());
    }
    auto bb = rb.model->named_buffers();
    for (const auto& p : ra.model->named_buffers())
      if (p.value().is_floating_point())
        d = std::max(d, (p.value() - bb[p.key()]).abs().max().item<double>());
    return {d, scale};
  }
  TempDir dir;
};

TEST_F(DistFixture, TwoRanksOfTheMlpEndWithTheParametersOfOneProcessWithTheDoubledBatch) {
  // 10 epochs × 18 steps; augmentation on (a pure function of seed, epoch and index, so the same on both sides).
  auto single = run_cli(args("mlp", "one", 64, 10));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  auto two = run_cli(plus(args("mlp", "two", 32, 10), {"--nproc-per-node", "2"}));
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(two.err.find("2 ranks × batch 32 = global batch 64"), std::string::npos) << two.err;
  // Float32 rounding: the mean over 64 examples against the mean of two means over 32 (and all-reduce's sum) round
  // differently, and 180 steps of SGD grow that to ~5e-4 of |θ| (measured). The control shows what a real difference
  // looks like: one process at batch 32, the per-rank batch, ends > 10× farther away.
  ASSERT_EQ(run_cli(args("mlp", "control", 32, 10)).exit_code, 0);
  const auto [d, scale] = distance("one", "two");
  const auto [d_control, scale_control] = distance("one", "control");
  (void)scale_control;
  EXPECT_LT(d, 5e-3 * scale) << "max |Δθ| " << d << " at |θ| " << scale;
  EXPECT_GT(d_control, 10 * d) << "control " << d_control << " vs 2 ranks " << d;
  // The metrics are over both shards: equal to the one process's, not rank 0's half.
  const auto m1 = read_jsonl(dir / "one" / "metrics.jsonl"), m2 = read_jsonl(dir / "two" / "metrics.jsonl");
  ASSERT_EQ(m2.size(), 10u);
  for (size_t e = 0; e < 10; ++e) {
    EXPECT_NEAR(m2[e]["train_loss"].get<double>(), m1[e]["train_loss"].get<double>(), 1e-3) << e;
    EXPECT_NEAR(m2[e]["train_accuracy"].get<double>(), m1[e]["train_accuracy"].get<double>(), 3.0 / 1152) << e;
    EXPECT_NEAR(m2[e]["val_loss"].get<double>(), m1[e]["val_loss"].get<double>(), 1e-3) << e;
    EXPECT_EQ(m2[e]["world_size"], 2);
  }
  EXPECT_EQ(train::RunDir(dir / "two").read_config().world_size, 2);
  EXPECT_EQ(train::RunDir(dir / "one").read_config().world_size, 1);

  // torchrun (Debian's python3-torch), where it can run.
  if (torchrun_unusable().empty()) {
    const auto log = (dir / "torchrun_logs").string();
    std::string cmd = std::string(kTorchrun) + " --log_dir " + log + " --master_port " + std::to_string(free_port()) +
        " --no_python " SMOOTHLAB_CLI_PATH;
    for (const auto& a : args("mlp", "torchrun", 32, 10))
      cmd += " '" + a + "'";
    cmd += " > " + (dir / "torchrun.out").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read_bytes(dir / "torchrun.out");
    const auto [dt, st] = distance("one", "torchrun");
    EXPECT_LT(dt, 5e-3 * st) << "torchrun: max |Δθ| " << dt;
  }
}

TEST_F(DistFixture, SyncBatchNormMakesTwoRanksOfTheCnnMatchOneProcess) {
  // 4 epochs × 18 steps. Per-rank batch norm normalises each half with its own statistics: another trajectory.
  // Synchronised, the difference is float32 rounding (batch norm's reductions in another order), at least 10×
  // smaller than per-rank batch norm's.
  ASSERT_EQ(run_cli(args("cnn", "one", 64, 4)).exit_code, 0);
  auto sync = run_cli(plus(args("cnn", "sync", 32, 4), {"--nproc-per-node", "2", "--sync-bn"}));
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  ASSERT_EQ(run_cli(plus(args("cnn", "local", 32, 4), {"--nproc-per-node", "2"})).exit_code, 0);
  const auto [d_sync, scale] = distance("one", "sync");
  const auto [d_local, scale2] = distance("one", "local");
  (void)scale2;
  EXPECT_LT(d_sync, 2e-3 * scale) << "synchronised: max |Δθ| " << d_sync << " at |θ| " << scale;
  EXPECT_GT(d_local, 10 * d_sync) << "per-rank " << d_local << " vs synchronised " << d_sync;
  // --sync-bn in one process is refused.
  auto alone = run_cli(plus(args("cnn", "alone", 32, 1), {"--sync-bn"}));
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("--sync-bn needs a distributed run"), std::string::npos) << alone.err;
}

TEST_F(DistFixture, AKilledRankMakesTheOtherStopWithAnErrorInBoundedTime) {
  const auto out = (dir / "killed").string();
  CliProcess p(plus(args("mlp", "killed", 4, 20), {"--nproc-per-node", "2", "--dist-timeout", "30"}));
  int pid = -1;
  ASSERT_TRUE(p.wait_until(
      [&] {
        pid = find_rank(1, out);
        return pid > 0 && fs::exists(dir / "killed" / "config.json");
      },
      60));
  ::kill(pid, SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  p.wait_until([] { return false; }, 60); // returns when the launcher exits
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto r = p.finish();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(seconds, 30.0 + 5);
  EXPECT_NE(r.err.find("error: rank 0: "), std::string::npos) << r.err;
}

TEST_F(DistFixture, AKilledRunResumesWithAnotherWorldSizeAndRecordsEveryEpochOnce) {
  // Kills the 2-rank run in `name` once its first epoch is checkpointed.
  auto start_and_kill = [&](const std::string& name) {
    const auto out = dir / name;
    CliProcess p(plus(args("mlp", name, 4, 6), {"--nproc-per-node", "2"}));
    ASSERT_TRUE(p.wait_until(
        [&] { return fs::exists(out / "checkpoint.safetensors") && !read_jsonl(out / "metrics.jsonl").empty(); }, 120));
    p.kill(SIGKILL); // the launcher; its ranks die with it (PR_SET_PDEATHSIG)
    p.finish();
    for (int i = 0; i < 500 && (find_rank(0, out.string()) > 0 || find_rank(1, out.string()) > 0); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  auto epochs_once = [&](const std::string& name) {
    const auto m = read_jsonl(dir / name / "metrics.jsonl");
    EXPECT_EQ(m.size(), 6u);
    for (size_t e = 0; e < m.size(); ++e)
      EXPECT_EQ(m[e]["epoch"], int(e) + 1);
    return m;
  };
  // The same command again (no --resume, as a torchrun restart or a requeued job runs it) continues the run.
  start_and_kill("rerun");
  auto r = run_cli(plus(args("mlp", "rerun", 4, 6), {"--nproc-per-node", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  for (const auto& record : epochs_once("rerun"))
    EXPECT_EQ(record["world_size"], 2);
  // --resume in one process (the per-rank batch 4 is now the global batch): every epoch recorded once.
  start_and_kill("resumed");
  r = run_cli(plus(args("mlp", "resumed", 4, 6), {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto m = epochs_once("resumed");
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0]["world_size"], 2);
  EXPECT_FALSE(m[5].contains("world_size"));
}

TEST_F(DistFixture, TorchrunRestartsAKilledRankAndTheSameCommandResumes) {
  // torchrun --max_restarts 1: rank 1 is killed after the first checkpoint, rank 0 stops with `error: rank 0:`, the
  // agent starts both again with the same command line, and they continue the run from its checkpoint.
  if (!torchrun_unusable().empty())
    GTEST_SKIP() << torchrun_unusable();
  const auto out = dir / "restarted";
  std::string cmd = std::string(kTorchrun) + " --max_restarts 1 --log_dir " + (dir / "restart_logs").string() +
      " --master_port " + std::to_string(free_port()) + " --no_python " SMOOTHLAB_CLI_PATH;
  for (const auto& a : args("mlp", "restarted", 4, 6))
    cmd += " '" + a + "'";
  cmd += " > " + (dir / "restart.out").string() + " 2>&1";
  int status = -1;
  std::thread launcher([&] { status = std::system(("timeout 240 " + cmd).c_str()); });
  int killed = -1;
  for (int i = 0; i < 6000 && killed < 0; ++i) {
    if (fs::exists(out / "checkpoint.safetensors"))
      if (const int pid = find_rank(1, out.string()); pid > 0 && ::kill(pid, SIGKILL) == 0)
        killed = pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  launcher.join();
  const std::string log = read_bytes(dir / "restart.out");
  ASSERT_GT(killed, 0) << log;
  EXPECT_EQ(status, 0) << log;
  EXPECT_NE(log.find("error: rank 0: "), std::string::npos) << log;
  EXPECT_NE(log.find("resuming: the folder holds this command's unfinished run"), std::string::npos) << log;
  const auto m = read_jsonl(out / "metrics.jsonl");
  ASSERT_EQ(m.size(), 6u) << log;
  for (size_t e = 0; e < m.size(); ++e) {
    EXPECT_EQ(m[e]["epoch"], int(e) + 1);
    EXPECT_EQ(m[e]["world_size"], 2);
  }
}

TEST_F(DistFixture, BadSettingsAndMissingPeersEndWithRankErrors) {
  const auto base = plus(args("mlp", "bad", 32, 1), {"--dist-timeout", "20"});
  // Ranks whose configurations differ: both stop with exit 2, naming the option.
  CliProcess other(
      plus(base, {"--weight-decay", "0.001"}), "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29871");
  auto r0 = run_cli(base, "RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29871 ", 60);
  auto r1 = other.finish();
  EXPECT_EQ(r0.exit_code, 2) << r0.err;
  EXPECT_EQ(r1.exit_code, 2) << r1.err;
  EXPECT_NE(
      r0.err.find("error: rank 0: the configuration of rank 1 differs from rank 0's: weight_decay"), std::string::npos)
      << r0.err;
  EXPECT_NE(r1.err.find("error: rank 1: "), std::string::npos) << r1.err;
  EXPECT_FALSE(fs::exists(dir / "bad" / "config.json")); // checked before anything is written
  // A peer that never arrives: exit 1 within --dist-timeout.
  const auto t0 = std::chrono::steady_clock::now();
  auto alone =
      run_cli(plus(args("mlp", "bad", 32, 1), {"--dist-timeout", "3"}), "RANK=0 WORLD_SIZE=2 MASTER_PORT=29872", 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(alone.exit_code, 1) << alone.err;
  EXPECT_LT(seconds, 3 + 10.0);
  EXPECT_NE(alone.err.find("error: rank 0: the 2 ranks did not all arrive"), std::string::npos) << alone.err;
  // Malformed variables.
  auto bad = run_cli(base, "RANK=2 WORLD_SIZE=2", 60);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("RANK=2"), std::string::npos) << bad.err;
}

} // namespace
} // namespace smoothlab::testing
