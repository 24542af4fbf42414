"""Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert 2016, "Cross-stitch Networks for Multi-task
Learning", CVPR), on feature vectors."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from mmbench.components.architectures.experts import require_at_least, require_width
from mmbench.components.base import Architecture, ArchitectureOutput


def near_identity(n_tasks: int, self_weight: float) -> Tensor:
    """A ``[T, T]`` cross-stitch unit: ``self_weight`` on the diagonal, the rest of each row spread evenly
    (the paper's best initialisation for two tasks is ``(α_S, α_D) = (0.9, 0.1)``); ``[[1]]`` for one task."""
    if n_tasks == 1:
        return torch.ones(1, 1)
    off = (1.0 - self_weight) / (n_tasks - 1)
    return torch.full((n_tasks, n_tasks), off) + (self_weight - off) * torch.eye(n_tasks)


class CrossStitch(Architecture):
    """One column per task of ``layers`` × (``Linear → ReLU``, width ``width``), all fed the input; after
    each layer a cross-stitch unit ``α^l`` (``[T, T]``, learned) mixes the columns:
    ``x̃_t = Σ_s α^l_ts x_s``; task ``t``'s representation is its column's last mixed output.

    Shared/task split as LibMTL's ``Cross_stitch`` (whose shared parameters are the whole encoder): every
    column and every unit is shared. Off the identity, the units carry each column's output into every
    other column, so every task's loss reaches every parameter — no parameter is any single task's.
    No single shared representation. The paper's larger learning rate for the units is not applied.
    """

    has_shared_representation = False

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, layers: int = 1,
                 self_weight: float = 0.9):
        super().__init__(tasks)
        self.width = require_width("cross-stitch", width)
        self.layers = require_at_least("cross-stitch", "layers", layers)
        dims = [int(in_dim)] + [self.width] * self.layers
        self.columns = nn.ModuleList([
            nn.ModuleDict({t: nn.Sequential(nn.Linear(a, b), nn.ReLU()) for t in self.task_names})
            for a, b in zip(dims, dims[1:])])
        unit = near_identity(len(self.task_names), float(self_weight))
        self.units = nn.ParameterList([nn.Parameter(unit.clone()) for _ in range(self.layers)])
        self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        inputs = [x] * len(self.task_names)
        for column, unit in zip(self.columns, self.units):
            h = torch.stack([column[t](h_t) for t, h_t in zip(self.task_names, inputs)], dim=1)  # [B, T, W]
            inputs = list(torch.einsum("ts,bsw->btw", unit, h).unbind(dim=1))
        return ArchitectureOutput(dict(zip(self.task_names, inputs)))
