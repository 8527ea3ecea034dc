// The run folder's file names, records and the resume/force/new decision (run_dir.h).
#include "smoothlab/train/run_dir.h"

#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/files.h"
#include "smoothlab/core/json_int.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/train/checkpoint.h"

namespace smoothlab::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---- records ↔ JSON --------------------------------------------------------------------------------------------

namespace {

// Optional numbers: written only when present; read when present and not null.
void put(json& j, const char* key, const std::optional<double>& v) {
  if (v)
    j[key] = *v;
}
void get(const json& j, const char* key, std::optional<double>& v) {
  if (j.contains(key) && !j.at(key).is_null())
    v = j.at(key).get<double>();
}

json data_info_json(const DataInfo& d) {
  return {
      {"name", d.name},
      {"spec", d.spec},
      {"num_classes", d.num_classes},
      {"class_names", d.class_names},
      {"shape", d.shape},
      {"mean", d.mean},
      {"std", d.std},
      {"train_size", d.train_size},
      {"val_size", d.val_size},
      {"test_size", d.test_size}};
}

DataInfo data_info_from(const json& j) {
  DataInfo d;
  d.name = j.at("name").get<std::string>();
  d.spec = j.at("spec").get<std::string>();
  d.num_classes = json_int(j.at("num_classes"));
  d.class_names = j.at("class_names").get<std::vector<std::string>>();
  d.shape = json_ints(j.at("shape"));
  d.mean = json_floats(j.at("mean"));
  d.std = json_floats(j.at("std"));
  d.train_size = json_int(j.at("train_size"));
  d.val_size = json_int(j.at("val_size"));
  d.test_size = json_int(j.at("test_size"));
  return d;
}

json mi_json(const MiFacts& m) {
  return {
      {"classes", m.classes},
      {"class_names", m.class_names},
      {"examples_per_class", m.examples_per_class},
      {"views", m.views},
      {"crop_padding", m.crop_padding},
      {"hflip", m.hflip},
      {"seed", m.seed},
      {"split", data::split_name(m.split)}};
}

MiFacts mi_from(const json& j) {
  MiFacts m;
  m.classes = json_ints(j.at("classes"));
  m.class_names = j.at("class_names").get<std::vector<std::string>>();
  m.examples_per_class = json_int(j.at("examples_per_class"));
  m.views = json_int(j.at("views"));
  m.crop_padding = json_int(j.at("crop_padding"));
  m.hflip = j.at("hflip").get<bool>();
  m.seed = json_uint(j.at("seed"));
  m.split = data::parse_split(j.at("split").get<std::string>(), "mi.split");
  return m;
}

// f(), with a parse or conversion failure (nlohmann's exception or our Error) rethrown as one Error
// that begins with `where` (the file, and the line where there is one).
template <typename F>
auto rethrow_naming(const std::string& where, const char* hint, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    throw Error(fmt::format("{} ({})", where, e.what()), hint);
  } catch (const Error& e) {
    throw Error(fmt::format("{} ({})", where, e.what()), hint);
  }
}

// Reads `path` as JSON and converts it with `convert`; any failure is an Error naming the file.
template <typename T, typename F>
T read_record(const fs::path& path, const char* what, const char* hint, F convert) {
  if (!fs::exists(path))
    throw Error(fmt::format("{}: no such file ({})", path.string(), what), hint);
  return rethrow_naming(fmt::format("{}: unreadable {}", path.string(), what), hint, [&] {
    return convert(json::parse(read_file(path)));
  });
}

} // namespace

