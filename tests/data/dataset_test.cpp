// Data sources by name, the stratified validation split, labels out of range, and the batch loader.
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/idx.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/data/split.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(StratifiedSplit, ExactSizeProportionalAndDeterministic) {
  // 60 of class 0, 30 of class 1, 10 of class 2; hold out 10 → 6, 3, 1.
  auto labels = torch::cat({torch::zeros({60}), torch::ones({30}), torch::full({10}, 2)}).to(torch::kInt64);
  auto [kept, held] = data::stratified_split(labels, 3, 10, 7);
  EXPECT_EQ(held.size(0), 10);
  EXPECT_EQ(kept.size(0), 90);
  auto held_labels = labels.index_select(0, held);
  EXPECT_EQ(held_labels.eq(0).sum().item<int64_t>(), 6);
  EXPECT_EQ(held_labels.eq(1).sum().item<int64_t>(), 3);
  EXPECT_EQ(held_labels.eq(2).sum().item<int64_t>(), 1);
  // disjoint and complete
  EXPECT_EQ(std::get<0>(torch::_unique(torch::cat({kept, held}))).size(0), 100);
  auto [kept2, held2] = data::stratified_split(labels, 3, 10, 7);
  EXPECT_TRUE(held.equal(held2));
  auto [kept3, held3] = data::stratified_split(labels, 3, 10, 8);
  EXPECT_FALSE(held.equal(held3));
}

TEST(StratifiedSplit, LargestRemainderKeepsTheTotal) {
  // Three equal classes of 10, hold out 10: 3.33 each → 4, 3, 3 in some order.
  auto labels = torch::arange(30).remainder(3);
  auto [kept, held] = data::stratified_split(labels, 3, 10, 0);
  EXPECT_EQ(held.size(0), 10);
  auto counts = torch::bincount(labels.index_select(0, held));
  EXPECT_EQ(counts.max().item<int64_t>(), 4);
  EXPECT_EQ(counts.min().item<int64_t>(), 3);
}

TEST(LoadData, IdxFolderSplitsAndNormalisation) {
  TempDir dir;
  write_idx_folder(dir.path(), 60, 12, 8, 8, 3, true);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 12;
  auto b = data::load_data(o);
  EXPECT_EQ(b.num_classes, 3);
  EXPECT_EQ(b.train.size(), 48);
  EXPECT_EQ(b.val.size(), 12);
  EXPECT_EQ(b.test.size(), 12);
  EXPECT_EQ(b.channels, 1);
  EXPECT_EQ(b.height, 8);
  // mean of the training images in [0, 1] units, computed independently
  const double mean = b.train.images.to(torch::kFloat64).mean().item<double>() / 255.0;
  EXPECT_NEAR(b.mean[0], mean, 1e-6);
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"0", "1", "2"}));
}

// An in-memory source is decoded once per folder and its files (dataset.cpp, load_in_memory): a second load gives the
// same tensors as its own copies (writing into one load's images changes no later load), and a rewritten file is
// read again.
TEST(LoadData, KeptSourceIsACopyAndFollowsItsFiles) {
  TempDir dir;
  write_idx_folder(dir.path(), 60, 12, 8, 8, 3, true);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 12;
  auto first = data::load_data(o);
  const auto test_images = first.test.images.clone(), train_images = first.train.images.clone();
  first.test.images.fill_(7);
  first.train.images.fill_(7);
  first.test.labels.fill_(0);
  const auto second = data::load_data(o);
  EXPECT_TRUE(second.test.images.equal(test_images));
  EXPECT_TRUE(second.train.images.equal(train_images));
  EXPECT_EQ(second.test.labels.max().item<int64_t>(), 2);
  EXPECT_FALSE(second.test.images.data_ptr() == first.test.images.data_ptr());
  // A rewritten test file (other content, size and inode) is decoded again.
  data::write_idx(dir.path() / "t10k-images-idx3-ubyte.gz", torch::full({12, 8, 8}, 3, torch::kUInt8), true);
  const auto third = data::load_data(o);
  EXPECT_TRUE(third.test.images.equal(torch::full({12, 1, 8, 8}, 3, torch::kUInt8)));
  EXPECT_TRUE(third.train.images.equal(train_images));
  // Another folder with the same loader replaces the kept source; the first folder is then read again from disk.
  TempDir other;
  write_idx_folder(other.path(), 30, 6, 8, 8, 3, true);
  data::DataOptions p = o;
  p.spec = "idx:" + other.path().string();
  p.val_size = 6;
  EXPECT_EQ(data::load_data(p).test.size(), 6);
  EXPECT_TRUE(data::load_data(o).test.images.equal(third.test.images));
}

