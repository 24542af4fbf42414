"""``--dry-run`` against a run directory (issue #27): how many cells are finished, stale, failed and to run,
and the stale ones listed with why — the first ten, then "… and N more" (a real run lists them the same way)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from mmbench.cli.main import cli


def _run(grid: Path, out: Path, *args: str):
    return CliRunner().invoke(cli, ["run", "--grid", str(grid), "--out", str(out), "--quiet", *args])


def test_dry_run_counts_finished_stale_failed_and_to_run(tiny_grid: Path, tmp_path: Path):
    out = tmp_path / "run"
    fresh = _run(tiny_grid, out, "--dry-run")
    assert fresh.exit_code == 0, fresh.output
    assert f"in {out}: 0 finished, 0 stale, 0 failed, 12 to run; a run would train 12 cell(s)" in fresh.output
    assert not out.exists()  # a dry run writes nothing
    assert _run(tiny_grid, out).exit_code == 0
    assert f"in {out}: 12 finished, 0 stale, 0 failed, 0 to run; a run would train 0 cell(s)" in _run(tiny_grid, out, "--dry-run").output
    with sqlite3.connect(out / "results.sqlite") as conn:  # other data produced every row; one also failed
        conn.execute("UPDATE cells SET provenance = json_set(provenance, '$.dataset', 'data sha256:000000000000')")
        conn.execute("UPDATE cells SET status = 'failed' WHERE cell_id = (SELECT MIN(cell_id) FROM cells)")
    dry = _run(tiny_grid, out, "--dry-run")
    assert (f"in {out}: 0 finished, 11 stale, 1 failed (rerun them with --rerun-failed), 0 to run; a run would train "
            "11 cell(s) (the stale ones are recomputed)") in dry.output, dry.output
    assert "11 finished cell(s) are stale and will be recomputed:" in dry.output
    assert dry.output.count("dataset: data sha256:000000000000 → data sha256:") == 10
    assert "  … and 1 more" in dry.output
    kept = _run(tiny_grid, out, "--dry-run", "--keep-stale", "--rerun-failed")
    assert (f"in {out}: 0 finished, 11 stale, 0 failed, 1 to run; a run would train 1 cell(s) (--keep-stale keeps the "
            "stale ones)") in kept.output, kept.output
    real = _run(tiny_grid, out, "--rerun-failed")
    assert real.exit_code == 0 and "… and 1 more" in real.output and "12 ran ok" in real.output
