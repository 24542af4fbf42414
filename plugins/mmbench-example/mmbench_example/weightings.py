"""Smooth Tchebycheff scalarization (STCH), wrapping torchjd's ``STCH`` scalarizer."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting


class SmoothTchebycheff(Weighting):
    """Minimise the smooth Tchebycheff scalarization ``μ log Σ_t exp(L_t / (T μ))`` of the task losses.

    Lin, Zhang, Yang, Zhang & Zhang 2024, "Smooth Tchebycheff Scalarization for Multi-Objective
    Optimization", ICML (uniform preferences ``1/T``, ideal point 0). A smooth stand-in for
    ``max_t L_t / T``: the gradient weights task ``t`` by ``softmax(L / (T μ))_t / T``, so the worst task
    gets the most weight, the more so the smaller ``mu``. The value comes from
    ``torchjd.scalarization.STCH``; ``last_weights`` holds those effective weights (they sum to 1/T).
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, mu: float = 0.1):
        super().__init__(n_tasks, seed)
        from torchjd.scalarization import STCH

        if mu <= 0:
            raise ValueError(f"mu must be positive, got {mu}")
        self.mu = float(mu)
        self.scalarizer = STCH(mu=self.mu)

    def combine(self, losses: Tensor) -> Tensor:
        self.last_weights = (torch.softmax(losses.detach() / (self.n_tasks * self.mu), dim=0) / self.n_tasks)
        return self.scalarizer(losses)
