// Knowledge-distillation loss: hard label-smoothed term plus the teacher's softened targets (see loss.h).
#include "smoothlab/distill/loss.h"

#include <cmath>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::distill {

DistillationOptions DistillationOptions::paper(double temperature) {
  return DistillationOptions()
      .temperature(temperature)
      .beta(1.0)
      .soften_student(false)
      .t_squared(false)
      .soft_term(SoftTerm::CrossEntropy);
}

DistillationOptions DistillationOptions::hinton(double temperature, double beta) {
  return DistillationOptions()
      .temperature(temperature)
      .beta(beta)
      .soften_student(true)
      .t_squared(true)
      .soft_term(SoftTerm::KL);
}

void DistillationOptions::validate() const {
  if (!(temperature() > 0 && std::isfinite(temperature())))
    throw Error(
        fmt::format("--temperature must be positive, got {}", temperature()),
        "the paper distils at T in {1, 2, 3, 4, 8, 12, 16}; T = 1 uses the teacher's probabilities as they are");
  if (!(beta() >= 0 && beta() <= 1))
    throw Error(
        fmt::format("--beta must be in [0, 1], got {}", beta()),
        "β weighs the teacher term, 1 − β the hard labels; the paper uses β = 1");
  loss::check_smoothing(smoothing(), "--smoothing");
}

torch::Tensor distillation_loss(
    const torch::Tensor& student_logits,
    const torch::Tensor& teacher_logits,
    const torch::Tensor& target,
    const DistillationOptions& options) {
  options.validate();
  check(
      student_logits.dim() == 2,
      "distillation: student logits must be [N, K], got {} dimensions",
      student_logits.dim());
  check(
      teacher_logits.dim() == 2,
      "distillation: teacher logits must be [N, K], got {} dimensions",
      teacher_logits.dim());
  if (teacher_logits.size(1) != student_logits.size(1))
    throw Error(
        fmt::format(
            "distillation: the teacher has {} classes but the student has {}",
            teacher_logits.size(1),
            student_logits.size(1)),
        "teacher and student must be trained on the same classes");
  check(
      teacher_logits.size(0) == student_logits.size(0),
      "distillation: teacher logits have {} rows but student logits have {}",
      teacher_logits.size(0),
      student_logits.size(0));
  const double T = options.temperature(), beta = options.beta();
  const double student_T = options.soften_student() ? T : 1.0;
  const auto dtype = student_logits.scalar_type();
  // The teacher is a constant target: no gradient, in the student's dtype and device.
  const auto zt = teacher_logits.detach().to(student_logits.device(), dtype);

  torch::Tensor per_sample; // [N]
  if (beta > 0) {
    auto log_pt = torch::log_softmax(zt / T, 1);
    auto pt = log_pt.exp();
    auto log_ps = torch::log_softmax(student_T == 1.0 ? student_logits : student_logits / student_T, 1);
    // KL uses xlogy-style masking: p_t,k = 0 contributes 0 even where log p_t,k = −inf.
    auto elementwise = options.soft_term() == SoftTerm::KL
        ? torch::where(pt > 0, pt * (log_pt - log_ps), torch::zeros_like(pt))
        : -pt * log_ps;
    auto soft = elementwise.sum(1);
    const double scale = beta * (options.t_squared() ? T * T : 1.0);
    per_sample = soft * scale;
  }
  if (beta < 1) {
    check(
        target.defined() && target.dim() == 1 && target.size(0) == student_logits.size(0),
        "distillation: targets must be [N] = [{}] class indices",
        student_logits.size(0));
    auto hard = loss::label_smoothing_cross_entropy(
        student_logits,
        target.to(student_logits.device()),
        loss::LabelSmoothingOptions()
            .smoothing(options.smoothing())
            .implementation(options.implementation())
            .reduction(Reduction::None));
    hard = hard * (1.0 - beta);
    per_sample = per_sample.defined() ? per_sample + hard : hard;
  }
  switch (options.reduction()) {
    case Reduction::None:
      return per_sample;
    case Reduction::Sum:
      return per_sample.sum();
    case Reduction::Mean:
      return per_sample.mean(); // batch mean: per-sample sums over K, then / N
  }
  return per_sample.mean();
}

namespace {
constexpr Named<SoftTerm> kSoftTerms[] = {
    {SoftTerm::CrossEntropy, "ce", "cross-entropy with the teacher's targets"},
    {SoftTerm::KL, "kl", "KL divergence; same gradient"},
};
} // namespace

const char* soft_term_name(SoftTerm term) {
  return name_of(kSoftTerms, term);
}

SoftTerm parse_soft_term(const std::string& name) {
  return parse_named(kSoftTerms, name, "--soft-term", "term");
}

namespace {
constexpr Named<Form> kForms[] = {
    {Form::Paper, "paper", "H(softmax(z_t/T), softmax(z_s)), β = 1"},
    {Form::Hinton, "hinton", "(1−β)·CE + β·T²·KL at T"},
    {Form::Custom, "custom", "settings that follow neither, in a run's record only"},
};
} // namespace

const char* form_name(Form form) {
  return name_of(kForms, form);
}

Form parse_form(const std::string& name, const std::string& option) {
  return parse_named(kForms, name, option, "form");
}

} // namespace smoothlab::distill
