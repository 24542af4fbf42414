"""Harness test fixtures: the tiny grid file, and a faulty plugin installed through a real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_grid(tmp_path: Path, write_grid) -> Path:
    return write_grid(tmp_path / "tiny.yaml")


FAULTY_PLUGIN = '''
"""A test plugin: a weighting that diverges and a fuser that raises, both once training is under way."""
from mmbench import hookimpl
from mmbench.plugins import lazy


@hookimpl
def mmbench_register_weightings(register):
    register("explode", lazy("mmbench_faulty.impl:Explode"), description="diverges on purpose")


@hookimpl
def mmbench_register_fusers(register):
    register("broken", lazy("mmbench_faulty.impl:Broken"), description="raises on purpose")
'''

FAULTY_IMPL = '''
import torch
from mmbench.components.base import Fuser, Weighting


class Explode(Weighting):
    """Diverges from its third step: the checks before training (one step) pass, the cell fails."""

    def __init__(self, n_tasks, seed=0):
        super().__init__(n_tasks, seed)
        self.steps = 0

    def combine(self, losses):
        self.steps += 1
        if self.steps <= 2:
            return losses.sum()
        self.last_weights = torch.full((self.n_tasks,), 1e30)
        return (losses * 1e30).sum() * float("inf")


class Broken(Fuser):
    """Raises once it is evaluated: the checks before training (one training step) pass, the cell fails."""

    def __init__(self, in_dims):
        super().__init__()
        self.out_dim = 4
        self.proj = torch.nn.Linear(sum(in_dims.values()), 4)

    def forward(self, features):
        if not self.training:
            raise RuntimeError("broken fuser: this layer always raises in evaluation")
        return self.proj(torch.cat([features[m] for m in sorted(features)], dim=1))
'''


@pytest.fixture
def faulty_plugin(install_plugin):
    """``mmbench-faulty``: a weighting that diverges and a fuser that raises, installed via its entry point."""
    return install_plugin("faulty", "mmbench_faulty", {"mmbench_faulty/__init__.py": FAULTY_PLUGIN,
                                                      "mmbench_faulty/impl.py": FAULTY_IMPL})
