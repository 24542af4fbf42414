"""Equal-budget tuning end to end: trials stored in Optuna's RDB storage, the best trial's hyperparameters
used by the seeded runs, the test split never read while tuning, resume after kill -9 without losing or
repeating a trial, and the plugin-declared search spaces."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.runner import run_grid
from mmbench.grid.tuning_spec import TRIAL_SEED_OFFSET
from mmbench.store import ResultStore

FAST = {"epochs": 3, "batch_size": 256, "patience": 2}


def _studies(out: Path) -> dict[str, list[optuna.trial.FrozenTrial]]:
    url = f"sqlite:///{out / 'tuning.sqlite'}"
    return {s.study_name: optuna.load_study(study_name=s.study_name, storage=url).get_trials()
            for s in optuna.get_all_study_summaries(url)}


def test_a_tuned_grid_gives_every_configuration_the_same_budget(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", families=["st-sm", "mt-sm"], modalities=["a"], training=FAST,
                      tuning={"trials": 3, "space": {"weighting.c": None}}, weightings=["ew", "cagrad"])
    out = tmp_path / "run"
    summary = run_grid(load_config(grid), out)
    assert summary.failed == 0 and summary.ok == 4
    studies = _studies(out)
    assert len(studies) == 4 and {len(t) for t in studies.values()} == {3}  # the same budget everywhere
    with ResultStore(out) as store:
        rows = list(store.rows())
    for row in rows:
        record = row.result["tuning"]
        trials = next(t for name, t in studies.items() if name == record["study"])
        best = max((t for t in trials if t.value is not None), key=lambda t: t.value)
        assert record["trial"] == best.number and record["budget"] == 3
        assert row.config["hparams"] == best.params  # the seeded run trains with the best trial's values
        assert row.config["tuning"]["trials"] == 3 and row.seed < TRIAL_SEED_OFFSET
        assert {"lr", "weight_decay"} <= set(best.params)
    cagrad = next(r for r in rows if (r.config["weighting"] or {}).get("name") == "cagrad")
    assert "weighting.c" not in cagrad.config["hparams"]  # `null` in the grid's space removed CAGrad's declared c
    exported = CliRunner().invoke(cli, ["export", str(out), "--format", "csv", "-o", "-"])
    frame = pd.read_csv(io.StringIO(exported.stdout))
    assert {"converged", "hparams.lr", "hparams.weight_decay"} <= set(frame.columns)
    assert sorted(frame["hparams.lr"]) == sorted(r.config["hparams"]["lr"] for r in rows)
    again = run_grid(load_config(grid), out)
    assert again.skipped == 4 and again.ok == 0 and {len(t) for t in _studies(out).values()} == {3}


SPACE_PLUGIN = '''
from mmbench import hookimpl
from mmbench.components.weightings.scalarization import EqualWeighting


class Scaled(EqualWeighting):
    def __init__(self, n_tasks, seed=0, alpha: float = 1.0):
        super().__init__(n_tasks, seed)
        self.alpha = alpha

    def combine(self, losses):
        return self.alpha * super().combine(losses)


@hookimpl
def mmbench_register_weightings(register):
    register("scaled", Scaled, need="losses", search_space={"alpha": {"low": 0.5, "high": 2.0}})
'''


def test_a_plugin_declared_search_space_is_searched(install_plugin, write_grid, tmp_path: Path):
    install_plugin("space", "mmbench_space", {"mmbench_space.py": SPACE_PLUGIN})
    grid = write_grid(tmp_path / "g.yaml", families=["mt-sm"], modalities=["a"], weightings=["scaled"], training=FAST,
                      tuning={"trials": 2, "space": {"weighting.alpha": {"low": 0.9, "high": 1.1}}})
    out = tmp_path / "run"
    assert run_grid(load_config(grid), out).ok == 1
    (trials,) = _studies(out).values()
    assert all(0.9 <= t.params["weighting.alpha"] <= 1.1 for t in trials)  # declared, then narrowed by the grid


def _table(root: Path, flip_test: bool) -> None:
    rng = np.random.default_rng(0)
    parts = {}
    for split, n in (("train", 120), ("validation", 40), ("test", 40)):
        x = rng.normal(size=(n, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        if split == "test" and flip_test:
            y = 1 - y  # poisoned: every test label wrong
        parts[split] = datasets.Dataset.from_dict({"x": x.tolist(), "y": y.tolist()})
    datasets.DatasetDict(parts).save_to_disk(str(root))


def test_the_test_split_is_never_read_while_tuning(write_grid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    chosen = []
    for name, flip in (("clean", False), ("poisoned", True)):
        _table(tmp_path / "data", flip)  # the same place: only the test labels differ
        spec = {"name": "t", "source": str(tmp_path / "data"), "modalities": {"x": {"column": "x", "kind": "tabular"}},
                "tasks": {"y": {"column": "y", "type": "classification", "num_classes": 2}}}
        grid = write_grid(tmp_path / f"{name}.yaml", dataset=spec, modalities=None, tasks=None, families=["st-sm"],
                          training=FAST, tuning={"trials": 3})
        assert run_grid(load_config(grid), tmp_path / f"run-{name}").ok == 1
        with ResultStore(tmp_path / f"run-{name}") as store:
            (row,) = store.rows()
        chosen.append((row.config["hparams"], row.result["tuning"]["value"], row.result["metrics"]["test"]["y"]["accuracy"]))
    assert chosen[0][:2] == chosen[1][:2]  # poisoned test labels change nothing tuning saw
    assert chosen[0][2] != chosen[1][2]  # ... and the final test score does see them


def test_kill_9_during_tuning_loses_and_repeats_no_trial(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", families=["st-sm"], training={"epochs": 8, "batch_size": 64, "patience": 8},
                      tuning={"trials": 5, "pruner": "none"}, tasks=["redundant"])
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mmbench", "run", "--grid", str(grid), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.time() + 180

    def n_finished() -> int:
        try:
            with sqlite3.connect(out / "tuning.sqlite", timeout=1) as conn:
                return conn.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED', 'FAIL')").fetchone()[0]
        except sqlite3.Error:  # not created yet
            return 0

    while n_finished() < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [(n, t.number, t.params) for n, ts in _studies(out).items() for t in ts if t.state.is_finished()]
    assert 3 <= len(before) < 10, f"expected to kill mid-tuning, had {len(before)} finished trials"
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    after = _studies(out)
    for name, number, params in before:  # every finished trial kept as it was
        assert next(t for t in after[name] if t.number == number).params == params
    for trials in after.values():
        counted = [t for t in trials if not t.user_attrs.get("orphaned")]
        assert len(counted) == 5  # the budget exactly: nothing repeated, nothing missing
        assert all(t.state.name in ("COMPLETE", "PRUNED", "FAIL") for t in trials)
    with ResultStore(out) as store:
        assert len(list(store.rows("ok"))) == 2


def test_tuning_block_errors_name_the_key(write_grid, tmp_path: Path):
    from mmbench.grid.config import GridConfigError

    for tuning, expected in (({"trials": 0}, "tuning.trials must be a positive integer"),
                             ({"trials": 2, "sampler": "grid"}, "tuning.sampler 'grid'"),
                             ({"trials": 2, "space": {"momentum": {"low": 0, "high": 1}}}, "'momentum' is not a tunable")):
        with pytest.raises(GridConfigError, match=expected):
            load_config(write_grid(tmp_path / "g.yaml", tuning=tuning))
    grid = write_grid(tmp_path / "g.yaml", families=["st-sm"], tuning={"trials": 1, "space": {"weighting.cc": {"low": 0, "high": 1}}})
    from mmbench.grid.tuning_spec import TuningSpecError

    with pytest.raises(TuningSpecError, match="no configuration of this grid has the option 'weighting.cc'"):
        run_grid(load_config(grid), tmp_path / "run")


def test_completed_trials_carry_their_best_value_forward_for_the_median_pruner():
    """Optuna's median pruner prunes nothing at an epoch no completed trial reached; carried forward, two
    trials that early-stopped at epoch 5 still judge a poor trial at epoch 12 (and spare a good one)."""
    import optuna

    from mmbench.grid.execution.trial import carried_forward, make_pruner

    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    done = [optuna.trial.create_trial(params={"lr": lr}, distributions=dist, value=v,
                                      intermediate_values={e: v * e / 5 for e in range(1, 6)}) for lr, v in ((1e-2, 0.9), (3e-3, 0.8))]
    extended = carried_forward(done[0], 12)
    assert extended.intermediate_values == {**done[0].intermediate_values, **{e: 0.9 for e in range(6, 13)}}
    assert extended.value == 0.9 and extended.params == done[0].params
    running = optuna.trial.create_trial(params={}, distributions={}, value=0.0, state=optuna.trial.TrialState.PRUNED)
    assert carried_forward(running, 12) is running  # only completed trials are carried

    def pruned_at_12(history, best_so_far: float) -> bool:
        study = optuna.create_study(direction="maximize", pruner=make_pruner({"kind": "median", "startup": 2, "warmup": 2}))
        study.add_trials(history)
        trial = study.ask()
        for epoch in range(1, 13):
            trial.report(best_so_far * epoch / 12, epoch)  # asked once, at epoch 12: its best so far is best_so_far
        return trial.should_prune()

    assert not pruned_at_12(done, 0.3)  # Optuna alone: nothing to compare with at epoch 12
    assert pruned_at_12([carried_forward(t, 12) for t in done], 0.3)
    assert not pruned_at_12([carried_forward(t, 12) for t in done], 0.95)


def test_every_study_starts_from_the_untuned_settings(write_grid, tmp_path: Path):
    """Trial 0 of each study runs the grid's training settings and the components' default options (clipped
    into the space), so an unlucky search cannot end below the untuned model on validation."""
    training = FAST | {"lr": 0.005, "weight_decay": 0.0}
    grid = write_grid(tmp_path / "g.yaml", families=["st-sm", "mt-sm"], modalities=["a"], training=training,
                      tuning={"trials": 3}, weightings=["cagrad"])
    out = tmp_path / "run"
    assert run_grid(load_config(grid), out).failed == 0
    studies = _studies(out)
    assert len(studies) == 3
    for trials in studies.values():
        first = trials[0]
        assert first.user_attrs.get("untuned") is True and not any(t.user_attrs.get("untuned") for t in trials[1:])
        assert first.params["lr"] == 0.005 and first.params["weight_decay"] == 1e-6  # 0 clipped to the range's low end
    (cagrad,) = [t for t in studies.values() if "weighting.c" in t[0].params]
    assert cagrad[0].params["weighting.c"] == 0.4  # CAGrad's default c
    with ResultStore(out) as store:
        rows = list(store.rows())
    assert all(isinstance(r.result["tuning"]["untuned_best"], bool) for r in rows)
    assert {r.config["tuning"]["first_trial"] for r in rows} == {"untuned"}  # in the cells' ids


def test_untuned_point_clips_into_the_space_and_skips_what_it_cannot_place():
    import dataclasses

    from mmbench.grid.config import default_config_path
    from mmbench.grid.runner import plan
    from mmbench.grid.tuning import untuned_point

    cell = next(c for c in plan(load_config(default_config_path())).cells if c.weighting is not None)
    cell = dataclasses.replace(cell, training=tuple(sorted((dict(cell.training) | {"lr": 0.5, "batch_size": 64}).items())))
    space = {"lr": {"low": 1e-4, "high": 0.1, "log": True}, "batch_size": {"choices": [32, 128]},
             "architecture.layers": {"low": 1, "high": 3, "int": True}, "weighting.nothing": {"low": 0.0, "high": 1.0}}
    assert untuned_point(cell, space) == {"lr": 0.1, "architecture.layers": 1}
