#!/usr/bin/env python3
"""Golden values of spline recalibration from its authors' own code (issue 28, item 5).

Writes tests/golden/spline_golden.json, read by tests/calib/calibrator_golden_test.cpp. The generated logits of
calibrators_golden.py (its make_case, the same seeds) go through Gupta et al.'s recalibrate.py
(github:kartikgupta-at-anu/spline-calibration, ICLR 2021) as its main() runs it: top-label confidences of
softmax(logits) and their correctness, get_recalibration_function(scores, hits, "natural", 6) — a natural cubic spline
with 6 equally spaced knots fitted by least squares to the cumulative (accuracy − confidence) against the percentile,
whose derivative added to each sorted confidence gives its recalibrated value — then the returned function on the
evaluation confidences, clipped to [0, 1].

Recorded per case (its logits are calibrators_golden.json's case of the same name): the function's knots (the sorted fit confidences and their recalibrated values: the method
itself), the reference's outputs on the evaluation confidences, and np.interp of the same knots. The two outputs
differ: recalibrate.py's interpolated_function weighs the two neighbouring knots the wrong way round — it returns
(β·y[i] + α·y[i−1]) / (α + β) with α = x − x[i−1], β = x[i] − x — so a point next to a knot gets the *other*
knot's value. smoothlab interpolates linearly between the same knots (np.interp), and the test says so.

recalibrate.py imports matplotlib and its log_utils (bokeh, pandas) at the top, for plots and result tables that
get_recalibration_function does not use; stand-in modules are installed when they are absent.

Usage: scripts/golden/spline_golden.py SPLINE_CALIBRATION_CHECKOUT [OUT]
(a working copy of the repository; nothing of it is copied into smoothlab).
"""
import json
import pathlib
import sys
import types

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from calibrators_golden import commit_of, make_case, softmax  # noqa: E402  (this folder's generator of the logits)

KNOTS = 6


def stand_in(name, **attributes):
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def main():
    gupta_dir = pathlib.Path(sys.argv[1])
    out_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else \
        pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "spline_golden.json"
    sys.path.insert(0, str(gupta_dir))
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        stand_in("matplotlib").pyplot = stand_in("matplotlib.pyplot")
    try:
        import log_utils  # noqa: F401
    except ImportError:
        stand_in("log_utils", ResultsLog=object)
    import recalibrate

    cases = []
    for name, seed, n_fit, n_eval, k, scale, sharpness in [
        ("k10_overconfident", 1, 2000, 500, 10, 2.5, 0.5),
        ("k4_underconfident", 2, 1500, 400, 4, 1.0, 1.8),
    ]:
        z_fit, y_fit, z_eval, _ = make_case(seed, n_fit, n_eval, k, scale, sharpness)
        scores_fit, hits_fit = recalibrate.get_top_results(softmax(z_fit), y_fit, -1)
        scores_eval, _ = recalibrate.get_top_results(softmax(z_eval), np.zeros(n_eval), -1)
        frecal = recalibrate.get_recalibration_function(scores_fit, hits_fit, "natural", KNOTS)
        theirs = np.clip(np.array([frecal(float(s)) for s in scores_eval]), 0.0, 1.0)
        interpolated = np.clip(np.interp(scores_eval, frecal.x, frecal.y), 0.0, 1.0)
        cases.append({
            "name": name, "k": k, "n_fit": n_fit, "n_eval": n_eval,
            "knots_x": np.asarray(frecal.x).tolist(), "knots_y": np.asarray(frecal.y).tolist(),
            "reference_top_confidence": theirs.tolist(),
            "interpolated_top_confidence": interpolated.tolist(),
            "reference_max_difference": float(np.abs(theirs - interpolated).max()),
        })
    doc = {
        "generator": "scripts/golden/spline_golden.py",
        "reference": {"repository": "github:kartikgupta-at-anu/spline-calibration", "commit": commit_of(gupta_dir),
                      "file": "recalibrate.py",
                      "call": f"get_recalibration_function(top scores, hits, 'natural', {KNOTS}), "
                              "applied to the evaluation top scores and clipped to [0, 1]"},
        "numpy": np.__version__,
        "knots": KNOTS,
        "cases": cases,
    }
    out_path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
