// `smoothlab distill`: train a student from a frozen teacher ([M] §4) — every `train` option plus the teacher's.
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "command.h"
#include "smoothlab/core/error.h"
#include "smoothlab/distill/training.h"
#include "train_options.h"

namespace smoothlab::cli {
namespace {

struct DistillArgs {
  TrainArgs train;
  std::string teacher;
  std::string form = distill::form_name(distill::Form::Paper);
  double temperature = 1.0;
  double beta = -1; // < 0: the form's default (paper 1, hinton 0.5)
  std::string t_squared; // "": the form's default
  std::string soft_term; // "": the form's default
  bool no_cache = false;
};

distill::DistillRunOptions resolve(const DistillArgs& a) {
  auto o = distill::student_of(
      a.teacher,
      distill::parse_form(a.form),
      a.temperature,
      a.beta >= 0 ? std::optional<double>(a.beta) : std::nullopt,
      "--form");
  if (!a.t_squared.empty()) {
    if (a.t_squared != "true" && a.t_squared != "false")
      throw Error(fmt::format("--t-squared: expected true or false, got '{}'", a.t_squared));
    o.loss.t_squared(a.t_squared == "true");
  }
  if (!a.soft_term.empty())
    o.loss.soft_term(distill::parse_soft_term(a.soft_term));
  o.cache_teacher = !a.no_cache;
  return o;
}

const bool registered_distill = register_command(
    {"distill",
     "train a student from a frozen teacher (run folder or TorchScript) into a run folder",
     15,
     [](CLI::App& sub) -> Runner {
       auto args = std::make_shared<DistillArgs>();
       add_train_options(sub, args->train);
       sub.add_option("--teacher", args->teacher, "teacher: a run folder (smoothlab train) or a TorchScript .pt file")
           ->required();
       sub.add_option("--temperature,-T", args->temperature, "teacher temperature T > 0: targets softmax(z_t / T)")
           ->capture_default_str();
       sub.add_option(
           "--beta",
           args->beta,
           "weight of the teacher term, 1 − β on the hard labels (default: 1 for paper, 0.5 for hinton)");
       sub.add_option(
              "--form",
              args->form,
              "paper: H(softmax(z_t/T), softmax(z_s)), student at T = 1, no T² ([M] §4, default); "
              "hinton: (1−β)·CE + β·T²·KL(p_t(T) ‖ p_s(T)) ([H])")
           ->capture_default_str();
       sub.add_option("--t-squared", args->t_squared, "true/false: scale the teacher term by T² (default: the form's)");
       sub.add_option("--soft-term", args->soft_term, "ce | kl (same gradient; kl is 0 when student = teacher)");
       sub.add_flag(
           "--no-teacher-cache", args->no_cache, "recompute teacher logits every step even without augmentation");
       return [args] {
         if (const auto status = launch_if_asked(args->train))
           return *status;
         const auto options = resolve(*args);
         auto& t = args->train;
         resolve_train_options(t);
         if (t.out.empty())
           t.out = fmt::format("runs/distill_{}_T{}_seed{}", t.config.model, options.loss.temperature(), t.config.seed);
         const auto prepared = prepare_training(t, options);
         const auto& effective = *prepared.assembled.distill; // the saved settings when resuming
         const auto& facts = *prepared.assembled.facts;
         std::cerr << fmt::format(
             "teacher {} ({}): γ at T = {} is {:.4f}, train accuracy {:.4f}{}\n",
             effective.teacher,
             facts.teacher_kind,
             facts.temperature,
             facts.teacher_gamma,
             facts.teacher_train_accuracy,
             facts.teacher_cached ? ", logits cached" : "");
         run_training(prepared);
         return 0;
       };
     }});

} // namespace
} // namespace smoothlab::cli
