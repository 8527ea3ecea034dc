// Label-smoothed cross-entropy ([S] §7, [M] §1.1): option checks, the fused autograd function (forward/backward
// around the kernels of fused_kernel_{cpu.cpp,cuda.cu}) and LibTorch's composite as the reference path.
#include "smoothlab/loss/label_smoothing.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"
#include "smoothlab/loss/fused_kernel.h"
#include "smoothlab/model/precision.h"

namespace smoothlab::loss {

namespace F = torch::nn::functional;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor libtorch_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options) {
  check(
      !options.wrong_class_only() && !options.prior().defined(),
      "--loss-impl libtorch: LibTorch's cross_entropy has no wrong_class_only / prior smoothing (use fused)");
  auto o = F::CrossEntropyFuncOptions().label_smoothing(options.smoothing()).ignore_index(options.ignore_index());
  if (options.weight().defined())
    o = o.weight(options.weight());
  switch (options.reduction()) {
    case Reduction::None:
      o = o.reduction(torch::kNone);
      break;
    case Reduction::Sum:
      o = o.reduction(torch::kSum);
      break;
    case Reduction::Mean:
      o = o.reduction(torch::kMean);
      break;
  }
  return F::cross_entropy(logits, target, o);
}

void check_smoothing(double smoothing, const std::string& option) {
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    throw Error(fmt::format("{} {} is outside [0, 1]", option, smoothing), "the paper uses 0.1; 0 means hard targets");
}

void LabelSmoothingOptions::validate() const {
  check_smoothing(smoothing());
}

