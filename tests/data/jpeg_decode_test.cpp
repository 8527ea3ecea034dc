// JPEG/PNG decoding against PIL's decode (tests/golden/jpeg_*, scripts/golden/jpeg_golden.py), DCT-scaled decoding
// against full decode + resize, the resampler against PIL's resize, and every corrupt-file case naming the file.
#include <fstream>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/data/image_decode.h"
#include "smoothlab/data/image_folder.h"
#include "smoothlab/data/npy.h"
#include "smoothlab/data/resample.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

std::vector<uint8_t> bytes_of(const std::string& name) {
  return data::read_bytes(golden_path(name).string());
}

// uint8 [H, W, C] as a tensor.
torch::Tensor as_tensor(const data::DecodedImage& im) {
  return torch::from_blob(const_cast<uint8_t*>(im.pixels.data()), {im.height, im.width, im.channels}, torch::kUInt8)
      .clone();
}

int64_t max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kInt32) - b.to(torch::kInt32)).abs().max().item<int64_t>();
}

void write_byte_vector(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

data::DecodedImage decode_file(const std::string& name, int64_t channels = 3) {
  const auto b = bytes_of(name);
  data::DecodeOptions o;
  o.channels = channels;
  return data::decode_image(b.data(), b.size(), name, o);
}

// PIL links the same libjpeg-turbo with the same defaults (accurate integer IDCT, fancy upsampling), so colour
// JPEGs decode bit-exactly; the bound below is the "JPEG tolerance" of one level allowed for other builds.
TEST(JpegDecode, ColourJpegsMatchPil) {
  for (const std::string stem : {"rgb420", "rgb444", "progressive", "gray", "big"}) {
    const auto im = decode_file("jpeg_" + stem + ".jpg");
    const auto expected = data::read_npy(golden_path("jpeg_" + stem + ".npy"));
    ASSERT_EQ(as_tensor(im).sizes(), expected.sizes()) << stem;
    EXPECT_LE(max_abs_diff(as_tensor(im), expected), 1) << stem;
  }
}

TEST(JpegDecode, HeaderInfo) {
  const auto b = bytes_of("jpeg_rgb420.jpg");
  const auto info = data::read_image_info(b.data(), b.size(), "x");
  EXPECT_EQ(info.format, data::ImageFormat::Jpeg);
  EXPECT_EQ(info.width, 61);
  EXPECT_EQ(info.height, 47);
  EXPECT_EQ(info.channels, 3);
  const auto c = bytes_of("jpeg_cmyk.jpg");
  EXPECT_EQ(data::read_image_info(c.data(), c.size(), "c").channels, 4);
  const auto p = bytes_of("jpeg_png_rgba.png");
  const auto pinfo = data::read_image_info(p.data(), p.size(), "p");
  EXPECT_EQ(pinfo.format, data::ImageFormat::Png);
  EXPECT_EQ(pinfo.channels, 4);
}

// PIL inverts Adobe CMYK on read and converts with R = (255 − C)(255 − K)/255; we do the same from TJPF_CMYK.
TEST(JpegDecode, CmykJpegMatchesPil) {
  const auto im = decode_file("jpeg_cmyk.jpg");
  EXPECT_LE(max_abs_diff(as_tensor(im), data::read_npy(golden_path("jpeg_cmyk.npy"))), 1);
  const auto gray = decode_file("jpeg_cmyk.jpg", 1);
  EXPECT_LE(max_abs_diff(as_tensor(gray), data::read_npy(golden_path("jpeg_cmyk_L.npy"))), 1);
}

TEST(JpegDecode, PngVariantsMatchPilExactly) {
  for (const std::string stem : {"png_rgb", "png_gray", "png_palette", "png_rgba"}) {
    const auto im = decode_file("jpeg_" + stem + ".png");
    const auto expected = data::read_npy(golden_path("jpeg_" + stem + ".npy"));
    ASSERT_EQ(as_tensor(im).sizes(), expected.sizes()) << stem;
    EXPECT_EQ(max_abs_diff(as_tensor(im), expected), 0) << stem; // lossless: PIL's convert("RGB") exactly
  }
  // Gray output of a colour PNG: PIL's integer luma exactly.
  EXPECT_EQ(
      max_abs_diff(as_tensor(decode_file("jpeg_png_rgb.png", 1)), data::read_npy(golden_path("jpeg_png_rgb_L.npy"))),
      0);
}

// A colour JPEG decoded to gray is its Y channel; PIL computes luma from the decoded, chroma-upsampled RGB.
// The two agree up to rounding, except where the upsampled RGB was clipped to 0..255 (saturated colours), which
// the Y channel never is: measured max 8 levels, mean below 1.
TEST(JpegDecode, GrayFromColourJpegNearPilLuma) {
  const auto gray = as_tensor(decode_file("jpeg_rgb420.jpg", 1));
  const auto expected = data::read_npy(golden_path("jpeg_rgb420_L.npy"));
  EXPECT_LE(max_abs_diff(gray, expected), 10);
  EXPECT_LT((gray.to(torch::kFloat) - expected.to(torch::kFloat)).abs().mean().item<double>(), 1.0);
}

TEST(JpegDecode, ScaleChoice) {
  // 500x375 needed at >= 224x224: 1/2 gives 250x188, too small, so full size; at >= 100: 1/2 (1/4 is 125x94).
  EXPECT_EQ(data::jpeg_scale_eighths(500, 375, 224, 224, data::DctScaling::PowersOfTwo), 8);
  EXPECT_EQ(data::jpeg_scale_eighths(500, 375, 100, 100, data::DctScaling::PowersOfTwo), 4);
  EXPECT_EQ(data::jpeg_scale_eighths(500, 375, 60, 40, data::DctScaling::PowersOfTwo), 1);
  EXPECT_EQ(data::jpeg_scale_eighths(500, 375, 300, 224, data::DctScaling::Eighths), 5); // 313x235
  EXPECT_EQ(data::jpeg_scale_eighths(500, 375, 60, 40, data::DctScaling::Off), 8);
  EXPECT_EQ(data::scaled_side(47, 1), 6); // ceil(47 / 8)
}

// DCT-domain scaling to M/8 is a box-like low-pass; an antialiased bilinear resize of the full decode to the same
// size is another. Both estimate the same smooth image, so they agree closely on a natural photo.
TEST(JpegDecode, ScaledDecodeNearFullDecodePlusResize) {
  const auto b = bytes_of("jpeg_big.jpg");
  const auto full = data::decode_image(b.data(), b.size(), "big");
  for (int m : {4, 2, 1}) {
    data::DecodeOptions o;
    o.min_width = double(data::scaled_side(256, m));
    o.min_height = double(data::scaled_side(192, m));
    const auto scaled = data::decode_image(b.data(), b.size(), "big", o);
    ASSERT_EQ(scaled.width, 256 * m / 8);
    ASSERT_EQ(scaled.height, 192 * m / 8);
    std::vector<float> resized(size_t(3 * scaled.width * scaled.height));
    data::resample_to_chw(
        full, {0, 0, 256, 192}, scaled.height, scaled.width, data::ResizeFilter::Bilinear, false, resized.data());
    auto reference = torch::from_blob(resized.data(), {3, scaled.height, scaled.width}).permute({1, 2, 0}) * 255.0f;
    auto got = as_tensor(scaled).to(torch::kFloat);
    const double mean_abs = (got - reference).abs().mean().item<double>();
    const double rmse = (got - reference).pow(2).mean().sqrt().item<double>();
    EXPECT_LT(mean_abs, 4.0) << "scale " << m << "/8";
    EXPECT_LT(rmse, 7.0) << "scale " << m << "/8"; // PSNR > 31 dB
  }
}

TEST(JpegResample, MatchesPilResizeWithBox) {
  const auto im = decode_file("jpeg_rgb444.jpg");
  for (const std::string name : {"bilinear", "bicubic", "lanczos"}) {
    std::vector<float> out(3 * 15 * 20);
    data::resample_to_chw(im, {3.5, 2.25, 50.5, 40.75}, 15, 20, data::parse_resize_filter(name), false, out.data());
    auto got = torch::from_blob(out.data(), {3, 15, 20}).permute({1, 2, 0}) * 255.0f;
    auto expected = data::read_npy(golden_path("jpeg_resample_" + name + ".npy")).to(torch::kFloat);
    // PIL rounds and clips to 8 bits between its horizontal and vertical passes; we keep floats. Bilinear (no
    // overshoot) agrees within 1 level; the ringing filters within 3 where PIL clipped an intermediate.
    EXPECT_TENSOR_NEAR(got, expected, 0, name == "bilinear" ? 1.01 : 3.0);
    EXPECT_LT((got - expected).abs().mean().item<double>(), 0.3) << name;
  }
}

TEST(JpegResample, IdentityAndFlipAreExact) {
  data::DecodedImage im;
  im.width = 7, im.height = 5, im.channels = 3;
  for (int64_t i = 0; i < 7 * 5 * 3; ++i)
    im.pixels.push_back(uint8_t(i * 2));
  std::vector<float> out(3 * 3 * 4), flipped(3 * 3 * 4);
  // The 4x3 box at (2, 1) sampled at scale 1: each output pixel is exactly one source pixel.
  data::resample_to_chw(im, {2, 1, 6, 4}, 3, 4, data::ResizeFilter::Bicubic, false, out.data());
  data::resample_to_chw(im, {2, 1, 6, 4}, 3, 4, data::ResizeFilter::Bicubic, true, flipped.data());
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 4; ++x) {
        const float expected = float(im.pixels[size_t(((y + 1) * 7 + (x + 2)) * 3 + c)]) / 255.0f;
        EXPECT_FLOAT_EQ(out[size_t((c * 3 + y) * 4 + x)], expected);
        EXPECT_FLOAT_EQ(flipped[size_t((c * 3 + y) * 4 + (3 - x))], expected);
      }
}

