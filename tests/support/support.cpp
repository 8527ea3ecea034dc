// Shared test helpers (see support.h).
#include "support/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/idx.h"
#include "smoothlab/data/npy.h"

namespace smoothlab::testing {

::testing::AssertionResult tensors_near(
    const torch::Tensor& actual_in,
    const torch::Tensor& expected_in,
    double rtol,
    double atol) {
  if (actual_in.sizes() != expected_in.sizes())
    return ::testing::AssertionFailure() << "shape " << actual_in.sizes() << " != expected " << expected_in.sizes();
  auto a = actual_in.detach().to(torch::kCPU, torch::kFloat64).flatten();
  auto e = expected_in.detach().to(torch::kCPU, torch::kFloat64).flatten();
  auto nan_a = torch::isnan(a), nan_e = torch::isnan(e);
  if (!nan_a.equal(nan_e))
    return ::testing::AssertionFailure() << "NaN positions differ";
  auto diff = (a - e).abs().masked_fill(nan_a, 0.0);
  auto tol = atol + rtol * e.abs().masked_fill(nan_e, 0.0);
  auto bad = diff.gt(tol) | (torch::isinf(a) & a.ne(e));
  const int64_t n_bad = bad.sum().item<int64_t>();
  if (n_bad == 0)
    return ::testing::AssertionSuccess();
  auto excess = (diff - tol).masked_fill(~bad, -1.0);
  auto order = excess.argsort(0, /*descending=*/true);
  std::ostringstream ss;
  ss << n_bad << " of " << a.numel() << " elements differ (rtol " << rtol << ", atol " << atol << "); worst:";
  for (int64_t i = 0; i < std::min<int64_t>(5, n_bad); ++i) {
    const int64_t j = order[i].item<int64_t>();
    ss << fmt::format(
        "\n  [{}] actual {:.10g} expected {:.10g} |diff| {:.3g}",
        j,
        a[j].item<double>(),
        e[j].item<double>(),
        diff[j].item<double>());
  }
  return ::testing::AssertionFailure() << ss.str();
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "smoothlab-test-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  if (!made)
    throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

// Under ASan + UBSan (scripts/test.sh --sanitize) the program runs several times slower, and a loaded machine slows it
// again (a two-worker study took over 480 s there): a child's time limit grows with it, still under CTest's 2400 s.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kChildTimeScale = 4;
#else
constexpr int kChildTimeScale = 1;
#endif

CliResult run_cli(const std::vector<std::string>& args, const std::string& env, int timeout_s) {
  timeout_s *= kChildTimeScale;
  TempDir tmp;
  std::string cmd = env.empty() ? "" : env + " ";
  cmd += fmt::format("timeout -k 5 {} ", timeout_s) + quote(SMOOTHLAB_CLI_PATH);
  for (const auto& a : args)
    cmd += " " + quote(a);
  cmd += " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  if (r.exit_code == 124)
    r.err += fmt::format("\n[test support] smoothlab timed out after {} s and was killed\n", timeout_s);
  return r;
}

CliProcess::CliProcess(const std::vector<std::string>& args, const std::string& env) {
  const std::string out = (logs_ / "out").string(), err = (logs_ / "err").string();
  std::vector<std::string> argv_s = {SMOOTHLAB_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    std::istringstream vars(env);
    for (std::string kv; vars >> kv;)
      if (const auto eq = kv.find('='); eq != std::string::npos)
        ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : argv_s)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr))
      ::_exit(126);
    ::execv(SMOOTHLAB_CLI_PATH, argv.data());
    ::_exit(127);
  }
}

CliProcess::~CliProcess() {
  if (!reaped_) {
    kill(SIGKILL);
    finish();
  }
}

bool CliProcess::running() {
  if (reaped_)
    return false;
  const int got = ::waitpid(pid_, &status_, WNOHANG);
  if (got == pid_)
    reaped_ = true;
  return !reaped_;
}

bool CliProcess::wait_until(const std::function<bool()>& ready, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready())
      return true;
    if (!running())
      return ready();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void CliProcess::kill(int signal) {
  if (!reaped_)
    ::kill(pid_, signal);
}

CliResult CliProcess::finish() {
  if (!reaped_) {
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  CliResult r;
  r.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  r.out = slurp(logs_ / "out");
  r.err = slurp(logs_ / "err");
  return r;
}

void write_idx_folder(
    const fs::path& dir,
    int64_t n_train,
    int64_t n_test,
    int64_t h,
    int64_t w,
    int64_t classes,
    bool gzip) {
  fs::create_directories(dir);
  auto make = [&](int64_t n, uint64_t seed) {
    auto labels = torch::arange(n, torch::kInt64).remainder(classes);
    auto images = torch::empty({n, h, w}, torch::kUInt8);
    std::mt19937 rng{static_cast<uint32_t>(seed)};
    auto* p = images.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % classes;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          // class k lights up band k of the rows; some noise everywhere
          const bool on = (y * classes / h) == k;
          p[(i * h + y) * w + x] = uint8_t((on ? 180 : 20) + rng() % 50);
        }
    }
    return std::make_pair(images, labels.to(torch::kUInt8));
  };
  const std::string ext = gzip ? ".gz" : "";
  auto [train_x, train_y] = make(n_train, 1);
  auto [test_x, test_y] = make(n_test, 2);
  data::write_idx(dir / ("train-images-idx3-ubyte" + ext), train_x, gzip);
  data::write_idx(dir / ("train-labels-idx1-ubyte" + ext), train_y, gzip);
  data::write_idx(dir / ("t10k-images-idx3-ubyte" + ext), test_x, gzip);
  data::write_idx(dir / ("t10k-labels-idx1-ubyte" + ext), test_y, gzip);
}

