#!/usr/bin/python3
"""Python peer of bench/calib_bench.cpp: the same calibration work in PyTorch/numpy, vectorised the way a
numpy/torch user (or torchmetrics / netcal) would write it, on the same [50000, 1000] float32 logits.

Work = metrics at T = 1 (accuracy, NLL, Brier, top-label ECE/MCE/RMS with equal-width and equal-mass bins,
class-wise ECE) + temperature fit (the same safeguarded Newton on beta = 1/T, one pass per iteration)
+ the metrics again at the fitted T.  Run with Debian's python:  /usr/bin/python3 bench/calib_peer.py
"""
import math
import sys
import time

import torch

torch.set_num_threads(2)
N, K, M = 50000, 1000, 15


def data():
    torch.manual_seed(0)
    z = torch.randn(N, K) * 2
    y = torch.randint(0, K, (N,))
    z[torch.arange(N), y] += 5
    return z, y


def binned(b, conf, ok, n):
    cnt = torch.bincount(b, minlength=M).double()
    gap = (torch.bincount(b, ok, minlength=M) - torch.bincount(b, conf, minlength=M)).abs()
    nz = cnt > 0
    ece = float(gap.sum() / n)
    mce = float((gap[nz] / cnt[nz]).max())
    rms = math.sqrt(float(((gap[nz] / cnt[nz]) ** 2 * cnt[nz] / n).sum()))
    return ece, mce, rms


def metrics(z, y, t):
    bounds = torch.arange(1, M, dtype=torch.float32) / M
    logp = torch.log_softmax(z / t, 1)
    p = logp.exp()
    conf, pred = p.max(1)
    ok = (pred == y).double()
    n = len(y)
    py = p.gather(1, y[:, None]).squeeze(1)
    out = {"accuracy": float(ok.mean()),
           "nll": float(-logp.gather(1, y[:, None]).double().mean()),
           "brier": float(((p * p).sum(1) - 2 * py + 1).double().mean())}
    conf64 = conf.double()
    out["ece"], out["mce"], out["rms"] = binned(torch.bucketize(conf, bounds), conf64, ok, n)
    order = torch.sort(conf, stable=True).indices
    bm = torch.empty(n, dtype=torch.long)
    bm[order] = torch.arange(n) * M // n
    out["ece_equal_mass"] = binned(bm, conf64, ok, n)[0]
    pb = torch.bucketize(p, bounds) + torch.arange(K)[None, :] * M  # class-wise bins, [N, K]
    counts_p = torch.bincount(pb.flatten(), p.flatten().double(), minlength=K * M)
    hits = torch.bincount(y * M + torch.bucketize(py, bounds), minlength=K * M).double()
    out["classwise_ece"] = float((hits - counts_p).abs().sum() / (n * K))
    return out


def fit_temperature(z, y, tmin=1e-2, tmax=1e2, tol=1e-7):
    u = z - z.max(1, keepdim=True).values
    uy = u.gather(1, y[:, None]).squeeze(1)

    def at(beta):
        e = torch.exp(beta * u)
        s = e.sum(1, dtype=torch.float64)
        a = (e * u).sum(1, dtype=torch.float64)
        b = (e * u * u).sum(1, dtype=torch.float64)
        m = a / s
        return float((s.log() - beta * uy).mean()), float((m - uy).mean()), float((b / s - m * m).clamp(min=0).mean())

    bmin, bmax = 1 / tmax, 1 / tmin
    lo, hi, glo, ghi = bmin, bmax, None, None
    beta = 1.0
    f, g, h = at(beta)
    f0, it = f, 1
    while True:
        if g > 0:
            hi, ghi = beta, g
        else:
            lo, glo = beta, g
        if g == 0 or abs(g) * beta < 1e-12 or (beta == bmax and g < 0) or (beta == bmin and g > 0):
            break
        nxt = beta - g / h if h > 0 else float("nan")
        if nxt == nxt:
            nxt = min(max(nxt, beta / 4), beta * 4)
        if not (lo < nxt < hi):
            if glo is not None and ghi is not None:
                w = hi - lo
                nxt = lo - glo * w / (ghi - glo)
                if not (lo + 0.01 * w < nxt < hi - 0.01 * w):
                    nxt = math.sqrt(lo * hi)
            elif ghi is None:
                nxt = min(beta * 4, bmax)
            else:
                nxt = max(beta / 4, bmin)
        if abs(nxt - beta) <= tol * beta or it >= 100:
            break
        beta = nxt
        f, g, h = at(beta)
        it += 1
    return 1 / beta, f0, f, it


def work(z, y):
    before = metrics(z, y, 1.0)
    t, nll0, nll1, it = fit_temperature(z, y)
    after = metrics(z, y, t)
    return before, (t, nll0, nll1, it), after


def main():
    z, y = data()
    work(z[:2000], y[:2000])  # warm-up
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        before, fit, after = work(z, y)
        times.append(time.perf_counter() - start)
    t0 = time.perf_counter()
    metrics(z, y, 1.0)
    t_metrics = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_temperature(z, y)
    t_fit = time.perf_counter() - t0
    print(f"peer torch {torch.__version__} threads {torch.get_num_threads()}: calibrate-all median "
          f"{sorted(times)[len(times) // 2] * 1e3:.0f} ms (min {min(times) * 1e3:.0f}); metrics {t_metrics * 1e3:.0f} ms;"
          f" temperature fit {t_fit * 1e3:.0f} ms")
    print(f"peer T = {fit[0]:.6f} ({fit[3]} iterations), NLL {fit[1]:.6f} -> {fit[2]:.6f}; "
          f"ECE {before['ece']:.6f} -> {after['ece']:.6f}; accuracy {before['accuracy']:.4f}; "
          f"classwise {before['classwise_ece']:.6f}; eq-mass {before['ece_equal_mass']:.6f}")


if __name__ == "__main__":
    main()
