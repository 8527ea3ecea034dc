"""smoothlab.functional.label_smoothing_cross_entropy against torch.nn.functional.cross_entropy (PyTorch 1.13).

The whole option grid — target kind x weight x ignore_index x reduction x smoothing x dtype — is compared value by
value and gradient by gradient with PyTorch's own composite; the two options PyTorch lacks (spread="others",
prior) are compared with an explicit soft-target computation -(q * log_softmax(x)).sum(1).

Tolerances. float64: 1e-12 relative. float32: values at rtol 1e-6 plus atol 1e-7 * max(1, max|ref|) (PyTorch's own
float32 rounding is ~2e-7 of that scale); gradients at rtol 1e-6 plus atol 1e-6 * s, where s is the scale of
d loss / d input (max|grad_output| * max weight / the mean's denominator): an entry is scale * (p - q), so its
rounding error is a few ulps of `scale`, not of the (possibly cancelled) entry itself. Measured: PyTorch float32
against float64 stays below 3.3e-7 * s on this grid.
"""
import itertools
from typing import Optional

import pytest
import torch
import torch.nn.functional as F

import smoothlab
import smoothlab.functional
import smoothlab.nn

lsce = smoothlab.functional.label_smoothing_cross_entropy

# target kind -> (logits shape, soft?)
KINDS = {
    "hard[N]": ((16, 19), False),
    "hard[N,d1,d2]": ((4, 5, 3, 2), False),
    "soft[N,C]": ((16, 19), True),
    "soft[N,C,d1]": ((4, 6, 3), True),
}
IGNORED_CLASS = 2


def make_case(kind, weighted, ignore, dtype, seed):
    """Logits, target, weight, ignore_index for one grid point (inputs drawn in float32, then cast)."""
    shape, soft = KINDS[kind]
    C = shape[1]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g).to(dtype)
    if soft:
        target = torch.randn(shape, generator=g).softmax(1).to(dtype)
    else:
        tshape = (shape[0],) + tuple(shape[2:])
        target = torch.randint(0, C, tshape, generator=g)
        flat = target.view(-1)
        flat[0] = IGNORED_CLASS  # the ignored class is present ...
        flat[1] = (IGNORED_CLASS + 1) % C  # ... and not every target is ignored
    weight = (torch.rand(C, generator=g) + 0.5).to(dtype) if weighted else None
    ignore_index = IGNORED_CLASS if ignore == "class" else -100
    return x, target, weight, ignore_index


def grad_scale(x, target, weight, ignore_index, reduction, grad_out):
    """Bound on |d loss / d input| entries: max|grad_output| * max weight / the mean's denominator."""
    s = float(grad_out.abs().max())
    if weight is not None:
        s *= float(weight.max())
    if reduction == "mean":
        if target.is_floating_point():
            denom = target.numel() / x.shape[1]
        else:
            valid = target != ignore_index
            denom = float(weight[target[valid]].sum()) if weight is not None else float(valid.sum())
        s /= denom
    return s


def assert_close_values(actual, expected, dtype):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if dtype == torch.float64:
        rtol, atol = 1e-12, 1e-12 * max(1.0, float(expected.abs().max()))
    else:
        rtol, atol = 1e-6, 1e-7 * max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)


def assert_close_grads(actual, expected, dtype, scale):
    assert actual is not None, "no gradient reached the input"
    assert actual.shape == expected.shape
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol * scale)


def _grid():
    cases = []
    for kind, (shape, soft) in KINDS.items():
        for weighted, ignore, reduction, smoothing, dtype in itertools.product(
            (False, True), ("default", "class"), ("none", "mean", "sum"), (0.0, 0.1, 0.35),
            (torch.float32, torch.float64)):
            if soft and ignore == "class":
                continue  # ignore_index applies to class-index targets only
            cases.append(pytest.param(
                kind, weighted, ignore, reduction, smoothing, dtype,
                id="{}-{}-ignore_{}-{}-eps{}-{}".format(kind, "w" if weighted else "now", ignore, reduction,
                                                       smoothing, str(dtype).replace("torch.", ""))))
    return cases


GRID = _grid()


