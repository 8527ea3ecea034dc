// smoothlab._C: the C++ library as a Python extension on the torch it runs in (torch/extension.h conventions).
//
// Every function takes and returns torch tensors (the pure-Python layer in python/smoothlab converts numpy arrays
// and half-precision logits); results with many fields come back as JSON text made by the library's own to_json, so
// the Python dicts have exactly the keys `smoothlab calibrate`, `project` and `mi` write. smoothlab::Error becomes
// smoothlab._C.Error (a ValueError subclass, re-exported as smoothlab.Error) with the hint in `.hint`; LibTorch's
// c10::Error becomes a RuntimeError without the C++ backtrace. The loss is also registered as the operator
// torch.ops.smoothlab.label_smoothing_cross_entropy, so TorchScript code can call it.
#include <torch/extension.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smoothlab/calib/calibrator.h"
#include "smoothlab/calib/compare.h"
#include "smoothlab/calib/gamma.h"
#include "smoothlab/calib/inputs.h"
#include "smoothlab/calib/meter.h"
#include "smoothlab/calib/temperature.h"
#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"
#include "smoothlab/distill/loss.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/represent/cluster_stats.h"
#include "smoothlab/represent/mutual_information.h"
#include "smoothlab/represent/projection.h"
#include "smoothlab/viz/reliability.h"

namespace py = pybind11;

