// One interface for every post-hoc calibrator (issue 28): fit on held-out (logits, labels), apply to logits giving
// calibrated log-probabilities, save/load as JSON, and report whether the fit converged.
//
// Methods, by registry name (make_calibrator):
//   temperature  softmax(z/T)                                   (calib/temperature.h; Guo et al. 2017 §4.2)
//   vector       softmax(a ⊙ z + b), a, b ∈ R^K                 (calib/vector_scaling.h; Guo et al. §4.2)
//   matrix       softmax(W z + b) with ODIR                      (calib/dirichlet.h; Kull et al. 2019 §3)
//   dirichlet    softmax(W log p + b) with ODIR, p = softmax(z)  (calib/dirichlet.h; Kull et al. 2019 §3)
//   ets          w₀ softmax(z/T) + w₁ softmax(z) + w₂/K          (calib/ensemble_temperature.h; Zhang et al. 2020 §3)
//   histogram    top-label histogram binning, re-normalised      (calib/histogram_binning.h; Gupta & Ramdas 2022)
//   isotonic     top-label isotonic regression, re-normalised    (calib/isotonic.h; Zadrozny & Elkan 2002)
//   spline       spline recalibration of the top-label confidence (calib/spline.h; Gupta et al. 2021)
// Every fit is either exact (histogram, isotonic, spline) or an iterative solve that stops at a stated tolerance and
// says whether it reached it (FitReport::converged).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace smoothlab::calib {

struct FitReport {
  bool converged = false; // the stopping rule below was met (exact fits: always true)
  bool exact = false; // a closed-form / finite algorithm, no tolerance involved
  int64_t iterations = 0; // solver iterations (objective evaluations for L-BFGS)
  double tolerance = 0; // the stopping rule's threshold (0 for exact fits)
  double gradient_norm = 0; // max |∂objective/∂θ| at the returned parameters (iterative fits)
  double objective_before = 0, objective_after = 0; // mean NLL (+ regulariser) at the start and at the end
  int64_t count = 0; // examples fitted on
};

nlohmann::json to_json(const FitReport& report);
FitReport fit_report_from_json(const nlohmann::json& j);

class Calibrator {
 public:
  virtual ~Calibrator() = default;

  // The registry name ("temperature", "vector", ...).
  virtual std::string name() const = 0;

  // logits: [N, K] float logits; labels: [N] integer in [0, K). Checks both (inputs.h: K ≥ 2, finite, labels in
  // range), fits, remembers K and returns the fit's report (also kept: report()).
  FitReport fit(const torch::Tensor& logits, const torch::Tensor& labels);

  // Calibrated log-probabilities [N, K] float64 of logits [N, K] (K as fitted). Throws Error when not fitted, or on
  // another K, NaN/Inf or a bad shape. Rows are normalised: logsumexp_k = 0 (to rounding).
  torch::Tensor log_probs(const torch::Tensor& logits) const;

  // {"method", "classes", "fit": FitReport, "parameters": {...}}; the inverse is load_calibrator.
  nlohmann::json state() const;
  // Restores parameters from state()'s "parameters" for `classes` classes; throws Error on a wrong shape.
  void load_parameters(const nlohmann::json& parameters, int64_t classes);

  int64_t classes() const {
    return classes_;
  }
  bool fitted() const {
    return classes_ > 0;
  }
  const FitReport& report() const {
    return report_;
  }

 protected:
  // Implementations: inputs are checked, contiguous CPU, float64 (float32 logits stay float32 where takes_float32());
  // labels int64.
  virtual FitReport fit_impl(const torch::Tensor& logits, const torch::Tensor& labels) = 0;
  virtual torch::Tensor log_probs_impl(const torch::Tensor& logits) const = 0;
  virtual nlohmann::json parameters() const = 0;
  virtual void set_parameters(const nlohmann::json& parameters, int64_t classes) = 0;
  // Whether fit_impl / log_probs_impl take float32 logits as they are (converting a block of rows at a time)
  // instead of a float64 copy of the whole [N, K].
  virtual bool takes_float32() const {
    return false;
  }

 private:
  torch::Tensor prepared(const torch::Tensor& logits) const;
  int64_t classes_ = 0;
  FitReport report_;
};

// Options of every method, by field; each method reads its own. Defaults follow the papers.
struct CalibratorOptions {
  double tolerance = 1e-6; // L-BFGS: stop when max |gradient| ≤ tolerance
  int64_t max_iterations = 500; // L-BFGS objective evaluations
  double odir_lambda = 1e-3; // matrix / dirichlet: λ of the off-diagonal penalty
  double odir_mu = 1e-3; // matrix / dirichlet: μ of the bias penalty
  int64_t bins = 15; // histogram: equal-mass bins of the top-label confidence
  int64_t spline_knots = 6; // spline: equally spaced knots of the natural cubic spline (Gupta et al.'s setting)

  // Throws Error naming the option for a value out of range (make_calibrator calls it).
  void validate() const;
};

// The registry: "temperature", "vector", "matrix", "dirichlet", "ets", "histogram", "isotonic", "spline". An unknown
// name throws Error listing the known ones.
std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const CalibratorOptions& options = {});
std::vector<std::string> calibrator_names();

// A saved calibrator (state()) back as an object; throws Error naming `source` (a file) on a bad or foreign file.
std::unique_ptr<Calibrator> load_calibrator(const nlohmann::json& state, const std::string& source = "calibrator");

namespace detail {
// Top-label re-normalisation (Gupta & Ramdas 2022, §2): the top class (argmax of log_p, lowest index on ties) gets
// probability c ∈ [0, 1], the others share 1 − c in proportion to their probabilities (uniformly when they are all 0).
// log_p: [N, K] float64 log-probabilities; c: [N] float64. Returns log-probabilities [N, K].
torch::Tensor renormalise_top_label(const torch::Tensor& log_p, const torch::Tensor& c);
// The same for `rows` rows of raw row-major [rows, K] arrays, written to out (on the calling thread). x: the rows'
// log-probabilities or any logits of them (log-probabilities up to a constant per row); top, rest: their top-label
// pass (kernels.h: top_label_rows). The others' log-sum-exp is x_top + log rest, or, where rest is below 1e-250 (terms
// lost to underflow may matter), computed from x shifted by the others' maximum.
template <typename T> // float or double
void renormalise_top_label_rows(
    const T* x,
    const int64_t* top,
    const double* rest,
    const double* c,
    int64_t rows,
    int64_t k,
    double* out);
// A tensor's values as a flat list (for state()), and back with a checked count and finite values.
std::vector<double> to_vector(const torch::Tensor& t);
torch::Tensor tensor_from_json(const nlohmann::json& j, const char* key, std::vector<int64_t> shape);
} // namespace detail

} // namespace smoothlab::calib
