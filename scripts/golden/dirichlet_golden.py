#!/usr/bin/env python3
"""Golden values of Dirichlet calibration and matrix scaling from the authors' own code (issue 28, item 5).

Writes tests/golden/dirichlet_golden.json, read by tests/calib/dirichlet_golden_test.cpp. Generated logits (make_case of
calibrators_golden.py; the k10 case is its k10_overconfident), stored in full float64, go through Kull et al.'s
dirichletcal (github:dirichletcal/dirichlet_python, NeurIPS 2019):
  * dirichlet: FullDirichletCalibrator(reg_lambda=λ, reg_mu=μ, reg_norm=True, ref_row=False), fitted on softmax(logits)
    (it takes probabilities and their log, clipped at the smallest positive float64);
  * matrix at (0, 0): MatrixScaling(logit_input=True) with its defaults (one candidate, reg_lambda 0, reg_mu None:
    unpenalised multinomial regression on the logits; its fixed ref_row=True only re-parametrises the unpenalised fit);
  * matrix with ODIR: MatrixScaling cannot pass reg_norm or ref_row (it fixes reg_norm=False, ref_row=True: the penalty
    on last-row-differenced weights, another objective), so MultinomialRegression(method="Full", reg_lambda=λ,
    reg_mu=μ, reg_norm=True, ref_row=False) — the model FullDirichletCalibrator wraps — is fitted on the logits.
All of them use MultinomialRegression's Newton method (optimizer "auto", K ≤ 36: pinv of the Hessian, backtracking,
stop at Σ|gradient| < 1e-8 or loss changes > −1e-12 over five steps).

The objective, fulldirichlet.py → multinomial.py: with reg_norm=True and reg_mu given, λ ← λ/(K(K−1)) and μ ← μ/K;
the loss is mean −log clip(softmax(W x + b), eps, 1 − eps)_y (eps = float64's 2.2e-16) + λ Σ_{i≠j} W_ij² + μ Σ_j b_j²
on the raw W, b when ref_row=False — smoothlab's objective (calib/dirichlet.h) up to the clip: the NLL is invariant to
W + 1uᵀ and b + c1, so the penalty's minimiser over that class, smoothlab's canonical representative, is where their
optimum lies. (The default ref_row=True penalises W and b minus their last row instead: another objective when λ > 0.)
The clip changes the loss only for rows whose label's probability is below eps or above 1 − eps: the count of such
fit rows at the reference optimum is recorded per fit (clipped_fit_rows).

dirichletcal's multinomial.py is written against jax (jax.numpy, jax.grad, jax.hessian, jax.config), which Debian does
not package; utils.py's clip_jax uses jax.numpy.finfo and clip. A stand-in jax (install_jax_shim below: modules in
sys.modules, nothing written to disk) runs that code unchanged on torch float64: jax.grad and jax.hessian are
torch.func's grad and hessian (functorch's before torch 2.0) of the objective, with the parameters and every array
argument as float64 (or int64) tensors, returning numpy arrays; the jax.numpy functions the package calls run on torch
inside those two (where jax's would return jax arrays) or when an argument is a tensor, and are numpy's otherwise — so
the Newton loop, which evaluates the objective on numpy parameters, runs on numpy; jax.config.update("jax_enable_x64",
True) is accepted (everything is float64); anything else the stand-in lacks raises. torch's Tensor.transpose() with no
arguments — numpy's reversal of the axes, which the package calls on the weights — is added; any other call keeps
torch's meaning. (At an exact tie with the clip's bounds torch.clamp passes the gradient, jax's clip halves it: no fit
row is at a bound.) Before fitting, the stand-in is checked on the package's own _objective at a random point of each
case and objective used (shim_checks): its gradient against central differences of the objective evaluated by numpy,
its Hessian against central differences of its gradient (both to 1e-7 relative; measured ≤ 1.2e-10), and the
objective's value on torch against numpy (to 1e-13 relative). reference_gradient_l1: Σ|gradient| of the reference's
own objective at its solution.

Usage: scripts/golden/dirichlet_golden.py DIRICHLETCAL_CHECKOUT [OUT]
  DIRICHLETCAL_CHECKOUT: a working copy of github:dirichletcal/dirichlet_python (its dirichletcal package is imported
  from there; none of it is copied into smoothlab).
"""
import json
import pathlib
import sys
import types

