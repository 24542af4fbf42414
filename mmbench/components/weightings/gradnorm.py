"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich 2018, ICML), written by hand: torchjd lacks it."""

from __future__ import annotations

import torch
from torch import Tensor

from mmbench.components.base import JacobianWeighting, Wrt


class GradNorm(JacobianWeighting):
    """GradNorm: tune task weights so each weighted gradient norm tracks the task's relative training rate.

    At each step, with task gradients ``g_t`` (rows of the Jacobian) and weights ``w`` (``Σ w = T``):

    - norms ``n_t = ‖w_t g_t‖ = w_t ‖g_t‖``; inverse training rates ``r_t = L̃_t / mean(L̃)`` with
      ``L̃_t = L_t / L_t(0)`` (``L(0)``: the losses at the first step after ``reset``);
    - targets ``n̄ · r_t^α`` with ``n̄ = mean(n)``, held constant as in the paper;
    - the weights returned are ``w`` (the trainer applies ``Σ_t w_t g_t``);
    - then ``w ← w − lr · sign(n − target) ⊙ ‖g‖`` (the exact gradient of ``Σ_t |n_t − target_t|``,
      since ``G`` is fixed), floored at ``min_weight`` and renormalised to ``Σ w = T``.

    The paper takes ``g_t`` w.r.t. the last shared layer; here it is whatever Jacobian ``wrt`` asks for.
    """

    def __init__(self, n_tasks: int, seed: int = 0, alpha: float = 1.5, lr: float = 0.025,
                 min_weight: float = 1e-4, wrt: Wrt = "params"):
        super().__init__(n_tasks, seed, wrt)
        if lr <= 0 or min_weight <= 0:
            raise ValueError("lr and min_weight must be positive")
        self.alpha, self.lr, self.min_weight = float(alpha), float(lr), float(min_weight)
        self.register_buffer("weights", torch.ones(n_tasks))
        self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self.weights.fill_(1.0)
        self.initial_losses.fill_(float("nan"))

    @torch.no_grad()
    def jacobian_weights(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        losses = losses.detach().to(self.weights)
        first = torch.isnan(self.initial_losses)  # no Python branch: no host-device sync on GPU
        self.initial_losses.copy_(torch.where(first, losses, self.initial_losses))
        w = self.weights.clone()
        grad_norms = jacobian.detach().norm(dim=1).to(w)
        norms = w * grad_norms
        relative = losses / self.initial_losses
        target = norms.mean() * (relative / relative.mean()) ** self.alpha
        step = torch.sign(norms - target) * grad_norms
        new = (w - self.lr * step).clamp_min(self.min_weight)
        self.weights.copy_(self.n_tasks * new / new.sum())
        return w