namespace smoothlab::python {
namespace {

loss::Reduction parse_reduction(const std::string& name) {
  static constexpr Named<loss::Reduction> kReductions[] = {
      {loss::Reduction::None, "none"},
      {loss::Reduction::Mean, "mean"},
      {loss::Reduction::Sum, "sum"},
  };
  return parse_named(kReductions, name, "reduction", "reduction");
}

// spread="others": ε over the K − 1 wrong classes (LabelSmoothingOptions::wrong_class_only).
bool parse_spread(const std::string& name) {
  static constexpr Named<bool> kSpreads[] = {
      {false, "all", "ε over all K classes, PyTorch's convention"},
      {true, "others", "ε over the K − 1 wrong ones"},
  };
  return parse_named(kSpreads, name, "spread", "spread");
}

// The loss with torch.nn.functional.cross_entropy's arguments (plus spread and prior), on our fused kernel.
torch::Tensor label_smoothing_cross_entropy(
    const torch::Tensor& input,
    const torch::Tensor& target,
    const c10::optional<torch::Tensor>& weight,
    int64_t ignore_index,
    const std::string& reduction,
    double smoothing,
    const std::string& spread_name,
    const c10::optional<torch::Tensor>& prior) {
  const bool wrong_class_only = parse_spread(spread_name);
  auto options = loss::LabelSmoothingOptions()
                     .smoothing(smoothing)
                     .reduction(parse_reduction(reduction))
                     .ignore_index(ignore_index)
                     .wrong_class_only(wrong_class_only);
  if (weight && weight->defined())
    options.weight(*weight);
  if (prior && prior->defined())
    options.prior(*prior);
  return loss::fused_label_smoothing_cross_entropy(input, target, options);
}

void check_labeled_logits(const torch::Tensor& logits, const torch::Tensor& labels) {
  calib::check_logits(logits, "logits");
  calib::check_labels(labels, logits.size(0), logits.size(1), "labels", "logits");
}

// Checked by the library (MeterOptions::validate: "--bins must be at least 1, got 0").
calib::MeterOptions meter_options(int64_t bins, const std::string& binning) {
  auto options = calib::MeterOptions().bins(bins).binning(calib::parse_binning(binning, "binning"));
  options.validate();
  return options;
}

std::string metrics_json(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    int64_t bins,
    const std::string& binning) {
  check_labeled_logits(logits, labels);
  return calib::to_json(calib::calibration_metrics(logits, labels, meter_options(bins, binning))).dump();
}

std::unique_ptr<calib::Calibrator> make_calibrator(
    const std::string& name,
    double tolerance,
    int64_t max_iterations,
    double odir_lambda,
    double odir_mu,
    int64_t bins) {
  calib::CalibratorOptions options;
  options.tolerance = tolerance;
  options.max_iterations = max_iterations;
  options.odir_lambda = odir_lambda;
  options.odir_mu = odir_mu;
  options.bins = bins;
  return calib::make_calibrator(name, options);
}

std::string compare_json(
    const torch::Tensor& fit_logits,
    const torch::Tensor& fit_labels,
    const std::optional<torch::Tensor>& eval_logits,
    const std::optional<torch::Tensor>& eval_labels,
    const std::string& methods,
    int64_t folds,
    int64_t bins,
    int64_t bootstrap,
    uint64_t seed) {
  if (eval_logits.has_value() != eval_labels.has_value())
    throw Error(
        "compare(): eval_logits and eval_labels go together", "give both, or neither to report on the fit pair");
  calib::CompareOptions options;
  options.methods = calib::parse_methods(methods);
  options.folds = folds;
  options.bins = bins;
  options.bootstrap = bootstrap;
  options.seed = seed;
  const auto c = calib::compare_calibrators(
      fit_logits, fit_labels, eval_logits.value_or(torch::Tensor()), eval_labels.value_or(torch::Tensor()), options);
  auto j = calib::to_json(c);
  j["table"] = calib::format_comparison(c);
  for (size_t i = 0; i < c.rows.size(); ++i)
    j["ranking"][i]["state"] = c.rows[i].state;
  return j.dump();
}

std::string fit_temperature_json(const torch::Tensor& logits, const torch::Tensor& labels) {
  check_labeled_logits(logits, labels);
  return calib::to_json(calib::fit_temperature(logits, labels)).dump();
}

std::vector<std::string> reliability_diagram(
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const std::string& stem,
    int64_t bins,
    const std::string& binning,
    const std::string& title,
    const std::string& label) {
  check_labeled_logits(logits, labels);
  calib::CalibrationMeter meter(meter_options(bins, binning));
  meter.add(logits, labels);
  auto curve = viz::make_reliability_curve(label, meter.confidence(), meter.correct(), bins, meter.options().binning());
  std::vector<std::string> out;
  for (const auto& p : viz::save_reliability_diagram({curve}, stem, title))
    out.push_back(p.string());
  return out;
}

std::array<int64_t, 3> three_classes(const std::vector<int64_t>& classes) {
  if (classes.size() != 3)
    throw Error(
        fmt::format("classes: name exactly three classes, got {}", classes.size()),
        "the plane of [M] §2 goes through three class templates, e.g. classes=(0, 1, 2)");
  return {classes[0], classes[1], classes[2]};
}

// [M] §2: the features of the points of three classes on the plane of their templates, and the cluster statistics.
py::tuple project(
    const torch::Tensor& features,
    const torch::Tensor& labels,
    const torch::Tensor& templates,
    const std::vector<int64_t>& classes_in) {
  const auto classes = three_classes(classes_in);
  check(features.dim() == 2, "features: expected [N, D], got {} dimensions", features.dim());
  check(templates.dim() == 2, "templates: expected [K, D] or [K, D + 1], got {} dimensions", templates.dim());
  check(
      labels.dim() == 1 && labels.size(0) == features.size(0),
      "labels: expected [{}], got {}",
      features.size(0),
      c10::str(labels.sizes()));
  check(!labels.is_floating_point(), "labels: must be integers, got {}", c10::toString(labels.scalar_type()));
  const int64_t d = features.size(1);
  torch::Tensor points;
  if (templates.size(1) == d + 1) {
    points = represent::augment_features(features);
  } else if (templates.size(1) == d) {
    points = features.to(torch::kCPU, torch::kFloat64);
  } else {
    throw Error(fmt::format(
        "templates: {} columns for features of {} (expected {} or {} with the bias appended)",
        templates.size(1),
        d,
        d,
        d + 1));
  }
  const auto plane = represent::template_plane(templates.to(torch::kCPU, torch::kFloat64), classes);
  const auto y = labels.to(torch::kCPU, torch::kInt64);
  const auto keep = y.eq(classes[0]) | y.eq(classes[1]) | y.eq(classes[2]);
  const auto chosen = keep.nonzero().flatten();
  const auto coords = represent::project(plane, points.index_select(0, chosen));
  const auto kept_labels = y.index_select(0, chosen);
  const auto stats = represent::cluster_stats(coords, points.index_select(0, chosen), kept_labels, classes);
  return py::make_tuple(coords, kept_labels, plane.vertices, represent::to_json(stats).dump());
}

std::string mutual_information_json(const torch::Tensor& gaps) {
  return represent::to_json(represent::estimate_mutual_information(gaps)).dump();
}

torch::Tensor kd_loss(
    const torch::Tensor& student,
    const torch::Tensor& teacher,
    const c10::optional<torch::Tensor>& labels,
    double temperature,
    c10::optional<double> beta,
    const std::string& form,
    double smoothing,
    const std::string& reduction) {
  distill::DistillationOptions options;
  switch (distill::parse_form(form, "form")) {
    case distill::Form::Paper:
      options = distill::DistillationOptions::paper(temperature);
      break;
    case distill::Form::Hinton:
      options = distill::DistillationOptions::hinton(temperature, 0.5);
      break;
    case distill::Form::Custom:
      throw Error(
          "form: 'custom' is a name runs' records may carry; kd_loss builds paper or hinton",
          "paper: [M] §4, H(softmax(z_t/T), softmax(z_s)); hinton: (1 − β)·CE + β·T²·KL at temperature T");
  }
  if (beta)
    options.beta(*beta);
  options.smoothing(smoothing).reduction(parse_reduction(reduction));
  options.validate();
  torch::Tensor target = labels && labels->defined() ? *labels : torch::Tensor();
  if (options.beta() < 1.0 && !target.defined())
    throw Error(fmt::format("labels: needed for the hard-label term (β = {} < 1)", options.beta()));
  if (!target.defined())
    target = torch::zeros({student.dim() > 0 ? student.size(0) : 0}, torch::kInt64);
  return distill::distillation_loss(student, teacher, target.to(student.device()), options);
}

// The operator's signature (the dispatcher passes str arguments as string views).
torch::Tensor label_smoothing_cross_entropy_op(
    const torch::Tensor& input,
    const torch::Tensor& target,
    const c10::optional<torch::Tensor>& weight,
    int64_t ignore_index,
    c10::string_view reduction,
    double smoothing,
    c10::string_view spread,
    const c10::optional<torch::Tensor>& prior) {
  return label_smoothing_cross_entropy(
      input, target, weight, ignore_index, std::string(reduction), smoothing, std::string(spread), prior);
}

} // namespace
} // namespace smoothlab::python