// --classes keeps the listed classes' examples of every split (the same held-out examples as without it), relabelled
// in the list's order.
TEST(LoadData, ClassSubsetKeepsTheSplitsAndRelabels) {
  TempDir dir;
  write_idx_folder(dir.path(), 60, 12, 8, 8, 3, true);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 12;
  const auto all = data::load_data(o);
  o.classes = "2,0";
  const auto b = data::load_data(o);
  EXPECT_EQ(b.num_classes, 2);
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"2", "0"}));
  for (const auto* split : {&all.train, &all.val, &all.test}) {
    const auto& sub = split == &all.train ? b.train : split == &all.val ? b.val : b.test;
    const auto keep = (split->labels == 2).logical_or(split->labels == 0);
    ASSERT_EQ(sub.size(), keep.sum().item<int64_t>());
    EXPECT_TRUE(sub.images.equal(split->images.index({keep})));
    EXPECT_TRUE(sub.labels.equal((split->labels.index({keep}) == 0).to(torch::kInt64))); // 2 → 0, 0 → 1
  }
  EXPECT_TRUE(b.train_index.equal(all.train_index.index({(all.train.labels != 1)})));
  EXPECT_EQ(b.mean, all.mean); // the whole training split's
  o.classes = "2";
  EXPECT_ERROR_MENTIONS(data::load_data(o), "--classes 2", "at least 2");
  o.classes = "0,0";
  EXPECT_ERROR_MENTIONS(data::load_data(o), "listed twice");
  o.classes = "0,7";
  EXPECT_ERROR_MENTIONS(data::load_data(o), "--classes", "unknown class '7'");
}

// --label-noise: exactly round(share · n) training and validation labels are wrong, each wrong label is one of the
// other classes, the test labels stay clean, and the same split seed gives the same noise.
TEST(LoadData, SymmetricLabelNoiseOnExactlyTheShare) {
  TempDir dir;
  write_idx_folder(dir.path(), 600, 60, 4, 4, 5, true);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 100;
  const auto clean = data::load_data(o);
  o.label_noise = 0.4;
  const auto noisy = data::load_data(o);
  EXPECT_EQ(noisy.train.labels.ne(clean.train.labels).sum().item<int64_t>(), 200); // 0.4 · 500
  EXPECT_EQ(noisy.val.labels.ne(clean.val.labels).sum().item<int64_t>(), 40);
  EXPECT_TRUE(noisy.test.labels.equal(clean.test.labels));
  EXPECT_TRUE(noisy.train.images.equal(clean.train.images));
  EXPECT_TRUE(data::load_data(o).train.labels.equal(noisy.train.labels));
  // Each of the K − 1 other classes about equally often: 200 flips over 4 offsets, 50 ± 3·√(200·¼·¾).
  const auto offset = (noisy.train.labels - clean.train.labels).remainder(5);
  for (int64_t d = 1; d < 5; ++d)
    EXPECT_NEAR(offset.eq(d).sum().item<int64_t>(), 50, 19) << "offset " << d;
  o.label_noise = 1.0;
  EXPECT_ERROR_MENTIONS(data::load_data(o), "--label-noise", "[0, 1)");
}

