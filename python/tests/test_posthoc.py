"""Post-hoc calibrators, the new estimators and compare() from Python (issue 28, item 4): each calibrator against an
independent numpy computation of its own formula, state_dict round trips, refusal of bad input, and the comparison's
ranking and intervals."""
import numpy as np
import pytest
import torch

import smoothlab
import smoothlab.calibration as cal


def source(n, k, seed, scale=2.0, shift=None):
    """Logits z and labels drawn from softmax(0.5·z + shift): over-confident, with an optional class bias."""
    rs = np.random.RandomState(seed)
    z = rs.randn(n, k) * scale
    s = 0.5 * z + (0 if shift is None else np.asarray(shift))
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) < rs.rand(n, 1)).sum(1).clip(0, k - 1)
    return z, y


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


@pytest.mark.parametrize("cls", list(cal.CALIBRATORS.values()))
def test_every_calibrator_fits_applies_and_round_trips(cls):
    z, y = source(1500, 5, 1)
    c = cls().fit(z, y)
    assert c.fit_report["converged"]
    assert c.fit_report["count"] == 1500
    out = c(z[:100])
    assert out.shape == (100, 5) and out.dtype == torch.float64
    np.testing.assert_allclose(torch.logsumexp(out, 1).numpy(), 0, atol=1e-12)
    again = cal.load_calibrator(c.state_dict())
    assert isinstance(again, cls)
    assert torch.equal(again(z[:100]), out)


def test_formulas_against_numpy():
    z, y = source(2000, 4, 2)
    ts = cal.TemperatureScaling().fit(z, y)
    t = ts.state_dict()["parameters"]["temperature"]
    np.testing.assert_allclose(ts(z).numpy(), log_softmax(z / t), atol=1e-12)
    vs = cal.VectorScaling().fit(z, y)
    p = vs.state_dict()["parameters"]
    np.testing.assert_allclose(vs(z).numpy(), log_softmax(z * np.array(p["scale"]) + np.array(p["bias"])), atol=1e-12)
    d = cal.DirichletCalibration().fit(z, y)
    p = d.state_dict()["parameters"]
    w, b = np.array(p["weight"]).reshape(4, 4), np.array(p["bias"])
    np.testing.assert_allclose(d(z).numpy(), log_softmax(log_softmax(z) @ w.T + b), atol=1e-12)
    e = cal.EnsembleTemperatureScaling().fit(z, y)
    p = e.state_dict()["parameters"]
    w0, w1, w2 = p["weights"]
    q = w0 * np.exp(log_softmax(z / p["temperature"])) + w1 * np.exp(log_softmax(z)) + w2 / 4
    np.testing.assert_allclose(e(z).numpy(), np.log(q), atol=1e-12)
    # NLL never worse than TS for the methods that start from it (the TS point is in their family).
    nll = lambda lp: float(-lp[np.arange(len(y)), y].mean())  # noqa: E731
    for c in (vs, d, e):
        assert nll(c(z).numpy()) <= nll(ts(z).numpy()) + 1e-9


def test_isotonic_is_monotone_in_confidence():
    z, y = source(4000, 3, 3)
    iso = cal.IsotonicCalibration().fit(z, y)
    probe = np.stack([np.zeros(200), np.zeros(200), np.linspace(0.01, 6, 200)], 1)  # all predicted class 2
    conf = iso(probe).exp()[:, 2].numpy()  # the top label's calibrated probability (not the row max)
    assert np.all(np.diff(conf) >= -1e-15)


