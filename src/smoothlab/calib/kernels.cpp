// Fused softmax row kernels for calibration metrics and the temperature fit (see kernels.h).
// The rows are written once with GCC vector extensions (8 float lanes) as templates over the exp of core/simd_exp.h
// (the one the fused loss uses); each block function is instantiated twice — with avx2::exp in a function compiled for
// AVX2+FMA, with the scalar twin exp_scalar in a baseline one — and the AVX2 variant is picked at run time where the
// CPU has it (the exps of the two are bit-identical; both sum in 8 lanes).
#include "smoothlab/calib/kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "smoothlab/core/cpu_isa.h"
#include "smoothlab/core/simd_exp.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace smoothlab::calib::detail {

namespace {

#define SMOOTHLAB_INLINE inline __attribute__((always_inline))

constexpr int kLanes = 8;
typedef float vf __attribute__((vector_size(32)));

SMOOTHLAB_INLINE vf splat(float v) {
  return vf{v, v, v, v, v, v, v, v};
}

SMOOTHLAB_INLINE vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

SMOOTHLAB_INLINE void store(float* p, const vf& v) {
  std::memcpy(p, &v, sizeof v);
}

// Loads the last r < 8 values of a row, padding with `pad`.
SMOOTHLAB_INLINE vf load_tail(const float* p, int64_t r, float pad) {
  float buf[kLanes];
  for (int i = 0; i < kLanes; ++i)
    buf[i] = i < r ? p[i] : pad;
  return load(buf);
}

SMOOTHLAB_INLINE vf tail_mask(int64_t r) {
  float buf[kLanes];
  for (int i = 0; i < kLanes; ++i)
    buf[i] = i < r ? 1.0f : 0.0f;
  return load(buf);
}

// The exp of 8 lanes, one policy per instruction set (core/simd_exp.h). ScalarExp runs anywhere; Avx2Exp only inside
// a function compiled for AVX2+FMA (the *_avx2 variants below, which inline everything they call).
// The same for 4 float64 lanes x ≤ 0 (core/simd_exp.h's exp_nonpositive).
typedef double vd __attribute__((vector_size(32)));
constexpr int kLanesD = 4;

struct ScalarExp {
  static SMOOTHLAB_INLINE vf exp(const vf& x) {
    vf out;
    for (int i = 0; i < kLanes; ++i)
      out[i] = simd::exp_scalar(x[i]);
    return out;
  }
  static SMOOTHLAB_INLINE vd exp_nonpositive(const vd& x) {
    vd out;
    for (int i = 0; i < kLanesD; ++i)
      out[i] = simd::exp_nonpositive_scalar(x[i]);
    return out;
  }
};
#ifdef SMOOTHLAB_SIMD_X86
struct Avx2Exp {
  __attribute__((target("avx2,fma"))) static inline vf exp(const vf& x) {
    return (vf)simd::avx2::exp((__m256)x);
  }
  __attribute__((target("avx2,fma"))) static inline vd exp_nonpositive(const vd& x) {
    return (vd)simd::avx2::exp_nonpositive((__m256d)x);
  }
};
#endif

SMOOTHLAB_INLINE float hsum(const vf& v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i)
    s += v[i];
  return s;
}

SMOOTHLAB_INLINE float row_max(const float* z, int64_t k) {
  vf m = splat(-FLT_MAX);
  int64_t j = 0;
  for (; j + kLanes <= k; j += kLanes) {
    const vf v = load(z + j);
    m = v > m ? v : m;
  }
  if (j < k) {
    const vf v = load_tail(z + j, k - j, -FLT_MAX);
    m = v > m ? v : m;
  }
  float best = m[0];
  for (int i = 1; i < kLanes; ++i)
    best = std::max(best, m[i]);
  return best;
}

// 4 values of a row as float64 lanes.
typedef float vf4 __attribute__((vector_size(16)));
SMOOTHLAB_INLINE vd load4(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SMOOTHLAB_INLINE vd load4(const float* p) {
  vf4 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, vd);
}

