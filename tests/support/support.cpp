#include "support/support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "smoothlab/data/idx.h"
#include "smoothlab/data/dataset.h"

namespace smoothlab::testing {

::testing::AssertionResult tensors_near(const torch::Tensor& actual_in, const torch::Tensor& expected_in, double rtol,
                                        double atol) {
  if (actual_in.sizes() != expected_in.sizes())
    return ::testing::AssertionFailure() << "shape " << actual_in.sizes() << " != expected " << expected_in.sizes();
  auto a = actual_in.detach().to(torch::kCPU, torch::kFloat64).flatten();
  auto e = expected_in.detach().to(torch::kCPU, torch::kFloat64).flatten();
  auto nan_a = torch::isnan(a), nan_e = torch::isnan(e);
  if (!nan_a.equal(nan_e)) return ::testing::AssertionFailure() << "NaN positions differ";
  auto diff = (a - e).abs().masked_fill(nan_a, 0.0);
  auto tol = atol + rtol * e.abs().masked_fill(nan_e, 0.0);
  auto bad = diff.gt(tol) | (torch::isinf(a) & a.ne(e));
  const int64_t n_bad = bad.sum().item<int64_t>();
  if (n_bad == 0) return ::testing::AssertionSuccess();
  auto excess = (diff - tol).masked_fill(~bad, -1.0);
  auto order = excess.argsort(0, /*descending=*/true);
  std::ostringstream ss;
  ss << n_bad << " of " << a.numel() << " elements differ (rtol " << rtol << ", atol " << atol << "); worst:";
  for (int64_t i = 0; i < std::min<int64_t>(5, n_bad); ++i) {
    const int64_t j = order[i].item<int64_t>();
    ss << fmt::format("\n  [{}] actual {:.10g} expected {:.10g} |diff| {:.3g}", j, a[j].item<double>(),
                      e[j].item<double>(), diff[j].item<double>());
  }
  return ::testing::AssertionFailure() << ss.str();
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "smoothlab-test-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& env) {
  TempDir tmp;
  std::string cmd = env.empty() ? "" : env + " ";
  cmd += quote(SMOOTHLAB_CLI_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  return r;
}

void write_idx_folder(const fs::path& dir, int64_t n_train, int64_t n_test, int64_t h, int64_t w, int64_t classes,
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

std::string fashion_mnist_dir() {
  const std::string dir = data::default_fashion_mnist_dir();
  return fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz") ? dir : "";
}

}  // namespace smoothlab::testing
