// Matrix scaling and Dirichlet calibration with ODIR by L-BFGS (dirichlet.h).
#include "smoothlab/calib/dirichlet.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

#include <torch/torch.h>

#include "smoothlab/calib/lbfgs.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"

namespace smoothlab::calib {

namespace {

constexpr int64_t kOdirRowsPerBlock = 256; // rows per partial sum of odir_objective
constexpr double kOdirExpFloor = -500.0; // exp(d) for d below it is taken as 0 (odir_objective)
constexpr int64_t kOdirBlasRowsPerBlock = 4096; // rows per block of the BLAS path (32 MB of float64 at K = 1000)
constexpr int64_t kOdirSerialElements = 32768; // at::internal::GRAIN_SIZE: smaller element-wise ops run unsplit

// Rows per block of the BLAS path: below 256 classes few enough that no element-wise op of a block reaches LibTorch's
// grain size, so the block runs on the calling thread (a parallel region per op costs more than the op at this size,
// and far more on a loaded machine); from 256 classes on, kOdirBlasRowsPerBlock and LibTorch's threads.
int64_t odir_block_rows(int64_t k) {
  return k >= 256 ? kOdirBlasRowsPerBlock : std::min(kOdirBlasRowsPerBlock, kOdirSerialElements / k);
}

// The canonical representative of (W, b) (dirichlet.h): Wc = W + 1 uᵀ with u_j = −Σ_{i≠j} W_ij / (K − 1),
// bc = b − mean(b). w, wc: [K, K] row-major; b, bc: [K].
void odir_canonical_form(const double* w, const double* b, int64_t k, double* wc, double* bc) {
  for (int64_t j = 0; j < k; ++j) {
    double off = 0;
    for (int64_t i = 0; i < k; ++i)
      if (i != j)
        off += w[i * k + j];
    const double u = -off / double(k - 1);
    for (int64_t i = 0; i < k; ++i)
      wc[i * k + j] = w[i * k + j] + u;
  }
  const double mean = std::accumulate(b, b + k, 0.0) / double(k);
  for (int64_t i = 0; i < k; ++i)
    bc[i] = b[i] - mean;
}

// The row sums of odir_objective by hand-written loops on the calling thread (small K). wc, bc: the canonical
// parameters. Returns [0] Σ −log q_iy, then Σ ∂/∂Wc (K·K, row-major), then Σ ∂/∂bc (K) (zeros without gradient).
std::vector<double> odir_sums_loop(
    const torch::Tensor& x,
    const torch::Tensor& labels,
    const std::vector<double>& wc,
    const std::vector<double>& bc,
    bool gradient) {
  const int64_t n = x.size(0), k = x.size(1);
  const size_t kk = size_t(k * k);
  const double* xp = x.data_ptr<double>();
  const int64_t* yp = labels.data_ptr<int64_t>();
  // Per block of rows: [0] the NLL sum, then ∂/∂Wc (K·K) and ∂/∂bc (K) sums, combined in a fixed order. One thread:
  // an evaluation is ~0.5 ms at N = 4000, K = 10, too little to share; compare.cpp runs the CV folds in parallel.
  const int64_t blocks = (n + kOdirRowsPerBlock - 1) / kOdirRowsPerBlock;
  const size_t stride = 1 + kk + size_t(k);
  std::vector<double> sums(size_t(blocks) * stride, 0.0);
  auto rows = [&](int64_t block) {
    double* out = sums.data() + size_t(block) * stride;
    double *gw = out + 1, *gb = out + 1 + kk;
    std::vector<double> s(static_cast<size_t>(k));
    const int64_t r1 = std::min(n, (block + 1) * kOdirRowsPerBlock);
    for (int64_t r = block * kOdirRowsPerBlock; r < r1; ++r) {
      const double* xr = xp + r * k;
      double top = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < k; ++i) {
        const double* wi = wc.data() + i * k;
        double v = bc[size_t(i)];
        for (int64_t j = 0; j < k; ++j)
          v += wi[j] * xr[j];
        s[size_t(i)] = v;
        top = std::max(top, v);
      }
      const int64_t y = yp[r];
      const double sy = s[size_t(y)] - top;
      double total = 0;
      for (int64_t i = 0; i < k; ++i) {
        // Terms below e^−500 (≈ 7e−218) are taken as 0: the sum (≥ 1, the top term) and every gradient entry change
        // by less than 1e−216, far below float64's resolution of them, while exp's results and the products with
        // them stay out of the subnormal range, where x86 arithmetic is ~100× slower (Dirichlet's log-probability
        // features of a confident model put many rows there).
        const double d = s[size_t(i)] - top;
        s[size_t(i)] = d < kOdirExpFloor ? 0.0 : std::exp(d);
        total += s[size_t(i)];
      }
      // −log q_y = log Σ_i exp(s_i − top) − (s_y − top); s now holds exp(s − top).
      out[0] += std::log(total) - sy;
      if (!gradient)
        continue;
      const double inv = 1.0 / total;
      for (int64_t i = 0; i < k; ++i) {
        const double g = s[size_t(i)] * inv - (i == y ? 1.0 : 0.0);
        gb[i] += g;
        double* gwi = gw + i * k;
        for (int64_t j = 0; j < k; ++j)
          gwi[j] += g * xr[j];
      }
    }
  };
  for (int64_t block = 0; block < blocks; ++block)
    rows(block);
  std::vector<double> total(stride, 0.0);
  for (int64_t block = 0; block < blocks; ++block)
    for (size_t i = 0; i < stride; ++i)
      total[i] += sums[size_t(block) * stride + i];
  return total;
}

// The same sums through LibTorch's float64 matrix products (BLAS) in blocks of odir_block_rows(K) rows, summed in
// a fixed order: S = X Wcᵀ + bc, exp(S − max) with the same floor, G = softmax − onehot, Σ Gᵀ X and Σ G. O(N·K²) like
// the loops, but at BLAS speed; the products use LibTorch's intra-op threads.
std::vector<double> odir_sums_blas(
    const torch::Tensor& x,
    const torch::Tensor& labels,
    const std::vector<double>& wc,
    const std::vector<double>& bc,
    bool gradient) {
  const int64_t n = x.size(0), k = x.size(1);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // from_blob views of the caller's vectors, read only here.
  const auto wct = torch::from_blob(const_cast<double*>(wc.data()), {k, k}, f64).t();
  const auto bct = torch::from_blob(const_cast<double*>(bc.data()), {k}, f64);
  double nll = 0;
  auto gw = torch::zeros({k, k}, f64), gb = torch::zeros({k}, f64);
  const int64_t rows = odir_block_rows(k);
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    const int64_t r1 = std::min(n, r0 + rows);
    const auto xb = x.slice(0, r0, r1);
    const auto yb = labels.slice(0, r0, r1).unsqueeze(1);
    auto d = torch::addmm(bct, xb, wct);
    d.sub_(std::get<0>(d.max(1, true)));
    const auto below = d < kOdirExpFloor;
    auto e = d.clamp_min(kOdirExpFloor).exp_().masked_fill_(below, 0.0);
    const auto sum = e.sum(1, true);
    nll += (sum.log() - d.gather(1, yb)).sum().item<double>();
    if (!gradient)
      continue;
    e.div_(sum).scatter_add_(1, yb, torch::full({r1 - r0, 1}, -1.0, f64)); // G = softmax − onehot
    gw.addmm_(e.t(), xb);
    gb.add_(e.sum(0));
  }
  std::vector<double> total(1 + size_t(k * k) + size_t(k), 0.0);
  total[0] = nll;
  if (gradient) {
    std::copy(gw.data_ptr<double>(), gw.data_ptr<double>() + k * k, total.begin() + 1);
    std::copy(gb.data_ptr<double>(), gb.data_ptr<double>() + k, total.begin() + 1 + k * k);
  }
  return total;
}

} // namespace

