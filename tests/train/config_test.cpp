// TrainConfig's enum-like options (--precision, --loss-impl, --schedule, --folder-augment, --resize-filter, --device):
// each has one parser and one name function, next to its type in the room that owns it. Every value's name parses
// back to it, an unknown name is refused naming the option (with the known names in the hint), and config.json
// spells each option by that name and is read back through that parser.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/augment.h"
#include "smoothlab/data/resample.h"
#include "smoothlab/loss/label_smoothing.h"
#include "smoothlab/model/precision.h"
#include "smoothlab/train/config.h"
#include "smoothlab/train/device.h"
#include "smoothlab/train/schedule.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// The model's defaults where none was given, one rule for every front end: lr 0.1 at the global batch 128, scaled
// linearly below it (lr·B/128), and the model's crop padding (cnn 2, others 4); given values stay.
TEST(TrainConfigDefaults, TheModelFillsWhatWasNotGiven) {
  train::TrainConfig c;
  c.model = "cnn";
  c.optimiser.batch_size = 32;
  train::fill_model_defaults(c, std::nullopt, std::nullopt);
  EXPECT_DOUBLE_EQ(c.optimiser.lr, 0.1 * 32 / 128);
  EXPECT_EQ(c.data.crop_padding, 2);
  train::fill_model_defaults(c, std::nullopt, std::nullopt, 4); // 4 ranks: the global batch is 128
  EXPECT_DOUBLE_EQ(c.optimiser.lr, 0.1);
  c.model = "resnet20";
  train::fill_model_defaults(c, 0.3, 0);
  EXPECT_EQ(c.optimiser.lr, 0.3);
  EXPECT_EQ(c.data.crop_padding, 0);
  train::fill_model_defaults(c, std::nullopt, std::nullopt);
  EXPECT_EQ(c.data.crop_padding, 4);
}

TEST(TrainConfigEnums, PrecisionNamesRoundTripAndAnUnknownOneIsRefused) {
  for (const auto p : {model::Precision::Fp32, model::Precision::Bf16, model::Precision::Fp16})
    EXPECT_EQ(model::parse_precision(model::precision_name(p)), p);
  EXPECT_TRUE(error_mentions(
      [] { model::parse_precision("fp64"); }, {"--precision: unknown precision 'fp64'"}, {"fp32, bf16, fp16"}));
}

TEST(TrainConfigEnums, LossImplementationNamesRoundTripAndAnUnknownOneIsRefused) {
  for (const auto i : {loss::Implementation::Fused, loss::Implementation::LibTorch})
    EXPECT_EQ(loss::parse_implementation(loss::implementation_name(i)), i);
  EXPECT_TRUE(error_mentions(
      [] { loss::parse_implementation("Fused"); },
      {"--loss-impl: unknown implementation 'Fused'"},
      {"fused, libtorch"}));
}

TEST(TrainConfigEnums, ScheduleNamesRoundTripAndAnUnknownOneIsRefused) {
  for (const auto k : {train::ScheduleKind::Cosine, train::ScheduleKind::Step, train::ScheduleKind::Constant})
    EXPECT_EQ(train::parse_schedule_kind(train::schedule_kind_name(k)), k);
  EXPECT_TRUE(error_mentions(
      [] { train::parse_schedule_kind("linear"); },
      {"--schedule: unknown schedule 'linear'"},
      {"cosine, step, constant"}));
}

TEST(TrainConfigEnums, FolderAugmentNamesRoundTripAndAnUnknownOneIsRefused) {
  for (const auto k :
       {data::TransformKind::RandomResizedCrop, data::TransformKind::PadCrop, data::TransformKind::Center})
    EXPECT_EQ(data::parse_transform_kind(data::transform_kind_name(k)), k);
  EXPECT_STREQ(data::transform_kind_name(data::TransformKind::PadCrop), "pad-crop");
  EXPECT_TRUE(error_mentions(
      [] { data::parse_transform_kind("crop"); },
      {"--folder-augment: unknown augmentation 'crop'"},
      {"rrc", "pad-crop", "center"}));
}