// The operator for TorchScript (and torch.ops in Python); autograd comes from the fused function itself.
TORCH_LIBRARY(smoothlab, m) {
  m.def(
      "label_smoothing_cross_entropy(Tensor input, Tensor target, Tensor? weight=None, int ignore_index=-100, "
      "str reduction=\"mean\", float smoothing=0.0, str spread=\"all\", Tensor? prior=None) -> Tensor",
      &smoothlab::python::label_smoothing_cross_entropy_op);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  namespace sp = smoothlab::python;
  m.doc() = "smoothlab's C++ core (use the smoothlab package, not this module)";
  static py::exception<smoothlab::Error> error(m, "Error", PyExc_ValueError);
  // Registered last, tried first: our errors carry a hint; LibTorch's lose their C++ backtrace.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());
    }
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const smoothlab::Error& e) {
      py::object instance = py::reinterpret_borrow<py::object>(error.ptr())(py::str(e.what()));
      instance.attr("hint") = py::str(e.hint());
      PyErr_SetObject(error.ptr(), instance.ptr());
    }
  });
  m.attr("__torch_version__") = SMOOTHLAB_TORCH_VERSION;
  m.attr("__version__") = SMOOTHLAB_VERSION;
  m.attr("with_cuda") =
#ifdef SMOOTHLAB_WITH_CUDA
      true;
#else
      false;
