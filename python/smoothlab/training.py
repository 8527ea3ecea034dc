"""Training a run folder from Python, through the library path of ``smoothlab train`` and ``smoothlab distill``
(train::open_run → distill::assemble_run → train::train), then evaluating it as ``smoothlab eval`` does."""
import json
import math
import numbers
import os
from typing import Optional

from . import _C


def _plain(key, value):
    """A setting as config.json holds it: paths as strings, numpy scalars as numbers, tuples as lists."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise _C.Error("{}: expected a finite number, got {!r}".format(key, value))
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(key, v) for v in value]
    raise _C.Error("{}: {!r} is not a value config.json can hold (numbers, strings, booleans, lists)".format(
        key, value))


def train(out, *, resume: bool = False, force: bool = False, teacher=None, temperature: float = 1.0,
          form: str = "paper", beta: Optional[float] = None, **config) -> dict:
    """Trains (or resumes) the run folder ``out`` and evaluates it; what ``smoothlab train --out OUT ...`` followed by
    ``smoothlab eval OUT`` do, or ``smoothlab distill`` with ``teacher``.

    Args:
        out: the run folder (created; a folder holding another run is refused unless ``resume`` or ``force``).
        resume: continue the run in ``out`` from its last checkpoint, with its saved configuration (``--resume``).
        force: delete the run in ``out`` and start over (``--force``).
        teacher: a run folder or TorchScript ``.pt`` file: train a student of it ([M] §4), as ``smoothlab distill``;
            ``temperature`` (T), ``form`` (``"paper"`` or ``"hinton"``) and ``beta`` as its ``-T``, ``--form`` and
            ``--beta``.
        **config: config.json's keys, e.g. ``model="mlp"``, ``smoothing=0.1``, ``epochs=1``, ``batch_size=128``,
            ``limit_train=500``, ``seed=0``, ``threads=1``, ``data="fashion-mnist"``, ``augment=False``. Unset keys
            take the program's defaults: ``lr`` the model's at ``batch_size``, ``crop_padding`` the model's.
            ``threads > 0`` sets the threads for the call (restored afterwards); 0 keeps ``torch.get_num_threads()``.

    Returns a dict: ``run_dir``, ``resumed``, ``epochs_done``, ``last_epoch`` (the last line of metrics.jsonl),
    ``eval`` (what eval.json holds: ``val``, ``test``, ``temperature``, ``test_scaled``, ``gamma``), ``distill`` (a
    student's teacher facts, else None) and ``notes`` (the one-line notes the program prints).

    The GIL is released while training. Bad settings raise ``smoothlab.Error`` naming the setting, before anything is
    written.
    """
    if teacher is not None:
        teacher = os.fspath(teacher)
    settings = {key: _plain(key, value) for key, value in config.items()}
    result = _C.train_run_json(os.fspath(out), bool(resume), bool(force), json.dumps(settings), teacher,
                               float(temperature), form, None if beta is None else float(beta))
    return json.loads(result)
