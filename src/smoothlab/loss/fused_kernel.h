// Internal interface of the fused label-smoothing cross-entropy kernels (issue 7): the per-row problem
// description shared by the CPU kernels (fused_kernel_cpu.cpp) and the CUDA kernels (fused_kernel_cuda.cu).
// Not a public header: use loss/label_smoothing.h.
//
// The per-row formulas (loss, gradient coefficients) and FusedParams live in fused_row.h, shared with the kernels.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "smoothlab/loss/fused_row.h"

namespace smoothlab::loss::detail {

// Forward: writes loss_r (unreduced, Acc) into row_loss[M], the log-sum-exp as two numbers per row into lse[M, 2]
// (m_r = max_k z_k and log s_r, so that backward recomputes p_k = exp((z_k − m_r) − log s_r) without losing the
// low bits of z_k − lse to a large m_r) and, for soft targets, T0_r into t_mass[M]. logits/soft_target are contiguous
// [N, K, S] of the logits' dtype. Backward: grad[N, K, S] = row_scale_r·∂loss_r/∂z, where row_scale_r = grad_rows[r]
// when grad_rows is non-null, else grad_scale.
void fused_forward_cpu(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    float* row_loss,
    float* lse,
    float* t_mass);
void fused_forward_cpu(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    double* row_loss,
    double* lse,
    double* t_mass);
void fused_backward_cpu(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const float* lse,
    const float* t_mass,
    const float* grad_rows,
    float grad_scale,
    torch::Tensor& grad);
void fused_backward_cpu(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const double* lse,
    const double* t_mass,
    const double* grad_rows,
    double grad_scale,
    torch::Tensor& grad);

// Which CPU code path the float32 kernels use: "avx512", "avx2" or "scalar" — active_isa() (core/cpu_isa.h: the best
// this CPU supports, capped by SMOOTHLAB_CPU_ISA), unless a test switched it.
const char* fused_cpu_isa();

// TEST-ONLY hooks: process-wide switches for tests (and the loss benchmark) to reach code paths the automatic choice
// would not take on this machine. Library code never calls them; they are not part of the loss's interface.
// Thread-safe, but they change the path for every thread at once, so a test restores the previous value before it
// returns.
namespace test_only {
// Switches the float32 CPU path: "scalar" | "avx2" | "avx512" | "best" (the path fused_cpu_isa() started with).
// Returns false, changing nothing, for an unknown name or a path this CPU cannot run.
bool set_fused_cpu_isa(const std::string& name);
// float32 gradients of at least this many bytes (default 128 MiB) are written with non-temporal stores; returns the
// previous value (0 = always stream).
int64_t set_fused_stream_threshold(int64_t bytes);
} // namespace test_only

#ifdef SMOOTHLAB_LOSS_CUDA
// CUDA versions (fused_kernel_cuda.cu): same contract; pointers are device pointers; row_loss/lse/t_mass/grad_rows
// are float for float/half/bfloat16 logits and double for double logits.
void fused_forward_cuda(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    float* row_loss,
    float* lse,
    float* t_mass);
void fused_forward_cuda(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    double* row_loss,
    double* lse,
    double* t_mass);
void fused_backward_cuda(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const float* lse,
    const float* t_mass,
    const float* grad_rows,
    float grad_scale,
    torch::Tensor& grad);
void fused_backward_cuda(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const double* lse,
    const double* t_mass,
    const double* grad_rows,
    double grad_scale,
    torch::Tensor& grad);
#endif

} // namespace smoothlab::loss::detail
