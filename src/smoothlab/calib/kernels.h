// Internal row kernels shared by the calibration meter and the temperature fit: one fused pass over
// float32 logits [N, K] per call, parallel over rows (at::parallel_for, so torch::set_num_threads applies),
// with the vectorised exp of core/simd_exp.h (AVX2 variant picked at run time where the CPU has it, else its scalar
// twin).
//
// Per row i with u_ik = z_ik − max_k z_ik and inverse temperature β = 1/T:
//   S_i = Σ_k exp(β u_ik),  log p_iy = β u_iy − log S_i,  p̂_i = 1/S_i (the top class has u = 0)
//   NLL(β)   = mean_i [log S_i − β u_iy]
//   NLL'(β)  = mean_i [E_p[u_i] − u_iy]                   (E under p_i = softmax(β z_i))
//   NLL''(β) = mean_i [E_p[u_i²] − E_p[u_i]²] ≥ 0          (so NLL is convex in β = 1/T, [G] §4.2)
// Sums over k are taken in float32 lanes and combined per row in float64; row sums are combined in a fixed
// block order, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace smoothlab::calib::detail {

// The path the row kernels take: "avx2" or "scalar" (active_isa(), core/cpu_isa.h; they have no AVX-512 path).
const char* kernels_isa();

// exp(x) for float x ≤ 88 (x below ln(FLT_MIN) ≈ −87.34 gives 0); relative error ≤ 3e−7: core/simd_exp.h's scalar
// twin, bit-identical to the vectorised exp of the row kernels.
float fast_exp(float x);

// Applies the row kernels' exp to n values (vectorised), for tests and callers outside the row kernels.
void fast_exp_n(const float* x, float* out, int64_t n);

struct NllSums {
  double nll = 0, d1 = 0, d2 = 0; // sums over rows (divide by N for means)
};

// Sums of NLL, NLL' and NLL'' at inverse temperature beta. z: [N, K] row-major; labels in [0, K). weights: row i
// counts weights[i] times (a bootstrap resample's multiplicities; nullptr: once each).
NllSums nll_sums(
    const float* z,
    const int64_t* labels,
    int64_t n,
    int64_t k,
    double beta,
    const uint32_t* weights = nullptr);

// Per-row outputs of the metrics pass at inverse temperature beta.
struct RowOutputs {
  float* confidence; // [N] max_k p_ik
  int64_t* prediction; // [N] argmax_k z_ik (ties: lowest index)
  double* nll; // [N] −log p_iy
  double* brier; // [N] Σ_k (p_ik − [k = y_i])²
};

// Class-wise histograms over equal-width bins ((b−1)/M, b/M]: for class k and bin b,
// count[k·M + b] = #{i : p_ik ∈ bin b}, prob_sum = Σ p_ik over those, hits = #{those with y_i = k}.
struct ClasswiseHistogram {
  int64_t classes = 0, bins = 0;
  std::vector<double> count, prob_sum, hits;
  void resize(int64_t k, int64_t m);
  void add(const ClasswiseHistogram& other);
};

// The metrics pass: fills `out` for every row and, when classwise != nullptr, adds to its histogram
// (which must already be sized [K, M]).
void metrics_rows(
    const float* z,
    const int64_t* labels,
    int64_t n,
    int64_t k,
    double beta,
    const RowOutputs& out,
    ClasswiseHistogram* classwise);

// The top-label pass of the top-label calibrators (top_label.cpp), on `rows` rows of logits x [rows, K] (float32 or
// float64, taken in float64), on the calling thread. Per row: top = the first argmax, and the others' mass relative
// to the top class's, rest = Σ_{j≠top} exp(x_j − x_top) in float64 (core/simd_exp.h's exp_nonpositive, 4 lanes
// combined as (0 + 1) + (2 + 3); a term below e^−708 counts as 0). Then p̂ = 1/(1 + rest), and the others' log-sum-exp
// is x_top + log rest wherever rest is not tiny. The AVX2 variant and the scalar one give the same bits.
void top_label_rows(const float* x, int64_t rows, int64_t k, int64_t* top, double* rest);
void top_label_rows(const double* x, int64_t rows, int64_t k, int64_t* top, double* rest);

// One pass over n floats: whether all are finite, and their min and max (over the finite ones).
struct ValueScan {
  bool finite = true;
  float min = 0, max = 0;
};
ValueScan scan_values(const float* x, int64_t n);

// Equal-width bin of a confidence: b ∈ [0, M) with p ∈ ((b)/M, (b+1)/M] in exact terms, edges taken as
// the float64 value of b/M; p ≤ 0 goes to bin 0 and p ≥ 1 to bin M − 1.
int64_t equal_width_bin(double p, int64_t bins);

} // namespace smoothlab::calib::detail
