"""A small Transformer over one token per modality (in the spirit of multimodal bottleneck/MulT fusion)."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class TransformerFuser(Fuser):
    """One token per modality (linear projection + learned modality embedding) through a small
    ``nn.TransformerEncoder`` (Vaswani et al. 2017, NeurIPS), pooled by the mean of the tokens or a
    learned CLS token (``pool="cls"``). ``dropout`` defaults to 0, so training-mode outputs are
    deterministic too; eval mode always is.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, heads: int = 4, layers: int = 1,
                 ff_mult: int = 2, dropout: float = 0.0, pool: str = "mean"):
        super().__init__()
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        dims = dict(sorted(in_dims.items()))
        self.modalities = list(dims)
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in dims.items()})
        self.modality_embedding = nn.Parameter(torch.randn(len(dims), dim) * 0.02)
        self.pool = pool
        if pool == "cls":
            self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff_mult * dim, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        index = [self.modalities.index(m) for m in sorted(features)]
        tokens = torch.stack([self.proj[m](features[m]) for m in sorted(features)], dim=1)
        tokens = tokens + self.modality_embedding[index]
        if self.pool == "cls":
            tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        encoded = self.encoder(tokens)
        return encoded[:, 0] if self.pool == "cls" else encoded.mean(dim=1)
