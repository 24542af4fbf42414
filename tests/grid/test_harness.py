"""End-to-end harness: dry run, a tiny grid through the CLI, export, determinism, failures, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.runner import plan
from mmbench.grid.execution.context import WorkerSettings
from mmbench.grid.execution.worker import execute
from mmbench.store import ResultStore


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_dry_run_counts_cells_per_family(tiny_grid: Path):
    result = invoke("run", "--grid", str(tiny_grid), "--dry-run")
    assert result.exit_code == 0, result.output
    # st-sm: 2 tasks x 2 modalities; st-cm: 2 tasks; mt-sm: 2 modalities x 2 weightings; mt-cm: 2 weightings
    assert _family_counts(result.output) == {"st-sm": 4, "st-cm": 2, "mt-sm": 4, "mt-cm": 2, "total": 12}
    assert "single-task, single-modal" in result.output
    assert "note: aligners and fusers are not crossed into single-modal cells" in result.output


def _family_counts(output: str) -> dict[str, int]:
    return {line.split()[0]: int(line.split()[-2]) for line in output.splitlines()
            if line.split() and line.split()[0] in ("st-sm", "st-cm", "mt-sm", "mt-cm", "total")}


def test_default_grid_dry_run_meets_the_issue():
    result = invoke("run", "--grid", "--dry-run")
    assert result.exit_code == 0, result.output
    counts = _family_counts(result.output)
    assert all(n > 0 for n in counts.values()) and len(counts) == 5
    root = Path(__file__).parents[2]
    cfg = load_config(root / "mmbench" / "grid" / "default.yaml")
    # issue #24: sized for a first look (all four families, above) — several seeds, ls beside ew
    assert len(cfg.seeds) == 3 and len(cfg.weightings) >= 3 and {"ew", "ls"} <= {w.name for w in cfg.weightings}
    assert set(cfg.modalities) == {"image", "text"} and len(cfg.tasks) >= 2
    # the full comparison the README points to keeps the earlier issue's breadth
    full = load_config(root / "leaderboards" / "grids" / "digits.yaml")
    assert len(full.seeds) >= 3 and len(full.aligners) >= 2 and len(full.fusers) >= 3 and len(full.weightings) >= 3
    assert (set(full.modalities), full.dataset) == (set(cfg.modalities), cfg.dataset)


def test_tiny_grid_runs_end_to_end_and_exports(tiny_grid: Path, tmp_path: Path):
    out = tmp_path / "run"
    result = invoke("run", "--grid", str(tiny_grid), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert "12 cells: 12 ran ok, 0 failed, 0 already done" in result.output
    with ResultStore(out) as store:
        rows = list(store.rows())
    assert {r.family for r in rows} == {"st-sm", "st-cm", "mt-sm", "mt-cm"}
    row = next(r for r in rows if r.family == "mt-cm")
    res = row.result
    assert set(res["metrics"]["test"]) == {"redundant", "synergy"}
    assert 0.0 <= res["metrics"]["test"]["redundant"]["accuracy"] <= 1.0
    assert res["params"] > 0 and res["train_seconds"] > 0 and res["peak_memory_mb"] > 0
    assert res["versions"]["torch"] and res["versions"]["mmbench"] and res["device"].startswith("cpu")
    assert set(res["weights"]) == {"redundant", "synergy"}
    for fmt in ("jsonl", "csv", "parquet"):
        exported = invoke("export", str(out), "--format", fmt)
        assert exported.exit_code == 0, exported.output
        path = Path(exported.output.strip())
        frame = {"jsonl": lambda p: pd.read_json(p, lines=True), "csv": pd.read_csv, "parquet": pd.read_parquet}[fmt](path)
        assert len(frame) == 12
        assert {"cell_id", "status", "seed", "family", "aligner", "fuser", "weighting", "test.redundant.accuracy"} <= set(frame.columns)
    rerun = invoke("run", "--grid", str(tiny_grid), "--out", str(out), "--quiet")
    assert "0 ran ok, 0 failed, 12 already done" in rerun.output


def test_same_cell_same_seed_gives_identical_metrics(tiny_grid: Path):
    cfg = load_config(tiny_grid)
    cell = next(c for c in plan(cfg).cells if c.family == "mt-cm" and c.weighting.name == "pcgrad")
    settings = WorkerSettings(cfg.dataset, "cpu", None, True)
    first, second = execute(cell, settings), execute(cell, settings)
    assert first.status == second.status == "ok", first.error
    assert json.dumps(first.result["metrics"], sort_keys=True) == json.dumps(second.result["metrics"], sort_keys=True)


def test_failures_are_rows_and_the_grid_goes_on(write_grid, tmp_path: Path, faulty_plugin: Path):
    grid = write_grid(tmp_path / "faulty.yaml", fusers=["concat", "broken"], weightings=["ew", "explode"],
                      families=["mt-cm"])
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet"])
    assert result.exit_code == 1
    assert "4 cells: 1 ran ok, 3 failed" in result.output
    with ResultStore(out) as store:
        rows = {(r.config["fuser"]["name"], r.config["weighting"]["name"]): r for r in store.rows()}
    assert rows[("concat", "ew")].status == "ok"
    assert rows[("concat", "explode")].status == "failed"
    error = rows[("concat", "explode")].error
    assert "StrategyError" in error and "Explode" in error and "not the cause" in error  # the strategy is blamed
    assert "broken fuser" in rows[("broken", "ew")].error
    again = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet"])
    assert "0 ran ok, 0 failed, 4 already done" in again.output
    retry = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet", "--rerun-failed"])
    assert "1 ran ok, 3 failed" not in retry.output and "0 ran ok, 3 failed, 1 already done" in retry.output
    forced = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet", "--force"])
    assert "1 ran ok, 3 failed, 0 already done" in forced.output


@pytest.mark.parametrize(("override", "message"), [
    ({"fusers": ["concatt"]}, "unknown fuser 'concatt'; did you mean 'concat'?"),
    ({"weightings": ["pcgard"]}, "unknown weighting 'pcgard'; did you mean 'pcgrad'"),
    ({"tasks": ["nope"]}, "task 'nope' is not in the dataset"),
    ({"robustness": {"level": [0.1]}}, "unknown robustness setting 'level'; did you mean 'levels'?"),
])
def test_bad_grid_names_the_culprit(write_grid, tmp_path: Path, override: dict, message: str):
    grid = write_grid(tmp_path / "bad.yaml", **override)
    result = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--dry-run"])
    assert result.exit_code != 0 and message in result.output


def test_unknown_config_key_suggests(tmp_path: Path):
    grid = tmp_path / "bad.yaml"
    grid.write_text("fuserz: [concat]\n")
    result = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--dry-run"])
    assert result.exit_code != 0 and "unknown key 'fuserz'; did you mean 'fusers'?" in result.output
