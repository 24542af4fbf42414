"""Gated attention over modalities, after the Gated Multimodal Unit (Arevalo et al. 2017, ICLR workshop)."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class GatedFuser(Fuser):
    """Gated Multimodal Unit (Arevalo et al. 2017): ``h = sum_m g_m * tanh(W_m x_m)``.

    The gates ``g = softmax(W_g [x_1; ...; x_M])`` are computed per example from all features
    (the paper's multi-modality form; its bimodal sigmoid gate is the ``M = 2`` special case).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64):
        super().__init__()
        dims = dict(sorted(in_dims.items()))
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in dims.items()})
        self.gate = nn.Linear(sum(dims.values()), len(dims))
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        names = sorted(features)
        gates = torch.softmax(self.gate(torch.cat([features[m] for m in names], dim=-1)), dim=-1)  # [B, M]
        hidden = torch.stack([torch.tanh(self.proj[m](features[m])) for m in names], dim=1)  # [B, M, D]
        return (gates.unsqueeze(-1) * hidden).sum(dim=1)