def test_new_metrics_in_the_meter_and_as_functions():
    z, y = source(3000, 10, 4)
    m = cal.metrics(z, y)
    for key in ("smooth_ece", "smooth_ece_bandwidth", "ks_error", "debiased_squared_ce", "debiased_l2_ce",
                "ace_netcal"):
        assert key in m
    assert cal.smooth_ece(z, y) == m["smooth_ece"]
    assert cal.ks_error(z, y) == m["ks_error"]
    # KS from its definition: max |cumsum(conf − correct)| / n over the confidence order.
    p = np.exp(log_softmax(z))
    conf, correct = p.max(1), (p.argmax(1) == y)
    order = np.argsort(conf, kind="stable")
    ks = np.abs(np.cumsum(conf[order] - correct[order])).max() / len(y)
    assert m["ks_error"] == pytest.approx(ks, abs=1e-6)  # the meter's confidences are float32
    meter = cal.Meter()
    meter.update(z, y)
    assert meter.compute()["smooth_ece"] == m["smooth_ece"]
    # Class-wise KS from its definition: the mean over classes of the KS error of (p_ik, [y_i = k]).
    per_class = []
    for k in range(10):
        order = np.argsort(p[:, k], kind="stable")
        per_class.append(np.abs(np.cumsum(p[order, k] - (y[order] == k))).max() / len(y))
    assert cal.classwise_ks_error(z, y) == pytest.approx(np.mean(per_class), abs=1e-6)
    assert 0 < m["classwise_smooth_ece"] < 1 and m["classwise_debiased_l2_ce"] >= 0


def _aurc_by_definition(conf, correct):
    """AURC, E-AURC and AUGRC summed position by position: e_i the errors among the i most confident, each tie block's
    e_i replaced by its mean over the block's orders (errors spread evenly over the block)."""
    n, errors = len(conf), int((~correct).sum())
    e = np.empty(n)
    done = 0
    for value in np.unique(conf)[::-1]:
        block = conf == value
        m, wrong = int(block.sum()), float((~correct[block]).sum())
        e[done:done + m] = (e[done - 1] if done else 0.0) + wrong * np.arange(1, m + 1) / m
        done += m
    i = np.arange(1, n + 1)
    aurc = float(np.mean(e / i))
    oracle = float(np.mean(np.maximum(i - (n - errors), 0) / i))
    return aurc, aurc - oracle, float(np.sum(e) / n / n)


def test_selective_metrics_against_their_definitions():
    # No ties: random logits (the meter's float32 confidences may order near-equal pairs differently: ~1e-7).
    z, y = source(3000, 10, 5)
    p = np.exp(log_softmax(z))
    m = cal.metrics(z, y)
    aurc, e_aurc, augrc = _aurc_by_definition(p.max(1), p.argmax(1) == y)
    assert m["aurc"] == pytest.approx(aurc, abs=1e-6)
    assert m["e_aurc"] == pytest.approx(e_aurc, abs=1e-6)
    assert m["augrc"] == pytest.approx(augrc, abs=1e-6)
    assert cal.aurc(z, y) == m["aurc"] and cal.e_aurc(z, y) == m["e_aurc"] and cal.augrc(z, y) == m["augrc"]
    # Many ties: rows (a, 0, 0, 0, 0) with a one of 9 levels, so that the confidence e^a/(e^a + 4) is the same in both
    # codes exactly when a is, whatever the rounding (the top class stays in one place: the float32 sum's order too).
    rng = np.random.RandomState(6)
    zt = np.zeros((2000, 5), np.float32)
    zt[:, 0] = rng.randint(0, 9, size=2000) / 2
    yt = np.where(rng.uniform(size=2000) < 0.6, 0, rng.randint(1, 5, size=2000))
    pt = np.exp(log_softmax(zt.astype(np.float64)))
    aurc, e_aurc, augrc = _aurc_by_definition(pt.max(1), pt.argmax(1) == yt)
    mt = cal.metrics(zt, yt)
    assert mt["aurc"] == pytest.approx(aurc, abs=1e-12)
    assert mt["e_aurc"] == pytest.approx(e_aurc, abs=1e-12)
    assert mt["augrc"] == pytest.approx(augrc, abs=1e-12)
    # ... and do not depend on the input order.
    perm = rng.permutation(2000)
    assert cal.aurc(zt[perm], yt[perm]) == pytest.approx(mt["aurc"], abs=1e-14)


