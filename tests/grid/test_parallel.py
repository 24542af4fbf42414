"""--jobs N worker processes and the Ray executor: same results in the same store, resume intact."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mmbench.grid.config import load_config
from mmbench.grid.runner import run_grid
from mmbench.store import ResultStore


def _trained(out: Path) -> dict[str, dict]:
    """What each ok cell trained to: its scores on every split, its per-epoch losses, its selected epoch."""
    with ResultStore(out) as store:
        return {r.cell_id: {k: r.result[k] for k in ("metrics", "history", "best_epoch")}
                for r in store.rows() if r.status == "ok"}


def test_jobs_2_matches_serial_and_resumes(write_grid, tmp_path: Path):
    cfg = load_config(write_grid(tmp_path / "g.yaml", families=["st-cm", "mt-cm"]))
    serial = run_grid(cfg, tmp_path / "serial")
    parallel = run_grid(cfg, tmp_path / "parallel", jobs=2)
    assert serial.ok == parallel.ok == 4 and parallel.failed == 0
    a, b = _trained(tmp_path / "serial"), _trained(tmp_path / "parallel")
    assert set(a) == set(b)
    # exactly equal: the same seeds give the same models, whatever process (and thread count) trains them
    assert a == b, "parallel workers trained different models"
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
    """Kills a worker process training with it, once (the checks before training run it in the driver, which it
    spares)."""

    def forward(self, features):
        if os.getpid() == int(os.environ["MMBENCH_KILLER_SPARED"]):
            return super().forward(features)
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
    monkeypatch.setenv("MMBENCH_KILLER_SPARED", str(os.getpid()))  # the driver: runs the checks before training
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
    from mmbench.grid.execution.context import WorkerSettings
    from mmbench.grid.execution.local_pool import start_method

    assert start_method(WorkerSettings("digits", device, threads=threads)) == (expected if sys.platform == "linux" else "spawn")


def test_spawned_workers_run_cells_too(write_grid, tmp_path: Path):
    """Two threads per worker rule out fork; the spawned workers import and load everything themselves."""
    from mmbench.grid.execution.context import WorkerSettings
    from mmbench.grid.execution.executors import run_processes
    from mmbench.grid.execution.jobs import CellSource
    from mmbench.grid.runner import plan

    cfg = load_config(write_grid(tmp_path / "g.yaml", families=["st-cm"]))
    cells = plan(cfg).cells
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


def test_jobs_default_to_one_per_core_or_one_per_gpu(monkeypatch: pytest.MonkeyPatch):
    import torch

    from mmbench.grid.execution.context import usable_cores
    from mmbench.grid.execution.executors import default_jobs

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_jobs("auto") == default_jobs("cpu") == usable_cores() >= 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert default_jobs("auto") == default_jobs("cuda") == 3
    assert default_jobs("cpu") == usable_cores()  # a CPU grid on a GPU machine: one per core


def test_the_driver_computes_frozen_features_with_every_core_before_workers_start(write_grid, tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch):
    """Issue #24: frozen features are computed once, in the driver with all cores; workers only read them."""
    import os

    import torch

    import mmbench.train.prepare as prepare
    from mmbench.grid.execution.context import usable_cores

    calls = tmp_path / "encoded"
    real = prepare.encode_all

    def recording(*args, **kwargs):
        with open(calls, "a") as fh:  # forked workers inherit this patch: a call there would show its pid
            fh.write(f"{os.getpid()} {torch.get_num_threads()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare, "encode_all", recording)
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))  # cold
    cfg = load_config(write_grid(tmp_path / "g.yaml", encoders={"a": ["identity"], "b": ["identity"]},
                                 families=["st-cm", "mt-cm"]))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = run_grid(cfg, tmp_path / "run", jobs=2)
        assert torch.get_num_threads() == 1  # the driver's own setting is restored afterwards
    finally:
        torch.set_num_threads(threads)
    assert summary.ok == 4 and summary.failed == 0, summary.failures
    seen = [line.split() for line in calls.read_text().splitlines()]
    assert len(seen) == 6  # 2 modalities x 3 splits, each computed once
    assert all(pid == str(os.getpid()) and int(n) == usable_cores() for pid, n in seen), seen
