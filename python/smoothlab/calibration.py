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


# ---------------------------------------------------------------------------------------------------------------
# Post-hoc calibrators (issue 28): one interface, as PyTorch users know it.

def _logits_f64(x, name="logits"):
    t = logits_f32(x, name)
    return t.double() if t.dtype.is_floating_point else t


class Calibrator:
    """A post-hoc calibrator: ``fit(logits, labels)`` on held-out logits (returns ``self``; ``fit_report`` says whether
    the solver converged), ``calibrator(logits)`` → calibrated log-probabilities ``[N, K]`` (float64; rows
    log-sum-exp to 0), ``state_dict()`` / ``load_state_dict()`` as JSON-ready dicts (what ``smoothlab calibrate`` saves
    under ``calibrators/``). Subclasses fix the method; options: ``tolerance`` (max |gradient| at which iterative fits
    stop), ``max_iterations``, ``odir_lambda``/``odir_mu`` (matrix, Dirichlet), ``bins`` (histogram)."""

    method = ""

    def __init__(self, tolerance: float = 1e-6, max_iterations: int = 500, odir_lambda: float = 1e-3,
                 odir_mu: float = 1e-3, bins: int = 15):
        self._c = _C.make_calibrator(self.method, float(tolerance), int(max_iterations), float(odir_lambda),
                                     float(odir_mu), int(bins))
        self.fit_report = None

    def fit(self, logits, labels):
        self.fit_report = json.loads(self._c.fit_json(_logits_f64(logits), labels_i64(labels)))
        return self

    def __call__(self, logits):
        return self._c.log_probs(_logits_f64(logits))

    def state_dict(self) -> dict:
        return json.loads(self._c.state_json())

    def load_state_dict(self, state: dict) -> None:
        if state.get("method") != self.method:
            from . import Error
            raise Error(f"load_state_dict: a '{state.get('method')}' calibrator's state, not '{self.method}'")
        self._c = _C.load_calibrator(json.dumps(state), "state_dict")
        self.fit_report = state.get("fit")

    @property
    def classes(self) -> int:
        return self._c.classes


class TemperatureScaling(Calibrator):
    """softmax(z / T) (Guo et al. 2017)."""
    method = "temperature"


class VectorScaling(Calibrator):
    """softmax(a ⊙ z + b) (Guo et al. 2017)."""
    method = "vector"


class MatrixScaling(Calibrator):
    """softmax(W z + b) with ODIR (Kull et al. 2019)."""
    method = "matrix"


class DirichletCalibration(Calibrator):
    """softmax(W log softmax(z) + b) with ODIR λ/(K(K−1))·Σ_{i≠j} W_ij² + μ/K·Σ b_j² (Kull et al. 2019)."""
    method = "dirichlet"


class EnsembleTemperatureScaling(Calibrator):
    """w₀ softmax(z/T) + w₁ softmax(z) + w₂/K (Zhang et al. 2020; the w₂/K term is post-hoc label smoothing)."""
    method = "ets"


class HistogramBinning(Calibrator):
    """Top-label histogram binning with re-normalisation (Gupta & Ramdas 2022)."""
    method = "histogram"


class IsotonicCalibration(Calibrator):
    """Top-label isotonic regression with re-normalisation (scikit-learn's PAV, per predicted class)."""
    method = "isotonic"


class SplineCalibration(Calibrator):
    """Spline recalibration of the top-label confidence (Gupta et al. 2021: a natural cubic spline with 6 knots fitted
    to the cumulative calibration error; its slope corrects each confidence), re-normalised."""
    method = "spline"


CALIBRATORS = {c.method: c for c in (TemperatureScaling, VectorScaling, MatrixScaling, DirichletCalibration,
                                     EnsembleTemperatureScaling, HistogramBinning, IsotonicCalibration,
                                     SplineCalibration)}


def load_calibrator(state: dict) -> Calibrator:
    """The calibrator object of a saved state (``state_dict()`` or a ``calibrators/<method>.json`` file's dict)."""
    cls = CALIBRATORS.get(state.get("method"))
    if cls is None:
        from . import Error
        raise Error(f"load_calibrator: unknown calibrator '{state.get('method')}'", f"known: {', '.join(CALIBRATORS)}")
    c = cls()
    c.load_state_dict(state)
    return c


def compare(fit_logits, fit_labels, eval_logits=None, eval_labels=None, methods="all", folds: int = 5,
            bins: int = 15, bootstrap: int = 1000, seed: int = 0) -> dict:
    """``smoothlab calibrate --methods``: every method fitted on the fit pair (hyper-parameters by ``folds``-fold
    cross-validation there), evaluated on the eval pair, ranked by NLL, with paired bootstrap intervals of
    ΔNLL and ΔBrier against temperature scaling. Returns ``comparison.json``'s dict, plus ``table`` (the printed
    table) and each row's fitted ``state``. ``methods``: ``"all"``, a comma-separated string or a list of names."""
    if not isinstance(methods, str):
        methods = ",".join(methods)
    ev_z = None if eval_logits is None else _logits_f64(eval_logits, "eval_logits")
    ev_y = None if eval_labels is None else labels_i64(eval_labels, "eval_labels")
    return json.loads(_C.compare_json(_logits_f64(fit_logits, "fit_logits"), labels_i64(fit_labels, "fit_labels"),
                                      ev_z, ev_y, methods, int(folds), int(bins), int(bootstrap), int(seed)))


def _metric(key):
    def f(logits, labels, bins: int = 15):
        return metrics(logits, labels, bins)[key]
    f.__name__ = key
    return f


smooth_ece = _metric("smooth_ece")
smooth_ece.__doc__ = "Top-label smooth ECE (Błasiok & Nakkiran 2024), as relplot computes it."
ks_error = _metric("ks_error")
ks_error.__doc__ = "Top-label Kolmogorov–Smirnov calibration error (Gupta et al. 2021)."
debiased_squared_ce = _metric("debiased_squared_ce")
debiased_squared_ce.__doc__ = "Kumar et al.'s (2019) debiased squared calibration error over equal-mass bins."
ace_netcal = _metric("ace_netcal")
ace_netcal.__doc__ = "netcal's bin-averaged 'ACE' (unweighted mean over equal-width bins; not the adaptive ECE)."
aurc = _metric("aurc")
aurc.__doc__ = ("Area under the risk–coverage curve of the top-label confidence, (1/N) Σ_i e_i/i (Geifman et al. "
                "2019); ties in confidence are averaged over their orders.")
e_aurc = _metric("e_aurc")
e_aurc.__doc__ = "AURC minus the exact AURC of the oracle that ranks every correct prediction first."
augrc = _metric("augrc")
augrc.__doc__ = "Area under the generalised risk–coverage curve, (1/N) Σ_i e_i/N (Traub et al. 2024)."
classwise_smooth_ece = _metric("classwise_smooth_ece")
classwise_smooth_ece.__doc__ = "Mean over classes k of the smooth ECE of (p_ik, [y_i = k]) (NaN beyond 100 classes)."
classwise_ks_error = _metric("classwise_ks_error")
classwise_ks_error.__doc__ = "Mean over classes k of the KS calibration error of (p_ik, [y_i = k])."
classwise_debiased_l2_ce = _metric("classwise_debiased_l2_ce")
classwise_debiased_l2_ce.__doc__ = ("Kumar et al.'s marginal debiased L2 calibration error: sqrt(mean_k max(debiased "
                                    "squared error of class k, 0)) (their get_calibration_error(mode='marginal')).")
