// `smoothlab train --data folder:DIR` end to end on a tiny folder: trains, records loader statistics, stops with
// `error: <file>` and exit code 2 on a corrupt image, and with --skip-bad-images lists it in the run folder.
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/support.h"

namespace smoothlab::testing {
namespace {

void make_cli_folder(const fs::path& dir) {
  for (const std::string cls : {"jpeg", "png"}) {
    fs::create_directories(dir / cls);
    for (int k = 0; k < 8; ++k)
      fs::copy_file(
          golden_path(cls == "png" ? "jpeg_png_rgb.png" : "jpeg_rgb420.jpg"),
          dir / cls / (std::to_string(k) + (cls == "png" ? ".png" : ".jpg")));
  }
}

std::vector<std::string> train_args(const fs::path& data, const fs::path& out) {
  return {
      "train",
      "--data",
      "folder:" + data.string(),
      "--image-size",
      "16",
      "--model",
      "cnn",
      "--epochs",
      "1",
      "--batch-size",
      "4",
      "--val-size",
      "2",
      "--threads",
      "1",
      "--workers",
      "2",
      "--out",
      out.string()};
}

TEST(FolderCli, TrainsAndRecordsLoaderStats) {
  TempDir dir;
  make_cli_folder(dir / "data");
  const auto r = run_cli(train_args(dir / "data", dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir / "run" / "metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto record = nlohmann::json::parse(line);
  // 16 images: 2 held out for test, 2 for validation, 12 trained on.
  EXPECT_EQ(record.at("loader").at("examples").get<int64_t>(), 12);
  EXPECT_EQ(record.at("loader").at("skipped").get<int64_t>(), 0);
  EXPECT_TRUE(record.contains("val_accuracy"));
  std::ifstream cfg(dir / "run" / "config.json");
  const auto config = nlohmann::json::parse(cfg);
  EXPECT_EQ(config.at("data_info").at("name"), "folder");
  EXPECT_EQ(config.at("data_info").at("shape"), nlohmann::json({3, 16, 16}));
  const auto e = run_cli({"eval", (dir / "run").string(), "--threads", "1"});
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

TEST(FolderCli, CorruptImageStopsOrIsSkipped) {
  TempDir dir;
  make_cli_folder(dir / "data" / "train");
  make_cli_folder(dir / "data" / "test");
  // In train/: read in training, or in validation (held out of train/) at the end of the epoch: an error either way.
  const fs::path bad = dir / "data" / "train" / "jpeg" / "3.jpg";
  std::ofstream(bad, std::ios::trunc) << "<html>not an image</html>";
  auto args = train_args(dir / "data", dir / "run");
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
  args.push_back("--skip-bad-images");
  args.push_back("--force");
  const auto s = run_cli(args);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::ifstream in(dir / "run" / "bad_images.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find(bad.string()), std::string::npos) << text;
}

} // namespace
} // namespace smoothlab::testing
