// Shared test helpers: tensor comparison with a useful failure message, temporary folders, running the CLI,
// writers for small synthetic data files, the error-mentions assertion, the finite-difference gradient and a plain
// reference of the mutual-information estimate.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::testing {

namespace fs = std::filesystem;

// Checks shape, NaN positions and |a − e| ≤ atol + rtol·|e| elementwise; prints the worst mismatches.
::testing::AssertionResult tensors_near(
    const torch::Tensor& actual,
    const torch::Tensor& expected,
    double rtol,
    double atol);
#define EXPECT_TENSOR_NEAR(a, e, rtol, atol) EXPECT_TRUE(::smoothlab::testing::tensors_near(a, e, rtol, atol))

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const {
    return path_;
  }
  fs::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  fs::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs the smoothlab program with the given arguments (shell-quoted here), capturing stdout and stderr. A child still
// running after timeout_s is killed (exit code 124, "timed out" appended to err): a hang fails the test with the
// child's own output instead of blocking CTest.
CliResult run_cli(const std::vector<std::string>& args, const std::string& env = "", int timeout_s = 480);

// The smoothlab program started in the background (stdout and stderr to files), for tests that watch or kill it.
class CliProcess {
 public:
  // env: "NAME=VALUE NAME=VALUE" set in the child only.
  explicit CliProcess(const std::vector<std::string>& args, const std::string& env = "");
  ~CliProcess(); // kills and reaps a child still running
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  // Polls every 20 ms until ready() holds (true) or the child exits or timeout_s passes (false).
  bool wait_until(const std::function<bool()>& ready, double timeout_s);
  bool running();
  void kill(int signal);
  // Waits for the child; its exit code (128 + signal when killed), stdout and stderr.
  CliResult finish();

 private:
  TempDir logs_;
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Writes a small IDX data folder (train/t10k images and labels) with n_train / n_test examples of size h×w
// and labels i % classes; images are deterministic patterns that depend on the label.
void write_idx_folder(
    const fs::path& dir,
    int64_t n_train,
    int64_t n_test,
    int64_t h = 8,
    int64_t w = 8,
    int64_t classes = 3,
    bool gzip = false);

// An over-confident model's held-out outputs for the calibrate tests: z = 1.5·N(0, 1) [n, classes], labels drawn
// from softmax(z + shift) (shift: one bias per class, empty for none), written as DIR/PREFIX_logits.npy (float32 2z)
// and DIR/PREFIX_labels.npy (`labels` dtype). Seeded with torch::manual_seed(seed).
void write_overconfident_pair(
    const fs::path& dir,
    const std::string& prefix,
    int64_t n,
    uint64_t seed,
    int64_t classes,
    const std::vector<float>& shift = {},
    torch::Dtype labels = torch::kInt64);

// tests/golden/NAME in the source tree.
fs::path golden_path(const std::string& name);
// A whole file as bytes / a file written from bytes (not atomically: test fixtures only).
std::string read_bytes(const fs::path& path);
void write_bytes(const fs::path& path, const std::string& bytes);
// A TCP port free now on 127.0.0.1 (for a test's rendezvous).
int free_port();

// An environment variable set to `value` (unset for nullptr) for the scope, restored after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> before_;
};

// The message of the smoothlab::Error that fn throws, "" when it throws none (other exceptions propagate).
std::string error_of(const std::function<void()>& fn);

// The one error assertion: passes when fn throws smoothlab::Error whose message contains every string of `message`
// and whose hint contains every string of `hint`. A failure prints the actual message and hint, or says that fn threw
// nothing or another exception (whose what() it prints).
//   EXPECT_ERROR_MENTIONS(make_model("vgg16", {}), "--model", "unknown model 'vgg16'");
//   EXPECT_TRUE(error_mentions([&] { parse(x); }, {"unknown class 'Shoe'"}, {"Trouser"}));
::testing::AssertionResult error_mentions(
    const std::function<void()>& fn,
    const std::vector<std::string>& message,
    const std::vector<std::string>& hint = {});
#define EXPECT_ERROR_MENTIONS(statement, ...) \
  EXPECT_TRUE(::smoothlab::testing::error_mentions([&] { statement; }, {__VA_ARGS__}))

// The one numeric gradient: central differences (f(x + h·e_i) − f(x − h·e_i)) / 2h of a scalar function at every
// element of x, same shape and dtype as x (use float64: the truncation error is O(h²), the rounding error O(ε/h)).
torch::Tensor finite_difference_gradient(
    const std::function<double(const torch::Tensor&)>& f,
    const torch::Tensor& x,
    double h = 1e-6);

// Î(example; gap) of represent/mutual_information.h computed the plain way, for checking the library's (chunked,
// vectorised) estimator: gaps[x][l] view l of example x; the unclamped plug-in value mi_raw.
double reference_mutual_information(const std::vector<std::vector<double>>& gaps);

// The lines of a JSON-lines file (metrics.jsonl), parsed; blank lines skipped.
std::vector<nlohmann::json> read_jsonl(const fs::path& path);
// How many lines of text start with prefix (e.g. "error: " lines of a CLI's stderr).
int count_lines_starting(const std::string& text, const std::string& prefix);

// Path of the Fashion-MNIST folder, or "" when dataset-fashion-mnist is not installed (tests then skip).
std::string fashion_mnist_dir();

} // namespace smoothlab::testing
