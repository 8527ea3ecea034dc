#!/usr/bin/python3
"""Golden values for smoothlab's calibration metrics and temperature scaling (tests/calib/*_test.cpp).

An independent implementation in float64 with numpy + torch (Debian's python3-torch 1.13):
  - softmax / NLL via torch.log_softmax, Brier via an explicit one-hot,
  - equal-width bins by interval masks (lo < conf <= hi, lo = (m-1)/M, hi = m/M), like Guo et al.'s script,
  - equal-mass bins: stable sort by confidence, rank r goes to bin floor(r*M/n),
  - class-wise ECE (Kull et al. 2019) by looping over classes,
  - the NLL-optimal temperature by golden-section search on log T (then a check against a dense grid).
Logits are rounded to float32 first (the C++ side reads them as float32).
Run: /usr/bin/python3 scripts/golden/calib_golden.py  → writes tests/golden/calib_golden.json
"""
import json
import math
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "golden", "calib_golden.json")


def nll_at(z, y, t):
    return float(-torch.log_softmax(z / t, 1)[torch.arange(len(y)), y].mean())


def equal_width(conf, ok, m_bins):
    bins = []
    for m in range(1, m_bins + 1):
        lo, hi = (m - 1) / m_bins, m / m_bins
        mask = (conf > lo) & (conf <= hi) if m > 1 else (conf <= hi)
        bins.append(mask)
    return bins


def equal_mass(conf, ok, m_bins):
    n = len(conf)
    order = np.argsort(conf, kind="stable")
    which = np.floor(np.arange(n) * m_bins / n).astype(int)
    bins = []
    for m in range(m_bins):
        mask = np.zeros(n, dtype=bool)
        mask[order[which == m]] = True
        bins.append(mask)
    return bins


def binned(conf, ok, masks):
    n = len(conf)
    ece, mce, sq = 0.0, 0.0, 0.0
    for mask in masks:
        if mask.sum() == 0:
            continue
        gap = abs(ok[mask].mean() - conf[mask].mean())
        w = mask.sum() / n
        ece += w * gap
        sq += w * gap * gap
        mce = max(mce, gap)
    return ece, mce, math.sqrt(sq)


def classwise_ece(probs, y, m_bins):
    n, k = probs.shape
    total = 0.0
    for c in range(k):
        p = probs[:, c]
        hit = (y == c).astype(float)
        for mask in equal_width(p, hit, m_bins):
            if mask.sum():
                total += mask.sum() / n * abs(hit[mask].mean() - p[mask].mean())
    return total / k


def metrics(z, y, m_bins, t=1.0):
    logp = torch.log_softmax(z / t, 1)
    probs = logp.exp().numpy()
    yn = y.numpy()
    conf = probs.max(1)
    pred = z.argmax(1).numpy()
    ok = (pred == yn).astype(float)
    onehot = np.eye(z.shape[1])[yn]
    ew = binned(conf, ok, equal_width(conf, ok, m_bins))
    em = binned(conf, ok, equal_mass(conf, ok, m_bins))
    return {
        "accuracy": ok.mean(),
        "nll": float(-logp[torch.arange(len(y)), y].mean()),
        "brier": float(((probs - onehot) ** 2).sum(1).mean()),
        "mean_confidence": conf.mean(),
        "ece": ew[0], "mce": ew[1], "rms_ce": ew[2],
        "ece_equal_mass": em[0], "mce_equal_mass": em[1], "rms_ce_equal_mass": em[2],
        "classwise_ece": classwise_ece(probs, yn, m_bins),
    }


def best_temperature(z, y):
    a, b = math.log(0.05), math.log(20.0)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll_at(z, y, math.exp(c)), nll_at(z, y, math.exp(d))
    while b - a > 1e-11:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll_at(z, y, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll_at(z, y, math.exp(d))
    t = math.exp((a + b) / 2)
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 4001))
    tg = grid[int(np.argmin([nll_at(z, y, s) for s in grid]))]
    assert abs(tg / t - 1) < 2e-3, (t, tg)
    return t


def make_case(name, n, k, scale, seed, m_bins):
    g = torch.Generator().manual_seed(seed)
    clean = torch.randn(n, k, generator=g) * 1.5
    y = torch.multinomial(torch.softmax(clean, 1), 1, generator=g).squeeze(1)
    z = (clean * scale).float().double()  # float32-representable
    t = best_temperature(z, y)
    return {
        "name": name, "bins": m_bins, "n": n, "k": k,
        "logits": z.flatten().tolist(), "labels": y.tolist(),
        "metrics": metrics(z, y, m_bins),
        "metrics_t2": metrics(z, y, m_bins, 2.0),
        "temperature": t, "nll_at_temperature": nll_at(z, y, t),
    }


def main():
    cases = [
        make_case("calibrated_k5", 300, 5, 1.0, 1, 15),
        make_case("overconfident_k10", 500, 10, 3.0, 2, 15),
        make_case("underconfident_k3", 400, 3, 0.4, 3, 10),
        make_case("binary", 200, 2, 2.0, 4, 15),
    ]
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/golden/calib_golden.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")
    for c in cases:
        print(c["name"], "T*", round(c["temperature"], 6), "ece", round(c["metrics"]["ece"], 6))


if __name__ == "__main__":
    main()
