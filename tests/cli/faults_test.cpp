// Faults that lose nothing: a SIGKILL inside any write of a training run, an evaluation and a study leaves every file
// whole (the old version or the new one) and the same command then continues; a full disk fails a run, an eval, a
// calibrate and a study with "error: <file>: no space left on device" and leaves the files that were there byte for
// byte as they were. The faults come from the atomic writer's test switch (SMOOTHLAB_TEST_FAULT, core/files.cpp),
// which cuts the temp file to half before it kills or fails; one test also fills a real tmpfs where this process may
// mount one (root, `unshare --mount`), and skips elsewhere.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "smoothlab/core/files.h"
#include "smoothlab/data/image_decode.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/train/checkpoint.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

using json = nlohmann::json;

bool is_temp(const fs::path& p) {
  const auto name = p.filename().string();
  return !name.empty() && name[0] == '.' && name.find(".tmp.") != std::string::npos;
}

// Every file under dir as bytes, keyed by its relative path; temp files apart.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !is_temp(e.path()))
      files[fs::relative(e.path(), dir).string()] = read_bytes(e.path());
  return files;
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (is_temp(e.path()))
      out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Every file under dir reads as what its name says: no file is a half of a write.
void expect_whole_files(const fs::path& dir, const std::string& when) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || is_temp(e.path()))
      continue;
    const auto& p = e.path();
    const auto ext = p.extension().string();
    const std::string bytes = read_bytes(p);
    SCOPED_TRACE(p.string() + " " + when);
    if (ext == ".json") {
      EXPECT_TRUE(json::accept(bytes));
    } else if (ext == ".jsonl") {
      EXPECT_NO_THROW(read_jsonl(p));
      EXPECT_TRUE(bytes.empty() || bytes.back() == '\n');
    } else if (ext == ".pt") {
      EXPECT_NO_THROW(train::checkpoint_epochs(p));
    } else if (ext == ".npy") {
      EXPECT_NO_THROW(data::read_npy(p));
    } else if (ext == ".png") {
      EXPECT_NO_THROW(data::decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), p.string()));
    } else if (ext == ".svg") {
      EXPECT_TRUE(ends_with(bytes, "</svg>\n")) << bytes.substr(bytes.size() > 40 ? bytes.size() - 40 : 0);
    } else if (ext == ".html") {
      EXPECT_NE(bytes.find("</html>"), std::string::npos);
    }
  }
}

std::vector<std::string> train_args(const fs::path& data, const fs::path& out) {
  return {
      "train",
      "--data",
      "idx:" + data.string(),
      "--val-size",
      "60",
      "--model",
      "mlp",
      "--epochs",
      "2",
      "--batch-size",
      "64",
      "--no-augment",
      "--threads",
      "1",
      "--out",
      out.string()};
}

std::vector<double> losses(const fs::path& run) {
  std::vector<double> out;
  for (const auto& r : read_jsonl(run / "metrics.jsonl"))
    out.push_back(r["train_loss"].get<double>());
  return out;
}

TEST(Faults, KillInAnyWriteOfATrainingRunLeavesWholeFilesAndTheSameCommandContinues) {
  TempDir dir;
  write_idx_folder(dir / "data", 300, 60, 8, 8, 3);
  const auto clean = run_cli(train_args(dir / "data", dir / "clean"));
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  int killed = 0;
  for (int n = 1; n <= 30; ++n) {
    const fs::path run = dir / ("run" + std::to_string(n));
    const auto args = train_args(dir / "data", run);
    const auto r = run_cli(args, "SMOOTHLAB_TEST_FAULT=kill:" + std::to_string(n));
    if (r.exit_code == 0)
      break; // n is past the run's last write
    ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
    ++killed;
    EXPECT_EQ(temp_files(run).size(), 1u) << "killed in write " << n; // the half-written temp file
    expect_whole_files(run, "after a kill in write " + std::to_string(n));
    const auto again = run_cli(args);
    ASSERT_EQ(again.exit_code, 0) << "after a kill in write " << n << ":\n" << again.err;
    EXPECT_EQ(temp_files(run), std::vector<std::string>{});
    EXPECT_EQ(train::checkpoint_epochs(run / "checkpoint.safetensors"), 2);
    // Each epoch once, and the same epochs as the run that was never killed (the same data, seed and thread).
    EXPECT_EQ(losses(run), losses(dir / "clean")) << "after a kill in write " << n;
  }
  // config.json, metrics.jsonl, then metrics.jsonl and checkpoint.safetensors after each of the two epochs.
  EXPECT_EQ(killed, 6);
}

