// Image folders: listing, classes and splits, the index cache, augmentation geometry and determinism, parallel
// loading, and bad files (error naming the file by default, skipped and listed with skip_bad).
#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/augment.h"
#include "smoothlab/data/dataset.h"
#include "smoothlab/data/image_folder.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// DIR/<class>/<k>.jpg|png: class "a" gets JPEGs, "b" PNGs, "c" a mix; `per_class` images each.
void make_folder(const fs::path& dir, int per_class) {
  for (const std::string cls : {"b", "a", "c"}) {
    fs::create_directories(dir / cls);
    for (int k = 0; k < per_class; ++k) {
      const bool png = cls == "b" || (cls == "c" && k % 2);
      fs::copy_file(
          golden_path(png ? "jpeg_png_rgb.png" : "jpeg_rgb420.jpg"),
          dir / cls / fmt::format("{:03d}.{}", k, png ? "png" : "jpg"));
    }
  }
  std::ofstream(dir / "a" / "notes.txt") << "not an image, ignored (wrong extension)\n";
}

data::DataOptions folder_options(const fs::path& dir, int64_t size = 16) {
  data::DataOptions o;
  o.spec = "folder:" + dir.string();
  o.val_size = 3;
  o.folder.image_size = size;
  return o;
}

std::vector<data::Batch> all_batches(data::BatchLoader& loader, int64_t epoch) {
  std::vector<data::Batch> out;
  loader.start_epoch(epoch);
  for (data::Batch b; loader.next(b);)
    out.push_back(b);
  return out;
}

TEST(FolderDataset, ClassesSplitsAndIndexCache) {
  TempDir dir;
  make_folder(dir.path(), 10);
  const auto b = data::load_data(folder_options(dir.path()));
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"a", "b", "c"})); // sorted folder names
  EXPECT_EQ(b.num_classes, 3);
  // 30 images, no split folders: test and validation held out (3 each, stratified: one per class).
  EXPECT_EQ(b.test.size(), 3);
  EXPECT_EQ(b.val.size(), 3);
  EXPECT_EQ(b.train.size(), 24);
  EXPECT_TRUE(b.train.lazy());
  EXPECT_TRUE(b.train.labels.bincount().equal(torch::tensor({8, 8, 8}, torch::kInt64)));
  EXPECT_EQ(b.channels, 3);
  EXPECT_EQ(b.height, 16);
  EXPECT_EQ(b.mean.size(), 3u);
  ASSERT_TRUE(fs::exists(dir / ".smoothlab-index"));
  // The second listing comes from the cache and is identical; a new file invalidates it.
  const auto first = data::index_image_folder(dir.path(), nullptr, true);
  EXPECT_TRUE(first.from_cache);
  EXPECT_EQ(first.files.size(), 30u);
  EXPECT_EQ(first.files.front(), "a/000.jpg");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fs::copy_file(golden_path("jpeg_rgb420.jpg"), dir / "c" / "zzz.jpg");
  const auto second = data::index_image_folder(dir.path(), nullptr, true);
  EXPECT_FALSE(second.from_cache);
  EXPECT_EQ(second.files.size(), 31u);
  EXPECT_EQ(second.files.back(), "c/zzz.jpg");
  EXPECT_TRUE(data::index_image_folder(dir.path(), nullptr, true).from_cache);
}

TEST(FolderDataset, SplitFoldersAndUnknownClass) {
  TempDir dir;
  make_folder(dir / "train", 4);
  make_folder(dir / "test", 2);
  make_folder(dir / "val", 1);
  auto b = data::load_data(folder_options(dir.path()));
  EXPECT_EQ(b.train.size(), 12); // nothing held out: val/ and test/ exist
  EXPECT_EQ(b.val.size(), 3);
  EXPECT_EQ(b.test.size(), 6);
  fs::create_directories(dir / "test" / "zebra");
  fs::copy_file(golden_path("jpeg_rgb420.jpg"), dir / "test" / "zebra" / "1.jpg");
  EXPECT_TRUE(error_mentions([&] { data::load_data(folder_options(dir.path())); }, {"zebra"}));
}

TEST(FolderDataset, EmptyAndMissingFoldersAreErrors) {
  TempDir dir;
  EXPECT_THROW(data::load_data(folder_options(dir / "nope")), Error);
  EXPECT_THROW(data::load_data(folder_options(dir.path())), Error); // no class folders
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  fs::copy_file(golden_path("jpeg_rgb420.jpg"), dir / "a" / "1.jpg");
  EXPECT_TRUE(error_mentions([&] { data::load_data(folder_options(dir.path())); }, {(dir / "b").string()}));
}