fs::path golden_path(const std::string& name) {
  return fs::path(SMOOTHLAB_SOURCE_DIR) / "tests" / "golden" / name;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

ScopedEnv::ScopedEnv(const char* name, const char* value) : name_(name) {
  if (const char* v = std::getenv(name))
    before_ = v;
  value ? ::setenv(name, value, 1) : ::unsetenv(name);
}

ScopedEnv::~ScopedEnv() {
  before_ ? ::setenv(name_.c_str(), before_->c_str(), 1) : ::unsetenv(name_.c_str());
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

::testing::AssertionResult error_mentions(
    const std::function<void()>& fn,
    const std::vector<std::string>& message,
    const std::vector<std::string>& hint) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string what = e.what();
    std::string missing;
    for (const auto& needle : message)
      if (what.find(needle) == std::string::npos)
        missing += fmt::format(" message lacks '{}';", needle);
    for (const auto& needle : hint)
      if (e.hint().find(needle) == std::string::npos)
        missing += fmt::format(" hint lacks '{}';", needle);
    if (missing.empty())
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "smoothlab::Error:" << missing << "\n  message: " << what
                                         << "\n  hint: " << e.hint();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "expected smoothlab::Error, got another exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "expected smoothlab::Error, nothing was thrown";
}

torch::Tensor finite_difference_gradient(
    const std::function<double(const torch::Tensor&)>& f,
    const torch::Tensor& x,
    double h) {
  const auto base = x.detach().contiguous();
  auto grad = torch::zeros_like(base);
  auto flat = grad.view({-1});
  for (int64_t i = 0; i < base.numel(); ++i) {
    auto plus = base.clone(), minus = base.clone();
    plus.view({-1})[i] += h;
    minus.view({-1})[i] -= h;
    flat[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return grad;
}

double reference_mutual_information(const std::vector<std::vector<double>>& gaps) {
  const size_t n = gaps.size(), l = gaps.at(0).size();
  std::vector<double> mu(n, 0.0);
  double mean_square = 0;
  for (size_t x = 0; x < n; ++x)
    for (double y : gaps[x]) {
      mu[x] += y / double(l);
      mean_square += y * y / double(n * l);
    }
  double ss = 0;
  for (size_t x = 0; x < n; ++x)
    for (double y : gaps[x])
      ss += (y - mu[x]) * (y - mu[x]);
  const double sigma2 = std::max(ss / double(n * (l - 1)), 1e-12 * std::max(1.0, mean_square));
  double total = 0;
  for (size_t x = 0; x < n; ++x)
    for (double y : gaps[x]) {
      double mixture = 0; // (1/N) Σ_x′ exp(−(y − µ_x′)²/2σ²), summed after the largest term for range
      double top = -INFINITY;
      for (size_t k = 0; k < n; ++k)
        top = std::max(top, -(y - mu[k]) * (y - mu[k]) / (2 * sigma2));
      for (size_t k = 0; k < n; ++k)
        mixture += std::exp(-(y - mu[k]) * (y - mu[k]) / (2 * sigma2) - top);
      const double log_mixture = top + std::log(mixture / double(n));
      total += -(y - mu[x]) * (y - mu[x]) / (2 * sigma2) - log_mixture;
    }
  return total / double(n * l);
}

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(nlohmann::json::parse(line));
  return out;
}

int count_lines_starting(const std::string& text, const std::string& prefix) {
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    if (text.compare(pos, prefix.size(), prefix) == 0)
      ++n;
    pos = end + 1;
  }
  return n;
}

void write_overconfident_pair(
    const fs::path& dir,
    const std::string& prefix,
    int64_t n,
    uint64_t seed,
    int64_t classes,
    const std::vector<float>& shift,
    torch::Dtype labels) {
  torch::manual_seed(seed);
  auto z = torch::randn({n, classes}) * 1.5;
  auto drawn = shift.empty() ? z : z + torch::tensor(shift);
  auto y = torch::multinomial(torch::softmax(drawn, 1), 1).squeeze(1);
  data::write_npy(dir / (prefix + "_logits.npy"), z * 2);
  data::write_npy(dir / (prefix + "_labels.npy"), y.to(labels));
}

std::string fashion_mnist_dir() {
  const std::string dir = data::default_fashion_mnist_dir();
  return fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz") ? dir : "";
}

} // namespace smoothlab::testing