@pytest.mark.parametrize("kind,weighted,ignore,reduction,smoothing,dtype", GRID)
def test_matches_torch_cross_entropy(kind, weighted, ignore, reduction, smoothing, dtype):
    seed = GRID_SEEDS[(kind, weighted, ignore, reduction, smoothing, dtype)]
    x, target, weight, ignore_index = make_case(kind, weighted, ignore, dtype, seed)
    soft = target.is_floating_point()

    x_ref = x.clone().requires_grad_(True)
    x_our = x.clone().requires_grad_(True)
    t_ref = target.clone().requires_grad_(soft)
    t_our = target.clone().requires_grad_(soft)

    ref = F.cross_entropy(x_ref, t_ref, weight=weight, ignore_index=ignore_index, reduction=reduction,
                          label_smoothing=smoothing)
    ours = lsce(x_our, t_our, weight=weight, ignore_index=ignore_index, reduction=reduction, smoothing=smoothing)
    assert_close_values(ours.detach(), ref.detach(), dtype)

    g = torch.Generator().manual_seed(seed + 1)
    if reduction == "none":
        grad_out = torch.randn(ref.shape, generator=g).to(dtype)
    else:
        grad_out = torch.tensor(0.5 + float(torch.rand((), generator=g)), dtype=dtype)
    ref.backward(grad_out)
    ours.backward(grad_out)
    scale = grad_scale(x, target, weight, ignore_index, reduction, grad_out)
    assert_close_grads(x_our.grad, x_ref.grad, dtype, scale)
    if soft:
        # d loss / d t_k = -(1 - eps) w_k log p_k (scaled): compare with PyTorch's gradient wrt the target.
        tscale = float(t_ref.grad.abs().max())
        assert_close_grads(t_our.grad, t_ref.grad, dtype, tscale)
    if not soft and ignore == "class":
        # ignored positions get no loss and no gradient
        mask = (target == ignore_index)
        if reduction == "none":
            assert torch.all(ours.detach()[mask] == 0)
        grad_rows = x_our.grad.movedim(1, -1)[mask]
        assert torch.all(grad_rows == 0)


# A distinct, fixed seed per grid point (so the cases do not all share one input).
GRID_SEEDS = {tuple(p.values): 1000 + i for i, p in enumerate(GRID)}


def test_grid_is_complete():
    # 2 hard kinds x 2 weights x 2 ignore x 3 reductions x 3 eps x 2 dtypes + 2 soft kinds x 2 x 1 x 3 x 3 x 2
    assert len(GRID) == 2 * 2 * 2 * 3 * 3 * 2 + 2 * 2 * 1 * 3 * 3 * 2 == 216


# ---------------------------------------------------------------------------------------------------------------
# The options PyTorch does not have: spread="others" and prior, against an explicit soft target q.


def explicit_loss(x, q, reduction, weight=None, denom=None):
    """-(w * q * log_softmax(x)).sum(1) with PyTorch's reductions; mean divides by `denom` (default: the count)."""
    logp = torch.log_softmax(x, 1)
    if weight is not None:
        shape = [1] * x.dim()
        shape[1] = -1
        logp = logp * weight.view(shape)
    per = -(q * logp).sum(1)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (per.numel() if denom is None else denom)


def onehot_cls(target, C, dtype):
    """One-hot of class-index targets [N, d...] laid out like the logits [N, C, d...]."""
    return F.one_hot(target, C).to(dtype).movedim(-1, 1)


def q_others(target, C, eps, dtype):
    oh = onehot_cls(target, C, dtype)
    return (1 - eps) * oh + eps * (1 - oh) / (C - 1)


def q_prior(target, C, eps, prior, dtype, others=False):
    oh = onehot_cls(target, C, dtype)
    pi = (prior / prior.sum()).to(dtype)
    shape = [1] * oh.dim()
    shape[1] = -1
    pi = pi.view(shape)
    if not others:
        return (1 - eps) * oh + eps * pi
    pi_y = (oh * pi).sum(1, keepdim=True)
    return (1 - eps) * oh + eps * (1 - oh) * pi / (1 - pi_y)


OPTION_SHAPES = [(12, 7), (12, 33), (3, 6, 4)]


