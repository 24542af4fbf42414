"""A model still improving when training stopped is reported as such: per-epoch scores, the ``converged``
verdict, the run's closing message, the export column, and the chance level stored beside each task."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.store import ResultStore

ONE = {"families": ["st-sm"], "modalities": ["a"], "tasks": ["redundant"]}


def _row(out: Path):
    with ResultStore(out) as store:
        (row,) = store.rows()
    return row


def test_a_cell_stopped_while_improving_is_not_converged_and_the_run_says_so(write_grid, tmp_path: Path):
    short = write_grid(tmp_path / "short.yaml", training={"epochs": 2, "lr": 1e-3, "batch_size": 64, "patience": 3}, **ONE)
    result = CliRunner().invoke(cli, ["run", "--grid", str(short), "--out", str(tmp_path / "short"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 cells did not converge" in result.output and "Raise training.epochs" in result.output
    row = _row(tmp_path / "short")
    assert row.result["converged"] is False and row.result["best_epoch"] == row.result["epochs_run"] == 2
    assert [h["epoch"] for h in row.result["history"]] == [1, 2]
    assert all(set(h) >= {"train_loss", "train_losses", "val_loss", "val"} for h in row.result["history"])
    assert 0.0 <= row.result["history"][-1]["val"]["redundant"] <= 1.0  # the validation main metric per epoch
    chance = row.result["chance"]
    assert set(chance) == {"validation", "test"} and 0.5 <= chance["test"]["redundant"] <= 0.6


def test_early_stopping_ends_a_converged_cell(write_grid, tmp_path: Path):
    long = write_grid(tmp_path / "long.yaml", training={"epochs": 200, "lr": 0.01, "batch_size": 64, "patience": 2}, **ONE)
    result = CliRunner().invoke(cli, ["run", "--grid", str(long), "--out", str(tmp_path / "long"), "--quiet"])
    assert result.exit_code == 0 and "did not converge" not in result.output, result.output
    row = _row(tmp_path / "long")
    assert row.result["converged"] is True and row.result["stopped_by"] == "patience"
    assert row.result["epochs_run"] == row.result["best_epoch"] + 2 < 200
    exported = CliRunner().invoke(cli, ["export", str(tmp_path / "long"), "--format", "csv", "-o", "-"])
    header = exported.stdout.splitlines()[0].split(",")
    assert "converged" in header and "test.redundant.chance" in header
