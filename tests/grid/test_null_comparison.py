"""A null check end to end: the same method under two names (a plugin re-registering EW) must show no
significant difference after the page's multiple-comparison adjustment."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli

TWIN = '''
from mmbench import hookimpl
from mmbench.components.weightings.scalarization import EqualWeighting


@hookimpl
def mmbench_register_weightings(register):
    register("ew-twin", EqualWeighting, need="losses", description="EW under another name")
'''


def test_the_same_method_under_two_names_is_not_significantly_different(install_plugin, write_grid, tmp_path: Path):
    install_plugin("twin", "mmbench_twin", {"mmbench_twin.py": TWIN})
    grid = write_grid(tmp_path / "g.yaml", families=["st-sm", "mt-sm"], modalities=["a"], weightings=["ew", "ew-twin"],
                      seeds=6, split_seeds=True)
    out = tmp_path / "run"
    run = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet"])
    assert run.exit_code == 0, run.output
    board = CliRunner().invoke(cli, ["leaderboard", str(out), "--format", "json"])
    assert board.exit_code == 0, board.output
    doc = json.loads(board.stdout)
    twin = [c for c in doc["comparisons"] if c["kind"] == "vs_ew" and "ew-twin" in c["label"]]
    assert twin and all(c["p_adjusted"] > 0.05 for c in twin), twin
    assert all(c["n_pairs"] == 6 for c in twin)
    md = CliRunner().invoke(cli, ["leaderboard", str(out)]).stdout
    assert "training seeds only" not in md  # split_seeds: the intervals cover the data split too
