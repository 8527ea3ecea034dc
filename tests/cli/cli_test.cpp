// The smoothlab program: exit codes, one-line errors with hints, and a SIGKILLed run that resumes cleanly.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

int count_lines_starting(const std::string& text, const std::string& prefix) {
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, prefix.size(), prefix) == 0) ++n;
    pos = end + 1;
  }
  return n;
}

void expect_usage_error(const std::vector<std::string>& args, const std::string& needle) {
  auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(Cli, BadOptionsExitTwoWithOneErrorLine) {
  TempDir dir;
  write_idx_folder(dir / "data", 40, 10);
  const std::string data = "idx:" + (dir / "data").string();
  expect_usage_error({"train", "--data", data, "--val-size", "5", "--model", "vgg", "--out", (dir / "r1").string()},
                     "unknown model 'vgg'");
  expect_usage_error({"train", "--data", data, "--smoothing", "1.0", "--out", (dir / "r2").string()},
                     "--smoothing 1 is outside [0, 1)");
  expect_usage_error({"train", "--data", data, "--smoothing", "-0.1", "--out", (dir / "r2").string()},
                     "outside [0, 1)");
  expect_usage_error({"train", "--data", "imagenet", "--out", (dir / "r3").string()}, "unknown data source");
  expect_usage_error({"train", "--data", data, "--epochs", "0", "--out", (dir / "r4").string()}, "--epochs");
  expect_usage_error({"train", "--bogus-option"}, "bogus");
  expect_usage_error({"eval", (dir / "missing").string()}, "no such run folder");
  expect_usage_error({"frobnicate"}, "unknown command 'frobnicate'");
  // Nothing was created for rejected runs.
  EXPECT_FALSE(fs::exists(dir / "r1" / "checkpoint.pt"));
  EXPECT_FALSE(fs::exists(dir / "r2" / "config.json"));
}

TEST(Cli, ExistingRunIsNotOverwritten) {
  TempDir dir;
  write_idx_folder(dir / "data", 40, 10);
  const std::vector<std::string> train = {"train", "--data", "idx:" + (dir / "data").string(), "--val-size", "5",
                                          "--model", "mlp", "--epochs", "1", "--out", (dir / "run").string()};
  auto first = run_cli(train);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::ifstream in(dir / "run" / "config.json");
  const std::string before((std::istreambuf_iterator<char>(in)), {});
  auto second = run_cli(train);
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_NE(second.err.find("hint: pass --resume"), std::string::npos) << second.err;
  std::ifstream again(dir / "run" / "config.json");
  EXPECT_EQ(before, std::string((std::istreambuf_iterator<char>(again)), {}));
  auto eval = run_cli({"eval", (dir / "run").string()});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  auto result = nlohmann::json::parse(std::ifstream(dir / "run" / "eval.json"));
  for (const char* split : {"val", "test"})
    for (const char* key : {"accuracy", "nll", "ece", "brier"}) EXPECT_TRUE(result[split].contains(key)) << key;
  // γ = mean wrong-class mass × K/(K−1), recomputed from the written test logits.
  auto logits = data::read_npy(dir / "run" / "test_logits.npy").to(torch::kFloat64);
  auto labels = data::read_npy(dir / "run" / "test_labels.npy");
  const int64_t k = logits.size(1);
  const double gamma =
      (1.0 - torch::softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean().item<double>()) * double(k) / double(k - 1);
  EXPECT_NEAR(result["gamma"]["test"].get<double>(), gamma, 1e-6);
  EXPECT_TRUE(result["gamma"].contains("train"));
}

TEST(Cli, LearningRateDefaultsToTheModelsAndAnExplicitOneWins) {
  TempDir dir;
  write_idx_folder(dir / "data", 40, 10);
  auto lr_of = [&](const std::string& model, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"train", "--data",  "idx:" + (dir / "data").string(), "--val-size", "5",
                                     "--model", model,   "--epochs", "1", "--out", (dir / model).string(), "--force"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(std::ifstream(dir / model / "config.json"))["config"]["lr"].get<double>();
  };
  EXPECT_EQ(lr_of("cnn", {}), 0.05);
  EXPECT_EQ(lr_of("mlp", {}), 0.1);
  EXPECT_EQ(lr_of("cnn", {"--lr", "0.2"}), 0.2);
}

TEST(Cli, KilledRunResumesWithEveryEpochOnce) {
  TempDir dir;
  write_idx_folder(dir / "data", 3000, 100, 16, 16, 4);
  const fs::path run = dir / "run";
  const std::vector<std::string> args = {"train",     "--data",  "idx:" + (dir / "data").string(),
                                         "--val-size", "100",    "--model",
                                         "mlp",       "--epochs", "6",
                                         "--batch-size", "8",    "--threads",
                                         "1",         "--out",    run.string()};
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<char*> argv = {const_cast<char*>(SMOOTHLAB_CLI_PATH)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    ::execv(SMOOTHLAB_CLI_PATH, argv.data());
    ::_exit(127);
  }
  // Wait for the first checkpoint, then kill mid-way through a later epoch.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (!fs::exists(run / "checkpoint.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(fs::exists(run / "checkpoint.pt"));
  auto resumed = args;
  resumed.push_back("--resume");
  auto r = run_cli(resumed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(run / "metrics.jsonl");
  std::vector<int> epochs;
  for (std::string line; std::getline(in, line);) epochs.push_back(nlohmann::json::parse(line)["epoch"].get<int>());
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  // No temp files left behind; checkpoint loads.
  for (auto& e : fs::directory_iterator(run)) EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos);
  EXPECT_EQ(run_cli({"eval", run.string()}).exit_code, 0);
}

}  // namespace
}  // namespace smoothlab::testing
