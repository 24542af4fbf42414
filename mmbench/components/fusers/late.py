"""Late fusion: one head per modality, predictions combined by a (weighted) mean."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class LateFuser(Fuser):
    """Late fusion: the model puts one head per modality and task, and ``combine`` merges their outputs.

    ``weights="mean"`` averages the per-modality predictions (logits for classification, values for
    regression); ``weights="learned"`` uses softmax weights over modalities from one learnable logit
    each. Either way the weights are renormalised over the modalities present, so a missing
    modality is simply left out. ``out_dim`` is 0: this fuser produces no fused representation.
    """

    late = True

    def __init__(self, in_dims: Mapping[str, int], weights: str = "mean"):
        super().__init__()
        if weights not in ("mean", "learned"):
            raise ValueError(f"weights must be 'mean' or 'learned', got {weights!r}")
        self.in_dims = dict(sorted(in_dims.items()))
        self.modalities = list(self.in_dims)
        self.out_dim = 0
        self.weights = weights
        if weights == "learned":
            self.logits = nn.Parameter(torch.zeros(len(self.modalities)))

    def modality_weights(self, present: list[str]) -> Tensor | None:
        """Softmax weights over the ``present`` modalities (``None`` for a plain mean)."""
        if self.weights == "mean":
            return None
        unknown = [m for m in present if m not in self.in_dims]
        if unknown:
            raise KeyError(f"late fusion built for {self.modalities} got unknown modalities {unknown}")
        index = torch.tensor([self.modalities.index(m) for m in present], device=self.logits.device)
        return torch.softmax(self.logits[index], dim=0)

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        raise RuntimeError("late fusion has no fused representation: put one head per modality and call combine()")

    def combine(self, predictions: Mapping[str, Tensor]) -> Tensor:
        present = sorted(predictions)
        if not present:
            raise ValueError("combine needs at least one modality's predictions")
        stacked = torch.stack([predictions[m] for m in present], dim=0)  # [M, B, C]
        weights = self.modality_weights(present)
        if weights is None:
            return stacked.mean(dim=0)
        return torch.einsum("m,m...->...", weights.to(stacked.dtype), stacked)


class LateWeightedFuser(LateFuser):
    """Late fusion with learned softmax weights over modalities, renormalised over those present."""

    def __init__(self, in_dims: Mapping[str, int]):
        super().__init__(in_dims, weights="learned")
