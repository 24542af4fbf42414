"""Hard parameter sharing (Caruana 1997, "Multitask Learning", Machine Learning 28)."""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from mmbench.components.base import Architecture, ArchitectureOutput


class HardSharing(Architecture):
    """One trunk shared by every task: ``layers`` × (Linear → ReLU) of width ``width``; every task's
    representation is the trunk's output (its ``shared`` representation). ``width=0``: no trunk, the
    fused features go to the heads as they are. This is the architecture every cell used before the
    architecture kind existed, and the one single-task cells always use."""

    has_shared_representation = True

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, layers: int = 1):
        super().__init__(tasks)
        if layers < 1:
            raise ValueError("layers must be at least 1")
        self.width, self.layers = int(width), int(layers)
        if self.width <= 0:
            self.trunk: nn.Module = nn.Identity()
            self.out_dim = int(in_dim)
        else:
            dims = [int(in_dim)] + [self.width] * self.layers
            self.trunk = nn.Sequential(*[m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
            self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        shared = self.trunk(x)
        return ArchitectureOutput({t: shared for t in self.task_names}, shared)