def test_compare_ranks_and_reports_intervals():
    shift = [0.8, 0, -0.4, 0]
    zf, yf = source(2000, 4, 5, shift=shift)
    ze, ye = source(1500, 4, 6, shift=shift)
    r = cal.compare(zf, yf, ze, ye, methods=["vector", "dirichlet", "isotonic"], folds=3, bootstrap=200)
    names = [row["method"] for row in r["ranking"]]
    assert sorted(names) == ["dirichlet", "isotonic", "temperature", "vector"]  # TS added as the reference
    nlls = [row["metrics"]["nll"] for row in r["ranking"]]
    assert nlls == sorted(nlls)
    for row in r["ranking"]:
        d = row["nll_vs_temperature"]
        if row["method"] != "temperature":
            assert d["low"] <= d["estimate"] <= d["high"]
            assert d["verdict"] in ("better", "worse", "inconclusive")
        # The saved state applies to the same numbers.
        again = cal.load_calibrator(row["state"])
        lp = again(ze).numpy()
        assert float(-lp[np.arange(len(ye)), ye].mean()) == pytest.approx(row["metrics"]["nll"], abs=1e-5)
    assert "temperature" in r["table"]
    # Every method is cross-validated on the fit split (the study chooses among them by it); a tuned method's CV NLL is
    # its chosen candidate's.
    for row in r["ranking"]:
        assert np.isfinite(row["cv_nll"])
        if row["method"] == "dirichlet":
            assert row["cv_nll"] == min(c["cv_nll"] for c in row["cross_validation"]["candidates"])


def ts_fit_nll(z, y, zt, yt):
    """Temperature scaling by Newton's method on beta = 1/T (the NLL is convex in beta); held-out NLL at the fit."""
    beta = 1.0
    for _ in range(100):
        lp = log_softmax(beta * z)
        p = np.exp(lp)
        ez = (p * z).sum(1)
        g = float((ez - z[np.arange(len(y)), y]).mean())
        h = float(((p * z * z).sum(1) - ez**2).mean())
        beta -= g / h
        if abs(g) < 1e-13:
            break
    return float(-log_softmax(beta * zt)[np.arange(len(yt)), yt].sum())


def test_cross_validated_nll_is_leave_one_out_with_as_many_folds_as_examples():
    z, y = source(40, 3, 9)
    r = cal.compare(z, y, z, y, methods=["temperature"], folds=40, bootstrap=0)
    loo = sum(ts_fit_nll(np.delete(z, i, 0), np.delete(y, i), z[i:i + 1], y[i:i + 1]) for i in range(40)) / 40
    assert r["ranking"][0]["cv_nll"] == pytest.approx(loo, abs=1e-8)


def test_bad_input_is_refused():
    z, y = source(100, 3, 7)
    with pytest.raises(smoothlab.Error, match="apply before fit"):
        cal.VectorScaling()(z)
    with pytest.raises(smoothlab.Error, match="K = 1"):
        cal.VectorScaling().fit(z[:, :1], np.zeros(100, dtype=np.int64))
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(smoothlab.Error, match="NaN"):
        cal.DirichletCalibration().fit(bad, y)
    with pytest.raises(smoothlab.Error, match="out of range"):
        cal.IsotonicCalibration().fit(z, np.full(100, 3))
    c = cal.TemperatureScaling().fit(z, y)
    with pytest.raises(smoothlab.Error, match="3 classes"):
        c(np.random.randn(5, 4))
    with pytest.raises(smoothlab.Error, match="not 'vector'"):
        cal.VectorScaling().load_state_dict(c.state_dict())
    with pytest.raises(smoothlab.Error, match="exceeds the 3 fit examples"):
        cal.compare(z[:3], y[:3], folds=5)
    with pytest.raises(smoothlab.Error, match="unknown calibrator 'platt'"):
        cal.compare(z, y, methods="platt")
