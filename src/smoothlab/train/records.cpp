// The run folder's records ↔ JSON (records.h).
#include "smoothlab/train/records.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/json_int.h"

namespace smoothlab::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
  j["loader"] = r.loader ? json(*r.loader) : json::object();
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
  if (j.contains("loader") && j.at("loader").is_object() && !j.at("loader").empty())
    r.loader = j.at("loader").get<data::LoaderSummary>();
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

VersionInfo versions() {
  return {
      SMOOTHLAB_VERSION,
      TORCH_VERSION,
      fmt::format("{} {}.{}.{}", "gcc", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__),
      at::get_parallel_info().substr(0, 400),
      at::get_num_threads()};
}

json to_json(const VersionInfo& v) {
  return {
      {"smoothlab", v.smoothlab},
      {"libtorch", v.libtorch},
      {"compiler", v.compiler},
      {"parallel", v.parallel},
      {"threads", v.threads}};
}

} // namespace smoothlab::train