TEST(Faults, KillInAnEvaluationsWritesLeavesWholeFilesAndEvalRedoesIt) {
  TempDir dir;
  write_idx_folder(dir / "data", 300, 60, 8, 8, 3);
  ASSERT_EQ(run_cli(train_args(dir / "data", dir / "run")).exit_code, 0);
  fs::copy(dir / "run", dir / "clean", fs::copy_options::recursive);
  const auto clean = run_cli({"eval", (dir / "clean").string(), "--threads", "1"});
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  const json expected = json::parse(read_bytes(dir / "clean" / "eval.json"));
  // A kill in the first write of each kind of file an evaluation writes.
  for (const char* file :
       {"val_logits.npy",
        "test_features.npy",
        "reliability.png",
        "reliability_after.svg",
        "calibration.json",
        "eval.json"}) {
    const fs::path run = dir / "eval";
    fs::remove_all(run);
    fs::copy(dir / "run", run, fs::copy_options::recursive);
    const std::vector<std::string> args = {"eval", run.string(), "--threads", "1"};
    const auto r = run_cli(args, std::string("SMOOTHLAB_TEST_FAULT=kill:1:") + file);
    ASSERT_EQ(r.exit_code, 128 + SIGKILL) << file << ": " << r.err;
    EXPECT_EQ(temp_files(run).size(), 1u) << file;
    expect_whole_files(run, std::string("after a kill in ") + file);
    const auto again = run_cli(args);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(temp_files(run), std::vector<std::string>{});
    const json got = json::parse(read_bytes(run / "eval.json"));
    EXPECT_EQ(got["test"], expected["test"]) << "after a kill in " << file;
  }
}

// A run that a kill stopped after its first epoch: config.json, metrics.jsonl (two epochs: the metrics are written
// before the checkpoint), checkpoint.safetensors (one epoch); the kill's temp file removed.
fs::path interrupted_run(const fs::path& dir) {
  write_idx_folder(dir / "data", 300, 60, 8, 8, 3);
  const fs::path run = dir / "run";
  const auto r = run_cli(train_args(dir / "data", run), "SMOOTHLAB_TEST_FAULT=kill:2:checkpoint.safetensors");
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  remove_dead_temp_files(run);
  EXPECT_EQ(train::checkpoint_epochs(run / "checkpoint.safetensors"), 1);
  return run;
}

void expect_disk_full(const CliResult& r, const fs::path& folder) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find("error: " + folder.string() + "/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": no space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: "), std::string::npos) << r.err;
}

