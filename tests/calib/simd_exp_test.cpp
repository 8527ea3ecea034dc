// The shared vectorised exp (core/simd_exp.h) used by the calibration row kernels and the fused loss: each variant
// (scalar twin, AVX2, AVX-512; one test instance per variant, Calib/SimdExp.*/<variant>, skipped with a message where
// this CPU lacks it) against std::exp in double, its edge cases, and the vector variants bit for bit against the
// scalar twin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "smoothlab/calib/kernels.h"
#include "smoothlab/core/simd_exp.h"

namespace smoothlab::testing {
namespace {

#ifdef SMOOTHLAB_SIMD_X86
__attribute__((target("avx512f,avx2,fma"))) void exp_avx512_n(const float* x, float* out, int64_t n) {
  simd::avx512::exp_n(x, out, n);
}
__attribute__((target("avx2,fma"))) void exp_avx2_n(const float* x, float* out, int64_t n) {
  simd::avx2::exp_n(x, out, n);
}
__attribute__((target("avx2,fma"))) void exp_nonpositive_avx2_n(const double* x, double* out, int64_t n) {
  for (int64_t i = 0; i + 4 <= n; i += 4)
    _mm256_storeu_pd(out + i, simd::avx2::exp_nonpositive(_mm256_loadu_pd(x + i)));
}
#endif

class SimdExp : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& v = GetParam();
#ifdef SMOOTHLAB_SIMD_X86
    if (v == "avx512" && !simd::cpu_has_avx512f())
      GTEST_SKIP() << "this CPU has no AVX-512";
    if (v == "avx2" && !simd::cpu_has_avx2_fma())
      GTEST_SKIP() << "this CPU has no AVX2+FMA";
#else
    if (v != "scalar")
      GTEST_SKIP() << "not an x86-64 build: only the scalar twin exists";
#endif
  }
  // The parameter's variant over n values.
  void exp_n(const float* x, float* out, int64_t n) const {
    const std::string& v = GetParam();
#ifdef SMOOTHLAB_SIMD_X86
    if (v == "avx512")
      return exp_avx512_n(x, out, n);
    if (v == "avx2")
      return exp_avx2_n(x, out, n);
#endif
    simd::exp_scalar_n(x, out, n);
  }
};

INSTANTIATE_TEST_SUITE_P(
    Calib,
    SimdExp,
    ::testing::Values(std::string("scalar"), std::string("avx2"), std::string("avx512")),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST_P(SimdExp, AccurateAndBitIdenticalToTheScalarTwin) {
  // Every 997th float in [−100, 100] (≈ 2.3e6 values: every exponent, many mantissas), n not a multiple of 16 so
  // the tails run too.
  std::vector<float> x;
  const float lo = -100.0f, hi = 100.0f;
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 997) {
    const uint32_t b = uint32_t(bits);
    float f;
    std::memcpy(&f, &b, sizeof f);
    if (f >= lo && f <= hi)
      x.push_back(f);
  }
  while (x.size() % 16 != 7)
    x.pop_back();
  std::vector<float> out(x.size());
  exp_n(x.data(), out.data(), int64_t(x.size()));
  double worst = 0;
  int64_t differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float twin = simd::exp_scalar(x[i]);
    if (std::memcmp(&twin, &out[i], sizeof twin) != 0 && differ++ < 5) {
      ADD_FAILURE() << "exp(" << x[i] << "): " << GetParam() << " gives " << out[i] << ", the scalar twin " << twin;
    }
    if (x[i] < simd::exp_constants::kLo) {
      EXPECT_EQ(out[i], 0.0f) << x[i];
    } else if (x[i] >= -87.3f && x[i] <= 88.0f) { // (below −87.3 the result nears the subnormals)
      const double want = std::exp(double(x[i]));
      worst = std::max(worst, std::abs(double(out[i]) - want) / want);
    } else if (x[i] > 88.0f) {
      EXPECT_EQ(out[i], simd::exp_scalar(88.0f)) << x[i];
    }
  }
  EXPECT_EQ(differ, 0);
  EXPECT_LT(worst, 3e-7);
}

