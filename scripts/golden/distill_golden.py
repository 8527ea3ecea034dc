#!/usr/bin/python3
"""Golden values for smoothlab's distillation loss and MI estimator (tests/distill/loss_test.cpp,
tests/represent/mi_test.cpp).

Independent path: PyTorch 1.13's own F.kl_div(reduction='batchmean'), F.cross_entropy with probability targets and
label_smoothing, autograd in float64; the MI estimate in plain numpy, written from the formula in
src/smoothlab/represent/mutual_information.h. Run with Debian's python3-torch:

    /usr/bin/python3 scripts/golden/distill_golden.py > tests/golden/distill_golden.json
"""
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20190606)

N, K = 6, 5
student = rng.normal(0.0, 2.0, size=(N, K))
teacher = rng.normal(0.0, 3.0, size=(N, K))
target = rng.integers(0, K, size=N)


def reference(form, T, beta, smoothing, reduction, soft_term):
    zs = torch.tensor(student, requires_grad=True)
    zt = torch.tensor(teacher)
    y = torch.tensor(target)
    pt = F.softmax(zt / T, dim=1)
    if form == "hinton":  # student at T, T² scaling
        if soft_term == "kl":
            soft = F.kl_div(F.log_softmax(zs / T, dim=1), pt, reduction="none").sum(1) * T * T
        else:
            soft = F.cross_entropy(zs / T, pt, reduction="none") * T * T
    else:  # paper: student at temperature 1, no T²
        if soft_term == "kl":
            soft = F.kl_div(F.log_softmax(zs, dim=1), pt, reduction="none").sum(1)
        else:
            soft = F.cross_entropy(zs, pt, reduction="none")
    hard = F.cross_entropy(zs, y, label_smoothing=smoothing, reduction="none")
    per = beta * soft + (1 - beta) * hard
    if reduction == "mean":
        # cross-check the batch mean against PyTorch's batchmean where it applies
        out = per.mean()
        if form == "hinton" and soft_term == "kl" and beta == 1:
            bm = F.kl_div(F.log_softmax(zs / T, dim=1), pt, reduction="batchmean") * T * T
            assert torch.allclose(bm, out)
    elif reduction == "sum":
        out = per.sum()
    else:
        out = per
    out.sum().backward()
    return out.detach().numpy().tolist(), zs.grad.numpy().tolist()


cases = []
for form, T, beta, smoothing, reduction, soft_term in [
    ("paper", 1.0, 1.0, 0.0, "mean", "ce"),
    ("paper", 4.0, 1.0, 0.0, "mean", "ce"),
    ("paper", 2.0, 0.6, 0.1, "sum", "ce"),
    ("paper", 3.0, 1.0, 0.0, "none", "kl"),
    ("hinton", 4.0, 1.0, 0.0, "mean", "kl"),
    ("hinton", 2.0, 0.7, 0.1, "mean", "kl"),
    ("hinton", 8.0, 0.5, 0.0, "none", "ce"),
]:
    value, grad = reference(form, T, beta, smoothing, reduction, soft_term)
    cases.append({"form": form, "temperature": T, "beta": beta, "smoothing": smoothing, "reduction": reduction,
                  "soft_term": soft_term, "value": value, "grad": grad})


def mi_numpy(gaps):
    n, l = gaps.shape
    mu = gaps.mean(axis=1)
    sigma2 = ((gaps - mu[:, None]) ** 2).sum() / (n * (l - 1))
    s2 = max(sigma2, 1e-12 * max(1.0, (gaps ** 2).mean()))
    total = 0.0
    for x in range(n):
        for v in range(l):
            y = gaps[x, v]
            a = (y - mu) ** 2 / (2 * s2)
            m = (-a).max()
            log_mix = m + math.log(np.exp(-a - m).sum()) - math.log(n)
            total += -a[x] - log_mix
    return total / (n * l), sigma2


mi_cases = []
for name, means, noise, n, l in [("overlapping", 1.0, 1.0, 12, 4), ("separated", 10.0, 0.5, 10, 3),
                                 ("shared", 0.0, 1.0, 16, 5), ("two_clusters", None, 0.3, 14, 6)]:
    if means is None:
        mu = np.where(np.arange(n) < n // 2, -5.0, 5.0)
    else:
        mu = rng.normal(0.0, means, size=n) if means > 0 else np.zeros(n)
    gaps = mu[:, None] + rng.normal(0.0, noise, size=(n, l))
    mi, sigma2 = mi_numpy(gaps)
    mi_cases.append({"name": name, "gaps": gaps.tolist(), "mi_raw": mi, "sigma2": sigma2})

gamma_logits = rng.normal(0.0, 2.0, size=(8, 4))
gamma_labels = rng.integers(0, 4, size=8)
gamma_cases = []
for T in (1.0, 2.0, 5.0):
    p = torch.softmax(torch.tensor(gamma_logits) / T, dim=1).numpy()
    wrong = 1.0 - p[np.arange(8), gamma_labels]
    gamma_cases.append({"temperature": T, "gamma": float(wrong.mean() * 4 / 3)})

print(json.dumps({"generator": "scripts/golden/distill_golden.py", "torch": torch.__version__,
                  "student": student.tolist(), "teacher": teacher.tolist(), "target": target.tolist(),
                  "loss": cases, "mi": mi_cases,
                  "gamma": {"logits": gamma_logits.tolist(), "labels": gamma_labels.tolist(), "cases": gamma_cases}},
                 indent=1))
