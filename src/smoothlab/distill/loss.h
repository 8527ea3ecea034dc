// Knowledge-distillation loss ([H] §2, [M] §4): a hard-label term and a teacher term.
//
//   p_t = softmax(z_t / T)                     teacher, softened at temperature T (always; detached)
//   p_s = softmax(z_s / T_s)                   student, T_s = T when soften_student, else 1
//   soft_i = Σ_k −p_t,k · log p_s,k            SoftTerm::CrossEntropy  H(p_t, p_s)
//          = Σ_k  p_t,k · log(p_t,k / p_s,k)   SoftTerm::KL            KL(p_t ‖ p_s) = H(p_t, p_s) − H(p_t)
//   hard_i = label-smoothed CE(y_i, softmax(z_s)) with ε = smoothing    (loss/label_smoothing.h; student at T = 1)
//   loss_i = (1 − β)·hard_i + β·s·soft_i,      s = T² when t_squared, else 1
//
//   ∂soft_i/∂z_s = (p_s − p_t) / T_s  (both soft terms; the KL only drops a constant). For large T and
//   zero-mean logits Hinton's form gives (z_s − z_t)/(K·T²) — the T² factor keeps it comparable across T.
//
// Two named forms (both are this one function):
//   DistillationOptions::paper(T)        [M] §4, the DEFAULT: β = 1, student at temperature 1, no T², cross-entropy
//                                         with the teacher's softened targets: loss = H(softmax(z_t/T), softmax(z_s)).
//   DistillationOptions::hinton(T, β)    [H]: student at T, T² scaling, KL soft term; β = 1 − α of the usual α·CE.
//
// Reductions follow PyTorch: None → [N] per-sample losses; Sum → Σ_i loss_i; Mean → (1/N)·Σ_i loss_i, where each
// per-sample loss already sums over the K classes. This is F.kl_div's reduction='batchmean'; KD code that uses
// reduction='mean' on the [N, K] elementwise KL divides by N·K instead and silently shrinks the teacher term by K.
#pragma once

#include <string>

#include <torch/arg.h>
#include <torch/types.h>

#include "smoothlab/loss/label_smoothing.h"

namespace smoothlab::distill {

using loss::Reduction;

enum class SoftTerm { CrossEntropy, KL };

// The name a distillation run records for its loss form: Paper and Hinton are DistillationOptions::paper and
// ::hinton (what `smoothlab distill --form` builds); Custom names settings that follow neither (a record may carry it;
// --form does not build it).
enum class Form { Paper, Hinton, Custom };

struct DistillationOptions {
  // [M] §4 (the default): β = 1, student temperature 1, no T², cross-entropy soft term.
  static DistillationOptions paper(double temperature);
  // [H] §2: student at T, T² scaling, KL soft term, weight β on it.
  static DistillationOptions hinton(double temperature, double beta);
  // Throws Error naming the option (--temperature, --beta, --smoothing) for values out of range.
  void validate() const;

  TORCH_ARG(double, temperature) = 1.0; // T > 0
  TORCH_ARG(double, beta) = 1.0; // weight of the teacher term, in [0, 1]
  TORCH_ARG(bool, soften_student) = false; // student at T too ([H]); false: student at temperature 1 ([M])
  TORCH_ARG(bool, t_squared) = false; // multiply the teacher term by T² ([H])
  TORCH_ARG(SoftTerm, soft_term) = SoftTerm::CrossEntropy;
  TORCH_ARG(double, smoothing) = 0.0; // label smoothing ε of the hard term, in [0, 1] (loss::check_smoothing)
  TORCH_ARG(loss::Implementation, implementation) = loss::Implementation::Fused; // of the hard term
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

// student_logits: [N, K] float (gradients flow); teacher_logits: [N, K] (detached here: the teacher never gets a
// gradient); target: [N] int64 class indices (only read when β < 1). Computed in the student's dtype (float32 or
// float64). Returns a scalar, or [N] for Reduction::None. Throws Error for class-count or batch-size mismatches.
torch::Tensor distillation_loss(
    const torch::Tensor& student_logits,
    const torch::Tensor& teacher_logits,
    const torch::Tensor& target,
    const DistillationOptions& options = {});

const char* soft_term_name(SoftTerm term); // "ce" | "kl"
SoftTerm parse_soft_term(const std::string& name); // throws Error for others

const char* form_name(Form form); // "paper" | "hinton" | "custom"
// Throws Error "OPTION: unknown form 'NAME'" (hint: the known forms) for others.
Form parse_form(const std::string& name, const std::string& option = "--form");

} // namespace smoothlab::distill