namespace detail {

std::pair<torch::Tensor, torch::Tensor> odir_canonical(const torch::Tensor& w, const torch::Tensor& b) {
  const int64_t k = w.size(0);
  const auto wd = w.to(torch::kFloat64).contiguous(), bd = b.to(torch::kFloat64).contiguous();
  auto wc = torch::empty({k, k}, torch::kFloat64), bc = torch::empty({k}, torch::kFloat64);
  odir_canonical_form(wd.data_ptr<double>(), bd.data_ptr<double>(), k, wc.data_ptr<double>(), bc.data_ptr<double>());
  return {wc, bc};
}

double odir_objective(
    const torch::Tensor& x,
    const torch::Tensor& labels,
    const torch::Tensor& w,
    const torch::Tensor& b,
    double lambda,
    double mu,
    torch::Tensor* grad_w,
    torch::Tensor* grad_b,
    OdirPath path) {
  const int64_t n = x.size(0), k = x.size(1);
  check(
      x.scalar_type() == torch::kFloat64 && x.is_contiguous() && labels.scalar_type() == torch::kInt64 &&
          labels.is_contiguous() && w.scalar_type() == torch::kFloat64 && w.is_contiguous() &&
          b.scalar_type() == torch::kFloat64 && b.is_contiguous() && w.size(0) == k && w.size(1) == k &&
          b.size(0) == k && labels.size(0) == n,
      "odir_objective: x [N, K] and w [K, K], b [K] float64 contiguous, labels [N] int64");
  const bool gradient = grad_w != nullptr && grad_b != nullptr;
  const size_t kk = size_t(k * k);
  std::vector<double> wc(kk), bc(static_cast<size_t>(k));
  odir_canonical_form(w.data_ptr<double>(), b.data_ptr<double>(), k, wc.data(), bc.data());
  // [0] the NLL sum, then ∂/∂Wc (K·K, row-major) and ∂/∂bc (K) sums over the rows.
  const bool blas = path == OdirPath::Blas || (path == OdirPath::Auto && k >= kOdirBlasMinClasses);
  const std::vector<double> total =
      blas ? odir_sums_blas(x, labels, wc, bc, gradient) : odir_sums_loop(x, labels, wc, bc, gradient);
  const double l = lambda / double(k * (k - 1)), m = mu / double(k), inv_n = 1.0 / double(n);
  double penalty_w = 0, penalty_b = 0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (i != j)
        penalty_w += wc[size_t(i * k + j)] * wc[size_t(i * k + j)];
  for (int64_t i = 0; i < k; ++i)
    penalty_b += bc[size_t(i)] * bc[size_t(i)];
  const double value = total[0] * inv_n + l * penalty_w + m * penalty_b;
  if (!gradient)
    return value;
  // The gradient at (Wc, bc), then through the canonical map, which is linear: Wc_i'j = W_i'j + u_j for every row i'
  // with u_j = −Σ_{i≠j} W_ij / (K − 1), so ∂/∂W_ij = ∂/∂Wc_ij − [i ≠ j] Σ_i' ∂/∂Wc_i'j / (K − 1); bc = b − mean(b),
  // so ∂/∂b = ∂/∂bc − mean(∂/∂bc).
  std::vector<double> gwc(kk), gbc(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const size_t ij = size_t(i * k + j);
      gwc[ij] = total[1 + ij] * inv_n + (i != j ? 2.0 * l * wc[ij] : 0.0);
    }
    gbc[size_t(i)] = total[1 + kk + size_t(i)] * inv_n + 2.0 * m * bc[size_t(i)];
  }
  if (!grad_w->defined())
    *grad_w = torch::empty({k, k}, torch::kFloat64);
  if (!grad_b->defined())
    *grad_b = torch::empty({k}, torch::kFloat64);
  check(
      grad_w->scalar_type() == torch::kFloat64 && grad_w->is_contiguous() && grad_w->numel() == k * k &&
          grad_b->scalar_type() == torch::kFloat64 && grad_b->is_contiguous() && grad_b->numel() == k,
      "odir_objective: the gradients must be float64 contiguous [K, K] and [K]");
  double *gw = grad_w->data_ptr<double>(), *gb = grad_b->data_ptr<double>();
  for (int64_t j = 0; j < k; ++j) {
    double column = 0;
    for (int64_t i = 0; i < k; ++i)
      column += gwc[size_t(i * k + j)];
    for (int64_t i = 0; i < k; ++i)
      gw[i * k + j] = gwc[size_t(i * k + j)] - (i != j ? column / double(k - 1) : 0.0);
  }
  const double mean_gb = std::accumulate(gbc.begin(), gbc.end(), 0.0) / double(k);
  for (int64_t i = 0; i < k; ++i)
    gb[i] = gbc[size_t(i)] - mean_gb;
  return value;
}

} // namespace detail

