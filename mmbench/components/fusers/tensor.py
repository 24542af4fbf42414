"""Tensor Fusion (Zadeh et al. 2017, EMNLP) and Low-rank Multimodal Fusion (Liu et al. 2018, ACL)."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


def with_one(x: Tensor) -> Tensor:
    """``[1; x]``: prepend a constant 1 so the products keep every lower-order interaction."""
    return torch.cat([x.new_ones(x.shape[0], 1), x], dim=-1)


def tensor_fusion_width(widths: list[int]) -> int:
    """Width of the flattened outer product of ``[1; z_m]`` vectors: ``prod(d_m + 1)``."""
    return math.prod(w + 1 for w in widths)


class TensorFusion(Fuser):
    """Tensor Fusion Network layer (Zadeh et al. 2017, EMNLP): flattened outer product of ``[1; z_m]``.

    Each modality is first projected (bias-free) to ``pre_dim`` so three modalities stay tractable
    (``pre_dim=None`` uses the raw features); the ``prod(pre_dim + 1)``-wide tensor then goes through a
    linear layer to ``dim`` (``dim=None`` returns the flattened tensor itself).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int | None = 64, pre_dim: int | None = 8):
        super().__init__()
        dims = dict(sorted(in_dims.items()))
        self.pre = nn.ModuleDict({m: nn.Linear(d, pre_dim, bias=False) for m, d in dims.items()} if pre_dim else {})
        self.tensor_dim = tensor_fusion_width([pre_dim or d for d in dims.values()])
        self.out = nn.Linear(self.tensor_dim, dim) if dim is not None else nn.Identity()
        self.out_dim = dim if dim is not None else self.tensor_dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        fused: Tensor | None = None
        for m in sorted(features):
            z = with_one(self.pre[m](features[m]) if m in self.pre else features[m])
            fused = z if fused is None else (fused.unsqueeze(-1) * z.unsqueeze(1)).flatten(1)
        assert fused is not None
        return self.out(fused)


class LowRankTensorFusion(Fuser):
    """Low-rank Multimodal Fusion (Liu et al. 2018, ACL): TFN's weight tensor in rank-``rank`` factors.

    ``h = sum_r w_r * prod_m (W_m^(r) [1; x_m]) + b``, with one registered factor ``[rank, d_m + 1, dim]``
    per modality (``factors``, an ``nn.ParameterDict``), initialised as in the authors' code.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, rank: int = 4):
        super().__init__()
        if rank < 1:
            raise ValueError(f"rank must be positive, got {rank}")
        self.rank = rank
        self.factors = nn.ParameterDict(
            {m: nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, d + 1, dim))) for m, d in sorted(in_dims.items())}
        )
        self.fusion_weights = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, rank)))
        self.fusion_bias = nn.Parameter(torch.zeros(1, dim))
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        product: Tensor | None = None
        for m in sorted(features):
            f = torch.matmul(with_one(features[m]), self.factors[m])  # [rank, B, dim]
            product = f if product is None else product * f
        assert product is not None
        return torch.matmul(self.fusion_weights, product.permute(1, 0, 2)).squeeze(1) + self.fusion_bias
