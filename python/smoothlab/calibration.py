"""Calibration of any model's logits ([M] §3; Guo et al. 2017): the ECE family, temperature scaling, reliability
diagrams, and a streaming meter for validation loops. Logits may be torch tensors or numpy arrays, of any float dtype
(float16/bfloat16 are computed in float32); labels are integers."""
import json
import os

from . import _C
from ._tensors import labels_i64, logits_f32


def metrics(logits, labels, bins: int = 15, binning: str = "equal-width") -> dict:
    """Every metric ``smoothlab calibrate`` reports, for softmax(logits):

    ``count``, ``classes``, ``accuracy``, ``nll``, ``brier`` (multi-class, in [0, 2]), ``mean_confidence``, ``ece``,
    ``mce``, ``rms_ce`` (under ``binning``), ``ece_equal_width``, ``ece_equal_mass``, ``classwise_ece`` (Kull et al.),
    ``bins``, ``binning``, ``temperature`` (1), ``reliability`` (per bin: ``lower``, ``upper``, ``count``,
    ``confidence``, ``accuracy``).

    Args:
        logits: ``[N, K]`` (not probabilities: rows in [0, 1] that sum to 1 are refused).
        labels: ``[N]`` integers in [0, K).
        bins: number of confidence bins (15, as Guo et al.).
        binning: ``"equal-width"`` or ``"equal-mass"``.
    """
    return json.loads(_C.metrics_json(logits_f32(logits), labels_i64(labels), int(bins), binning))


def fit_temperature(logits, labels) -> dict:
    """The temperature T > 0 minimising the NLL of softmax(logits / T) (fit it on validation logits, never test).

    Returns ``temperature``, ``nll_before`` (T = 1), ``nll_after``, ``iterations``, ``converged``, ``at_bound`` and
    ``count``. The NLL is convex in 1/T; the solver is a safeguarded Newton method (it never returns T ≤ 0).
    """
    return json.loads(_C.fit_temperature_json(logits_f32(logits), labels_i64(labels)))


def reliability_diagram(logits, labels, path, bins: int = 15, binning: str = "equal-width",
                        title: str = "Reliability", label: str = "model") -> list:
    """Writes a reliability diagram (accuracy per confidence bin over the diagonal, with the per-bin count histogram
    underneath) as ``<path>.png`` and ``<path>.svg`` (a ``.png``/``.svg`` suffix on ``path`` is dropped); returns the
    paths written."""
    stem = os.fspath(path)
    root, ext = os.path.splitext(stem)
    if ext.lower() in (".png", ".svg"):
        stem = root
    return _C.reliability_diagram(logits_f32(logits), labels_i64(labels), stem, int(bins), binning, title, label)


class Meter:
    """Streaming calibration metrics (the torchmetrics habit): ``update(logits, labels)`` per batch, ``compute()``
    for the dict ``metrics()`` returns over everything seen, ``reset()`` to start over."""

    def __init__(self, bins: int = 15, binning: str = "equal-width"):
        self._meter = _C.Meter(int(bins), binning)

    def update(self, logits, labels) -> None:
        self._meter.add(logits_f32(logits), labels_i64(labels))

    def compute(self) -> dict:
        return json.loads(self._meter.value_json())

    def reset(self) -> None:
        self._meter.reset()
