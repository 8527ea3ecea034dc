#!/usr/bin/env python3
"""Golden values of the selective-classification metrics (AURC, E-AURC, normalised-logit confidence) from the
reference implementations' own code.

Writes tests/golden/selective_golden.json. Inputs are generated with numpy's RandomState(30), drawn in this order and
stored in the file in full float64:
  * "no_ties_n2000": confidence = uniform(0, 1, 2000); correct = uniform(0, 1, 2000) < confidence (0/1);
  * "no_ties_n777_overconfident": confidence = 1 - 0.5 * uniform(0, 1, 777)**3;
    correct = uniform(0, 1, 777) < 0.8 * confidence;
  * "all_correct_n100", "all_wrong_n100": confidence = uniform(0, 1, 100), correct all 1 / all 0;
  * "logits_n300_k10" (the "lognorm" entry): logits = 3 * standard_normal((300, 10)); labels = randint(0, 10, 300).

References, each run from a working copy of its repository (imported through sys.path; nothing of them is copied into
smoothlab):
  * fmfp: github:Impression2805/FMFP (Zhu et al., "Rethinking confidence calibration for failure prediction"),
    utils/metrics.py:calc_aurc_eaurc(softmax, correct) - the function their calc_metrics() calls - which takes the
    [N, C] probability matrix and the 0/1 correctness, takes max over axis 1, sorts (confidence, correct) pairs by
    confidence descending (Python's stable sorted(..., reverse=True)), builds the risk list with coverage_risk()
    (risk_i = errors among the first i / i) and returns aurc_eaurc(risk_list):
        AURC   = (1/N) * sum_i risk_i                                  (right Riemann sum, no (0, 0) point)
        E-AURC = AURC - (r + (1 - r) * log(1 - r)),  r = risk_N       (continuous-coverage oracle)
    The confidences here are passed as an [N, 1] "softmax" so that its max over axis 1 is the confidence itself.
    Scaling: aurc_eaurc() only PRINTS the values x1000 and returns them unscaled; calc_metrics() (not called here)
    returns aurc*1000 and eaurc*1000. The values stored here are the unscaled returns of calc_aurc_eaurc (nothing is
    divided back). For r = 1 (all wrong) their oracle is 1 + 0 * log(0) = NaN, so their E-AURC is NaN; it is stored as
    null with a note (their AURC is fine). sklearn (imported at the top of their module, used only by other metrics)
    is Debian's python3-sklearn when present, a stand-in module otherwise.
  * xia: github:ENSTA-U2IS-AI/Label-smoothing-Selective-classification-Code (Xia et al., ICLR 2025),
    torch_uncertainty_ls/utils.py:risk_coverage_curve(y_true, y_score), integrated with torch.trapz(risk, coverage)
    exactly as their notebooks do (experiments/classification/cifar10/resnet20.ipynb, notebooks/*_aurc.ipynb):
    risk has (0, 0) prepended and coverage = linspace(0, 1, N + 1), so AURC = (1/N) sum_i risk_i - risk_N / (2N).
    Their code builds risk and coverage in torch's default dtype (float32), so "xia_aurc" is a float32-accurate value
    (as they compute it); "xia_aurc_float64" is the same code run with torch's default dtype set to float64. The
    notebook's own copy of risk_coverage_curve (resnet20.ipynb cells[11]) is also exec'd and checked to give the
    same values. utils.py imports matplotlib and torch_uncertainty.routines for its plotting functions only, so
    stand-in modules are installed when they are absent, and the package is entered without running its __init__.py
    (which imports the models and torch_uncertainty).
    Logit normalisation: the notebook function norm_logits(logits, p) = logits / ||logits||_p over dim 1 (per row),
    resnet20.ipynb cells[16], exec'd from the notebook JSON, applied to the float64 logits as in cells[18]
    (norm_logits(logits.double(), p).max(dim=-1).values). For each p in {1, 2, 3, 8} the file records those
    confidences, FMFP's AURC / E-AURC of them with correct = (argmax z == label), and xia's AURC as cells[18] computes
    it. The library's torch_uncertainty_ls/utils.py:norm_logits normalises over dim 0 (it is written for [C, H, W]
    segmentation maps) and raises TypeError with its default add_unit=0 (an int); it is cross-checked on the
    transposed logits with add_unit=0.0 and the result recorded as "library_norm_logits_on_transpose_matches".

Each case also carries "independent" values computed here in plain numpy (NOT reference code), the exact discrete
definitions with examples sorted by confidence descending, e_i = errors among the first i, E = e_N:
    aurc_exact   = (1/N) sum_{i=1..N} e_i / i
    oracle_exact = (1/N) sum_{i=N-E+1..N} (i - N + E) / i
    eaurc_exact  = aurc_exact - oracle_exact
and the differences fmfp_aurc - aurc_exact, fmfp_eaurc - eaurc_exact, xia_aurc(_float64) - aurc_exact (the last is
expected to be -risk_N / (2N), also recorded).

Usage: scripts/golden/selective_golden.py FMFP_CHECKOUT XIA_CHECKOUT [OUT]
  FMFP_CHECKOUT: a working copy of github:Impression2805/FMFP;
  XIA_CHECKOUT: a working copy of github:ENSTA-U2IS-AI/Label-smoothing-Selective-classification-Code.
"""
import importlib
import json
import math
import pathlib
import sys
import types