// The largest of x[0, k) (k ≥ 1, finite values), in vector lanes.
SMOOTHLAB_INLINE float row_max_of(const float* x, int64_t k) {
  return row_max(x, k);
}
SMOOTHLAB_INLINE double row_max_of(const double* x, int64_t k) {
  vd m = vd{x[0], x[0], x[0], x[0]};
  int64_t j = 0;
  for (; j + kLanesD <= k; j += kLanesD) {
    const vd v = load4(x + j);
    m = v > m ? v : m;
  }
  double best = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
  for (; j < k; ++j)
    best = std::max(best, x[j]);
  return best;
}

// The first index of the largest of x[0, k) (k ≥ 1, finite values).
template <typename T>
SMOOTHLAB_INLINE int64_t first_argmax(const T* x, int64_t k) {
  const T best = row_max_of(x, k);
  int64_t top = 0;
  while (top + 1 < k && x[top] != best)
    ++top;
  return top;
}

// acc + exp(x_j − top) for j ∈ [0, n) in 4 float64 lanes (x_j taken in float64; the last < 4 padded with −∞, whose exp
// is 0).
template <typename Exp, typename T>
SMOOTHLAB_INLINE vd add_exp_shifted(const T* x, int64_t n, double top, vd acc) {
  const vd vt = vd{top, top, top, top};
  int64_t j = 0;
  for (; j + kLanesD <= n; j += kLanesD)
    acc += Exp::exp_nonpositive(load4(x + j) - vt);
  if (j < n) {
    double buf[kLanesD];
    for (int i = 0; i < kLanesD; ++i)
      buf[i] = j + i < n ? double(x[j + i]) : -HUGE_VAL;
    acc += Exp::exp_nonpositive(vd{buf[0], buf[1], buf[2], buf[3]} - vt);
  }
  return acc;
}

template <typename Exp, typename T>
SMOOTHLAB_INLINE void top_label_rows_impl(const T* x, int64_t rows, int64_t k, int64_t* top, double* rest) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * k;
    const int64_t t = first_argmax(row, k);
    const double xt = double(row[t]);
    vd acc = vd{0, 0, 0, 0};
    acc = add_exp_shifted<Exp>(row, t, xt, acc); // the classes before the top one, then those after it
    acc = add_exp_shifted<Exp>(row + t + 1, k - t - 1, xt, acc);
    top[r] = t;
    rest[r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
}

constexpr int64_t kRowsPerBlock = 256;

template <typename Exp>
SMOOTHLAB_INLINE void nll_rows(
    const float* z,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    NllSums* out) {
  const vf vb = splat(beta);
  NllSums sums;
  for (int64_t i = row0; i < row1; ++i) {
    const double w = weights ? double(weights[i]) : 1.0;
    if (w == 0)
      continue;
    const float* row = z + i * k;
    const float m = row_max(row, k);
    const vf vm = splat(m);
    vf s = splat(0), a = splat(0), b = splat(0);
    int64_t j = 0;
    for (; j + kLanes <= k; j += kLanes) {
      const vf u = load(row + j) - vm;
      const vf e = Exp::exp(u * vb);
      s += e;
      a += e * u;
      b += e * u * u;
    }
    if (j < k) {
      const vf mask = tail_mask(k - j);
      const vf u = (load_tail(row + j, k - j, m) - vm);
      const vf e = Exp::exp(u * vb) * mask;
      s += e;
      a += e * u;
      b += e * u * u;
    }
    const double S = hsum(s), A = hsum(a), B = hsum(b);
    const double uy = double(row[labels[i]]) - double(m);
    const double mean_u = A / S;
    sums.nll += w * (std::log(S) - double(beta) * uy);
    sums.d1 += w * (mean_u - uy);
    sums.d2 += w * std::max(0.0, B / S - mean_u * mean_u);
  }
  *out = sums;
}

// Rows flushed from float to double class-wise accumulators every kFlushRows rows.
constexpr int64_t kFlushRows = 16;

