"""Bad input found once, before any cell trains, with one message and nothing stored: dataset columns and
types, encoders that do not fit their modality, weighting ``need`` declarations, a second live run on
the same directory, and strategies producing NaN weights (blamed on the strategy)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.lock import RunLock, RunLockedError
from mmbench.grid.runner import run_grid
from mmbench.store import ResultStore


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    root = tmp_path / "mydata"
    parts = {s: datasets.Dataset.from_dict({"x": [[float(i), float(i % 3)] for i in range(n)], "y": [i % 2 for i in range(n)],
                                            "price": [0.5 * i for i in range(n)]}) for s, n in
             (("train", 60), ("validation", 20), ("test", 20))}
    datasets.DatasetDict(parts).save_to_disk(str(root))
    return root


def _spec(root: Path, **tasks: dict) -> dict:
    return {"source": str(root), "modalities": {"x": {"column": "x", "kind": "tabular"}},
            "tasks": tasks or {"y": {"column": "y", "type": "classification"}}}


def _run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet"])


@pytest.mark.parametrize("tasks, expected", [
    ({"y": {"column": "label", "type": "classification"}}, "'label'"),
    ({"y": {"column": "y", "type": "classification"}, "p": {"column": "price", "type": "classification"}}, "price"),
])
def test_a_dataset_error_is_found_once_before_any_cell(write_grid, table: Path, tmp_path: Path, tasks, expected):
    grid = write_grid(tmp_path / "g.yaml", dataset=_spec(table, **tasks), modalities=None, tasks=None, seeds=3)
    out = tmp_path / "run"
    for args in (["--dry-run"], []):
        result = _run("--grid", str(grid), "--out", str(out), *args)
        assert result.exit_code != 0 and expected in result.output, result.output
        assert result.output.count("Error") == 1  # one message, not one per cell
        assert not (out / "results.sqlite").exists()


def test_an_encoder_for_another_modality_kind_is_refused(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", encoders={"a": ["cnn"]})
    result = _run("--grid", str(grid), "--out", str(tmp_path / "r"), "--dry-run")
    assert result.exit_code != 0
    assert "encoder 'cnn' (built-in plugin 'mmbench.components.encoders'" in result.output
    assert "encodes image, but modality 'a' is tabular; choose an encoder for tabular: mlp, identity" in result.output


def test_a_spec_without_name_is_labelled_by_its_source(write_grid, table: Path, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", name=None, dataset=_spec(table), modalities=None, tasks=None)
    assert load_config(grid).name == "mydata"
    summary = run_grid(load_config(grid), tmp_path / "run")
    assert summary.failed == 0
    from mmbench.store.export import flat_rows

    with ResultStore(tmp_path / "run") as store:
        assert {r["dataset"] for r in flat_rows(store)} == {"mydata"}


NEEDS = '''
import torch
from mmbench import hookimpl
from mmbench.components.base import Need, Weighting


class NoAggregate(Weighting):
    need = Need.PARAM_JACOBIAN  # declares a Jacobian need but implements no aggregate


class Claims(Weighting):
    need = Need.LOSSES

    def combine(self, losses):
        return losses.sum()


class NanWeights(Weighting):
    need = Need.LOSSES

    def combine(self, losses):
        self.last_weights = torch.full((self.n_tasks,), float("nan"))
        return losses.sum()


class LateNanWeights(Weighting):
    """Fine for two steps (the checks before training take one), NaN weights from the third."""

    need = Need.LOSSES

    def __init__(self, n_tasks, seed=0):
        super().__init__(n_tasks, seed)
        self.steps = 0

    def combine(self, losses):
        self.steps += 1
        self.last_weights = torch.full((self.n_tasks,), float("nan") if self.steps > 2 else 1.0)
        return losses.sum()


@hookimpl
def mmbench_register_weightings(register):
    register("no-aggregate", NoAggregate, need="param_jacobian")
    register("claims-jacobian", Claims, need="param_jacobian")
    register("banana", Claims, need="banana")
    register("nan-weights", NanWeights, need="losses")
    register("late-nan-weights", LateNanWeights)
'''


@pytest.mark.parametrize("weighting, expected", [
    ("no-aggregate", "has need = Need.PARAM_JACOBIAN but does not implement aggregate(jacobian, losses)"),
    ("claims-jacobian", "its registration metadata says need='param_jacobian' but the class Claims declares need = Need.LOSSES"),
    ("banana", "unknown weighting 'banana'"),
])
def test_need_declarations_are_checked(install_plugin, write_grid, tmp_path: Path, weighting, expected):
    install_plugin("needs", "mmbench_needs", {"mmbench_needs.py": NEEDS})
    grid = write_grid(tmp_path / "g.yaml", weightings=[weighting], families=["mt-sm"])
    result = _run("--grid", str(grid), "--out", str(tmp_path / "r"), "--dry-run", "--allow-plugin-problems")
    assert result.exit_code != 0 and expected in result.output, result.output
    if weighting == "banana":  # rejected at registration, with the reason
        assert "weighting 'banana': need='banana' is not one of losses, param_jacobian, repr_jacobian" in result.output


def test_nan_weights_fail_the_cell_and_blame_the_strategy(install_plugin, write_grid, tmp_path: Path):
    """NaN weights from the first step are caught before any cell trains (``first_step``); NaN weights that
    appear later fail the cell, which is stored as failed; either way the strategy is blamed."""
    from mmbench.grid.preflight import PreflightError

    install_plugin("needs", "mmbench_needs", {"mmbench_needs.py": NEEDS})
    grid = write_grid(tmp_path / "g.yaml", weightings=["nan-weights"], families=["mt-sm"], modalities=["a"])
    with pytest.raises(PreflightError) as err:
        run_grid(load_config(grid), tmp_path / "run", allow_plugin_problems=True)
    error = str(err.value)
    assert "StrategyError" in error and "NanWeights" in error and "non-finite task weights" in error
    assert "learning rate are not the cause" in error
    assert not (tmp_path / "run" / "results.sqlite").exists()
    late = write_grid(tmp_path / "late.yaml", weightings=["late-nan-weights"], families=["mt-sm"], modalities=["a"])
    summary = run_grid(load_config(late), tmp_path / "run", allow_plugin_problems=True)
    assert summary.ok == 0 and summary.failed == 1
    (label, error), = summary.failures
    assert "StrategyError" in error and "LateNanWeights" in error and "non-finite task weights" in error
    assert "learning rate are not the cause" in error


def test_a_second_live_run_on_one_directory_is_refused(write_grid, tmp_path: Path):
    out = tmp_path / "run"
    with RunLock(out):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            run_grid(load_config(write_grid(tmp_path / "g.yaml")), out)
    assert not (out / "results.sqlite").exists()
    result = subprocess.Popen([sys.executable, "-c", f"from mmbench.grid.lock import RunLock\nimport time\n"
                               f"with RunLock({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert result.stdout.readline().strip() == "held"
    blocked = _run("--grid", str(write_grid(tmp_path / "g.yaml")), "--out", str(out))
    assert blocked.exit_code != 0 and f"pid {result.pid}" in blocked.output and "another --out" in blocked.output
    os.kill(result.pid, signal.SIGKILL)  # kill -9 leaves the lock file; the lock itself dies with the process
    result.wait()
    time.sleep(0.1)
    with RunLock(out):
        pass
