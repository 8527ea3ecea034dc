#!/usr/bin/python3
"""The textbook PyTorch CNN on Fashion-MNIST, the peer of `smoothlab train --model cnn --epochs 5` (issue 13).

conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, fc128-BN-ReLU, fc10; SGD with Nesterov momentum 0.9, weight decay 5e-4,
peak lr 0.05 with a per-step cosine decay, batch 128; random 2-pixel-padded crops and horizontal flips; 5 000
training images held out (as smoothlab does), normalised by the training split's mean and std.

Usage: /usr/bin/python3 bench/cnn_textbook.py [--epochs 5] [--smoothing 0.1] [--seed 0] [--threads 2]
Prints one JSON line: {"test_accuracy": ..., "seconds": ..., ...}.
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.environ.get("SMOOTHLAB_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * 7 * 7, 128, bias=False)
        self.bn3 = nn.BatchNorm1d(128)
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.head(F.relu(self.bn3(self.fc(torch.flatten(x, 1)))))


def augment(x, pad, gen):
    n = x.shape[0]
    padded = F.pad(x, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    h, w = x.shape[2], x.shape[3]
    for i in range(n):
        out[i] = padded[i, :, dy[i]: dy[i] + h, dx[i]: dx[i] + w]
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--smoothing", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--pad", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    x = torch.from_numpy(read_idx("train-images-idx3-ubyte").copy()).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte").astype(np.int64))
    xt = torch.from_numpy(read_idx("t10k-images-idx3-ubyte").copy()).float().div_(255).unsqueeze(1)
    yt = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte").astype(np.int64))
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    x, y = x[perm[5000:]], y[perm[5000:]]
    mean, std = x.mean().item(), x.std().item()
    x, xt = (x - mean) / std, (xt - mean) / std

    net = Net().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps_per_epoch = math.ceil(x.shape[0] / 128)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    t0 = time.time()
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(x.shape[0], generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * 128:(b + 1) * 128]
            xb = augment(x[idx], args.pad, gen).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), y[idx], label_smoothing=args.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.time() - t0
    net.eval()
    with torch.no_grad():
        correct = sum((net(xt[i:i + 1000].contiguous(memory_format=torch.channels_last)).argmax(1) == yt[i:i + 1000])
                      .sum().item() for i in range(0, xt.shape[0], 1000))
    print(json.dumps({"model": "textbook-cnn", "epochs": args.epochs, "smoothing": args.smoothing, "seed": args.seed,
                      "lr": args.lr, "pad": args.pad, "test_accuracy": correct / xt.shape[0],
                      "seconds": round(seconds, 1), "threads": args.threads}))


if __name__ == "__main__":
    main()
