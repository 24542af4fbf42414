"""FAMO: Fast Adaptive Multitask Optimization (Liu, Liang, Gao & Liu 2023, NeurIPS)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from mmbench.components.base import Need, Weighting

EPS = 1e-8  # as in the official implementation (github.com/Cranial-XIX/FAMO, famo.py)


class FAMO(Weighting):
    """FAMO, following the paper's Algorithm 1 and the official ``famo.py``.

    Task logits ``ξ`` give ``z = softmax(ξ)``. With ``D_t = L_t - min_t + ε``, the objective is
    ``Σ_t z_t log D_t / c`` with ``c = Σ_t z_t / D_t`` (a constant), so the loss gradient is
    ``Σ_t w_t ∇L_t`` with ``w_t = z_t / (c D_t)`` (these sum to 1 and are ``last_weights``).
    After the optimiser step, ``after_step`` gets the same batch's new losses and moves the logits
    along ``δ = log D(before) - log D(after)`` pulled back through the softmax, with Adam
    (``lr``, ``weight_decay`` = the paper's γ, β = (0.9, 0.999), ε = 1e-8: the update of
    ``torch.optim.Adam``, kept in buffers so the state follows ``.to()`` and ``state_dict``).

    The official trainer also clips the shared gradient norm at 1; here that is the trainer's setting.
    """

    need = Need.LOSSES
    wants_post_step_losses = True

    def __init__(self, n_tasks: int, seed: int = 0, lr: float = 0.025, weight_decay: float = 0.01,
                 betas: tuple[float, float] = (0.9, 0.999), adam_eps: float = 1e-8,
                 min_losses: Sequence[float] | None = None):
        super().__init__(n_tasks, seed)
        self.lr, self.weight_decay, self.adam_eps = float(lr), float(weight_decay), float(adam_eps)
        self.betas = (float(betas[0]), float(betas[1]))
        mins = torch.zeros(n_tasks) if min_losses is None else torch.as_tensor(min_losses, dtype=torch.float32)
        if mins.shape != (n_tasks,):
            raise ValueError(f"min_losses needs {n_tasks} values")
        self.register_buffer("min_losses", mins)
        self.register_buffer("logits", torch.zeros(n_tasks))
        self.register_buffer("exp_avg", torch.zeros(n_tasks))
        self.register_buffer("exp_avg_sq", torch.zeros(n_tasks))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self._prev_losses: Tensor | None = None

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        for buf in (self.logits, self.exp_avg, self.exp_avg_sq, self.steps):
            buf.zero_()
        self._prev_losses = None

    def combine(self, losses: Tensor) -> Tensor:
        self._prev_losses = losses.detach()
        z = torch.softmax(self.logits, dim=0).to(losses)
        d = losses - self.min_losses.to(losses) + EPS
        c = (z / d.detach()).sum()
        self.last_weights = (z / (c * d.detach())).detach()
        return (z * d.log()).sum() / c

    def logit_gradient(self, new_losses: Tensor) -> Tensor:
        """``∂softmax(ξ)/∂ξ ᵀ δ`` with ``δ = log D(before) - log D(after)``: ``z ⊙ (δ - z·δ)``."""
        if self._prev_losses is None:
            raise RuntimeError("FAMO.after_step called before combine")
        mins = self.min_losses.to(self._prev_losses)
        delta = (self._prev_losses - mins + EPS).log() - (new_losses.detach().to(self._prev_losses) - mins + EPS).log()
        z = torch.softmax(self.logits, dim=0)
        delta = delta.to(z)
        return z * (delta - (z * delta).sum())

    @torch.no_grad()
    def after_step(self, new_losses: Tensor) -> None:
        grad = self.logit_gradient(new_losses) + self.weight_decay * self.logits
        beta1, beta2 = self.betas
        self.steps += 1
        t = self.steps.to(self.logits.dtype)  # a tensor: no host-device sync on GPU
        self.exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (self.exp_avg_sq.sqrt() / (1 - beta2**t).sqrt()).add_(self.adam_eps)
        self.logits.sub_(self.lr / (1 - beta1**t) * self.exp_avg / denom)