TEST(LoadData, ErrorsNameTheProblem) {
  TempDir dir;
  auto load = [](const std::string& spec) {
    data::DataOptions o;
    o.spec = spec;
    o.val_size = 2;
    data::load_data(o);
  };
  // the hint lists the table's sources, as --data spells them
  EXPECT_TRUE(error_mentions(
      [&] { load("imagenet"); }, {"--data: unknown data source 'imagenet'"}, {"known: " + join(data::source_names())}));
  EXPECT_ERROR_MENTIONS(load("idx:" + (dir / "nope").string()), "no such folder");
  EXPECT_ERROR_MENTIONS(load("cifar10"), "--data cifar10: needs a folder, as in --data cifar10:DIR");
  write_idx_folder(dir / "a", 10, 4);
  fs::remove(dir / "a" / "t10k-labels-idx1-ubyte");
  EXPECT_ERROR_MENTIONS(load("idx:" + (dir / "a").string()), "t10k-labels-idx1-ubyte");
  // count mismatch between images and labels
  write_idx_folder(dir / "b", 10, 4);
  data::write_idx(dir / "b" / "train-labels-idx1-ubyte", torch::zeros({9}, torch::kUInt8));
  EXPECT_ERROR_MENTIONS(load("idx:" + (dir / "b").string()), "10 images but");
  // labels out of range for MNIST's 10 classes
  write_idx_folder(dir / "c", 10, 4);
  data::write_idx(dir / "c" / "t10k-labels-idx1-ubyte", torch::tensor({0, 1, 2, 11}).to(torch::kUInt8));
  EXPECT_ERROR_MENTIONS(load("mnist:" + (dir / "c").string()), "labels range over 0..11, expected 0..9");
}

// The one table of sources: every name it lists is a source load_data knows (a missing folder is its error, never
// "unknown data source"), and --val-size's default follows the table.
TEST(LoadData, SourceTableIsTheOneListOfNames) {
  const std::vector<std::string> expected = {
      "fashion-mnist", "mnist:DIR", "idx:DIR", "cifar10:DIR", "cifar100:DIR", "npy:DIR", "folder:DIR"};
  EXPECT_EQ(data::source_names(), expected);
  TempDir dir;
  for (const auto& usage : data::source_names()) {
    data::DataOptions o;
    o.spec = usage.substr(0, usage.find(':')) + ":" + (dir / "missing").string();
    const std::string message = error_of([&] { data::load_data(o); });
    EXPECT_NE(message.find((dir / "missing").string()), std::string::npos) << usage << ": " << message;
    EXPECT_EQ(message.find("unknown data source"), std::string::npos) << usage << ": " << message;
  }
  EXPECT_EQ(data::default_val_size("fashion-mnist", 60000), 5000);
  EXPECT_EQ(data::default_val_size("cifar100:/x", 50000), 5000);
  EXPECT_EQ(data::default_val_size("idx:/x", 95), 10); // 10%, rounded
  EXPECT_EQ(data::default_val_size("npy:/x", 3), 1); // at least 1
  EXPECT_EQ(data::default_val_size("folder:/x", 200), 20);
}

TEST(LoadData, NpyFolderWithChannelsLast) {
  TempDir dir;
  auto images = torch::randint(0, 255, {20, 6, 5, 3}, torch::kInt64).to(torch::kUInt8);
  data::write_npy(dir / "train_images.npy", images);
  data::write_npy(dir / "train_labels.npy", torch::arange(20).remainder(4).to(torch::kInt32));
  data::write_npy(dir / "test_images.npy", images.slice(0, 0, 8));
  data::write_npy(dir / "test_labels.npy", torch::arange(8).remainder(4));
  data::DataOptions o;
  o.spec = "npy:" + dir.path().string();
  o.val_size = 4;
  auto b = data::load_data(o);
  EXPECT_EQ(b.channels, 3);
  EXPECT_EQ(b.height, 6);
  EXPECT_EQ(b.width, 5);
  EXPECT_EQ(b.num_classes, 4);
  // [N, H, W, C] → [N, C, H, W]: test image 1, channel 2, row 3, column 4
  EXPECT_EQ(b.test.images[1][2][3][4].item<int64_t>(), images[1][3][4][2].item<int64_t>());
}

