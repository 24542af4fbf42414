"""One tiny real grid through `mmbench run --grid`, rendered in every format (the slow test: ~15 s)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from mmbench.cli.main import cli

def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _is_png(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tiny_real_grid_end_to_end(tmp_path: Path, write_grid):
    grid = write_grid(tmp_path / "tiny.yaml", training={"epochs": 1, "batch_size": 256, "patience": 2})
    run = tmp_path / "run"
    result = invoke("run", "--grid", str(grid), "--out", str(run), "--quiet")
    assert result.exit_code == 0, result.output
    md = invoke("leaderboard", str(run), "--output", str(tmp_path / "board.md"))
    assert md.exit_code == 0
    text = (tmp_path / "board.md").read_text()
    for family in ("st-sm", "st-cm", "mt-sm", "mt-cm"):
        assert f"(`{family}`)" in text
    assert "redundant accuracy ↑ (chance 0." in text and "## Paired tests" in text and "## Failed cells (0)" in text
    assert "too few seeds to test (n=1" in text and "P(>EW)" not in text
    assert _is_png(tmp_path / "leaderboard-pid-synthetic-tradeoff.png")
    frame = pd.read_csv(io.StringIO(invoke("leaderboard", str(run), "--format", "csv").stdout))
    assert len(frame) == 12 and frame["seeds"].eq(1).all()
    mt = frame[frame["family"].str.startswith("mt")]
    assert mt["delta_m"].notna().all() and mt["delta_m_baseline"].eq("exact").all()
    cm = frame[frame["family"].str.endswith("cm")]
    assert cm["cross_modal_gain"].notna().all()
    assert frame["redundant.accuracy.mean"].between(0, 1).sum() == 9  # 2 st-sm + 1 st-cm + 6 multitask rows
    doc = json.loads(invoke("leaderboard", str(run), "--format", "json").stdout)
    assert doc["meta"]["name"] == "tiny" and len(doc["rows"]) == 12 and doc["failed"] == []
    pcgrad = [r for r in doc["rows"] if r["weighting"] == "pcgrad"]
    assert all(r["vs_ew.n_pairs"] == 1 and r["vs_ew.p_signflip"] == 1.0 and r["vs_ew.min_p"] == 1.0
               and r["vs_ew.p_value"] is None and r["vs_ew.verdict"] == "not tested" for r in pcgrad)  # t-test needs 2
    assert all(r["nonconverged_seeds"] in (0, 1) for r in doc["rows"])  # the cells record convergence
    assert {c["kind"] for c in doc["comparisons"]} == {"vs_ew", "delta_m", "cross_modal_gain"}