void to_json(json& j, const DistillFacts& d) {
  j = {
      {"teacher", d.teacher},
      {"teacher_kind", d.teacher_kind},
      {"form", d.form},
      {"temperature", d.temperature},
      {"beta", d.beta},
      {"soften_student", d.soften_student},
      {"t_squared", d.t_squared},
      {"soft_term", d.soft_term},
      {"hard_smoothing", d.hard_smoothing},
      {"hard_loss_impl", loss::implementation_name(d.hard_loss_impl)},
      {"teacher_gamma", d.teacher_gamma},
      {"teacher_gamma_t1", d.teacher_gamma_t1},
      {"teacher_gamma_split", data::split_name(d.teacher_gamma_split)},
      {"teacher_train_accuracy", d.teacher_train_accuracy},
      {"teacher_cached", d.teacher_cached}};
  if (d.teacher_run)
    j["teacher_run"] = {
        {"model", d.teacher_run->model},
        {"smoothing", d.teacher_run->smoothing},
        {"epochs", d.teacher_run->epochs},
        {"seed", d.teacher_run->seed}};
}

void from_json(const json& j, DistillFacts& d) {
  d.teacher = j.at("teacher").get<std::string>();
  d.teacher_kind = j.at("teacher_kind").get<std::string>();
  d.form = j.at("form").get<std::string>();
  d.temperature = j.at("temperature").get<double>();
  d.beta = j.at("beta").get<double>();
  d.soften_student = j.at("soften_student").get<bool>();
  d.t_squared = j.at("t_squared").get<bool>();
  d.soft_term = j.at("soft_term").get<std::string>();
  d.hard_smoothing = j.at("hard_smoothing").get<double>();
  if (j.contains("hard_loss_impl"))
    d.hard_loss_impl = loss::parse_implementation(j.at("hard_loss_impl").get<std::string>());
  d.teacher_gamma = j.at("teacher_gamma").get<double>();
  d.teacher_gamma_t1 = j.at("teacher_gamma_t1").get<double>();
  d.teacher_gamma_split =
      data::parse_split(j.at("teacher_gamma_split").get<std::string>(), "distill.teacher_gamma_split");
  d.teacher_train_accuracy = j.at("teacher_train_accuracy").get<double>();
  d.teacher_cached = j.at("teacher_cached").get<bool>();
  if (j.contains("teacher_run")) {
    const auto& t = j.at("teacher_run");
    d.teacher_run = TeacherRunFacts{
        t.at("model").get<std::string>(),
        t.at("smoothing").get<double>(),
        json_int(t.at("epochs")),
        json_uint(t.at("seed"))};
  }
}

void to_json(json& j, const RunRecord& r) {
  j = json::object();
  j["command"] = r.command;
  j["config"] = r.config;
  j["data_info"] = data_info_json(r.data);
  j["versions"] = r.versions;
  if (r.world_size > 1)
    j["world_size"] = r.world_size;
  if (r.distill)
    j["distill"] = *r.distill;
  if (r.mi)
    j["mi"] = mi_json(*r.mi);
  if (!r.study.is_null())
    j["study"] = r.study;
}

void from_json(const json& j, RunRecord& r) {
  r.command = j.value("command", std::string());
  r.config = j.at("config").get<TrainConfig>();
  r.data = data_info_from(j.at("data_info"));
  r.versions = j.value("versions", json::object());
  r.world_size = json_int(j, "world_size", 1);
  if (j.contains("distill"))
    r.distill = j.at("distill").get<DistillFacts>();
  if (j.contains("mi"))
    r.mi = mi_from(j.at("mi"));
  if (j.contains("study"))
    r.study = j.at("study");
}

void to_json(json& j, const EpochRecord& r) {
  j = {
      {"epoch", r.epoch},
      {"lr", r.lr},
      {"train_loss", r.train_loss},
      {"train_accuracy", r.train_accuracy},
      {"images_per_second", r.images_per_second}};
  put(j, "val_loss", r.val_loss);
  put(j, "val_nll", r.val_nll);
  put(j, "val_accuracy", r.val_accuracy);
  put(j, "val_ece", r.val_ece);
  j["loader"] = r.loader;
  if (r.bad_images > 0)
    j["bad_images"] = r.bad_images;
  put(j, "teacher_gamma", r.teacher_gamma);
  put(j, "mi", r.mi);
  put(j, "mi_raw", r.mi_raw);
  put(j, "mi_sigma2", r.mi_sigma2);
  if (!r.mi_steps.empty()) {
    json steps = json::array();
    for (const auto& m : r.mi_steps)
      steps.push_back({{"step", m.step}, {"mi", m.mi}, {"mi_raw", m.mi_raw}, {"mi_sigma2", m.mi_sigma2}});
    j["mi_steps"] = steps;
  }
  if (r.steps > 0)
    j["steps"] = r.steps;
  if (r.world_size)
    j["world_size"] = *r.world_size;
  j["seconds"] = r.seconds;
}

