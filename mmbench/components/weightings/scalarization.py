"""Fixed, learned and random linear scalarizations: EW, UW and RLW (loss-only strategies)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmbench.components.base import Need, Weighting


class EqualWeighting(Weighting):
    """Equal weighting (unitary scalarization): the **sum** of the task losses, every weight 1.

    The sum, not the mean, as in LibMTL (Kurin et al. 2022, NeurIPS, "In Defense of the Unitary
    Scalarization for Deep Multi-Task Learning"); the gradient w.r.t. each loss is 1.
    """

    need = Need.LOSSES

    def combine(self, losses: Tensor) -> Tensor:
        self.last_weights = torch.ones(self.n_tasks)
        return losses.sum()


class UncertaintyWeighting(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018, CVPR).

    ``L = Σ_t exp(-s_t) L_t + s_t`` with learnable log-variances ``s_t`` (``nn.Parameter``, start at
    ``init``), trained by the model's optimiser. ``last_weights`` holds ``exp(-s_t)``.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, init: float = 0.0):
        super().__init__(n_tasks, seed)
        self.init = float(init)
        self.log_vars = nn.Parameter(torch.full((n_tasks,), self.init))

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        with torch.no_grad():
            self.log_vars.fill_(self.init)

    def combine(self, losses: Tensor) -> Tensor:
        precision = torch.exp(-self.log_vars)
        self.last_weights = precision.detach()
        return (precision * losses).sum() + self.log_vars.sum()


class RandomLossWeighting(Weighting):
    """Random loss weighting (Lin et al. 2022, TMLR): weights ``softmax(ε)``, ``ε ~ N(0, I)`` each step.

    The weights sum to **1** (as in the paper and LibMTL), drawn from ``self.generator``.
    """

    need = Need.LOSSES

    def combine(self, losses: Tensor) -> Tensor:
        weights = torch.softmax(torch.randn(self.n_tasks, generator=self.generator), dim=0)
        self.last_weights = weights
        return (weights.to(device=losses.device, dtype=losses.dtype) * losses).sum()
