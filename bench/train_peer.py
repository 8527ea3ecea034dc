#!/usr/bin/python3
"""The peer of bench/train_bench.cpp: the same models, data, batch and optimizer in PyTorch Python
(Debian's python3-torch), on the same number of threads, at fp32 or under torch.autocast at bf16. Training: batch 128 of pre-normalised in-memory
tensors (no augmentation — work the C++ side does and this side skips); evaluation: every batch size in
--eval-batches, the best one reported. Prints one JSON object."""
import argparse, gzip, json, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    def __init__(s, c, h, w, k):
        super().__init__()
        s.fc1, s.fc2, s.head = nn.Linear(c * h * w, 256), nn.Linear(256, 256), nn.Linear(256, k)

    def forward(s, x):
        return s.head(F.relu(s.fc2(F.relu(s.fc1(x.flatten(1))))))


class Cnn(nn.Module):  # mirrors model/classifier.cpp CnnImpl
    def __init__(s, c, h, w, k):
        super().__init__()
        s.convs = nn.ModuleList([nn.Conv2d(c, 32, 3, 1, 1, bias=False), nn.Conv2d(32, 64, 3, 1, 1, bias=False)])
        s.bns = nn.ModuleList([nn.BatchNorm2d(32), nn.BatchNorm2d(64)])
        s.fc, s.fc_bn = nn.Linear(64 * (h // 4) * (w // 4), 128, bias=False), nn.BatchNorm1d(128)
        s.head = nn.Linear(128, k)

    def forward(s, x):
        for i in range(2):
            x = F.max_pool2d(F.relu(s.bns[i](s.convs[i](x))), 2)
        return s.head(F.relu(s.fc_bn(s.fc(x.flatten(1)))))


class Block(nn.Module):  # option-A basic block, mirrors BasicBlockImpl
    def __init__(s, i, o, st):
        super().__init__()
        s.c1, s.b1 = nn.Conv2d(i, o, 3, st, 1, bias=False), nn.BatchNorm2d(o)
        s.c2, s.b2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
        s.st, s.pad = st, o - i

    def forward(s, x):
        y = s.b2(s.c2(F.relu(s.b1(s.c1(x)))))
        sc = x
        if s.st != 1 or s.pad:
            sc = F.pad(x[:, :, ::s.st, ::s.st], (0, 0, 0, 0, s.pad // 2, s.pad - s.pad // 2))
        return F.relu(y + sc)


class ResNet(nn.Module):
    def __init__(s, c, h, w, k, depth=20):
        super().__init__()
        n = (depth - 2) // 6
        s.stem, s.bn = nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        blocks, i = [], 16
        for stage, o in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(Block(i, o, 2 if stage > 0 and b == 0 else 1)); i = o
        s.blocks, s.head = nn.Sequential(*blocks), nn.Linear(64, k)

    def forward(s, x):
        return s.head(s.blocks(F.relu(s.bn(s.stem(x)))).mean((2, 3)))


MODELS = {"mlp": Mlp, "cnn": Cnn, "resnet20": ResNet}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="cnn,resnet20")
    ap.add_argument("--train-seconds", type=float, default=8.0)
    ap.add_argument("--eval-seconds", type=float, default=3.0)
    ap.add_argument("--eval-batches", default="128,256,512,1000,2000")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.from_numpy(read_idx(f"{a.data}/train-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    y = torch.from_numpy(read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xt = torch.from_numpy(read_idx(f"{a.data}/t10k-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    mean, std = x.mean(), x.std()
    x, xt = (x - mean) / std, (xt - mean) / std
    out = {"threads": a.threads, "torch": torch.__version__, "precision": a.precision}
    bf16 = a.precision == "bf16"
    # Channels-last weights, as smoothlab's models keep them: PyTorch's fastest layout for oneDNN's convolutions at
    # both precisions (measured: cnn 4 940 img/s channels-last vs 3 250 NCHW at fp32, 7 360 vs 4 080 at bf16).
    fmt = torch.channels_last
    x, xt = x.contiguous(memory_format=fmt), xt.contiguous(memory_format=fmt)
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    for name in a.models.split(","):
        model = MODELS[name](1, 28, 28, 10).to(memory_format=fmt)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
        perm = torch.randperm(x.shape[0])

        def step(i):
            idx = perm[(i * 128) % (x.shape[0] - 128):][:128]
            with autocast():
                loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=0.1)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss.item()

        for i in range(3):
            step(i)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < a.train_seconds:
            step(n); n += 1
        out[f"train/{name}"] = n * 128 / (time.perf_counter() - t0)
        model.eval()
        best = 0.0
        with torch.no_grad(), autocast():
            for bs in [int(b) for b in a.eval_batches.split(",")]:
                model(xt[:bs])
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < a.eval_seconds:
                    s = (n * bs) % (xt.shape[0] - bs)
                    model(xt[s:s + bs]); n += 1
                rate = n * bs / (time.perf_counter() - t0)
                out[f"eval/{name}/batch{bs}"] = rate
                best = max(best, rate)
        out[f"eval/{name}"] = best
    print(json.dumps(out))


if __name__ == "__main__":
    main()