def _hard(shape, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    x = (1.5 * torch.randn(shape, generator=g)).to(dtype)
    t = torch.randint(0, shape[1], (shape[0],) + tuple(shape[2:]), generator=g)
    return x, t, g


def _check_against_explicit(x, t, q, reduction, dtype, weight=None, denom=None, **kw):
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    ours = lsce(xa, t, weight=weight, reduction=reduction, **kw)
    ref = explicit_loss(xb, q, reduction, weight=weight, denom=denom)
    assert_close_values(ours.detach(), ref.detach(), dtype)
    g = torch.randn(ref.shape, generator=torch.Generator().manual_seed(7)).to(dtype)
    ours.backward(g)
    ref.backward(g)
    scale = float(g.abs().max()) * (1.0 if weight is None else float(weight.max()))
    if reduction == "mean":
        scale /= denom if denom is not None else t.numel()
    assert_close_grads(xa.grad, xb.grad, dtype, scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shape", OPTION_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("smoothing", [0.1, 0.35])
def test_spread_others(shape, reduction, dtype, smoothing):
    x, t, _ = _hard(shape, 11, dtype)
    q = q_others(t, shape[1], smoothing, dtype)
    # the true class keeps exactly 1 - eps, the rest is spread evenly over the K - 1 wrong classes
    assert torch.allclose(q.sum(1), torch.ones((), dtype=dtype))
    _check_against_explicit(x, t, q, reduction, dtype, smoothing=smoothing, spread="others")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("shape", OPTION_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_prior(shape, reduction, dtype):
    x, t, g = _hard(shape, 12, dtype)
    prior = torch.rand(shape[1], generator=g).to(dtype) * 3  # unnormalised on purpose
    prior[1] = 0.0  # a class with no smoothing mass is allowed
    q = q_prior(t, shape[1], 0.2, prior, dtype)
    _check_against_explicit(x, t, q, reduction, dtype, smoothing=0.2, prior=prior)


def test_prior_uniform_equals_default():
    x, t, _ = _hard((10, 9), 13, torch.float64)
    a = lsce(x, t, smoothing=0.3, prior=torch.full((9,), 4.0, dtype=torch.float64))
    b = F.cross_entropy(x, t, label_smoothing=0.3)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_prior_with_weight(reduction):
    # weights multiply q_k; mean divides by sum_i w_{y_i} (PyTorch's normalisation), see loss/label_smoothing.h
    dtype = torch.float64
    x, t, g = _hard((14, 8), 14, dtype)
    prior = torch.rand(8, generator=g).to(dtype) + 0.1
    w = torch.rand(8, generator=g).to(dtype) + 0.5
    q = q_prior(t, 8, 0.25, prior, dtype)
    _check_against_explicit(x, t, q, reduction, dtype, weight=w, denom=float(w[t].sum()), smoothing=0.25,
                            prior=prior)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_prior_with_spread_others(reduction):
    # with spread="others" the prior is renormalised over the wrong classes: q_k = eps pi_k / (1 - pi_y), k != y
    dtype = torch.float64
    x, t, g = _hard((14, 8), 15, dtype)
    prior = torch.rand(8, generator=g).to(dtype) + 0.1
    q = q_prior(t, 8, 0.3, prior, dtype, others=True)
    assert torch.allclose(q.sum(1), torch.ones((), dtype=dtype))
    assert torch.allclose(q.gather(1, t[:, None]), torch.full((), 0.7, dtype=dtype))
    _check_against_explicit(x, t, q, reduction, dtype, smoothing=0.3, spread="others", prior=prior)


def test_prior_with_soft_targets():
    # soft targets: q = (1 - eps) t + eps pi
    dtype = torch.float64
    g = torch.Generator().manual_seed(16)
    x = torch.randn(9, 6, generator=g).to(dtype)
    t = torch.randn(9, 6, generator=g).softmax(1).to(dtype)
    prior = torch.rand(6, generator=g).to(dtype) + 0.2
    q = (1 - 0.15) * t + 0.15 * prior / prior.sum()
    _check_against_explicit(x, t, q, "mean", dtype, smoothing=0.15, prior=prior)


def test_smoothing_one_is_accepted_as_pytorch_does():
    """ε's range is PyTorch's, [0, 1]: at ε = 1 the target is uniform, loss = logsumexp(x) − mean_k x_k."""
    x, t, _ = _hard((12, 7), 3, torch.float64)
    x.requires_grad_(True)
    ours = lsce(x, t, smoothing=1.0)
    ref = F.cross_entropy(x, t, label_smoothing=1.0)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=0)
    torch.testing.assert_close(ours, (torch.logsumexp(x, 1) - x.mean(1)).mean(), rtol=1e-12, atol=0)
    g, = torch.autograd.grad(ours, x)
    g_ref, = torch.autograd.grad(ref, x)
    torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-15)
    for bad in (1.0 + 1e-9, -1e-9, float("nan")):
        with pytest.raises(smoothlab.Error, match=r"outside \[0, 1\]"):
            lsce(x, t, smoothing=bad)


def test_spread_all_is_pytorch_convention():
    x, t, _ = _hard((10, 9), 17, torch.float64)
    torch.testing.assert_close(lsce(x, t, smoothing=0.2, spread="all"), F.cross_entropy(x, t, label_smoothing=0.2),
                               rtol=1e-12, atol=0)
    # and the two conventions really differ
    assert abs(float(lsce(x, t, smoothing=0.2, spread="others") - lsce(x, t, smoothing=0.2))) > 1e-4


# ---------------------------------------------------------------------------------------------------------------
# gradcheck in float64


def _gradcheck_inputs(kind, seed):
    g = torch.Generator().manual_seed(seed)
    if kind == "hard[N,C]":
        x = torch.randn(6, 5, generator=g, dtype=torch.float64)
        t = torch.randint(0, 5, (6,), generator=g)
    elif kind == "hard[N,C,d1,d2]":
        x = torch.randn(2, 4, 3, 2, generator=g, dtype=torch.float64)
        t = torch.randint(0, 4, (2, 3, 2), generator=g)
    elif kind == "soft[N,C]":
        x = torch.randn(6, 5, generator=g, dtype=torch.float64)
        t = torch.randn(6, 5, generator=g, dtype=torch.float64).softmax(1)
    else:  # soft[N,C,d1,d2]
        x = torch.randn(2, 4, 3, 2, generator=g, dtype=torch.float64)
        t = torch.randn(2, 4, 3, 2, generator=g, dtype=torch.float64).softmax(1)
    if not t.is_floating_point():
        t.view(-1)[0] = 1  # the class ignored below is present
    return x, t


GRADCHECK_CASES = [
    (kind, reduction, extras)
    for kind in ("hard[N,C]", "hard[N,C,d1,d2]", "soft[N,C]", "soft[N,C,d1,d2]")
    for reduction in ("none", "mean", "sum")
    for extras in ("plain", "weight", "ignore")
    if not (extras == "ignore" and kind.startswith("soft"))  # ignore_index: class-index targets only
]


@pytest.mark.parametrize("kind,reduction,extras", GRADCHECK_CASES)
def test_gradcheck(kind, reduction, extras):
    x, t = _gradcheck_inputs(kind, 21)
    soft = t.is_floating_point()
    C = x.shape[1]
    weight = torch.linspace(0.5, 1.5, C, dtype=torch.float64) if extras == "weight" else None
    ignore_index = 1 if extras == "ignore" else -100
    x.requires_grad_(True)
    if soft:
        t.requires_grad_(True)
        inputs = (x, t)
        fn = lambda a, b: lsce(a, b, weight=weight, reduction=reduction, smoothing=0.2)  # noqa: E731
    else:
        inputs = (x,)
        fn = lambda a: lsce(a, t, weight=weight, ignore_index=ignore_index, reduction=reduction,  # noqa: E731
                            smoothing=0.2)
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("options", [dict(spread="others", smoothing=0.3),
                                     dict(prior=torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=torch.float64),
                                          smoothing=0.25)],
                         ids=["others", "prior"])
