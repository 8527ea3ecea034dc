#!/usr/bin/env python3
"""Golden values of the post-hoc calibrators from the reference implementations' own code (issue 28, item 5).

Writes tests/golden/calibrators_golden.json, read by tests/calib/calibrator_golden_test.cpp. Generated logits (numpy's
seeded RandomState, stored in the file in full float64) go through:
  * isotonic: scikit-learn's IsotonicRegression(out_of_bounds="clip") (Debian's python3-sklearn), fitted per
    predicted class on the top-label confidence and its correctness (top-label calibration, Gupta & Ramdas 2022), with
    the pooled fit for predicted classes with fewer than MIN_CLASS_COUNT fit examples — smoothlab's isotonic calibrator;
  * ets: Zhang et al.'s Mix-n-Match code (github:zhang64-llnl/Mix-n-Match-Calibration, util_calibration.py):
    temperature_scaling(..., loss="ce") and ensemble_scaling(..., loss="ce", ...) — the authors' cross-entropy path
    (their ets_calibrate() hard-codes loss="mse"; smoothlab fits both by NLL, so the "ce" functions are the reference).
Dirichlet calibration and matrix scaling: dirichlet_golden.py (dirichletcal/dirichlet_python, run on a stand-in jax).

Usage: scripts/golden/calibrators_golden.py MIX_N_MATCH_CHECKOUT [OUT]
  MIX_N_MATCH_CHECKOUT: a working copy of github:zhang64-llnl/Mix-n-Match-Calibration (its util_calibration.py is
  imported from there; none of it is copied into smoothlab).
"""
import json
import pathlib
import subprocess
import sys

import numpy as np
import scipy
import sklearn
from sklearn.isotonic import IsotonicRegression

MIN_CLASS_COUNT = 15


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def make_case(seed, n_fit, n_eval, k, scale, sharpness):
    rs = np.random.RandomState(seed)
    z = rs.randn(n_fit + n_eval, k) * scale
    p_true = softmax(z * sharpness)
    u = rs.rand(n_fit + n_eval, 1)
    y = (p_true.cumsum(1) < u).sum(1).clip(0, k - 1)
    return z[:n_fit], y[:n_fit], z[n_fit:], y[n_fit:]


def isotonic_top_label(z_fit, y_fit, z_eval):
    p_fit, p_eval = softmax(z_fit), softmax(z_eval)
    c_fit, pred_fit = p_fit.max(1), p_fit.argmax(1)
    c_eval, pred_eval = p_eval.max(1), p_eval.argmax(1)
    hit = (pred_fit == y_fit).astype(float)
    pooled = IsotonicRegression(out_of_bounds="clip").fit(c_fit, hit)
    out = pooled.predict(c_eval)
    for c in np.unique(pred_fit):
        rows = pred_fit == c
        if rows.sum() >= MIN_CLASS_COUNT and (pred_eval == c).any():
            ir = IsotonicRegression(out_of_bounds="clip").fit(c_fit[rows], hit[rows])
            out[pred_eval == c] = ir.predict(c_eval[pred_eval == c])
    return out


def commit_of(path):
    try:
        return subprocess.check_output(["git", "-C", str(path), "rev-parse", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    mnm = pathlib.Path(sys.argv[1])
    out_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else \
        pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "calibrators_golden.json"
    sys.path.insert(0, str(mnm))
    import util_calibration as mnm_code  # the authors' module, from their checkout

    cases = []
    for name, seed, n_fit, n_eval, k, scale, sharpness in [
        ("k10_overconfident", 1, 2000, 500, 10, 2.5, 0.5),
        ("k4_underconfident", 2, 1500, 400, 4, 1.0, 1.8),
    ]:
        z_fit, y_fit, z_eval, y_eval = make_case(seed, n_fit, n_eval, k, scale, sharpness)
        onehot = np.eye(k)[y_fit]
        t = float(mnm_code.temperature_scaling(z_fit, onehot, "ce")[0])
        w = mnm_code.ensemble_scaling(z_fit, onehot, "ce", t, k)
        p_eval = w[0] * softmax(z_eval / t) + w[1] * softmax(z_eval) + w[2] / k
        cases.append({
            "name": name, "k": k, "n_fit": n_fit, "n_eval": n_eval,
            "fit_logits": z_fit.ravel().tolist(), "fit_labels": y_fit.tolist(),
            "eval_logits": z_eval.ravel().tolist(), "eval_labels": y_eval.tolist(),
            "isotonic_top_confidence": isotonic_top_label(z_fit, y_fit, z_eval).tolist(),
            "ets_temperature": t, "ets_weights": [float(v) for v in w],
            "ets_eval_nll": float(-np.log(p_eval[np.arange(n_eval), y_eval]).mean()),
        })
    doc = {
        "generator": "scripts/golden/calibrators_golden.py",
        "references": {
            "isotonic": {"package": "scikit-learn (Debian python3-sklearn)", "version": sklearn.__version__,
                         "call": "IsotonicRegression(out_of_bounds='clip'), per predicted class, "
                                 f"pooled below {MIN_CLASS_COUNT} examples"},
            "ets": {"repository": "github:zhang64-llnl/Mix-n-Match-Calibration", "commit": commit_of(mnm),
                    "file": "util_calibration.py",
                    "call": "temperature_scaling(z, onehot, 'ce'); ensemble_scaling(z, onehot, 'ce', t, K)"},
        },
        "numpy": np.__version__, "scipy": scipy.__version__,
        "min_class_count": MIN_CLASS_COUNT,
        "cases": cases,
    }
    out_path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
