#!/usr/bin/python3
"""Golden values for smoothlab's representation projection and cluster statistics ([M] §2).

An independent path to src/smoothlab/represent/: the plane basis comes from numpy's QR of [w_b - w_a, w_c - w_a]
(signs fixed to the documented frame: e1 along w_b - w_a, w_c at positive y), statistics from plain numpy.
Writes tests/golden/projection_golden.json. Run with Debian's python:  /usr/bin/python3 scripts/golden/projection_golden.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(20190602)
K, D, N = 6, 7, 45
weight = rng.normal(size=(K, D))
bias = rng.normal(size=K)
classes = [4, 1, 3]
labels = rng.choice([1, 3, 4, 0], size=N)  # class 0 is not one of the three: ignored by the statistics
# Features near the templates' weight rows, with per-class noise, so clusters have different spreads.
features = weight[labels] * 1.5 + rng.normal(size=(N, D)) * (0.2 + 0.1 * labels[:, None])

templates = np.concatenate([weight, bias[:, None]], axis=1)
x = np.concatenate([features, np.ones((N, 1))], axis=1)
wa, wb, wc = templates[classes]
q, r = np.linalg.qr(np.stack([wb - wa, wc - wa], axis=1))
e = q.T * np.sign(np.diag(r))[:, None]  # rows e1, e2 with e1·(wb−wa) > 0, e2·(wc−wa) > 0
origin = (wa + wb + wc) / 3
coords = (x - origin) @ e.T
vertices = (np.stack([wa, wb, wc]) - origin) @ e.T


def stats(p, xf):
    out = {"classes": []}
    cents, centsf = [], []
    for c in classes:
        m = labels == c
        cp, cf = p[m].mean(0), xf[m].mean(0)
        cents.append(cp)
        centsf.append(cf)
        out["classes"].append({
            "label": c, "count": int(m.sum()), "centroid": cp.tolist(),
            "spread_plane": float(np.linalg.norm(p[m] - cp, axis=1).mean()),
            "spread_full": float(np.linalg.norm(xf[m] - cf, axis=1).mean()),
            "mean_norm": float(np.linalg.norm(p[m], axis=1).mean())})
    pairs = [(0, 1), (1, 2), (0, 2)]
    d = [float(np.linalg.norm(cents[i] - cents[j])) for i, j in pairs]
    df = [float(np.linalg.norm(centsf[i] - centsf[j])) for i, j in pairs]
    sp = np.mean([c["spread_plane"] for c in out["classes"]])
    sf = np.mean([c["spread_full"] for c in out["classes"]])
    sel = np.isin(labels, classes)
    out.update({"centroid_distances": d, "centroid_distances_full": df,
                "tightness_plane": float(sp / np.mean(d)), "tightness_full": float(sf / np.mean(df)),
                "regularity": float(min(d) / max(d)),
                "mean_norm": float(np.linalg.norm(p[sel], axis=1).mean())})
    return out


golden = {
    "weight": weight.tolist(), "bias": bias.tolist(), "features": features.tolist(), "labels": labels.tolist(),
    "classes": classes, "origin": origin.tolist(), "axes": e.tolist(), "vertices": vertices.tolist(),
    "coords": coords.tolist(), "stats": stats(coords, x),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "projection_golden.json")
with open(path, "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(path))
