"""smoothlab.represent.project and smoothlab.distill (teacher_gamma, mutual_information, kd_loss) against independent
numpy / torch float64 computations of the definitions in src/smoothlab/{represent/projection.h,
represent/cluster_stats.h, represent/mutual_information.h, calib/gamma.h, distill/loss.h}."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import smoothlab.distill as distill
import smoothlab.represent as represent


def as_np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


# ---------------------------------------------------------------------------------------------------------------
# represent.project


def reference_projection(features, labels, templates, classes):
    x = np.asarray(features, dtype=np.float64)
    W = np.asarray(templates, dtype=np.float64)
    if W.shape[1] == x.shape[1] + 1:
        x = np.concatenate([x, np.ones((len(x), 1))], 1)
    a, b, c = (W[k] for k in classes)
    o = (a + b + c) / 3
    e1 = (b - a) / np.linalg.norm(b - a)
    r = (c - a) - np.dot(c - a, e1) * e1
    e2 = r / np.linalg.norm(r)
    axes = np.stack([e1, e2])
    labels = np.asarray(labels)
    keep = np.isin(labels, classes)
    coords = (x[keep] - o) @ axes.T
    vertices = (np.stack([a, b, c]) - o) @ axes.T
    # cluster statistics in the plane (cluster_stats.h)
    sel = labels[keep]
    centroids = [coords[sel == k].mean(0) for k in classes]
    spreads = [np.linalg.norm(coords[sel == k] - centroids[i], axis=1).mean() for i, k in enumerate(classes)]
    d = [np.linalg.norm(centroids[0] - centroids[1]), np.linalg.norm(centroids[1] - centroids[2]),
         np.linalg.norm(centroids[0] - centroids[2])]
    stats = dict(tightness_plane=np.mean(spreads) / np.mean(d), regularity=min(d) / max(d))
    return coords, sel, vertices, stats


def _projection_data(seed, n=90, D=8, K=6):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, size=n)
    W = rng.normal(size=(K, D))
    bias = rng.normal(size=K)
    # features: noisy copies of their class template, so the clusters are distinct
    features = W[labels] * 1.5 + 0.4 * rng.normal(size=(n, D))
    return features.astype(np.float32), labels.astype(np.int64), W.astype(np.float32), bias.astype(np.float32)


@pytest.mark.parametrize("with_bias", [False, True], ids=["weight", "weight+bias"])
@pytest.mark.parametrize("classes", [(0, 1, 2), (4, 0, 3)], ids=["012", "403"])
def test_project_matches_numpy(with_bias, classes):
    features, labels, W, bias = _projection_data(41)
    templates = np.concatenate([W, bias[:, None]], 1) if with_bias else W
    out = represent.project(torch.from_numpy(features), torch.from_numpy(labels), torch.from_numpy(templates),
                            list(classes))
    coords, sel, vertices, stats = reference_projection(features, labels, templates, classes)
    assert out["coords"].dtype == torch.float64 and tuple(out["coords"].shape) == (len(sel), 2)
    assert out["labels"].dtype == torch.int64
    assert out["vertices"].dtype == torch.float64 and tuple(out["vertices"].shape) == (3, 2)
    np.testing.assert_array_equal(as_np(out["labels"]), sel)
    np.testing.assert_allclose(as_np(out["coords"]), coords, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(as_np(out["vertices"]), vertices, rtol=1e-9, atol=1e-9)
    v = as_np(out["vertices"])
    np.testing.assert_allclose(v.sum(0), 0.0, atol=1e-9)
    assert v[2, 1] > 0  # vertex c lies at y > 0
    assert v[0, 1] == pytest.approx(v[1, 1], abs=1e-9) and v[1, 0] > v[0, 0]  # w_a -> w_b along +x
    w = templates.astype(np.float64)
    assert v[1, 0] - v[0, 0] == pytest.approx(np.linalg.norm(w[classes[1]] - w[classes[0]]), rel=1e-9)
    s = out["stats"]
    assert float(s["tightness_plane"]) == pytest.approx(stats["tightness_plane"], rel=1e-9)
    assert float(s["regularity"]) == pytest.approx(stats["regularity"], rel=1e-9)
    assert 0 < float(s["regularity"]) <= 1


def test_project_points_in_plane_keep_position():
    # a point o + u e1 + v e2 maps to (u, v); a template maps to its vertex
    _, _, W, _ = _projection_data(42)
    classes = (1, 2, 5)
    _, _, vertices, _ = reference_projection(W[list(classes)], np.array(classes), W, classes)
    points = W[list(classes)]
    out = represent.project(torch.from_numpy(points), torch.tensor(list(classes)), torch.from_numpy(W), classes)
    np.testing.assert_allclose(as_np(out["coords"]), vertices, atol=1e-6)  # float32 inputs
    np.testing.assert_allclose(as_np(out["vertices"]), vertices, atol=1e-9)


def test_project_order_of_classes_is_a_rotation():
    features, labels, W, _ = _projection_data(43)
    a = represent.project(torch.from_numpy(features), torch.from_numpy(labels), torch.from_numpy(W), (0, 1, 2))
    b = represent.project(torch.from_numpy(features), torch.from_numpy(labels), torch.from_numpy(W), (2, 0, 1))
    np.testing.assert_array_equal(as_np(a["labels"]), as_np(b["labels"]))
    na = np.linalg.norm(as_np(a["coords"]), axis=1)
    nb = np.linalg.norm(as_np(b["coords"]), axis=1)
    np.testing.assert_allclose(na, nb, rtol=1e-9)
    assert float(a["stats"]["tightness_plane"]) == pytest.approx(float(b["stats"]["tightness_plane"]), rel=1e-9)
    assert float(a["stats"]["regularity"]) == pytest.approx(float(b["stats"]["regularity"]), rel=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# distill.teacher_gamma


def reference_gamma(z, y, T):
    z = np.asarray(z, dtype=np.float64) / T
    u = z - z.max(1, keepdims=True)
    p = np.exp(u) / np.exp(u).sum(1, keepdims=True)
    K = z.shape[1]
    wrong = p.copy()
    wrong[np.arange(len(y)), y] = 0
    return float(wrong.sum(1).mean() * K / (K - 1))


@pytest.mark.parametrize("T", [1.0, 2.0, 8.0])
def test_teacher_gamma(T):
    rng = np.random.default_rng(51)
    z = (rng.normal(size=(500, 10)) * 3).astype(np.float32)
    y = rng.integers(0, 10, size=500)
    got = distill.teacher_gamma(torch.from_numpy(z), torch.from_numpy(y), temperature=T)
    assert isinstance(got, float)
    assert got == pytest.approx(reference_gamma(z, y, T), rel=1e-9)


def test_teacher_gamma_of_smoothed_targets_is_eps():
    # logits log q with q = (1 - eps) onehot + eps / K give gamma = eps exactly; one-hot-like logits give ~0
    K, eps = 7, 0.2
    y = torch.arange(35) % K
    q = torch.full((35, K), eps / K, dtype=torch.float64)
    q[torch.arange(35), y] += 1 - eps
    assert distill.teacher_gamma(q.log(), y) == pytest.approx(eps, rel=1e-9)
    assert distill.teacher_gamma(q.log(), y, temperature=1.0) == pytest.approx(eps, rel=1e-9)
    sharp = torch.zeros(35, K, dtype=torch.float64)
    sharp[torch.arange(35), y] = 100.0
    assert distill.teacher_gamma(sharp, y) < 1e-30
    assert distill.teacher_gamma(torch.zeros(35, K), y) == pytest.approx(1.0, rel=1e-12)  # uniform


# ---------------------------------------------------------------------------------------------------------------
# distill.mutual_information


def reference_mi(gaps):
    y = np.asarray(gaps, dtype=np.float64)
    N, L = y.shape
    mu = y.mean(1)
    sigma2 = ((y - mu[:, None]) ** 2).sum() / (N * (L - 1))
    floor = 1e-12 * max(1.0, float((y ** 2).mean()))
    two_s2 = 2 * max(sigma2, floor)
    total = 0.0
    for x in range(N):
        for l in range(L):
            v = y[x, l]
            own = -((v - mu[x]) ** 2) / two_s2
            a = -((v - mu) ** 2) / two_s2
            m = a.max()
            log_mixture = m + math.log(np.exp(a - m).sum()) - math.log(N)
            total += own - log_mixture
    between = float(((mu - mu.mean()) ** 2).mean())
    return dict(mi_raw=total / (N * L), sigma2=float(sigma2), between_variance=between, log_n=math.log(N))


def _check_mi(gaps):
    got = distill.mutual_information(gaps)
    ref = reference_mi(as_np(gaps))
    N, L = gaps.shape
    assert got["examples"] == N and got["views"] == L
    assert got["log_n"] == pytest.approx(math.log(N), rel=1e-15)
    assert got["mi_raw"] == pytest.approx(ref["mi_raw"], rel=1e-9, abs=1e-9)
    assert got["sigma2"] == pytest.approx(ref["sigma2"], rel=1e-9, abs=1e-300)
    assert got["between_variance"] == pytest.approx(ref["between_variance"], rel=1e-9, abs=1e-300)
    assert got["mi"] == pytest.approx(min(max(ref["mi_raw"], 0.0), math.log(N)), rel=1e-9, abs=1e-9)
    return got


@pytest.mark.parametrize("separation", [0.3, 2.0, 10.0])
def test_mutual_information_matches_numpy(separation):
    g = torch.Generator().manual_seed(61)
    N, L = 40, 5
    means = torch.randn(N, 1, generator=g, dtype=torch.float64) * separation
    gaps = means + torch.randn(N, L, generator=g, dtype=torch.float64)
    got = _check_mi(gaps)
    assert 0.0 <= got["mi"] <= math.log(N)


def test_mutual_information_float32_input():
    g = torch.Generator().manual_seed(62)
    gaps = (torch.randn(30, 1, generator=g) * 3 + torch.randn(30, 4, generator=g)).float()
    _check_mi(gaps)


def test_mutual_information_identical_views():
    # noise-free views of distinct examples: sigma2 = 0 (floored inside), every term is log N
    g = torch.Generator().manual_seed(63)
    N, L = 25, 3
    mu = torch.randperm(N, generator=g).double() * 0.5 + 1.0
    gaps = mu[:, None].repeat(1, L)
    got = _check_mi(gaps)
    assert got["sigma2"] == 0.0
    assert got["mi"] == pytest.approx(math.log(N), rel=1e-12)
    assert got["mi_raw"] == pytest.approx(math.log(N), rel=1e-12)


def test_mutual_information_identical_examples():
    # every example has the same views: the example tells nothing about the gap, MI = 0
    g = torch.Generator().manual_seed(64)
    N, L = 30, 6
    views = torch.randn(1, L, generator=g, dtype=torch.float64)
    gaps = views.repeat(N, 1)
    got = _check_mi(gaps)
    assert got["mi_raw"] == pytest.approx(0.0, abs=1e-12)
    assert got["mi"] == pytest.approx(0.0, abs=1e-12)
    assert got["between_variance"] == pytest.approx(0.0, abs=1e-24)


def test_mutual_information_two_clusters():
    # two collapsed clusters (the examples of a cluster share their views): MI = log 2
    g = torch.Generator().manual_seed(65)
    N, L = 40, 5
    centre = torch.where(torch.arange(N) < N // 2, -5.0, 5.0).double()
    gaps = centre[:, None] + 0.1 * torch.randn(1, L, generator=g, dtype=torch.float64)
    got = _check_mi(gaps)
    assert got["mi"] == pytest.approx(math.log(2), rel=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# distill.kd_loss


def _kd_data(seed, N=12, K=7, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    zs = torch.randn(N, K, generator=g, dtype=torch.float64).to(dtype)
    zt = (2 * torch.randn(N, K, generator=g, dtype=torch.float64)).to(dtype)
    y = torch.randint(0, K, (N,), generator=g)
    return zs, zt, y


def ref_paper(zs, zt, y, T, beta=1.0, smoothing=0.0, reduction="mean"):
    pt = torch.softmax(zt.detach() / T, 1)
    soft = -(pt * torch.log_softmax(zs, 1)).sum(1)
    per = beta * soft
    if beta < 1:
        per = per + (1 - beta) * F.cross_entropy(zs, y, label_smoothing=smoothing, reduction="none")
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def ref_hinton(zs, zt, y, T, beta=0.5, smoothing=0.0, reduction="mean"):
    log_ps = torch.log_softmax(zs / T, 1)
    pt = torch.softmax(zt.detach() / T, 1)
    if reduction == "mean":
        kl = F.kl_div(log_ps, pt, reduction="batchmean")  # sum over classes, divided by N (not N*K)
        ce = F.cross_entropy(zs, y, label_smoothing=smoothing)
        return (1 - beta) * ce + beta * T * T * kl
    kl = F.kl_div(log_ps, pt, reduction="none").sum(1)
    per = (1 - beta) * F.cross_entropy(zs, y, label_smoothing=smoothing, reduction="none") + beta * T * T * kl
    return per if reduction == "none" else per.sum()


def _close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10 * max(1.0, float(b.abs().max())))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("T", [1.0, 4.0])
def test_kd_paper(T, reduction):
    zs, zt, y = _kd_data(71)
    got = distill.kd_loss(zs, zt, temperature=T, reduction=reduction)  # beta defaults to 1: labels not needed
    _close(got, ref_paper(zs, zt, y, T, reduction=reduction))
    _close(distill.kd_loss(zs, zt, y, temperature=T, form="paper", reduction=reduction),
           ref_paper(zs, zt, y, T, reduction=reduction))


def test_kd_paper_with_hard_term():
    zs, zt, y = _kd_data(72)
    got = distill.kd_loss(zs, zt, y, temperature=2.0, beta=0.3, form="paper", smoothing=0.1)
    _close(got, ref_paper(zs, zt, y, 2.0, beta=0.3, smoothing=0.1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("T,beta,smoothing", [(4.0, None, 0.0), (2.0, 0.9, 0.1), (1.0, 0.2, 0.0)])
def test_kd_hinton(T, beta, smoothing, reduction):
    zs, zt, y = _kd_data(73)
    got = distill.kd_loss(zs, zt, y, temperature=T, beta=beta, form="hinton", smoothing=smoothing,
                          reduction=reduction)
    _close(got, ref_hinton(zs, zt, y, T, beta=0.5 if beta is None else beta, smoothing=smoothing,
                           reduction=reduction))


def test_kd_hinton_batchmean_not_elementwise_mean():
    # the teacher term is divided by N, not by N*K
    zs, zt, y = _kd_data(74, K=10)
    got = distill.kd_loss(zs, zt, y, temperature=3.0, beta=1.0, form="hinton")
    kl_sum = F.kl_div(torch.log_softmax(zs / 3, 1), torch.softmax(zt / 3, 1), reduction="sum")
    _close(got, 9.0 * kl_sum / zs.shape[0])
    wrong = 9.0 * F.kl_div(torch.log_softmax(zs / 3, 1), torch.softmax(zt / 3, 1), reduction="none").mean()
    assert float(got) == pytest.approx(10 * float(wrong), rel=1e-10)


@pytest.mark.parametrize("form", ["paper", "hinton"])
def test_kd_gradient_to_student_only(form):
    zs, zt, y = _kd_data(75)
    zs_a = zs.clone().requires_grad_(True)
    zt_a = zt.clone().requires_grad_(True)
    zs_b = zs.clone().requires_grad_(True)
    loss = distill.kd_loss(zs_a, zt_a, y, temperature=3.0, form=form, beta=0.6 if form == "paper" else None)
    loss.backward()
    assert zt_a.grad is None, "the teacher must not receive a gradient"
    ref = (ref_paper(zs_b, zt, y, 3.0, beta=0.6) if form == "paper" else ref_hinton(zs_b, zt, y, 3.0))
    ref.backward()
    _close(zs_a.grad, zs_b.grad)


@pytest.mark.parametrize("form", ["paper", "hinton"])
def test_kd_gradcheck(form):
    zs, zt, y = _kd_data(76, N=5, K=4)
    zs.requires_grad_(True)
    fn = lambda s: distill.kd_loss(s, zt, y, temperature=2.0, form=form, beta=0.7, smoothing=0.1)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (zs,), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_kd_float32():
    zs, zt, y = _kd_data(77, dtype=torch.float32)
    got = distill.kd_loss(zs, zt, y, temperature=2.0, form="hinton")
    assert got.dtype == torch.float32
    want = ref_hinton(zs.double(), zt.double(), y, 2.0)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