// RandomResizedCrop boxes: inside the image, integer edges, area share within scale, aspect within ratio (up to
// the rounding of w and h to integers), and the torchvision fallback for an extreme aspect.
TEST(FolderAugment, RandomResizedCropGeometry) {
  int flips = 0;
  for (uint64_t h = 0; h < 2000; ++h) {
    data::TransformOptions o;
    o.kind = data::TransformKind::RandomResizedCrop;
    const auto v = data::draw_view(o, 500, 375, data::example_hash(7, 0, int64_t(h)));
    const auto& b = v.box;
    ASSERT_GE(b.x0, 0);
    ASSERT_GE(b.y0, 0);
    ASSERT_LE(b.x1, 500);
    ASSERT_LE(b.y1, 375);
    ASSERT_EQ(b.x0, std::floor(b.x0));
    ASSERT_EQ(b.y1, std::floor(b.y1));
    const double share = b.width() * b.height() / (500.0 * 375.0);
    EXPECT_GE(share, 0.08 * 0.97);
    EXPECT_LE(share, 1.0);
    const double aspect = b.width() / b.height();
    EXPECT_GE(aspect, 0.75 * (1 - 2.0 / b.height()) - 1e-9);
    EXPECT_LE(aspect, 4.0 / 3.0 * (1 + 2.0 / b.height()) + 1e-9);
    flips += v.flip;
  }
  EXPECT_NEAR(flips, 1000, 100); // Binomial(2000, 1/2): ±4.5σ
  // 1000x10 never fits a ratio ≤ 4/3 crop of ≥ 8% area: fallback = full height, width 10·4/3 → 13, centred.
  data::SplitMix rng(1);
  const auto b = data::random_resized_crop_box(1000, 10, 0.08, 1.0, 0.75, 4.0 / 3.0, rng);
  EXPECT_EQ(b.y0, 0);
  EXPECT_EQ(b.y1, 10);
  EXPECT_EQ(b.width(), 13);
  EXPECT_EQ(b.x0, (1000 - 13) / 2);
}

// Resize(256) + CenterCrop(224) of 500x375: resized 341x256, crop at left round(58.5) = 58 (half to even, as
// Python), top 16; in source pixels x ∈ [58·500/341, 282·500/341), y ∈ [16·375/256, 240·375/256).
TEST(FolderAugment, CenterCropBox) {
  const auto b = data::center_crop_box(500, 375, 224);
  EXPECT_DOUBLE_EQ(b.x0, 58.0 * 500 / 341);
  EXPECT_DOUBLE_EQ(b.x1, 282.0 * 500 / 341);
  EXPECT_DOUBLE_EQ(b.y0, 16.0 * 375 / 256);
  EXPECT_DOUBLE_EQ(b.y1, 240.0 * 375 / 256);
}

// The evaluation view of a JPEG against torchvision's Resize(37) + CenterCrop(32) on PIL (two resamplings with
// 8-bit rounding there, one here): within 3 levels, mean under 1.
TEST(FolderAugment, CenterViewMatchesTorchvision) {
  const auto bytes = data::read_bytes(golden_path("jpeg_rgb420.jpg").string());
  data::TransformOptions t;
  t.size = 32;
  std::vector<float> out(3 * 32 * 32);
  data::decode_view(bytes, "x", t, {}, 0, out.data());
  auto got = torch::from_blob(out.data(), {3, 32, 32}).permute({1, 2, 0}) * 255.0f;
  auto expected = data::read_npy(golden_path("jpeg_center32.npy")).to(torch::kFloat);
  EXPECT_TENSOR_NEAR(got, expected, 0, 3.0);
  EXPECT_LT((got - expected).abs().mean().item<double>(), 1.0);
}

