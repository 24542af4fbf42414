"""Contrastive aligners: InfoNCE / CLIP (Radford et al. 2021) and VSE++ (Faghri et al. 2018)."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmbench.components.aligners.projection import Projections
from mmbench.components.base import Aligner, AlignerOutput

#: CLIP clamps its learnable logit scale (inverse temperature) at 100.
MAX_LOGIT_SCALE = 100.0


def clip_loss(a: Tensor, b: Tensor, logit_scale: Tensor | float) -> Tensor:
    """Symmetric InfoNCE of CLIP (Radford et al. 2021, ICML): row ``i`` of ``a`` matches row ``i`` of ``b``.

    ``a`` and ``b`` are ``[B, D]`` (L2-normalised by the caller); ``logit_scale`` is ``1 / temperature``.
    Returns the mean of the ``a -> b`` and ``b -> a`` cross-entropies.
    """
    logits = logit_scale * a @ b.T
    labels = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def vsepp_loss(a: Tensor, b: Tensor, margin: float = 0.2) -> Tensor:
    """VSE++ hinge loss with the hardest negative in each direction (Faghri et al. 2018, BMVC).

    ``a`` and ``b`` are ``[B, D]`` (L2-normalised by the caller) with matching rows. Per anchor, the loss
    is ``[margin - s(i, i) + s(i, j*)]_+`` for the hardest negative ``j*`` in each direction; it is
    averaged over the batch (the paper sums; the mean keeps the scale independent of the batch size).
    """
    scores = a @ b.T
    n = scores.shape[0]
    if n < 2:  # no negatives: nothing to violate
        return scores.sum() * 0
    positives = scores.diagonal()
    eye = torch.eye(n, dtype=torch.bool, device=scores.device)
    cost_b = (margin + scores - positives[:, None]).clamp(min=0).masked_fill(eye, 0)  # anchor a_i, negative b_j
    cost_a = (margin + scores - positives[None, :]).clamp(min=0).masked_fill(eye, 0)  # anchor b_j, negative a_i
    return cost_b.max(dim=1).values.mean() + cost_a.max(dim=0).values.mean()


def mean_over_pairs(features: Mapping[str, Tensor], pair_loss: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Average ``pair_loss`` over every unordered pair of modalities, in sorted name order."""
    names = sorted(features)
    losses = [pair_loss(features[m], features[n]) for m, n in combinations(names, 2)]
    return torch.stack(losses).mean()


class InfoNCEAligner(Aligner):
    """Projections to a shared space trained with CLIP's symmetric InfoNCE loss (Radford et al. 2021, ICML).

    The temperature is learnt as a log-scale parameter (initialised at ``temperature``, logit scale
    clamped at 100 as in CLIP) unless ``learn_temperature=False``. With more than two modalities the
    loss is averaged over all pairs. Returned features are the L2-normalised projections.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, hidden: int | None = None,
                 temperature: float = 0.07, learn_temperature: bool = True):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.projections = Projections(in_dims, dim, hidden)
        self.out_dims = {m: dim for m in sorted(in_dims)}
        init = torch.tensor(math.log(1.0 / temperature))
        if learn_temperature:
            self.log_logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("log_logit_scale", init)

    @property
    def logit_scale(self) -> Tensor:
        """``1 / temperature``, clamped at 100 like CLIP."""
        return self.log_logit_scale.clamp(max=math.log(MAX_LOGIT_SCALE)).exp()

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        z = {m: F.normalize(t, dim=-1) for m, t in self.projections(features).items()}
        scale = self.logit_scale
        return AlignerOutput(z, mean_over_pairs(z, lambda a, b: clip_loss(a, b, scale)))


class VSEPPAligner(Aligner):
    """Projections trained with the VSE++ max-of-hinges loss (Faghri et al. 2018, BMVC).

    Features are L2-normalised projections; with more than two modalities the loss is averaged over pairs.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int = 64, hidden: int | None = None, margin: float = 0.2):
        super().__init__()
        self.projections = Projections(in_dims, dim, hidden)
        self.out_dims = {m: dim for m in sorted(in_dims)}
        self.margin = margin

    def forward(self, features: Mapping[str, Tensor]) -> AlignerOutput:
        z = {m: F.normalize(t, dim=-1) for m, t in self.projections(features).items()}
        return AlignerOutput(z, mean_over_pairs(z, lambda a, b: vsepp_loss(a, b, self.margin)))
