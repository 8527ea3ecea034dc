// fuzz_seeds OUT: writes the seed corpora OUT/<target>/ as the tests make their files (the library's writers on
// small deterministic values, tests/support's patterns, the golden images), a few KB each. The checked-in seeds
// (fuzz/corpus/) are its output: `build-fuzz/fuzz/fuzz_seeds fuzz/corpus` after a format changes.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_target.h"
#include "fuzz/run_folder.h"
#include "smoothlab/core/error.h"
#include "smoothlab/data/idx.h"
#include "smoothlab/data/image_folder.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace smoothlab;

namespace {

fs::path out_dir;

fs::path seed(const std::string& target, const std::string& name) {
  fs::create_directories(out_dir / target);
  return out_dir / target / name;
}

void copy_seed(const fs::path& from, const std::string& target, const std::string& name) {
  fs::copy_file(from, seed(target, name), fs::copy_options::overwrite_existing);
}

// tests/support's write_idx_folder pattern: class k lights up band k of the rows.
torch::Tensor images(int64_t n, int64_t h, int64_t w, int64_t classes) {
  auto x = torch::empty({n, h, w}, torch::kUInt8);
  auto* p = x.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t c = 0; c < w; ++c)
        p[(i * h + y) * w + c] = uint8_t(((y * classes / h) == i % classes ? 180 : 20) + (i * 7 + y * 3 + c) % 50);
  return x;
}

void idx_seeds() {
  for (const bool gzip : {false, true}) {
    const std::string target = gzip ? "idx_gz" : "idx";
    data::write_idx(seed(target, "images"), images(4, 8, 8, 3), gzip);
    data::write_idx(seed(target, "labels"), torch::arange(6, torch::kInt64).remainder(3).to(torch::kUInt8), gzip);
    data::write_idx(seed(target, "empty"), torch::empty({0, 2, 2}, torch::kUInt8), gzip);
  }
}

// CIFAR records: label byte(s), then 3 planes of 32 × 32 (tests/data/npy_cifar_test.cpp's batches).
void cifar_seeds() {
  for (const int label_bytes : {1, 2}) {
    std::string bytes;
    for (int i = 0; i < 2; ++i) {
      if (label_bytes == 2)
        bytes += char(i % 20); // coarse
      bytes += char(i * 7 % 10);
      for (int p = 0; p < 3072; ++p)
        bytes += char((p * (i + 3)) % 251);
    }
    const std::string target = label_bytes == 1 ? "cifar10" : "cifar100";
    fuzz::write_input(seed(target, "two_records.bin"), bytes);
  }
}

void npy_seeds() {
  const auto base = torch::arange(12, torch::kFloat64).reshape({3, 4}) - 5.5;
  for (const auto dtype :
       {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32, torch::kUInt8, torch::kInt8, torch::kInt16})
    data::write_npy(seed("npy", std::string("3x4_") + c10::toString(dtype)), base.to(dtype));
  data::write_npy(seed("npy", "scalar"), torch::tensor(3.5));
  data::write_npy(seed("npy", "empty"), torch::empty({0, 5}, torch::kFloat32));
  data::write_npy(seed("npy", "3d"), torch::arange(24, torch::kUInt8).reshape({2, 3, 4}));
  // calibrate's inputs: logits [N, K] float, labels [N] integer
  const auto [logits, labels] = fuzz::run_outputs();
  data::write_npy(seed("calib_npy", "logits_f32"), logits);
  data::write_npy(seed("calib_npy", "logits_f64"), logits.to(torch::kFloat64));
  data::write_npy(seed("calib_npy", "labels_i64"), labels);
  data::write_npy(seed("calib_npy", "labels_u8"), labels.to(torch::kUInt8).unsqueeze(1));
  fuzz::write_input(seed("calib_csv", "logits"), "2.0,0.0,0.0\n0.0,2.0,0.0\n0.0,0.0,2.0\n3.0,0.0,2.0\n");
  fuzz::write_input(seed("calib_csv", "logits_header"), "a,b,c\n1.5,-0.25,1e-3\n-2,0.5,3.25e+1\n");
  fuzz::write_input(seed("calib_csv", "labels"), "0\n1\n2\n0\n");
  fuzz::write_input(seed("calib_csv", "labels_header"), "label\n2\n1\n");
}

void image_seeds() {
  const fs::path golden = fs::path(SMOOTHLAB_SOURCE_DIR) / "tests" / "golden";
  for (const auto* name :
       {"jpeg_gray.jpg",
        "jpeg_progressive.jpg",
        "jpeg_rgb420.jpg",
        "jpeg_rgb444.jpg",
        "jpeg_cmyk.jpg",
        "jpeg_png_gray.png",
        "jpeg_png_palette.png",
        "jpeg_png_rgb.png"})
    copy_seed(golden / name, "image", name);
}

void image_folder_index_seeds() {
  const auto root = fuzz::scratch_path("seeds") / "train";
  for (const auto* file : {"a/1.jpg", "a/2.png", "b/3.jpg"}) {
    fs::create_directories((root / file).parent_path());
    fuzz::write_input(root / file, std::string("not decoded"));
  }
  for (const auto* dir : {"a", "b"})
    fs::last_write_time(root / dir, fs::file_time_type(std::chrono::seconds(1700000000)));
  data::index_image_folder(root, nullptr, true);
  copy_seed(root / ".smoothlab-index", "image_folder_index", "index");
}

void run_folder_seeds() {
  const auto dir = fuzz::scratch_path("seeds") / "run";
  fuzz::write_run_folder(dir);
  const train::RunDir run(dir);
  copy_seed(run.config_file(), "run_config", "config.json");
  copy_seed(run.metrics_file(), "metrics", "metrics.jsonl");
  fuzz::write_input(seed("study_plan", "eval"), "0" + fuzz::read_whole(run.eval_file()));
  fuzz::write_input(seed("study_plan", "calibration"), "1" + fuzz::read_whole(run.calibration_file()));
  fuzz::write_input(seed("run_lock", "held"), "host:1234\n");
  fuzz::write_input(seed("run_lock", "stale"), "host:12345\n");
}

void checkpoint_seeds() {
  torch::manual_seed(0);
  torch::nn::Linear model(torch::nn::LinearOptions(4, 3));
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  model->forward(torch::randn({2, 4})).sum().backward();
  optimizer.step();
  train::save_checkpoint(seed("checkpoint", "sgd"), *model, &optimizer, 3);
  train::save_checkpoint(seed("checkpoint", "model_only_fp16"), *model, nullptr, 1, torch::tensor({65536.0, 7.0}));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT (e.g. fuzz/corpus)\n");
    return 2;
  }
  out_dir = argv[1];
  try {
    idx_seeds();
    cifar_seeds();
    npy_seeds();
    image_seeds();
    image_folder_index_seeds();
    run_folder_seeds();
    checkpoint_seeds();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
