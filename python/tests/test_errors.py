"""Bad inputs raise smoothlab.Error (a ValueError) with a readable message: no C++ backtrace, a `hint` string."""
import numpy as np
import pytest
import torch

import smoothlab
import smoothlab.calibration as cal
import smoothlab.distill as distill
import smoothlab.functional
import smoothlab.nn
import smoothlab.represent as represent

lsce = smoothlab.functional.label_smoothing_cross_entropy


def _logits(n=50, k=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 2, torch.randint(0, k, (n,), generator=g)


def _nan_logits():
    z, y = _logits()
    z[3, 2] = float("nan")
    return z, y


def _inf_logits():
    z, y = _logits()
    z[7, 0] = float("inf")
    return z, y


def _bad_labels(value):
    z, y = _logits()
    y = y.clone()
    y[5] = value
    return z, y


def _templates():
    g = torch.Generator().manual_seed(1)
    return torch.randn(40, 8, generator=g), torch.randint(0, 5, (40,), generator=g), torch.randn(5, 8, generator=g)


def _kd():
    g = torch.Generator().manual_seed(2)
    return torch.randn(8, 5, generator=g), torch.randn(8, 6, generator=g), torch.randint(0, 5, (8,), generator=g)


CASES = {
    # calibration
    "metrics-nan-logits": lambda: cal.metrics(*_nan_logits()),
    "metrics-inf-logits": lambda: cal.metrics(*_inf_logits()),
    "fit-nan-logits": lambda: cal.fit_temperature(*_nan_logits()),
    "metrics-label-too-large": lambda: cal.metrics(*_bad_labels(6)),
    "metrics-label-negative": lambda: cal.metrics(*_bad_labels(-1)),
    "fit-label-too-large": lambda: cal.fit_temperature(*_bad_labels(6)),
    "metrics-count-mismatch": lambda: cal.metrics(_logits()[0], _logits()[1][:-1]),
    "fit-count-mismatch": lambda: cal.fit_temperature(_logits()[0], _logits()[1][:-3]),
    "metrics-1d-logits": lambda: cal.metrics(_logits()[0][:, 0], _logits()[1]),
    "metrics-probabilities": lambda: cal.metrics(torch.softmax(_logits()[0], 1), _logits()[1]),
    "metrics-probabilities-numpy": lambda: cal.metrics(torch.softmax(_logits()[0], 1).numpy(), _logits()[1].numpy()),
    "fit-probabilities": lambda: cal.fit_temperature(torch.softmax(_logits()[0], 1), _logits()[1]),
    "metrics-binning-bogus": lambda: cal.metrics(*_logits(), binning="bogus"),
    "meter-nan-logits": lambda: cal.Meter().update(*_nan_logits()),
    "meter-binning-bogus": lambda: cal.Meter(binning="bogus"),
    # loss
    "loss-label-too-large": lambda: lsce(*_bad_labels(6)),
    "loss-label-negative": lambda: lsce(*_bad_labels(-1)),
    "loss-label-too-large-none": lambda: lsce(*_bad_labels(99), reduction="none"),
    "loss-shape-mismatch": lambda: lsce(_logits()[0], _logits()[1][:-1]),
    "loss-spatial-shape-mismatch": lambda: lsce(torch.randn(2, 3, 4, 5), torch.zeros(2, 4, 6, dtype=torch.long)),
    "loss-reduction-avg": lambda: lsce(*_logits(), reduction="avg"),
    "loss-spread-bogus": lambda: lsce(*_logits(), smoothing=0.1, spread="bogus"),
    "loss-smoothing-out-of-range": lambda: lsce(*_logits(), smoothing=1.5),
    "loss-weight-wrong-length": lambda: lsce(*_logits(), weight=torch.ones(5)),
    "loss-prior-negative": lambda: lsce(*_logits(), smoothing=0.1, prior=torch.tensor([1.0, -1, 1, 1, 1, 1])),
    "loss-others-soft-targets": lambda: lsce(_logits()[0], torch.softmax(_logits()[0], 1), smoothing=0.1,
                                             spread="others"),
    "module-reduction-avg": lambda: smoothlab.nn.LabelSmoothingCrossEntropy(reduction="avg")(*_logits()),
    # distillation
    "kd-class-mismatch": lambda: distill.kd_loss(*_kd()),
    "kd-class-mismatch-hinton": lambda: distill.kd_loss(*_kd(), form="hinton"),
    "kd-form-bogus": lambda: distill.kd_loss(_kd()[0], _kd()[0], _kd()[2], form="bogus"),
    "kd-temperature-zero": lambda: distill.kd_loss(_kd()[0], _kd()[0], _kd()[2], temperature=0.0),
    "gamma-label-out-of-range": lambda: distill.teacher_gamma(*_bad_labels(6)),
    "mi-one-view": lambda: distill.mutual_information(torch.randn(10, 1)),
    "mi-nan": lambda: distill.mutual_information(torch.tensor([[0.0, 1.0], [float("nan"), 2.0]])),
    # representations
    "project-class-out-of-range": lambda: represent.project(*_templates()[:2], _templates()[2], [0, 1, 5]),
    "project-class-negative": lambda: represent.project(*_templates()[:2], _templates()[2], [-1, 1, 2]),
    "project-class-repeated": lambda: represent.project(*_templates()[:2], _templates()[2], [1, 1, 2]),
    "project-feature-mismatch": lambda: represent.project(torch.randn(40, 3), _templates()[1], _templates()[2],
                                                          [0, 1, 2]),
}

# errors whose C++ side attaches a hint: it must reach Python
WITH_HINT = {"loss-label-too-large", "loss-label-negative", "loss-label-too-large-none", "kd-class-mismatch",
             "kd-class-mismatch-hinton"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_smoothlab_error(name):
    with pytest.raises(smoothlab.Error) as info:
        CASES[name]()
    e = info.value
    assert isinstance(e, ValueError)
    message = str(e)
    assert message.strip(), "empty message"
    assert "Exception raised from" not in message and "frame #" not in message, message
    assert isinstance(e.hint, str)
    if name in WITH_HINT:
        assert e.hint.strip(), "the hint was lost on the way to Python"
        assert "Exception raised from" not in e.hint and "frame #" not in e.hint


def test_error_is_valueerror_subclass():
    assert issubclass(smoothlab.Error, ValueError)


def test_messages_name_the_problem():
    with pytest.raises(smoothlab.Error) as info:
        lsce(*_bad_labels(6))
    assert "6" in str(info.value)
    with pytest.raises(smoothlab.Error) as info:
        distill.kd_loss(*_kd())
    assert "5" in str(info.value) and "6" in str(info.value)
    with pytest.raises(smoothlab.Error) as info:
        lsce(*_logits(), reduction="avg")
    assert "avg" in str(info.value) or "avg" in info.value.hint


@pytest.mark.parametrize("call", [
    lambda: cal.metrics(*_logits(), bins=0),
    lambda: cal.Meter(bins=0),
    lambda: cal.reliability_diagram(*_logits(), "unused", bins=0),
], ids=["metrics", "meter", "reliability_diagram"])
def test_bins_checked_by_the_library(call):
    # MeterOptions::validate() in the C++ library, the same check and words as `smoothlab calibrate --bins 0`
    with pytest.raises(smoothlab.Error) as info:
        call()
    assert str(info.value) == "--bins must be at least 1, got 0"


def test_good_inputs_still_work_after_errors():
    # an error leaves no state behind (e.g. in the thread pool or the meter)
    meter = cal.Meter()
    z, y = _logits()
    with pytest.raises(smoothlab.Error):
        meter.update(*_nan_logits())
    meter.update(z, y)
    assert meter.compute()["count"] == len(y)
    assert np.isfinite(float(lsce(z, y, smoothing=0.1)))
