"""End to end through the CLI: ``mmbench run --grid tiny.yaml --robustness`` then ``mmbench leaderboard``
shows, per configuration, the missing-modality drops and both robustness scores."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.store import ResultStore

#: tests/grid/conftest.py's tiny pid-synthetic grid, cut to single-modal and multitask cross-modal cells
#: with early and late fusion (late fusion is the effective-robustness reference)
GRID = {
    "name": "tiny-robust", "dataset": "pid-synthetic", "modalities": ["a", "b"], "tasks": ["redundant", "synergy"],
    "aligners": ["none"], "fusers": ["concat", "late"], "weightings": ["ew"], "seeds": 1,
    "families": ["st-sm", "mt-cm"], "training": {"epochs": 2, "batch_size": 256, "patience": 2}, "device": "cpu",
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_with_robustness_then_leaderboard(tmp_path: Path):
    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    out = tmp_path / "run"
    ran = invoke("run", "--grid", str(grid), "--out", str(out), "--robustness", "--quiet")
    assert ran.exit_code == 0, ran.output
    assert "6 cells: 6 ran ok" in ran.output
    with ResultStore(out) as store:
        rows = list(store.rows())
    assert all(r.config["robustness"] == {} for r in rows)  # the flag: every default setting
    rob = next(r for r in rows if r.family == "mt-cm").result["robustness"]
    assert rob["settings"]["levels"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert {m: list(v) for m, v in rob["curves"].items()} == {m: ["tabular-noise", "tabular-entry-dropout"] for m in ("a", "b")}
    assert all(len(c) == 10 for per in rob["curves"].values() for per_task in per.values() for c in per_task.values())

    board = invoke("leaderboard", str(out), "--output", str(tmp_path / "board.md"))
    assert board.exit_code == 0, board.output
    md = (tmp_path / "board.md").read_text()
    section = md[md.index("## Robustness"):md.index("## Failed cells")]
    for task in ("redundant", "synergy"):
        table = section[section.index(f"### Task {task}"):].split("\n\n")[1]
        lines = [line for line in table.splitlines()[2:]]
        late = [line for line in lines if r"\| late \|" in line]  # by the (escaped) label, not the reference column
        concat = [line for line in lines if r"\| concat \|" in line]
        single = [line for line in lines if "st-sm" in line]
        assert len(late) == len(concat) == 1 and len(single) == 2
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", concat[0].strip().strip("|"))]  # unescaped pipes
        assert cells[-1] == "none / late / ew"  # its late-fusion reference
        assert "0 (reference)" in late[0] and "itself" in late[0]
        # concat: clean, R, 4 per-curve R, effective, drop without a, drop without b: all numbers
        assert all(c.replace("*", "").replace("(n=1)", "").strip().lstrip("+-").replace(".", "").isdigit() for c in cells[2:11])
    assert (tmp_path / "leaderboard-pid-synthetic-robustness.png").exists()  # next to the markdown, linked
    assert "(leaderboard-pid-synthetic-robustness.png)" in md

    csv = invoke("leaderboard", str(out), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.output))
    mt = frame[frame["family"] == "mt-cm"]
    for col in ("robust.synergy.relative", "robust.synergy.effective", "robust.synergy.missing_drop.a",
                "robust.redundant.missing_drop.b"):
        assert mt[col].notna().all(), col

    exported = invoke("export", str(out), "--format", "csv")
    cells = pd.read_csv(exported.output.strip())
    assert cells.loc[cells["family"] == "mt-cm", ["robust.synergy.relative", "robust.synergy.missing_drop.a"]].notna().all().all()