import numpy as np
import torch


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from calibrators_golden import commit_of  # noqa: E402  (this folder's)

NOTEBOOK = "experiments/classification/cifar10/resnet20.ipynb"
PS = (1, 2, 3, 8)


def notebook_function(xia_dir, name):
    """Source and code-cell index of the notebook cell defining `name`, exec'd into a namespace holding torch."""
    nb = json.loads((xia_dir / NOTEBOOK).read_text())
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(nb["cells"]):
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and f"def {name}(" in src:
            namespace = {"torch": torch}
            exec(compile(src, f"{NOTEBOOK}[cell {i}]", "exec"), namespace)
            return namespace[name], i, code_cells.index(cell), src
    raise LookupError(f"{name} not defined in {NOTEBOOK}")


def independent(conf, correct):
    """Exact discrete AURC / oracle / E-AURC (plain numpy, not reference code)."""
    n = len(conf)
    order = np.argsort(-conf, kind="stable")
    errors = np.cumsum(1 - correct[order])
    i = np.arange(1, n + 1)
    aurc = float(np.sum(errors / i) / n)
    e = int(errors[-1])
    j = np.arange(n - e + 1, n + 1)
    oracle = float(np.sum((j - n + e) / j) / n)
    return {"errors": e, "risk_n": e / n, "aurc_exact": aurc, "oracle_exact": oracle, "eaurc_exact": aurc - oracle}


def stub_if_missing(package, submodule, **attributes):
    """Installs empty stand-in modules `package` and `package.submodule` (with `attributes` on the latter) when
    `package.submodule` cannot be imported: the references import them for code paths this script does not run."""
    try:
        importlib.import_module(f"{package}.{submodule}")
    except ImportError:
        top, sub = types.ModuleType(package), types.ModuleType(f"{package}.{submodule}")
        for name, value in attributes.items():
            setattr(sub, name, value)
        setattr(top, submodule, sub)
        sys.modules[package], sys.modules[f"{package}.{submodule}"] = top, sub


