// CUDA kernels of the fused label-smoothing cross-entropy (issue 7; formulas in fused_row.h, [M] §1.1).
// Compiled only when the found LibTorch has CUDA (see the guarded block in CMakeLists.txt), which also defines
// SMOOTHLAB_LOSS_CUDA for label_smoothing.cpp. One thread block per row: a block reduction for the max, one for the
// sums (s, Σ v_k (m − z_k), Σ w_k t_k (m − z_k), Σ w_k t_k), thread 0 writes the row's loss and (m, log s);
// backward recomputes p_k from (m, log s) and writes the gradient once. float16/bfloat16 logits accumulate in float.
// Rows are finished with the __host__ __device__ formulas of fused_row.h, the same as the CPU paths use.
//
// UNTESTED ON HARDWARE: no GPU was available where this was written; it compiles against CUDA LibTorch 2.x and
// mirrors the tested CPU scalar path (and shares its row formulas, fused_row.h). Run the LabelSmoothing* tests on a
// CUDA machine before relying on it.
#include "smoothlab/loss/fused_kernel.h"

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <cmath>
#include <limits>
#include <type_traits>

namespace smoothlab::loss::detail {
namespace {

constexpr int kThreads = 256;

template <typename Acc>
__device__ Acc warp_sum(Acc v) {
  for (int offset = 16; offset > 0; offset /= 2)
    v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}
template <typename Acc>
__device__ Acc warp_max(Acc v) {
  for (int offset = 16; offset > 0; offset /= 2)
    v = ::max(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

// Block-wide reduction of `count` values at once (sum, or max for count == 1 with is_max); result valid in thread 0
// and broadcast through shared memory to all threads.
template <typename Acc, int Count>
__device__ void block_sum(Acc (&v)[Count], Acc* shared /* [Count][32] */) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int i = 0; i < Count; ++i) {
    v[i] = warp_sum(v[i]);
    if (lane == 0)
      shared[i * 32 + warp] = v[i];
  }
  __syncthreads();
  if (warp == 0) {
    for (int i = 0; i < Count; ++i) {
      Acc x = lane < warps ? shared[i * 32 + lane] : Acc(0);
      x = warp_sum(x);
      if (lane == 0)
        shared[i * 32] = x;
    }
  }
  __syncthreads();
  for (int i = 0; i < Count; ++i)
    v[i] = shared[i * 32];
  __syncthreads();
}

template <typename Acc>
__device__ Acc block_max(Acc v, Acc* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    Acc x = lane < warps ? shared[lane] : -std::numeric_limits<Acc>::infinity();
    x = warp_max(x);
    if (lane == 0)
      shared[0] = x;
  }
  __syncthreads();
  v = shared[0];
  __syncthreads();
  return v;
}

template <typename T, typename Acc>
__global__ void forward_kernel(
    FusedParams<Acc> p,
    const T* __restrict__ logits,
    const T* __restrict__ soft_target,
    Acc* row_loss,
    Acc* lse,
    Acc* t_mass) {
  __shared__ Acc shared[4 * 32];
  const int64_t K = p.classes, S = p.inner;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const int64_t offset = row_offset(p, r);
    const T* z = logits + offset;
    Acc a = 0, b = 0;
    int64_t y = 0;
    if (!p.soft) {
      y = p.target[r];
      if (y == p.ignore_index) {
        if (threadIdx.x == 0) {
          row_loss[r] = 0;
          lse[2 * r] = 0;
          lse[2 * r + 1] = 0;
        }
        continue;
      }
      hard_row_coefficients(p, y, a, b);
    }
    Acc m = -std::numeric_limits<Acc>::infinity();
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
      m = ::max(m, static_cast<Acc>(z[k * S]));
    m = block_max(m, shared);
    Acc sums[4] = {0, 0, 0, 0}; // s, Σ v (m − z), Σ w t (m − z), Σ w t
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      const Acc d = m - static_cast<Acc>(z[k * S]);
      sums[0] += ::exp(-d);
      sums[1] += (p.coef ? p.coef[k] : Acc(1)) * d;
      if (p.soft) {
        const Acc wt = (p.weight ? p.weight[k] : Acc(1)) * static_cast<Acc>(soft_target[offset + k * S]);
        sums[2] += wt * d;
        sums[3] += wt;
      }
    }
    block_sum<Acc, 4>(sums, shared);
    if (threadIdx.x == 0) {
      RowSums<Acc> row;
      row.log_s = ::log(sums[0]);
      row.gap_coef = sums[1];
      if (p.soft) {
        row.gap_t = sums[2];
        row.t_mass = sums[3];
        t_mass[r] = sums[3];
      } else {
        row.gap_y = m - static_cast<Acc>(z[y * S]);
      }
      row_loss[r] = finish_row_loss(p, row, a, b);
      lse[2 * r] = m;
      lse[2 * r + 1] = row.log_s;
    }
  }
}