void LinearCalibrator::set(const torch::Tensor& weight, const torch::Tensor& bias) {
  check(
      bias.dim() == 1 && weight.dim() == 2 && weight.size(0) == bias.size(0) && weight.size(1) == bias.size(0),
      "{}: weight must be [K, K] and bias [K]",
      name());
  w_ = weight.to(torch::kFloat64).clone();
  b_ = bias.to(torch::kFloat64).clone();
  load_parameters(parameters(), b_.size(0));
}

torch::Tensor LinearCalibrator::features(const torch::Tensor& logits) const {
  return input_ == Input::Logits ? logits : torch::log_softmax(logits, 1);
}

FitReport LinearCalibrator::fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) {
  check(lambda_ >= 0 && mu_ >= 0, "{}: ODIR λ and μ must be ≥ 0, got {} and {}", name(), lambda_, mu_);
  const int64_t k = logits.size(1);
  torch::Tensor w, b;
  if (start_w_.defined()) {
    check(
        start_w_.size(0) == k && start_b_.size(0) == k,
        "{}: the warm start has K = {}, the logits K = {}",
        name(),
        start_w_.size(0),
        k);
    w = start_w_.clone();
    b = start_b_.clone();
    start_w_ = start_b_ = torch::Tensor();
  } else {
    w = torch::eye(k, torch::kFloat64) / fit_temperature(logits, labels).temperature;
    b = torch::zeros({k}, torch::kFloat64);
  }
  w.requires_grad_(true); // the solver's parameters; gradients come from odir_objective, not autograd
  b.requires_grad_(true);
  const auto x = features(logits).contiguous();
  auto report = detail::minimise_lbfgs(
      {w, b},
      [&](std::vector<torch::Tensor>& g) {
        return detail::odir_objective(x, labels, w, b, lambda_, mu_, &g[0], &g[1]);
      },
      tolerance_,
      max_iterations_);
  std::tie(w_, b_) = detail::odir_canonical(w, b);
  return report;
}

