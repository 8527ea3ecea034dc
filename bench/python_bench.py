#!/usr/bin/python3
"""smoothlab's Python package against the PyTorch code a user would otherwise write, in one Python process.

1. Loss: smoothlab.functional.label_smoothing_cross_entropy vs torch.nn.functional.cross_entropy(label_smoothing=0.1),
   forward + backward (mean reduction, float32) at [256, 10], [4096, 1000] and [8192, 32000] (the last needs ~3-4 GB;
   --no-large skips it).
2. Calibration at [50000, 1000] float32: smoothlab.calibration.metrics + fit_temperature vs a PyTorch peer doing the
   work of a typical user script: softmax, confidence/prediction, 15-bin equal-width ECE (a loop over the bins),
   NLL, Brier score, and a temperature fit by torch.optim.LBFGS (max_iter 50, strong-Wolfe line search) on a scalar
   log T. smoothlab's metrics() computes more than that (MCE, RMS, equal-mass and class-wise ECE, the bins), so the
   comparison does not favour it.

Timing: warm-up calls, then best of --repeats samples; a sample of a fast call loops it until >= --min-sample
seconds and reports the mean per call. Ratios are PyTorch time / smoothlab time (> 1: smoothlab is faster).
Before timing, the two sides' results are compared (loss values and gradients, NLL / ECE / Brier / T), so a broken
build does not produce numbers. The last line of the output is one JSON object with every number.

Run from the repository root after building:
    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py [--threads 2] [--no-large]
"""
import argparse
import json
import math
import platform
import sys
import time

