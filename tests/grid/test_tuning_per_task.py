"""Per-task search spaces (``per_task: true``): one Optuna parameter per task of the configuration, folded
into a list for the factory, and the chosen task weights recorded in ``result.tuning`` and the export."""

from __future__ import annotations

import io
from pathlib import Path

import optuna
import pandas as pd
import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.runner import run_grid
from mmbench.grid.tuning_spec import TuningSpecError, configuration_space, parse_tuning
from mmbench.plugins.metadata import check_search_space
from mmbench.store import ResultStore
from mmbench.train.cell import fold_per_task, per_task_key, split_per_task

FAST = {"epochs": 3, "batch_size": 256, "patience": 2}
WEIGHTS = {"low": 0.1, "high": 10.0, "log": True, "per_task": True}


def test_a_per_task_entry_becomes_one_parameter_per_task():
    spec = parse_tuning({"trials": 2})
    space = configuration_space(spec, {"weighting.weights": WEIGHTS}, {"weighting": {"weights"}}, n_tasks=3)
    plain = {"low": 0.1, "high": 10.0, "log": True}
    assert {k: v for k, v in space.items() if k.startswith("weighting")} == {
        "weighting.weights[0]": plain, "weighting.weights[1]": plain, "weighting.weights[2]": plain}
    narrowed = parse_tuning({"trials": 2, "space": {"weighting.weights": {"low": 0.5, "high": 2.0, "per_task": True}}})
    space = configuration_space(narrowed, {"weighting.weights": WEIGHTS}, {"weighting": {"weights"}}, n_tasks=2)
    assert space["weighting.weights[1]"] == {"low": 0.5, "high": 2.0}  # a grid override is per task too
    removed = parse_tuning({"trials": 2, "space": {"weighting.weights": None}})
    assert not [k for k in configuration_space(removed, {"weighting.weights": WEIGHTS}, {"weighting": {"weights"}}, 3)
                if k.startswith("weighting")]


def test_per_task_names_fold_back_into_lists():
    assert per_task_key("weights", 2) == "weights[2]"
    assert split_per_task("weights[12]") == ("weights", 12) and split_per_task("c") == ("c", None)
    assert fold_per_task({"weights[1]": 2.0, "c": 0.3, "weights[0]": 0.5}) == {"c": 0.3, "weights": [0.5, 2.0]}
    assert check_search_space({"weights": WEIGHTS}) is None
    assert check_search_space({"weights": {"choices": [1, 2], "per_task": True}}) is None
    assert "per_task must be true or false" in check_search_space({"weights": {**WEIGHTS, "per_task": "yes"}})
    with pytest.raises(TuningSpecError):
        parse_tuning({"trials": 2, "space": {"weighting.weights": {"low": 1, "high": 2, "per_task": 1}}})


def test_a_tuned_grid_with_ls_records_the_chosen_task_weights(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", families=["mt-sm"], modalities=["a"], training=FAST,
                      tuning={"trials": 3, "space": {"lr": None, "weight_decay": None, "architecture.layers": None}},
                      weightings=["ls"])
    out = tmp_path / "run"
    summary = run_grid(load_config(grid), out)
    assert summary.failed == 0 and summary.ok == 1
    (study,) = [optuna.load_study(study_name=s.study_name, storage=f"sqlite:///{out / 'tuning.sqlite'}")
                for s in optuna.get_all_study_summaries(f"sqlite:///{out / 'tuning.sqlite'}")]
    trials = study.get_trials()
    assert len(trials) == 3 and set(trials[0].params) == {"weighting.weights[0]", "weighting.weights[1]"}
    assert trials[0].params == {"weighting.weights[0]": 1.0, "weighting.weights[1]": 1.0}  # untuned first: EW
    with ResultStore(out) as store:
        (row,) = list(store.rows())
    chosen = row.config["hparams"]
    best = max((t for t in trials if t.value is not None), key=lambda t: t.value)
    assert chosen == best.params and row.result["tuning"]["hparams"] == chosen  # in result.tuning too
    w0, w1 = chosen["weighting.weights[0]"], chosen["weighting.weights[1]"]
    applied = row.result["weights"]  # the weights the run applied: normalised to mean 1, in task order
    assert applied["redundant"] == pytest.approx(2 * w0 / (w0 + w1), rel=1e-5)
    assert applied["synergy"] == pytest.approx(2 * w1 / (w0 + w1), rel=1e-5)
    exported = CliRunner().invoke(cli, ["export", str(out), "--format", "csv", "-o", "-"])
    frame = pd.read_csv(io.StringIO(exported.stdout))
    assert frame["hparams.weighting.weights[0]"].tolist() == [pytest.approx(w0)]
    assert frame["hparams.weighting.weights[1]"].tolist() == [pytest.approx(w1)]