TEST(TrainConfigEnums, ResizeFilterNamesRoundTripAndAnUnknownOneIsRefused) {
  for (const auto f : {data::ResizeFilter::Bilinear, data::ResizeFilter::Bicubic, data::ResizeFilter::Lanczos})
    EXPECT_EQ(data::parse_resize_filter(data::resize_filter_name(f)), f);
  EXPECT_TRUE(error_mentions(
      [] { data::parse_resize_filter("nearest"); },
      {"--resize-filter: unknown filter 'nearest'"},
      {"bilinear, bicubic, lanczos"}));
}

TEST(TrainConfigEnums, DeviceNamesRoundTripAndAnUnknownOneIsRefused) {
  using train::Device;
  for (const auto& d : {Device::cpu(), Device::cuda(), Device::cuda(0), Device::cuda(3), Device::cuda(127)})
    EXPECT_EQ(train::parse_device(train::device_name(d)), d);
  EXPECT_EQ(train::device_name(Device::cpu()), "cpu");
  EXPECT_EQ(train::device_name(Device::cuda()), "cuda"); // the current GPU: not the same spelling as cuda:0
  EXPECT_EQ(train::device_name(Device::cuda(2)), "cuda:2");
  // Every spelling but cpu, cuda and cuda:N (N a device index, written without leading zeros) is refused.
  for (const std::string bad : {"gpu", "CPU", "cudax", "cuda:", "cuda:01", "cuda:-1", "cuda:x", "cuda:1 ", "cuda:128"})
    EXPECT_TRUE(error_mentions(
        [&] { train::parse_device(bad); }, {"--device: unknown device '" + bad + "'"}, {"cpu, cuda, cuda:N"}));
  EXPECT_TRUE(error_mentions([] { train::parse_device("gpu", "device"); }, {"device: unknown device 'gpu'"}));
  // LibTorch's device: the CPU always; a CUDA device refused (naming --device) where LibTorch has no CUDA.
  EXPECT_TRUE(train::torch_device(Device::cpu()).is_cpu());
  if (torch::cuda::is_available())
    EXPECT_EQ(train::torch_device(Device::cuda(0)), c10::Device(c10::kCUDA, 0));
  else
    EXPECT_TRUE(
        error_mentions([] { train::torch_device(Device::cuda(1)); }, {"--device cuda:1: CUDA is not available"}));
}

