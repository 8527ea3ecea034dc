"""smoothlab.calibration against an independent numpy float64 implementation of the definitions in
src/smoothlab/calib/{ece,meter,temperature}.h.

The library computes probabilities in float32 (vectorised exp, relative error ~1e-7) and accumulates in float64, so
floats are compared at 1e-6 absolute. A binned metric jumps when a confidence crosses a bin edge, so the test data
drop the (few) rows with a probability within 1e-5 of an edge m/M: the data come from a seeded numpy Generator, so
which rows are dropped is the same on every machine, and no rounding of ~1e-7 can move a sample to another bin.
"""
import math
import pathlib

import numpy as np
import pytest
import torch

import smoothlab.calibration as cal

TOL = 1e-6
KEYS = ("count", "classes", "accuracy", "nll", "brier", "mean_confidence", "ece", "mce", "rms_ce", "ece_equal_width",
        "ece_equal_mass", "classwise_ece", "bins", "binning", "reliability")
FLOAT_KEYS = ("accuracy", "nll", "brier", "mean_confidence", "ece", "mce", "rms_ce", "ece_equal_width",
              "ece_equal_mass", "classwise_ece")


# ---------------------------------------------------------------------------------------------------------------
# numpy float64 reference


def softmax64(z, temperature=1.0):
    z = np.asarray(z, dtype=np.float64) / temperature
    u = z - z.max(1, keepdims=True)
    e = np.exp(u)
    s = e.sum(1, keepdims=True)
    return e / s, u - np.log(s)


def ew_bin(p, M):
    """Equal-width bin in [0, M) of each value: bin b holds (b/M, (b+1)/M]; <= 0 -> 0, >= 1 -> M - 1."""
    p = np.asarray(p, dtype=np.float64)
    edges = np.arange(M + 1, dtype=np.float64) / M
    b = np.clip(np.ceil(p * M).astype(np.int64) - 1, 0, M - 1)
    b = np.where((b > 0) & (p <= edges[b]), b - 1, b)
    b = np.where((b < M - 1) & (p > edges[np.minimum(b + 1, M)]), b + 1, b)
    b = np.where(p <= 0, 0, b)
    return np.where(p >= 1, M - 1, b)


def em_bin(conf, M):
    """Equal-mass bins: rank r of a stable sort by confidence -> bin floor(r M / n)."""
    n = len(conf)
    order = np.argsort(conf, kind="stable")
    b = np.empty(n, dtype=np.int64)
    b[order] = (np.arange(n, dtype=np.int64) * M) // n
    return b


def binned(b, conf, correct, M):
    n = len(conf)
    count = np.bincount(b, minlength=M).astype(np.float64)
    conf_sum = np.bincount(b, weights=conf, minlength=M)
    hit_sum = np.bincount(b, weights=correct.astype(np.float64), minlength=M)
    nz = count > 0
    gap = np.zeros(M)
    gap[nz] = np.abs(hit_sum[nz] - conf_sum[nz]) / count[nz]
    ece = float(np.sum(count / n * gap))
    mce = float(gap[nz].max()) if nz.any() else 0.0
    rms = math.sqrt(float(np.sum(count / n * gap ** 2)))
    bin_conf = np.where(nz, conf_sum / np.maximum(count, 1), 0.0)
    bin_acc = np.where(nz, hit_sum / np.maximum(count, 1), 0.0)
    return dict(ece=ece, mce=mce, rms=rms, count=count, confidence=bin_conf, accuracy=bin_acc)


def reference_metrics(z, y, bins=15, binning="equal-width"):
    z = np.asarray(z)
    y = np.asarray(y, dtype=np.int64)
    n, K = z.shape
    p, logp = softmax64(z)
    conf = p.max(1)
    pred = np.argmax(z, axis=1)  # first maximum: ties go to the lowest index
    correct = pred == y
    onehot = np.eye(K)[y]
    ew = binned(ew_bin(conf, bins), conf, correct, bins)
    em = binned(em_bin(conf, bins), conf, correct, bins)
    chosen = ew if binning == "equal-width" else em
    classwise = 0.0
    for k in range(K):
        b = ew_bin(p[:, k], bins)
        freq = np.bincount(b, weights=(y == k).astype(np.float64), minlength=bins)
        mass = np.bincount(b, weights=p[:, k], minlength=bins)
        classwise += np.abs(freq - mass).sum() / n
    return dict(count=n, classes=K, accuracy=float(correct.mean()), nll=float(-logp[np.arange(n), y].mean()),
                brier=float(((p - onehot) ** 2).sum(1).mean()), mean_confidence=float(conf.mean()),
                ece=chosen["ece"], mce=chosen["mce"], rms_ce=chosen["rms"], ece_equal_width=ew["ece"],
                ece_equal_mass=em["ece"], classwise_ece=classwise / K, bins=bins, binning=binning,
                reliability=chosen, confidences=conf)