TEST(Faults, FullDiskStopsRunEvalAndCalibrateAndLeavesTheirFilesAsTheyWere) {
  TempDir dir;
  const fs::path run = interrupted_run(dir.path());
  const auto args = train_args(dir / "data", run);
  // Training: its first write and every later one fail.
  auto before = snapshot(run);
  auto r = run_cli(args, "SMOOTHLAB_TEST_FAULT=enospc:1");
  expect_disk_full(r, run);
  EXPECT_EQ(snapshot(run), before);
  EXPECT_EQ(temp_files(run), std::vector<std::string>{});
  // The disk fills in the middle of the continued run: at the second epoch's checkpoint.
  r = run_cli(args, "SMOOTHLAB_TEST_FAULT=enospc:1:checkpoint.safetensors");
  expect_disk_full(r, run);
  EXPECT_NE(r.err.find("checkpoint.safetensors: no space"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(run / "checkpoint.safetensors"), before["checkpoint.safetensors"]);
  expect_whole_files(run, "after a full disk");
  // With space again, the same command finishes the run.
  r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(train::checkpoint_epochs(run / "checkpoint.safetensors"), 2);

  // Evaluation: once done, a second one on a full disk leaves eval.json, calibration.json and the rest as they were.
  ASSERT_EQ(run_cli({"eval", run.string(), "--threads", "1"}).exit_code, 0);
  before = snapshot(run);
  for (const char* fault : {"enospc:1", "enospc:1:eval.json", "enospc:1:reliability.png"}) {
    r = run_cli({"eval", run.string(), "--threads", "1"}, std::string("SMOOTHLAB_TEST_FAULT=") + fault);
    expect_disk_full(r, run);
    if (std::string(fault) == "enospc:1") {
      EXPECT_EQ(snapshot(run), before) << fault;
    }
    EXPECT_EQ(read_bytes(run / "eval.json"), before["eval.json"]) << fault;
    EXPECT_EQ(temp_files(run), std::vector<std::string>{}) << fault;
    expect_whole_files(run, fault);
  }

  // Calibrate: the comparison of every method, then again on a full disk.
  write_overconfident_pair(dir.path(), "held", 600, 3, 4);
  const std::vector<std::string> cal = {
      "calibrate",
      "--logits",
      (dir / "held_logits.npy").string(),
      "--labels",
      (dir / "held_labels.npy").string(),
      "--methods",
      "temperature,vector,histogram",
      "--bootstrap",
      "50",
      "--threads",
      "1",
      "--out",
      (dir / "cal").string()};
  ASSERT_EQ(run_cli(cal).exit_code, 0);
  before = snapshot(dir / "cal");
  ASSERT_GE(before.size(), 4u);
  for (const char* fault : {"enospc:1", "enospc:1:comparison.json", "enospc:2"}) {
    r = run_cli(cal, std::string("SMOOTHLAB_TEST_FAULT=") + fault);
    expect_disk_full(r, dir / "cal");
    if (std::string(fault) == "enospc:1") {
      EXPECT_EQ(snapshot(dir / "cal"), before) << fault;
    }
    if (std::string(fault) != "enospc:2") { // the second write fails: comparison.json, the first, is the new one
      EXPECT_EQ(read_bytes(dir / "cal" / "comparison.json"), before["comparison.json"]) << fault;
    }
    EXPECT_EQ(temp_files(dir / "cal"), std::vector<std::string>{}) << fault;
    expect_whole_files(dir / "cal", fault);
  }
}

// Run state damaged from outside: each is refused with the file named and a hint, never loaded or reused silently.
TEST(Faults, DamagedRunStateIsRefusedWithAHint) {
  TempDir dir;
  const fs::path run = interrupted_run(dir.path());
  fs::copy(run, dir / "kept", fs::copy_options::recursive);
  const auto args = train_args(dir / "data", run);
  auto damaged = [&](const std::string& file,
                     const std::function<void(std::string&)>& edit,
                     const std::vector<std::string>& message,
                     const std::string& hint) {
    fs::remove_all(run);
    fs::copy(dir / "kept", run, fs::copy_options::recursive);
    std::string bytes = read_bytes(run / file);
    edit(bytes);
    write_bytes(run / file, bytes);
    for (const auto& command : {args, std::vector<std::string>{"eval", run.string(), "--threads", "1"}}) {
      if (command[0] == "eval" && (file == "metrics.jsonl" || hint == "--resume"))
        continue; // eval reads no metrics.jsonl, and evaluates a run as saved
      const auto r = run_cli(command);
      SCOPED_TRACE(command[0] + " with a damaged " + file);
      EXPECT_EQ(r.exit_code, 2) << r.err;
      EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
      for (const auto& m : message)
        EXPECT_NE(r.err.find(m), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("hint: "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(hint), std::string::npos) << r.err;
    }
  };
  const std::string ckpt = (run / "checkpoint.safetensors").string();
  const std::string checkpoint = "checkpoint.safetensors";
  damaged(
      checkpoint, [](std::string& b) { b.resize(b.size() / 2); }, {ckpt, "not a readable checkpoint"}, "--force");
  // One byte of the tensors changed (the data fill the file's last part): the file's checksum does not match.
  damaged(
      checkpoint, [](std::string& b) { b[b.size() * 3 / 4] ^= 0x40; }, {ckpt, "fail their checksum"}, "--force");
  damaged(
      checkpoint, [](std::string& b) { b = "not a checkpoint"; }, {ckpt, "not a readable checkpoint"}, "--force");
  damaged(
      "metrics.jsonl",
      [](std::string& b) { b.resize(b.size() - 40); },
      {(run / "metrics.jsonl").string() + ":2", "unreadable epoch record"},
      "--force");
  damaged(
      "config.json",
      [](std::string& b) { b.resize(b.size() / 2); },
      {(run / "config.json").string(), "unreadable run configuration"},
      "--force");
  damaged(
      "config.json",
      [](std::string& b) {
        const auto at = b.find("\"smoothing\": 0.0");
        ASSERT_NE(at, std::string::npos);
        b.replace(at, 16, "\"smoothing\": 0.3");
      },
      {"holds a run of another configuration (smoothing: 0.3 in the run, 0.0 here)"},
      "--resume");
}

// A real full filesystem: a 4 MiB tmpfs in a private mount namespace, the interrupted run copied in, the rest filled.
TEST(Faults, FullTmpfsStopsARunWithTheFileNamedAndItsFilesAsTheyWere) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir dir;
  const fs::path run = interrupted_run(dir.path());
  const auto before = snapshot(run);
  const fs::path mnt = dir / "mnt", out = dir / "out";
  fs::create_directories(mnt);
  fs::create_directories(out);
  std::string cli_args;
  for (const auto& a : train_args(dir / "data", mnt / "run"))
    cli_args += " '" + a + "'";
  const std::string script = fmt::format(
      "mount -t tmpfs -o size=4m smoothlab-test '{mnt}' || exit 3\n"
      "cp -a '{run}' '{mnt}/run'\n"
      "dd if=/dev/zero of='{mnt}/filler' bs=4k 2>/dev/null\n"
      "'{cli}' {args} >'{out}/stdout' 2>'{out}/stderr'; echo $? >'{out}/rc'\n"
      "cp -a '{mnt}/run' '{out}/run'\n",
      fmt::arg("mnt", mnt.string()),
      fmt::arg("run", run.string()),
      fmt::arg("cli", SMOOTHLAB_CLI_PATH),
      fmt::arg("args", cli_args),
      fmt::arg("out", out.string()));
  write_bytes(dir / "full.sh", script);
  const int status = std::system(
      fmt::format("unshare --mount --propagation private sh '{}' 2>/dev/null", (dir / "full.sh").string()).c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 127 ||
      !fs::exists(out / "rc"))
    GTEST_SKIP() << "cannot mount a tmpfs here (unshare --mount, mount -t tmpfs)";
  CliResult r;
  r.exit_code = std::stoi(read_bytes(out / "rc"));
  r.err = read_bytes(out / "stderr");
  expect_disk_full(r, mnt / "run");
  EXPECT_EQ(snapshot(out / "run"), before);
  EXPECT_EQ(temp_files(out / "run"), std::vector<std::string>{});
}

// A batch that cannot fit in this machine's memory is refused before the first step, with the batch that fits; a
// batch that fits trains. (resnet20 on the whole of Fashion-MNIST's training set in one batch needs about 97 GB.)
TEST(Faults, ABatchTooLargeForMemoryIsRefusedBeforeItRuns) {
  if (fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const std::vector<std::string> args = {
      "train", "--model", "resnet20", "--epochs", "1", "--threads", "2", "--out", (dir / "run").string()};
  auto huge = args;
  huge.insert(huge.end(), {"--batch-size", "1000000000"});
  const auto r = run_cli(huge);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(
      r.err.find("error: --batch-size 1000000000: a training step of resnet20 on 55000 examples needs about"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("hint: about "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoint.safetensors"));
  // The batch the hint names is refused no more (its step is measured the same way).
  const auto at = r.err.find("pass --batch-size ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const int64_t fits = std::stoll(r.err.substr(at + 18));
  EXPECT_GE(fits, 64);
  auto fitting = args;
  fitting.insert(
      fitting.end(), {"--batch-size", std::to_string(fits), "--limit-train", "128", "--val-size", "0", "--force"});
  const auto ok = run_cli(fitting);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// The tiny study (Fashion-MNIST): killed while writing summary.json, out of space for report.html, then a rerun on a
// full disk after it finished.
TEST(Faults, StudyKilledOrOutOfSpaceInItsSummaryOrReportLosesNothing) {
  if (fashion_mnist_dir().empty())
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const fs::path s = dir / "s";
  const std::vector<std::string> args = {"study", "--preset", "tiny", "--threads", "2", "--out", s.string()};
  auto r = run_cli(args, "SMOOTHLAB_TEST_FAULT=kill:1:summary.json");
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  EXPECT_FALSE(fs::exists(s / "summary.json"));
  EXPECT_FALSE(fs::exists(s / "report.html"));
  expect_whole_files(s, "after a kill in summary.json");

  r = run_cli(args, "SMOOTHLAB_TEST_FAULT=enospc:1:report.html");
  expect_disk_full(r, s);
  EXPECT_NE(r.err.find("report.html: no space"), std::string::npos) << r.err;
  EXPECT_TRUE(json::accept(read_bytes(s / "summary.json")));
  EXPECT_FALSE(fs::exists(s / "report.html"));
  EXPECT_EQ(temp_files(s), std::vector<std::string>{});

  r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(13 reused, 0 trained now)"), std::string::npos) << r.out; // every run kept
  EXPECT_EQ(temp_files(s), std::vector<std::string>{});
  expect_whole_files(s, "after the study finished");

  const auto before = snapshot(s);
  r = run_cli(args, "SMOOTHLAB_TEST_FAULT=enospc:1");
  expect_disk_full(r, s);
  EXPECT_EQ(snapshot(s), before);
  EXPECT_EQ(temp_files(s), std::vector<std::string>{});
}

} // namespace
} // namespace smoothlab::testing
