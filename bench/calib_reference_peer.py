#!/usr/bin/python3
"""Reference peer of bench/calib_bench.cpp's BM_Calibrator / BM_OdirEvaluation (issue 28, item 6): each post-hoc
calibrator fitted, applied and evaluated on the same [50000, 1000] float32 logits by its *published reference code*,
imported from the authors' checkouts named on the command line (nothing of them is copied into smoothlab).

Data: calib_peer.py's recipe, drawn by torch with the same seed as the C++ side (torch.manual_seed(0); z = 2·randn,
y uniform, z[i, y_i] += 5), so both sides see the same numbers (the printed logit_sum / label_sum are the C++
counters of the same name).

Per method, one timed run of
  fit      temperature:  Mix-n-Match util_calibration.temperature_scaling(z, onehot, "ce")   (Zhang et al. 2020)
           ets:          temperature_scaling, then ensemble_scaling(z, onehot, "ce", T, K)
           isotonic:     scikit-learn IsotonicRegression(out_of_bounds="clip") per predicted class on the top-label
                         confidence (pooled below 15 examples), as scripts/golden/calibrators_golden.py calls it
           histogram:    verified_calibration HistogramTopCalibrator(n, 15) per predicted class (pooled below 15
                         examples) — Kumar et al.'s top-label equal-mass binning; its bins are np.array_split parts
                         with mid-point edges, smoothlab's are ⌊r·M/n⌋ ranks with upper-end edges (not the same map)
           spline:       spline-calibration recalibrate.get_recalibration_function(top scores, hits, "natural", 6),
                         the returned function called per example as its main() does (Gupta et al. 2021)
  apply    the calibrated [N, K] probabilities (top-label methods: re-normalised as smoothlab does)
  metrics  smooth ECE: relplot.metrics.smECE (apple/ml-calibration); KS: cal_metrics/KS.py plot_KS_graphs
           (spline-calibration, showplots=False; it also fits its spline); debiased L2 CE:
           calibration.lower_bound_scaling_top_ce(p=2, debias=True, num_bins=15) (p-lambda/verified_calibration);
           equal-mass ECE and netcal-style ACE: numpy written here (no reference installed)
Vector, matrix and Dirichlet: dirichletcal (the reference) needs jax, which Debian does not package, and builds an
[N, K+1, K+1] array (400 GB at K = 1000), so it cannot run here. Stand-in: the ODIR objective (smoothlab's
normalisation λ/(K(K−1)), μ/K) and its gradient written in PyTorch autograd, float64, timed per evaluation at
W = I/T_TS, b = 0; vector scaling also as a full torch.optim.LBFGS fit (strong Wolfe, max|grad| ≤ 1e-6, ≤ 500
evaluations — smoothlab's settings).

Usage: /usr/bin/python3 bench/calib_reference_peer.py --mix-n-match DIR --spline DIR --relplot DIR --verified DIR
       [--methods temperature,ets,histogram,isotonic,spline,vector,matrix,dirichlet] [--reps R]
"""
import argparse
import contextlib
import io
import math
import pathlib
import sys
import time

import numpy as np
import scipy
import sklearn
import torch
from sklearn.isotonic import IsotonicRegression

from calib_peer import data  # noqa: E402  (this folder: the [N, K] logits both peers and calib_bench draw)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts" / "golden"))
from calibrators_golden import commit_of  # noqa: E402
from spline_golden import stand_in  # noqa: E402

torch.set_num_threads(2)
N, K, BINS, MIN_CLASS_COUNT = 50000, 1000, 15, 15
ALL = ["temperature", "ets", "histogram", "isotonic", "spline", "vector", "matrix", "dirichlet"]


def load_references(a):
    """The authors' modules from their checkouts. Plotting / logging imports that the timed functions do not use
    (matplotlib, log_utils's bokeh/pandas, relplot's diagrams) get stand-ins when absent."""
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        stand_in("matplotlib").pyplot = stand_in("matplotlib.pyplot")
    refs = {}
    sys.path.insert(0, str(a.mix_n_match))
    import util_calibration as mnm
    refs["mnm"] = mnm
    sys.path.insert(0, str(a.spline))
    try:
        import log_utils  # noqa: F401
    except ImportError:
        stand_in("log_utils", ResultsLog=object)
    import recalibrate
    from cal_metrics import KS
    refs["recalibrate"], refs["ks"] = recalibrate, KS
    # relplot's __init__ imports its plotting module (pandas, matplotlib, seaborn); the metrics need none of them.
    pkg = stand_in("relplot")
    pkg.__path__ = [str(pathlib.Path(a.relplot) / "src" / "relplot")]
    import relplot.metrics
    refs["relplot"] = relplot.metrics
    sys.path.insert(0, str(a.verified))
    import calibration
    refs["verified"] = calibration
    return refs


def load():
    """The load average (1, 5, 15 min), printed before and after each method: these machines are shared."""
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def renormalise_top(p, c):
    """smoothlab's top-label re-normalisation: the top class gets c, the others share 1 − c in proportion."""
    top = p.argmax(1)
    pt = p[np.arange(len(p)), top]
    rest = np.where(pt < 1, (1 - c) / np.maximum(1 - pt, 1e-300), 0.0)
    q = p * rest[:, None]
    q[np.arange(len(p)), top] = c
    return q


