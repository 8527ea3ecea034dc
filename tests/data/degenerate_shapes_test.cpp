// Degenerate shapes are bad input: a zero or absurd dimension in any reader's header (IDX, NPY, CIFAR, CSV, image
// folders) is refused by the reader, naming the file, with exit code 2 and one error line — never a LibTorch error
// later on (`from is out of bounds for float`, exit 1).
#include <zlib.h>

#include <torch/torch.h>

#include "smoothlab/data/idx.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// `smoothlab train` on spec fails as bad input, naming `file` and saying `what`.
void expect_refused(const std::string& spec, const fs::path& file, const std::string& what, const fs::path& out) {
  const auto r = run_cli(
      {"train", "--data", spec, "--model", "mlp", "--epochs", "1", "--threads", "1", "--out", out.string()}, "", 120);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "checkpoint.safetensors"));
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

TEST(DegenerateShapes, IdxZeroAndAbsurdDimensions) {
  TempDir dir;
  write_idx_folder(dir / "data", 40, 10);
  const auto images = dir / "data" / "train-images-idx3-ubyte";
  // The header of the issue: 600 × 0 × 28, no data.
  write_bytes(images, std::string{0, 0, 8, 3} + be32(600) + be32(0) + be32(28));
  expect_refused("idx:" + (dir / "data").string(), images, "zero dimension", dir / "r1");
  // 2^32 − 1 images of 28 × 28 in a file of 784 bytes: refused before the product can overflow.
  write_bytes(images, std::string{0, 0, 8, 3} + be32(0xffffffffu) + be32(28) + be32(28) + std::string(784, '\0'));
  expect_refused("idx:" + (dir / "data").string(), images, "truncated", dir / "r2");
}

TEST(DegenerateShapes, NpyZeroAndAbsurdDimensions) {
  TempDir dir;
  fs::create_directories(dir / "data");
  auto write_pair = [&](const std::string& split, const torch::Tensor& x, const torch::Tensor& y) {
    data::write_npy(dir / "data" / (split + "_images.npy"), x);
    data::write_npy(dir / "data" / (split + "_labels.npy"), y);
  };
  const auto labels = torch::arange(20, torch::kInt64).remainder(2);
  write_pair("train", torch::zeros({20, 8, 8}, torch::kUInt8), labels);
  write_pair("test", torch::zeros({20, 8, 8}, torch::kUInt8), labels);
  const auto images = dir / "data" / "train_images.npy";
  data::write_npy(images, torch::zeros({20, 0, 8}, torch::kUInt8));
  expect_refused("npy:" + (dir / "data").string(), images, "zero dimension", dir / "r1");
  // A header claiming 10^12 images over a 64-byte payload.
  data::write_npy(images, torch::zeros({1, 8, 8}, torch::kUInt8));
  std::string bytes = read_bytes(images);
  const auto at = bytes.find("(1, 8, 8)");
  ASSERT_NE(at, std::string::npos) << bytes.substr(0, 128);
  bytes.replace(at, 9, "(1000000000000, 8, 8)");
  write_bytes(images, bytes);
  expect_refused("npy:" + (dir / "data").string(), images, "truncated", dir / "r2");
  // Channels first where channels last is meant: [N, 1, 8, 8] read as H = 1, W = 8, C = 8.
  data::write_npy(images, torch::zeros({20, 1, 8, 8}, torch::kUInt8));
  expect_refused("npy:" + (dir / "data").string(), images, "8 channels", dir / "r3");
}

TEST(DegenerateShapes, CifarEmptyBatch) {
  TempDir dir;
  fs::create_directories(dir / "c");
  for (int b = 1; b <= 5; ++b)
    write_bytes(dir / "c" / ("data_batch_" + std::to_string(b) + ".bin"), std::string(3073, '\0'));
  write_bytes(dir / "c" / "test_batch.bin", std::string(3073, '\0'));
  write_bytes(dir / "c" / "data_batch_3.bin", "");
  expect_refused(
      "cifar10:" + (dir / "c").string(), dir / "c" / "data_batch_3.bin", "not a positive multiple", dir / "r1");
}

TEST(DegenerateShapes, CsvWithoutRowsOrWithOneColumn) {
  TempDir dir;
  write_bytes(dir / "labels.csv", "label\n0\n1\n");
  auto calibrate = [&](const fs::path& logits) {
    return run_cli(
        {"calibrate",
         "--logits",
         logits.string(),
         "--labels",
         (dir / "labels.csv").string(),
         "--out",
         (dir / "out").string()},
        "",
        120);
  };
  write_bytes(dir / "header_only.csv", "z0,z1,z2\n");
  auto r = calibrate(dir / "header_only.csv");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find((dir / "header_only.csv").string() + ": no logits"), std::string::npos) << r.err;
  write_bytes(dir / "one_column.csv", "0.5\n1.5\n");
  r = calibrate(dir / "one_column.csv");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find((dir / "one_column.csv").string() + ": logits need K ≥ 2 classes, got K = 1"), std::string::npos)
      << r.err;
}

// A PNG whose header says 0 × 8 pixels (a valid chunk with a correct CRC, so only the size is wrong).
std::string png_with_size(uint32_t width, uint32_t height) {
  std::string ihdr = "IHDR" + be32(width) + be32(height) + std::string{8, 0, 0, 0, 0};
  const auto crc = [](const std::string& chunk) {
    return be32(uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(chunk.data()), uInt(chunk.size()))));
  };
  std::string png = "\x89PNG\r\n\x1a\n";
  png += be32(13) + ihdr + crc(ihdr);
  png += be32(0) + std::string("IEND") + crc("IEND");
  return png;
}

TEST(DegenerateShapes, ImageFolderZeroWidthImage) {
  TempDir dir;
  for (const std::string cls : {"a", "b"}) {
    fs::create_directories(dir / "f" / cls);
    for (int k = 0; k < 10; ++k)
      fs::copy_file(golden_path("jpeg_png_rgb.png"), dir / "f" / cls / (std::to_string(k) + ".png"));
  }
  const auto bad = dir / "f" / "b" / "3.png";
  write_bytes(bad, png_with_size(0, 8));
  const auto r = run_cli(
      {"train",
       "--data",
       "folder:" + (dir / "f").string(),
       "--model",
       "mlp",
       "--epochs",
       "1",
       "--image-size",
       "8",
       "--threads",
       "1",
       "--val-size",
       "0",
       "--out",
       (dir / "r").string()},
      "",
      120);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines_starting(r.err, "error: "), 1) << r.err;
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
}

} // namespace
} // namespace smoothlab::testing