import numpy as np
import sklearn
import torch

try:
    from torch.func import grad as torch_grad, hessian as torch_hessian
except ImportError:  # torch < 2.0 (Debian 12's 1.13): the same transforms as functorch's
    from functorch import grad as torch_grad, hessian as torch_hessian
from sklearn.preprocessing import label_binarize

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from calibrators_golden import commit_of, make_case, softmax  # noqa: E402  (this folder's generator of the logits)

CASES = [  # name, seed, n_fit, n_eval, K, scale, sharpness (make_case)
    ("k3_underconfident", 3, 800, 400, 3, 1.0, 1.8),
    ("k10_overconfident", 1, 2000, 500, 10, 2.5, 0.5),
]
ODIR = (1e-1, 1e-1)  # (λ, μ) of the regularised fits; (0, 0) is the other setting


def install_jax_shim():
    def is_tensor(a):
        return isinstance(a, torch.Tensor)

    def has_tensor(args):
        return any(is_tensor(a) or (isinstance(a, (list, tuple)) and any(is_tensor(b) for b in a)) for a in args)

    def as_tensor(a):
        return a if is_tensor(a) else torch.as_tensor(np.asarray(a))

    def reduce(fn):
        return lambda a, axis=None: fn(a) if axis is None else fn(a, dim=axis)

    def repeat(a, repeats, axis=None):
        return torch.repeat_interleave(a.reshape(-1) if axis is None else a, repeats, dim=0 if axis is None else axis)

    def constructor(name):
        return lambda *args, **kwargs: torch.as_tensor(getattr(np, name)(*args, **kwargs))

    on_torch = {
        "hstack": lambda arrays: torch.hstack([as_tensor(a) for a in arrays]),
        "sum": reduce(torch.sum), "mean": reduce(torch.mean), "max": reduce(torch.amax),
        "log": torch.log, "exp": torch.exp, "abs": torch.abs, "isnan": torch.isnan, "any": torch.any,
        "diag": torch.diag, "zeros_like": torch.zeros_like, "asarray": as_tensor, "repeat": repeat,
        "dot": torch.matmul, "matmul": torch.matmul, "clip": torch.clamp,
    }
    on_torch.update({name: constructor(name) for name in ["ones", "zeros", "eye", "linspace", "logspace"]})
    tracing = [False]  # inside jax.grad / jax.hessian: every jax.numpy result is a tensor, as jax's are jax arrays

    def dispatch(name):
        def fn(*args, **kwargs):
            if tracing[0] or has_tensor(args) or has_tensor(kwargs.values()):
                args = [as_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
                return on_torch[name](*args, **kwargs)
            return getattr(np, name)(*args, **kwargs)
        return fn

    jnp = types.ModuleType("jax.numpy")
    for name in on_torch:
        setattr(jnp, name, dispatch(name))
    jnp.finfo = lambda dtype: torch.finfo(dtype) if isinstance(dtype, torch.dtype) else np.finfo(dtype)

    def tensor_arguments(params, args):
        p = torch.as_tensor(np.asarray(params, dtype=np.float64))
        return p, [torch.from_numpy(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in args]

    def derivative(transform):
        def make(f, argnums=0):
            if argnums != 0:
                raise NotImplementedError("jax stand-in: argnums 0 only")

            def g(params, *args):
                p, rest = tensor_arguments(params, args)
                tracing[0] = True
                try:
                    return transform(lambda q: f(q, *rest))(p).detach().numpy()
                finally:
                    tracing[0] = False
            return g
        return make

    class Config:
        def update(self, name, value):
            if (name, value) != ("jax_enable_x64", True):
                raise NotImplementedError(f"jax stand-in: config {name}={value}")

    jax = types.ModuleType("jax")
    jax.numpy, jax.config = jnp, Config()
    jax.grad, jax.hessian = derivative(torch_grad), derivative(torch_hessian)
    sys.modules["jax"], sys.modules["jax.numpy"] = jax, jnp

    transpose = torch.Tensor.transpose

    def numpy_transpose(self, *dims):
        return self.permute(*reversed(range(self.dim()))) if not dims else transpose(self, *dims)
    torch.Tensor.transpose = numpy_transpose


def check_shim(mr, x, labels, reg_lambda, reg_mu, ref_row, seed):
    """The stand-in's gradient and Hessian of multinomial._objective against central differences (numpy path)."""
    k = x.shape[1]
    x1 = np.hstack((x, np.ones((len(x), 1))))
    target = label_binarize(labels, classes=np.arange(k))
    args = (x1, None, target, k, "Full", reg_lambda, reg_mu, ref_row, "identity", None)
    rs = np.random.RandomState(seed)
    w = (np.hstack([np.eye(k), np.zeros((k, 1))]) + 0.3 * rs.randn(k, k + 1)).ravel()
    grad, hess = mr._gradient(w, *args), mr._hessian(w, *args)
    h = 1e-5
    fd_grad, fd_hess = np.empty_like(grad), np.empty_like(hess)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = h
        fd_grad[i] = (float(mr._objective(w + e, *args)) - float(mr._objective(w - e, *args))) / (2 * h)
        fd_hess[i] = (mr._gradient(w + e, *args) - mr._gradient(w - e, *args)) / (2 * h)
    value_numpy = float(mr._objective(w, *args))
    value_torch = float(mr._objective(torch.as_tensor(w), *[torch.from_numpy(a) if isinstance(a, np.ndarray) else a
                                                            for a in args]))
    out = {
        "k": k, "reg_lambda": reg_lambda, "reg_mu": reg_mu, "ref_row": ref_row,
        "gradient_relative_error": float(np.abs(grad - fd_grad).max() / np.abs(grad).max()),
        "hessian_relative_error": float(np.abs(hess - fd_hess).max() / np.abs(hess).max()),
        "value_torch_minus_numpy": value_torch - value_numpy,
    }
    assert out["gradient_relative_error"] < 1e-7 and out["hessian_relative_error"] < 1e-7, out
    assert abs(out["value_torch_minus_numpy"]) < 1e-13 * abs(value_numpy), out
    return out


def reference_gradient(multinomial, mr, x, labels):
    """Σ|∂/∂params| of the reference's own objective at its solution (its Newton method stops below 1e-8)."""
    k = x.shape[1]
    args = (np.hstack((x, np.ones((len(x), 1)))), None, label_binarize(labels, classes=mr.classes), k, mr.method,
            mr.reg_lambda, mr.reg_mu, mr.ref_row, mr.initializer, mr.reg_format)  # reg_lambda, reg_mu: normalised
    return float(np.abs(multinomial._gradient(np.asarray(mr.weights_, dtype=np.float64).ravel(), *args)).sum())


def fit_record(method, reg_lambda, reg_mu, call, p_fit, p_eval, y_fit, y_eval, gradient):
    eps = np.finfo(np.float64).eps
    label_fit = p_fit[np.arange(len(y_fit)), y_fit]
    return {
        "method": method, "lambda": reg_lambda, "mu": reg_mu, "call": call,
        "eval_probabilities": p_eval.ravel().tolist(),
        "eval_nll": float(-np.log(p_eval[np.arange(len(y_eval)), y_eval]).mean()),
        "fit_nll": float(-np.log(label_fit).mean()),
        "clipped_fit_rows": int(((label_fit < eps) | (label_fit > 1 - eps)).sum()),
        "reference_gradient_l1": gradient,
    }


def main():
    checkout = pathlib.Path(sys.argv[1])
    out_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else \
        pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "dirichlet_golden.json"
    install_jax_shim()
    sys.path.insert(0, str(checkout))
    from dirichletcal.calib import multinomial
    from dirichletcal.calib.fulldirichlet import FullDirichletCalibrator
    from dirichletcal.calib.matrixscaling import MatrixScaling

    shim_checks, cases = [], []
    for name, seed, n_fit, n_eval, k, scale, sharpness in CASES:
        z_fit, y_fit, z_eval, y_eval = make_case(seed, n_fit, n_eval, k, scale, sharpness)
        logp_fit = np.log(softmax(z_fit))
        for x in (logp_fit, z_fit):
            shim_checks.append(check_shim(multinomial, x[:300], y_fit[:300], 0.1, 0.1, False, seed))
        shim_checks.append(check_shim(multinomial, z_fit[:300], y_fit[:300], 0.0, None, True, seed))
        fits = []
        for reg_lambda, reg_mu in [(0.0, 0.0), ODIR]:
            cal = FullDirichletCalibrator(reg_lambda=reg_lambda, reg_mu=reg_mu, reg_norm=True, ref_row=False)
            cal.fit(softmax(z_fit), y_fit)
            fits.append(fit_record(
                "dirichlet", reg_lambda, reg_mu,
                f"FullDirichletCalibrator(reg_lambda={reg_lambda}, reg_mu={reg_mu}, reg_norm=True, ref_row=False)"
                ".fit(softmax(fit_logits), fit_labels).predict_proba(softmax(eval_logits))",
                cal.predict_proba(softmax(z_fit)), cal.predict_proba(softmax(z_eval)), y_fit, y_eval,
                reference_gradient(multinomial, cal.calibrator_, np.log(softmax(z_fit)), y_fit)))
        ms = MatrixScaling(logit_input=True).fit(z_fit, y_fit)
        fits.append(fit_record(
            "matrix", 0.0, 0.0,
            "MatrixScaling(logit_input=True).fit(fit_logits, fit_labels).predict_proba(eval_logits)",
            ms.predict_proba(z_fit), ms.predict_proba(z_eval), y_fit, y_eval,
            reference_gradient(multinomial, ms.calibrator_, z_fit, y_fit)))
        mr = multinomial.MultinomialRegression(method="Full", reg_lambda=ODIR[0], reg_mu=ODIR[1], reg_norm=True,
                                               ref_row=False).fit(z_fit, y_fit)
        fits.append(fit_record(
            "matrix", ODIR[0], ODIR[1],
            f"MultinomialRegression(method='Full', reg_lambda={ODIR[0]}, reg_mu={ODIR[1]}, reg_norm=True, "
            "ref_row=False).fit(fit_logits, fit_labels).predict_proba(eval_logits)",
            np.asarray(mr.predict_proba(z_fit)), np.asarray(mr.predict_proba(z_eval)), y_fit, y_eval,
            reference_gradient(multinomial, mr, z_fit, y_fit)))
        cases.append({
            "name": name, "k": k, "n_fit": n_fit, "n_eval": n_eval,
            "fit_logits": z_fit.ravel().tolist(), "fit_labels": y_fit.tolist(),
            "eval_logits": z_eval.ravel().tolist(), "eval_labels": y_eval.tolist(),
            "fits": fits,
        })
        for f in fits:
            print(f"{name} {f['method']} λ={f['lambda']} μ={f['mu']}: eval NLL {f['eval_nll']:.10f}, "
                  f"clipped fit rows {f['clipped_fit_rows']}, Σ|gradient| {f['reference_gradient_l1']:.1e}")
    doc = {
        "generator": "scripts/golden/dirichlet_golden.py",
        "reference": {"repository": "github:dirichletcal/dirichlet_python", "commit": commit_of(checkout),
                      "files": ["dirichletcal/calib/fulldirichlet.py", "dirichletcal/calib/matrixscaling.py",
                                "dirichletcal/calib/multinomial.py", "dirichletcal/utils.py"],
                      "jax": "stand-in on torch float64 (torch.func / functorch grad and hessian; jax.numpy on torch "
                             "for tensors, numpy otherwise): see the generator's docstring"},
        "numpy": np.__version__, "torch": torch.__version__, "scikit-learn": sklearn.__version__,
        "shim_checks": shim_checks,
        "cases": cases,
    }
    out_path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
