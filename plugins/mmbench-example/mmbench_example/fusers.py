"""Max fusion: project every modality to a common width, keep the element-wise maximum."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench import Fuser


class MaxFusion(Fuser):
    """Element-wise max over per-modality linear projections to ``dim`` features.

    The multimodal counterpart of MVCNN's view pooling (Su, Maji, Kalogerakis & Learned-Miller 2015,
    ICCV). Each output feature comes from whichever modality's projection is largest, so the gradient
    reaches only that modality for that feature. The projections live in an ``nn.ModuleDict`` (a plain
    dict would hide them from the optimiser, ``.to()`` and ``state_dict``) and are visited in sorted
    name order. A missing modality (zero features) still competes through its projection's bias.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64):
        super().__init__()
        if len(in_dims) < 2:  # over one modality it would be a plain linear layer
            raise ValueError(f"max fusion needs at least 2 modalities, got {sorted(in_dims)}")
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in sorted(in_dims.items())})
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        return torch.stack([self.proj[m](features[m]) for m in sorted(features)], dim=0).amax(dim=0)
