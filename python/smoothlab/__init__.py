"""smoothlab: label smoothing, calibration, the representation picture and distillation, on the torch you run.

The Python face of the smoothlab C++ library (Müller, Kornblith & Hinton, "When Does Label Smoothing Help?",
NeurIPS 2019):

- ``smoothlab.nn.LabelSmoothingCrossEntropy`` / ``smoothlab.functional.label_smoothing_cross_entropy``: a drop-in for
  ``torch.nn.functional.cross_entropy(..., label_smoothing=ε)`` on smoothlab's fused kernel (also
  ``torch.ops.smoothlab.label_smoothing_cross_entropy`` for TorchScript);
- ``smoothlab.calibration``: ``metrics``, ``fit_temperature``, ``reliability_diagram`` and a streaming ``Meter``;
- ``smoothlab.represent.project``: penultimate activations on the plane of three class templates (§2);
- ``smoothlab.distill``: ``kd_loss``, ``teacher_gamma`` (the equivalent smoothing γ), ``mutual_information`` (§4);
- ``smoothlab.train(out, **config)``: a run folder trained and evaluated as ``smoothlab train`` (or, with
  ``teacher=``, ``smoothlab distill``) and ``smoothlab eval`` make it.

Every bad input raises ``smoothlab.Error`` (a ``ValueError``) with the library's message and, in ``.hint``, what to do.
"""
import re as _re

import torch as _torch

from . import _build


def _release(version):
    """(major, minor, patch) of a version string such as '1.13.0a0+git' or '2.1.2+cu121'."""
    numbers = _re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return tuple(int(n or 0) for n in numbers.groups()) if numbers else (version,)


if _release(_torch.__version__) != _release(_build.torch_version):
    raise ImportError(
        f"smoothlab was built against torch {_build.torch_version} but this interpreter imports torch "
        f"{_torch.__version__} (from {_torch.__file__}); rebuild smoothlab against this torch "
        f"(cmake -DTorch_DIR=<that torch>/share/cmake/Torch) or run the interpreter it was built for")

from . import _C  # noqa: E402  (after the version check: a mismatched torch fails there, not with a symbol error)

Error = _C.Error
Error.__module__ = "smoothlab"
Error.hint = ""  # instances raised by the library set their own
__version__ = _build.version

from . import calibration, distill, functional, nn, represent, training  # noqa: E402,F401
from .training import train  # noqa: E402

__all__ = ["Error", "calibration", "distill", "functional", "nn", "represent", "train", "training", "__version__"]
