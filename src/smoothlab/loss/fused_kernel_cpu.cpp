// CPU kernels of the fused label-smoothing cross-entropy (issue 7; formulas in fused_row.h, [M] §1.1).
//
// float32 [N, K] rows run vectorised (AVX-512 or AVX2+FMA, chosen at run time from CPUID; fused_kernel_simd.inc
// compiled once per instruction set inside a `#pragma GCC target` region) with the shared polynomial exp of
// core/simd_exp.h (≈ 2 ulp). Every other case (float64, float16/bfloat16, [N, K, d1, ...] rows with class stride
// S > 1, CPUs without AVX2) runs a plain scalar loop accumulating in double. Rows are split over threads with
// at::parallel_for; a row is never split, so results do not depend on the thread count. Every path finishes its rows
// with the formulas of fused_row.h.
#include "smoothlab/loss/fused_kernel.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "smoothlab/core/cpu_isa.h"
#include "smoothlab/core/simd_exp.h"

#ifdef SMOOTHLAB_SIMD_X86
#define SMOOTHLAB_LOSS_X86 1
#endif

namespace smoothlab::loss::detail {

#ifdef SMOOTHLAB_LOSS_X86

// The vector types below only cross functions of this file (no ABI concern), and GCC 12's own AVX-512 headers
// trip -Wmaybe-uninitialized through _mm512_undefined_ps().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
namespace avx512 {
struct VecF {
  using reg = __m512;
  static constexpr int64_t W = 16;
  static __mmask16 mask(int64_t n) {
    return static_cast<__mmask16>((1u << n) - 1u);
  }
  static reg zero() {
    return _mm512_setzero_ps();
  }
  static reg set1(float x) {
    return _mm512_set1_ps(x);
  }
  static reg load(const float* p) {
    return _mm512_loadu_ps(p);
  }
  static reg load_tail(const float* p, int64_t n, float fill) {
    return _mm512_mask_loadu_ps(set1(fill), mask(n), p);
  }
  static void store(float* p, reg v) {
    _mm512_storeu_ps(p, v);
  }
  static void stream(float* p, reg v) {
    _mm512_stream_ps(p, v);
  }
  static void fence() {
    _mm_sfence();
  }
  static void store_tail(float* p, reg v, int64_t n) {
    _mm512_mask_storeu_ps(p, mask(n), v);
  }
  static reg zero_tail(reg v, int64_t n) {
    return _mm512_maskz_mov_ps(mask(n), v);
  }
  static reg add(reg a, reg b) {
    return _mm512_add_ps(a, b);
  }
  static reg sub(reg a, reg b) {
    return _mm512_sub_ps(a, b);
  }
  static reg mul(reg a, reg b) {
    return _mm512_mul_ps(a, b);
  }
  static reg fmadd(reg a, reg b, reg c) {
    return _mm512_fmadd_ps(a, b, c);
  }
  static reg fnmadd(reg a, reg b, reg c) {
    return _mm512_fnmadd_ps(a, b, c);
  }
  static reg max(reg a, reg b) {
    return _mm512_max_ps(a, b);
  }
  static float reduce_add(reg v) {
    return _mm512_reduce_add_ps(v);
  }
  static float reduce_max(reg v) {
    return _mm512_reduce_max_ps(v);
  }
  static reg exp(reg x) {
    return simd::avx512::exp(x);
  }
};
#include "smoothlab/loss/fused_kernel_simd.inc"
} // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
struct VecF {
  using reg = __m256;
  static constexpr int64_t W = 8;
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg zero() {
    return _mm256_setzero_ps();
  }
  static reg set1(float x) {
    return _mm256_set1_ps(x);
  }
  static reg load(const float* p) {
    return _mm256_loadu_ps(p);
  }
  static reg load_tail(const float* p, int64_t n, float fill) {
    const __m256i m = mask(n);
    return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store(float* p, reg v) {
    _mm256_storeu_ps(p, v);
  }
  static void stream(float* p, reg v) {
    _mm256_stream_ps(p, v);
  }
  static void fence() {
    _mm_sfence();
  }
  static void store_tail(float* p, reg v, int64_t n) {
    _mm256_maskstore_ps(p, mask(n), v);
  }
  static reg zero_tail(reg v, int64_t n) {
    return _mm256_and_ps(v, _mm256_castsi256_ps(mask(n)));
  }
  static reg add(reg a, reg b) {
    return _mm256_add_ps(a, b);
  }
  static reg sub(reg a, reg b) {
    return _mm256_sub_ps(a, b);
  }
  static reg mul(reg a, reg b) {
    return _mm256_mul_ps(a, b);
  }
  static reg fmadd(reg a, reg b, reg c) {
    return _mm256_fmadd_ps(a, b, c);
  }
  static reg fnmadd(reg a, reg b, reg c) {
    return _mm256_fnmadd_ps(a, b, c);
  }
  static reg max(reg a, reg b) {
    return _mm256_max_ps(a, b);
  }
  static float reduce_add(reg v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  static float reduce_max(reg v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  static reg exp(reg x) {
    return simd::avx2::exp(x);
  }
};
#include "smoothlab/loss/fused_kernel_simd.inc"
} // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#pragma GCC diagnostic pop
#endif // SMOOTHLAB_LOSS_X86

namespace {

// Gradients at least this large are written with non-temporal stores (they cannot stay in cache anyway).
std::atomic<int64_t>& stream_threshold() {
  static std::atomic<int64_t> bytes{int64_t(128) << 20};
  return bytes;
}

std::atomic<int>& isa_state() {
  // The path in use: active_isa() (core/cpu_isa.h: the CPU's best, capped by SMOOTHLAB_CPU_ISA), or what a test set.
  static std::atomic<int> isa{static_cast<int>(active_isa())};
  return isa;
}

// Rows per parallel task: about 16k logits, so small problems ([256, 10]) stay on one thread.
int64_t grain_rows(int64_t classes) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, classes));
}

template <typename T>
double to_double(T x) {
  return static_cast<double>(static_cast<float>(x));
}
template <>
double to_double<double>(double x) {
  return x;
}

// Scalar rows for any dtype and class stride; sums in double.
template <typename T, typename Acc>
void scalar_forward_rows(
    const FusedParams<Acc>& p,
    const T* logits,
    const T* soft_target,
    Acc* row_loss,
    Acc* lse,
    Acc* t_mass,
    int64_t begin,
    int64_t end) {
  const int64_t K = p.classes, S = p.inner;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t offset = row_offset(p, r);
    const T* z = logits + offset;
    Acc a = 0, b = 0;
    int64_t y = 0;
    if (!p.soft) {
      y = p.target[r];
      if (y == p.ignore_index) {
        row_loss[r] = 0;
        lse[2 * r] = 0;
        lse[2 * r + 1] = 0;
        continue;
      }
      hard_row_coefficients(p, y, a, b);
    }
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k)
      m = std::max(m, to_double(z[k * S]));
    double sum_exp = 0;
    RowSums<double> sums;
    for (int64_t k = 0; k < K; ++k) {
      const double d = m - to_double(z[k * S]);
      sum_exp += std::exp(-d);
      sums.gap_coef += (p.coef ? double(p.coef[k]) : 1.0) * d;
      if (p.soft) {
        const double wt = (p.weight ? double(p.weight[k]) : 1.0) * to_double(soft_target[offset + k * S]);
        sums.gap_t += wt * d;
        sums.t_mass += wt;
      }
    }
    sums.log_s = std::log(sum_exp);
    if (p.soft) {
      t_mass[r] = Acc(sums.t_mass);
    } else {
      sums.gap_y = m - to_double(z[y * S]);
    }
    row_loss[r] = Acc(finish_row_loss(p, sums, a, b));
    lse[2 * r] = Acc(m);
    lse[2 * r + 1] = Acc(sums.log_s);
  }
}

