"""Test-wide settings: offline hub, a private feature cache, no third-party plugins unless a test asks."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

#: A tiny grid on pid-synthetic: 12 cells over all four families, seconds to run.
TINY_GRID = {
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


@pytest.fixture
def write_grid():
    """``write_grid(path, **overrides)`` writes :data:`TINY_GRID` with overrides as YAML; returns ``path``."""
    import yaml

    def write(path: Path, **overrides: object) -> Path:
        path.write_text(yaml.safe_dump({**TINY_GRID, **overrides}))
        return path

    return write


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feature-cache"))
    # local plugins a test loads (--plugin, a grid's plugins:) live in this variable: none leak into the next test
    monkeypatch.setenv("MMBENCH_PLUGINS", "")


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install a plugin package for real, without pip: its modules plus a ``*.dist-info`` folder with an
    ``entry_points.txt`` in a directory put on ``sys.path`` and ``PYTHONPATH`` (so subprocesses, worker
    processes and Ray workers see it too). ``install(entry_point, module, files)`` → the directory."""
    import textwrap

    from mmbench.plugins import reset

    paths: list[str] = []

    def install(entry_point: str, module: str, files: dict[str, str]) -> Path:
        root = tmp_path / f"site-{entry_point}"
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(textwrap.dedent(text))
        dist = root / f"mmbench_{entry_point}-0.0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmbench-{entry_point}\nVersion: 0.0.1\n")
        (dist / "entry_points.txt").write_text(f"[mmbench]\n{entry_point} = {module}\n")
        monkeypatch.syspath_prepend(str(root))
        paths.insert(0, str(root))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
        monkeypatch.delenv("MMBENCH_LOAD_PLUGINS", raising=False)
        reset()
        return root

    yield install
    reset()
