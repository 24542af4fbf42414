"""Tiny grids for harness tests, and a faulty plugin installed through a real entry point."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from mmbench.plugins import reset

TINY = {
    "name": "tiny",
    "dataset": "pid-synthetic",
    "modalities": ["a", "b"],
    "tasks": ["redundant", "synergy"],
    "aligners": ["none"],
    "fusers": ["concat"],
    "weightings": ["ew", "pcgrad"],
    "seeds": 1,
    "training": {"epochs": 2, "batch_size": 256, "patience": 2},
    "device": "cpu",
}


def write_grid(path: Path, **overrides: object) -> Path:
    cfg = {**TINY, **overrides}
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def tiny_grid(tmp_path: Path) -> Path:
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
def faulty_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install ``mmbench-faulty`` via a dist-info folder on sys.path (a real entry point, no pip)."""
    root = tmp_path / "site"
    pkg = root / "mmbench_faulty"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(FAULTY_PLUGIN))
    (pkg / "impl.py").write_text(textwrap.dedent(FAULTY_IMPL))
    dist = root / "mmbench_faulty-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbench-faulty\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text("[mmbench]\nfaulty = mmbench_faulty\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.delenv("MMBENCH_LOAD_PLUGINS", raising=False)
    reset()
    yield root
    reset()