template <typename T, typename Acc>
void scalar_backward_rows(
    const FusedParams<Acc>& p,
    const T* logits,
    const T* soft_target,
    const Acc* lse,
    const Acc* t_mass,
    const Acc* grad_rows,
    Acc grad_scale,
    T* grad,
    int64_t begin,
    int64_t end) {
  const int64_t K = p.classes, S = p.inner;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t offset = row_offset(p, r);
    const T* z = logits + offset;
    T* g = grad + offset;
    const double scale = grad_rows ? double(grad_rows[r]) : double(grad_scale);
    const double m = double(lse[2 * r]), log_s = double(lse[2 * r + 1]);
    GradCoefficients<double> c;
    int64_t y = -1;
    if (p.soft) {
      c = soft_grad_coefficients(p, double(t_mass[r]), scale);
    } else {
      y = p.target[r];
      if (y == p.ignore_index) {
        for (int64_t k = 0; k < K; ++k)
          g[k * S] = T(0);
        continue;
      }
      c = hard_grad_coefficients(p, y, scale);
    }
    for (int64_t k = 0; k < K; ++k) {
      const double prob = std::exp((to_double(z[k * S]) - m) - log_s);
      const double v = p.coef ? double(p.coef[k]) : double(p.coef_const);
      const double w = p.weight ? double(p.weight[k]) : 1.0;
      const double t = p.soft ? to_double(soft_target[offset + k * S]) : 0.0;
      g[k * S] = T(grad_element(c, prob, v, w, t, p.soft, k == y));
    }
  }
}

template <typename Acc, typename Fn>
void dispatch_dtype(const torch::Tensor& logits, const Fn& fn) {
  switch (logits.scalar_type()) {
    case torch::kFloat:
      return fn(float{});
    case torch::kDouble:
      return fn(double{});
    case torch::kHalf:
      return fn(c10::Half{});
    case torch::kBFloat16:
      return fn(c10::BFloat16{});
    default:
      TORCH_CHECK(false, "fused label smoothing: unsupported dtype ", logits.scalar_type());
  }
}

