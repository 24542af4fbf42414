"""DSelect-k (Hazimeh, Zhao, Chowdhery, Sathiamoorthy, Chen, Mazumder, Hong & Chi 2021, "DSelect-k:
Differentiable Selection in the Mixture of Experts with Applications to Multi-Task Learning", NeurIPS)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from mmbench.components.architectures.experts import ExpertBank, mix, require_at_least, require_width
from mmbench.components.base import Architecture, ArchitectureOutput


def smooth_step(t: Tensor, gamma: float) -> Tensor:
    """The paper's cubic smooth-step: 0 below ``-γ/2``, 1 above ``γ/2``, ``-2t³/γ³ + 3t/(2γ) + ½``
    between; continuously differentiable, and exactly 0 or 1 outside the band (so selection can be exact)."""
    inner = -2.0 / gamma**3 * t**3 + 3.0 / (2.0 * gamma) * t + 0.5
    return torch.where(t <= -gamma / 2, torch.zeros_like(t), torch.where(t >= gamma / 2, torch.ones_like(t), inner))


def binary_codes(n: int) -> Tensor:
    """``[n, m]`` bits of ``0 … n-1``, most significant first, ``m = ⌈log2 n⌉``: expert ``e``'s code."""
    m = max(1, math.ceil(math.log2(n)))
    return torch.tensor([[(e >> (m - 1 - j)) & 1 for j in range(m)] for e in range(n)], dtype=torch.bool)


class DSelectK(Architecture):
    """MMoE whose softmax gates are replaced by DSelect-k gates (per-example gating): for task ``t``, ``k``
    selectors each pick one expert through ``m = ⌈log2 num_experts⌉`` smooth binary digits,
    ``r_i(e) = Π_j (S(z_ij) if bit_j(e) else 1 - S(z_ij))``, and the gate is ``Σ_i softmax(w)_i r_i``
    with ``z = Z_t x``, ``w = W_t x``. Initialisation as the official code (and LibMTL): ``Z_t`` uniform in ``±γ/100``,
    ``W_t`` in ``±0.05``.

    Deviations (no auxiliary-loss channel in the architecture contract): the paper's entropy regulariser
    (pushing selectors to binary) is omitted, and when ``num_experts`` is not a power of two each
    selector's weights are renormalised over the real experts (the selector's distribution conditioned
    on valid codes) instead of adding the paper's ``Σ 1/Σ_e r_i(e)`` penalty. ``k = 1`` needs no ``W_t``.

    Shared: the experts. Task ``t``'s own: ``selectors[t]`` (and ``mixers[t]`` when ``k > 1``).
    No single shared representation.
    """

    has_shared_representation = False

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, num_experts: int = 4, k: int = 2,
                 gamma: float = 1.0):
        super().__init__(tasks)
        self.width = require_width("dselect-k", width)
        self.num_experts = require_at_least("dselect-k", "num_experts", num_experts, low=2)
        self.k = require_at_least("dselect-k", "k", k)
        self.gamma = float(gamma)
        if not self.gamma > 0:
            raise ValueError(f"architecture 'dselect-k': gamma must be positive, got {gamma}")
        self.register_buffer("codes", binary_codes(self.num_experts), persistent=False)
        n_bits = self.codes.shape[1]
        self.experts = ExpertBank(in_dim, self.width, self.num_experts)
        self.selectors = nn.ModuleDict({t: nn.Linear(int(in_dim), self.k * n_bits) for t in self.task_names})
        self.mixers = nn.ModuleDict({t: nn.Linear(int(in_dim), self.k) for t in self.task_names} if self.k > 1 else {})
        for p in self.selectors.parameters():
            nn.init.uniform_(p, -self.gamma / 100, self.gamma / 100)
        for p in self.mixers.parameters():
            nn.init.uniform_(p, -0.05, 0.05)
        self.out_dim = self.width

    def gate(self, task: str, x: Tensor) -> Tensor:
        """Task ``task``'s expert weights ``[B, num_experts]`` (each row sums to 1)."""
        s = smooth_step(self.selectors[task](x).view(x.shape[0], self.k, 1, -1), self.gamma)  # [B, k, 1, m]
        picks = torch.where(self.codes, s, 1 - s).prod(dim=-1)  # [B, k, n]: selector i's weight on expert e
        if self.num_experts & (self.num_experts - 1):  # not a power of two: condition on the real experts
            picks = picks / picks.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(picks.dtype).tiny)
        if self.k == 1:
            return picks[:, 0]
        return torch.bmm(torch.softmax(self.mixers[task](x), dim=-1).unsqueeze(1), picks).squeeze(1)

    def forward(self, x: Tensor) -> ArchitectureOutput:
        experts = self.experts(x)
        return ArchitectureOutput({t: mix(self.gate(t, x), experts) for t in self.task_names})

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        own = list(self.selectors[task].parameters())
        return own + (list(self.mixers[task].parameters()) if self.k > 1 else [])
