"""Cross-modal attention between modality tokens, after MulT (Tsai et al. 2019, ACL)."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.aligners.projection import Projections
from mmbench.components.base import Aligner, AlignerOutput


class CrossAttentionAligner(Aligner):
    """Each modality's projected feature attends to the other modalities' (Tsai et al. 2019, ACL).

    Every modality is projected to one ``dim``-wide token; modality ``m`` then queries the tokens of
    all other modalities with its own ``nn.MultiheadAttention`` (MulT keeps one cross-modal block per
    target modality), followed by a residual connection and LayerNorm. MulT attends over token
    sequences; here each modality is a single token, so with two modalities the attention weights are
    trivially 1 and the block reduces to a learned cross-modal map. No alignment loss.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, heads: int = 4, dropout: float = 0.0,
                 hidden: int | None = None):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.projections = Projections(in_dims, dim, hidden)
        names = sorted(in_dims)
        self.attention = nn.ModuleDict({m: nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
                                        for m in names})
        self.norm = nn.ModuleDict({m: nn.LayerNorm(dim) for m in names})
        self.out_dims = {m: dim for m in names}

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        z = self.projections(features)
        names = sorted(z)
        out = {}
        for m in names:
            query = z[m].unsqueeze(1)  # [B, 1, D]
            others = torch.stack([z[n] for n in names if n != m], dim=1)  # [B, M-1, D]
            attended, _ = self.attention[m](query, others, others, need_weights=False)
            out[m] = self.norm[m](z[m] + attended.squeeze(1))
        return AlignerOutput(out)
