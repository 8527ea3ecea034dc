// Internal interface of the fused label-smoothing cross-entropy kernels (issue 7): the per-row problem
// description shared by the CPU kernels (fused_kernel_cpu.cpp) and the CUDA kernels (fused_kernel_cuda.cu).
// Not a public header: use loss/label_smoothing.h.
//
// A "row" is one prediction: logits z[n, :, s] of an [N, K, S] view (S = d1·d2·…, 1 for [N, K] inputs), row index
// r = n·S + s, class stride S. Every supported variant is one formula per row ([M] §1.1, PyTorch's semantics):
//
//   smoothing distribution u (ε is spread by u):  uniform u_k = 1/K, or a prior u_k = π_k;
//   per-class smoothing coefficients v_k = u_k·w_k (w = class weights, 1 without), V = Σ_k v_k.
//   Hard targets y (class indices):
//     loss_r = a_r·(lse − z_y) + b_r·Σ_k v_k (lse − z_k),       a_r = (1 − ε)·w_y, b_r = ε
//     wrong-class-only (ε over the K − 1 wrong classes, u_k = π_k·[k ≠ y]/(1 − π_y)):
//                       b_r = ε/(1 − π_y),  a_r = (1 − ε)·w_y − b_r·v_y
//     ∂loss_r/∂z_k = (a_r + b_r·V)·p_k − b_r·v_k − a_r·[k = y]
//   Soft targets t (probabilities), q = (1 − ε)·t + ε·u:
//     loss_r = (1 − ε)·Σ_k w_k t_k (lse − z_k) + ε·Σ_k v_k (lse − z_k)
//     ∂loss_r/∂z_k = ((1 − ε)·T0_r + ε·V)·p_k − (1 − ε)·w_k t_k − ε·v_k,   T0_r = Σ_k w_k t_k
//
// Sums of (lse − z_k) are accumulated as Σ c_k (m − z_k) + (Σ c_k)·log s with m = max_k z_k, s = Σ_k exp(z_k − m):
// every term is ≥ 0, so extreme logits (±1e4) lose no precision to cancellation.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#ifdef __CUDACC__
#define SMOOTHLAB_HOST_DEVICE __host__ __device__
#else
#define SMOOTHLAB_HOST_DEVICE
#endif

namespace smoothlab::loss::detail {

// Everything a kernel needs, as raw pointers and scalars (plain data: also passed to CUDA kernels by value).
// Pointers to per-class vectors are of the accumulation type (float for float/half/bfloat16, double for double).
template <typename Acc>
struct FusedParams {
  int64_t rows = 0;      // M = N·S
  int64_t classes = 0;   // K
  int64_t inner = 1;     // S: class stride; row r = n·S + s starts at n·K·S + s
  Acc smoothing = 0;     // ε
  bool soft = false;     // probability targets (else int64 class indices)
  bool wrong_class_only = false;
  int64_t ignore_index = -100;
  const int64_t* target = nullptr;  // [M] (hard targets)
  const Acc* weight = nullptr;      // [K] or null (w ≡ 1)
  const Acc* coef = nullptr;        // [K] v_k, or null when v_k ≡ coef_const
  Acc coef_const = 0;
  Acc coef_sum = 0;                 // V
  const Acc* prior = nullptr;       // [K] π, or null when π ≡ 1/K (only read for wrong_class_only)
};

// Per-row coefficients (a_r, b_r) of the hard-target formula above; both 0 for ignored rows.
template <typename Acc>
SMOOTHLAB_HOST_DEVICE inline void hard_row_coefficients(const FusedParams<Acc>& p, int64_t y, Acc& a, Acc& b) {
  if (y == p.ignore_index) {
    a = 0;
    b = 0;
    return;
  }
  const Acc w_y = p.weight ? p.weight[y] : Acc(1);
  if (!p.wrong_class_only) {
    a = (Acc(1) - p.smoothing) * w_y;
    b = p.smoothing;
    return;
  }
  const Acc pi_y = p.prior ? p.prior[y] : Acc(1) / Acc(p.classes);
  const Acc v_y = p.coef ? p.coef[y] : p.coef_const;
  b = p.smoothing / (Acc(1) - pi_y);
  a = (Acc(1) - p.smoothing) * w_y - b * v_y;
}

// Forward: writes loss_r (unreduced, Acc) into row_loss[M], the log-sum-exp as two numbers per row into lse[M, 2]
// (m_r = max_k z_k and log s_r, so that backward recomputes p_k = exp((z_k − m_r) − log s_r) without losing the
// low bits of z_k − lse to a large m_r) and, for soft targets, T0_r into t_mass[M]. logits/soft_target are contiguous [N, K, S] of the logits' dtype.
// Backward: grad[N, K, S] = row_scale_r·∂loss_r/∂z, where row_scale_r = grad_rows[r] when grad_rows is non-null,
// else grad_scale.
void fused_forward_cpu(const FusedParams<float>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                       float* row_loss, float* lse, float* t_mass);
void fused_forward_cpu(const FusedParams<double>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                       double* row_loss, double* lse, double* t_mass);
void fused_backward_cpu(const FusedParams<float>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                        const float* lse, const float* t_mass, const float* grad_rows, float grad_scale,
                        torch::Tensor& grad);
void fused_backward_cpu(const FusedParams<double>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                        const double* lse, const double* t_mass, const double* grad_rows, double grad_scale,
                        torch::Tensor& grad);

// Which CPU code path the float32 kernels use: "avx512", "avx2" or "scalar" (the best this CPU supports, capped by
// the environment variable SMOOTHLAB_CPU_ISA=scalar|avx2|avx512 when set, unless changed). set_fused_cpu_isa("scalar" |
// "avx2" | "avx512" | "best") switches it for the whole process (tests run every path; "best" is the starting path);
// returns false, changing nothing, for an unknown name or one this CPU cannot run. Thread-safe.
const char* fused_cpu_isa();
bool set_fused_cpu_isa(const std::string& name);
// float32 gradients of at least this many bytes (default 128 MiB) are written with non-temporal stores; returns the
// previous value. For tests (0 = always stream).
int64_t set_fused_stream_threshold(int64_t bytes);

#ifdef SMOOTHLAB_LOSS_CUDA
// CUDA versions (fused_kernel_cuda.cu): same contract; pointers are device pointers; row_loss/lse/t_mass/grad_rows
// are float for float/half/bfloat16 logits and double for double logits.
void fused_forward_cuda(const FusedParams<float>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                        float* row_loss, float* lse, float* t_mass);
void fused_forward_cuda(const FusedParams<double>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                        double* row_loss, double* lse, double* t_mass);
void fused_backward_cuda(const FusedParams<float>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                         const float* lse, const float* t_mass, const float* grad_rows, float grad_scale,
                         torch::Tensor& grad);
void fused_backward_cuda(const FusedParams<double>& p, const torch::Tensor& logits, const torch::Tensor& soft_target,
                         const double* lse, const double* t_mass, const double* grad_rows, double grad_scale,
                         torch::Tensor& grad);
#endif

}  // namespace smoothlab::loss::detail
