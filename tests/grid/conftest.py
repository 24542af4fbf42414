"""Harness test fixtures: the tiny grid file, and a faulty plugin installed through a real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_grid(tmp_path: Path, write_grid) -> Path:
    return write_grid(tmp_path / "tiny.yaml")


FAULTY_PLUGIN = '''
"""A test plugin: a weighting that diverges and a fuser that raises."""
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
    def combine(self, losses):
        self.last_weights = torch.full((self.n_tasks,), 1e30)
        return (losses * 1e30).sum() * float("inf")


class Broken(Fuser):
    def __init__(self, in_dims):
        super().__init__()
        self.out_dim = 4

    def forward(self, features):
        raise RuntimeError("broken fuser: this layer always raises")
'''


@pytest.fixture
def faulty_plugin(install_plugin):
    """``mmbench-faulty``: a weighting that diverges and a fuser that raises, installed via its entry point."""
    return install_plugin("faulty", "mmbench_faulty", {"mmbench_faulty/__init__.py": FAULTY_PLUGIN,
                                                      "mmbench_faulty/impl.py": FAULTY_IMPL})
