"""Functional form of the label-smoothed cross-entropy (``torch.nn.functional`` style)."""
from typing import Optional

import torch

from . import _C


def label_smoothing_cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None,
                                  ignore_index: int = -100, reduction: str = "mean", smoothing: float = 0.0,
                                  spread: str = "all", prior: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cross-entropy against label-smoothed targets, on smoothlab's fused kernel.

    With ``spread="all"`` and no ``prior`` it equals ``torch.nn.functional.cross_entropy(input, target, weight=weight,
    ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)`` in value and gradient, for class-index
    targets (int64 ``[N]`` or ``[N, d1, ...]``) and probability targets (``input``'s shape), float32 and float64:

        q = (1 − ε)·onehot(y) + ε/K,   loss_i = −Σ_k w_k·q_k·log softmax(x_i)_k

    Args:
        input: logits ``[N, C]`` or ``[N, C, d1, ...]`` (class dimension 1), on the CPU or (CUDA builds) a GPU.
        target: int64 class indices, or float probabilities of ``input``'s shape.
        weight: optional ``[C]`` class weights; ``mean`` divides by Σ w_y over non-ignored samples, as PyTorch does.
        ignore_index: class-index targets equal to it contribute 0 (and are not counted by ``mean``).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        smoothing: ε in [0, 1].
        spread: ``"all"`` (ε/K over all classes, PyTorch's and the paper's convention) or ``"others"`` (ε/(K − 1)
            over the wrong classes only: the true class keeps exactly 1 − ε; class-index targets only).
        prior: optional ``[C]`` smoothing distribution (normalised here): q = (1 − ε)·onehot(y) + ε·π.

    Gradients flow to ``input`` and to probability targets. Raises ``smoothlab.Error`` on bad shapes, dtypes, target
    values outside [0, C) and unknown options.
    """
    return _C.label_smoothing_cross_entropy(input, target, weight, ignore_index, reduction, float(smoothing), spread,
                                            prior)