TEST(ParseClasses, NamesIndicesAndErrors) {
  std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover"};
  EXPECT_EQ(data::parse_classes("T-shirt/top, Pullover", names, "--classes"), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(data::parse_classes("1,2", names, "--classes"), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(
      error_mentions([&] { data::parse_classes("Shoe", names, "--classes"); }, {"unknown class 'Shoe'"}, {"Trouser"}));
}

data::Dataset ramp_dataset(int64_t n, int64_t h, int64_t w) {
  // image i: pixel (y, x) = 10·y + x + i (mod 256), one channel
  auto y = torch::arange(h).view({h, 1}) * 10, x = torch::arange(w).view({1, w});
  auto base = (y + x).unsqueeze(0) + torch::arange(n).view({n, 1, 1});
  return {base.remainder(256).to(torch::kUInt8).unsqueeze(1), torch::arange(n).remainder(2)};
}

TEST(BatchLoader, NormalisesWithoutAugmentation) {
  auto d = ramp_dataset(10, 4, 5);
  auto loader = data::make_eval_loader(d, 4, {0.5f}, {0.25f}, 2);
  loader->start_epoch(0);
  data::Batch batch;
  int64_t seen = 0;
  while (loader->next(batch)) {
    auto expected = (d.images.index_select(0, batch.indices).to(torch::kFloat32) / 255.0 - 0.5) / 0.25;
    EXPECT_TENSOR_NEAR(batch.images, expected, 1e-6, 1e-6);
    EXPECT_TRUE(batch.labels.equal(d.labels.index_select(0, batch.indices)));
    seen += batch.labels.size(0);
  }
  EXPECT_EQ(seen, 10);
  EXPECT_EQ(loader->num_batches(), 3);
}

TEST(BatchLoader, CropAndFlipGeometry) {
  // With padding p every output pixel is either the padding value or an input pixel shifted by (dy, dx) with
  // |dy|, |dx| ≤ p, possibly mirrored: check each augmented image is exactly one of those candidates.
  auto d = ramp_dataset(16, 6, 7);
  data::LoaderOptions o;
  o.batch_size = 16;
  o.crop_padding = 2;
  o.hflip = true;
  o.workers = 0;
  o.seed = 3;
  data::BatchLoader loader(std::make_shared<data::TensorSource>(d), std::make_shared<data::SequentialSampler>(16), o);
  loader.start_epoch(5);
  data::Batch batch;
  ASSERT_TRUE(loader.next(batch));
  int flipped = 0, shifted = 0;
  for (int64_t i = 0; i < 16; ++i) {
    auto src = d.images[i][0].to(torch::kFloat32) / 255.0;
    auto padded = torch::constant_pad_nd(src, {2, 2, 2, 2}, 0.0);
    bool matched = false;
    for (int64_t top = 0; top <= 4 && !matched; ++top)
      for (int64_t left = 0; left <= 4 && !matched; ++left)
        for (bool flip : {false, true}) {
          auto crop = padded.slice(0, top, top + 6).slice(1, left, left + 7);
          if (flip)
            crop = crop.flip({1});
          if (torch::allclose(batch.images[i][0], crop, 1e-6, 1e-6)) {
            matched = true;
            flipped += flip;
            shifted += (top != 2 || left != 2);
            break;
          }
        }
    EXPECT_TRUE(matched) << "example " << i;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
  EXPECT_GT(shifted, 0);
}

TEST(BatchLoader, DeterministicAcrossWorkersAndEpochsDiffer) {
  auto d = ramp_dataset(50, 6, 6);
  auto run = [&](int workers, int64_t epoch) {
    data::LoaderOptions o;
    o.batch_size = 8;
    o.crop_padding = 1;
    o.hflip = true;
    o.workers = workers;
    o.seed = 11;
    data::BatchLoader loader(std::make_shared<data::TensorSource>(d), std::make_shared<data::RandomSampler>(50, 11), o);
    loader.start_epoch(epoch);
    std::vector<torch::Tensor> images, indices;
    data::Batch b;
    while (loader.next(b)) {
      images.push_back(b.images);
      indices.push_back(b.indices);
    }
    return std::make_pair(torch::cat(images), torch::cat(indices));
  };
  auto [a_images, a_idx] = run(0, 2);
  auto [b_images, b_idx] = run(3, 2);
  EXPECT_TRUE(a_images.equal(b_images));
  EXPECT_TRUE(a_idx.equal(b_idx));
  EXPECT_EQ(std::get<0>(torch::_unique(a_idx)).size(0), 50); // a permutation
  auto [c_images, c_idx] = run(0, 3);
  EXPECT_FALSE(a_idx.equal(c_idx));
}

// The splits are one type inside; their names are parsed where they come in and printed where they go out.
TEST(Split, NamesRoundTripAndTheBundleLooksThemUp) {
  for (const auto split : {data::Split::Train, data::Split::Val, data::Split::Test})
    EXPECT_EQ(data::parse_split(data::split_name(split), "--split"), split);
  EXPECT_STREQ(data::split_name(data::Split::Val), "val");
  EXPECT_TRUE(error_mentions(
      [] { data::parse_split("holdout", "--splits"); },
      {"--splits: unknown split 'holdout'"},
      {"known: train, val, test"}));
  EXPECT_TRUE(error_mentions([] { data::parse_split("Train", "--split"); }, {"unknown split 'Train'"}));
  TempDir dir;
  write_idx_folder(dir.path(), 60, 12, 8, 8, 3, true);
  data::DataOptions o;
  o.spec = "idx:" + dir.path().string();
  o.val_size = 12;
  const auto b = data::load_data(o);
  EXPECT_EQ(&b.split(data::Split::Train), &b.train);
  EXPECT_EQ(&b.split(data::Split::Val), &b.val);
  EXPECT_EQ(&b.split(data::Split::Test), &b.test);
}

// DataOptions refuse values out of range before any file is read, naming the command line's option.
TEST(LoadData, OptionsValidateNameTheOption) {
  data::DataOptions o;
  EXPECT_NO_THROW(o.validate());
  o.val_size = 0;
  EXPECT_NO_THROW(o.validate());
  o.val_size = -2;
  EXPECT_ERROR_MENTIONS(o.validate(), "--val-size must be non-negative, got -2");
  o.val_size = data::kAutoValSize;
  o.limit_train = -1;
  EXPECT_ERROR_MENTIONS(data::load_data(o), "--limit-train must be non-negative (0: all), got -1");
  o.limit_train = 0;
  o.label_noise = 1;
  EXPECT_ERROR_MENTIONS(o.validate(), "--label-noise must be in [0, 1), got 1");
  o.label_noise = 0;
  o.folder.channels = 2; // the image folder's options too
  EXPECT_ERROR_MENTIONS(o.validate(), "--image-channels must be 1 or 3, got 2");
}

// LoaderOptions refuse sizes out of range and a normalisation that would divide by zero or read past its end.
TEST(BatchLoader, OptionsValidateNameTheOption) {
  data::LoaderOptions o;
  EXPECT_NO_THROW(o.validate());
  o.batch_size = 0;
  EXPECT_ERROR_MENTIONS(o.validate(), "--batch-size must be positive, got 0");
  o.batch_size = 4;
  o.workers = -1;
  EXPECT_ERROR_MENTIONS(o.validate(), "--workers must be non-negative, got -1");
  o.workers = 0;
  o.mean = {0.5f};
  o.std = {0.0f};
  EXPECT_ERROR_MENTIONS(o.validate(), "normalisation: channel 0", "std positive and finite");
  o.std = {};
  EXPECT_ERROR_MENTIONS(o.validate(), "normalisation: mean has 1 channels, std has 0");
  o.std = {0.25f};
  o.crop_padding = -2;
  auto d = ramp_dataset(4, 6, 6);
  auto make = [&] {
    data::BatchLoader loader(std::make_shared<data::TensorSource>(d), std::make_shared<data::SequentialSampler>(4), o);
  };
  EXPECT_ERROR_MENTIONS(make(), "--crop-padding must be non-negative, got -2"); // the loader validates first
}

} // namespace
} // namespace smoothlab::testing
