"""Dynamic Weight Average (Liu, Johns & Davison 2019, CVPR)."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting


class DynamicWeightAverage(Weighting):
    """DWA: ``w_t = T · softmax(r / temperature)_t`` with ``r_t = L̄_t(e-1) / L̄_t(e-2)``.

    ``L̄_t(e)`` is task ``t``'s mean training loss over epoch ``e``, given by ``end_epoch``. The first two
    epochs (fewer than two ``end_epoch`` calls) use ``w = 1``. Weights sum to ``T``; the objective is
    ``Σ w_t L_t``. History lives in buffers, so it is saved with ``state_dict``.
    """

    need = Need.LOSSES

    def __init__(self, n_tasks: int, seed: int = 0, temperature: float = 2.0):
        super().__init__(n_tasks, seed)
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = float(temperature)
        self.register_buffer("history", torch.ones(2, n_tasks))  # [previous epoch, last epoch]
        self.register_buffer("epochs_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("weights", torch.ones(n_tasks))

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.history.fill_(1.0)
        self.epochs_seen.zero_()
        self.weights.fill_(1.0)

    def end_epoch(self, mean_losses: Tensor) -> None:
        losses = torch.as_tensor(mean_losses).detach().to(self.history)
        self.history.copy_(torch.stack([self.history[1], losses]))
        self.epochs_seen += 1
        if int(self.epochs_seen) >= 2:
            ratio = self.history[1] / self.history[0]
            self.weights.copy_(self.n_tasks * torch.softmax(ratio / self.temperature, dim=0))
        self.last_weights = self.weights.detach().clone()

    def combine(self, losses: Tensor) -> Tensor:
        return (self.weights.to(losses) * losses).sum()
