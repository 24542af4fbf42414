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


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_ctrl_c_with_jobs_2_stops_the_workers_and_keeps_finished_cells(write_grid, tmp_path: Path):
    grid = write_grid(tmp_path / "grid.yaml", seeds=2)
    out = tmp_path / "run"
    db = out / "results.sqlite"
    cmd = [sys.executable, "-m", "mmbench.cli.main", "run", "--grid", str(grid), "--out", str(out), "--quiet", "--jobs", "2"]
    # a shell's background job (`nohup … &`, as some CI runners start the suite) ignores SIGINT, and a child
    # inherits that: restore the default so the Ctrl-C this test sends is delivered as a user's would be
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while len(_rows(db)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    workers = _children(proc.pid) if sys.platform == "linux" else set()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Rerun the same command to resume" in err and "Traceback" not in err
    before = _rows(db)
    assert 2 <= len(before) < 24
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "worker processes outlived the interrupted run"
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} already done" in done.stdout and len(_rows(db)) == 24