#endif

  m.def(
      "label_smoothing_cross_entropy",
      &sp::label_smoothing_cross_entropy,
      py::arg("input"),
      py::arg("target"),
      py::arg("weight") = py::none(),
      py::arg("ignore_index") = -100,
      py::arg("reduction") = "mean",
      py::arg("smoothing") = 0.0,
      py::arg("spread") = "all",
      py::arg("prior") = py::none());
  m.def("metrics_json", &sp::metrics_json, py::arg("logits"), py::arg("labels"), py::arg("bins"), py::arg("binning"));
  m.def("fit_temperature_json", &sp::fit_temperature_json, py::arg("logits"), py::arg("labels"));
  m.def(
      "reliability_diagram",
      &sp::reliability_diagram,
      py::arg("logits"),
      py::arg("labels"),
      py::arg("stem"),
      py::arg("bins"),
      py::arg("binning"),
      py::arg("title"),
      py::arg("label"));
  py::class_<smoothlab::calib::CalibrationMeter>(m, "Meter")
      .def(
          py::init([](int64_t bins, const std::string& binning) {
            return smoothlab::calib::CalibrationMeter(sp::meter_options(bins, binning));
          }),
          py::arg("bins"),
          py::arg("binning"))
      .def(
          "add",
          [](smoothlab::calib::CalibrationMeter& meter, const torch::Tensor& logits, const torch::Tensor& labels) {
            sp::check_labeled_logits(logits, labels);
            meter.add(logits, labels);
          })
      .def(
          "value_json",
          [](const smoothlab::calib::CalibrationMeter& meter) {
            if (meter.confidence().empty())
              throw smoothlab::Error("Meter.compute(): no samples yet", "call update() first");
            return smoothlab::calib::to_json(meter.value()).dump();
          })
      .def("reset", &smoothlab::calib::CalibrationMeter::reset);
  py::class_<smoothlab::calib::Calibrator, std::unique_ptr<smoothlab::calib::Calibrator>>(m, "Calibrator")
      .def_property_readonly("name", &smoothlab::calib::Calibrator::name)
      .def_property_readonly("classes", &smoothlab::calib::Calibrator::classes)
      .def(
          "fit_json",
          [](smoothlab::calib::Calibrator& c, const torch::Tensor& logits, const torch::Tensor& labels) {
            return smoothlab::calib::to_json(c.fit(logits, labels)).dump();
          },
          py::call_guard<py::gil_scoped_release>()) // L-BFGS runs LibTorch's autograd engine
      .def("log_probs", &smoothlab::calib::Calibrator::log_probs)
      .def("state_json", [](const smoothlab::calib::Calibrator& c) { return c.state().dump(); });
  m.def(
      "make_calibrator",
      &sp::make_calibrator,
      py::arg("name"),
      py::arg("tolerance"),
      py::arg("max_iterations"),
      py::arg("odir_lambda"),
      py::arg("odir_mu"),
      py::arg("bins"));
  m.def(
      "load_calibrator",
      [](const std::string& state, const std::string& source) {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(state);
        } catch (const nlohmann::json::exception& e) {
          throw smoothlab::Error(fmt::format("{}: not JSON ({})", source, e.what()));
        }
        return smoothlab::calib::load_calibrator(j, source);
      },
      py::arg("state"),
      py::arg("source"));
  m.def("calibrator_names", &smoothlab::calib::calibrator_names);
  m.def(
      "compare_json",
      &sp::compare_json,
      py::call_guard<py::gil_scoped_release>(),
      py::arg("fit_logits"),
      py::arg("fit_labels"),
      py::arg("eval_logits"),
      py::arg("eval_labels"),
      py::arg("methods"),
      py::arg("folds"),
      py::arg("bins"),
      py::arg("bootstrap"),
      py::arg("seed"));
  m.def("project", &sp::project, py::arg("features"), py::arg("labels"), py::arg("templates"), py::arg("classes"));
  m.def(
      "teacher_gamma",
      &smoothlab::calib::equivalent_smoothing,
      py::arg("logits"),
      py::arg("labels"),
      py::arg("temperature") = 1.0);
  m.def("mutual_information_json", &sp::mutual_information_json, py::arg("gaps"));
  m.def(
      "kd_loss",
      &sp::kd_loss,
      py::arg("student_logits"),
      py::arg("teacher_logits"),
      py::arg("labels"),
      py::arg("temperature"),
      py::arg("beta"),
      py::arg("form"),
      py::arg("smoothing"),
      py::arg("reduction"));
}
