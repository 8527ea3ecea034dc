// IDX reader: round trips (raw and gzip) and every corrupt case names the file.
#include <fstream>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/idx.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

TEST(Idx, RoundTripRawAndGzip) {
  TempDir dir;
  auto values = torch::arange(2 * 3 * 4, torch::kInt64).to(torch::kUInt8).reshape({2, 3, 4});
  for (bool gzip : {false, true}) {
    auto path = dir / (gzip ? "x.gz" : "x");
    data::write_idx(path, values, gzip);
    auto back = data::read_idx(path);
    EXPECT_EQ(back.sizes(), values.sizes());
    EXPECT_TRUE(back.equal(values));
  }
}

TEST(Idx, HeaderLayoutIsBigEndian) {
  TempDir dir;
  data::write_idx(dir / "y", torch::zeros({258}, torch::kUInt8));
  const std::string b = read_bytes(dir / "y");
  ASSERT_EQ(b.size(), 8u + 258u);
  EXPECT_EQ(b[2], 0x08);
  EXPECT_EQ(b[3], 1);
  EXPECT_EQ(static_cast<unsigned char>(b[6]), 1); // 258 = 0x00000102
  EXPECT_EQ(static_cast<unsigned char>(b[7]), 2);
}

TEST(Idx, CorruptFilesAreNamed) {
  TempDir dir;
  const auto p = dir / "bad";
  const std::string path = p.string();
  data::write_idx(p, torch::ones({4, 5}, torch::kUInt8));
  const std::string good = read_bytes(p);

  write_bytes(p, good.substr(0, good.size() - 3));
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"truncated", path}));

  write_bytes(p, good + "xx");
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"trailing", path}));

  std::string bad_magic = good;
  bad_magic[0] = 7;
  write_bytes(p, bad_magic);
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"magic", path}));

  std::string bad_type = good;
  bad_type[2] = 0x0D; // float
  write_bytes(p, bad_type);
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"type", path}));

  write_bytes(p, good.substr(0, 6));
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"header", path}));

  write_bytes(p, "");
  EXPECT_TRUE(error_mentions([&] { data::read_idx(p); }, {"magic", path}));

  EXPECT_TRUE(error_mentions([&] { data::read_idx(dir / "missing"); }, {"no such file", (dir / "missing").string()}));
}

TEST(Idx, TruncatedGzipIsAnError) {
  TempDir dir;
  const auto p = dir / "z.gz";
  data::write_idx(p, torch::randint(0, 255, {50, 50}, torch::kInt64).to(torch::kUInt8), true);
  const std::string good = read_bytes(p);
  write_bytes(p, good.substr(0, good.size() / 2));
  EXPECT_THROW(data::read_idx(p), Error);
}

} // namespace
} // namespace smoothlab::testing
