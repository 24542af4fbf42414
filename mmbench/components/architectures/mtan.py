"""An adaptation of the Multi-Task Attention Network (Liu, Johns & Davison 2019, "End-to-End Multi-Task
Learning with Attention", CVPR) to feature vectors."""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from mmbench.components.architectures.experts import require_at_least, require_width
from mmbench.components.base import Architecture, ArchitectureOutput


class MTAN(Architecture):
    """A shared trunk (``layers`` × ``Linear → ReLU``, as :class:`~.hps.HardSharing`) and one soft attention
    mask per task, computed from the shared features: ``h = trunk(x)``,
    ``h_t = σ(W2_t relu(W1_t h)) ⊙ h`` (``W1_t`` to ``attention_dim``, default ``width``).

    *An adaptation, not the paper's network*: MTAN puts attention modules (1×1 convolutions with batch
    norm) on every stage of a convolutional backbone, each also seeing the previous stage's attended
    features. On vectors there is one stage: the masks sit on the trunk output only, with no batch norm,
    so the trunk output is a true shared representation (``wrt="representation"`` strategies apply).

    Shared: the trunk. Task ``t``'s own: its attention module ``attention[t]``.
    """

    has_shared_representation = True

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, layers: int = 1,
                 attention_dim: int | None = None):
        super().__init__(tasks)
        self.width = require_width("mtan", width)
        self.layers = require_at_least("mtan", "layers", layers)
        hidden = self.width if attention_dim is None else require_at_least("mtan", "attention_dim", attention_dim)
        dims = [int(in_dim)] + [self.width] * self.layers
        self.trunk = nn.Sequential(*[m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), nn.ReLU())])
        self.attention = nn.ModuleDict({
            t: nn.Sequential(nn.Linear(self.width, hidden), nn.ReLU(), nn.Linear(hidden, self.width), nn.Sigmoid())
            for t in self.task_names})
        self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        shared = self.trunk(x)
        return ArchitectureOutput({t: self.attention[t](shared) * shared for t in self.task_names}, shared)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.attention[task].parameters())