// A linear ramp v(x) = x + 0.5 at pixel centres stays linear under any symmetric filter: interior output pixel x
// of box [x0, x1) resized to n pixels is the ramp at its centre, x0 + (x + 0.5)·(x1 − x0)/n.
TEST(JpegResample, RampStaysOnItsLineWhenDownscaling) {
  data::DecodedImage im;
  im.width = 200, im.height = 4, im.channels = 1;
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 200; ++x)
      im.pixels.push_back(uint8_t(x));
  std::vector<float> out(4 * 20);
  data::resample_to_chw(im, {40, 0, 160, 4}, 4, 20, data::ResizeFilter::Bilinear, false, out.data());
  for (int64_t x = 0; x < 20; ++x) {
    const double centre = 40 + (double(x) + 0.5) * 6.0; // source coordinate; pixel j holds value j = centre − 0.5
    EXPECT_NEAR(out[size_t(x)] * 255.0, centre - 0.5, 1e-3) << x;
  }
}

TEST(JpegCorrupt, EveryCaseNamesTheFile) {
  TempDir dir;
  const auto jpeg = bytes_of("jpeg_big.jpg");
  const auto png = bytes_of("jpeg_png_rgb.png");
  struct Case {
    std::string file, needle;
    std::vector<uint8_t> bytes;
  };
  std::vector<Case> cases = {
      {"empty.jpg", "empty file", {}},
      {"text.jpg", "not a JPEG or PNG", {'h', 'e', 'l', 'l', 'o', '\n'}},
      {"header_only.jpg", "JPEG", {jpeg.begin(), jpeg.begin() + 40}},
      {"truncated.jpg", "corrupt or truncated JPEG", {jpeg.begin(), jpeg.begin() + long(jpeg.size() / 2)}},
      {"png_header_only.png", "PNG", {png.begin(), png.begin() + 20}},
      {"png_truncated.png", "corrupt or truncated PNG", {png.begin(), png.begin() + long(png.size() / 2)}},
  };
  // A PNG whose first IDAT byte is flipped: the chunk CRC no longer matches.
  auto bad_crc = png;
  for (size_t i = 8; i + 8 < bad_crc.size(); ++i)
    if (std::memcmp(&bad_crc[i], "IDAT", 4) == 0) {
      bad_crc[i + 4] ^= 0xFF;
      break;
    }
  cases.push_back({"png_bad_crc.png", "PNG", bad_crc});
  for (const auto& c : cases) {
    const auto path = (dir / c.file).string();
    write_byte_vector(path, c.bytes);
    const auto b = data::read_bytes(path);
    EXPECT_TRUE(error_mentions([&] { data::decode_image(b.data(), b.size(), path); }, {c.needle, path}));
  }
  EXPECT_TRUE(error_mentions(
      [&] { data::read_bytes((dir / "missing.jpg").string()); }, {"cannot open", (dir / "missing.jpg").string()}));
}

// DecodeOptions refuse a channel count the decoders do not write, naming the command line's option.
TEST(JpegDecode, OptionsValidateNameTheOption) {
  data::DecodeOptions o;
  EXPECT_NO_THROW(o.validate());
  o.channels = 1;
  EXPECT_NO_THROW(o.validate());
  o.channels = 4;
  EXPECT_ERROR_MENTIONS(o.validate(), "--image-channels must be 1 or 3, got 4");
  EXPECT_ERROR_MENTIONS(decode_file("jpeg_gray.jpg", 2), "--image-channels must be 1 or 3, got 2");
}

} // namespace
} // namespace smoothlab::testing
