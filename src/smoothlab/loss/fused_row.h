// The per-row formulas of the fused label-smoothing cross-entropy, written once for every kernel: the scalar and SIMD
// CPU paths (fused_kernel_cpu.cpp, fused_kernel_simd.inc) and the CUDA kernels (fused_kernel_cuda.cu) reduce a row to
// a few sums and finish it here. Plain C++ (no LibTorch), functions `inline` and, under nvcc, `__host__ __device__`.
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
//
// `Real` is the type a kernel finishes a row in (double on the CPU paths, the accumulation type on CUDA); `Acc` the
// type of the parameters (float for float/half/bfloat16 logits, double for double).
#pragma once

#include <cstdint>

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
  int64_t rows = 0; // M = N·S
  int64_t classes = 0; // K
  int64_t inner = 1; // S: class stride; row r = n·S + s starts at n·K·S + s
  Acc smoothing = 0; // ε
  bool soft = false; // probability targets (else int64 class indices)
  bool wrong_class_only = false;
  int64_t ignore_index = -100;
  const int64_t* target = nullptr; // [M] (hard targets)
  const Acc* weight = nullptr; // [K] or null (w ≡ 1)
  const Acc* coef = nullptr; // [K] v_k, or null when v_k ≡ coef_const
  Acc coef_const = 0;
  Acc coef_sum = 0; // V
  const Acc* prior = nullptr; // [K] π, or null when π ≡ 1/K (only read for wrong_class_only)
};

// Offset of row r's first logit in the contiguous [N, K, S] tensor (its classes follow at stride S).
template <typename Acc>
SMOOTHLAB_HOST_DEVICE inline int64_t row_offset(const FusedParams<Acc>& p, int64_t r) {
  return (r / p.inner) * p.classes * p.inner + r % p.inner;
}

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

// What a forward pass gathers over the classes of one row (d_k = m − z_k ≥ 0, m = max_k z_k).
template <typename Real>
struct RowSums {
  Real log_s = 0; // log Σ_k exp(z_k − m)
  Real gap_coef = 0; // Σ_k v_k d_k, or Σ_k d_k when p.coef is null (v ≡ coef_const is applied here)
  Real gap_t = 0; // Σ_k w_k t_k d_k   (soft targets)
  Real t_mass = 0; // T0 = Σ_k w_k t_k  (soft targets)
  Real gap_y = 0; // m − z_y           (hard targets)
};

// loss_r of a non-ignored row from its sums; a, b from hard_row_coefficients (unused for soft targets).
template <typename Real, typename Acc>
SMOOTHLAB_HOST_DEVICE inline Real finish_row_loss(const FusedParams<Acc>& p, const RowSums<Real>& s, Acc a, Acc b) {
  const Real gap_coef = p.coef ? s.gap_coef : s.gap_coef * Real(p.coef_const);
  const Real smooth = gap_coef + Real(p.coef_sum) * s.log_s; // Σ_k v_k (lse − z_k)
  const Real eps = Real(p.smoothing);
  if (p.soft)
    return (Real(1) - eps) * (s.gap_t + s.t_mass * s.log_s) + (eps != Real(0) ? eps * smooth : Real(0));
  return Real(a) * (s.gap_y + s.log_s) + (b != Acc(0) ? Real(b) * smooth : Real(0)); // lse − z_y = m − z_y + log s
}

// The gradient of a row, scaled by its incoming gradient `scale`:
//   scale·∂loss_r/∂z_k = c1·p_k − cv·v_k − ct·w_k t_k − cy·[k = y]
// (ct = 0 for hard targets, cy = 0 for soft ones).
template <typename Real>
struct GradCoefficients {
  Real c1 = 0, cv = 0, ct = 0, cy = 0;
};

// For a non-ignored hard-target row with class y.
template <typename Real, typename Acc>
SMOOTHLAB_HOST_DEVICE inline GradCoefficients<Real> hard_grad_coefficients(
    const FusedParams<Acc>& p,
    int64_t y,
    Real scale) {
  Acc a = 0, b = 0;
  hard_row_coefficients(p, y, a, b);
  GradCoefficients<Real> c;
  c.c1 = scale * (Real(a) + Real(b) * Real(p.coef_sum));
  c.cv = scale * Real(b);
  c.cy = scale * Real(a);
  return c;
}

// For a soft-target row with T0 = t_mass.
template <typename Real, typename Acc>
SMOOTHLAB_HOST_DEVICE inline GradCoefficients<Real> soft_grad_coefficients(
    const FusedParams<Acc>& p,
    Real t_mass,
    Real scale) {
  const Real eps = Real(p.smoothing);
  GradCoefficients<Real> c;
  c.c1 = scale * ((Real(1) - eps) * t_mass + eps * Real(p.coef_sum));
  c.cv = scale * eps;
  c.ct = scale * (Real(1) - eps);
  return c;
}

// One gradient element (scalar and CUDA paths; the SIMD path applies the same coefficients a vector at a time):
// prob = p_k, v = v_k, w = w_k and t = t_k (read only when soft), is_y = [k = y].
template <typename Real>
SMOOTHLAB_HOST_DEVICE inline Real grad_element(
    const GradCoefficients<Real>& c,
    Real prob,
    Real v,
    Real w,
    Real t,
    bool soft,
    bool is_y) {
  Real g = c.c1 * prob - c.cv * v;
  if (soft)
    g -= c.ct * w * t;
  if (is_y)
    g -= c.cy;
  return g;
}

} // namespace smoothlab::loss::detail
