// The vectorised exps of the CPU kernels, each with a bit-identical scalar twin.
//
// float32 (loss/fused_kernel_cpu.cpp, the metrics and temperature passes of calib/kernels.cpp): Cephes' expf,
// exp(x) = 2^n·exp(r) with n = round(x·log2 e) and r = x − n·ln 2 (Cody–Waite: ln 2 split in two), exp(r) by a
// degree-7 polynomial. Three variants doing the same operations with the same rounding (fused multiply-adds,
// round-to-nearest-even), hence bit-identical results: avx512::exp (16 lanes), avx2::exp (8 lanes, AVX2 + FMA) and
// the scalar twin exp_scalar (tails, CPUs without AVX2, tests).
//
// Relative error ≤ 3e−7 (≈ 2 ulp) for x ∈ [−87.3, 88]; x below ln(FLT_MIN) ≈ −87.34 gives exactly 0, x above 88 is
// taken as 88 (≈ 1.65e38), NaN stays NaN.
//
// float64, for x ≤ 0 only (calib/kernels.cpp's top-label rows, Σ_j exp(z_j − max z) in double precision): Cephes'
// exp, exp(x) = 2^n·exp(r) with n = round(x·log2 e), r = x − n·ln 2 (Cody–Waite), exp(r) = 1 + 2r·P(r²)/(Q(r²) −
// r·P(r²)) (a Padé form); relative error < 4e−16 (under 2 ulp; the tests measure 3.1e−16 against std::exp). x below
// −708 gives exactly 0 (so does −∞): the 2^n stays a normal number. avx2::exp_nonpositive (4 lanes) and the scalar twin
// exp_nonpositive_scalar do the same operations (every multiply-add an explicit fused one, so the compiler cannot
// contract differently in the two).
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

namespace exp_nonpositive_constants {
constexpr double kLo = -708.0; // below it exp is taken as 0
constexpr double kLog2e = 1.4426950408889634073599;
constexpr double kLn2Hi = 6.93145751953125e-1, kLn2Lo = 1.42860682030941723212e-6; // kLn2Hi + kLn2Lo = ln 2
constexpr double kP0 = 1.26177193074810590878e-4, kP1 = 3.02994407707441961300e-2, kP2 = 9.99999999999999999910e-1;
constexpr double kQ0 = 3.00198505138664455042e-6, kQ1 = 2.52448340349684104192e-3, kQ2 = 2.27265548208155028766e-1,
                 kQ3 = 2.00000000000000000009e0;
} // namespace exp_nonpositive_constants

// The float64 scalar twin (x ≤ 0; NaN gives 0, as the vector variant).
inline double exp_nonpositive_scalar(double x) {
  using namespace exp_nonpositive_constants;
  if (!(x >= kLo))
    return 0.0;
  const double fx = std::nearbyint(x * kLog2e);
  double r = std::fma(-fx, kLn2Hi, x);
  r = std::fma(-fx, kLn2Lo, r);
  const double rr = r * r;
  const double p = std::fma(std::fma(kP0, rr, kP1), rr, kP2);
  const double q = std::fma(std::fma(std::fma(kQ0, rr, kQ1), rr, kQ2), rr, kQ3);
  const double y = std::fma(2.0, (r * p) / std::fma(-r, p, q), 1.0);
  const uint64_t bits = uint64_t(int64_t(fx) + 1023) << 52; // 2^fx, fx ∈ [−1022, 0]
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

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
// 4 lanes of exp_nonpositive_scalar.
inline __m256d exp_nonpositive(__m256d x) {
  using namespace exp_nonpositive_constants;
  const __m256d keep = _mm256_cmp_pd(x, _mm256_set1_pd(kLo), _CMP_GE_OQ); // x ≥ lo (not NaN)
  const __m256d xc = _mm256_max_pd(_mm256_set1_pd(kLo), x); // −∞ and NaN → lo: finite arithmetic below
  const __m256d fx =
      _mm256_round_pd(_mm256_mul_pd(xc, _mm256_set1_pd(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(fx, _mm256_set1_pd(kLn2Hi), xc);
  r = _mm256_fnmadd_pd(fx, _mm256_set1_pd(kLn2Lo), r);
  const __m256d rr = _mm256_mul_pd(r, r);
  const __m256d p =
      _mm256_fmadd_pd(_mm256_fmadd_pd(_mm256_set1_pd(kP0), rr, _mm256_set1_pd(kP1)), rr, _mm256_set1_pd(kP2));
  const __m256d q = _mm256_fmadd_pd(
      _mm256_fmadd_pd(_mm256_fmadd_pd(_mm256_set1_pd(kQ0), rr, _mm256_set1_pd(kQ1)), rr, _mm256_set1_pd(kQ2)),
      rr,
      _mm256_set1_pd(kQ3));
  const __m256d y = _mm256_fmadd_pd(
      _mm256_set1_pd(2.0), _mm256_div_pd(_mm256_mul_pd(r, p), _mm256_fnmadd_pd(r, p, q)), _mm256_set1_pd(1.0));
  const __m256i n =
      _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(fx)), _mm256_set1_epi64x(1023)), 52);
  return _mm256_and_pd(_mm256_mul_pd(y, _mm256_castsi256_pd(n)), keep);
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
