// The one vectorised float32 exp of the CPU kernels (loss/fused_kernel_cpu.cpp, calib/kernels.cpp): Cephes' expf,
// exp(x) = 2^n·exp(r) with n = round(x·log2 e) and r = x − n·ln 2 (Cody–Waite: ln 2 split in two), exp(r) by a
// degree-7 polynomial. Three variants doing the same operations with the same rounding (fused multiply-adds,
// round-to-nearest-even), hence bit-identical results: avx512::exp (16 lanes), avx2::exp (8 lanes, AVX2 + FMA) and
// the scalar twin exp_scalar (tails, CPUs without AVX2, tests).
//
// Relative error ≤ 3e−7 (≈ 2 ulp) for x ∈ [−87.3, 88]; x below ln(FLT_MIN) ≈ −87.34 gives exactly 0, x above 88 is
// taken as 88 (≈ 1.65e38), NaN stays NaN.
//
// The vector variants are compiled inside `#pragma GCC target` regions (clang: `#pragma clang attribute`), so this
// header needs no -mavx2/-mavx512f; call them only from code compiled for that target (a function inside such a region
// or with that target attribute) after checking the CPU with cpu_has_avx2_fma() / cpu_has_avx512f().
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SMOOTHLAB_SIMD_X86 1
#include <immintrin.h>
#endif

namespace smoothlab::simd {

namespace exp_constants {
constexpr float kLo = -87.33654475f; // ln(FLT_MIN): below it exp is 0
constexpr float kHi = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f; // kLn2Hi + kLn2Lo = ln 2, kLn2Hi exact in 9 bits
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
} // namespace exp_constants

// The scalar twin: the operations of the vector variants one lane at a time.
inline float exp_scalar(float x) {
  using namespace exp_constants;
  if (std::isnan(x))
    return x;
  if (x < kLo)
    return 0.0f;
  const float xc = x > kHi ? kHi : x;
  const float fx = std::nearbyint(xc * kLog2e); // round to nearest even, as _mm*_round(scale)_ps
  float r = std::fma(-fx, kLn2Hi, xc);
  r = std::fma(-fx, kLn2Lo, r);
  float y = std::fma(kP0, r, kP1);
  y = std::fma(y, r, kP2);
  y = std::fma(y, r, kP3);
  y = std::fma(y, r, kP4);
  y = std::fma(y, r, kP5);
  y = std::fma(y, r * r, r + 1.0f);
  const uint32_t bits = uint32_t(int32_t(fx) + 127) << 23; // 2^fx, fx ∈ [−126, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline void exp_scalar_n(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = exp_scalar(x[i]);
}

#ifdef SMOOTHLAB_SIMD_X86

inline bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
inline bool cpu_has_avx512f() {
  __builtin_cpu_init();
  return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
}

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized through _mm512_undefined_ps().
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
inline __m512 exp(__m512 x) {
  using namespace exp_constants;
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kLo), _CMP_NLT_UQ); // x ≥ lo or NaN
  const __m512 xc = _mm512_min_ps(_mm512_set1_ps(kHi), _mm512_max_ps(_mm512_set1_ps(kLo), x));
  const __m512 fx =
      _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), r);
  __m512 y = _mm512_fmadd_ps(_mm512_set1_ps(kP0), r, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(y, fx));
}
inline void exp_n(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, exp(_mm512_loadu_ps(x + i)));
  for (; i < n; ++i)
    out[i] = exp_scalar(x[i]);
}
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
inline __m256 exp(__m256 x) {
  using namespace exp_constants;
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(kLo), _CMP_NLT_UQ); // x ≥ lo or NaN
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(kHi), _mm256_max_ps(_mm256_set1_ps(kLo), x));
  const __m256 fx =
      _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Lo), r);
  __m256 y = _mm256_fmadd_ps(_mm256_set1_ps(kP0), r, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(n)), keep);
}
inline void exp_n(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, exp(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i)
    out[i] = exp_scalar(x[i]);
}
} // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#pragma GCC diagnostic pop

#else // not x86-64 GCC/clang: only the scalar twin

inline bool cpu_has_avx2_fma() {
  return false;
}
inline bool cpu_has_avx512f() {
  return false;
}

#endif // SMOOTHLAB_SIMD_X86

} // namespace smoothlab::simd
