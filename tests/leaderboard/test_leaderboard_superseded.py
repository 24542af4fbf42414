"""Superseded rows (issue #27): a leaderboard shows by default only rows of the latest grid run and the installed
code, says how many it hides, shows them with ``--show-superseded``; rows of one component that differ in an
option carry that option in their labels, so two option values never share a label."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.leaderboard.board import build
from mmbench.plugins import reset
from mmbench.store import ResultStore

PLUGIN = '''
import torch
from torch import nn
from mmbench import Fuser, hookimpl


class Bilinear(Fuser):
    def __init__(self, in_dims, dim: int = {dim}):
        super().__init__()
        self.names = sorted(in_dims)
        self.proj = nn.ModuleDict({{m: nn.Linear(d, dim) for m, d in in_dims.items()}})
        self.out_dim = dim

    def forward(self, features):
        out = 1
        for m in self.names:
            out = out * self.proj[m](features[m])
        return {scale} * out


@hookimpl
def mmbench_register_fusers(register):
    register("bilinear", Bilinear, description="product of projections")
'''


def _write(tmp_path: Path, dim: int, scale: float = 1.0) -> None:
    (tmp_path / "bilinear_fuser.py").write_text(PLUGIN.format(dim=dim, scale=scale))
    for name in [m for m in sys.modules if m.startswith("mmbench_local_bilinear")]:
        del sys.modules[name]
    reset()


def _labels(board) -> list[str]:
    return sorted(c.label for c in board.configurations)


def test_superseded_rows_are_hidden_counted_and_shown_on_request(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", fusers=["concat", "bilinear"], weightings=["ew"], families=["mt-cm"],
                      plugins=["bilinear_fuser.py"], training={"epochs": 1, "batch_size": 256, "patience": 1})
    run = tmp_path / "run"
    _write(tmp_path, dim=32)
    assert CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(run), "--quiet"]).exit_code == 0
    _write(tmp_path, dim=16)  # the default changes: new cells; the dim=32 ones stay in the store
    again = CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(run), "--quiet"])
    assert again.exit_code == 0 and "1 ran ok" in again.output, again.output
    current = build(run)
    assert _labels(current) == ["[mt-cm] a+b | redundant+synergy | mlp/mlp | none | bilinear | hps | ew",
                                "[mt-cm] a+b | redundant+synergy | mlp/mlp | none | concat | hps | ew"]
    assert current.meta["superseded"] == {"cells": 1, "shown": False}
    assert "- superseded cells hidden: 1 (" in current.to_markdown() and "--show-superseded" in current.to_markdown()
    every = build(run, show_superseded=True)
    assert _labels(every) == ["[mt-cm] a+b | redundant+synergy | mlp/mlp | none | bilinear(dim=16) | hps | ew",
                              "[mt-cm] a+b | redundant+synergy | mlp/mlp | none | bilinear(dim=32) | hps | ew",
                              "[mt-cm] a+b | redundant+synergy | mlp/mlp | none | concat | hps | ew"]
    cli_page = CliRunner().invoke(cli, ["leaderboard", str(run), "--no-plots", "--show-superseded"])
    assert "bilinear(dim=32)" in cli_page.output and "superseded cells shown: 1" in cli_page.output
    csv = CliRunner().invoke(cli, ["leaderboard", str(run), "--format", "csv"])
    assert "1 superseded cell(s) hidden" in csv.output and "bilinear(dim=32)" not in csv.output
    # the code changes after the run, nothing rerun: its rows are superseded too, the built-in's are not
    _write(tmp_path, dim=16, scale=2.0)
    edited = build(run)
    assert _labels(edited) == ["[mt-cm] a+b | redundant+synergy | mlp/mlp | none | concat | hps | ew"]
    assert edited.meta["superseded"]["cells"] == 2
    # a directory from before runs recorded their cells shows everything, as it always did
    with ResultStore(run) as store:
        store._conn.execute("DELETE FROM meta WHERE key = 'grid_cells'")
        store._conn.commit()
    assert len(build(run).configurations) == 3 and "superseded" not in build(run).meta