template <typename Exp>
SMOOTHLAB_INLINE void metrics_rows_impl(
    const float* z,
    const int64_t* labels,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    const RowOutputs& out,
    ClasswiseHistogram* hist,
    float low_edge) {
  const vf vb = splat(beta);
  const int64_t m_bins = hist ? hist->bins : 0;
  std::vector<float> e(size_t(k + kLanes));
  std::vector<float> low_count, low_sum;
  if (hist) {
    low_count.assign(size_t(k + kLanes), 0.0f);
    low_sum.assign(size_t(k + kLanes), 0.0f);
  }
  auto flush = [&] {
    for (int64_t c = 0; c < k; ++c) {
      hist->count[size_t(c * m_bins)] += low_count[size_t(c)];
      hist->prob_sum[size_t(c * m_bins)] += low_sum[size_t(c)];
      low_count[size_t(c)] = 0;
      low_sum[size_t(c)] = 0;
    }
  };
  const vf vlow = splat(low_edge);
  for (int64_t i = row0; i < row1; ++i) {
    const float* row = z + i * k;
    const float m = row_max(row, k);
    int64_t argmax = 0;
    while (argmax + 1 < k && row[argmax] != m)
      ++argmax;
    const vf vm = splat(m);
    vf s = splat(0), s2 = splat(0);
    int64_t j = 0;
    for (; j + kLanes <= k; j += kLanes) {
      const vf ev = Exp::exp((load(row + j) - vm) * vb);
      store(e.data() + j, ev);
      s += ev;
      s2 += ev * ev;
    }
    if (j < k) {
      const vf ev = Exp::exp((load_tail(row + j, k - j, m) - vm) * vb) * tail_mask(k - j);
      store(e.data() + j, ev);
      s += ev;
      s2 += ev * ev;
    }
    const double S = hsum(s), S2 = hsum(s2);
    const int64_t y = labels[i];
    const double log_py = double(beta) * (double(row[y]) - double(m)) - std::log(S);
    const double py = std::exp(log_py);
    const double ey = double(e[size_t(y)]);
    out.confidence[i] = float(1.0 / S);
    out.prediction[i] = argmax;
    out.nll[i] = -log_py;
    out.brier[i] = std::max(0.0, (S2 - ey * ey) / (S * S)) + (1.0 - py) * (1.0 - py);
    if (!hist)
      continue;
    const vf inv = splat(float(1.0 / S));
    for (j = 0; j + kLanes <= k; j += kLanes) {
      const vf p = load(e.data() + j) * inv;
      const vf low = p <= vlow ? splat(1.0f) : splat(0.0f);
      store(low_count.data() + j, load(low_count.data() + j) + low);
      store(low_sum.data() + j, load(low_sum.data() + j) + low * p);
    }
    for (; j < k; ++j) {
      const float p = e[size_t(j)] * float(1.0 / S);
      if (p <= low_edge) {
        low_count[size_t(j)] += 1.0f;
        low_sum[size_t(j)] += p;
      }
    }
    for (int64_t c = 0; c < k; ++c) {
      const float p = e[size_t(c)] * float(1.0 / S);
      if (p > low_edge) {
        const int64_t b = equal_width_bin(double(p), m_bins);
        hist->count[size_t(c * m_bins + b)] += 1.0;
        hist->prob_sum[size_t(c * m_bins + b)] += double(p);
      }
    }
    hist->hits[size_t(y * m_bins + equal_width_bin(double(e[size_t(y)] * float(1.0 / S)), m_bins))] += 1.0;
    if ((i - row0) % kFlushRows == kFlushRows - 1)
      flush();
  }
  if (hist)
    flush();
}

SMOOTHLAB_INLINE void scan_rows(const float* x, int64_t n, ValueScan* out) {
  // x·0 is 0 for finite x and NaN for ±Inf and NaN, so the sum of x·0 is NaN iff a value is not finite.
  vf lo = splat(FLT_MAX), hi = splat(-FLT_MAX), bad = splat(0);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    const vf v = load(x + j);
    bad += v * 0.0f;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  ValueScan s;
  s.min = FLT_MAX;
  s.max = -FLT_MAX;
  for (int i = 0; i < kLanes; ++i) {
    s.finite = s.finite && bad[i] == 0.0f;
    s.min = std::min(s.min, lo[i]);
    s.max = std::max(s.max, hi[i]);
  }
  for (; j < n; ++j) {
    s.finite = s.finite && std::isfinite(x[j]);
    if (std::isfinite(x[j])) {
      s.min = std::min(s.min, x[j]);
      s.max = std::max(s.max, x[j]);
    }
  }
  *out = s;
}

