"""`mmbench leaderboard` through click, and the plots, on fabricated stores."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from mmbench.cli.main import cli
from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.plots import pareto_mask

from leaderboard_helpers import full_grid  # type: ignore[import-not-found]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _is_png(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_pareto_mask():
    points = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0], [0.9, 0.9], [2.0, 0.4], [1.0, 1.0]])
    assert pareto_mask(points).tolist() == [True, True, True, False, False, True]


def test_plots_are_written_and_linked_relative_to_the_markdown(tmp_path: Path):
    board = build(full_grid(tmp_path / "run"))
    paths = board.write_plots(tmp_path / "site" / "img")
    assert [p.name for p in paths] == ["leaderboard-toy-tradeoff.png", "leaderboard-toy-delta-m.png",
                                       "leaderboard-toy-profiles.png"]
    assert all(_is_png(p) for p in paths)
    md = board.to_markdown(paths, link_dir=tmp_path / "site")
    assert "![leaderboard-toy-tradeoff](img/leaderboard-toy-tradeoff.png)" in md


def test_cli_markdown_to_stdout_puts_plots_in_the_run_directory(tmp_path: Path):
    run = full_grid(tmp_path / "run")
    result = CliRunner().invoke(cli, ["leaderboard", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "## Multitask, cross-modal (`mt-cm`)" in result.stdout
    assert "(leaderboard-toy-tradeoff.png)" in result.stdout
    assert _is_png(run / "leaderboard-toy-tradeoff.png") and _is_png(run / "leaderboard-toy-delta-m.png")


def test_cli_output_file_formats_and_no_plots(tmp_path: Path):
    run = full_grid(tmp_path / "run")
    out = tmp_path / "out"
    out.mkdir()
    result = invoke("leaderboard", str(run), "--output", str(out / "board.md"))
    assert result.exit_code == 0
    assert "## Failed cells (1)" in (out / "board.md").read_text()
    assert _is_png(out / "leaderboard-toy-delta-m.png")
    csv = invoke("leaderboard", str(run), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 13 and "delta_m" in frame.columns
    result = invoke("leaderboard", str(run), "--format", "json", "--output", str(tmp_path / "b.json"), "--plots")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert len(doc["rows"]) == 13 and len(doc["plots"]) == 3
    tests = pd.read_csv(io.StringIO(invoke("leaderboard", str(run), "--format", "csv", "--table", "comparisons").stdout))
    assert {"kind", "label", "test", "effect", "effect.ci_low", "effect.ci_high", "n_pairs", "min_p", "p_value",
            "p_adjusted"} <= set(tests.columns) and len(tests) == 14
    holm = json.loads(invoke("leaderboard", str(run), "--format", "json", "--adjust", "holm").stdout)
    assert holm["adjustment"]["method"] == "holm"
    aggs = pd.read_csv(io.StringIO(invoke("leaderboard", str(run), "--format", "csv", "--table", "aggregates").stdout))
    assert set(aggs["value"]) == {"ew", "uw"} and {"iqm", "iqm.ci_low", "poi", "poi.ci_high"} <= set(aggs.columns)
    bare = tmp_path / "bare"
    invoke("leaderboard", str(full_grid(bare)), "--no-plots")
    assert not list(bare.glob("*.png"))


def test_leaderboard_is_a_registered_command():
    result = invoke("--help")
    assert "leaderboard" in result.output


def test_cli_without_results_fails_clearly(tmp_path: Path):
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "nothing")])
    assert result.exit_code != 0 and "no mmbench results" in result.output