def ece_equal_mass(f, ok, m=BINS):
    order = np.argsort(f, kind="stable")
    b = np.empty(len(f), dtype=np.int64)
    b[order] = np.arange(len(f)) * m // len(f)
    gap = np.abs(np.bincount(b, ok, m) - np.bincount(b, f, m))
    return float(gap.sum() / len(f))


def ace_netcal(f, ok, m=BINS):
    b = np.minimum((f * m).astype(np.int64), m - 1)
    cnt = np.bincount(b, minlength=m)
    nz = cnt > 0
    gap = np.abs(np.bincount(b, ok, m) - np.bincount(b, f, m))[nz] / cnt[nz]
    return float(gap.mean())


def evaluate(refs, q, y):
    f = q.max(1)
    ok = (q.argmax(1) == y).astype(np.float64)
    out = {"nll": float(-np.log(np.maximum(q[np.arange(len(y)), y], 1e-300)).mean())}
    out["smece"] = float(refs["relplot"].smECE(f, ok))
    with contextlib.redirect_stdout(io.StringIO()):
        out["ks"] = float(refs["ks"].plot_KS_graphs(f, ok, "natural", 6, "/tmp", "ks", showplots=False))
    out["dl2ce"] = float(refs["verified"].lower_bound_scaling_top_ce(q, y, p=2, debias=True, num_bins=BINS))
    out["ece_em"] = ece_equal_mass(f, ok)
    out["ace"] = ace_netcal(f, ok)
    out["mean_conf"] = float(f.mean())
    return out


def top_label_per_class(p, y, fit_apply):
    """fit_apply(p_rows, y_rows) fits a top-label map on those rows and returns it applied to them: the pooled map on
    every row, then per predicted class with at least MIN_CLASS_COUNT rows (applied to the fit data itself)."""
    pred = p.argmax(1)
    out = fit_apply(p, y)
    maps = 0
    for k in np.unique(pred):
        rows = pred == k
        if rows.sum() >= MIN_CLASS_COUNT:
            out[rows] = fit_apply(p[rows], y[rows])
            maps += 1
    return out, maps


def top_label_fit(refs, name):
    """The reference's top-label map for `name` (isotonic | histogram) as fit_apply(p_rows, y_rows) of
    top_label_per_class: fitted on those rows and applied to them."""
    if name == "isotonic":
        def fit_apply(pr, yr):
            c, hit = pr.max(1), (pr.argmax(1) == yr).astype(np.float64)
            return IsotonicRegression(out_of_bounds="clip").fit(c, hit).predict(c)
    else:
        def fit_apply(pr, yr):
            h = refs["verified"].HistogramTopCalibrator(len(pr), BINS)
            h.train_calibration(pr, yr)
            return h.calibrate(pr)
    return fit_apply


def run_method(refs, name, z, y):
    """Fit + apply on the float64 numpy logits; returns (calibrated probabilities, parameters, fit seconds,
    apply seconds)."""
    mnm = refs["mnm"]
    t0 = time.perf_counter()
    params = {}
    if name in ("temperature", "ets"):
        onehot = np.eye(K)[y]
        t = float(mnm.temperature_scaling(z, onehot, "ce")[0])
        params["T"] = t
        if name == "ets":
            with contextlib.redirect_stdout(io.StringIO()):
                w = mnm.ensemble_scaling(z, onehot, "ce", t, K)
            params["w"] = [float(v) for v in w]
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        q = softmax(z / t) if name == "temperature" else w[0] * softmax(z / t) + w[1] * softmax(z) + w[2] / K
    elif name in ("isotonic", "histogram"):
        p = softmax(z)
        c, params["class_maps"] = top_label_per_class(p, y, top_label_fit(refs, name))
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        q = renormalise_top(p, c)
    elif name == "spline":
        p = softmax(z)
        rc = refs["recalibrate"]
        scores, hits = rc.get_top_results(p, y, -1)
        with contextlib.redirect_stdout(io.StringIO()):
            frecal = rc.get_recalibration_function(scores, hits, "natural", 6)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        c = np.clip(np.array([frecal(float(s)) for s in scores]), 0.0, 1.0)
        q = renormalise_top(p, c)
    else:
        raise ValueError(name)
    return q, params, t_fit, time.perf_counter() - t0


def odir_evaluation(x, y, w, b, lam=1e-3, mu=1e-3):
    """The ODIR objective and its gradient by autograd, float64, as a PyTorch user writes it (plain penalty: at the
    starting point W = I/T, b = 0 it equals smoothlab's canonical-form objective)."""
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    k = w.shape[0]
    off = w - torch.diag(torch.diagonal(w))
    loss = torch.nn.functional.cross_entropy(x @ w.T + b, y) + lam / (k * (k - 1)) * (off ** 2).sum() \
        + mu / k * (b ** 2).sum()
    loss.backward()
    return float(loss), max(float(w.grad.abs().max()), float(b.grad.abs().max()))