void from_json(const json& j, EpochRecord& r) {
  r.epoch = json_int(j.at("epoch"));
  r.lr = j.at("lr").get<double>();
  r.train_loss = j.at("train_loss").get<double>();
  r.train_accuracy = j.at("train_accuracy").get<double>();
  r.images_per_second = j.at("images_per_second").get<double>();
  get(j, "val_loss", r.val_loss);
  get(j, "val_nll", r.val_nll);
  get(j, "val_accuracy", r.val_accuracy);
  get(j, "val_ece", r.val_ece);
  r.loader = j.value("loader", json::object());
  r.bad_images = json_int(j, "bad_images", 0);
  get(j, "teacher_gamma", r.teacher_gamma);
  get(j, "mi", r.mi);
  get(j, "mi_raw", r.mi_raw);
  get(j, "mi_sigma2", r.mi_sigma2);
  if (j.contains("mi_steps"))
    for (const auto& m : j.at("mi_steps"))
      r.mi_steps.push_back(
          {json_int(m.at("step")),
           m.at("mi").get<double>(),
           m.at("mi_raw").get<double>(),
           m.at("mi_sigma2").get<double>()});
  r.steps = json_int(j, "steps", 0);
  if (j.contains("world_size"))
    r.world_size = json_int(j.at("world_size"));
  r.seconds = j.at("seconds").get<double>();
}

void to_json(json& j, const EvalRecord& r) {
  j = json::object();
  j["epochs_done"] = r.epochs_done;
  j["bins"] = r.bins;
  j["precision"] = model::precision_name(r.precision);
  if (r.val)
    j["val"] = calib::to_json(*r.val, false);
  j["test"] = calib::to_json(r.test, false);
  j["temperature"] = r.temperature ? calib::to_json(*r.temperature) : json(nullptr);
  if (r.test_scaled)
    j["test_scaled"] = calib::to_json(*r.test_scaled, false);
  json gamma = {{"temperature", r.gamma.temperature}};
  put(gamma, "val", r.gamma.val);
  put(gamma, "test", r.gamma.test);
  put(gamma, "train", r.gamma.train);
  j["gamma"] = gamma;
}

void from_json(const json& j, EvalRecord& r) {
  r.epochs_done = json_int(j.at("epochs_done"));
  r.bins = json_int(j.at("bins"));
  if (j.contains("precision"))
    r.precision = model::parse_precision(j.at("precision").get<std::string>());
  if (j.contains("val"))
    r.val = calib::metrics_from_json(j.at("val"));
  r.test = calib::metrics_from_json(j.at("test"));
  if (!j.at("temperature").is_null())
    r.temperature = calib::fit_from_json(j.at("temperature"));
  if (j.contains("test_scaled"))
    r.test_scaled = calib::metrics_from_json(j.at("test_scaled"));
  const auto& g = j.at("gamma");
  r.gamma.temperature = g.at("temperature").get<double>();
  get(g, "val", r.gamma.val);
  get(g, "test", r.gamma.test);
  get(g, "train", r.gamma.train);
}

DataInfo data_info(const data::DataBundle& d) {
  DataInfo i;
  i.name = d.name;
  i.spec = d.spec;
  i.num_classes = d.num_classes;
  i.class_names = d.class_names;
  i.shape = {d.channels, d.height, d.width};
  i.mean = d.mean;
  i.std = d.std;
  i.train_size = d.train.size();
  i.val_size = d.val.size();
  i.test_size = d.test.size();
  return i;
}