template <typename Acc>
void forward_any(
    const FusedParams<Acc>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    Acc* row_loss,
    Acc* lse,
    Acc* t_mass) {
#ifdef SMOOTHLAB_LOSS_X86
  if constexpr (std::is_same_v<Acc, float>) {
    const Isa isa = static_cast<Isa>(isa_state().load());
    if (logits.scalar_type() == torch::kFloat && p.inner == 1 && isa != Isa::Scalar) {
      const float* z = logits.data_ptr<float>();
      const float* t = p.soft ? soft_target.data_ptr<float>() : nullptr;
      at::parallel_for(0, p.rows, grain_rows(p.classes), [&](int64_t begin, int64_t end) {
        if (isa == Isa::Avx512) {
          avx512::forward_range(p, z, t, row_loss, lse, t_mass, begin, end);
        } else {
          avx2::forward_range(p, z, t, row_loss, lse, t_mass, begin, end);
        }
      });
      return;
    }
  }
#endif
  dispatch_dtype<Acc>(logits, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, double> != std::is_same_v<Acc, double>) {
      TORCH_CHECK(false, "fused label smoothing: accumulation type does not match ", logits.scalar_type());
    } else {
      const T* z = logits.data_ptr<T>();
      const T* t = p.soft ? soft_target.data_ptr<T>() : nullptr;
      at::parallel_for(0, p.rows, grain_rows(p.classes), [&](int64_t begin, int64_t end) {
        scalar_forward_rows<T, Acc>(p, z, t, row_loss, lse, t_mass, begin, end);
      });
    }
  });
}

template <typename Acc>
void backward_any(
    const FusedParams<Acc>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const Acc* lse,
    const Acc* t_mass,
    const Acc* grad_rows,
    Acc grad_scale,
    torch::Tensor& grad) {
#ifdef SMOOTHLAB_LOSS_X86
  if constexpr (std::is_same_v<Acc, float>) {
    const Isa isa = static_cast<Isa>(isa_state().load());
    if (logits.scalar_type() == torch::kFloat && p.inner == 1 && isa != Isa::Scalar) {
      const float* z = logits.data_ptr<float>();
      const float* t = p.soft ? soft_target.data_ptr<float>() : nullptr;
      float* g = grad.data_ptr<float>();
      const int64_t stream_bytes = stream_threshold().load();
      at::parallel_for(0, p.rows, grain_rows(p.classes), [&](int64_t begin, int64_t end) {
        if (isa == Isa::Avx512) {
          avx512::backward_range(p, z, t, lse, t_mass, grad_rows, grad_scale, g, begin, end, stream_bytes);
        } else {
          avx2::backward_range(p, z, t, lse, t_mass, grad_rows, grad_scale, g, begin, end, stream_bytes);
        }
      });
      return;
    }
  }
#endif
  dispatch_dtype<Acc>(logits, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, double> != std::is_same_v<Acc, double>) {
      TORCH_CHECK(false, "fused label smoothing: accumulation type does not match ", logits.scalar_type());
    } else {
      const T* z = logits.data_ptr<T>();
      const T* t = p.soft ? soft_target.data_ptr<T>() : nullptr;
      T* g = grad.data_ptr<T>();
      at::parallel_for(0, p.rows, grain_rows(p.classes), [&](int64_t begin, int64_t end) {
        scalar_backward_rows<T, Acc>(p, z, t, lse, t_mass, grad_rows, grad_scale, g, begin, end);
      });
    }
  });
}

} // namespace

void fused_forward_cpu(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    float* row_loss,
    float* lse,
    float* t_mass) {
  forward_any(p, logits, soft_target, row_loss, lse, t_mass);
}
void fused_forward_cpu(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    double* row_loss,
    double* lse,
    double* t_mass) {
  forward_any(p, logits, soft_target, row_loss, lse, t_mass);
}
void fused_backward_cpu(
    const FusedParams<float>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const float* lse,
    const float* t_mass,
    const float* grad_rows,
    float grad_scale,
    torch::Tensor& grad) {
  backward_any(p, logits, soft_target, lse, t_mass, grad_rows, grad_scale, grad);
}
void fused_backward_cpu(
    const FusedParams<double>& p,
    const torch::Tensor& logits,
    const torch::Tensor& soft_target,
    const double* lse,
    const double* t_mass,
    const double* grad_rows,
    double grad_scale,
    torch::Tensor& grad) {
  backward_any(p, logits, soft_target, lse, t_mass, grad_rows, grad_scale, grad);
}

const char* fused_cpu_isa() {
  return isa_name(static_cast<Isa>(isa_state().load()));
}

namespace test_only {

int64_t set_fused_stream_threshold(int64_t bytes) {
  return stream_threshold().exchange(bytes);
}

bool set_fused_cpu_isa(const std::string& name) {
  const auto want = name == "best" ? std::optional<Isa>(active_isa()) : parse_isa(name);
  if (!want || !(*want <= best_isa()))
    return false;
  isa_state().store(static_cast<int>(*want));
  return true;
}

} // namespace test_only

} // namespace smoothlab::loss::detail