template <typename T, typename Acc>
__global__ void backward_kernel(
    FusedParams<Acc> p,
    const T* __restrict__ logits,
    const T* __restrict__ soft_target,
    const Acc* lse,
    const Acc* t_mass,
    const Acc* grad_rows,
    Acc grad_scale,
    T* __restrict__ grad) {
  const int64_t K = p.classes, S = p.inner;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const int64_t offset = row_offset(p, r);
    const T* z = logits + offset;
    T* g = grad + offset;
    const Acc scale = grad_rows ? grad_rows[r] : grad_scale;
    const Acc m = lse[2 * r], log_s = lse[2 * r + 1];
    GradCoefficients<Acc> c;
    int64_t y = -1;
    if (p.soft) {
      c = soft_grad_coefficients(p, t_mass[r], scale);
    } else {
      y = p.target[r];
      if (y == p.ignore_index) {
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
          g[k * S] = T(0);
        continue;
      }
      c = hard_grad_coefficients(p, y, scale);
    }
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      const Acc prob = ::exp((static_cast<Acc>(z[k * S]) - m) - log_s);
      const Acc v = p.coef ? p.coef[k] : p.coef_const;
      const Acc w = p.weight ? p.weight[k] : Acc(1);
      const Acc t = p.soft ? static_cast<Acc>(soft_target[offset + k * S]) : Acc(0);
      g[k * S] = static_cast<T>(grad_element(c, prob, v, w, t, p.soft, k == y));
    }
  }
}

int grid_for(int64_t rows) {
  return static_cast<int>(std::min<int64_t>(rows, 65535 * 8));
}

template <typename Acc>
void forward_impl(
    const FusedParams<Acc>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    Acc* row_loss,
    Acc* lse,
    Acc* t_mass) {
  if (p.rows == 0)
    return;
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, logits.scalar_type(), "fused_ls_forward", [&] {
    if constexpr (std::is_same_v<scalar_t, double> == std::is_same_v<Acc, double>) {
      forward_kernel<scalar_t, Acc><<<grid_for(p.rows), kThreads, 0, stream>>>(
          p, logits.data_ptr<scalar_t>(), p.soft ? soft_target.data_ptr<scalar_t>() : nullptr, row_loss, lse, t_mass);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    } else {
      TORCH_CHECK(false, "fused label smoothing: accumulation type does not match ", logits.scalar_type());
    }
  });
}

template <typename Acc>
void backward_impl(
    const FusedParams<Acc>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const Acc* lse,
    const Acc* t_mass,
    const Acc* grad_rows,
    Acc grad_scale,
    torch::Tensor& grad) {
  if (p.rows == 0)
    return;
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, logits.scalar_type(), "fused_ls_backward", [&] {
    if constexpr (std::is_same_v<scalar_t, double> == std::is_same_v<Acc, double>) {
      backward_kernel<scalar_t, Acc><<<grid_for(p.rows), kThreads, 0, stream>>>(
          p,
          logits.data_ptr<scalar_t>(),
          p.soft ? soft_target.data_ptr<scalar_t>() : nullptr,
          lse,
          t_mass,
          grad_rows,
          grad_scale,
          grad.data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    } else {
      TORCH_CHECK(false, "fused label smoothing: accumulation type does not match ", logits.scalar_type());
    }
  });
}

} // namespace

void fused_forward_cuda(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    float* row_loss,
    float* lse,
    float* t_mass) {
  forward_impl(p, logits, soft_target, row_loss, lse, t_mass);
}
void fused_forward_cuda(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    double* row_loss,
    double* lse,
    double* t_mass) {
  forward_impl(p, logits, soft_target, row_loss, lse, t_mass);
}
void fused_backward_cuda(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const float* lse,
    const float* t_mass,
    const float* grad_rows,
    float grad_scale,
    torch::Tensor& grad) {
  backward_impl(p, logits, soft_target, lse, t_mass, grad_rows, grad_scale, grad);
}
void fused_backward_cuda(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const double* lse,
    const double* t_mass,
    const double* grad_rows,
    double grad_scale,
    torch::Tensor& grad) {
  backward_impl(p, logits, soft_target, lse, t_mass, grad_rows, grad_scale, grad);
}

} // namespace smoothlab::loss::detail