// ---- RunDir -----------------------------------------------------------------------------------------------------

std::string RunDir::name() const {
  return (dir_.filename().empty() ? dir_.parent_path() : dir_).filename().string();
}

fs::path RunDir::outputs_file(const std::string& split, const std::string& kind) const {
  return dir_ / (split + "_" + kind + ".npy");
}

bool RunDir::has_config() const {
  return fs::exists(config_file());
}
bool RunDir::has_checkpoint() const {
  return fs::exists(checkpoint_file());
}

RunRecord RunDir::read_config() const {
  if (!fs::is_directory(dir_))
    throw Error(fmt::format("{}: no such run folder", dir_.string()), "create one with: smoothlab train --out DIR");
  if (!has_config())
    throw Error(
        fmt::format("{}: not a run folder (no config.json)", dir_.string()),
        "create one with: smoothlab train --out DIR");
  return read_record<RunRecord>(
      config_file(), "run configuration", "rerun with --force to start over", [](const json& j) {
        return j.get<RunRecord>();
      });
}

std::vector<EpochRecord> RunDir::read_metrics() const {
  std::vector<EpochRecord> records;
  const fs::path path = metrics_file();
  if (!fs::exists(path))
    return records;
  std::ifstream in(path);
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty())
      continue;
    records.push_back(rethrow_naming(
        fmt::format("{}:{}: unreadable epoch record", path.string(), line_number),
        "the file is rewritten atomically, so this is damage from outside: rerun with --force",
        [&] { return json::parse(line).get<EpochRecord>(); }));
  }
  return records;
}

EvalRecord RunDir::read_eval() const {
  return read_record<EvalRecord>(
      eval_file(), "evaluation", "evaluate the run again: smoothlab eval RUN_DIR", [](const json& j) {
        return j.get<EvalRecord>();
      });
}

CalibrationRecord RunDir::read_calibration() const {
  return read_record<CalibrationRecord>(
      calibration_file(), "calibration report", "evaluate the run again: smoothlab eval RUN_DIR", [](const json& j) {
        CalibrationRecord c;
        c.before = calib::metrics_from_json(j.at("before"));
        if (j.contains("after"))
          c.after = calib::metrics_from_json(j.at("after"));
        return c;
      });
}

void RunDir::write_config(const RunRecord& record) const {
  write_file_atomic(config_file(), json(record).dump(2) + "\n");
}

void RunDir::write_metrics(const std::vector<EpochRecord>& records) const {
  std::string text;
  for (const auto& r : records)
    text += json(r).dump() + "\n";
  write_file_atomic(metrics_file(), text);
}

void RunDir::write_eval(const EvalRecord& record) const {
  write_file_atomic(eval_file(), json(record).dump(2) + "\n");
}

void RunDir::write_calibration(const json& report) const {
  write_file_atomic(calibration_file(), report.dump(2) + "\n");
}

void RunDir::write_outputs(
    const std::string& split,
    const torch::Tensor& logits,
    const torch::Tensor& labels,
    const torch::Tensor& features) const {
  data::write_npy(outputs_file(split, "logits"), logits);
  data::write_npy(outputs_file(split, "labels"), labels);
  if (features.defined())
    data::write_npy(outputs_file(split, "features"), features);
}

bool RunDir::evaluated(int64_t epochs) const {
  if (!fs::exists(eval_file()))
    return false;
  try {
    return read_eval().epochs_done >= epochs;
  } catch (const Error&) {
    return false; // a damaged eval.json is redone
  }
}

// ---- opening and loading -----------------------------------------------------------------------------------------

