"""Architectures as a grid axis: crossed into the multitask families only, Jacobian strategies on MMoE,
representation strategies refused where no shared representation exists (with the note)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.grid.config import load_config
from mmbench.grid.runner import plan, run_grid
from mmbench.store import ResultStore

REPR_PCGRAD = {"name": "pcgrad", "wrt": "representation"}


def test_architectures_cross_weightings_and_refuse_representation_strategies(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "g.yaml", architectures=["hps", {"name": "mmoe", "num_experts": 2}],
                      weightings=["ew", "pcgrad", REPR_PCGRAD], families=["st-sm", "mt-cm"], tasks=["redundant", "unique_a"])
    expansion = plan(load_config(grid))
    mt = [c for c in expansion.cells if c.family == "mt-cm"]
    pairs = {(c.architecture.name, c.weighting.label) for c in mt}
    assert pairs == {("hps", "ew"), ("hps", "pcgrad"), ("hps", "pcgrad(wrt=representation)"),
                     ("mmoe", "ew"), ("mmoe", "pcgrad")}
    assert any("pcgrad(wrt=representation) is not crossed with architecture mmoe(num_experts=2)" in n for n in expansion.notes)
    assert {c.architecture.name for c in expansion.cells if c.family == "st-sm"} == {"hps"}
    summary = run_grid(load_config(grid), tmp_path / "run")
    assert summary.failed == 0 and summary.ok == len(expansion.cells), summary.failures
    with ResultStore(tmp_path / "run") as store:
        rows = list(store.rows())
    mmoe_pcgrad = [r for r in rows if r.config.get("architecture", {}).get("name") == "mmoe"
                   and r.config["weighting"]["name"] == "pcgrad"]
    assert mmoe_pcgrad and mmoe_pcgrad[0].result["backward_passes"] >= 2 * mmoe_pcgrad[0].result["steps"]
    assert mmoe_pcgrad[0].config["architecture"] == {"name": "mmoe", "num_experts": 2}
    exported = CliRunner().invoke(cli, ["export", str(tmp_path / "run"), "--format", "jsonl", "-o", "-"])
    assert exported.exit_code == 0
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {r["architecture"] for r in records} == {"hps(layers=1)", "mmoe(num_experts=2)"}  # every resolved option
    assert all(isinstance(r["converged"], bool) for r in records)