def test_gradcheck_options(options):
    x, t = _gradcheck_inputs("hard[N,C]", 22)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: lsce(a, t, **options), (x,), eps=1e-6, atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# The module, TorchScript and layouts


def test_module_matches_functional():
    g = torch.Generator().manual_seed(31)
    x = torch.randn(20, 11, generator=g, requires_grad=True)
    t = torch.randint(0, 11, (20,), generator=g)
    w = torch.rand(11, generator=g) + 0.5
    m = smoothlab.nn.LabelSmoothingCrossEntropy(smoothing=0.1, weight=w, ignore_index=3, reduction="sum")
    assert isinstance(m, torch.nn.Module)
    out = m(x, t)
    ref = F.cross_entropy(x, t, weight=w, ignore_index=3, reduction="sum", label_smoothing=0.1)
    assert_close_values(out.detach(), ref.detach(), torch.float32)
    (gx,) = torch.autograd.grad(out, x)
    (gr,) = torch.autograd.grad(ref, x)
    assert_close_grads(gx, gr, torch.float32, float(w.max()))
    # the module and the functional are the same computation
    torch.testing.assert_close(out, lsce(x, t, weight=w, ignore_index=3, reduction="sum", smoothing=0.1),
                               rtol=0, atol=0)


def test_module_defaults_and_options():
    g = torch.Generator().manual_seed(32)
    x = torch.randn(8, 6, generator=g, dtype=torch.float64)
    t = torch.randint(0, 6, (8,), generator=g)
    torch.testing.assert_close(smoothlab.nn.LabelSmoothingCrossEntropy()(x, t), F.cross_entropy(x, t),
                               rtol=1e-12, atol=0)
    m = smoothlab.nn.LabelSmoothingCrossEntropy(smoothing=0.2, spread="others", reduction="none")
    ref = explicit_loss(x, q_others(t, 6, 0.2, torch.float64), "none")
    torch.testing.assert_close(m(x, t), ref, rtol=1e-12, atol=1e-12)