def reference_nll(z, y, temperature):
    _, logp = softmax64(z, temperature)
    return float(-logp[np.arange(len(y)), np.asarray(y)].mean())


def make_data(n, K, scale, seed, bins=15, overconfident=1.5):
    """float32 logits, int64 labels drawn from softmax(z / overconfident) (so the model is mis-calibrated), with the
    rows whose probabilities sit within 1e-5 of an equal-width edge of `bins` removed."""
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(n, K)) * scale).astype(np.float32)
    q, _ = softmax64(z, overconfident)
    y = (q.cumsum(1) > rng.random((n, 1))).argmax(1).astype(np.int64)
    p, _ = softmax64(z)
    frac = p * bins - np.round(p * bins)
    near_edge = (np.abs(frac) < 1e-5 * bins) & (np.round(p * bins) >= 1) & (np.round(p * bins) <= bins - 1)
    keep = ~near_edge.any(1)
    return z[keep], y[keep]


def assert_metrics_close(m, ref, tol=TOL, check_reliability=True):
    assert set(KEYS) <= set(m), "missing keys: {}".format(set(KEYS) - set(m))
    assert m["count"] == ref["count"]
    assert m["classes"] == ref["classes"]
    assert m["bins"] == ref["bins"]
    assert m["binning"] == ref["binning"]
    assert m["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-15)
    for key in FLOAT_KEYS:
        if key == "accuracy":
            continue
        assert m[key] == pytest.approx(ref[key], abs=tol), key
    if check_reliability:
        rel = m["reliability"]
        for key in ("lower", "upper", "count", "confidence", "accuracy"):
            assert len(rel[key]) == ref["bins"], key
        np.testing.assert_array_equal(np.asarray(rel["count"], dtype=np.float64), ref["reliability"]["count"])
        np.testing.assert_allclose(rel["confidence"], ref["reliability"]["confidence"], rtol=0, atol=tol)
        np.testing.assert_allclose(rel["accuracy"], ref["reliability"]["accuracy"], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# metrics()


@pytest.mark.parametrize("K,scale,n,bins", [(2, 2.0, 3000, 15), (10, 1.0, 3000, 15), (10, 4.0, 3000, 15),
                                            (37, 3.0, 2000, 15), (100, 3.0, 1000, 15), (10, 2.0, 3000, 10)])
def test_metrics_match_numpy(K, scale, n, bins):
    z, y = make_data(n, K, scale, seed=K * 100 + bins, bins=bins)
    assert len(y) > 0.9 * n
    ref = reference_metrics(z, y, bins)
    m = cal.metrics(torch.from_numpy(z), torch.from_numpy(y), bins=bins)
    assert_metrics_close(m, ref)
    rel = m["reliability"]
    np.testing.assert_allclose(rel["lower"], np.arange(bins) / bins, rtol=0, atol=1e-15)
    np.testing.assert_allclose(rel["upper"], np.arange(1, bins + 1) / bins, rtol=0, atol=1e-15)
    assert sum(rel["count"]) == len(y)
    # sanity of the data: the metrics are not trivially 0
    assert 0.01 < m["ece"] < 0.5 and m["mce"] >= m["ece"] and m["rms_ce"] >= m["ece"] - 1e-15


def test_metrics_numpy_inputs_and_dtypes():
    z, y = make_data(2500, 12, 2.5, seed=7)
    ref = reference_metrics(z, y)
    from_torch = cal.metrics(torch.from_numpy(z), torch.from_numpy(y))
    assert_metrics_close(cal.metrics(z, y), ref)
    assert_metrics_close(cal.metrics(z, y.astype(np.int32)), ref)
    assert_metrics_close(cal.metrics(torch.from_numpy(z).double(), torch.from_numpy(y)), ref)
    for key in FLOAT_KEYS:
        assert cal.metrics(z, y)[key] == pytest.approx(from_torch[key], abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_metrics_half_precision(dtype):
    z, y = make_data(2000, 10, 2.0, seed=8)
    zl = torch.from_numpy(z).to(dtype)
    yt = torch.from_numpy(y)
    m = cal.metrics(zl, yt)
    ref = cal.metrics(zl.float(), yt)
    assert m["count"] == ref["count"] and m["accuracy"] == ref["accuracy"]
    for key in FLOAT_KEYS:
        assert m[key] == pytest.approx(ref[key], abs=1e-12), key
    # and the float32 result of the rounded logits is itself right
    assert m["nll"] == pytest.approx(reference_metrics(zl.float().numpy(), y)["nll"], abs=TOL)


def test_equal_mass_consistency():
    z, y = make_data(3000, 10, 3.0, seed=9)
    width = cal.metrics(z, y)
    mass = cal.metrics(z, y, binning="equal-mass")
    assert mass["binning"] == "equal-mass" and width["binning"] == "equal-width"
    assert mass["ece"] == pytest.approx(width["ece_equal_mass"], abs=1e-15)
    assert mass["ece_equal_mass"] == pytest.approx(mass["ece"], abs=1e-15)
    assert mass["ece_equal_width"] == pytest.approx(width["ece"], abs=1e-15)
    for key in ("accuracy", "nll", "brier", "mean_confidence", "classwise_ece"):
        assert mass[key] == pytest.approx(width[key], abs=1e-15)
    # equal-mass bins hold floor(n/M) or ceil(n/M) samples each
    counts = np.asarray(mass["reliability"]["count"])
    assert counts.sum() == len(y)
    assert counts.min() >= len(y) // 15 and counts.max() <= -(-len(y) // 15)
    # every bin's [lower, upper] is the range of its confidences, and the bins are ordered
    lower, upper = np.asarray(mass["reliability"]["lower"]), np.asarray(mass["reliability"]["upper"])
    assert np.all(lower <= upper) and np.all(upper[:-1] <= lower[1:] + 1e-7)


def test_equal_mass_matches_numpy():
    # the full reference for equal-mass bins (rank r -> bin floor(r M / n)), on data where no two confidences
    # that straddle a bin boundary in rank are within 1e-5 of each other (so float32 rounding cannot reorder them)
    z, y = make_data(3000, 10, 3.0, seed=10)
    ref = reference_metrics(z, y, binning="equal-mass")
    conf = np.sort(ref["confidences"])
    n = len(conf)
    boundaries = [-(-(m * n) // 15) for m in range(1, 15)]  # first rank of bins 1..M-1
    assert min(conf[r] - conf[r - 1] for r in boundaries) > 1e-5, "test data too dense at a boundary"
    m = cal.metrics(z, y, binning="equal-mass")
    assert_metrics_close(m, ref, check_reliability=False)
    np.testing.assert_array_equal(np.asarray(m["reliability"]["count"], dtype=np.float64),
                                  ref["reliability"]["count"])
    np.testing.assert_allclose(m["reliability"]["accuracy"], ref["reliability"]["accuracy"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(m["reliability"]["confidence"], ref["reliability"]["confidence"], rtol=0, atol=TOL)


def _two_class_logits(confidences):
    """Logits [0, log(c / (1 - c))] whose softmax has top probability c (class 1)."""
    c = np.asarray(confidences, dtype=np.float64)
    return np.stack([np.zeros_like(c), np.log(c / (1 - c))], 1).astype(np.float32)


def test_hand_made_equal_mass():
    # confidences 0.9, 0.6, 0.8, 0.7 (prediction: class 1); correct: yes, yes, yes, no.
    # 2 equal-mass bins: {0.6, 0.7} -> acc 0.5, conf 0.65; {0.8, 0.9} -> acc 1, conf 0.85. ECE = 0.5*.15 + 0.5*.15
    # 2 equal-width bins: all four in (0.5, 1] -> acc 0.75, conf 0.75: ECE 0.
    z = _two_class_logits([0.9, 0.6, 0.8, 0.7])
    y = np.array([1, 1, 1, 0])
    mass = cal.metrics(z, y, bins=2, binning="equal-mass")
    assert mass["ece"] == pytest.approx(0.15, abs=TOL)
    assert mass["mce"] == pytest.approx(0.15, abs=TOL)
    assert mass["rms_ce"] == pytest.approx(0.15, abs=TOL)
    assert list(mass["reliability"]["count"]) == [2, 2]
    np.testing.assert_allclose(mass["reliability"]["accuracy"], [0.5, 1.0], atol=1e-12)
    np.testing.assert_allclose(mass["reliability"]["confidence"], [0.65, 0.85], atol=TOL)
    np.testing.assert_allclose(mass["reliability"]["lower"], [0.6, 0.8], atol=TOL)
    np.testing.assert_allclose(mass["reliability"]["upper"], [0.7, 0.9], atol=TOL)
    width = cal.metrics(z, y, bins=2)
    assert width["ece"] == pytest.approx(0.0, abs=TOL)
    assert width["ece_equal_mass"] == pytest.approx(0.15, abs=TOL)
    assert list(width["reliability"]["count"]) == [0, 4]
    assert width["accuracy"] == 0.75


def test_hand_made_equal_width():
    # 5 bins of width 0.2: 0.55 -> bin 2, 0.65 -> bin 3, 0.95 and 0.97 -> bin 4
    z = _two_class_logits([0.55, 0.65, 0.95, 0.97])
    y = np.array([0, 1, 1, 1])  # the first is wrong
    m = cal.metrics(z, y, bins=5)
    assert list(m["reliability"]["count"]) == [0, 0, 1, 1, 2]
    gaps = [0.55, 1 - 0.65, 1 - 0.96]
    assert m["ece"] == pytest.approx((gaps[0] + gaps[1] + 2 * gaps[2]) / 4, abs=TOL)
    assert m["mce"] == pytest.approx(0.55, abs=TOL)
    assert m["rms_ce"] == pytest.approx(math.sqrt((gaps[0] ** 2 + gaps[1] ** 2 + 2 * gaps[2] ** 2) / 4), abs=TOL)
    assert m["mean_confidence"] == pytest.approx(np.mean([0.55, 0.65, 0.95, 0.97]), abs=TOL)
    assert m["nll"] == pytest.approx(-np.mean(np.log([0.45, 0.65, 0.95, 0.97])), abs=TOL)
    assert m["brier"] == pytest.approx(np.mean([2 * 0.55 ** 2, 2 * 0.35 ** 2, 2 * 0.05 ** 2, 2 * 0.03 ** 2]),
                                       abs=TOL)


def test_argmax_ties_lowest_index():
    z = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 3.0, 3.0]], dtype=np.float32)
    assert cal.metrics(z, np.array([0, 1, 0]))["accuracy"] == 1.0
    assert cal.metrics(z, np.array([1, 2, 2]))["accuracy"] == 0.0


# ---------------------------------------------------------------------------------------------------------------
# Meter


def test_meter_batches_equal_one_shot():
    z, y = make_data(3000, 10, 2.0, seed=11)
    for binning in ("equal-width", "equal-mass"):
        whole = cal.metrics(z, y, binning=binning)
        meter = cal.Meter(bins=15, binning=binning)
        start = 0
        for size in (1, 17, 500, 1024, 7):
            meter.update(torch.from_numpy(z[start:start + size]), torch.from_numpy(y[start:start + size]))
            start += size
        meter.update(torch.from_numpy(z[start:]), torch.from_numpy(y[start:]))
        got = meter.compute()
        assert got["count"] == whole["count"] == len(y)
        assert got["classes"] == whole["classes"]
        assert got["accuracy"] == whole["accuracy"]
        assert got["binning"] == binning
        for key in FLOAT_KEYS:
            # classwise ECE: bin-0 probabilities are summed in float32 over blocks of 16 rows whose boundaries follow
            # the batches, so it agrees to ~1e-11 rather than to the last bit
            tol = 1e-9 if key == "classwise_ece" else 1e-12
            assert got[key] == pytest.approx(whole[key], abs=tol), key
        assert list(got["reliability"]["count"]) == list(whole["reliability"]["count"])
        np.testing.assert_allclose(got["reliability"]["confidence"], whole["reliability"]["confidence"], atol=1e-12)


def test_meter_reset():
    z1, y1 = make_data(1500, 10, 4.0, seed=12)
    z2, y2 = make_data(1200, 10, 1.0, seed=13)
    meter = cal.Meter()
    meter.update(torch.from_numpy(z1), torch.from_numpy(y1))
    first = meter.compute()
    assert first["count"] == len(y1)
    meter.reset()
    meter.update(torch.from_numpy(z2), torch.from_numpy(y2))
    got = meter.compute()
    want = cal.metrics(z2, y2)
    assert got["count"] == len(y2)
    assert got["accuracy"] == want["accuracy"]
    for key in FLOAT_KEYS:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key
    assert_metrics_close(got, reference_metrics(z2, y2))


# ---------------------------------------------------------------------------------------------------------------
# fit_temperature


FIT_KEYS = ("temperature", "nll_before", "nll_after", "iterations", "converged", "at_bound", "count")


def _calibrated(n, K, seed, scale=2.0):
    """Logits z and labels drawn from softmax(z): z is calibrated, so the optimum for c*z is T = c."""
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(n, K)) * scale).astype(np.float32)
    p, _ = softmax64(z)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1).astype(np.int64)
    return z, y


def _dnll_dlogt(z, y, t, h=1e-4):
    return (reference_nll(z, y, t * math.exp(h)) - reference_nll(z, y, t * math.exp(-h))) / (2 * h)


@pytest.mark.parametrize("factor,K", [(2.0, 10), (0.5, 10), (3.0, 37)])
def test_fit_temperature(factor, K):
    z, y = _calibrated(6000, K, seed=int(factor * 10) + K)
    z = (z * factor).astype(np.float32)
    fit = cal.fit_temperature(torch.from_numpy(z), torch.from_numpy(y))
    assert set(FIT_KEYS) <= set(fit)
    T = fit["temperature"]
    assert fit["count"] == len(y)
    assert fit["converged"] is True or fit["converged"] == 1
    assert not fit["at_bound"]
    assert 1 <= fit["iterations"] <= 100
    assert fit["nll_after"] <= fit["nll_before"] + 1e-9
    assert fit["nll_before"] == pytest.approx(reference_nll(z, y, 1.0), abs=TOL)
    assert fit["nll_after"] == pytest.approx(reference_nll(z, y, T), abs=TOL)
    # a stationary point: d NLL / d log T at the fitted T is ~0 relative to its value at T = 1
    g1 = _dnll_dlogt(z, y, 1.0)
    assert abs(g1) > 0.05, "test data should be far from calibrated at T = 1"
    assert abs(_dnll_dlogt(z, y, T)) <= 1e-5 * abs(g1)
    # and the minimum: nudging T either way does not lower the float64 NLL by more than float32 noise
    for t in (T * 0.99, T * 1.01):
        assert reference_nll(z, y, t) >= reference_nll(z, y, T) - 1e-9
    # accuracy is unchanged by T, and the fit improves the NLL substantially here
    assert fit["nll_before"] - fit["nll_after"] > 1e-3


def test_fit_temperature_recovers_scale():
    z, y = _calibrated(20000, 10, seed=3)
    fit = cal.fit_temperature(torch.from_numpy(2 * z), torch.from_numpy(y))
    assert fit["temperature"] == pytest.approx(2.0, rel=0.05)
    fit1 = cal.fit_temperature(z, y)  # calibrated already: T ~ 1, numpy input
    assert fit1["temperature"] == pytest.approx(1.0, rel=0.05)
    assert fit1["nll_after"] <= fit1["nll_before"] + 1e-9


# ---------------------------------------------------------------------------------------------------------------
# reliability_diagram


def test_reliability_diagram(tmp_path):
    z, y = make_data(1000, 10, 3.0, seed=14)
    written = cal.reliability_diagram(torch.from_numpy(z), torch.from_numpy(y), str(tmp_path / "diagram"),
                                      bins=10, title="Test diagram")
    paths = [pathlib.Path(p) for p in written]
    assert sorted(p.name for p in paths) == ["diagram.png", "diagram.svg"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    png = next(p for p in paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 1000  # a drawn figure, not an empty file
    svg = next(p for p in paths if p.suffix == ".svg").read_text(encoding="utf-8")
    assert "<svg" in svg


def test_reliability_diagram_with_suffix(tmp_path):
    z, y = make_data(300, 4, 2.0, seed=15)
    written = cal.reliability_diagram(z, y, str(tmp_path / "rel.png"))
    assert sorted(pathlib.Path(p).name for p in written) == ["rel.png", "rel.svg"]
    assert all(pathlib.Path(p).is_file() for p in written)
