#!/usr/bin/python3
"""Peer for bench/loader_bench.cpp: decode + RandomResizedCrop(224) + flip (+ to float, normalise) images/s with
Debian's python3-pil (torchvision transforms on PIL images) and torchvision.io.decode_jpeg (transforms on tensors),
with 1 and 2 worker processes, each single-threaded, on the same folder of JPEGs.

    /usr/bin/python3 bench/loader_peer.py FOLDER [--images 600] [--workers 1,2] [--json]
"""
import argparse
import glob
import json
import multiprocessing as mp
import os
import time

import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.io import decode_jpeg, read_file, ImageReadMode

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def pil_pipeline():
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    return lambda path: tf(Image.open(path).convert("RGB"))


def tv_pipeline():
    rrc = T.RandomResizedCrop(224, antialias=True)
    flip = T.RandomHorizontalFlip()
    norm = T.Normalize(MEAN, STD)
    return lambda path: norm(flip(rrc(decode_jpeg(read_file(path), mode=ImageReadMode.RGB))).float() / 255.0)


PIPELINES = {"pil": pil_pipeline, "torchvision.io": tv_pipeline}


def work(args):
    name, files = args
    torch.set_num_threads(1)
    torch.manual_seed(len(files))
    fn = PIPELINES[name]()
    for f in files[:8]:  # warm-up
        fn(f)
    t0 = time.perf_counter()
    for f in files:
        fn(f)
    return time.perf_counter() - t0


def measure(name, files, workers):
    shards = [(name, files[i::workers]) for i in range(workers)]
    if workers == 1:
        seconds = [work(shards[0])]
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            t0 = time.perf_counter()
            seconds = pool.map(work, shards)
            wall = time.perf_counter() - t0
            # Steady-state throughput: the slowest worker's loop time (pool start-up excluded).
            seconds = [min(max(seconds), wall)]
    return len(files) / max(seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.folder, "**", "*.jpg"), recursive=True))[: args.images]
    if not files:
        raise SystemExit(f"error: no .jpg files under {args.folder}\nhint: /usr/bin/python3 scripts/make_jpeg_folder.py DIR")
    results = []
    for name in PIPELINES:
        for w in [int(x) for x in args.workers.split(",")]:
            results.append({"peer": name, "workers": w, "images": len(files), "images_per_second": measure(name, files, w)})
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            print(f"{r['peer']:<16} workers {r['workers']}  {r['images_per_second']:8.1f} images/s")


if __name__ == "__main__":
    main()
