"""--jobs N worker processes and the Ray executor: same results in the same store, resume intact."""

from __future__ import annotations

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


KILLER = '''
import os
from pathlib import Path
from mmbench import hookimpl
from mmbench.plugins import lazy


@hookimpl
def mmbench_register_fusers(register):
    register("dies-once", lazy("mmbench_killer:DiesOnce"), description="kills its worker the first time")


def DiesOnce(in_dims):
    marker = Path(os.environ["MMBENCH_KILLER_MARKER"])
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)  # the worker process dies, as with an out-of-memory kill
    from mmbench.components.fusers.simple import ConcatFuser
    return ConcatFuser(in_dims)
'''


@pytest.fixture
def killer_plugin(install_plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MMBENCH_KILLER_MARKER", str(tmp_path / "marker"))
    install_plugin("killer", "mmbench_killer", {"mmbench_killer.py": KILLER})


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
    finally:
        ray.shutdown()
    with ResultStore(tmp_path / "ray") as store:
        (row,) = list(store.rows())
    assert row.status == "ok" and row.config["fuser"]["name"] == "dies-once"