def main():
    fmfp_dir, xia_dir = (pathlib.Path(p).resolve() for p in sys.argv[1:3])
    out_path = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else \
        pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "selective_golden.json"

    # FMFP: utils/metrics.py (their utils/ has no __init__.py; imported as a namespace package).
    stub_if_missing("sklearn", "metrics")
    sys.path.insert(0, str(fmfp_dir))
    from utils import metrics as fmfp_metrics
    assert pathlib.Path(fmfp_metrics.__file__).resolve() == fmfp_dir / "utils" / "metrics.py", fmfp_metrics.__file__

    # Xia et al.: torch_uncertainty_ls/utils.py, entered without the package's __init__.py.
    stub_if_missing("matplotlib", "pyplot")
    stub_if_missing("torch_uncertainty", "routines", ClassificationRoutine=object)
    pkg = types.ModuleType("torch_uncertainty_ls")
    pkg.__path__ = [str(xia_dir / "torch_uncertainty_ls")]
    sys.modules["torch_uncertainty_ls"] = pkg
    import torch_uncertainty_ls.utils as xia_utils
    nb_rcc, rcc_cell, rcc_code_cell, _ = notebook_function(xia_dir, "risk_coverage_curve")
    nb_norm_logits, norm_cell, norm_code_cell, norm_src = notebook_function(xia_dir, "norm_logits")

    def fmfp(conf, correct):
        aurc, eaurc = fmfp_metrics.calc_aurc_eaurc(np.asarray(conf)[:, None], list(int(c) for c in correct))
        return float(aurc), float(eaurc)

    def xia(conf, correct, dtype):
        """torch.trapz over their risk_coverage_curve, under torch default dtype `dtype`."""
        old = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            y_true, y_score = torch.from_numpy(np.asarray(correct, dtype=bool)), torch.from_numpy(np.asarray(conf))
            risk, cov, _ = xia_utils.risk_coverage_curve(y_true, y_score)
            nb_risk, nb_cov, _ = nb_rcc(y_true, y_score)
            assert torch.equal(risk, nb_risk) and torch.equal(cov, nb_cov), "notebook and library curves differ"
            assert risk.dtype == dtype and cov.dtype == dtype, (risk.dtype, cov.dtype)
            return float(torch.trapz(risk, cov).item())
        finally:
            torch.set_default_dtype(old)

    def evaluate(conf, correct):
        ind = independent(conf, correct)
        fa, fe = fmfp(conf, correct)
        xa, xa64 = xia(conf, correct, torch.float32), xia(conf, correct, torch.float64)
        res = {"fmfp_aurc": fa, "fmfp_eaurc": fe if math.isfinite(fe) else None,
               "xia_aurc": xa, "xia_aurc_float64": xa64}
        if not math.isfinite(fe):
            res["fmfp_eaurc_note"] = (f"FMFP's aurc_eaurc returned {fe}: r = 1 makes its oracle "
                                      "r + (1 - r) * log(1 - r) = 1 + 0 * (-inf) = NaN")
        n = len(conf)
        ind["differences"] = {
            "fmfp_aurc_minus_aurc_exact": fa - ind["aurc_exact"],
            "fmfp_eaurc_minus_eaurc_exact": (fe - ind["eaurc_exact"]) if math.isfinite(fe) else None,
            "fmfp_continuous_oracle_minus_oracle_exact":
                (fa - fe - ind["oracle_exact"]) if math.isfinite(fe) else None,
            "xia_aurc_minus_aurc_exact": xa - ind["aurc_exact"],
            "xia_aurc_float64_minus_aurc_exact": xa64 - ind["aurc_exact"],
            "minus_risk_n_over_2n": -ind["errors"] / n / (2 * n),
        }
        res["independent"] = ind
        return res

    rs = np.random.RandomState(30)
    inputs = []
    conf = rs.uniform(0, 1, 2000)
    inputs.append(("no_ties_n2000", conf, (rs.uniform(0, 1, 2000) < conf).astype(np.int64)))
    conf = 1 - 0.5 * rs.uniform(0, 1, 777) ** 3
    inputs.append(("no_ties_n777_overconfident", conf, (rs.uniform(0, 1, 777) < 0.8 * conf).astype(np.int64)))
    inputs.append(("all_correct_n100", rs.uniform(0, 1, 100), np.ones(100, dtype=np.int64)))
    inputs.append(("all_wrong_n100", rs.uniform(0, 1, 100), np.zeros(100, dtype=np.int64)))
    cases = []
    for name, conf, correct in inputs:
        assert len(np.unique(conf)) == len(conf), f"{name}: tied confidences"
        cases.append({"name": name, "confidence": conf.tolist(), "correct": correct.tolist(),
                      **evaluate(conf, correct)})

    logits = 3 * rs.standard_normal((300, 10))
    labels = rs.randint(0, 10, 300)
    z = torch.from_numpy(logits)
    correct = (z.argmax(dim=-1).numpy() == labels).astype(np.int64)
    per_p = {}
    for p in PS:
        conf_t = nb_norm_logits(z.double().cpu(), p=p).max(dim=-1).values
        lib_t = xia_utils.norm_logits(z.T.clone(), p=p, add_unit=0.0).max(0).values
        conf = conf_t.numpy()
        assert len(np.unique(conf)) == len(conf), f"p={p}: tied confidences"
        per_p[str(p)] = {"confidence": conf.tolist(), **evaluate(conf, correct),
                         "library_norm_logits_on_transpose_matches": bool(torch.allclose(conf_t, lib_t, rtol=0,
                                                                                         atol=1e-15))}
    try:
        xia_utils.norm_logits(z.clone(), p=2)
        library_default = "ran"
    except TypeError as exc:
        library_default = f"TypeError: {exc!r}"
    lognorm = {
        "name": "logits_n300_k10", "logits": logits.tolist(), "labels": labels.tolist(),
        "correct": correct.tolist(), "p": per_p,
        "confidence_definition": "max_k (z / ||z||_p)_k per row, float64 (resnet20.ipynb norm_logits)",
        "library_norm_logits_default_add_unit": library_default,
    }

    doc = {
        "generator": "scripts/golden/selective_golden.py",
        "references": {
            "fmfp": {"repository": "github:Impression2805/FMFP", "commit": commit_of(fmfp_dir),
                     "function": "utils/metrics.py:calc_aurc_eaurc",
                     "call": "calc_aurc_eaurc(confidence[:, None], correct) -> coverage_risk() + aurc_eaurc()",
                     "scaling": "none in the returned values (aurc_eaurc prints x1000; calc_metrics returns x1000)"},
            "xia": {"repository": "github:ENSTA-U2IS-AI/Label-smoothing-Selective-classification-Code",
                    "commit": commit_of(xia_dir),
                    "function": "torch_uncertainty_ls/utils.py:risk_coverage_curve",
                    "call": "risk, cov, _ = risk_coverage_curve(correct.bool(), confidence); torch.trapz(risk, cov)",
                    "notebook_risk_coverage_curve": f"{NOTEBOOK} cell {rcc_cell} (code cell {rcc_code_cell}), "
                                                    "checked identical",
                    "norm_logits": f"{NOTEBOOK} cell {norm_cell} (code cell {norm_code_cell})",
                    "norm_logits_source": norm_src,
                    "scaling": "none (the notebooks print x100)"},
        },
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cases": cases,
        "lognorm": lognorm,
    }
    out_path.write_text(json.dumps(doc, allow_nan=False) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