OpenedRun open_run(const fs::path& out, ExistingRun mode, const TrainConfig& requested) {
  OpenedRun run{RunDir(out), requested, false, std::nullopt, false};
  if (fs::exists(out) && !fs::is_directory(out))
    throw Error(fmt::format("--out {}: exists and is not a folder", out.string()));
  if (fs::is_directory(out))
    remove_dead_temp_files(out); // a folder that a kill left with only a half-written file is empty
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (mode == ExistingRun::Refuse) {
      // The same command again continues its unfinished run (a crash, a killed rank, a torchrun restart, a requeued
      // job); anything else that is there is refused.
      const std::string options =
          "pass --resume to continue that run as saved, --force to replace it, or choose another --out";
      if (!run.dir.has_config())
        throw Error(fmt::format("--out {}: folder exists and is not empty", out.string()), options);
      auto saved = run.dir.read_config();
      if (const auto diff = first_difference(result_settings(saved.config), result_settings(requested)))
        throw Error(fmt::format("--out {}: holds a run of another configuration ({})", out.string(), *diff), options);
      const int64_t done = run.dir.has_checkpoint() ? checkpoint_epochs(run.dir.checkpoint_file()) : 0;
      if (done >= saved.config.optimiser.epochs)
        throw Error(
            fmt::format(
                "--out {}: holds a finished run of this configuration (epoch {} of {})",
                out.string(),
                done,
                saved.config.optimiser.epochs),
            "pass --force to train it again, or choose another --out");
      run.saved = std::move(saved);
      run.rerun = true; // the requested configuration: the same results, this command's execution settings
    } else if (mode == ExistingRun::Force) {
      run.wipe = true;
    } else if (run.dir.has_config()) {
      run.saved = run.dir.read_config();
      run.config = run.saved->config;
    }
  }
  run.config.validate();
  return run;
}

data::DataOptions data_options(const TrainConfig& c) {
  data::DataOptions o;
  o.spec = c.data.source;
  o.val_size = c.data.val_size;
  o.split_seed = c.data.split_seed;
  o.limit_train = c.data.limit_train;
  o.limit_test = c.data.limit_test;
  o.classes = c.data.classes;
  o.label_noise = c.data.label_noise;
  // image folders (data/image_folder.h)
  o.augment = c.data.augment;
  o.folder.image_size = c.data.image_size;
  o.folder.channels = c.data.image_channels;
  o.folder.augment = c.data.folder_augment;
  if (c.data.rrc_scale.size() == 2)
    o.folder.scale_min = c.data.rrc_scale[0], o.folder.scale_max = c.data.rrc_scale[1];
  if (c.data.rrc_ratio.size() == 2)
    o.folder.ratio_min = c.data.rrc_ratio[0], o.folder.ratio_max = c.data.rrc_ratio[1];
  o.folder.padding = c.data.crop_padding;
  o.folder.filter = c.data.resize_filter;
  o.folder.skip_bad = c.data.skip_bad_images;
  return o;
}

json version_info() {
  return {
      {"smoothlab", SMOOTHLAB_VERSION},
      {"libtorch", TORCH_VERSION},
      {"compiler", fmt::format("{} {}.{}.{}", "gcc", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__)},
      {"parallel", at::get_parallel_info().substr(0, 400)},
      {"threads", at::get_num_threads()}};
}

LoadedRun load_run(const fs::path& run_dir, const std::optional<Device>& device_override) {
  LoadedRun run;
  run.dir = RunDir(run_dir);
  run.record = run.dir.read_config();
  run.config = run.record.config;
  run.device = torch_device(device_override.value_or(run.config.execution.device));
  if (!run.dir.has_checkpoint())
    throw Error(
        fmt::format("{}: run has no checkpoint yet", run_dir.string()),
        "finish at least one epoch: smoothlab train --resume --out " + run_dir.string());
  run.data = data::load_data(data_options(run.config));
  run.model =
      model::make_model(run.config.model, {run.data.channels, run.data.height, run.data.width, run.data.num_classes});
  run.epochs_done = load_checkpoint(run.dir.checkpoint_file(), *run.model, nullptr);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

} // namespace smoothlab::train
