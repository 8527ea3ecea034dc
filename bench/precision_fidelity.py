#!/usr/bin/python3
"""Does --precision bf16 change what a study finds? Compares two studies of the same preset and seeds, one at fp32
and one at bf16 (e.g. `smoothlab study --precision bf16 --out S`), run by run and claim by claim:

- test accuracy: the paired difference over the same test examples, against 2 of its standard errors;
- test ECE (15 bins) and the temperature fitted on validation: a 95% paired bootstrap interval of the difference
  bf16 − fp32, which must contain 0 (test, resp. validation, examples resampled, both runs evaluated on the same
  draw, T refitted on every resample: the study's own evidence rule, study/evidence.h). Not the fp32 run's own
  interval: ECE's resamples lie mostly above the estimate (binning noise only adds miscalibration), so for a
  well-calibrated run that interval can exclude the fp32 run's own ECE;
- every claim's verdict.

It reads each run's logits, so it first runs `smoothlab eval RUN --no-diagrams` on both (which writes the .npy files),
and computes ECE and T with smoothlab's Python package from build/python (the study's own definitions).
Usage: bench/precision_fidelity.py [--smoothlab build/smoothlab] [--resamples 300] FP32_STUDY BF16_STUDY
"""
import argparse, json, pathlib, subprocess, sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "build" / "python"))
import smoothlab.calibration  # noqa: E402  (the Python package the README's commands build)


def ece(logits, labels):
    return smoothlab.calibration.metrics(logits, labels)["ece"]  # 15 equal-width bins, as the study's


def fit_temperature(logits, labels):
    return smoothlab.calibration.fit_temperature(logits, labels)["temperature"]


def load(run, split):
    return np.load(run / f"{split}_logits.npy"), np.load(run / f"{split}_labels.npy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoothlab", default="build/smoothlab")
    ap.add_argument("--resamples", type=int, default=300)
    ap.add_argument("fp32")
    ap.add_argument("bf16")
    a = ap.parse_args()
    studies = {p: pathlib.Path(d) for p, d in (("fp32", a.fp32), ("bf16", a.bf16))}
    summaries = {p: json.load(open(d / "summary.json")) for p, d in studies.items()}
    runs = {p: summaries[p]["runs"] for p in studies}
    assert len(runs["fp32"]) == len(runs["bf16"]), "the studies have different plans"
    rng = np.random.default_rng(0)
    rows, ok = [], True
    for r32, r16 in zip(runs["fp32"], runs["bf16"]):
        assert (r32["group"], r32["epsilon"], r32["seed"]) == (r16["group"], r16["epsilon"], r16["seed"])
        dirs = {"fp32": studies["fp32"] / "runs" / r32["name"], "bf16": studies["bf16"] / "runs" / r16["name"]}
        for d in dirs.values():
            if not (d / "test_logits.npy").exists():
                subprocess.run([a.smoothlab, "eval", str(d), "--no-diagrams"], check=True, capture_output=True)
        (t32, y), (t16, y16) = load(dirs["fp32"], "test"), load(dirs["bf16"], "test")
        assert (y == y16).all()
        c32, c16 = t32.argmax(1) == y, t16.argmax(1) == y
        diff = c16.mean() - c32.mean()
        se = (c16.astype(float) - c32).std(ddof=1) / np.sqrt(len(y))
        n = len(y)
        e32, e16 = ece(t32, y), ece(t16, y)
        deltas = [ece(t16[i], y[i]) - ece(t32[i], y[i]) for i in (rng.integers(0, n, n) for _ in range(a.resamples))]
        e_lo, e_hi = np.percentile(deltas, [2.5, 97.5])
        row = {"run": r32["name"].rsplit("_", 1)[0],
               "acc_fp32": c32.mean(), "acc_bf16": c16.mean(), "acc_diff": diff, "acc_2se": 2 * se,
               "ece_fp32": e32, "ece_bf16": e16, "ece_ci": (e_lo, e_hi)}
        row_ok = abs(diff) <= 2 * se and e_lo <= 0 <= e_hi
        if (dirs["fp32"] / "val_logits.npy").exists():
            (v32, vy), (v16, _) = load(dirs["fp32"], "val"), load(dirs["bf16"], "val")
            m = len(vy)
            deltas = [fit_temperature(v16[i], vy[i]) - fit_temperature(v32[i], vy[i])
                      for i in (rng.integers(0, m, m) for _ in range(a.resamples))]
            t_lo, t_hi = np.percentile(deltas, [2.5, 97.5])
            row.update({"T_fp32": fit_temperature(v32, vy), "T_bf16": fit_temperature(v16, vy), "T_ci": (t_lo, t_hi)})
            row_ok = row_ok and t_lo <= 0 <= t_hi
        row["within"] = row_ok
        ok = ok and row_ok
        rows.append(row)
    print(f"{'run':<46}{'acc fp32':>9}{'bf16':>8}{'diff':>8}{'2 SE':>7}{'ECE fp32':>10}{'bf16':>8}"
          f"{'Δ 95% interval':>20}{'T fp32':>8}{'bf16':>7}{'Δ 95% interval':>18}  within")
    for r in rows:
        t = (f"{r['T_fp32']:>8.3f}{r['T_bf16']:>7.3f}   [{r['T_ci'][0]:+.3f}, {r['T_ci'][1]:+.3f}]"
             if "T_fp32" in r else f"{'':>33}")
        print(f"{r['run']:<46}{100 * r['acc_fp32']:>8.2f}%{100 * r['acc_bf16']:>7.2f}%{100 * r['acc_diff']:>+7.2f}"
              f"{100 * r['acc_2se']:>7.2f}{r['ece_fp32']:>10.4f}{r['ece_bf16']:>8.4f}"
              f"   [{r['ece_ci'][0]:+.4f}, {r['ece_ci'][1]:+.4f}]{t}  {'yes' if r['within'] else 'NO'}")
    claims = {p: [(c["id"], c["verdict"]) for c in summaries[p]["claims"]] for p in studies}
    same = claims["fp32"] == claims["bf16"]
    for (cid, v32), (_, v16) in zip(claims["fp32"], claims["bf16"]):
        print(f"claim {cid:<28} fp32: {v32:<10} bf16: {v16:<10} {'same' if v32 == v16 else 'DIFFERENT'}")
    tests = sum(3 if "T_fp32" in r else 2 for r in rows)
    print(f"runs within noise: {sum(r['within'] for r in rows)}/{len(rows)} ({tests} comparisons at 95%: about "
          f"{0.05 * tests:.1f} are expected outside by chance alone); verdicts identical: {same}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
