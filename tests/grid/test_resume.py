"""kill -9 in the middle of a grid, rerun: nothing lost, recomputed or duplicated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def _rows(db: Path) -> dict[str, tuple[str, float]]:
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        try:
            return {cid: (status, fin) for cid, status, fin in conn.execute("SELECT cell_id, status, finished_at FROM cells")}
        except sqlite3.OperationalError:
            return {}


def test_kill_9_then_rerun_completes_without_touching_finished_cells(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "grid.yaml", seeds=2)
    out = tmp_path / "run"
    db = out / "results.sqlite"
    cmd = [sys.executable, "-m", "mmbench.cli.main", "run", "--grid", str(grid), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 120
    while len(_rows(db)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(db)
    assert 3 <= len(before) < 24, f"expected to kill mid-grid, had {len(before)} rows"
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} already done" in done.stdout
    after = _rows(db)
    assert len(after) == 24
    for cell_id, row in before.items():
        assert after[cell_id] == row, "a finished cell was rewritten"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT cell_id) FROM cells").fetchone() == (24, 24)
