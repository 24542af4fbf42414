"""The geometric loss strategy (GLS), wrapping torchjd's ``GeometricMean`` scalarizer."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting


class GeometricLossStrategy(Weighting):
    """Minimise the geometric mean of the task losses, ``(Π_t L_t)^(1/T)``.

    Chennupati, Sistu, Yogamani & Rawashdeh 2019, "MultiNet++: Multi-Stream Feature Aggregation and
    Geometric Loss Strategy for Multi-Task Learning", CVPR workshops. The objective is scale-invariant per
    task: its gradient weights task ``t`` by ``G / (T · L_t)``, so tasks with small losses are not drowned
    out. The value comes from ``torchjd.scalarization.GeometricMean``; losses are clamped at ``eps`` so
    a zero loss gives a finite gradient. ``last_weights`` holds the effective weights ``G / (T · L_t)``.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, eps: float = 1e-8):
        super().__init__(n_tasks, seed)
        from torchjd.scalarization import GeometricMean

        self.eps = eps
        self.scalarizer = GeometricMean()

    def combine(self, losses: Tensor) -> Tensor:
        clamped = losses.clamp_min(self.eps)
        objective = self.scalarizer(clamped)
        self.last_weights = (objective / (self.n_tasks * clamped)).detach().to("cpu", torch.float32)
        return objective
