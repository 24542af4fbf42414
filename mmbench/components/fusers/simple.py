"""Early fusion by concatenation, and the mean / sum of per-modality projections."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class ConcatFuser(Fuser):
    """Early fusion: concatenate the features in sorted modality order (``out_dim = sum of widths``)."""

    def __init__(self, in_dims: Mapping[str, int]):
        super().__init__()
        self.in_dims = dict(sorted(in_dims.items()))
        self.out_dim = sum(self.in_dims.values())

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        return torch.cat([features[m] for m in sorted(features)], dim=-1)


class MeanFuser(Fuser):
    """Mean of per-modality linear projections to a common ``dim``."""

    reduction: str = "mean"

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64):
        super().__init__()
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in sorted(in_dims.items())})
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        stacked = torch.stack([self.proj[m](features[m]) for m in sorted(features)], dim=0)
        return stacked.mean(dim=0) if self.reduction == "mean" else stacked.sum(dim=0)


class SumFuser(MeanFuser):
    """Sum of per-modality linear projections to a common ``dim``."""

    reduction = "sum"
