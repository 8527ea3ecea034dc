// NPY and CIFAR readers: round trips, header details, and every corrupt case names the file.
#include <fstream>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/cifar.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(Npy, RoundTripsEveryDtype) {
  TempDir dir;
  for (auto type : {torch::kUInt8, torch::kInt32, torch::kInt64, torch::kFloat32, torch::kFloat64}) {
    auto t = torch::arange(24).reshape({2, 3, 4}).to(type);
    data::write_npy(dir / "a.npy", t);
    auto back = data::read_npy(dir / "a.npy");
    EXPECT_EQ(back.scalar_type(), type);
    EXPECT_TRUE(back.equal(t));
  }
  data::write_npy(dir / "v.npy", torch::tensor({1.5, -2.0}));
  EXPECT_TRUE(data::read_npy(dir / "v.npy").equal(torch::tensor({1.5, -2.0})));
}

TEST(Npy, HeaderIsNumpyCompatible) {
  // numpy writes: magic, version 1.0, little-endian header length, a dict padded so data starts at a multiple of 64.
  TempDir dir;
  data::write_npy(dir / "a.npy", torch::zeros({3, 2}, torch::kFloat32));
  const std::string b = read_bytes(dir / "a.npy");
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = size_t(uint8_t(b[8])) | (size_t(uint8_t(b[9])) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_NE(b.find("'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"), std::string::npos);
  EXPECT_EQ(b.size(), 10 + header_len + 3 * 2 * 4);
}

TEST(Npy, CorruptCases) {
  TempDir dir;
  const auto p = dir / "x.npy";
  data::write_npy(p, torch::ones({4, 4}, torch::kFloat32));
  const std::string good = read_bytes(p);
  write_bytes(p, good.substr(0, good.size() - 4));
  EXPECT_TRUE(error_mentions([&] { data::read_npy(p); }, {"truncated"}));
  write_bytes(p, "PK\x03\x04 not npy");
  EXPECT_TRUE(error_mentions([&] { data::read_npy(p); }, {"bad magic"}));
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_bytes(p, fortran);
  EXPECT_TRUE(error_mentions([&] { data::read_npy(p); }, {"Fortran"}));
  std::string big = good;
  big.replace(big.find("<f4"), 3, ">f4");
  write_bytes(p, big);
  EXPECT_TRUE(error_mentions([&] { data::read_npy(p); }, {"big-endian"}));
  std::string complex = good;
  complex.replace(complex.find("<f4"), 3, "<c8");
  write_bytes(p, complex);
  EXPECT_TRUE(error_mentions([&] { data::read_npy(p); }, {"not supported", p.string()}));
}

void write_cifar10_batch(const fs::path& p, int n, int label_offset) {
  std::string b;
  for (int i = 0; i < n; ++i) {
    b += char((i + label_offset) % 10);
    for (int j = 0; j < 3072; ++j)
      b += char((i * 7 + j) % 251);
  }
  write_bytes(p, b);
}

TEST(Cifar, ReadsRecordsInChannelPlanes) {
  TempDir dir;
  write_cifar10_batch(dir / "b.bin", 3, 4);
  auto r = data::read_cifar_batch(dir / "b.bin", 1, 10);
  EXPECT_EQ(r.images.sizes(), (torch::IntArrayRef{3, 3, 32, 32}));
  EXPECT_TRUE(r.labels.equal(torch::tensor({4, 5, 6}, torch::kInt64)));
  // record 2, channel 1 (green), row 0, column 5 is byte 1024 + 5 of the pixel block: (2*7 + 1029) % 251
  EXPECT_EQ(r.images[2][1][0][5].item<int64_t>(), (2 * 7 + 1029) % 251);
}

TEST(Cifar, FolderAndCorruptCases) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    write_cifar10_batch(dir / fmt::format("data_batch_{}.bin", b), 2, b);
  write_cifar10_batch(dir / "test_batch.bin", 4, 0);
  std::vector<std::string> names;
  auto [train, test] = data::read_cifar_folder(dir.path(), 10, names);
  EXPECT_EQ(train.images.size(0), 10);
  EXPECT_EQ(test.images.size(0), 4);
  EXPECT_EQ(names.size(), 10u);
  // truncated batch
  std::string bytes = read_bytes(dir / "test_batch.bin");
  write_bytes(dir / "test_batch.bin", bytes.substr(0, bytes.size() - 100));
  EXPECT_TRUE(error_mentions([&] { data::read_cifar_folder(dir.path(), 10, names); }, {"test_batch.bin"}));
  // label out of range
  bytes[0] = char(12);
  write_bytes(dir / "test_batch.bin", bytes);
  EXPECT_TRUE(error_mentions([&] { data::read_cifar_folder(dir.path(), 10, names); }, {"label 12"}));
  // missing file
  fs::remove(dir / "data_batch_3.bin");
  EXPECT_TRUE(error_mentions([&] { data::read_cifar_folder(dir.path(), 10, names); }, {"data_batch_3.bin"}));
}

} // namespace
} // namespace smoothlab::testing