void LinearCalibrator::warm_start(const torch::Tensor& weight, const torch::Tensor& bias) {
  check(
      bias.dim() == 1 && weight.dim() == 2 && weight.size(0) == bias.size(0) && weight.size(1) == bias.size(0),
      "{}: the warm start's weight must be [K, K] and bias [K]",
      name());
  start_w_ = weight.detach().to(torch::kCPU, torch::kFloat64).contiguous().clone();
  start_b_ = bias.detach().to(torch::kCPU, torch::kFloat64).contiguous().clone();
}

torch::Tensor LinearCalibrator::log_probs_impl(const torch::Tensor& logits) const {
  return torch::log_softmax(torch::addmm(b_, features(logits), w_.t()), 1);
}

nlohmann::json LinearCalibrator::parameters() const {
  return {{"weight", detail::to_vector(w_)}, {"bias", detail::to_vector(b_)}, {"lambda", lambda_}, {"mu", mu_}};
}

void LinearCalibrator::set_parameters(const nlohmann::json& parameters, int64_t classes) {
  w_ = detail::tensor_from_json(parameters, "weight", {classes, classes});
  b_ = detail::tensor_from_json(parameters, "bias", {classes});
  lambda_ = parameters.value("lambda", lambda_);
  mu_ = parameters.value("mu", mu_);
}

} // namespace smoothlab::calib
