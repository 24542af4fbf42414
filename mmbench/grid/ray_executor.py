"""Ray executor: cells as Ray tasks with CPU/GPU resources; the driver collects results as they finish.

Ray is an optional extra (``pip install "mmbench[ray]"``), imported only here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Sequence

from mmbench.grid.scheduling import longest_first
from mmbench.grid.worker import Outcome, WorkerSettings, run_one
from mmbench.train.cell import Cell


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError('the Ray executor needs Ray: pip install "mmbench[ray]"') from exc
    return ray


def run_ray(cells: Sequence[Cell], settings: WorkerSettings, address: str | None = None, retries: int = 2) -> Iterator[Outcome]:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=retries)(run_one)
        worker_settings = replace(settings, threads=settings.threads or 1)
        refs = {remote.remote(cell, worker_settings): cell for cell in longest_first(cells)}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                cell = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - retries exhausted: the worker kept dying
                    yield Outcome(cell, "failed", None, f"Ray task failed after {retries} retries: {type(exc).__name__}: {exc}", 0.0)
    finally:
        if started_here:
            ray.shutdown()
