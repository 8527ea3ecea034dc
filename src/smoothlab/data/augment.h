// The geometry of the ImageNet and CIFAR augmentation recipes for image files, drawn reproducibly.
//
//   RandomResizedCrop (Szegedy et al. 2015; torchvision's get_params, same algorithm): up to 10 tries of
//     area = W·H·U(scale_min, scale_max), aspect r = exp(U(log ratio_min, log ratio_max)),
//     w = round(√(area·r)), h = round(√(area/r)); the first that fits gives top = U{0..H−h}, left = U{0..W−w};
//     otherwise the whole image clipped to the ratio range, centred. The box is then resized to size × size.
//   Center (evaluation): the shorter side resized to round(size / 0.875) (256 for 224), centre crop size × size,
//     top = round((H' − size)/2) as torchvision's CenterCrop; done as one resample of the matching source box.
//   PadCrop (CIFAR): the whole image resized to size × size, then a size × size crop of it padded by `padding`
//     zeros on each side: shift (dy, dx) ∈ {−p..p}², then the flip.
//   Horizontal flip with probability 1/2 (RandomResizedCrop, PadCrop) when hflip is set.
//
// Every draw comes from one 64-bit hash of (seed, epoch, example index) (random.h's example_hash), so a view
// is the same on any thread, in any order, in any run.
#pragma once

#include <cstdint>
#include <string>

#include "smoothlab/data/random.h"
#include "smoothlab/data/resample.h"

namespace smoothlab::data {

enum class TransformKind { RandomResizedCrop, Center, PadCrop };

// "rrc" | "pad-crop" | "center" (the --folder-augment and config.json spelling); any other name is an Error naming
// --folder-augment, with the known ones in its hint.
TransformKind parse_transform_kind(const std::string& name);
const char* transform_kind_name(TransformKind kind);

struct TransformOptions {
  TransformKind kind = TransformKind::Center;
  int64_t size = 224; // output side
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  int64_t padding = 4;
  bool hflip = true;
  ResizeFilter filter = ResizeFilter::Bilinear;

  // Throws Error naming the option (--image-size, --rrc-scale, --rrc-ratio, --crop-padding) for values out of range:
  // size ≥ 1, 0 < scale_min ≤ scale_max ≤ 1, 0 < ratio_min ≤ ratio_max finite, padding ≥ 0. draw_view calls it.
  void validate() const;
};

// One example's view: the source box to resample, the flip and (PadCrop) the shift.
struct View {
  Box box;
  bool flip = false;
  int64_t dy = 0, dx = 0;
};

// The view of a width × height image under `options`, drawn from `hash`. Throws Error for an empty image or options
// out of range (TransformOptions::validate).
View draw_view(const TransformOptions& options, int64_t width, int64_t height, uint64_t hash);

// The RandomResizedCrop box alone (integer pixel edges), as torchvision computes it.
Box random_resized_crop_box(
    int64_t width,
    int64_t height,
    double scale_min,
    double scale_max,
    double ratio_min,
    double ratio_max,
    SplitMix& rng);

// The source box that Resize(round(size / 0.875)) + CenterCrop(size) shows.
Box center_crop_box(int64_t width, int64_t height, int64_t size);

} // namespace smoothlab::data
