// PIL-compatible antialiased resampling (horizontal pass on the needed rows, then vertical) into CHW floats.
#include "smoothlab/data/resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::data {

namespace {

constexpr Named<ResizeFilter> kResizeFilters[] = {
    {ResizeFilter::Bilinear, "bilinear"},
    {ResizeFilter::Bicubic, "bicubic"},
    {ResizeFilter::Lanczos, "lanczos"},
};

constexpr double kPi = 3.14159265358979323846;

double bilinear(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0)
    return 1.0;
  x *= kPi;
  return std::sin(x) / x;
}

double lanczos(double x) {
  return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0;
}

// Per output position: first source index and normalised weights (PIL's precompute_coeffs).
struct Coefficients {
  int64_t taps = 0;
  std::vector<int64_t> first, count;
  std::vector<float> weights; // [out, taps]
};

Coefficients coefficients(int64_t in_size, double in0, double in1, int64_t out_size, ResizeFilter filter) {
  double (*kernel)(double) = filter == ResizeFilter::Bilinear ? bilinear
      : filter == ResizeFilter::Bicubic                       ? bicubic
                                                              : lanczos;
  const double base_support = filter == ResizeFilter::Bilinear ? 1.0 : filter == ResizeFilter::Bicubic ? 2.0 : 3.0;
  const double scale = (in1 - in0) / double(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = base_support * filter_scale;
  Coefficients c;
  c.taps = int64_t(std::ceil(support)) * 2 + 1;
  c.first.resize(size_t(out_size));
  c.count.resize(size_t(out_size));
  c.weights.assign(size_t(out_size * c.taps), 0.0f);
  std::vector<double> w(size_t(c.taps));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = in0 + (double(i) + 0.5) * scale;
    int64_t lo = int64_t(center - support + 0.5);
    if (lo < 0)
      lo = 0;
    int64_t hi = int64_t(center + support + 0.5);
    if (hi > in_size)
      hi = in_size;
    int64_t n = std::max<int64_t>(0, std::min(hi - lo, c.taps));
    double total = 0;
    for (int64_t k = 0; k < n; ++k) {
      w[size_t(k)] = kernel((double(k + lo) - center + 0.5) / filter_scale);
      total += w[size_t(k)];
    }
    if (n == 0 || total == 0.0) { // box entirely outside the image: nearest pixel
      lo = std::clamp<int64_t>(int64_t(center), 0, in_size - 1);
      n = 1;
      w[0] = total = 1.0;
    }
    c.first[size_t(i)] = lo;
    c.count[size_t(i)] = n;
    for (int64_t k = 0; k < n; ++k)
      c.weights[size_t(i * c.taps + k)] = float(w[size_t(k)] / total);
  }
  return c;
}

} // namespace

ResizeFilter parse_resize_filter(const std::string& name) {
  return parse_named(kResizeFilters, name, "--resize-filter", "filter");
}

const char* resize_filter_name(ResizeFilter filter) {
  return name_of(kResizeFilters, filter);
}

void resample_to_chw(
    const DecodedImage& image,
    const Box& box,
    int64_t out_height,
    int64_t out_width,
    ResizeFilter filter,
    bool flip,
    float* out) {
  check(out_height > 0 && out_width > 0, "resample: output size must be positive, got {}x{}", out_height, out_width);
  check(box.width() > 0 && box.height() > 0, "resample: empty source box");
  const int64_t C = image.channels, W = image.width, H = image.height;
  const auto cx = coefficients(W, box.x0, box.x1, out_width, filter);
  const auto cy = coefficients(H, box.y0, box.y1, out_height, filter);
  // Rows the vertical pass reads.
  int64_t row_lo = H, row_hi = 0;
  for (int64_t y = 0; y < out_height; ++y) {
    row_lo = std::min(row_lo, cy.first[size_t(y)]);
    row_hi = std::max(row_hi, cy.first[size_t(y)] + cy.count[size_t(y)]);
  }
  // Horizontal pass: tmp [rows, C, out_width] in 0..255 units.
  const int64_t rows = row_hi - row_lo;
  std::vector<float> tmp(size_t(rows * C * out_width));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* src = image.pixels.data() + (row_lo + r) * W * C;
    float* dst = tmp.data() + r * C * out_width;
    for (int64_t x = 0; x < out_width; ++x) {
      const float* w = cx.weights.data() + x * cx.taps;
      const uint8_t* s = src + cx.first[size_t(x)] * C;
      const int64_t n = cx.count[size_t(x)];
      if (C == 3) {
        float a0 = 0, a1 = 0, a2 = 0;
        for (int64_t k = 0; k < n; ++k) {
          a0 += w[k] * float(s[3 * k]);
          a1 += w[k] * float(s[3 * k + 1]);
          a2 += w[k] * float(s[3 * k + 2]);
        }
        dst[x] = a0;
        dst[out_width + x] = a1;
        dst[2 * out_width + x] = a2;
      } else {
        for (int64_t c = 0; c < C; ++c) {
          float a = 0;
          for (int64_t k = 0; k < n; ++k)
            a += w[k] * float(s[C * k + c]);
          dst[c * out_width + x] = a;
        }
      }
    }
  }
  // Vertical pass into CHW, scaled to 1 = white and mirrored if asked.
  std::vector<float> acc(static_cast<size_t>(out_width));
  for (int64_t y = 0; y < out_height; ++y) {
    const float* w = cy.weights.data() + y * cy.taps;
    const int64_t first = cy.first[size_t(y)] - row_lo, n = cy.count[size_t(y)];
    for (int64_t c = 0; c < C; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k = 0; k < n; ++k) {
        const float* t = tmp.data() + ((first + k) * C + c) * out_width;
        const float wk = w[k];
        for (int64_t x = 0; x < out_width; ++x)
          acc[size_t(x)] += wk * t[x];
      }
      float* dst = out + (c * out_height + y) * out_width;
      constexpr float kInv = 1.0f / 255.0f;
      if (flip) {
        for (int64_t x = 0; x < out_width; ++x)
          dst[out_width - 1 - x] = std::clamp(acc[size_t(x)], 0.0f, 255.0f) * kInv;
      } else {
        for (int64_t x = 0; x < out_width; ++x)
          dst[x] = std::clamp(acc[size_t(x)], 0.0f, 255.0f) * kInv;
      }
    }
  }
}

} // namespace smoothlab::data