namespace {

std::string shape_str(torch::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}
std::string shape_str(const torch::Tensor& t) {
  return shape_str(t.sizes());
}

bool is_float_dtype(torch::ScalarType t) {
  return t == torch::kFloat || t == torch::kDouble || t == torch::kHalf || t == torch::kBFloat16;
}

// Everything the kernels need besides the logits, in tensors that outlive the kernel calls.
struct Prepared {
  torch::Tensor logits; // contiguous [N, K, S]-compatible
  torch::Tensor target; // contiguous int64 [M] (hard) or logits-shaped, logits dtype (soft)
  torch::Tensor weight; // [K] Acc dtype or undefined
  torch::Tensor coef; // [K] Acc dtype or undefined
  torch::Tensor prior; // [K] Acc dtype or undefined
  double coef_const = 0, coef_sum = 0;
  int64_t rows = 0, classes = 0, inner = 1;
  bool soft = false;
  std::vector<int64_t> out_shape; // per-row loss shape for Reduction::None
};

template <typename Acc>
detail::FusedParams<Acc> make_params(const Prepared& pr, const LabelSmoothingOptions& o) {
  detail::FusedParams<Acc> p;
  p.rows = pr.rows;
  p.classes = pr.classes;
  p.inner = pr.inner;
  p.smoothing = Acc(o.smoothing());
  p.soft = pr.soft;
  p.wrong_class_only = o.wrong_class_only();
  p.ignore_index = o.ignore_index();
  p.target = pr.soft ? nullptr : pr.target.data_ptr<int64_t>();
  p.weight = pr.weight.defined() ? pr.weight.data_ptr<Acc>() : nullptr;
  p.coef = pr.coef.defined() ? pr.coef.data_ptr<Acc>() : nullptr;
  p.coef_const = Acc(pr.coef_const);
  p.coef_sum = Acc(pr.coef_sum);
  p.prior = pr.prior.defined() ? pr.prior.data_ptr<Acc>() : nullptr;
  return p;
}

// 16-bit logits inside an autocast region of their device: the loss is returned in float32, as autocast returns
// cross_entropy's.
bool float32_under_autocast(const torch::Tensor& logits) {
  const auto t = logits.scalar_type();
  return (t == torch::kHalf || t == torch::kBFloat16) && model::autocast_enabled(logits.device());
}

torch::ScalarType acc_dtype(torch::ScalarType t) {
  return t == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// The row layout of logits and target (no validation; the caller checks logits_in.dim() ≥ 1): a [C] input with a
// scalar (or [C]) target is one row; [N, C, d1, ...] is viewed as N·S rows of C classes at stride S = d1·d2·…;
// probability targets (the logits' shape, floating point) in the logits' dtype, class indices flattened to [M].
// Used by forward (prepare) and again by backward, on the saved inputs.
Prepared row_layout(const torch::Tensor& logits_in, const torch::Tensor& target_in) {
  Prepared pr;
  const bool one_row = logits_in.dim() == 1;
  const torch::Tensor logits = one_row ? logits_in.unsqueeze(0) : logits_in;
  const torch::Tensor target = one_row ? target_in.unsqueeze(0) : target_in;
  pr.soft = target_in.sizes() == logits_in.sizes() && target_in.is_floating_point();
  pr.classes = logits.size(1);
  pr.inner = 1;
  for (int64_t d = 2; d < logits.dim(); ++d)
    pr.inner *= logits.size(d);
  pr.rows = logits.size(0) * pr.inner;
  pr.logits = logits.contiguous();
  pr.target = pr.soft ? target.to(logits.scalar_type()).contiguous() : target.contiguous().view({-1});
  // Per-row loss shape for Reduction::None: logits' shape without dimension 1.
  for (int64_t d = 0; d < logits_in.dim() && !one_row; ++d) {
    if (d != 1)
      pr.out_shape.push_back(logits_in.size(d));
  }
  return pr;
}

Prepared prepare(const torch::Tensor& logits_in, const torch::Tensor& target_in, const LabelSmoothingOptions& o) {
  check(logits_in.defined() && logits_in.dim() >= 1, "label smoothing: logits must be [N, C] or [N, C, d1, ...]");
  check(
      is_float_dtype(logits_in.scalar_type()),
      "label smoothing: logits must be float32/float64/float16/bfloat16, got {}",
      std::string(c10::toString(logits_in.scalar_type())));
  check(target_in.defined(), "label smoothing: target is undefined");
  check(
      target_in.device() == logits_in.device(),
      "label smoothing: target is on {} but logits are on {}",
      target_in.device().str(),
      logits_in.device().str());
  o.validate();
  Prepared pr = row_layout(logits_in, target_in);
  const bool one_row = logits_in.dim() == 1;
  const int64_t K = pr.classes;
  check(K >= 1, "label smoothing: logits {} have no classes", shape_str(logits_in));
  const auto acc = acc_dtype(logits_in.scalar_type());
  const auto acc_opts = logits_in.options().dtype(acc);

  if (pr.soft) {
    check(
        o.ignore_index() < 0,
        "label smoothing: ignore_index ({}) is not supported with probability targets",
        o.ignore_index());
    check(!o.wrong_class_only(), "label smoothing: wrong_class_only needs class-index targets, not probabilities");
  } else {
    std::vector<int64_t> want;
    for (int64_t d = 0; d < logits_in.dim() && !one_row; ++d) {
      if (d != 1)
        want.push_back(logits_in.size(d));
    }
    const std::string want_str = shape_str(want);
    check(
        target_in.scalar_type() == torch::kLong,
        "label smoothing: target must be int64 class indices of shape {} or probabilities of shape {}; got {} {}",
        want_str,
        shape_str(logits_in),
        std::string(c10::toString(target_in.scalar_type())),
        shape_str(target_in));
    check(
        target_in.sizes() == torch::IntArrayRef(want),
        "label smoothing: target shape {} does not match logits {} (expected {})",
        shape_str(target_in),
        shape_str(logits_in),
        want_str);
  }
  check(!o.wrong_class_only() || K >= 2, "label smoothing: wrong_class_only needs at least 2 classes, got {}", K);

  torch::Tensor w;
  if (o.weight().defined()) {
    check(
        o.weight().dim() == 1 && o.weight().size(0) == K,
        "label smoothing: weight must be [{}], got {}",
        K,
        shape_str(o.weight()));
    check(o.weight().is_floating_point(), "label smoothing: weight must be a floating-point tensor");
    w = o.weight().detach().to(acc_opts).contiguous();
    pr.weight = w;
  }
  torch::Tensor u; // smoothing distribution, undefined = uniform
  if (o.prior().defined()) {
    check(
        o.prior().dim() == 1 && o.prior().size(0) == K,
        "label smoothing: prior must be [{}], got {}",
        K,
        shape_str(o.prior()));
    u = o.prior().detach().to(logits_in.options().dtype(torch::kDouble));
    const double lo = u.min().item<double>(), total = u.sum().item<double>();
    check(
        lo >= 0 && total > 0 && std::isfinite(total),
        "label smoothing: prior must be finite, ≥ 0 and not all 0 (min {}, sum {})",
        lo,
        total);
    u = u / total;
    check(
        !o.wrong_class_only() || u.max().item<double>() < 1.0,
        "label smoothing: with wrong_class_only no class may hold the whole prior (it has no wrong classes to "
        "smooth over)");
    u = u.to(acc).contiguous();
    pr.prior = u;
  }
  if (u.defined()) {
    pr.coef = (w.defined() ? (u * w) : u).contiguous();
    pr.coef_sum = pr.coef.to(torch::kDouble).sum().item<double>();
  } else if (w.defined()) {
    pr.coef = (w / double(K)).contiguous();
    pr.coef_sum = w.to(torch::kDouble).sum().item<double>() / double(K);
  } else {
    pr.coef_const = 1.0 / double(K);
    pr.coef_sum = 1.0;
  }
  return pr;
}

// Validates class-index targets and returns the `mean` denominator Σ_{valid} w_y (or the count of valid rows).
double hard_target_denominator(const Prepared& pr, int64_t ignore_index) {
  const int64_t K = pr.classes;
  if (pr.target.is_cuda()) {
    const auto valid = pr.target != ignore_index;
    const auto bad = valid & ((pr.target < 0) | (pr.target >= K));
    if (bad.any().item<bool>()) {
      const int64_t v = pr.target.masked_select(bad)[0].item<int64_t>();
      throw Error(
          fmt::format("label smoothing: target value {} out of range [0, {})", v, K),
          fmt::format("targets are class indices 0..{}; ignore_index is {}", K - 1, ignore_index));
    }
    if (!pr.weight.defined())
      return valid.sum().item<double>();
    const auto y = pr.target.masked_select(valid);
    return pr.weight.to(torch::kDouble).index_select(0, y).sum().item<double>();
  }
  const int64_t* y = pr.target.data_ptr<int64_t>();
  const bool weighted = pr.weight.defined();
  const torch::Tensor w64 = weighted ? pr.weight.to(torch::kDouble) : torch::Tensor();
  const double* w = weighted ? w64.data_ptr<double>() : nullptr;
  double denom = 0;
  for (int64_t r = 0; r < pr.rows; ++r) {
    if (y[r] == ignore_index)
      continue;
    if (y[r] < 0 || y[r] >= K) {
      throw Error(
          fmt::format("label smoothing: target value {} (row {}) out of range [0, {})", y[r], r, K),
          fmt::format("targets are class indices 0..{}; ignore_index is {}", K - 1, ignore_index));
    }
    denom += weighted ? w[y[r]] : 1.0;
  }
  return denom;
}

template <typename Acc>
void run_forward(const detail::FusedParams<Acc>& p, const Prepared& pr, Acc* row_loss, Acc* lse, Acc* t_mass) {
  if (pr.logits.is_cuda()) {
#ifdef SMOOTHLAB_LOSS_CUDA
    return detail::fused_forward_cuda(p, pr.logits, pr.soft ? pr.target : torch::Tensor(), row_loss, lse, t_mass);
#else
    throw Error("label smoothing: this build has no CUDA kernel for the fused loss", "use --loss-impl libtorch");
#endif
  }
  detail::fused_forward_cpu(p, pr.logits, pr.soft ? pr.target : torch::Tensor(), row_loss, lse, t_mass);
}

template <typename Acc>
void run_backward(
    const detail::FusedParams<Acc>& p,
    const Prepared& pr,
    const Acc* lse,
    const Acc* t_mass,
    const Acc* grad_rows,
    Acc grad_scale,
    torch::Tensor& grad) {
  if (pr.logits.is_cuda()) {
#ifdef SMOOTHLAB_LOSS_CUDA
    return detail::fused_backward_cuda(
        p, pr.logits, pr.soft ? pr.target : torch::Tensor(), lse, t_mass, grad_rows, grad_scale, grad);
#else
    throw Error("label smoothing: this build has no CUDA kernel for the fused loss", "use --loss-impl libtorch");
#endif
  }
  detail::fused_backward_cpu(
      p, pr.logits, pr.soft ? pr.target : torch::Tensor(), lse, t_mass, grad_rows, grad_scale, grad);
}

LabelSmoothingOptions options_from(AutogradContext* ctx) {
  auto& d = ctx->saved_data;
  return LabelSmoothingOptions()
      .smoothing(d["smoothing"].toDouble())
      .reduction(static_cast<Reduction>(d["reduction"].toInt()))
      .ignore_index(d["ignore_index"].toInt())
      .wrong_class_only(d["wrong_class_only"].toBool());
}

// The autograd function. Inputs: logits, target (hard or soft). Everything else travels in saved_data.
class FusedLabelSmoothing : public torch::autograd::Function<FusedLabelSmoothing> {
 public:
  static torch::Tensor forward(
      AutogradContext* ctx,
      const torch::Tensor& logits,
      const torch::Tensor& target,
      const LabelSmoothingOptions& o) {
    Prepared pr = prepare(logits, target, o);
    const auto acc = acc_dtype(pr.logits.scalar_type());
    const auto acc_opts = pr.logits.options().dtype(acc);
    double denom = 1.0;
    if (o.reduction() == Reduction::Mean) {
      denom = pr.soft ? double(pr.rows) : hard_target_denominator(pr, o.ignore_index());
    } else if (!pr.soft) {
      hard_target_denominator(pr, o.ignore_index()); // range check only
    }
    torch::Tensor row_loss = torch::empty({pr.rows}, acc_opts);
    torch::Tensor lse = torch::empty({pr.rows, 2}, acc_opts);
    torch::Tensor t_mass = torch::empty({pr.soft ? pr.rows : 0}, acc_opts);
    if (acc == torch::kDouble) {
      run_forward(
          make_params<double>(pr, o),
          pr,
          row_loss.data_ptr<double>(),
          lse.data_ptr<double>(),
          t_mass.data_ptr<double>());
    } else {
      run_forward(
          make_params<float>(pr, o), pr, row_loss.data_ptr<float>(), lse.data_ptr<float>(), t_mass.data_ptr<float>());
    }
    ctx->save_for_backward({logits, target});
    auto& d = ctx->saved_data;
    d["smoothing"] = o.smoothing();
    d["reduction"] = static_cast<int64_t>(o.reduction());
    d["ignore_index"] = o.ignore_index();
    d["wrong_class_only"] = o.wrong_class_only();
    d["weight"] = pr.weight;
    d["coef"] = pr.coef;
    d["prior"] = pr.prior;
    d["coef_const"] = pr.coef_const;
    d["coef_sum"] = pr.coef_sum;
    d["denom"] = denom;
    d["lse"] = lse;
    d["t_mass"] = t_mass;

    // Under autocast the loss follows autocast's float32 policy for cross_entropy: 16-bit logits in, a float32 loss
    // out (computed from the 2-byte logits with float32 accumulation; the gradient stays in the logits' dtype).
    const auto out_dtype = float32_under_autocast(logits) ? torch::kFloat : logits.scalar_type();
    if (o.reduction() == Reduction::None) {
      return row_loss.view(pr.out_shape).to(out_dtype);
    }
    double total;
    if (row_loss.is_cuda()) {
      total = row_loss.to(torch::kDouble).sum().item<double>();
    } else {
      total = 0;
      const auto r64 = row_loss.to(torch::kDouble);
      const double* r = r64.data_ptr<double>();
      for (int64_t i = 0; i < pr.rows; ++i)
        total += r[i];
    }
    if (o.reduction() == Reduction::Mean)
      total /= denom;
    return torch::scalar_tensor(total, logits.options().dtype(out_dtype));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& logits = saved[0];
    const torch::Tensor& target = saved[1];
    auto& d = ctx->saved_data;
    const LabelSmoothingOptions o = options_from(ctx);
    // The forward's row layout again (no validation, no copies of already-contiguous tensors), and its per-class
    // vectors from saved_data.
    Prepared pr = row_layout(logits, target);
    {
      const auto tensor_or_none = [&](const char* key) {
        const auto& v = d[key];
        return v.isTensor() ? v.toTensor() : torch::Tensor();
      };
      pr.weight = tensor_or_none("weight");
      pr.coef = tensor_or_none("coef");
      pr.prior = tensor_or_none("prior");
      pr.coef_const = d["coef_const"].toDouble();
      pr.coef_sum = d["coef_sum"].toDouble();
    }
    const torch::Tensor lse = d["lse"].toTensor();
    const torch::Tensor t_mass = d["t_mass"].toTensor();
    const double denom = d["denom"].toDouble();
    const auto acc = acc_dtype(pr.logits.scalar_type());

    torch::Tensor grad_rows; // Reduction::None: per-row incoming gradient, Acc dtype
    double grad_scale = 0;
    if (o.reduction() == Reduction::None) {
      grad_rows = grad_outputs[0].to(acc).contiguous().view({-1});
    } else {
      grad_scale = grad_outputs[0].to(torch::kDouble).item<double>();
      if (o.reduction() == Reduction::Mean)
        grad_scale /= denom;
    }
    torch::Tensor grad = torch::empty_like(pr.logits, torch::MemoryFormat::Contiguous);
    if (acc == torch::kDouble) {
      run_backward(
          make_params<double>(pr, o),
          pr,
          lse.data_ptr<double>(),
          t_mass.data_ptr<double>(),
          grad_rows.defined() ? grad_rows.data_ptr<double>() : nullptr,
          grad_scale,
          grad);
    } else {
      run_backward(
          make_params<float>(pr, o),
          pr,
          lse.data_ptr<float>(),
          t_mass.data_ptr<float>(),
          grad_rows.defined() ? grad_rows.data_ptr<float>() : nullptr,
          float(grad_scale),
          grad);
    }
    torch::Tensor grad_target;
    if (pr.soft && ctx->needs_input_grad(1)) {
      // ∂loss/∂t_k = (1 − ε)·w_k·(lse − z_k)·scale: the only term of the loss that depends on t.
      std::vector<int64_t> bshape(pr.logits.dim(), 1);
      bshape[0] = pr.logits.size(0);
      for (int64_t k = 2; k < pr.logits.dim(); ++k)
        bshape[k] = pr.logits.size(k);
      torch::Tensor lse_full = (lse.select(1, 0) + lse.select(1, 1)).view(bshape);
      torch::Tensor gt = (lse_full - pr.logits.to(acc)) * (1.0 - o.smoothing());
      if (pr.weight.defined()) {
        std::vector<int64_t> wshape(pr.logits.dim(), 1);
        wshape[1] = pr.classes;
        gt = gt * pr.weight.view(wshape);
      }
      gt = grad_rows.defined() ? gt * grad_rows.view(bshape) : gt * grad_scale;
      grad_target = gt.to(target.scalar_type()).view(target.sizes());
    }
    return {grad.view(logits.sizes()), grad_target, torch::Tensor()};
  }
};

} // namespace

torch::Tensor fused_label_smoothing_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options) {
  return FusedLabelSmoothing::apply(logits, target, options);
}

torch::Tensor label_smoothing_cross_entropy(
    const torch::Tensor& logits,
    const torch::Tensor& target,
    const LabelSmoothingOptions& options) {
  options.validate();
  if (options.implementation() == Implementation::LibTorch)
    return libtorch_cross_entropy(logits, target, options);
  return fused_label_smoothing_cross_entropy(logits, target, options);
}

namespace {
constexpr Named<Implementation> kImplementations[] = {
    {Implementation::Fused, "fused"},
    {Implementation::LibTorch, "libtorch"},
};
} // namespace

Implementation parse_implementation(const std::string& name) {
  return parse_named(kImplementations, name, "--loss-impl", "implementation");
}

const char* implementation_name(Implementation impl) {
  return name_of(kImplementations, impl);
}

} // namespace smoothlab::loss