def test_torchscript_op():
    # importing smoothlab registers torch.ops.smoothlab.label_smoothing_cross_entropy
    @torch.jit.script
    def scripted(x: torch.Tensor, y: torch.Tensor, w: Optional[torch.Tensor]) -> torch.Tensor:
        return torch.ops.smoothlab.label_smoothing_cross_entropy(x, y, w, -100, "mean", 0.1, "all", None)

    @torch.jit.script
    def scripted_prior(x: torch.Tensor, y: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        return torch.ops.smoothlab.label_smoothing_cross_entropy(x, y, None, 4, "sum", 0.3, "others", prior)

    g = torch.Generator().manual_seed(33)
    x = torch.randn(12, 7, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 7, (12,), generator=g)
    w = torch.rand(7, generator=g, dtype=torch.float64) + 0.5
    prior = torch.rand(7, generator=g, dtype=torch.float64) + 0.1

    for weight in (None, w):
        out = scripted(x, y, weight)
        ref = F.cross_entropy(x, y, weight=weight, label_smoothing=0.1)
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=0)
        torch.testing.assert_close(out, lsce(x, y, weight=weight, smoothing=0.1), rtol=1e-12, atol=0)
        (gs,) = torch.autograd.grad(out, x)
        (gr,) = torch.autograd.grad(ref, x)
        torch.testing.assert_close(gs, gr, rtol=1e-12, atol=1e-14)

    out = scripted_prior(x, y, prior)
    ref = lsce(x, y, ignore_index=4, reduction="sum", smoothing=0.3, spread="others", prior=prior)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=0)


def test_non_contiguous_input():
    g = torch.Generator().manual_seed(34)
    base = torch.randn(9, 15, generator=g, dtype=torch.float64)
    x = base.t()  # [15, 9] view, not contiguous
    assert not x.is_contiguous()
    t = torch.randint(0, 9, (15,), generator=g)
    out = lsce(x, t, smoothing=0.1, reduction="none")
    torch.testing.assert_close(out, F.cross_entropy(x, t, label_smoothing=0.1, reduction="none"),
                               rtol=1e-12, atol=1e-12)
    xb = x.detach().clone().requires_grad_(True)  # clone keeps the transposed strides
    assert not xb.is_contiguous()
    lsce(xb, t, smoothing=0.1).backward()
    xc = x.detach().clone().requires_grad_(True)
    F.cross_entropy(xc, t, label_smoothing=0.1).backward()
    torch.testing.assert_close(xb.grad, xc.grad, rtol=1e-12, atol=1e-14)


def test_reduction_none_shapes():
    g = torch.Generator().manual_seed(35)
    x = torch.randn(3, 4, 5, 2, generator=g)
    t = torch.randint(0, 4, (3, 5, 2), generator=g)
    assert lsce(x, t, reduction="none").shape == (3, 5, 2)
    assert lsce(x, t, reduction="mean").shape == ()
    assert lsce(x.double(), t).dtype == torch.float64
    assert lsce(x, t).dtype == torch.float32


def test_autocast_bf16_returns_float32_like_cross_entropy():
    # Inside torch.autocast, F.cross_entropy is on autocast's float32 list: bf16 logits in, a float32 loss out, a bf16
    # gradient. smoothlab's loss does the same (computing from the 2-byte logits); outside autocast both keep bf16.
    g = torch.Generator().manual_seed(5)
    x = (torch.randn(32, 10, generator=g) * 3).bfloat16().requires_grad_()
    y = torch.randint(0, 10, (32,), generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = lsce(x, y, smoothing=0.1)
        ref = F.cross_entropy(x, y, label_smoothing=0.1)
    assert ours.dtype == ref.dtype == torch.float32
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    (g_ours,) = torch.autograd.grad(ours, x)
    (g_ref,) = torch.autograd.grad(ref, x)
    assert g_ours.dtype == g_ref.dtype == torch.bfloat16
    torch.testing.assert_close(g_ours.float(), g_ref.float(), rtol=2.0**-7, atol=1e-6)  # one bf16 rounding each
    assert lsce(x, y, smoothing=0.1).dtype == F.cross_entropy(x, y, label_smoothing=0.1).dtype == torch.bfloat16
