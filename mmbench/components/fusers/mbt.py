"""Attention bottlenecks for fusion (MBT; Nagrani et al. 2021, NeurIPS), adapted to feature vectors."""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class MBTFuser(Fuser):
    """Multimodal Bottleneck Transformer (Nagrani et al. 2021, "Attention Bottlenecks for Multimodal Fusion").

    MBT runs one Transformer stream per modality (own weights) and lets the streams exchange information
    only through ``n_bottlenecks`` shared bottleneck tokens. Adapted to feature vectors ``[B, D_m]``:

    - each modality's vector is linearly projected into ``tokens`` tokens of width ``dim``, preceded by
      that modality's learned CLS token, plus learned position embeddings (the paper's patch / spectrogram
      tokens and per-modality CLS);
    - layers ``0 .. fusion_layer - 1`` are unimodal (each stream attends to itself only); from layer
      ``fusion_layer`` on, each stream attends over ``[its tokens; bottlenecks]`` and the bottleneck
      tokens are then updated to their mean over the modalities' streams, as in the paper;
    - the output is the mean of the modalities' final (layer-normalised) CLS tokens. The paper averages
      the logits of one shared linear classifier on the CLS tokens, which equals a linear head on this
      mean; here the multitask architecture sits between fuser and heads.

    Pre-norm layers as in ViT, the paper's backbone. ``dropout`` defaults to 0, so training-mode outputs
    are deterministic too; eval mode always is. Modalities need no common width (each is projected).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, tokens: int = 4, n_bottlenecks: int = 4,
                 layers: int = 2, fusion_layer: int = 1, heads: int = 4, ff_mult: int = 2, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        if tokens < 1 or n_bottlenecks < 1:
            raise ValueError(f"tokens and n_bottlenecks must be positive, got {tokens} and {n_bottlenecks}")
        if not 0 <= fusion_layer < layers:
            raise ValueError(f"fusion_layer must be in [0, layers - 1] = [0, {layers - 1}] so the bottlenecks are "
                             f"used, got {fusion_layer}")
        dims = dict(sorted(in_dims.items()))
        self.modalities = list(dims)
        self.tokens, self.dim, self.fusion_layer = tokens, dim, fusion_layer
        self.proj = nn.ModuleDict({m: nn.Linear(d, tokens * dim) for m, d in dims.items()})
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(1, 1, dim) * 0.02) for m in dims})
        self.position = nn.ParameterDict({m: nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02) for m in dims})
        self.bottleneck = nn.Parameter(torch.randn(1, n_bottlenecks, dim) * 0.02)
        self.layers = nn.ModuleList(
            nn.ModuleDict({m: nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff_mult * dim, dropout=dropout,
                                                         batch_first=True, norm_first=True) for m in dims})
            for _ in range(layers))
        self.norm = nn.ModuleDict({m: nn.LayerNorm(dim) for m in dims})
        self.out_dim = dim

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        names = sorted(features)
        batch = features[names[0]].shape[0]
        streams = {}
        for m in names:
            tokens = self.proj[m](features[m]).view(batch, self.tokens, self.dim)
            streams[m] = torch.cat([self.cls[m].expand(batch, -1, -1), tokens], dim=1) + self.position[m]
        width = self.tokens + 1
        bottleneck = self.bottleneck.expand(batch, -1, -1)
        for i, layer in enumerate(self.layers):
            if i < self.fusion_layer:  # unimodal layers: no cross-modal attention
                streams = {m: layer[m](streams[m]) for m in names}
                continue
            updates = []
            for m in names:  # each stream attends over its own tokens and the shared bottlenecks
                out = layer[m](torch.cat([streams[m], bottleneck], dim=1))
                streams[m], update = out[:, :width], out[:, width:]
                updates.append(update)
            bottleneck = torch.stack(updates, dim=0).mean(dim=0)  # averaged across modalities, as in the paper
        return torch.stack([self.norm[m](streams[m][:, 0]) for m in names], dim=0).mean(dim=0)
