// Studies spread over workers (issue 16): the run locks, and `smoothlab study --jobs 2` / `--worker` on one folder —
// every run trained exactly once, the report the same as a one-process study's.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "smoothlab/core/files.h"
#include "smoothlab/study/preset.h"
#include "smoothlab/study/run_lock.h"
#include "support/support.h"

namespace smoothlab::study {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void make_old(const fs::path& file, std::chrono::seconds age) {
  fs::last_write_time(file, fs::file_time_type::clock::now() - age);
}

TEST(RunLock, OneOwnerAtATimeRenewedWhileHeldTakenOverWhenStale) {
  testing::TempDir dir;
  const auto lock = dir / "run.lock";
  {
    auto a = RunLock::try_claim(lock, "a:1", 400ms);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->held());
    EXPECT_FALSE(RunLock::try_claim(lock, "b:2", 400ms)) << "a live claim is refused";
    std::this_thread::sleep_for(900ms); // > 2 leases: renewed every lease/4, so never stale
    ASSERT_TRUE(lock_age(lock));
    EXPECT_LT(*lock_age(lock), 400ms);
    EXPECT_FALSE(RunLock::try_claim(lock, "b:2", 400ms));
  }
  EXPECT_FALSE(fs::exists(lock)) << "released on destruction";
  // A claim whose owner stopped renewing (a killed worker) is taken over by exactly one worker.
  std::ofstream(lock) << "dead:3\n";
  make_old(lock, 10s);
  auto b = RunLock::try_claim(lock, "b:2", 5s);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->held());
  EXPECT_FALSE(RunLock::try_claim(lock, "c:4", 5s));
  EXPECT_FALSE(fs::exists(dir / "run.lock.takeover"));
  // A worker that died while taking over leaves a takeover lock: stale, it is cleared and the next try succeeds.
  b.reset();
  std::ofstream(lock) << "dead:3\n";
  make_old(lock, 10s);
  std::ofstream(dir / "run.lock.takeover") << "dead:5\n";
  make_old(dir / "run.lock.takeover", 10s);
  EXPECT_FALSE(RunLock::try_claim(lock, "c:4", 5s));
  EXPECT_TRUE(RunLock::try_claim(lock, "c:4", 5s));
}

// "finished: NAME" lines of the workers' stderr, counted by name.
std::map<std::string, int> trainings(const std::string& err) {
  std::map<std::string, int> n;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    const auto pos = line.find("finished: ");
    if (pos != std::string::npos)
      ++n[line.substr(pos + 10)];
  }
  return n;
}

TEST(StudyWorkers, TwoWorkersTrainEveryRunOnceAndWriteTheOneProcessReport) {
  if (testing::fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  testing::TempDir tmp;
  const std::string out = (tmp / "s").string();
  const auto plan = make_plan(make_preset("tiny"), "fashion-mnist");
  // A claim left by a worker that was killed: taken over once it is older than --claim-timeout.
  fs::create_directories(tmp / "s" / "runs");
  std::ofstream(tmp / "s" / "runs" / (plan[0].name + ".lock")) << "killed-host:1\n";
  make_old(tmp / "s" / "runs" / (plan[0].name + ".lock"), std::chrono::seconds(3));
  const auto jobs = testing::run_cli(
      {"study", "--preset", "tiny", "--jobs", "2", "--threads", "2", "--claim-timeout", "2", "--out", out});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_NE(jobs.err.find("2 workers × 1 threads"), std::string::npos) << jobs.err;
  const auto n = trainings(jobs.err);
  EXPECT_EQ(n.size(), plan.size()) << jobs.err;
  for (const auto& r : plan) {
    EXPECT_EQ(n.count(r.name) ? n.at(r.name) : 0, 1) << r.name << " trained once";
    EXPECT_FALSE(fs::exists(tmp / "s" / "runs" / (r.name + ".lock"))) << "lock released";
    EXPECT_EQ(
        testing::read_jsonl(tmp / "s" / "runs" / r.name / "metrics.jsonl").size(), size_t(r.config.optimiser.epochs));
  }
  // Exactly one worker wrote the report; the other said so.
  EXPECT_EQ(testing::count_lines_starting(jobs.out, "report: "), 1) << jobs.out;
  EXPECT_NE(jobs.err.find("another worker writes the report"), std::string::npos) << jobs.err;
  auto from_workers = nlohmann::json::parse(read_file(tmp / "s" / "summary.json"));
  // A plain study on the folder finds every run done, trains none, and writes the same report.
  const auto plain = testing::run_cli({"study", "--preset", "tiny", "--threads", "1", "--out", out});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_TRUE(trainings(plain.err).empty()) << plain.err;
  auto one_process = nlohmann::json::parse(read_file(tmp / "s" / "summary.json"));
  EXPECT_EQ(one_process["provenance"]["runs_trained"], 0);
  from_workers.erase("provenance");
  one_process.erase("provenance");
  EXPECT_EQ(from_workers, one_process);
  // A worker on a finished study trains nothing and writes the report again.
  const auto again = testing::run_cli({"study", "--preset", "tiny", "--worker", "--threads", "1", "--out", out});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(trainings(again.err).empty()) << again.err;
  EXPECT_EQ(testing::count_lines_starting(again.out, "report: "), 1) << again.out;
}

} // namespace
} // namespace smoothlab::study
