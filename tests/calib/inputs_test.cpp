// Loading user logits/labels (.npy, .csv) and every bad-input case: the message names the file and the problem.
#include <fstream>

#include <torch/torch.h>

#include "smoothlab/calib/inputs.h"
#include "smoothlab/core/error.h"
#include "smoothlab/data/npy.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

TEST(CalibInputs, NpyAndCsvRoundTrip) {
  TempDir dir;
  auto logits = torch::tensor({1.5, -2.0, 0.25, 3.0, 0.0, -1.0}, torch::kFloat64).reshape({2, 3});
  data::write_npy(dir / "z64.npy", logits);
  data::write_npy(dir / "z32.npy", logits.to(torch::kFloat32));
  data::write_npy(dir / "y32.npy", torch::tensor({2, 0}, torch::kInt32));
  data::write_npy(dir / "y8.npy", torch::tensor({2, 0}, torch::kUInt8));
  data::write_npy(dir / "ycol.npy", torch::tensor({2, 0}, torch::kInt64).reshape({2, 1}));
  write_text(dir / "z.csv", "a,b,c\n1.5, -2, 0.25\n3,0,-1\n\n");
  write_text(dir / "y.csv", "label\n2\n0\n");
  EXPECT_EQ(calib::load_logits(dir / "z64.npy").scalar_type(), torch::kFloat64);
  EXPECT_EQ(calib::load_logits(dir / "z32.npy").scalar_type(), torch::kFloat32);
  EXPECT_TRUE(calib::load_logits(dir / "z.csv").equal(logits));
  for (const char* y : {"y32.npy", "y8.npy", "ycol.npy", "y.csv"}) {
    auto labels = calib::load_labels(dir / y);
    EXPECT_EQ(labels.scalar_type(), torch::kInt64) << y;
    EXPECT_TRUE(labels.equal(torch::tensor({2, 0}, torch::kInt64))) << y;
  }
  auto both = calib::load_labeled_logits(dir / "z32.npy", dir / "y.csv");
  EXPECT_EQ(both.logits.size(0), 2);
}

TEST(CalibInputs, BadInputNamesFileAndProblem) {
  TempDir dir;
  const auto z = dir / "z.npy";
  const auto y = dir / "y.npy";
  data::write_npy(z, torch::randn({6, 4}));
  data::write_npy(y, torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64));
  EXPECT_NO_THROW(calib::load_labeled_logits(z, y));

  auto nan = torch::randn({6, 4});
  nan[4][1] = std::nan("");
  data::write_npy(dir / "nan.npy", nan);
  EXPECT_TRUE(error_mentions(
      [&] { calib::load_labeled_logits(dir / "nan.npy", y); }, {"NaN or Inf (first in row 4", "nan.npy"}));
  auto inf = torch::randn({6, 4}, torch::kFloat64);
  inf[2][3] = -INFINITY;
  data::write_npy(dir / "inf.npy", inf);
  EXPECT_TRUE(error_mentions([&] { calib::load_labeled_logits(dir / "inf.npy", y); }, {"NaN or Inf", "inf.npy"}));

  data::write_npy(dir / "y_big.npy", torch::tensor({0, 1, 2, 4, 0, 1}, torch::kInt64));
  EXPECT_TRUE(error_mentions(
      [&] { calib::load_labeled_logits(z, dir / "y_big.npy"); }, {"label 4 at row 3 is out of range", "y_big.npy"}));
  data::write_npy(dir / "y_neg.npy", torch::tensor({0, -1, 2, 3, 0, 1}, torch::kInt32));
  EXPECT_TRUE(error_mentions([&] { calib::load_labeled_logits(z, dir / "y_neg.npy"); }, {"out of range", "y_neg.npy"}));
  data::write_npy(dir / "y5.npy", torch::tensor({0, 1, 2, 3, 0}, torch::kInt64));
  EXPECT_TRUE(error_mentions([&] { calib::load_labeled_logits(z, dir / "y5.npy"); }, {"5 labels, but", "y5.npy"}));
  data::write_npy(dir / "yf.npy", torch::zeros({6}));
  EXPECT_TRUE(
      error_mentions([&] { calib::load_labeled_logits(z, dir / "yf.npy"); }, {"labels must be integers", "yf.npy"}));

  data::write_npy(dir / "empty.npy", torch::zeros({0, 4}));
  EXPECT_TRUE(error_mentions([&] { calib::load_labeled_logits(dir / "empty.npy", y); }, {"no samples", "empty.npy"}));
  data::write_npy(dir / "flat.npy", torch::zeros({6}));
  EXPECT_TRUE(error_mentions(
      [&] { calib::load_labeled_logits(dir / "flat.npy", y); }, {"2-D array [N, K], got shape [6]", "flat.npy"}));
  data::write_npy(dir / "k1.npy", torch::zeros({6, 1}));
  EXPECT_TRUE(error_mentions([&] { calib::load_labeled_logits(dir / "k1.npy", y); }, {"K = 1", "k1.npy"}));
  data::write_npy(dir / "int.npy", torch::zeros({6, 4}, torch::kInt64));
  EXPECT_TRUE(error_mentions(
      [&] { calib::load_labeled_logits(dir / "int.npy", y); }, {"must be float32 or float64", "int.npy"}));
  data::write_npy(dir / "p.npy", torch::softmax(torch::randn({6, 4}), 1));
  EXPECT_TRUE(
      error_mentions([&] { calib::load_labeled_logits(dir / "p.npy", y); }, {"look like probabilities", "p.npy"}));

  write_text(dir / "ragged.csv", "1,2,3\n4,5\n");
  EXPECT_TRUE(error_mentions(
      [&] { calib::load_logits(dir / "ragged.csv"); }, {":2: 2 values, earlier lines have 3", "ragged.csv"}));
  write_text(dir / "word.csv", "1,2\n3,x\n");
  EXPECT_TRUE(error_mentions([&] { calib::load_logits(dir / "word.csv"); }, {":2: 'x' is not a number", "word.csv"}));
  write_text(dir / "yfrac.csv", "1\n2.5\n");
  EXPECT_TRUE(error_mentions([&] { calib::load_labels(dir / "yfrac.csv"); }, {"not an integer", "yfrac.csv"}));
  write_text(dir / "blank.csv", "\n");
  EXPECT_TRUE(error_mentions([&] { calib::load_logits(dir / "blank.csv"); }, {"empty file", "blank.csv"}));
  EXPECT_TRUE(error_mentions([&] { calib::load_logits(dir / "missing.npy"); }, {"no such file", "missing.npy"}));
  write_text(dir / "z.txt", "1 2\n");
  EXPECT_TRUE(error_mentions([&] { calib::load_logits(dir / "z.txt"); }, {"unknown logits format", "z.txt"}));
}

} // namespace
} // namespace smoothlab::testing