TEST_P(SimdExp, EdgeCases) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {
      0.0f,
      -0.0f,
      1.0f,
      -1.0f,
      nan,
      inf,
      -inf,
      88.0f,
      89.0f,
      -87.0f,
      -87.33f,
      -87.34f,
      -88.0f,
      -1e30f,
      1e30f,
      std::log(2.0f),
      1e-30f};
  std::vector<float> out(x.size());
  exp_n(x.data(), out.data(), int64_t(x.size()));
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_NEAR(out[2] / std::exp(1.0), 1.0, 3e-7);
  EXPECT_NEAR(out[3] / std::exp(-1.0), 1.0, 3e-7);
  EXPECT_TRUE(std::isnan(out[4]));
  EXPECT_EQ(out[5], out[7]); // +inf is taken as 88
  EXPECT_EQ(out[6], 0.0f);
  EXPECT_NEAR(out[7] / std::exp(88.0), 1.0, 3e-7);
  EXPECT_EQ(out[8], out[7]);
  EXPECT_NEAR(out[9] / std::exp(-87.0), 1.0, 3e-7);
  EXPECT_GT(out[10], 0.0f); // just above ln(FLT_MIN)
  EXPECT_EQ(out[11], 0.0f); // just below
  EXPECT_EQ(out[12], 0.0f);
  EXPECT_EQ(out[13], 0.0f);
  EXPECT_EQ(out[14], out[7]);
  EXPECT_NEAR(out[15], 2.0f, 5e-7);
  EXPECT_EQ(out[16], 1.0f);
}

TEST(CalibKernels, FastExpIsTheSharedExp) {
  // calib::detail::fast_exp / fast_exp_n are the row kernels' exp: the shared one, bit for bit.
  std::vector<float> x;
  for (float v = -90.0f; v <= 90.0f; v += 0.37f)
    x.push_back(v);
  std::vector<float> out(x.size());
  calib::detail::fast_exp_n(x.data(), out.data(), int64_t(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(out[i], simd::exp_scalar(x[i])) << x[i];
    EXPECT_EQ(calib::detail::fast_exp(x[i]), simd::exp_scalar(x[i])) << x[i];
  }
}

// The float64 exp of x ≤ 0 (the top-label pass): the scalar twin against std::exp over [−708, 0] (every 2^−12 of
// the way and a sweep of tiny |x|), 0 below −708, for −∞ and NaN; and the AVX2 variant bit for bit against the twin.
TEST(CalibSimdExp, NonpositiveDoubleExpIsAccurateAndItsVariantsAgree) {
  std::vector<double> x;
  for (double v = 0; v >= -708.0; v -= 1.0 / 4096)
    x.push_back(v);
  for (double v = -1e-300; v > -1.0; v *= 1.7)
    x.push_back(v);
  x.push_back(std::nextafter(-708.0, 0.0));
  double worst = 0;
  for (double v : x) {
    const double want = std::exp(v);
    worst = std::max(worst, std::abs(simd::exp_nonpositive_scalar(v) - want) / want);
  }
  EXPECT_LT(worst, 4e-16);
  EXPECT_EQ(simd::exp_nonpositive_scalar(0.0), 1.0);
  EXPECT_EQ(simd::exp_nonpositive_scalar(-708.5), 0.0);
  EXPECT_EQ(simd::exp_nonpositive_scalar(-1e300), 0.0);
  EXPECT_EQ(simd::exp_nonpositive_scalar(-std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_EQ(simd::exp_nonpositive_scalar(std::numeric_limits<double>::quiet_NaN()), 0.0);
#ifdef SMOOTHLAB_SIMD_X86
  if (!simd::cpu_has_avx2_fma())
    GTEST_SKIP() << "this CPU has no AVX2+FMA: the twin alone was checked";
  x.push_back(-708.5);
  x.push_back(-std::numeric_limits<double>::infinity());
  x.push_back(std::numeric_limits<double>::quiet_NaN());
  while (x.size() % 4 != 0)
    x.push_back(-1.0);
  std::vector<double> out(x.size());
  exp_nonpositive_avx2_n(x.data(), out.data(), int64_t(x.size()));
  int64_t differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double twin = simd::exp_nonpositive_scalar(x[i]);
    if (std::memcmp(&twin, &out[i], sizeof twin) != 0 && differ++ < 5)
      ADD_FAILURE() << "exp(" << x[i] << "): AVX2 gives " << out[i] << ", the scalar twin " << twin;
  }
  EXPECT_EQ(differ, 0);
#endif
}

} // namespace
} // namespace smoothlab::testing
