#include "smoothlab/train/config.h"

#include <cmath>
#include <string>
#include <type_traits>

#include "smoothlab/core/error.h"
#include "smoothlab/core/json_diff.h"
#include "smoothlab/core/json_int.h"
#include "smoothlab/model/classifier.h"

namespace smoothlab::train {

// The fields of TrainConfig, one a line: its config.json key (the flat name it had before the grouping) and where it
// lives now (kept from the formatter, which re-wraps a long macro on every run).
// clang-format off
#define SMOOTHLAB_CONFIG_FIELDS(X) \
  X(data, data.source) \
  X(val_size, data.val_size) \
  X(split_seed, data.split_seed) \
  X(limit_train, data.limit_train) \
  X(limit_test, data.limit_test) \
  X(augment, data.augment) \
  X(crop_padding, data.crop_padding) \
  X(model, model) \
  X(smoothing, smoothing) \
  X(loss_impl, loss_impl) \
  X(epochs, optimiser.epochs) \
  X(batch_size, optimiser.batch_size) \
  X(lr, optimiser.lr) \
  X(momentum, optimiser.momentum) \
  X(nesterov, optimiser.nesterov) \
  X(weight_decay, optimiser.weight_decay) \
  X(schedule, optimiser.schedule) \
  X(warmup_epochs, optimiser.warmup_epochs) \
  X(milestones, optimiser.milestones) \
  X(gamma, optimiser.gamma) \
  X(clip_grad_norm, optimiser.clip_grad_norm) \
  X(seed, seed) \
  X(threads, execution.threads) \
  X(workers, execution.workers) \
  X(device, execution.device) \
  X(precision, execution.precision) \
  X(sync_bn, execution.sync_bn) \
  X(eval_batch_size, execution.eval_batch_size) \
  X(bins, probe.bins) \
  X(mi_classes, probe.mi_classes) \
  X(mi_examples, probe.mi_examples) \
  X(mi_views, probe.mi_views) \
  X(mi_every, probe.mi_every) \
  X(image_size, data.image_size) \
  X(image_channels, data.image_channels) \
  X(folder_augment, data.folder_augment) \
  X(rrc_scale, data.rrc_scale) \
  X(rrc_ratio, data.rrc_ratio) \
  X(resize_filter, data.resize_filter) \
  X(skip_bad_images, data.skip_bad_images)
// clang-format on

namespace {

// A field's JSON value: an enum-like option by its name (as on the command line), anything else as nlohmann writes it.
template <typename T>
nlohmann::json config_field_json(const T& value) {
  static_assert(!std::is_enum_v<T>, "an enum field is written by its name: add its overload");
  return value;
}
nlohmann::json config_field_json(loss::Implementation value) {
  return loss::implementation_name(value);
}
nlohmann::json config_field_json(ScheduleKind value) {
  return schedule_kind_name(value);
}
nlohmann::json config_field_json(const Device& value) {
  return device_name(value);
}
nlohmann::json config_field_json(model::Precision value) {
  return model::precision_name(value);
}
nlohmann::json config_field_json(data::TransformKind value) {
  return data::transform_kind_name(value);
}
nlohmann::json config_field_json(data::ResizeFilter value) {
  return data::resize_filter_name(value);
}

// The inverse: an enum-like option through its parser (an unknown name is an Error naming the option).
template <typename T>
void config_field_from_json(const nlohmann::json& j, T& out) {
  static_assert(!std::is_enum_v<T>, "an enum field is read by its name: add its overload");
  json_get(j, out);
}
void config_field_from_json(const nlohmann::json& j, loss::Implementation& out) {
  out = loss::parse_implementation(j.get<std::string>());
}
void config_field_from_json(const nlohmann::json& j, ScheduleKind& out) {
  out = parse_schedule_kind(j.get<std::string>());
}
void config_field_from_json(const nlohmann::json& j, Device& out) {
  out = parse_device(j.get<std::string>());
}
void config_field_from_json(const nlohmann::json& j, model::Precision& out) {
  out = model::parse_precision(j.get<std::string>());
}
void config_field_from_json(const nlohmann::json& j, data::TransformKind& out) {
  out = data::parse_transform_kind(j.get<std::string>());
}
void config_field_from_json(const nlohmann::json& j, data::ResizeFilter& out) {
  out = data::parse_resize_filter(j.get<std::string>());
}

} // namespace

void to_json(nlohmann::json& j, const TrainConfig& c) {
#define X(key, field) j[#key] = config_field_json(c.field);
  SMOOTHLAB_CONFIG_FIELDS(X)
#undef X
  if (!c.data.classes.empty())
    j["classes"] = c.data.classes;
  if (c.data.label_noise != 0)
    j["label_noise"] = c.data.label_noise;
}

nlohmann::json result_settings(const TrainConfig& c) {
  nlohmann::json j = c;
  for (const char* k : {"threads", "workers", "device"})
    j.erase(k);
  return j;
}

std::optional<std::string> first_difference(const nlohmann::json& saved, const nlohmann::json& requested) {
  const auto key = first_different_key(saved, requested);
  if (!key)
    return std::nullopt;
  auto shown = [&](const nlohmann::json& j) { return j.contains(*key) ? j.at(*key).dump() : std::string("nothing"); };
  return fmt::format("{}: {} in the run, {} here", *key, shown(saved), shown(requested));
}

void from_json(const nlohmann::json& j, TrainConfig& c) {
#define X(key, field)   \
  if (j.contains(#key)) \
    config_field_from_json(j.at(#key), c.field);
  SMOOTHLAB_CONFIG_FIELDS(X)
#undef X
  if (j.contains("classes"))
    j.at("classes").get_to(c.data.classes);
  if (j.contains("label_noise"))
    j.at("label_noise").get_to(c.data.label_noise);
}

void TrainConfig::Data::validate() const {
  // The ranges are DataOptions' (data/dataset.h), checked on the options load_data gets from this part.
  check(
      rrc_scale.size() == 2 && rrc_ratio.size() == 2,
      "--rrc-scale and --rrc-ratio must each be MIN,MAX, got {} and {} numbers",
      rrc_scale.size(),
      rrc_ratio.size());
  data_options(*this).validate();
}

data::DataOptions data_options(const TrainConfig::Data& d) {
  data::DataOptions o;
  o.spec = d.source;
  o.val_size = d.val_size;
  o.split_seed = d.split_seed;
  o.limit_train = d.limit_train;
  o.limit_test = d.limit_test;
  o.classes = d.classes;
  o.label_noise = d.label_noise;
  // image folders (data/image_folder.h)
  o.augment = d.augment;
  o.folder.image_size = d.image_size;
  o.folder.channels = d.image_channels;
  o.folder.augment = d.folder_augment;
  if (d.rrc_scale.size() == 2)
    o.folder.scale_min = d.rrc_scale[0], o.folder.scale_max = d.rrc_scale[1];
  if (d.rrc_ratio.size() == 2)
    o.folder.ratio_min = d.rrc_ratio[0], o.folder.ratio_max = d.rrc_ratio[1];
  o.folder.padding = d.crop_padding;
  o.folder.filter = d.resize_filter;
  o.folder.skip_bad = d.skip_bad_images;
  return o;
}

void TrainConfig::Optimiser::validate() const {
  check(epochs >= 1, "--epochs must be at least 1, got {}", epochs);
  check(batch_size >= 1, "--batch-size must be at least 1, got {}", batch_size);
  check(lr > 0 && std::isfinite(lr), "--lr must be positive, got {}", lr);
  check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got {}", momentum);
  check(weight_decay >= 0, "--weight-decay must be non-negative, got {}", weight_decay);
  check(
      warmup_epochs >= 0 && warmup_epochs < double(epochs),
      "--warmup-epochs must be in [0, epochs), got {}",
      warmup_epochs);
  check(clip_grad_norm >= 0, "--clip-grad-norm must be non-negative, got {}", clip_grad_norm);
  check(gamma > 0 && std::isfinite(gamma), "--gamma must be positive, got {}", gamma);
}

void TrainConfig::Execution::validate() const {
  check(threads >= 0, "--threads must be non-negative, got {}", threads);
  check(workers >= 0, "--workers must be non-negative, got {}", workers);
  check(eval_batch_size >= 1, "eval_batch_size must be at least 1, got {}", eval_batch_size);
  model::check_precision(precision, device.is_cuda() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU));
}

void TrainConfig::Probe::validate() const {
  check(bins >= 1, "--bins must be at least 1, got {}", bins);
  check(mi_examples >= 1, "--mi-examples must be at least 1, got {}", mi_examples);
  check(mi_every >= 0, "--mi-every must be non-negative (0: once per epoch), got {}", mi_every);
  check(mi_views >= 2, "--mi-views must be at least 2 (σ² is pooled over views), got {}", mi_views);
}

void fill_model_defaults(
    TrainConfig& config,
    std::optional<double> lr,
    std::optional<int64_t> crop_padding,
    int64_t world_size) {
  config.optimiser.lr = lr ? *lr : model::default_lr(config.model, config.optimiser.batch_size * world_size);
  config.data.crop_padding = crop_padding ? *crop_padding : model::default_crop_padding(config.model);
}

// One bad value is reported as before the grouping; of several, the first in this order (the precision the device
// cannot run now comes with the execution part, before the data's checks, where it used to come last).
void TrainConfig::validate() const {
  loss::check_smoothing(smoothing, "--smoothing");
  optimiser.validate();
  execution.validate();
  data.validate();
  probe.validate();
}

} // namespace smoothlab::train
