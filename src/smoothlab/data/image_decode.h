// JPEG (libjpeg-turbo's TurboJPEG API) and PNG (libpng) decoding to 8-bit interleaved pixels.
//
// JPEG: grayscale, YCbCr and CMYK/YCCK files. CMYK is taken to be Adobe-inverted (what Photoshop and PIL
// write) and converted like PIL's convert("RGB"): R = (255 − C)·(255 − K)/255, with C, K the un-inverted inks.
// DCT-domain scaling decodes at M/8 of full size (1/8, 1/4, 1/2, ...) for a fraction of the cost when the
// image is needed much smaller than it is stored (paper-methods §6). PNG: any bit depth, palette, gray or colour;
// an alpha channel is dropped (as PIL's convert("RGB") does), not composited.
// Gray output from colour uses PIL's ITU-R 601 luma L = (19595·R + 38470·G + 7471·B + 2^15) >> 16
// (JPEGs decode straight to their Y channel, which is the same formula before chroma subsampling).
// Warnings (e.g. a truncated JPEG) are errors: a damaged file is never half-decoded silently.
//
// Thread-safe: each thread uses its own TurboJPEG handle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smoothlab::data {

enum class ImageFormat { Jpeg, Png };

struct ImageInfo {
  ImageFormat format = ImageFormat::Jpeg;
  int64_t width = 0, height = 0;
  int64_t channels = 0; // as stored: 1 gray, 3 colour, 4 CMYK (JPEG); PNG: 1..4 with alpha counted
};

// Which DCT scaling factors decode_image may use.
enum class DctScaling {
  Off, // always decode at full size
  PowersOfTwo, // 1/2, 1/4, 1/8 (SIMD IDCT paths; the default)
  Eighths, // any M/8, M = 1..8 (3/8, 5/8, 3/4, 7/8 use scalar IDCTs)
};

struct DecodeOptions {
  int64_t channels = 3; // 1: gray, 3: RGB
  // JPEG only: decode at the smallest allowed DCT scale whose output is still ≥ min_width × min_height
  // (0: full size). The result's width/height say what was decoded.
  double min_width = 0, min_height = 0;
  DctScaling scaling = DctScaling::PowersOfTwo;
  bool fast_dct = false; // TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE: faster, not bit-exact with PIL

  // Throws Error naming --image-channels unless channels is 1 or 3. decode_image calls it first.
  void validate() const;
};

// Pixels uint8 [height, width, channels], row-major, interleaved.
struct DecodedImage {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Reads only the header. `name` (usually the path) is used in errors. Throws Error for an empty file,
// a file that is neither JPEG nor PNG (naming its first bytes) and a corrupt header.
ImageInfo read_image_info(const uint8_t* data, size_t size, const std::string& name);

// Decodes the whole image. Throws Error naming `name` for anything corrupt or truncated.
DecodedImage decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options = {});

// The DCT scale M/8 decode_image would use for a width × height JPEG: returns M in 1..8.
int jpeg_scale_eighths(int64_t width, int64_t height, double min_width, double min_height, DctScaling scaling);

// Decoded size of one side at scale M/8: ceil(side · M / 8), as libjpeg-turbo computes it.
inline int64_t scaled_side(int64_t side, int eighths) {
  return (side * eighths + 7) / 8;
}

// Reads a whole file into memory; throws Error naming the path when it is missing or unreadable.
std::vector<uint8_t> read_bytes(const std::string& path);

} // namespace smoothlab::data
