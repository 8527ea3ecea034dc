// smoothlab._C: the C++ library as a Python extension on the torch it runs in (torch/extension.h conventions).
//
// Every function takes and returns torch tensors (the pure-Python layer in python/smoothlab converts numpy arrays
// and half-precision logits); results with many fields come back as JSON text made by the library's own to_json, so
// the Python dicts have exactly the keys `smoothlab calibrate`, `project` and `mi` write. smoothlab::Error becomes
// smoothlab._C.Error (a ValueError subclass, re-exported as smoothlab.Error) with the hint in `.hint`; LibTorch's
// c10::Error becomes a RuntimeError without the C++ backtrace. The loss is also registered as the operator
// torch.ops.smoothlab.label_smoothing_cross_entropy, so TorchScript code can call it. train_run_json trains and
// evaluates a run folder through the library path of `smoothlab train` / `distill` and `smoothlab eval`.
#include <torch/extension.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
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
#include "smoothlab/core/note.h"
#include "smoothlab/core/parallel.h"
#include "smoothlab/distill/assemble.h"
#include "smoothlab/distill/loss.h"
#include "smoothlab/distill/training.h"
#include "smoothlab/eval/evaluate.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/represent/cluster_stats.h"
#include "smoothlab/represent/mutual_information.h"
#include "smoothlab/represent/projection.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/records.h"
#include "smoothlab/train/run_loading.h"
#include "smoothlab/train/trainer.h"
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

// --- smoothlab.train(): a run folder, as `smoothlab train` / `smoothlab distill` and then `smoothlab eval` make it ---

// The keys a caller may set: config.json's (TrainConfig's to_json, plus the two it writes only when set).
nlohmann::json known_config_keys() {
  nlohmann::json keys = train::TrainConfig{};
  keys["classes"] = "";
  keys["label_noise"] = 0.0;
  return keys;
}

// The training configuration of `overrides` (a JSON object of config.json's flat keys) over the defaults, read by
// TrainConfig's from_json one key at a time so that every refusal names its key. As the command line does
// (app/train_options.cpp resolve_train_options): without lr, the model's default at batch_size; without crop_padding,
// the model's. Validated.
train::TrainConfig config_from_overrides(const nlohmann::json& overrides) {
  SMOOTHLAB_ASSERT(overrides.is_object(), "the overrides are not a JSON object"); // training.py makes them
  const auto known = known_config_keys();
  train::TrainConfig config;
  for (const auto& [key, value] : overrides.items()) {
    if (!known.contains(key)) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : known.items())
        names.push_back(name);
      throw Error(
          fmt::format("{}: not a setting of a training run", key), "known (config.json's keys): " + join(names, ", "));
    }
    try {
      train::from_json(nlohmann::json{{key, value}}, config);
    } catch (const nlohmann::json::exception&) {
      throw Error(fmt::format("{}: expected a {}, got {}", key, known.at(key).type_name(), value.dump()));
    } catch (const Error& e) {
      // The enum parsers name the option as the command line spells it; json_int's checks name nothing.
      std::string option = "--" + key;
      std::replace(option.begin(), option.end(), '_', '-');
      const std::string what = e.what();
      if (what.find(option) != std::string::npos || what.find(key) != std::string::npos)
        throw;
      throw Error(fmt::format("{}: {}", key, what), e.hint());
    }
  }
  train::fill_model_defaults(
      config,
      overrides.contains("lr") ? std::optional<double>(config.optimiser.lr) : std::nullopt,
      overrides.contains("crop_padding") ? std::optional<int64_t>(config.data.crop_padding) : std::nullopt);
  config.validate();
  if (config.execution.sync_bn)
    throw Error(
        "sync_bn: needs a distributed run",
        "train it with the program: torchrun ... smoothlab train --sync-bn (docs/distributed.md)");
  return config;
}