// The two variants of each block function and the run-time choice between them. `flatten` inlines the row template
// and, inside it, the exp policy, so each variant is one function compiled for its instruction set.
__attribute__((flatten)) void nll_block_baseline(
    const float* z,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    NllSums* out) {
  nll_rows<ScalarExp>(z, labels, weights, row0, row1, k, beta, out);
}
__attribute__((flatten)) void metrics_block_baseline(
    const float* z,
    const int64_t* labels,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    const RowOutputs& out,
    ClasswiseHistogram* hist,
    float low_edge) {
  metrics_rows_impl<ScalarExp>(z, labels, row0, row1, k, beta, out, hist, low_edge);
}
__attribute__((flatten)) void scan_block_baseline(const float* x, int64_t n, ValueScan* out) {
  scan_rows(x, n, out);
}
template <typename T>
__attribute__((flatten)) void top_label_baseline(const T* x, int64_t rows, int64_t k, int64_t* top, double* rest) {
  top_label_rows_impl<ScalarExp>(x, rows, k, top, rest);
}

#ifdef SMOOTHLAB_SIMD_X86
__attribute__((target("avx2,fma"), flatten)) void nll_block_avx2(
    const float* z,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    NllSums* out) {
  nll_rows<Avx2Exp>(z, labels, weights, row0, row1, k, beta, out);
}
__attribute__((target("avx2,fma"), flatten)) void metrics_block_avx2(
    const float* z,
    const int64_t* labels,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    const RowOutputs& out,
    ClasswiseHistogram* hist,
    float low_edge) {
  metrics_rows_impl<Avx2Exp>(z, labels, row0, row1, k, beta, out, hist, low_edge);
}
__attribute__((target("avx2,fma"), flatten)) void scan_block_avx2(const float* x, int64_t n, ValueScan* out) {
  scan_rows(x, n, out);
}
template <typename T>
__attribute__((target("avx2,fma"), flatten)) void top_label_avx2(
    const T* x,
    int64_t rows,
    int64_t k,
    int64_t* top,
    double* rest) {
  top_label_rows_impl<Avx2Exp>(x, rows, k, top, rest);
}
#endif

// The AVX2 path unless the CPU lacks it or SMOOTHLAB_CPU_ISA caps it (core/cpu_isa.h; this file has no AVX-512 path).
bool use_avx2() {
  static const bool yes = Isa::Avx2 <= active_isa();
  return yes;
}

void nll_block(
    const float* z,
    const int64_t* labels,
    const uint32_t* weights,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    NllSums* out) {
#ifdef SMOOTHLAB_SIMD_X86
  if (use_avx2())
    return nll_block_avx2(z, labels, weights, row0, row1, k, beta, out);
#endif
  nll_block_baseline(z, labels, weights, row0, row1, k, beta, out);
}

void metrics_block(
    const float* z,
    const int64_t* labels,
    int64_t row0,
    int64_t row1,
    int64_t k,
    float beta,
    const RowOutputs& out,
    ClasswiseHistogram* hist,
    float low_edge) {
#ifdef SMOOTHLAB_SIMD_X86
  if (use_avx2())
    return metrics_block_avx2(z, labels, row0, row1, k, beta, out, hist, low_edge);
#endif
  metrics_block_baseline(z, labels, row0, row1, k, beta, out, hist, low_edge);
}

void scan_block(const float* x, int64_t n, ValueScan* out) {
#ifdef SMOOTHLAB_SIMD_X86
  if (use_avx2())
    return scan_block_avx2(x, n, out);
#endif
  scan_block_baseline(x, n, out);
}

template <typename T>
void top_label_block(const T* x, int64_t rows, int64_t k, int64_t* top, double* rest) {
#ifdef SMOOTHLAB_SIMD_X86
  if (use_avx2())
    return top_label_avx2(x, rows, k, top, rest);
#endif
  top_label_baseline(x, rows, k, top, rest);
}

} // namespace

void top_label_rows(const float* x, int64_t rows, int64_t k, int64_t* top, double* rest) {
  top_label_block(x, rows, k, top, rest);
}

void top_label_rows(const double* x, int64_t rows, int64_t k, int64_t* top, double* rest) {
  top_label_block(x, rows, k, top, rest);
}

const char* kernels_isa() {
  return use_avx2() ? "avx2" : "scalar";
}

ValueScan scan_values(const float* x, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<ValueScan> partial(static_cast<size_t>(chunks));
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      scan_block(x + c * kChunk, std::min(n, (c + 1) * kChunk) - c * kChunk, &partial[size_t(c)]);
  });
  ValueScan total;
  total.min = FLT_MAX;
  total.max = -FLT_MAX;
  for (const auto& p : partial) {
    total.finite = total.finite && p.finite;
    total.min = std::min(total.min, p.min);
    total.max = std::max(total.max, p.max);
  }
  if (n == 0)
    total.min = total.max = 0;
  return total;
}