// config.json: each option by its name, as the command line spells it (so files and run-folder hashes are those of the
// string-typed configuration), read back through its parser; an unknown name in the file is refused naming the option.
TEST(TrainConfigEnums, ConfigJsonSpellsEachOptionByItsName) {
  train::TrainConfig c;
  nlohmann::json j = c;
  EXPECT_EQ(j.at("precision"), "fp32");
  EXPECT_EQ(j.at("loss_impl"), "fused");
  EXPECT_EQ(j.at("schedule"), "cosine");
  EXPECT_EQ(j.at("folder_augment"), "rrc");
  EXPECT_EQ(j.at("resize_filter"), "bilinear");
  EXPECT_EQ(j.at("device"), "cpu");
  c.execution.precision = model::Precision::Fp16;
  c.loss_impl = loss::Implementation::LibTorch;
  c.optimiser.schedule = train::ScheduleKind::Step;
  c.data.folder_augment = data::TransformKind::PadCrop;
  c.data.resize_filter = data::ResizeFilter::Lanczos;
  c.execution.device = train::Device::cuda(1);
  j = c;
  EXPECT_EQ(j.at("precision"), "fp16");
  EXPECT_EQ(j.at("loss_impl"), "libtorch");
  EXPECT_EQ(j.at("schedule"), "step");
  EXPECT_EQ(j.at("folder_augment"), "pad-crop");
  EXPECT_EQ(j.at("resize_filter"), "lanczos");
  EXPECT_EQ(j.at("device"), "cuda:1");
  const auto back = j.get<train::TrainConfig>();
  EXPECT_EQ(back.execution.precision, model::Precision::Fp16);
  EXPECT_EQ(back.loss_impl, loss::Implementation::LibTorch);
  EXPECT_EQ(back.optimiser.schedule, train::ScheduleKind::Step);
  EXPECT_EQ(back.data.folder_augment, data::TransformKind::PadCrop);
  EXPECT_EQ(back.data.resize_filter, data::ResizeFilter::Lanczos);
  EXPECT_EQ(back.execution.device, train::Device::cuda(1));
  EXPECT_EQ(nlohmann::json(back).dump(), j.dump());
  const std::vector<std::pair<std::string, std::string>> options = {
      {"precision", "--precision"},
      {"loss_impl", "--loss-impl"},
      {"schedule", "--schedule"},
      {"folder_augment", "--folder-augment"},
      {"resize_filter", "--resize-filter"},
      {"device", "--device"}};
  for (const auto& [key, option] : options) {
    auto bad = j;
    bad[key] = "bogus";
    EXPECT_TRUE(error_mentions([&] { bad.get<train::TrainConfig>(); }, {option + ": unknown", "'bogus'"})) << key;
  }
}

// Each part of TrainConfig checks its own fields; the data part's ranges are DataOptions' (data/dataset.h), checked
// on the options load_data gets, so a bad --limit-train is refused before config.json is written, not at loading.
TEST(TrainConfigParts, EachPartRefusesItsOwnBadValuesAndTheWholeChecksEveryPart) {
  train::TrainConfig c;
  EXPECT_NO_THROW(c.validate());
  auto refused = [](auto edit, const char* message) {
    train::TrainConfig bad;
    edit(bad);
    EXPECT_ERROR_MENTIONS(bad.validate(), message);
  };
  refused([](train::TrainConfig& b) { b.optimiser.gamma = 0; }, "--gamma must be positive, got 0");
  refused([](train::TrainConfig& b) { b.optimiser.epochs = 0; }, "--epochs must be at least 1, got 0");
  refused([](train::TrainConfig& b) { b.execution.eval_batch_size = 0; }, "eval_batch_size must be at least 1");
  refused([](train::TrainConfig& b) { b.probe.mi_views = 1; }, "--mi-views must be at least 2");
  refused(
      [](train::TrainConfig& b) { b.data.limit_train = -1; }, "--limit-train must be non-negative (0: all), got -1");
  refused([](train::TrainConfig& b) { b.data.val_size = -2; }, "--val-size must be non-negative, got -2");
  refused(
      [](train::TrainConfig& b) {
        b.data.rrc_scale = {0.5, 0.25};
      },
      "--rrc-scale must satisfy 0 < min <= max <= 1");
  refused([](train::TrainConfig& b) { b.data.rrc_ratio = {1.0}; }, "--rrc-scale and --rrc-ratio must each be MIN,MAX");
  refused([](train::TrainConfig& b) { b.data.crop_padding = -1; }, "--crop-padding must be non-negative, got -1");
  refused([](train::TrainConfig& b) { b.smoothing = 1.5; }, "--smoothing");
  // data_options carries the data part over field by field.
  c.data.limit_train = 123;
  c.data.rrc_scale = {0.2, 0.9};
  c.data.crop_padding = 2;
  const auto o = train::data_options(c);
  EXPECT_EQ(o.spec, "fashion-mnist");
  EXPECT_EQ(o.limit_train, 123);
  EXPECT_EQ(o.folder.scale_min, 0.2);
  EXPECT_EQ(o.folder.scale_max, 0.9);
  EXPECT_EQ(o.folder.padding, 2);
}

} // namespace
} // namespace smoothlab::testing