// The threads of a run with threads > 0 (set_threads: LibTorch's and the OpenMP runtime's), restored afterwards;
// threads = 0 keeps the interpreter's setting (torch.set_num_threads).
class ThreadsScope {
 public:
  explicit ThreadsScope(int threads) : previous_(at::get_num_threads()), changed_(threads > 0) {
    if (changed_)
      set_threads(threads);
  }
  ~ThreadsScope() {
    if (changed_)
      set_threads(previous_);
  }
  ThreadsScope(const ThreadsScope&) = delete;
  ThreadsScope& operator=(const ThreadsScope&) = delete;

 private:
  int previous_;
  bool changed_;
};

// Trains the run folder `out` the way `smoothlab train` (no teacher) or `smoothlab distill` (a teacher) does —
// train::open_run (the resume / force / new decision), distill::assemble_run (its data, distillation's and MI
// logging's hooks), train::train — then evaluates it as `smoothlab eval` does (eval::evaluate_run: eval.json,
// calibration.json, diagrams, .npy). Returns {"run_dir", "resumed", "epochs_done", "last_epoch", "eval",
// "distill", "notes"} as JSON text: the typed records through their to_json. Runs without the GIL (it touches no
// Python object).
std::string train_run_json(
    const std::string& out,
    bool resume,
    bool force,
    const std::string& overrides_json,
    const std::optional<std::string>& teacher,
    double temperature,
    const std::string& form,
    std::optional<double> beta) {
  if (resume && force)
    throw Error("resume and force exclude each other", "resume=True continues the run in out; force=True deletes it");
  if (out.empty())
    throw Error("out: name the run folder", "e.g. smoothlab.train(\"runs/mlp\", model=\"mlp\")");
  if (!teacher && (temperature != 1.0 || form != distill::form_name(distill::Form::Paper) || beta))
    throw Error(
        "temperature, form and beta: settings of a student; give its teacher too",
        "teacher= a run folder (smoothlab.train or smoothlab train) or a TorchScript .pt file");
  std::optional<distill::DistillRunOptions> distill;
  if (teacher)
    distill = distill::student_of(*teacher, distill::parse_form(form, "form"), temperature, beta, "form");
  const auto config = config_from_overrides(nlohmann::json::parse(overrides_json));
  const auto mode = resume ? train::ExistingRun::Resume
      : force              ? train::ExistingRun::Force
                           : train::ExistingRun::Refuse;
  const auto run = train::open_run(out, mode, config);
  // This call's threads, also when resuming (threads is not a result setting), as the program's --threads.
  const ThreadsScope threads(config.execution.threads);
  const auto assembled = distill::assemble_run(run, distill);

  std::mutex notes_mutex;
  std::vector<std::string> notes;
  const NoteHook on_note = [&](const Note& n) {
    const std::lock_guard<std::mutex> lock(notes_mutex);
    notes.push_back(n.text);
  };
  train::TrainHooks hooks = assembled.hooks;
  hooks.record.command = "smoothlab.train (Python)";
  hooks.on_note = on_note;
  const auto result = train::train(run, assembled.data, hooks);

  eval::EvalOptions eval_options; // `smoothlab eval`'s
  eval_options.train_gamma = true;
  eval_options.on_note = on_note;
  const auto evaluated = eval::evaluate_run(run.dir.path(), eval_options);

  nlohmann::json j;
  j["run_dir"] = run.dir.path().string();
  j["resumed"] = run.resuming();
  j["epochs_done"] = result.epochs_done;
  j["last_epoch"] = result.last_record ? nlohmann::json(*result.last_record) : nlohmann::json(nullptr);
  j["eval"] = evaluated;
  j["distill"] = assembled.facts ? nlohmann::json(*assembled.facts) : nlohmann::json(nullptr);
  j["notes"] = notes;
  return j.dump();
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
      "train_run_json",
      &sp::train_run_json,
      py::call_guard<py::gil_scoped_release>(), // minutes of LibTorch work; other Python threads keep running
      py::arg("out"),
      py::arg("resume"),
      py::arg("force"),
      py::arg("config"),
      py::arg("teacher"),
      py::arg("temperature"),
      py::arg("form"),
      py::arg("beta"));
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