// PadCrop: the resized image shifted by (dy, dx) with zeros outside, then mirrored: every output pixel is a known
// pixel of the plain resized view, or 0.
TEST(FolderAugment, PadCropShiftsFlipsAndZeroFills) {
  const auto bytes = data::read_bytes(golden_path("jpeg_png_rgb.png").string());
  // The reference is our own unshifted, unflipped view of the same file (padding 0: the evaluation view).
  data::TransformOptions plain;
  plain.kind = data::TransformKind::PadCrop;
  plain.size = 24;
  plain.padding = 0;
  plain.hflip = false;
  std::vector<float> base(3 * 24 * 24);
  data::decode_view(bytes, "x", plain, {}, 0, base.data());
  data::TransformOptions aug = plain;
  aug.padding = 4;
  aug.hflip = true;
  int shifted = 0;
  for (uint64_t h = 0; h < 20; ++h) {
    const auto v = data::draw_view(aug, 61, 47, h);
    ASSERT_LE(std::abs(v.dy), 4);
    ASSERT_LE(std::abs(v.dx), 4);
    shifted += (v.dy != 0 || v.dx != 0);
    std::vector<float> out(3 * 24 * 24);
    data::decode_view(bytes, "x", aug, {}, h, out.data());
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 24; ++y)
        for (int64_t x = 0; x < 24; ++x) {
          const int64_t sy = y + v.dy, sx = (v.flip ? 23 - x : x) + v.dx;
          const float expected =
              (sy < 0 || sy >= 24 || sx < 0 || sx >= 24) ? 0.0f : base[size_t((c * 24 + sy) * 24 + sx)];
          ASSERT_FLOAT_EQ(out[size_t((c * 24 + y) * 24 + x)], expected) << h << " " << y << " " << x;
        }
  }
  EXPECT_GT(shifted, 10);
}

// The same (seed, epoch) gives the same batches with 0 or 3 workers; another epoch or seed gives other views;
// evaluation splits do not depend on the epoch at all.
TEST(FolderLoader, DeterministicAcrossThreadsAndRuns) {
  TempDir dir;
  make_folder(dir.path(), 6);
  auto o = folder_options(dir.path(), 24);
  o.val_size = 3;
  const auto b = data::load_data(o);
  auto make = [&](int workers, uint64_t seed) {
    data::LoaderOptions lo;
    lo.batch_size = 5;
    lo.workers = workers;
    lo.seed = seed;
    lo.mean = b.mean;
    lo.std = b.std;
    return std::make_unique<data::BatchLoader>(
        std::make_shared<data::TensorSource>(b.train), std::make_shared<data::RandomSampler>(b.train.size(), seed), lo);
  };
  auto serial = make(0, 3), parallel = make(3, 3), other_seed = make(2, 4);
  const auto a1 = all_batches(*serial, 1), p1 = all_batches(*parallel, 1), a2 = all_batches(*serial, 2);
  const auto s1 = all_batches(*other_seed, 1);
  ASSERT_EQ(a1.size(), p1.size());
  ASSERT_EQ(a1.size(), 3u); // 12 training images, batches of 5
  for (size_t i = 0; i < a1.size(); ++i) {
    EXPECT_TRUE(a1[i].images.equal(p1[i].images));
    EXPECT_TRUE(a1[i].labels.equal(p1[i].labels));
    EXPECT_EQ(a1[i].images.size(1), 3);
    EXPECT_EQ(a1[i].images.size(2), 24);
  }
  // Same example in two epochs: another random crop (examples are all copies of two images, so compare by index).
  auto view_of = [](const std::vector<data::Batch>& bs, int64_t index) {
    for (const auto& bt : bs)
      for (int64_t i = 0; i < bt.indices.size(0); ++i)
        if (bt.indices[i].item<int64_t>() == index)
          return bt.images[i].clone();
    return torch::Tensor();
  };
  EXPECT_FALSE(view_of(a1, 0).equal(view_of(a2, 0)));
  EXPECT_FALSE(view_of(a1, 0).equal(view_of(s1, 0)));
  EXPECT_TRUE(view_of(a1, 0).equal(view_of(p1, 0)));
  // Evaluation: deterministic, epoch-independent.
  auto eval = data::make_eval_loader(b.val, 2, b.mean, b.std, 2);
  const auto e0 = all_batches(*eval, 0), e5 = all_batches(*eval, 5);
  ASSERT_EQ(e0.size(), 2u);
  for (size_t i = 0; i < e0.size(); ++i)
    EXPECT_TRUE(e0[i].images.equal(e5[i].images));
  // Statistics: every example counted (the timings themselves are not reproducible: their ratios are checked on
  // stats with known times below).
  const auto stats = eval->stats();
  EXPECT_EQ(stats.examples, 3);
  EXPECT_EQ(stats.batches, 2);
  EXPECT_LE(stats.mean_ready(), double(stats.prefetch));
}

