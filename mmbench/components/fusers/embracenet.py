"""EmbraceNet (Choi & Lee 2019, Information Fusion): docking layers and stochastic modality selection."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from mmbench.components.base import Fuser


class EmbraceNetFuser(Fuser):
    """EmbraceNet (Choi & Lee 2019, "EmbraceNet: A robust deep learning architecture for multimodal
    classification", Information Fusion 51).

    Docking layers ``d_m = ReLU(W_m x_m + b_m)`` bring every modality to the embracement size ``dim``; the
    embracement layer then takes each output dimension ``i`` from one modality ``r_i``:
    ``e_i = d_{r_i, i}``. Works on feature vectors as the paper does.

    - Training: ``r_i ~ Categorical(p)`` independently per example and dimension (the authors' code:
      ``torch.multinomial`` with replacement). ``p`` defaults to uniform; ``p={"image": 2, "text": 1}``
      gives unnormalised weights per modality. Draws come from torch's global generator (as dropout's
      do), which the harness seeds per cell, so runs are reproducible.
    - Eval: the expectation of the embracement, ``e = Σ_m p_m d_m``, so outputs are deterministic (the
      authors' code samples at test time too; the expectation is its mean, as dropout's inference rule is).
    - Missing modalities (``detect_missing=True``): the paper sets a modality's selection probability to 0
      when its availability is 0 and renormalises ``p`` over the rest. mmbench passes a missing modality
      as zero features, so a row whose features are all exactly zero is treated as unavailable (a row
      with no modality available falls back to all of them).
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, p: dict[str, float] | None = None,
                 detect_missing: bool = True):
        super().__init__()
        dims = dict(sorted(in_dims.items()))
        self.modalities = list(dims)
        if p is None:
            weights = [1.0] * len(dims)
        else:
            if set(p) != set(dims):
                raise ValueError(f"p must give a weight for each modality {self.modalities}, got {sorted(p)}")
            weights = [float(p[m]) for m in self.modalities]
            if not all(math.isfinite(w) and w > 0 for w in weights):
                raise ValueError(f"p's weights must be positive and finite, got {p}")
        self.register_buffer("p", torch.tensor(weights) / sum(weights))
        self.docking = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in dims.items()})
        self.detect_missing = detect_missing
        self.out_dim = dim

    def probabilities(self, features: Mapping[str, Tensor]) -> Tensor:
        """Per-example selection probabilities ``[B, M]`` over ``sorted(features)``, renormalised over the
        modalities available (when ``detect_missing``)."""
        names = sorted(features)
        batch = features[names[0]].shape[0]
        probs = self.p[[self.modalities.index(m) for m in names]].expand(batch, -1)
        if self.detect_missing:
            available = torch.stack([features[m].ne(0).any(dim=-1) for m in names], dim=-1)  # [B, M]
            available = available | ~available.any(dim=-1, keepdim=True)  # none available: use all
            probs = probs * available
        return probs / probs.sum(dim=-1, keepdim=True)

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        names = sorted(features)
        docked = torch.stack([torch.relu(self.docking[m](features[m])) for m in names], dim=-1)  # [B, dim, M]
        probs = self.probabilities(features).to(docked.dtype)
        if self.training:
            choice = torch.multinomial(probs, self.out_dim, replacement=True)  # [B, dim]
            toggles = nn.functional.one_hot(choice, len(names)).to(docked.dtype)  # [B, dim, M]
        else:
            toggles = probs.unsqueeze(1)  # the expectation over the selection
        return (docked * toggles).sum(dim=-1)