float fast_exp(float x) {
  return simd::exp_scalar(x);
}

void fast_exp_n(const float* x, float* out, int64_t n) {
#ifdef SMOOTHLAB_SIMD_X86
  if (use_avx2())
    return simd::avx2::exp_n(x, out, n);
#endif
  simd::exp_scalar_n(x, out, n);
}

NllSums nll_sums(const float* z, const int64_t* labels, int64_t n, int64_t k, double beta, const uint32_t* weights) {
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<NllSums> partial(static_cast<size_t>(blocks));
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      nll_block(
          z,
          labels,
          weights,
          b * kRowsPerBlock,
          std::min(n, (b + 1) * kRowsPerBlock),
          k,
          float(beta),
          &partial[size_t(b)]);
  });
  NllSums total;
  for (const auto& p : partial) {
    total.nll += p.nll;
    total.d1 += p.d1;
    total.d2 += p.d2;
  }
  return total;
}

void ClasswiseHistogram::resize(int64_t k, int64_t m) {
  classes = k;
  bins = m;
  count.assign(size_t(k * m), 0.0);
  prob_sum.assign(size_t(k * m), 0.0);
  hits.assign(size_t(k * m), 0.0);
}

void ClasswiseHistogram::add(const ClasswiseHistogram& other) {
  for (size_t i = 0; i < count.size(); ++i) {
    count[i] += other.count[i];
    prob_sum[i] += other.prob_sum[i];
    hits[i] += other.hits[i];
  }
}

void metrics_rows(
    const float* z,
    const int64_t* labels,
    int64_t n,
    int64_t k,
    double beta,
    const RowOutputs& out,
    ClasswiseHistogram* classwise) {
  float low_edge = 0;
  if (classwise) {
    // The largest float p with (double)p ≤ 1/M: p ≤ low_edge ⟺ p lies in bin 0 under equal_width_bin.
    const double edge = 1.0 / double(classwise->bins);
    low_edge = float(edge);
    if (double(low_edge) > edge)
      low_edge = std::nextafter(low_edge, 0.0f);
  }
  if (!classwise) {
    at::parallel_for(0, n, kRowsPerBlock, [&](int64_t r0, int64_t r1) {
      metrics_block(z, labels, r0, r1, k, float(beta), out, nullptr, low_edge);
    });
    return;
  }
  // Class-wise sums: one histogram per fixed chunk of rows, added in chunk order, so the sums do not depend on how
  // at::parallel_for splits the rows between threads (the thread count). The chunk count depends only on N, K and M:
  // at most 32 chunks, and at most ~64 MB of partial histograms.
  const int64_t hist_bytes = std::max<int64_t>(1, classwise->classes * classwise->bins * 3 * int64_t(sizeof(double)));
  const int64_t max_chunks = std::clamp<int64_t>((int64_t(64) << 20) / hist_bytes, 1, 32);
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t chunk_rows = kRowsPerBlock * std::max<int64_t>(1, (blocks + max_chunks - 1) / max_chunks);
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<ClasswiseHistogram> partial(static_cast<size_t>(chunks));
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      auto& local = partial[size_t(c)];
      local.resize(classwise->classes, classwise->bins);
      metrics_block(
          z, labels, c * chunk_rows, std::min(n, (c + 1) * chunk_rows), k, float(beta), out, &local, low_edge);
    }
  });
  for (const auto& local : partial)
    classwise->add(local);
}

int64_t equal_width_bin(double p, int64_t bins) {
  if (!(p > 0))
    return 0;
  if (p >= 1)
    return bins - 1;
  // ceil(p·M) − 1 in exact arithmetic; p·M can round across an integer, so fix up against the edges b/M.
  int64_t b = int64_t(std::ceil(p * double(bins))) - 1;
  b = std::clamp<int64_t>(b, 0, bins - 1);
  while (b > 0 && p <= double(b) / double(bins))
    --b;
  while (b < bins - 1 && p > double(b + 1) / double(bins))
    ++b;
  return b;
}

} // namespace smoothlab::calib::detail
