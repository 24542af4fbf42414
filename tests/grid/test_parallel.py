"""--jobs N worker processes and the Ray executor: same results in the same store, resume intact."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mmbench.grid.config import load_config
from mmbench.grid.runner import run_grid
from mmbench.store import ResultStore


def _metrics(out: Path) -> dict[str, dict]:
    with ResultStore(out) as store:
        return {r.cell_id: r.result["metrics"]["test"] for r in store.rows() if r.status == "ok"}


def _close(a: dict, b: dict) -> bool:
    return all(abs(a[t][m] - b[t][m]) < 0.05 for t in a for m in a[t])


def test_jobs_2_matches_serial_and_resumes(write_grid, tmp_path: Path):
    cfg = load_config(write_grid(tmp_path / "g.yaml", families=["st-cm", "mt-cm"]))
    serial = run_grid(cfg, tmp_path / "serial")
    parallel = run_grid(cfg, tmp_path / "parallel", jobs=2)
    assert serial.ok == parallel.ok == 4 and parallel.failed == 0
    a, b = _metrics(tmp_path / "serial"), _metrics(tmp_path / "parallel")
    assert set(a) == set(b)
    assert all(_close(a[k], b[k]) for k in a), "parallel workers trained different models"
    again = run_grid(cfg, tmp_path / "parallel", jobs=2)
    assert again.skipped == 4 and again.ok == 0


def test_jobs_2_runs_tuning_trials_in_parallel(write_grid, tmp_path: Path):
    cfg = load_config(write_grid(tmp_path / "g.yaml", families=["st-sm", "mt-sm"], modalities=["a"], tuning={"trials": 3}))
    summary = run_grid(cfg, tmp_path / "run", jobs=2)
    assert summary.ok == 4 and summary.failed == 0 and summary.tuning["trials"] == 12, summary


KILLER = '''
import os
from mmbench import hookimpl
from mmbench.plugins import lazy


@hookimpl
def mmbench_register_fusers(register):
    register("dies-once", lazy("mmbench_killer:DiesOnce"), description="kills its worker the first time")


from mmbench.components.fusers.simple import ConcatFuser


class DiesOnce(ConcatFuser):
    """Kills the process training with it, once (the checks before training build it but never run it)."""

    def forward(self, features):
        try:  # exactly one process, of all that train with this fuser, creates the marker and dies
            os.close(os.open(os.environ["MMBENCH_KILLER_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(1)  # the worker process dies, as with an out-of-memory kill
        return super().forward(features)
'''


@pytest.fixture
def killer_plugin(install_plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MMBENCH_KILLER_MARKER", str(tmp_path / "marker"))
    install_plugin("killer", "mmbench_killer", {"mmbench_killer.py": KILLER})


def test_a_dead_local_worker_costs_only_its_own_cell(write_grid, tmp_path: Path, killer_plugin: None):
    cfg = load_config(write_grid(tmp_path / "g.yaml", fusers=["dies-once", "concat"], weightings=["ew"],
                                 families=["mt-cm"], seeds=2))
    summary = run_grid(cfg, tmp_path / "local", jobs=2)
    assert (summary.ok, summary.failed) == (3, 1), summary.failures
    ((label, error),) = summary.failures
    assert "dies-once" in label
    assert "worker process running this cell exited with code 1" in error and "--rerun-failed" in error
    again = run_grid(cfg, tmp_path / "local", jobs=2, rerun_failed=True)
    assert (again.skipped, again.ok, again.failed) == (3, 1, 0)
    with ResultStore(tmp_path / "local") as store:
        assert {r.status for r in store.rows()} == {"ok"}


@pytest.mark.parametrize("device, threads, expected", [("cpu", 1, "fork"), ("cpu", 2, "spawn"), ("cuda", 1, "spawn")])
def test_workers_fork_only_when_it_is_safe(device: str, threads: int, expected: str):
    from mmbench.grid.local_pool import start_method
    from mmbench.grid.worker import WorkerSettings

    assert start_method(WorkerSettings("digits", device, threads=threads)) == (expected if sys.platform == "linux" else "spawn")


def test_spawned_workers_run_cells_too(write_grid, tmp_path: Path):
    """Two threads per worker rule out fork; the spawned workers import and load everything themselves."""
    from mmbench.grid.executors import run_processes
    from mmbench.grid.runner import plan
    from mmbench.grid.worker import WorkerSettings

    cfg = load_config(write_grid(tmp_path / "g.yaml", families=["st-cm"]))
    cells = plan(cfg).cells
    from mmbench.grid.jobs import CellSource

    pool = run_processes(CellSource(cells), WorkerSettings(cfg.dataset, "cpu", str(tmp_path / "cache"), True, threads=2), jobs=2)
    try:
        assert pool.start_method == "spawn"
        outcomes = list(pool)
    finally:
        pool.close()
    assert sorted(o.cell.cell_id for o in outcomes) == sorted(c.cell_id for c in cells)
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]


def test_ray_executor_runs_cells_retries_dead_workers_and_resumes(write_grid, tmp_path: Path, killer_plugin: None):
    ray = pytest.importorskip("ray", reason='the Ray executor needs pip install "mmbench[ray]"')
    cfg = load_config(write_grid(tmp_path / "g.yaml", fusers=["dies-once"], weightings=["ew"], families=["mt-cm"]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_grid(cfg, tmp_path / "ray", executor="ray")
        assert summary.ok == 1 and summary.failed == 0, summary.failures
        assert (tmp_path / "marker").exists(), "the worker never died, so no retry was exercised"
        again = run_grid(cfg, tmp_path / "ray", executor="ray")
        assert again.skipped == 1 and again.ok == 0
        tuned = load_config(write_grid(tmp_path / "t.yaml", fusers=["concat"], weightings=["ew"], families=["st-cm", "mt-cm"],
                                       tuning={"trials": 2}, training={"epochs": 2, "batch_size": 256, "patience": 2}))
        trials = run_grid(tuned, tmp_path / "ray-tuned", executor="ray")  # trials run as Ray tasks too
        assert trials.ok == 3 and trials.tuning["trials"] == 6, (trials.failures, trials.tuning)
    finally:
        ray.shutdown()
    with ResultStore(tmp_path / "ray") as store:
        (row,) = list(store.rows())
    assert row.status == "ok" and row.config["fuser"]["name"] == "dies-once"
