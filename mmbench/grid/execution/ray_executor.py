"""Ray executor: jobs (cells, tuning trials) as Ray tasks with CPU/GPU resources; the driver collects
outcomes as they finish and submits newly ready jobs.

Ray is an optional extra (``pip install "mmbench[ray]"``), imported only here. Local plugins reach the
workers through ``MMBENCH_PLUGINS`` in the job's runtime environment (and the settings).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Iterator

from mmbench.grid.execution.context import WorkerSettings
from mmbench.grid.execution.jobs import JobSource, Outcome, TrialOutcome, failed
from mmbench.grid.execution.worker import execute


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError('the Ray executor needs Ray: pip install "mmbench[ray]"') from exc
    return ray


def run_ray(source: JobSource, settings: WorkerSettings, address: str | None = None, retries: int = 2) -> Iterator[Outcome | TrialOutcome]:
    """Run jobs as Ray tasks (1 CPU, and 1 GPU each when the cluster has GPUs); retried when a worker dies."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        env = {k: os.environ[k] for k in ("MMBENCH_PLUGINS", "MMBENCH_LOAD_PLUGINS", "PYTHONPATH") if k in os.environ}
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 runtime_env={"env_vars": env} if env else None)
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=retries)(execute)
        worker_settings = replace(settings, threads=settings.threads or 1)
        refs: dict[Any, Any] = {}

        def submit() -> None:
            while (job := source.next_job()) is not None:
                refs[remote.remote(job, worker_settings)] = job

        submit()
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                job = refs.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - retries exhausted: the worker kept dying
                    outcome = failed(job, f"Ray task failed after {retries} retries: {type(exc).__name__}: {exc}")
                yield outcome
            submit()
    finally:
        if started_here:
            ray.shutdown()
