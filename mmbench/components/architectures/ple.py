"""Customized Gate Control and Progressive Layered Extraction (Tang, Liu, Zhao & Gong 2020, "Progressive
Layered Extraction (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations",
RecSys)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from mmbench.components.architectures.experts import ExpertBank, gate, mix, require_at_least, require_width
from mmbench.components.base import Architecture, ArchitectureOutput


class ExtractionLayer(nn.Module):
    """One extraction layer: shared experts on the shared input, ``task_experts`` experts per task on that
    task's input; task ``t``'s gate (from its input) mixes the shared experts and its own. With
    ``shared_gate`` (PLE's intermediate layers) a shared gate (from the shared input) mixes *all* experts
    into the shared input of the next layer."""

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int, shared_experts: int, task_experts: int,
                 shared_gate: bool):
        super().__init__()
        self.task_names = list(tasks)
        self.shared = ExpertBank(in_dim, width, shared_experts)
        self.own = nn.ModuleDict({t: ExpertBank(in_dim, width, task_experts) for t in self.task_names})
        self.gates = nn.ModuleDict({t: nn.Linear(in_dim, shared_experts + task_experts) for t in self.task_names})
        n_all = shared_experts + len(self.task_names) * task_experts
        self.shared_gate = nn.Linear(in_dim, n_all) if shared_gate else None

    def forward(self, shared_in: Tensor, task_in: dict[str, Tensor]) -> tuple[Tensor | None, dict[str, Tensor]]:
        shared = self.shared(shared_in)
        own = {t: self.own[t](task_in[t]) for t in self.task_names}
        out = {t: mix(gate(self.gates[t], task_in[t]), torch.cat([shared, own[t]], dim=1)) for t in self.task_names}
        if self.shared_gate is None:
            return None, out
        every = torch.cat([shared] + [own[t] for t in self.task_names], dim=1)
        return mix(gate(self.shared_gate, shared_in), every), out


def _options(name: str, width: int, shared_experts: int, task_experts: int) -> tuple[int, int, int]:
    return (require_width(name, width), require_at_least(name, "shared_experts", shared_experts),
            require_at_least(name, "task_experts", task_experts))


class CGC(Architecture):
    """Customized Gate Control: one extraction layer, no shared gate; ``h_t = Σ softmax(G_t x) · [shared
    experts(x); experts_t(x)]``. Shared: the shared experts. Task ``t``'s own: its experts and its gate.
    No single shared representation."""

    has_shared_representation = False

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, shared_experts: int = 2,
                 task_experts: int = 1):
        super().__init__(tasks)
        self.width, self.shared_experts, self.task_experts = _options("cgc", width, shared_experts, task_experts)
        self.layer = ExtractionLayer(int(in_dim), self.task_names, self.width, self.shared_experts,
                                     self.task_experts, shared_gate=False)
        self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        return ArchitectureOutput(self.layer(x, {t: x for t in self.task_names})[1])

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.layer.own[task].parameters()) + list(self.layer.gates[task].parameters())


class PLE(Architecture):
    """``levels`` extraction layers stacked; every layer but the last has a shared gate over all its
    experts, whose mixture is the next layer's shared input (each task's gate output is that task's
    input). ``levels=1`` is :class:`CGC` (the test suite checks it, weights copied).

    Task ``t``'s own parameters are those only its loss reaches: the last layer's experts and gate of
    ``t``, and the gate of ``t`` in the layer before it (it feeds only ``t``'s input to the last layer).
    Task experts of intermediate layers also feed the shared gate, so every task reaches them: they are
    shared parameters, as are all shared experts and shared gates. No single shared representation.
    """

    has_shared_representation = False

    def __init__(self, in_dim: int, tasks: Sequence[str], width: int = 64, levels: int = 2,
                 shared_experts: int = 2, task_experts: int = 1):
        super().__init__(tasks)
        self.width, self.shared_experts, self.task_experts = _options("ple", width, shared_experts, task_experts)
        self.levels = require_at_least("ple", "levels", levels)
        dims = [int(in_dim)] + [self.width] * (self.levels - 1)
        self.layers = nn.ModuleList([
            ExtractionLayer(d, self.task_names, self.width, self.shared_experts, self.task_experts,
                            shared_gate=i < self.levels - 1)
            for i, d in enumerate(dims)])
        self.out_dim = self.width

    def forward(self, x: Tensor) -> ArchitectureOutput:
        shared, task_in = x, {t: x for t in self.task_names}
        for layer in self.layers:
            next_shared, task_in = layer(shared, task_in)
            shared = next_shared if next_shared is not None else shared
        return ArchitectureOutput(task_in)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        last = self.layers[-1]
        own = list(last.own[task].parameters()) + list(last.gates[task].parameters())
        if self.levels > 1:
            own += list(self.layers[-2].gates[task].parameters())
        return own
