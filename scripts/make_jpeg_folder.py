#!/usr/bin/python3
"""Makes a realistic image folder (ImageNet layout) from the natural photos of Debian's mate-backgrounds.

    /usr/bin/python3 scripts/make_jpeg_folder.py OUT [--train 2000] [--test 400] [--seed 0]

OUT/train/<class>/NNNNN.jpg and OUT/test/<class>/NNNNN.jpg: one class per source photo (12 classes), each image a
random crop of its photo (a tenth to two thirds of its height, jittered aspect, 1 in 5 portrait) resized with
Lanczos to about 500x375 (the ImageNet median), randomly flipped, slightly brightness-jittered and saved as
baseline JPEG, quality 90, 4:2:0 (PIL's default) — decode cost and statistics like ImageNet photos.
Needs: apt-get install mate-backgrounds python3-pil. Deterministic for a given --seed.
"""
import argparse
import glob
import os
import sys

import numpy as np
from PIL import Image, ImageEnhance

PHOTOS = "/usr/share/backgrounds/mate/nature"


def make_one(photo, rng):
    W, H = photo.size
    portrait = rng.random() < 0.2
    out_w, out_h = (375, 500) if portrait else (500, 375)
    out_w += int(rng.integers(-40, 41))
    out_h += int(rng.integers(-30, 31))
    aspect = out_w / out_h
    crop_h = H * rng.uniform(0.1, 0.66)
    crop_w = min(W, crop_h * aspect)
    crop_h = crop_w / aspect
    x0 = rng.uniform(0, W - crop_w)
    y0 = rng.uniform(0, H - crop_h)
    im = photo.resize((out_w, out_h), Image.LANCZOS, box=(x0, y0, x0 + crop_w, y0 + crop_h))
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    return im


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", type=int, default=90)
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))
    if not files:
        sys.exit(f"error: no photos in {PHOTOS}\nhint: apt-get install mate-backgrounds")
    photos = [(os.path.splitext(os.path.basename(f))[0].lower(), Image.open(f).convert("RGB")) for f in files]
    rng = np.random.default_rng(args.seed)
    for split, count in (("train", args.train), ("test", args.test)):
        for i in range(count):
            name, photo = photos[i % len(photos)]
            folder = os.path.join(args.out, split, name)
            os.makedirs(folder, exist_ok=True)
            make_one(photo, rng).save(os.path.join(folder, f"{i:05d}.jpg"), quality=args.quality)
    print(f"wrote {args.train} + {args.test} JPEGs in {len(photos)} classes to {args.out}")


if __name__ == "__main__":
    main()
