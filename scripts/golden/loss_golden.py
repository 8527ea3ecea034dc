#!/usr/bin/python3
"""Golden values for the fused label-smoothing cross-entropy (tests/loss/label_smoothing_golden_test.cpp).

Run with Debian's python3-torch (1.13):  /usr/bin/python3 scripts/golden/loss_golden.py
Writes tests/golden/loss_golden.json: for each case the inputs (float64 logits, targets, weights), the options, and
F.cross_entropy(..., label_smoothing)'s loss and gradient d(sum of loss)/d logits (and d/d target for soft targets).
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(20240607)
CASES = []


def case(name, shape, eps, reduction, weight=False, soft=False, ignore_index=-100, ignored=()):
    logits = (torch.randn(shape, dtype=torch.float64) * 3).requires_grad_(True)
    k = shape[1]
    if soft:
        target = torch.softmax(torch.randn(shape, dtype=torch.float64), 1).requires_grad_(True)
    else:
        tshape = (shape[0],) + tuple(shape[2:])
        target = torch.randint(0, k, tshape)
        flat = target.view(-1)
        for i in ignored:
            flat[i] = ignore_index
    w = torch.rand(k, dtype=torch.float64) + 0.1 if weight else None
    loss = F.cross_entropy(logits, target, weight=w, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=eps)
    wrt = [logits] + ([target] if soft else [])
    grads = torch.autograd.grad(loss.sum(), wrt)
    CASES.append({
        "name": name,
        "shape": list(shape),
        "smoothing": eps,
        "reduction": reduction,
        "ignore_index": ignore_index,
        "soft": soft,
        "logits": logits.detach().reshape(-1).tolist(),
        "target": target.detach().reshape(-1).tolist(),
        "weight": w.tolist() if w is not None else None,
        "loss": loss.detach().reshape(-1).tolist(),
        "grad_logits": grads[0].reshape(-1).tolist(),
        "grad_target": grads[1].reshape(-1).tolist() if soft else None,
    })


case("weights_ignore_class2_mean", (6, 4), 0.1, "mean", weight=True, ignore_index=2, ignored=(1, 4))
case("weights_ignore_default_none", (5, 7), 0.3, "none", weight=True, ignored=(0,))
case("soft_weights_mean", (4, 6), 0.2, "mean", weight=True, soft=True)
case("soft_sum", (3, 5), 0.1, "sum", soft=True)
case("spatial_ignore_sum", (2, 3, 2, 2), 0.15, "sum", ignored=(3,))
case("spatial_weights_mean", (2, 5, 3), 0.05, "mean", weight=True, ignored=(2,))
case("no_smoothing_mean", (5, 3), 0.0, "mean")

out = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "loss_golden.json"
out.write_text(json.dumps({"generator": "scripts/golden/loss_golden.py", "torch": torch.__version__,
                           "cases": CASES}, indent=1) + "\n")
print(f"wrote {len(CASES)} cases to {out}")
