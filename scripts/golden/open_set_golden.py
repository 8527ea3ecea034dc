#!/usr/bin/env python3
"""Golden values of unseen-class detection (AUROC, FPR@95 of the max-softmax, max-logit and energy scores) and of the
linear probe (L2 multinomial logistic regression on standardised features), from scikit-learn (Debian's
python3-sklearn) and numpy/scipy.

Writes tests/golden/open_set_golden.json. Inputs from numpy's RandomState(31), drawn in this order:
  * "logits": 400 seen rows 2.5 * standard_normal((400, 6)) with 3.0 added to column (row mod 6), then 300 unseen rows
    1.5 * standard_normal((300, 6)), all rounded to float32 (the C++ side reads float32 logits);
  * "ties": 200 scores round(uniform(0, 1, 200), 1) (many ties), known = uniform(0, 1, 200) < 0.3 + 0.5 * score;
    weights = randint(0, 4, 200) (a bootstrap resample's multiplicities);
  * "probe": K = 4 classes, D = 8: centres 1.5 * standard_normal((4, 8)); train 240, val 120, test 160 examples with
    labels arange(n) % 4 and features centre[label] + standard_normal((n, 8)) * scale, scale = uniform(0.5, 3, 8)
    drawn once, plus 10 added to feature 0 (so standardisation matters).
Definitions (open_set.h, linear_probe.h):
  * scores in float64 from the float32 logits: msp = max softmax, max_logit, energy = logsumexp;
  * AUROC = sklearn.metrics.roc_auc_score(known, score[, sample_weight]) (ties count half);
  * FPR@95 = fpr at the first index with tpr >= 0.95 of sklearn.metrics.roc_curve(known, score,
    drop_intermediate=False[, sample_weight]) — the seen classes positive (Hendrycks' convention);
  * probe: StandardScaler (population std) on the training features, then
    LogisticRegression(multi_class="multinomial", solver="newton-cg", C=1/(lam*N), tol=1e-12, max_iter=100000), which
    minimises C * sum CE + ||W||^2 / 2, i.e. mean CE + lam/2 ||W||^2; its coef_, intercept_ and test predict_proba.
    The objective is strictly convex, so every solver that converges reaches the same optimum; newton-cg does (to
    ~1e-8 here), while sklearn's lbfgs stops on scipy's relative-reduction rule (ftol) about 2e-4 away from it.
Run: /usr/bin/python3 scripts/golden/open_set_golden.py
"""
import json
import pathlib

import numpy as np
import scipy.special
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.preprocessing import StandardScaler


def fpr95(known, score, weight=None):
    fpr, tpr, _ = roc_curve(known, score, drop_intermediate=False, sample_weight=weight)
    return float(fpr[np.argmax(tpr >= 0.95)])


def main():
    rng = np.random.RandomState(31)
    seen = 2.5 * rng.standard_normal((400, 6))
    seen[np.arange(400), np.arange(400) % 6] += 3.0
    unseen = 1.5 * rng.standard_normal((300, 6))
    logits = np.concatenate([seen, unseen]).astype(np.float32)
    known = np.concatenate([np.ones(400, int), np.zeros(300, int)])
    z = logits.astype(np.float64)
    scores = {
        "msp": scipy.special.softmax(z, axis=1).max(axis=1),
        "max_logit": z.max(axis=1),
        "energy": scipy.special.logsumexp(z, axis=1),
    }
    detection = {
        name: {"auroc": float(roc_auc_score(known, s)), "fpr95": fpr95(known, s)}
        for name, s in scores.items()
    }

    tie_score = np.round(rng.uniform(0, 1, 200), 1)
    tie_known = (rng.uniform(0, 1, 200) < 0.3 + 0.5 * tie_score).astype(int)
    weights = rng.randint(0, 4, 200)
    ties = {
        "score": tie_score.tolist(),
        "known": tie_known.tolist(),
        "weights": weights.tolist(),
        "auroc": float(roc_auc_score(tie_known, tie_score)),
        "fpr95": fpr95(tie_known, tie_score),
        "weighted_auroc": float(roc_auc_score(tie_known, tie_score, sample_weight=weights)),
        "weighted_fpr95": fpr95(tie_known, tie_score, weights),
    }

    k, d = 4, 8
    centres = 1.5 * rng.standard_normal((k, d))
    scale = rng.uniform(0.5, 3, d)

    def make(n):
        y = np.arange(n) % k
        x = centres[y] + rng.standard_normal((n, d)) * scale
        x[:, 0] += 10
        return x, y

    (xtr, ytr), (xva, yva), (xte, yte) = make(240), make(120), make(160)
    scaler = StandardScaler().fit(xtr)
    fits = {}
    for lam in [1e-3, 1e-1]:
        lr = LogisticRegression(
            multi_class="multinomial", solver="newton-cg", C=1 / (lam * len(ytr)), tol=1e-12, max_iter=100000
        ).fit(scaler.transform(xtr), ytr)
        fits[repr(lam)] = {
            "coef": lr.coef_.tolist(),
            "intercept": lr.intercept_.tolist(),
            "val_accuracy": float(lr.score(scaler.transform(xva), yva)),
            "test_proba": lr.predict_proba(scaler.transform(xte)).tolist(),
            "test_accuracy": float(lr.score(scaler.transform(xte), yte)),
        }
    probe = {
        "classes": k,
        "train": {"x": xtr.tolist(), "y": ytr.tolist()},
        "val": {"x": xva.tolist(), "y": yva.tolist()},
        "test": {"x": xte.tolist(), "y": yte.tolist()},
        "fits": fits,
    }
    out = {
        "made_by": "scripts/golden/open_set_golden.py",
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "logits": logits.astype(np.float64).tolist(),
        "known": known.tolist(),
        "detection": detection,
        "ties": ties,
        "probe": probe,
    }
    path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "open_set_golden.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