TEST(FolderLoader, StatsRatiosFromKnownTimes) {
  data::LoaderStats s;
  EXPECT_EQ(s.wait_fraction(), 0.0); // no time passed: nothing waited
  EXPECT_EQ(s.mean_ready(), 0.0);
  s.batches = 4;
  s.examples = 100;
  s.wall_seconds = 2.0;
  s.wait_seconds = 0.5;
  s.work_seconds = 4.0;
  s.ready_sum = 6;
  s.workers = 2;
  EXPECT_DOUBLE_EQ(s.wait_fraction(), 0.25);
  EXPECT_DOUBLE_EQ(s.mean_ready(), 1.5);
  EXPECT_DOUBLE_EQ(s.capacity_per_second(), 50.0); // 100 examples in 4 worker-seconds, 2 workers
  nlohmann::json j;
  data::to_json(j, s);
  EXPECT_DOUBLE_EQ(j.at("wait_fraction").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j.at("images_per_second").get<double>(), 50.0); // 100 delivered in 2 s of wall time
}

void corrupt(const fs::path& p) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << "definitely not a JPEG";
}

// A bad file is an Error naming it, raised from next() on the consumer's thread, with no hang; with skip_bad the
// batch is one smaller, the file is logged and written to RUN_DIR/bad_images.txt.
TEST(FolderLoader, BadFilesErrorOrAreSkippedAndListed) {
  TempDir dir;
  make_folder(dir / "train", 4);
  make_folder(dir / "test", 1);
  const fs::path bad = dir / "train" / "a" / "001.jpg";
  const auto truncated = data::read_bytes(golden_path("jpeg_big.jpg").string());
  corrupt(bad);
  {
    std::ofstream out(dir / "train" / "c" / "002.jpg", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(truncated.data()), std::streamsize(truncated.size() / 3));
  }
  auto o = folder_options(dir.path(), 8);
  o.val_size = 0;
  for (bool skip : {false, true}) {
    o.folder.skip_bad = skip;
    const auto b = data::load_data(o);
    data::LoaderOptions lo;
    lo.batch_size = 64;
    lo.workers = 2;
    data::BatchLoader loader(
        std::make_shared<data::TensorSource>(b.train), std::make_shared<data::SequentialSampler>(b.train.size()), lo);
    loader.start_epoch(0);
    data::Batch batch;
    if (!skip) {
      EXPECT_TRUE(error_mentions([&] { loader.next(batch); }, {"001.jpg"}));
      continue;
    }
    ASSERT_TRUE(loader.next(batch));
    EXPECT_EQ(batch.images.size(0), b.train.size() - 2);
    EXPECT_EQ(loader.stats().skipped, 2);
    for (int64_t i = 0; i < batch.indices.size(0); ++i)
      EXPECT_EQ(batch.labels[i].item<int64_t>(), b.train.labels[batch.indices[i].item<int64_t>()].item<int64_t>());
    EXPECT_FALSE(loader.next(batch));
    TempDir run;
    EXPECT_EQ(data::write_bad_images(b, run / "bad_images.txt"), 2);
    std::ifstream in(run / "bad_images.txt");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find(bad.string()), std::string::npos) << text;
    EXPECT_NE(text.find("002.jpg"), std::string::npos) << text;
    EXPECT_NE(text.find("truncated"), std::string::npos) << text;
  }
}

// The folder's and the view's options refuse values that would crash or draw nonsense views (a log of a
// non-positive ratio, a negative padding's draw), naming the command line's option.
TEST(FolderAugment, OptionsValidateNameTheOption) {
  data::TransformOptions t;
  EXPECT_NO_THROW(t.validate());
  t.ratio_min = 0;
  EXPECT_ERROR_MENTIONS(t.validate(), "--rrc-ratio must satisfy 0 < min <= max, got 0,");
  t.ratio_min = 0.75;
  t.ratio_max = std::numeric_limits<double>::infinity();
  EXPECT_ERROR_MENTIONS(t.validate(), "--rrc-ratio");
  t.ratio_max = 4.0 / 3.0;
  t.kind = data::TransformKind::PadCrop;
  t.padding = -1;
  EXPECT_ERROR_MENTIONS(data::draw_view(t, 10, 10, 0), "--crop-padding must be non-negative, got -1");
  t.padding = 4;
  t.size = 0;
  EXPECT_ERROR_MENTIONS(t.validate(), "--image-size must be positive, got 0");

  data::FolderOptions f;
  EXPECT_NO_THROW(f.validate());
  f.scale_min = 0.5;
  f.scale_max = 0.25;
  EXPECT_ERROR_MENTIONS(f.validate(), "--rrc-scale must satisfy 0 < min <= max <= 1, got 0.5,0.25");
  f.scale_max = 1;
  f.channels = 2;
  EXPECT_ERROR_MENTIONS(
      data::ImageFolderSource("/nonexistent", {}, {}, f, false, nullptr), "--image-channels must be 1 or 3, got 2");
}

} // namespace
} // namespace smoothlab::testing