def vector_fit(x, y, t):
    a = torch.full((K,), 1.0 / t, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], lr=1, max_iter=500, max_eval=500, tolerance_grad=1e-6, tolerance_change=1e-15,
                            history_size=20, line_search_fn="strong_wolfe")
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x * a + b, y)
        loss.backward()
        evals[0] += 1
        return loss
    opt.step(closure)
    loss = closure()
    g = max(float(a.grad.abs().max()), float(b.grad.abs().max()))
    return a.detach(), b.detach(), float(loss), g, evals[0] - 1


def main():
    global N
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mix-n-match", required=True)
    ap.add_argument("--spline", required=True)
    ap.add_argument("--relplot", required=True)
    ap.add_argument("--verified", required=True)
    ap.add_argument("--methods", default=",".join(ALL))
    ap.add_argument("--reps", type=int, default=1, help="runs of each reference method (median and min printed)")
    ap.add_argument("--rows", type=int, default=N, help="N (smoke tests only; the benchmark's N is 50000)")
    a = ap.parse_args()
    N = a.rows
    methods = a.methods.split(",")
    refs = load_references(a)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-learn {sklearn.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    for label, path in [("zhang64-llnl/Mix-n-Match-Calibration", a.mix_n_match),
                        ("kartikgupta-at-anu/spline-calibration", a.spline), ("apple/ml-calibration", a.relplot),
                        ("p-lambda/verified_calibration", a.verified)]:
        print(f"reference github:{label} @ {commit_of(path)}")
    zt, yt = data()
    print(f"data: logit_sum {float(zt.double().sum()):.6f} label_sum {int(yt.sum())}")
    z, y = zt.double().numpy(), yt.numpy()
    for name in methods:
        if name in ("vector", "matrix", "dirichlet"):
            continue
        load_before = load()
        runs = []
        for _ in range(a.reps):
            q, params, t_fit, t_apply = run_method(refs, name, z, y)
            t0 = time.perf_counter()
            m = evaluate(refs, q, y)
            t_metrics = time.perf_counter() - t0
            runs.append((t_fit + t_apply + t_metrics, t_fit, t_apply, t_metrics))
            del q
        runs.sort()
        total, t_fit, t_apply, t_metrics = runs[len(runs) // 2]
        print(f"{name}: total {total:.3f} s (fit {t_fit:.3f}, apply {t_apply:.3f}, metrics {t_metrics:.3f}; median of "
              f"{len(runs)}, min {runs[0][0]:.3f}); {params}; " + ", ".join(f"{k} {v:.6g}" for k, v in m.items())
              + f"; load {load_before} -> {load()}", flush=True)
    if any(m in methods for m in ("vector", "matrix", "dirichlet")):
        zd = zt.double()
        # The starting point's T_TS: a 1-D NLL minimisation (scipy bounded), printed beside the C++ counter T.
        res = scipy.optimize.minimize_scalar(
            lambda tt: float(torch.nn.functional.cross_entropy(zd / tt, yt)), bounds=(0.05, 20), method="bounded",
            options={"xatol": 1e-10})
        t = float(res.x)
        print(f"T_TS (scipy bounded, start of vector/matrix/dirichlet): {t:.6f}")
        for name in ("vector", "matrix", "dirichlet"):
            if name not in methods:
                continue
            load_before = load()
            if name == "vector":
                t0 = time.perf_counter()
                va, vb, loss, g, evals = vector_fit(zd, yt, t)
                t_fit = time.perf_counter() - t0
                t0 = time.perf_counter()
                q = torch.softmax(zd * va + vb, 1).numpy()
                t_apply = time.perf_counter() - t0
                t0 = time.perf_counter()
                m = evaluate(refs, q, y)
                t_metrics = time.perf_counter() - t0
                print(f"vector (torch.optim.LBFGS stand-in): total {t_fit + t_apply + t_metrics:.3f} s (fit {t_fit:.3f},"
                      f" apply {t_apply:.3f}, metrics {t_metrics:.3f}); {evals} evaluations, NLL {loss:.6f}, "
                      f"max|grad| {g:.2e}; " + ", ".join(f"{k} {v:.6g}" for k, v in m.items())
                      + f"; load {load_before} -> {load()}", flush=True)
                continue
            x = zd if name == "matrix" else torch.log_softmax(zd, 1)
            w = torch.eye(K, dtype=torch.float64) / t
            b = torch.zeros(K, dtype=torch.float64)
            odir_evaluation(x[:1000], yt[:1000], w, b)  # warm-up
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                value, g = odir_evaluation(x, yt, w, b)
                times.append(time.perf_counter() - t0)
            print(f"{name} (PyTorch autograd stand-in): one objective+gradient evaluation median "
                  f"{sorted(times)[1]:.3f} s (min {min(times):.3f}); objective {value:.9f}, max|grad| {g:.6e}; "
                  f"load {load_before} -> {load()}", flush=True)


if __name__ == "__main__":
    main()
