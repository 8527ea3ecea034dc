// Everything a training run needs, saved as RUN_DIR/config.json so the run can be repeated or resumed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoothlab/data/augment.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/resample.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/schedule.h"

namespace smoothlab::train {

// The enum-like options are typed: parsed from their names once, where text comes in (the command line, from_json),
// and written back by name (to_json), so config.json spells them as --loss-impl, --schedule, ... do.

// The configuration is grouped by what each part decides: the data a run trains on, what is trained (model, loss,
// seed), how it is optimised, where and how fast this process runs it, and what it measures along the way. config.json
// stays flat: one key a field, named as before the grouping (config.cpp), so run folders and their hashes are
// unchanged.
struct TrainConfig {
  // The data: source, split, subset, label noise, augmentation and the image folders' decoding (data::DataOptions).
  struct Data {
    std::string source = "fashion-mnist"; // --data; config.json "data"
    int64_t val_size = -1; // -1: data::default_val_size (5000 for Fashion-MNIST, MNIST, CIFAR; else 10%)
    uint64_t split_seed = 0;
    int64_t limit_train = 0, limit_test = 0;
    // Class subset and symmetric label noise (data::DataOptions::classes, ::label_noise; a study's transfer and
    // label-noise regimes): written to config.json only when set, so the runs of earlier versions keep their keys.
    std::string classes;
    double label_noise = 0;
    bool augment = true; // random crop (padding crop_padding) + horizontal flip
    int64_t crop_padding = 4;

    // image folders (--data folder:DIR; data/image_folder.h): output size, channels, training view, decoding
    int64_t image_size = 224;
    int64_t image_channels = 3; // 3 RGB | 1 gray
    data::TransformKind folder_augment = data::TransformKind::RandomResizedCrop; // rrc | pad-crop | center
    std::vector<double> rrc_scale = {0.08, 1.0};
    std::vector<double> rrc_ratio = {3.0 / 4.0, 4.0 / 3.0};
    data::ResizeFilter resize_filter = data::ResizeFilter::Bilinear; // bilinear | bicubic | lanczos
    bool skip_bad_images = false; // skip unreadable files, list them in RUN_DIR/bad_images.txt

    // Throws Error naming the option for values out of range.
    void validate() const;
  };

  // How it is optimised: SGD with (Nesterov) momentum and weight decay, the learning-rate schedule, clipping.
  struct Optimiser {
    int64_t epochs = 10;
    int64_t batch_size = 128;
    double lr = 0.1;
    double momentum = 0.9;
    bool nesterov = true;
    double weight_decay = 5e-4;
    ScheduleKind schedule = ScheduleKind::Cosine; // cosine | step | constant
    double warmup_epochs = 0.0;
    std::vector<int64_t> milestones; // step schedule: epochs at which lr *= gamma
    double gamma = 0.1;
    double clip_grad_norm = 0.0; // > 0: clip the global gradient norm

    // Throws Error naming the option for values out of range.
    void validate() const;
  };

  // Where and how this process runs it: threads, loader workers, device, precision, distributed batch norm, evaluation
  // batches (threads, workers and device are not result settings: result_settings leaves them out).
  struct Execution {
    int threads = 0; // 0: all cores
    int workers = 2; // loader threads
    Device device; // cpu | cuda | cuda:N
    model::Precision precision = model::Precision::Fp32; // fp32 | bf16 | fp16: the forward pass under autocast
    bool sync_bn = false; // distributed training: batch norm over the global batch (model/sync_batch_norm.h)
    int64_t eval_batch_size = 256; // activations stay cache-sized: faster than 1000 on CPU (docs/performance.md)

    // Throws Error naming the option for values out of range (and a precision the device cannot run).
    void validate() const;
  };

  // What a run measures along the way: the ECE bins of its validation (and test) metrics, and the mutual-information
  // logging ([M] §4, Fig. 6; represent/mi_probe.h).
  struct Probe {
    int64_t bins = 15;
    std::string mi_classes; // "" off, else "a,b" (names or indices)
    int64_t mi_examples = 300; // per class
    int64_t mi_views = 5;
    int64_t mi_every = 0; // also every N optimizer steps from step 0 (Fig. 6's curve); 0: at each epoch's end only

    // Throws Error naming the option for values out of range.
    void validate() const;
  };

  Data data;
  // model and loss
  std::string model = "cnn";
  double smoothing = 0.0;
  loss::Implementation loss_impl = loss::Implementation::Fused; // fused | libtorch
  // The seed of the weights' initialisation, the training order and augmentation, and the MI probe's views: with
  // model and smoothing, what names a run (runs/<model>_eps<ε>_seed<seed>, a study's runs per seed).
  uint64_t seed = 0;
  Optimiser optimiser;
  Execution execution;
  Probe probe;

  // Throws Error naming the option for values out of range: the top-level fields', then each part's.
  void validate() const;
};

// The model's defaults where a front end was given none, as `smoothlab train` and smoothlab.train fill them: the
// learning rate of config.model at the global batch (batch_size × world_size; model::default_lr) and its crop
// padding (model::default_crop_padding).
void fill_model_defaults(
    TrainConfig& config,
    std::optional<double> lr,
    std::optional<int64_t> crop_padding,
    int64_t world_size = 1);

// What data::load_data takes for the run's data part; Data::validate checks it with DataOptions::validate.
data::DataOptions data_options(const TrainConfig::Data& data);
inline data::DataOptions data_options(const TrainConfig& config) {
  return data_options(config.data);
}

void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);

// The settings that decide a run's result: the configuration without this process's execution settings (threads,
// loader workers, device). The ranks of one run must agree on them; rerunning a command with the same ones continues
// its run (run_loading.h open_run).
nlohmann::json result_settings(const TrainConfig& c);

// The first key whose value differs, as "key: A in the run, B here" (nullopt when equal). Both are JSON objects.
std::optional<std::string> first_difference(const nlohmann::json& saved, const nlohmann::json& requested);

} // namespace smoothlab::train
