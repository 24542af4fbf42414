"""Loss-balanced task weighting (LBTW): weigh each loss by how little of it has been learned this epoch."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench import Need, Weighting


class LossBalancedTaskWeighting(Weighting):
    """Weigh task ``t`` by ``(L_t / L⁰_t)^α``, ``L⁰`` the task's loss at the epoch's first step.

    Liu, Liang & Gitter 2019, "Loss-Balanced Task Weighting to Reduce Negative Transfer in Multi-Task
    Learning", AAAI. A task whose loss has dropped a lot since the epoch began gets a smaller weight, so
    fast learners do not dominate the shared layers; ``alpha`` (0.5, as in the paper) sets how strongly
    (0: equal weighting). The weights are constants of the step (no gradient flows into them), so
    ``last_weights`` — the factors on each loss — are the weights themselves.

    It shows the parts of the weighting contract most plugins need: state kept in a **buffer** (moves with
    ``.to()``, saved in ``state_dict``), cleared by ``reset``, updated from ``end_epoch``.
    """

    need = Need.LOSSES  # the one declaration (the registration does not repeat it)

    def __init__(self, n_tasks: int, seed: int = 0, alpha: float = 0.5):
        super().__init__(n_tasks, seed)
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        self.alpha = float(alpha)
        self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.initial_losses.fill_(float("nan"))

    def end_epoch(self, mean_losses: Tensor) -> None:
        self.initial_losses.fill_(float("nan"))  # the next step starts a new epoch: it sets L⁰ again

    def combine(self, losses: Tensor) -> Tensor:
        current = losses.detach().to(self.initial_losses)
        if torch.isnan(self.initial_losses).any():
            self.initial_losses.copy_(current)
        weights = (current / self.initial_losses.clamp_min(1e-12)) ** self.alpha
        self.last_weights = weights.cpu()
        return (weights.to(losses) * losses).sum()
