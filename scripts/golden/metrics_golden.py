#!/usr/bin/env python3
"""Golden values of the calibration-error estimators from their reference implementations' own code (issue 28, item 5).

Writes tests/golden/metrics_golden.json, read by tests/calib/estimators_golden_test.cpp. For generated top-label
(confidence, correct) pairs (numpy's seeded RandomState, stored in full float64):
  * smooth_ece, smooth_ece_bandwidth: relplot.smECE(f, y, return_width=True) and relplot.smECE_sigma(f, y, 0.05)
    (github:apple/ml-calibration, src/relplot, with its default config: reflected Gaussian kernel);
  * debiased_squared_ce: calibration.utils.unbiased_square_ce(bin(data, get_equal_bins(f, 15))) and the L2 root
    lower_bound_scaling_top_ce's ce_1d path computes (github:p-lambda/verified_calibration, Kumar et al. 2019);
  * ks_error: cal_metrics.KS.plot_KS_graphs(f, y, ..., showplots=False) (github:kartikgupta-at-anu/spline-calibration,
    Gupta et al. 2021). That module imports matplotlib at the top for its plots, which Debian's python3-matplotlib
    would provide; with showplots=False no plotting call is made, so a stand-in module is installed when matplotlib is
    absent.

And their class-wise variants on generated float32 logits (the "classwise" entry): the mean over classes of each
reference's function applied to (p_ik, [y_i = k]); for the debiased L2 error, Kumar et al.'s own
get_calibration_error(probs, labels, p=2, debias=True, mode="marginal").

Usage: scripts/golden/metrics_golden.py RELPLOT_CHECKOUT VERIFIED_CALIBRATION_CHECKOUT SPLINE_CALIBRATION_CHECKOUT [OUT]
(working copies of the three repositories; nothing of them is copied into smoothlab).
"""
import json
import pathlib
import sys
import types

import numpy as np


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from calibrators_golden import commit_of  # noqa: E402  (this folder's)


def main():
    relplot_dir, kumar_dir, gupta_dir = (pathlib.Path(p) for p in sys.argv[1:4])
    out_path = pathlib.Path(sys.argv[4]) if len(sys.argv) > 4 else \
        pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "metrics_golden.json"
    sys.path.insert(0, str(relplot_dir / "src"))
    sys.path.insert(0, str(kumar_dir))
    sys.path.insert(0, str(gupta_dir))
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        mpl = types.ModuleType("matplotlib")
        mpl.pyplot = types.ModuleType("matplotlib.pyplot")
        sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"] = mpl, mpl.pyplot
    # relplot/__init__.py also imports its plotting module (pandas, matplotlib); the metrics need only metrics.py,
    # kernels.py and config.py, so the package is entered without running __init__.py.
    relplot = types.ModuleType("relplot")
    relplot.__path__ = [str(relplot_dir / "src" / "relplot")]
    sys.modules["relplot"] = relplot
    import relplot.metrics as relplot_metrics
    from calibration import utils as kumar
    from cal_metrics import KS as gupta_ks

    cases = []
    rs = np.random.RandomState(28)
    for name, n, shape in [("calibrated_uniform", 3000, None), ("overconfident", 5000, 0.6),
                           ("sharp_top_label", 8000, 3.0)]:
        f = rs.uniform(0.1, 1.0, n) if shape is None else 1 - (1 - rs.uniform(0, 1, n) ** shape) * 0.9
        truth = f if shape is None else np.clip(f ** 1.5, 0, 1)
        y = (rs.uniform(0, 1, n) < truth).astype(np.int64)
        smece, width = relplot_metrics.smECE(f, y, return_width=True)
        binned = kumar.bin(list(zip(f, y)), kumar.get_equal_bins(f, num_bins=15))
        ks = gupta_ks.plot_KS_graphs(f, y.astype(float), "natural", 6, "/tmp", "golden", showplots=False)
        cases.append({
            "name": name, "confidence": f.tolist(), "outcome": y.tolist(),
            "smooth_ece": float(smece), "smooth_ece_bandwidth": float(width),
            "smooth_ece_at_0.05": float(relplot_metrics.smECE_sigma(f, y, 0.05)),
            "debiased_squared_ce": float(kumar.unbiased_square_ce(binned)),
            "debiased_l2_ce": float(kumar.unbiased_l2_ce(binned)),
            "ks_error": float(ks),
        })
    # Class-wise (marginal) variants on float32 logits (the meter computes in float32): Kumar et al.'s own marginal
    # mode for the debiased L2 error, and each reference's top-label function applied to (p_ik, [y_i = k]) per class.
    rs = np.random.RandomState(29)
    n, k = 4000, 6
    z = (rs.randn(n, k) * 2.0).astype(np.float32)
    s = z.astype(np.float64) * 0.6
    p_true = np.exp(s - s.max(1, keepdims=True))
    p_true /= p_true.sum(1, keepdims=True)
    labels = (p_true.cumsum(1) < rs.rand(n, 1)).sum(1).clip(0, k - 1)
    zd = z.astype(np.float64)
    probs = np.exp(zd - zd.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    smooth, ks, squared = [], [], []
    for c in range(k):
        f, y = probs[:, c], (labels == c).astype(np.int64)
        smooth.append(float(relplot_metrics.smECE(f, y)))
        ks.append(float(gupta_ks.plot_KS_graphs(f, y.astype(float), "natural", 6, "/tmp", "golden", showplots=False)))
        squared.append(float(kumar.unbiased_square_ce(kumar.bin(list(zip(f, y)), kumar.get_equal_bins(f, num_bins=15)))))
    classwise = {
        "logits": z.astype(np.float64).ravel().tolist(), "labels": labels.tolist(), "k": k,
        "classwise_smooth_ece": float(np.mean(smooth)), "classwise_ks_error": float(np.mean(ks)),
        "classwise_debiased_squared_ce": float(np.mean(squared)),
        "classwise_debiased_l2_ce": float(kumar.get_calibration_error(probs, labels, p=2, debias=True,
                                                                      mode="marginal")),
    }
    doc = {
        "generator": "scripts/golden/metrics_golden.py",
        "references": {
            "smooth_ece": {"repository": "github:apple/ml-calibration", "commit": commit_of(relplot_dir),
                           "call": "relplot.metrics.smECE(f, y, return_width=True); relplot.metrics.smECE_sigma(f, y, 0.05)"},
            "debiased_squared_ce": {"repository": "github:p-lambda/verified_calibration",
                                    "commit": commit_of(kumar_dir),
                                    "call": "unbiased_square_ce(bin(zip(f, y), get_equal_bins(f, num_bins=15)))"},
            "ks_error": {"repository": "github:kartikgupta-at-anu/spline-calibration", "commit": commit_of(gupta_dir),
                         "call": "cal_metrics.KS.plot_KS_graphs(f, y, 'natural', 6, ..., showplots=False)"},
        },
        "numpy": np.__version__,
        "cases": cases,
        "classwise": classwise,
    }
    out_path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
