"""Where jobs run: in this process, in ``--jobs N`` local worker processes, or as Ray tasks.

Every executor pulls jobs (cells and tuning trials) from a :class:`~mmbench.grid.jobs.JobSource` and
yields their outcomes as they finish; only the driver writes the results store and the tuning studies,
so resume behaves the same whichever executor ran the jobs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Sequence

from mmbench.grid.dispatch import run_job
from mmbench.grid.jobs import JobSource, TrialOutcome
from mmbench.grid.local_pool import LocalPool, cpu_threads
from mmbench.grid.worker import Outcome, WorkerSettings

EXECUTORS = ("local", "ray")


def run_serial(source: JobSource, settings: WorkerSettings) -> Iterator[Outcome | TrialOutcome]:
    while (job := source.next_job()) is not None:
        yield run_job(job, settings)
    if not source.done():  # pragma: no cover - a source must hand out work whenever none is running
        raise RuntimeError("the job source has work left but none ready while nothing runs")


def _gpu_devices(settings: WorkerSettings, jobs: int) -> list[str] | None:
    """One CUDA device per worker when several GPUs exist and the grid may use them."""
    if settings.device not in ("auto", "cuda"):
        return None
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        return None
    return [f"cuda:{i % count}" for i in range(jobs)]


def run_processes(source: JobSource, settings: WorkerSettings, jobs: int,
                  split_seeds: Sequence[int | None] = (None,)) -> LocalPool:
    """Run jobs in ``jobs`` local worker processes (``cores // jobs`` torch threads each on CPU); the
    workers start now. Iterate the result for outcomes and ``close()`` it when done."""
    worker_settings = replace(settings, threads=settings.threads or cpu_threads(jobs))
    return LocalPool(source, worker_settings, jobs, _gpu_devices(settings, jobs), split_seeds)


def run_ray(source: JobSource, settings: WorkerSettings, address: str | None = None, retries: int = 2) -> Iterator[Outcome | TrialOutcome]:
    """Run jobs as Ray tasks (1 CPU, and 1 GPU each when the cluster has GPUs); retried when a worker dies."""
    from mmbench.grid.ray_executor import run_ray as _run

    yield from _run(source, settings, address=address, retries=retries)
