#!/usr/bin/python3
"""Golden images and reference decodes for the JPEG/PNG decoder, resampler and views (tests/data/jpeg_*_test.cpp).

    /usr/bin/python3 scripts/golden/jpeg_golden.py     (needs python3-pil, python3-torchvision, mate-backgrounds)

Writes into tests/golden/:
  jpeg_<name>.jpg|png   small crops of a natural photo (Debian mate-backgrounds' nature/Garden.jpg) in every
                        colour type: RGB 4:2:0 and 4:4:4, progressive, gray, CMYK (Adobe), PNG RGB/RGBA/palette/gray,
                        and one 256x192 JPEG for the DCT-scaling tests
  jpeg_<name>.npy       PIL's decode of each, Image.open(f).convert("RGB") as uint8 [H, W, 3]; *_L.npy convert("L")
  jpeg_resample_<filter>.npy  PIL's Image.resize((20, 15), filter, box=(3.5, 2.25, 50.5, 40.75)) of jpeg_rgb444's
                        decode: the reference for resample.h
  jpeg_center32.npy     torchvision Resize(37) + CenterCrop(32) of jpeg_rgb420 (PIL, bilinear): the evaluation view
"""
import os

import numpy as np
from PIL import Image
import torchvision.transforms as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "golden")
PHOTO = "/usr/share/backgrounds/mate/nature/Garden.jpg"


def save_ref(name, im, gray=False):
    np.save(os.path.join(OUT, f"jpeg_{name}.npy"), np.asarray(im.convert("RGB"), dtype=np.uint8))
    if gray:
        np.save(os.path.join(OUT, f"jpeg_{name}_L.npy"), np.asarray(im.convert("L"), dtype=np.uint8)[:, :, None])


def main():
    photo = Image.open(PHOTO).convert("RGB")
    # A 61x47 crop (odd sizes exercise partial MCUs), detail-rich, downscaled from the photo.
    small = photo.resize((61, 47), Image.LANCZOS, box=(900, 500, 1510, 970))
    big = photo.resize((256, 192), Image.LANCZOS, box=(300, 200, 1580, 1160))
    files = {
        "rgb420.jpg": (small, dict(quality=90)),
        "rgb444.jpg": (small, dict(quality=90, subsampling=0)),
        "progressive.jpg": (small, dict(quality=85, progressive=True)),
        "gray.jpg": (small.convert("L"), dict(quality=90)),
        "cmyk.jpg": (small.convert("CMYK"), dict(quality=95)),
        "big.jpg": (big, dict(quality=90)),
        "png_rgb.png": (small, {}),
        "png_gray.png": (small.convert("L"), {}),
        "png_palette.png": (small.convert("P", palette=Image.ADAPTIVE, colors=32), {}),
    }
    rgba = small.copy()
    alpha = Image.linear_gradient("L").resize(small.size)
    rgba.putalpha(alpha)
    files["png_rgba.png"] = (rgba, {})
    for name, (im, kw) in files.items():
        path = os.path.join(OUT, "jpeg_" + name)
        im.save(path, **kw)
        stem = os.path.splitext(name)[0]
        save_ref(stem, Image.open(path), gray=stem in ("rgb420", "png_rgb", "cmyk"))
    decoded = Image.open(os.path.join(OUT, "jpeg_rgb444.jpg")).convert("RGB")
    for label, flt in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC), ("lanczos", Image.LANCZOS)):
        r = decoded.resize((20, 15), flt, box=(3.5, 2.25, 50.5, 40.75))
        np.save(os.path.join(OUT, f"jpeg_resample_{label}.npy"), np.asarray(r, dtype=np.uint8))
    im420 = Image.open(os.path.join(OUT, "jpeg_rgb420.jpg")).convert("RGB")
    view = T.CenterCrop(32)(T.Resize(37, interpolation=T.InterpolationMode.BILINEAR)(im420))
    np.save(os.path.join(OUT, "jpeg_center32.npy"), np.asarray(view, dtype=np.uint8))
    print("wrote", sorted(f for f in os.listdir(OUT) if f.startswith("jpeg_")))


if __name__ == "__main__":
    main()
