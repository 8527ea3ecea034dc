"""The representation picture of [M] §2 (Fig. 1): penultimate activations on the plane of three class templates."""
import json

from . import _C
from ._tensors import as_tensor, labels_i64


def project(features, labels, templates, classes) -> dict:
    """Projects the examples of three classes onto the plane through their templates.

    Frame: origin o = the three templates' centroid, e1 = (w_b − w_a)/‖w_b − w_a‖, e2 = (w_c − w_a) made orthogonal
    to e1 (so w_c lies at y > 0); coordinates p(x) = [(x − o)·e1, (x − o)·e2], all in float64.

    Args:
        features: ``[N, D]`` penultimate activations.
        labels: ``[N]`` integer labels; only the points of the three classes are projected.
        templates: the last layer's weight ``[K, D]``, or weight with the bias appended ``[K, D + 1]`` (the features
            then get a column of ones, so logits are exactly x·w_k).
        classes: three class indices (a, b, c).

    Returns a dict: ``coords`` (float64 ``[M, 2]``, the kept points in input order), ``labels`` (``[M]``),
    ``vertices`` (float64 ``[3, 2]``, the templates' positions) and ``stats`` (per-class spread, centroid distances,
    ``tightness_plane``, ``tightness_full``, ``regularity``, …, as ``smoothlab project`` writes them).
    """
    coords, kept, vertices, stats = _C.project(as_tensor(features, "features").detach().cpu(), labels_i64(labels),
                                               as_tensor(templates, "templates").detach().cpu(),
                                               [int(c) for c in classes])
    return {"coords": coords, "labels": kept, "vertices": vertices, "stats": json.loads(stats)}
