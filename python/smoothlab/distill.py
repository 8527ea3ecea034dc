"""Distillation ([M] §4; Hinton et al. 2015): the KD loss in both forms, the teacher's equivalent smoothing γ and the
mutual-information estimate of Fig. 6."""
import json
from typing import Optional

import torch

from . import _C
from ._tensors import as_tensor, labels_i64, logits_f32


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: Optional[torch.Tensor] = None,
            temperature: float = 1.0, beta: Optional[float] = None, form: str = "paper", smoothing: float = 0.0,
            reduction: str = "mean") -> torch.Tensor:
    """The distillation loss; gradients flow to the student only.

    ``form="paper"`` ([M] §4, the default): β = 1, loss = H(softmax(z_t/T), softmax(z_s)) (student at temperature 1,
    no T²). ``form="hinton"``: β = 0.5 unless given, loss = (1 − β)·CE_ε(y, z_s) + β·T²·KL(softmax(z_t/T) ‖
    softmax(z_s/T)). ``mean`` divides by N (KL's ``batchmean``), not by N·K. ``labels`` are needed when β < 1.
    """
    target = labels_i64(labels).to(student_logits.device) if labels is not None else None
    return _C.kd_loss(student_logits, teacher_logits, target, float(temperature),
                      None if beta is None else float(beta), form, float(smoothing), reduction)


def teacher_gamma(logits, labels, temperature: float = 1.0) -> float:
    """The equivalent smoothing γ of a teacher: E_x[1 − softmax(z/T)_y]·K/(K − 1), the ε of a label-smoothed target
    with the same mass on wrong classes ([M] Fig. 5's x axis)."""
    return float(_C.teacher_gamma(logits_f32(logits), labels_i64(labels), float(temperature)))


def mutual_information(gaps) -> dict:
    """Î(X; Y) between examples and the logit gap z_a − z_b over augmented views ([M] §4, Fig. 6).

    Args:
        gaps: ``[N, L]``: for each of N examples, the gap under L views.

    Returns ``mi`` (in [0, log N]), ``mi_raw``, ``log_n``, ``sigma2``, ``between_variance``, ``examples``, ``views``.
    """
    t = as_tensor(gaps, "gaps").detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return json.loads(_C.mutual_information_json(t))
