// Augmentation geometry (RandomResizedCrop, resize + centre crop, padded random crop, flip) from a per-example hash.
#include "smoothlab/data/augment.h"

#include <algorithm>
#include <cmath>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"

namespace smoothlab::data {

namespace {
constexpr Named<TransformKind> kTransformKinds[] = {
    {TransformKind::RandomResizedCrop, "rrc", "RandomResizedCrop + flip, ImageNet"},
    {TransformKind::PadCrop, "pad-crop", "resize + padded crop + flip, CIFAR"},
    {TransformKind::Center, "center", "resize + centre crop, no randomness"},
};
} // namespace

TransformKind parse_transform_kind(const std::string& name) {
  return parse_named(kTransformKinds, name, "--folder-augment", "augmentation");
}

const char* transform_kind_name(TransformKind kind) {
  return name_of(kTransformKinds, kind);
}

Box random_resized_crop_box(
    int64_t width,
    int64_t height,
    double scale_min,
    double scale_max,
    double ratio_min,
    double ratio_max,
    SplitMix& rng) {
  const double area = double(width) * double(height);
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int64_t w = int64_t(std::nearbyint(std::sqrt(target_area * aspect)));
    const int64_t h = int64_t(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int64_t top = rng.below(height - h + 1), left = rng.below(width - w + 1);
      return {double(left), double(top), double(left + w), double(top + h)};
    }
  }
  // Fallback: the whole image, clipped to the ratio range, centred.
  const double in_ratio = double(width) / double(height);
  int64_t w = width, h = height;
  if (in_ratio < ratio_min) {
    h = int64_t(std::nearbyint(double(w) / ratio_min));
  } else if (in_ratio > ratio_max) {
    w = int64_t(std::nearbyint(double(h) * ratio_max));
  }
  const int64_t top = (height - h) / 2, left = (width - w) / 2;
  return {double(left), double(top), double(left + w), double(top + h)};
}

Box center_crop_box(int64_t width, int64_t height, int64_t size) {
  const int64_t resize = std::llround(double(size) / 0.875);
  // torchvision Resize(int): the shorter side becomes `resize`, the longer int(resize · long / short).
  int64_t new_w, new_h;
  if (width <= height) {
    new_w = resize;
    new_h = int64_t(double(resize) * double(height) / double(width));
  } else {
    new_h = resize;
    new_w = int64_t(double(resize) * double(width) / double(height));
  }
  const int64_t top = int64_t(std::nearbyint(double(new_h - size) / 2.0)),
                left = int64_t(std::nearbyint(double(new_w - size) / 2.0));
  const double sx = double(width) / double(new_w), sy = double(height) / double(new_h);
  return {double(left) * sx, double(top) * sy, double(left + size) * sx, double(top + size) * sy};
}

void TransformOptions::validate() const {
  check(size >= 1, "--image-size must be positive, got {}", size);
  check(
      scale_min > 0 && scale_min <= scale_max && scale_max <= 1,
      "--rrc-scale must satisfy 0 < min <= max <= 1, got {},{}",
      scale_min,
      scale_max);
  check(
      ratio_min > 0 && ratio_min <= ratio_max && std::isfinite(ratio_max),
      "--rrc-ratio must satisfy 0 < min <= max, got {},{}",
      ratio_min,
      ratio_max);
  check(padding >= 0, "--crop-padding must be non-negative, got {}", padding);
}

View draw_view(const TransformOptions& o, int64_t width, int64_t height, uint64_t hash) {
  o.validate();
  check(width > 0 && height > 0, "image of size {}x{} has no pixels", width, height);
  SplitMix rng(hash);
  View v;
  switch (o.kind) {
    case TransformKind::RandomResizedCrop:
      v.box = random_resized_crop_box(width, height, o.scale_min, o.scale_max, o.ratio_min, o.ratio_max, rng);
      v.flip = o.hflip && (rng.next() >> 63);
      break;
    case TransformKind::Center:
      v.box = center_crop_box(width, height, o.size);
      break;
    case TransformKind::PadCrop:
      v.box = {0, 0, double(width), double(height)};
      v.dy = rng.below(2 * o.padding + 1) - o.padding;
      v.dx = rng.below(2 * o.padding + 1) - o.padding;
      v.flip = o.hflip && (rng.next() >> 63);
      break;
  }
  return v;
}

} // namespace smoothlab::data
