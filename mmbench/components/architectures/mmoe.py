"""Multi-gate Mixture-of-Experts (Ma, Zhao, Yi, Chen, Hong & Chi 2018, "Modeling Task Relationships in
Multi-task Learning with Multi-gate Mixture-of-Experts", KDD)."""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from mmbench.components.architectures.experts import ExpertBank, gate, mix, require_at_least, require_width
from mmbench.components.base import Architecture, ArchitectureOutput


class MMoE(Architecture):
    """``num_experts`` experts (``Linear → ReLU`` to ``width``) shared by every task; one softmax gate per
    task, computed from the input, mixes them: ``h_t = Σ_e softmax(G_t x)_e · f_e(x)``.

    Shared: the experts. Task ``t``'s own: its gate ``gates[t]``. There is no single shared
    representation (each task sees its own mixture), so ``wrt="representation"`` strategies do not apply.
    With ``num_experts=1`` a softmax gate is identically 1, so there are no gates: hard sharing (one
    trunk layer), which the test suite checks with the weights copied.
    """

    has_shared_representation = False

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, num_experts: int = 4):
        super().__init__(tasks)
        self.width = require_width("mmoe", width)
        self.num_experts = require_at_least("mmoe", "num_experts", num_experts)
        self.experts = ExpertBank(in_dim, self.width, self.num_experts)
        self.gates = nn.ModuleDict(
            {t: nn.Linear(int(in_dim), self.num_experts) for t in self.task_names} if self.num_experts > 1 else {})
        self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        experts = self.experts(x)
        if self.num_experts == 1:
            return ArchitectureOutput({t: experts[:, 0] for t in self.task_names})
        return ArchitectureOutput({t: mix(gate(self.gates[t], x), experts) for t in self.task_names})

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.gates[task].parameters()) if self.num_experts > 1 else []
