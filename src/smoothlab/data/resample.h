// Antialiased separable resampling of a region of an 8-bit image, written straight into a float CHW
// buffer (optionally mirrored): the crop + resize + flip + to-tensor steps of an augmentation in one pass.
//
// Same kernels and sample placement as PIL's Image.resize(size, filter, box): output pixel x samples the
// source at centre = x0 + (x + 0.5)·s, s = box width / output width, with the filter stretched by max(s, 1)
// so that downscaling averages every source pixel (antialiasing); weights are normalised to sum 1.
// Source pixels outside the image are not used (weights renormalised), as in PIL.
#pragma once

#include <cstdint>
#include <string>

#include "smoothlab/data/image_decode.h"

namespace smoothlab::data {

enum class ResizeFilter {
  Bilinear, // triangle, support 1 (PIL BILINEAR; torchvision's default with antialias)
  Bicubic, // Keys cubic a = −0.5, support 2 (PIL BICUBIC)
  Lanczos, // Lanczos-3 (PIL LANCZOS)
};

// "bilinear" | "bicubic" | "lanczos" (the --resize-filter and config.json spelling); any other name is an Error naming
// --resize-filter, with the known ones in its hint.
ResizeFilter parse_resize_filter(const std::string& name);
const char* resize_filter_name(ResizeFilter filter);

// A region in source pixel coordinates: pixel (i, j) covers [j, j+1) × [i, i+1).
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const {
    return x1 - x0;
  }
  double height() const {
    return y1 - y0;
  }
};

// Resamples `box` of `image` (uint8 [H, W, C]) to out_height × out_width and writes float [C, out_height,
// out_width] (values / 255) to out; flip mirrors left-right. Cost O(C·(rows·out_width + out_height·out_width)·taps).
void resample_to_chw(
    const DecodedImage& image,
    const Box& box,
    int64_t out_height,
    int64_t out_width,
    ResizeFilter filter,
    bool flip,
    float* out);

} // namespace smoothlab::data
