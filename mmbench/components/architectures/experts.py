"""Building blocks the mixture-of-experts architectures share: a bank of experts and gate mixing.

An *expert* here is one ``Linear → ReLU`` layer to ``width`` (the experts of Ma et al. 2018, Tang et al.
2020 and Hazimeh et al. 2021 are small MLPs; one layer keeps the cost comparable with hard sharing).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def require_width(name: str, width: int) -> int:
    """``width`` as an int, or a ValueError saying only hard sharing accepts ``width=0``."""
    width = int(width)
    if width < 1:
        raise ValueError(f"architecture {name!r} needs width >= 1 (the grid's training.trunk_dim), got {width}; "
                         "width=0 (no trunk, the fused features go straight to the heads) is accepted only by 'hps'")
    return width


def require_at_least(name: str, option: str, value: int, low: int = 1) -> int:
    """``value`` as an int, or a ValueError naming the architecture and the option."""
    value = int(value)
    if value < low:
        raise ValueError(f"architecture {name!r}: {option} must be at least {low}, got {value}")
    return value


class ExpertBank(nn.Module):
    """``n`` experts ``relu(W_e x + b_e)`` held as one ``[n, width, in_dim]`` weight (one matmul for all).

    ``weight[e]`` and ``bias[e]`` are shaped like an ``nn.Linear``'s and initialised as one
    (``U(-1/√in_dim, 1/√in_dim)``). ``forward`` takes ``[B, in_dim]`` (every expert sees the same input)
    or ``[B, n, in_dim]`` (expert ``e`` sees row ``e``) and returns ``[B, n, width]``.
    """

    def __init__(self, in_dim: int, width: int, n: int):
        super().__init__()
        self.in_dim, self.width, self.n = int(in_dim), int(width), int(n)
        bound = 1.0 / math.sqrt(self.in_dim)
        self.weight = nn.Parameter(torch.empty(self.n, self.width, self.in_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(self.n, self.width).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            flat = nn.functional.linear(x, self.weight.reshape(-1, self.in_dim), self.bias.reshape(-1))
            return torch.relu(flat.view(x.shape[0], self.n, self.width))
        out = torch.baddbmm(self.bias.unsqueeze(1), x.transpose(0, 1), self.weight.transpose(1, 2))
        return torch.relu(out.transpose(0, 1))


def mix(weights: Tensor, experts: Tensor) -> Tensor:
    """Per-example mixture ``Σ_e weights[b, e] · experts[b, e]``: ``[B, n] × [B, n, D] → [B, D]``."""
    return torch.bmm(weights.unsqueeze(1), experts).squeeze(1)


def gate(layer: nn.Module, x: Tensor) -> Tensor:
    """A softmax gate (Jordan & Jacobs 1994; as in MMoE and PLE): ``softmax(layer(x))`` over experts."""
    return torch.softmax(layer(x), dim=-1)