import torch
import torch.nn.functional as F


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed samples per loss measurement (best is kept)")
    p.add_argument("--calib-repeats", type=int, default=3, help="timed samples per calibration measurement")
    p.add_argument("--min-sample", type=float, default=0.2, help="seconds a sample of a fast call runs at least")
    p.add_argument("--large", action=argparse.BooleanOptionalAction, default=True,
                   help="include the [8192, 32000] loss shape (~3-4 GB; default on)")
    p.add_argument("--calibration", action=argparse.BooleanOptionalAction, default=True,
                   help="run the calibration comparison (default on)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def best_of(fn, repeats, min_sample, warmup=2):
    """Best mean seconds per call of fn() over `repeats` samples, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    inner = max(1, min(10000, int(math.ceil(min_sample / max(once, 1e-9)))))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


# ---------------------------------------------------------------------------------------------------------------
# 1. loss


def loss_case(sl, n, c, args):
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(n, c, generator=g).requires_grad_(True)
    y = torch.randint(0, c, (n,), generator=g)
    ours = sl.functional.label_smoothing_cross_entropy

    def run_ours():
        x.grad = None
        ours(x, y, smoothing=0.1).backward()

    def run_torch():
        x.grad = None
        F.cross_entropy(x, y, label_smoothing=0.1).backward()

    # check: the same value and gradient
    x.grad = None
    v_ours = ours(x, y, smoothing=0.1)
    v_ours.backward()
    g_ours = x.grad
    x.grad = None
    v_ref = F.cross_entropy(x, y, label_smoothing=0.1)
    v_ref.backward()
    g_ref = x.grad
    x.grad = None
    value_err = abs(float(v_ours) - float(v_ref)) / max(1e-30, abs(float(v_ref)))
    grad_err = float((g_ours - g_ref).abs().max()) / max(1e-30, float(g_ref.abs().max()))
    del g_ours, g_ref
    if not (value_err < 1e-5 and grad_err < 1e-4):
        sys.exit("loss [{}, {}]: smoothlab and PyTorch disagree (value rel {:.2e}, gradient rel {:.2e})".format(
            n, c, value_err, grad_err))

    repeats = args.repeats if n * c < 10 ** 8 else max(2, min(args.repeats, 3))
    t_ours = best_of(run_ours, repeats, args.min_sample, warmup=2 if n * c < 10 ** 8 else 1)
    t_torch = best_of(run_torch, repeats, args.min_sample, warmup=2 if n * c < 10 ** 8 else 1)
    return {"shape": [n, c], "smoothlab_ms": t_ours * 1e3, "torch_ms": t_torch * 1e3, "ratio": t_torch / t_ours,
            "value_rel_diff": value_err, "grad_rel_diff": grad_err}


# ---------------------------------------------------------------------------------------------------------------
# 2. calibration: the PyTorch peer


def peer_metrics(z, y, bins=15):
    p = torch.softmax(z, 1)
    conf, pred = p.max(1)
    correct = pred.eq(y)
    nll = F.cross_entropy(z, y).item()
    onehot = F.one_hot(y, z.shape[1]).to(p.dtype)
    brier = ((p - onehot) ** 2).sum(1).mean().item()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = conf.gt(lo) & conf.le(hi)
        prop = in_bin.float().mean().item()
        if prop > 0:
            ece += abs(correct[in_bin].float().mean().item() - conf[in_bin].mean().item()) * prop
    return {"accuracy": correct.double().mean().item(), "nll": nll, "brier": brier, "ece": ece,
            "mean_confidence": conf.double().mean().item()}


def peer_fit_temperature(z, y, max_iter=50):
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")
    evaluations = [0]

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        evaluations[0] += 1
        return loss

    with torch.no_grad():
        before = F.cross_entropy(z, y).item()
    opt.step(closure)
    t = float(log_t.exp())
    with torch.no_grad():
        after = F.cross_entropy(z / t, y).item()
    return {"temperature": t, "nll_before": before, "nll_after": after, "evaluations": evaluations[0]}


def calibration_case(sl, args, n=50000, k=1000):
    g = torch.Generator().manual_seed(args.seed)
    z = torch.randn(n, k, generator=g) * 2
    y = torch.randint(0, k, (n,), generator=g)
    z[torch.arange(n), y] += 5  # ~over-confident, accuracy ~0.7
    cal = sl.calibration

    ours_m, ref_m = cal.metrics(z, y), peer_metrics(z, y)
    ours_f, ref_f = cal.fit_temperature(z, y), peer_fit_temperature(z, y)
    checks = {
        "nll": abs(ours_m["nll"] - ref_m["nll"]),
        "brier": abs(ours_m["brier"] - ref_m["brier"]),
        "ece": abs(ours_m["ece"] - ref_m["ece"]),
        "accuracy": abs(ours_m["accuracy"] - ref_m["accuracy"]),
        "temperature_rel": abs(ours_f["temperature"] - ref_f["temperature"]) / ref_f["temperature"],
        "nll_after": ours_f["nll_after"] - ref_f["nll_after"],
    }
    if not (checks["nll"] < 1e-4 and checks["brier"] < 1e-4 and checks["ece"] < 1e-3 and checks["accuracy"] < 1e-9
            and checks["temperature_rel"] < 1e-2):
        sys.exit("calibration: smoothlab and the PyTorch peer disagree: {}".format(checks))

    r = args.calib_repeats
    t_metrics_ours = best_of(lambda: cal.metrics(z, y), r, 0.0, warmup=1)
    t_metrics_peer = best_of(lambda: peer_metrics(z, y), r, 0.0, warmup=1)
    t_fit_ours = best_of(lambda: cal.fit_temperature(z, y), r, 0.0, warmup=1)
    t_fit_peer = best_of(lambda: peer_fit_temperature(z, y), r, 0.0, warmup=1)
    total_ours, total_peer = t_metrics_ours + t_fit_ours, t_metrics_peer + t_fit_peer
    return {
        "shape": [n, k],
        "metrics": {"smoothlab_ms": t_metrics_ours * 1e3, "peer_ms": t_metrics_peer * 1e3,
                    "ratio": t_metrics_peer / t_metrics_ours},
        "fit_temperature": {"smoothlab_ms": t_fit_ours * 1e3, "peer_ms": t_fit_peer * 1e3,
                            "ratio": t_fit_peer / t_fit_ours,
                            "smoothlab_T": ours_f["temperature"], "peer_T": ref_f["temperature"],
                            "smoothlab_iterations": ours_f["iterations"], "peer_evaluations": ref_f["evaluations"],
                            "smoothlab_nll_after": ours_f["nll_after"], "peer_nll_after": ref_f["nll_after"]},
        "total": {"smoothlab_ms": total_ours * 1e3, "peer_ms": total_peer * 1e3, "ratio": total_peer / total_ours},
        "values": {"accuracy": ours_m["accuracy"], "nll": ours_m["nll"], "brier": ours_m["brier"],
                   "ece": ours_m["ece"], "peer_ece": ref_m["ece"]},
        "differences": checks,
    }


# ---------------------------------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        import smoothlab
        import smoothlab.calibration  # noqa: F401
        import smoothlab.functional  # noqa: F401
    except ImportError as e:
        sys.exit("cannot import smoothlab ({}); build it and run with PYTHONPATH=build/python".format(e))

    info = {"torch": torch.__version__, "smoothlab": getattr(smoothlab, "__version__", None),
            "threads": torch.get_num_threads(), "python": platform.python_version(), "machine": platform.machine()}
    print("smoothlab {} | torch {} | {} threads | Python {}".format(info["smoothlab"], info["torch"], info["threads"],
                                                                  info["python"]))

    shapes = [(256, 10), (4096, 1000)] + ([(8192, 32000)] if args.large else [])
    print("\nlabel-smoothed cross-entropy (eps 0.1), forward + backward, float32, best of {}".format(args.repeats))
    print("{:>16} {:>14} {:>14} {:>8}".format("shape", "smoothlab ms", "torch ms", "ratio"))
    loss_rows = []
    for n, c in shapes:
        row = loss_case(smoothlab, n, c, args)
        loss_rows.append(row)
        print("{:>16} {:>14.3f} {:>14.3f} {:>7.2f}x".format("[{}, {}]".format(n, c), row["smoothlab_ms"],
                                                            row["torch_ms"], row["ratio"]), flush=True)

    calibration = None
    if args.calibration:
        print("\ncalibration of [50000, 1000] float32 logits, best of {}".format(args.calib_repeats))
        calibration = calibration_case(smoothlab, args)
        print("{:>16} {:>14} {:>14} {:>8}".format("work", "smoothlab ms", "peer ms", "ratio"))
        for key, label in (("metrics", "metrics"), ("fit_temperature", "temperature fit"), ("total", "total")):
            r = calibration[key]
            print("{:>16} {:>14.1f} {:>14.1f} {:>7.2f}x".format(label, r["smoothlab_ms"], r["peer_ms"], r["ratio"]))
        f = calibration["fit_temperature"]
        print("T: smoothlab {:.6f} ({} passes), peer LBFGS {:.6f} ({} evaluations); NLL after {:.6f} vs {:.6f}".format(
            f["smoothlab_T"], f["smoothlab_iterations"], f["peer_T"], f["peer_evaluations"],
            f["smoothlab_nll_after"], f["peer_nll_after"]))

    print(json.dumps({"bench": "python", "info": info, "loss": loss_rows, "calibration": calibration}))


if __name__ == "__main__":
    main()
