"""``torch.nn`` modules."""
from typing import Optional

import torch

from . import functional


class LabelSmoothingCrossEntropy(torch.nn.Module):
    """``torch.nn.CrossEntropyLoss(label_smoothing=smoothing)`` on smoothlab's fused kernel, plus ``spread`` and
    ``prior`` (see ``smoothlab.functional.label_smoothing_cross_entropy``)."""

    def __init__(self, smoothing: float = 0.0, weight: Optional[torch.Tensor] = None, ignore_index: int = -100,
                 reduction: str = "mean", spread: str = "all", prior: Optional[torch.Tensor] = None):
        super().__init__()
        self.smoothing = float(smoothing)
        self.ignore_index = int(ignore_index)
        self.reduction = reduction
        self.spread = spread
        self.register_buffer("weight", weight)
        self.register_buffer("prior", prior)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return functional.label_smoothing_cross_entropy(input, target, self.weight, self.ignore_index,
                                                        self.reduction, self.smoothing, self.spread, self.prior)

    def extra_repr(self) -> str:
        return f"smoothing={self.smoothing}, reduction={self.reduction!r}, spread={self.spread!r}"
